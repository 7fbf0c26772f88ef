// Exposes zlib's inflate interface to Swift, for reading gzipped rating files.
#include <zlib.h>
