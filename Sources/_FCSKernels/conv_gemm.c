/* Convolution as an implicit GEMM: C[m, n] (+)= A[m, k] · B[k, n], where A is the weight matrix
 * packed once into panels of 12 rows, and B is never formed: B[k, n] = input[k_offset[k] +
 * n_offset[n]] is gathered straight from the (padded) input into small cache-resident panels.
 * So a 3×3 convolution costs one pass of packing, no im2col matrix and no repeated passes over C.
 *
 * Blocking follows BLIS/GotoBLAS: the k dimension in blocks of KC, n in blocks of NC (a packed B
 * block of KC × NC floats stays in L2), m in blocks of MC; the micro-kernel computes a 12 × 32
 * tile of C in registers (AVX-512: 24 zmm accumulators; AVX2: four 6 × 16 calls). */
#include <stdatomic.h>
#include <stdlib.h>

#include "fcs_kernels.h"
#include "kernel_support.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { MR = FCS_CONV_GEMM_MR, NR = 32, KC = 256, NC = 512, MC = 12 * MR };
_Static_assert(MC % MR == 0, "m blocks must hold whole A panels");

size_t fcs_conv_gemm_packed_size(size_t m, size_t k) { return (m + MR - 1) / MR * MR * k; }

size_t fcs_conv_gemm_scratch_size(void) { return (size_t)KC * NC; }

void fcs_conv_gemm_pack_weight(const float *w, size_t m, size_t k, float *packed) {
    for (size_t panel = 0; panel < (m + MR - 1) / MR; panel++) {
        float *dst = packed + panel * MR * k;
        for (size_t kk = 0; kk < k; kk++)
            for (size_t r = 0; r < MR; r++) {
                size_t row = panel * MR + r;
                dst[kk * MR + r] = row < m ? w[row * k + kk] : 0.0f;
            }
    }
}

/* ---- micro-kernels: c[rows, cols] (+)= a-panel[kc][MR] · b-panel[kc][NR] ---- */

static void kernel_generic(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                           int accumulate, size_t rows, size_t cols) {
    float acc[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k++, a += MR, b += NR)
        for (size_t r = 0; r < MR; r++)
            for (size_t j = 0; j < NR; j++) acc[r][j] += a[r] * b[j];
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + acc[r][j];
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void kernel_avx512(size_t kc, const float *a, const float *b, float *c,
                                                             size_t ldc, int accumulate, size_t rows, size_t cols) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int r = 0; r < MR; r++) {
            const __m512 ar = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : (cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1));
    for (size_t r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        __m512 v0 = acc[r][0], v1 = acc[r][1];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
        }
        _mm512_mask_storeu_ps(row, m0, v0);
        _mm512_mask_storeu_ps(row + 16, m1, v1);
    }
}

/* 6 × 16 on AVX2 + FMA; a whole tile is several calls (rows of the A panel beyond 6 are skipped by lda). */
__attribute__((target("avx2,fma"))) static void kernel_avx2_6x16(size_t kc, const float *a, const float *b, float *c,
                                                                size_t ldc, int accumulate, size_t rows, size_t cols) {
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < 6; r++) {
            const __m256 ar = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    float tile[6][16];
    for (int r = 0; r < 6; r++) {
        _mm256_storeu_ps(tile[r], acc[r][0]);
        _mm256_storeu_ps(tile[r] + 8, acc[r][1]);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + tile[r][j];
}

static void kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc, int accumulate,
                        size_t rows, size_t cols) {
    for (size_t r0 = 0; r0 < rows; r0 += 6)
        for (size_t c0 = 0; c0 < cols; c0 += 16) {
            size_t r = rows - r0, j = cols - c0;
            kernel_avx2_6x16(kc, a + r0, b + c0, c + r0 * ldc + c0, ldc, accumulate, r < 6 ? r : 6, j < 16 ? j : 16);
        }
}
#endif

typedef void (*micro_kernel)(size_t, const float *, const float *, float *, size_t, int, size_t, size_t);

static micro_kernel kernel_for(const char *isa) {
#if defined(__x86_64__)
    if (!strcmp(isa, "avx512")) return __builtin_cpu_supports("avx512f") ? kernel_avx512 : 0;
    if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? kernel_avx2 : 0;
#endif
    return strcmp(isa, "baseline") ? 0 : kernel_generic;
}

/* Chosen lazily by the first call on any thread (or by a test): atomic, since worker threads may
 * race to set it — they all store the same pointer, but plain accesses would be a data race. */
static _Atomic(micro_kernel) selected_kernel;

int fcs_conv_gemm_select(const char *isa) {
    micro_kernel chosen = 0;
    if (isa) {
        chosen = kernel_for(isa);
    } else {
        const char *best[] = {"avx512", "avx2", "baseline"};
        for (int i = 0; !chosen; i++) chosen = kernel_for(best[i]);
    }
    if (!chosen) return -1;
    atomic_store_explicit(&selected_kernel, chosen, memory_order_release);
    return 0;
}

/* Packs B[k0 .. k0+kc, n0 .. n0+nc] into NR-wide panels [kc][NR], zero-padding the last one.
 * Columns whose input offsets are consecutive (a run of pixels along one output row, for
 * stride 1) are copied as one block; a panel of 32 columns over 8-pixel rows is 4 blocks. */
static void pack_b(const float *input, const int32_t *k_offset, const int32_t *n_offset, size_t k0, size_t kc,
                   size_t n0, size_t nc, float *packed) {
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        const size_t cols = nc - j0 < NR ? nc - j0 : NR;
        const int32_t *cols_offset = n_offset + n0 + j0;
        size_t run_start[NR], run_length[NR], runs = 0;
        for (size_t j = 0; j < cols; j++) {
            if (runs && cols_offset[j] == cols_offset[j - 1] + 1) {
                run_length[runs - 1]++;
            } else {
                run_start[runs] = j;
                run_length[runs++] = 1;
            }
        }
        float *dst = packed + j0 * kc;
        for (size_t k = 0; k < kc; k++, dst += NR) {
            const float *src = input + k_offset[k0 + k];
            if (runs == 1 && cols == NR) {
                memcpy(dst, src + cols_offset[0], NR * sizeof(float));
                continue;
            }
            for (size_t r = 0; r < runs; r++)
                memcpy(dst + run_start[r], src + cols_offset[run_start[r]], run_length[r] * sizeof(float));
            for (size_t j = cols; j < NR; j++) dst[j] = 0.0f;
        }
    }
}

void fcs_conv_gemm(size_t m, size_t n, size_t k, const float *packed_weight, const float *input,
                   const int32_t *k_offset, const int32_t *n_offset, float *c, size_t ldc, int accumulate,
                   float *scratch) {
    micro_kernel kernel = atomic_load_explicit(&selected_kernel, memory_order_acquire);
    if (!kernel) {
        fcs_conv_gemm_select(NULL);
        kernel = atomic_load_explicit(&selected_kernel, memory_order_acquire);
    }
    for (size_t n0 = 0; n0 < n; n0 += NC) {
        const size_t nc = n - n0 < NC ? n - n0 : NC;
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            const size_t kc = k - k0 < KC ? k - k0 : KC;
            pack_b(input, k_offset, n_offset, k0, kc, n0, nc, scratch);
            const int add = accumulate || k0 > 0;
            for (size_t m0 = 0; m0 < m; m0 += MC) {
                const size_t mc = m - m0 < MC ? m - m0 : MC;
                for (size_t j0 = 0; j0 < nc; j0 += NR) {
                    const size_t cols = nc - j0 < NR ? nc - j0 : NR;
                    for (size_t i0 = m0; i0 < m0 + mc; i0 += MR) {
                        const size_t rows = m0 + mc - i0 < MR ? m0 + mc - i0 : MR;
                        kernel(kc, packed_weight + i0 * k + k0 * MR, scratch + j0 * kc,
                               c + i0 * ldc + n0 + j0, ldc, add, rows, cols);
                    }
                }
            }
        }
    }
}
