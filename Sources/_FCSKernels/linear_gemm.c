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

void fcs_pack_bf16_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                          size_t height, void *storage) {
    uint16_t *panels = storage;
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

size_t fcs_linear_scratch_size(void) { return (size_t)MC * KC + (size_t)KC * NR; }

void fcs_linear(size_t m, size_t n, size_t k, fcs_panel_type type, const void *packed_weight, const float *x, size_t ldx,
                float *y, size_t ldy, int accumulate, float *scratch) {
    const fcs_bf16_micro_kernel kernel_bf16 = fcs_selected_bf16_micro_kernel();
    const fcs_f32_micro_kernel kernel = fcs_selected_f32_micro_kernel();
    const size_t depth = depth_of(k, type);
    float *a_panels = scratch, *b_widened = scratch + (size_t)MC * KC;
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        const size_t kc = k - k0 < KC ? k - k0 : KC, kc_pairs = (kc + 1) / 2 * 2;
        const int add = accumulate || k0 > 0;
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
