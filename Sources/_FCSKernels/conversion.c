#include "fcs_kernels.h"
#include "kernel_support.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* float16: compilers do not vectorise _Float16 conversions, so the F16C / AVX-512 instructions
 * (vcvtph2ps, vcvtps2ph with round-to-nearest-even) are used directly where the CPU has them,
 * and the compiler runtime's IEEE routines otherwise. */
typedef _Float16 __attribute__((may_alias)) fcs_half; /* the bits arrive as uint16_t */

static void f16_to_f32_scalar(const uint16_t *x, float *y, size_t n) {
    const fcs_half *h = (const fcs_half *)x;
    for (size_t i = 0; i < n; i++) y[i] = (float)h[i];
}

static void f32_to_f16_scalar(const float *x, uint16_t *y, size_t n) {
    fcs_half *h = (fcs_half *)y;
    for (size_t i = 0; i < n; i++) h[i] = (fcs_half)x[i];
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void f16_to_f32_avx512(const uint16_t *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))));
    f16_to_f32_scalar(x + i, y + i, n - i);
}

__attribute__((target("avx512f"))) static void f32_to_f16_avx512(const float *x, uint16_t *y, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(y + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    f32_to_f16_scalar(x + i, y + i, n - i);
}

__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    f16_to_f32_scalar(x + i, y + i, n - i);
}

__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(const float *x, uint16_t *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    f32_to_f16_scalar(x + i, y + i, n - i);
}
#endif

void fcs_f16_to_f32(const uint16_t *x, float *y, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) { f16_to_f32_avx512(x, y, n); return; }
    if (__builtin_cpu_supports("f16c")) { f16_to_f32_f16c(x, y, n); return; }
#endif
    f16_to_f32_scalar(x, y, n);
}

void fcs_f32_to_f16(const float *x, uint16_t *y, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) { f32_to_f16_avx512(x, y, n); return; }
    if (__builtin_cpu_supports("f16c")) { f32_to_f16_f16c(x, y, n); return; }
#endif
    f32_to_f16_scalar(x, y, n);
}

FCS_MULTIVERSION void fcs_bf16_to_f32(const uint16_t *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = fcs_bits_to_float((uint32_t)x[i] << 16);
}

FCS_MULTIVERSION void fcs_f32_to_bf16(const float *x, uint16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = fcs_float_to_bf16_bits(x[i]);
}

FCS_MULTIVERSION void fcs_add_bf16(float *y, const uint16_t *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += fcs_bits_to_float((uint32_t)x[i] << 16);
}

FCS_MULTIVERSION void fcs_round_to_bf16(float *y, uint16_t *bits, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint16_t rounded = fcs_float_to_bf16_bits(y[i]);
        bits[i] = rounded;
        y[i] = fcs_bits_to_float((uint32_t)rounded << 16);
    }
}
