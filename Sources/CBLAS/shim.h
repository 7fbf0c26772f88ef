// Exposes OpenBLAS's CBLAS interface (cblas_sgemm, cblas_sgemv, ...) and its thread control to Swift.
#include <cblas.h>
