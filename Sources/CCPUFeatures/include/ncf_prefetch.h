// A prefetch hint, which Swift cannot issue itself: the trainers' update loops ask for the rows
// they will update a few rows ahead (DataParallel.swift, Optimizer.swift).
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

#endif
