// Exposes OpenBLAS's CBLAS interface (cblas_sgemm, cblas_sgemv, ...), its thread control and its
// build/kernel queries (openblas_get_config, openblas_get_corename) to Swift.
#include <cblas.h>
