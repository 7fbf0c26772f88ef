// cpuid and xgetbv for BLASCore.swift. See include/cpu_features.h.
#include "cpu_features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    // xgetbv with ecx = 0 reads XCR0. Encoded as bytes so that no -mxsave flag is needed.
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

void ncf_cpu_features_read(ncf_cpu_features *out) {
    memset(out, 0, sizeof *out);
    out->is_x86 = 1;
    unsigned int a, b, c, d;
    unsigned int max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf == 0) return;  // no cpuid at all (not on any x86-64 CPU)
    __cpuid(0, a, b, c, d);
    memcpy(out->vendor + 0, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);

    if (max_leaf >= 1) {
        __cpuid(1, a, b, c, d);
        int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
        out->family = base_family + (base_family == 0xf ? (int)((a >> 20) & 0xff) : 0);
        out->model = base_model + ((base_family == 0x6 || base_family == 0xf) ? (int)(((a >> 16) & 0xf) << 4) : 0);
        out->sse3 = (c >> 0) & 1;
        out->fma = (c >> 12) & 1;
        out->osxsave = (c >> 27) & 1;
        out->avx = (c >> 28) & 1;
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        unsigned int max_subleaf = a;
        out->avx2 = (b >> 5) & 1;
        out->avx512f = (b >> 16) & 1;
        out->avx512dq = (b >> 17) & 1;
        out->avx512cd = (b >> 28) & 1;
        out->avx512bw = (b >> 30) & 1;
        out->avx512vl = (b >> 31) & 1;
        if (max_subleaf >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            out->avx512_bf16 = (a >> 5) & 1;
        }
    }
    if (out->osxsave) out->xcr0 = read_xcr0();

    if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
        unsigned int regs[12];
        for (unsigned int i = 0; i < 3; i++) {
            __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
        }
        memcpy(out->brand, regs, 48);
        out->brand[48] = '\0';
    }
}

#else

void ncf_cpu_features_read(ncf_cpu_features *out) {
    memset(out, 0, sizeof *out);
}

#endif
