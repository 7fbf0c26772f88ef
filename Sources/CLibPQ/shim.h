// Exposes libpq, PostgreSQL's C client library, to Swift, for the PostgreSQL sweep store.
#include <libpq-fe.h>
