/* Linear layers, y[m, n] (+)= x[m, k] · Wᵀ for W [n][k], on the conv GEMM's micro-kernels with
 * the operands the other way round: W is packed once as B panels [n/32][k][32] (bf16: pairs,
 * [n/32][k/2][32][2]), and the activations x as A panels, a cache block at a time per call.
 * So the output is written in row-major tiles with vector stores, and x is read row by row —
 * where fcs_conv_gemm, with W as A, would gather x column by column and store y transposed.
 * float16 weights are widened one 32-column panel at a time (1/MC of the multiply-adds). */
#include "fcs_kernels.h"
#include "kernel_support.h"
#include "micro_kernels.h"

enum { MR = FCS_CONV_GEMM_MR, NR = FCS_GEMM_NR, KC = 256, MC = 8 * MR };

static size_t depth_of(size_t k, fcs_panel_type type) { return type == FCS_PANEL_BF16 ? (k + 1) / 2 * 2 : k; }
static size_t element_bytes(fcs_panel_type type) { return type == FCS_PANEL_F32 ? 4 : 2; }

/* The reference packing, one value at a time; the vectorised ones below give the same bits
 * (subnormal values aside, which vcvtneps2bf16 flushes to zero). */
static void pack_bf16_panels_generic(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride,
                                     float scale, size_t height, uint16_t *panels) {
    const size_t depth = (k + 1) / 2 * 2;
    for (size_t i0 = 0; i0 < rows; i0 += height) {
        uint16_t *panel = panels + i0 * depth;
        for (size_t kk = 0; kk < depth; kk++)
            for (size_t r = 0; r < height; r++) {
                const float value = i0 + r < rows && kk < k ? scale * src[(i0 + r) * row_stride + kk * k_stride] : 0.0f;
                panel[kk / 2 * 2 * height + 2 * r + kk % 2] = fcs_float_to_bf16_bits(value);
            }
    }
}

#if defined(__x86_64__)
static __mmask16 first_lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/* Rows contiguous along k (activations, keys, queries): each row's next 32 values convert to 16
 * pairs in two instructions, and the pairs — 32 bits each — are then transposed into the panel
 * through a small block, where the reference rounds and scatters every value on its own. */
__attribute__((target("avx512f,avx512bf16"))) static void pack_bf16_rows_avx512(const float *src, size_t rows,
                                                                               size_t k, size_t row_stride,
                                                                               float scale, size_t height,
                                                                               uint32_t *panels) {
    enum { PAIRS = 16 };
    const size_t pairs_per_row = (k + 1) / 2;
    const __m512 factor = _mm512_set1_ps(scale);
    uint32_t block[FCS_GEMM_NR][PAIRS];
    for (size_t i0 = 0; i0 < rows; i0 += height) {
        uint32_t *panel = panels + i0 * pairs_per_row;
        for (size_t p0 = 0; p0 < pairs_per_row; p0 += PAIRS) {
            const size_t pairs = pairs_per_row - p0 < PAIRS ? pairs_per_row - p0 : PAIRS, values = k - 2 * p0;
            const __mmask16 low_mask = first_lanes(values), high_mask = values > 16 ? first_lanes(values - 16) : 0;
            for (size_t r = 0; r < height; r++) {
                __m512i converted = _mm512_setzero_si512();
                if (i0 + r < rows) {
                    const float *row = src + (i0 + r) * row_stride + 2 * p0;
                    const __m512 low = _mm512_mul_ps(factor, _mm512_maskz_loadu_ps(low_mask, row));
                    const __m512 high = _mm512_mul_ps(factor, _mm512_maskz_loadu_ps(high_mask, row + 16));
                    converted = (__m512i)_mm512_cvtne2ps_pbh(high, low);
                }
                _mm512_storeu_si512(block[r], converted);
            }
            for (size_t p = 0; p < pairs; p++)
                for (size_t r = 0; r < height; r++) panel[(p0 + p) * height + r] = block[r][p];
        }
    }
}

/* Rows contiguous across the panel (values as Vᵀ): a pair is two source rows, converted and
 * interleaved 16 panel rows at a time. */
__attribute__((target("avx512f,avx512bf16"))) static void pack_bf16_columns_avx512(const float *src, size_t rows,
                                                                                  size_t k, size_t k_stride,
                                                                                  float scale, size_t height,
                                                                                  uint32_t *panels) {
    const size_t pairs_per_row = (k + 1) / 2;
    const __m512 factor = _mm512_set1_ps(scale);
    for (size_t i0 = 0; i0 < rows; i0 += height) {
        uint32_t *panel = panels + i0 * pairs_per_row;
        for (size_t p = 0; p < pairs_per_row; p++)
            for (size_t j0 = 0; j0 < height; j0 += 16) {
                const size_t first = i0 + j0, lanes = height - j0 < 16 ? height - j0 : 16;
                const __mmask16 present = first < rows ? first_lanes(rows - first) & first_lanes(lanes) : 0;
                const float *even = src + 2 * p * k_stride + first;
                const __m512 low = _mm512_mul_ps(factor, _mm512_maskz_loadu_ps(present, even));
                const __m512 high = _mm512_mul_ps(factor, _mm512_maskz_loadu_ps(2 * p + 1 < k ? present : 0, even + k_stride));
                _mm512_mask_storeu_epi32(panel + p * height + j0, first_lanes(lanes), fcs_bf16_pairs_avx512(low, high));
            }
    }
}
#endif

void fcs_pack_bf16_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                          size_t height, void *storage) {
#if defined(__x86_64__)
    if (fcs_selected_bf16_instructions() && height <= FCS_GEMM_NR) {
        if (k_stride == 1) {
            pack_bf16_rows_avx512(src, rows, k, row_stride, scale, height, storage);
            return;
        }
        if (row_stride == 1) {
            pack_bf16_columns_avx512(src, rows, k, k_stride, scale, height, storage);
            return;
        }
    }
#endif
    pack_bf16_panels_generic(src, rows, k, row_stride, k_stride, scale, height, storage);
}

void fcs_pack_f32_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                         size_t height, void *storage) {
    float *panels = storage;
    for (size_t i0 = 0; i0 < rows; i0 += height) {
        float *panel = panels + i0 * k;
        for (size_t r = 0; r < height; r++) /* row by row: src is read along k, its rows' direction */
            if (i0 + r < rows)
                for (size_t kk = 0; kk < k; kk++) panel[kk * height + r] = scale * src[(i0 + r) * row_stride + kk * k_stride];
            else
                for (size_t kk = 0; kk < k; kk++) panel[kk * height + r] = 0.0f;
    }
}

size_t fcs_linear_packed_bytes(size_t n, size_t k, fcs_panel_type type) {
    return (n + NR - 1) / NR * NR * depth_of(k, type) * element_bytes(type);
}

void fcs_linear_pack_weight(const float *w, size_t n, size_t k, fcs_panel_type type, void *packed) {
    const size_t depth = depth_of(k, type);
    if (type == FCS_PANEL_BF16) {
        fcs_pack_bf16_panels(w, n, k, k, 1, 1.0f, NR, packed);
        return;
    }
    for (size_t j0 = 0; j0 < n; j0 += NR)
        for (size_t kk = 0; kk < depth; kk++) {
            float column[NR];
            for (size_t j = 0; j < NR; j++) column[j] = j0 + j < n ? w[(j0 + j) * k + kk] : 0.0f;
            const size_t offset = j0 * depth + kk * NR;
            if (type == FCS_PANEL_F32)
                memcpy((float *)packed + offset, column, sizeof column);
            else
                fcs_f32_to_f16(column, (uint16_t *)packed + offset, NR);
        }
}

/* k per block: at most KC values (2·KC in bf16, whose A block takes half the bytes), split into
 * blocks of equal depth so that no block is a short tail (320 = 256 + 64 would spend a pass over
 * C on 64 values). Even, so that bf16 pairs stay whole. */
static size_t k_block(size_t k, fcs_panel_type type) {
    const size_t most = type == FCS_PANEL_BF16 ? 2 * KC : KC, blocks = (k + most - 1) / most;
    const size_t depth = (k + blocks - 1) / blocks;
    return (depth + 1) / 2 * 2;
}

size_t fcs_linear_scratch_size(void) { return (size_t)MC * KC + (size_t)KC * NR; }

void fcs_linear(size_t m, size_t n, size_t k, fcs_panel_type type, const void *packed_weight, const float *x, size_t ldx,
                float *y, size_t ldy, const float *bias, float *scratch) {
    const fcs_bf16_micro_kernel kernel_bf16 = fcs_selected_bf16_micro_kernel();
    const fcs_f32_micro_kernel kernel = fcs_selected_f32_micro_kernel();
    const size_t depth = depth_of(k, type);
    float *a_panels = scratch, *b_widened = scratch + (size_t)MC * KC;
    const size_t block_depth = k_block(k, type);
    for (size_t k0 = 0; k0 < k; k0 += block_depth) {
        const size_t kc = k - k0 < block_depth ? k - k0 : block_depth, kc_pairs = (kc + 1) / 2 * 2;
        /* the bias is written into each tile right before its first block adds to it, while the
         * tile is in cache: not in a pass of its own over y */
        const int add = bias || k0 > 0;
        for (size_t m0 = 0; m0 < m; m0 += MC) {
            const size_t mc = m - m0 < MC ? m - m0 : MC;
            if (type == FCS_PANEL_BF16)
                fcs_pack_bf16_panels(x + m0 * ldx + k0, mc, kc, ldx, 1, 1.0f, MR, a_panels);
            else
                fcs_pack_f32_panels(x + m0 * ldx + k0, mc, kc, ldx, 1, 1.0f, MR, a_panels);
            for (size_t j0 = 0; j0 < n; j0 += NR) {
                const size_t cols = n - j0 < NR ? n - j0 : NR;
                const float *b = 0;
                if (type == FCS_PANEL_F32) b = (const float *)packed_weight + j0 * depth + k0 * NR;
                if (type == FCS_PANEL_F16) {
                    fcs_f16_to_f32((const uint16_t *)packed_weight + j0 * depth + k0 * NR, b_widened, kc * NR);
                    b = b_widened;
                }
                for (size_t i0 = 0; i0 < mc; i0 += MR) {
                    const size_t rows = mc - i0 < MR ? mc - i0 : MR;
                    float *tile = y + (m0 + i0) * ldy + j0;
                    if (bias && k0 == 0)
                        for (size_t r = 0; r < rows; r++) memcpy(tile + r * ldy, bias + j0, cols * sizeof *bias);
                    if (type == FCS_PANEL_BF16)
                        kernel_bf16(kc_pairs, (const uint16_t *)a_panels + i0 * kc_pairs,
                                    (const uint16_t *)packed_weight + j0 * depth + k0 * NR, tile, ldy, 0, add, rows, cols);
                    else
                        kernel(kc, a_panels + i0 * kc, b, tile, ldy, 0, add, rows, cols);
                }
            }
        }
    }
}
