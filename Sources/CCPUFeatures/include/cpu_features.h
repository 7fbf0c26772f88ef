// What the CPU offers and what the operating system enables, read with cpuid and xgetbv, for
// NCFKernels' choice of OpenBLAS kernels (BLASCore.swift). No stable API; see README.md.
#ifndef NCF_CPU_FEATURES_H
#define NCF_CPU_FEATURES_H

#include <stdint.h>

/// The raw facts; deciding what they allow is left to Swift (BLASCore.swift), where it is tested.
/// Every flag is 0 or 1. On a CPU that is not x86, `is_x86` is 0 and everything else is zero.
typedef struct ncf_cpu_features {
    int is_x86;
    char vendor[13];   // "GenuineIntel", "AuthenticAMD", ...: cpuid leaf 0, NUL-terminated
    char brand[49];    // "AMD EPYC 9R14 ...": cpuid leaves 0x80000002-4, NUL-terminated ("" if absent)
    int family;        // display family (base + extended), cpuid leaf 1
    int model;         // display model (base + extended << 4), cpuid leaf 1
    int sse3, avx, fma, osxsave;                              // leaf 1 ecx bits 0, 28, 12, 27
    int avx2, avx512f, avx512dq, avx512cd, avx512bw, avx512vl;  // leaf 7.0 ebx bits 5, 16, 17, 28, 30, 31
    int avx512_bf16;                                          // leaf 7.1 eax bit 5
    uint64_t xcr0;     // XCR0 from xgetbv(0), read only when osxsave is 1 (else xgetbv would fault); else 0
} ncf_cpu_features;

/// Fills `out`. Cheap (a few cpuid instructions); never faults.
void ncf_cpu_features_read(ncf_cpu_features *out);

#endif
