/* The GEMM micro-kernels conv_gemm.c selects for this CPU, for the other kernels built on them
 * (attention). Internal to _FCSKernels. */
#ifndef FCS_MICRO_KERNELS_H
#define FCS_MICRO_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "fcs_kernels.h"

/* A tile is FCS_CONV_GEMM_MR rows of A × FCS_GEMM_NR columns of B. */
#define FCS_GEMM_NR 32

/* c[rows, cols] (+)= A-panel · B-panel over kc (even) k values, both as bf16 pairs: the A panel
 * [kc/2][MR][2], the B panel [kc/2][NR][2]. C[i, j] is c[i * ldc + j], or c[j * ldc + i] when
 * transpose_c is set. */
typedef void (*fcs_bf16_micro_kernel)(size_t kc, const uint16_t *a, const uint16_t *b, float *c, size_t ldc,
                                      int transpose_c, int accumulate, size_t rows, size_t cols);

/* The same for float32 panels: the A panel [kc][MR], the B panel [kc][NR]. */
typedef void (*fcs_f32_micro_kernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, int transpose_c,
                                     int accumulate, size_t rows, size_t cols);

/* The micro-kernels fcs_conv_gemm uses (bf16: vdpbf16ps where the CPU has it). */
fcs_bf16_micro_kernel fcs_selected_bf16_micro_kernel(void);
fcs_f32_micro_kernel fcs_selected_f32_micro_kernel(void);

/* Whether the selected bf16 micro-kernel is vdpbf16ps's, so that the packing around it may use
 * AVX512_BF16's conversions too. */
int fcs_selected_bf16_instructions(void);

#if defined(__x86_64__)
#include <immintrin.h>

/* 16 bf16 pairs, even[j] in the low half of lane j and odd[j] in the high one, rounded to nearest
 * even by vcvtneps2bf16 (as fcs_float_to_bf16_bits rounds; subnormals flush to zero). */
__attribute__((target("avx512f,avx512bf16"))) static inline __m512i fcs_bf16_pairs_avx512(__m512 even, __m512 odd) {
    const __m512i low = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(even));
    const __m512i high = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(odd));
    return _mm512_or_si512(low, _mm512_slli_epi32(high, 16));
}
#endif

/* The instruction set of the selected micro-kernels, for kernels that follow the selection
 * (Winograd's transforms) rather than the CPU's best. */
typedef enum { FCS_ISA_BASELINE, FCS_ISA_AVX2, FCS_ISA_AVX512 } fcs_isa;
fcs_isa fcs_selected_isa(void);

/* bf16-pair panels [rows/height][k/2][height][2] of M[i, kk] = scale · src[i · row_stride + kk · k_stride]
 * for i < rows, kk < k, zero-padded to whole panels and pairs: the micro-kernels' A layout for
 * height FCS_CONV_GEMM_MR, their B layout (M = Bᵀ) for height FCS_GEMM_NR. */
void fcs_pack_bf16_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                          size_t height, void *panels);

/* The same as float32 panels [rows/height][k][height]: the float32 micro-kernel's A layout for
 * height FCS_CONV_GEMM_MR, its B layout for height FCS_GEMM_NR. */
void fcs_pack_f32_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                         size_t height, void *panels);

/* dst[2j], dst[2j + 1] = bf16(even[j]), bf16(odd[j]) for j < FCS_GEMM_NR: two rows of B as one
 * row of bf16 pairs, rounded to nearest even. */
void fcs_interleave_bf16(const float *even, const float *odd, uint16_t *dst);

#endif
