#include "fcs_kernels.h"

const char *fcs_kernels_isa(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* the same tests the target_clones resolver makes for x86-64-v4 / v3 */
    if (__builtin_cpu_supports("x86-64-v4")) return "avx512";
    if (__builtin_cpu_supports("x86-64-v3")) return "avx2";
    return "baseline";
#else
    return "generic";
#endif
}
