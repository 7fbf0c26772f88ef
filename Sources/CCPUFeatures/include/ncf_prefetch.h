// A prefetch hint, which Swift cannot issue itself; `Kernels.prefetch` (NCFKernels/Prefetch.swift)
// wraps it for the loops that walk embedding rows at random.
#ifndef NCF_PREFETCH_H
#define NCF_PREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into its caches, to be written soon.
/// A hint: it never faults (any address will do) and never waits for the line.
static inline void ncf_prefetch_for_write(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 1, 3);
#else
    (void)address;
#endif
}

/// The same, for a line that will only be read.
static inline void ncf_prefetch_for_read(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 3);
#else
    (void)address;
#endif
}

#endif
