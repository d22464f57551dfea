/* Winograd F(m×m, 3×3) for stride-1 3×3 convolutions (Lavin & Gray 2016, "Fast Algorithms for
 * Convolutional Neural Networks"): each m×m output tile is A^T [(G g G^T) ⊙ (B^T d B)] A over an
 * α×α input tile d (α = m + 2), so the multiply-adds become α² GEMMs of [out, in] · [in, tiles]:
 * 9m²/α² of a direct 3×3 convolution's (F(2×2): 1/2.25, F(4×4): 1/4).
 *
 * F(2×2, 3×3), points 0, ±1, ∞ (ξ = 4i + j indexing the 4×4 grid):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * F(4×4, 3×3), points 0, 1, -1, ½, -2, ∞ (ξ = 6i + j): mixing ½ with -2 keeps the transforms'
 * entries near 1, so rounding grows less than with Lavin & Gray's 0, ±1, ±2, ∞ (3× smaller
 * worst error on 1280 channels; Barabasz et al. 2020, "Error analysis and improving the accuracy
 * of Winograd convolution"):
 *   B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0;
 *          0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1],
 *   G = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15; 1/15 -2/15 4/15; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1].
 *
 * The transforms run in the instruction set of the GEMM micro-kernels fcs_conv_gemm_select chose
 * (not the CPU's best), so forcing "avx2" measures the whole Winograd path an AVX2-only CPU runs. */
#include "fcs_kernels.h"
#include "kernel_support.h"
#include "micro_kernels.h"

/* name(params) calls name##_body(args) compiled for the selected micro-kernels' instruction set. */
#if defined(__x86_64__) && defined(__linux__)
#define FCS_SELECTED_ISA(name, params, args)                                                                      \
    __attribute__((target("arch=x86-64-v4"))) static void name##_avx512 params { name##_body args; }             \
    __attribute__((target("arch=x86-64-v3"))) static void name##_avx2 params { name##_body args; }               \
    static void name##_baseline params { name##_body args; }                                                     \
    void name params {                                                                                            \
        switch (fcs_selected_isa()) {                                                                             \
        case FCS_ISA_AVX512: name##_avx512 args; break;                                                           \
        case FCS_ISA_AVX2: name##_avx2 args; break;                                                               \
        default: name##_baseline args; break;                                                                     \
        }                                                                                                         \
    }
#else
#define FCS_SELECTED_ISA(name, params, args) \
    void name params { name##_body args; }
#endif

/* Tiles transformed per pass: a block's output rows (F(4×4): and its m·BLOCK + 2 input columns)
 * stay in a stack buffer, written (read) as whole rows, so the other half of each transform runs
 * on contiguous rows. */
enum { BLOCK = 16 };

/* ---- F(2×2, 3×3) ---- */

void fcs_winograd_f2_weight_transform(const float *w, size_t out_channels, size_t in_channels, float *u) {
    const size_t plane = out_channels * in_channels;
    for (size_t oc = 0; oc < plane; oc++) {
        const float *g = w + oc * 9;
        float gg[4][3]; /* G g */
        for (int j = 0; j < 3; j++) {
            gg[0][j] = g[j];
            gg[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            gg[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            gg[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) { /* (G g) G^T */
            u[(4 * i + 0) * plane + oc] = gg[i][0];
            u[(4 * i + 1) * plane + oc] = 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]);
            u[(4 * i + 2) * plane + oc] = 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]);
            u[(4 * i + 3) * plane + oc] = gg[i][2];
        }
    }
}

FCS_INLINE void fcs_winograd_f2_input_transform_body(const float *restrict padded, size_t channels, size_t padded_height,
                                                     size_t padded_width, size_t tile_row0, size_t tile_rows,
                                                     size_t tile_cols, float *restrict v, size_t ldv, size_t xi_stride) {
    const size_t plane = padded_height * padded_width;
    for (size_t c = 0; c < channels; c++) {
        for (size_t ty = 0; ty < tile_rows; ty++) {
            const float *r0 = padded + c * plane + 2 * (tile_row0 + ty) * padded_width;
            const float *r1 = r0 + padded_width, *r2 = r1 + padded_width, *r3 = r2 + padded_width;
            float *dst = v + c * ldv + ty * tile_cols;
            for (size_t tx = 0; tx < tile_cols; tx++) {
                const size_t x = 2 * tx;
                float t[4][4]; /* B^T d, column by column */
                for (int j = 0; j < 4; j++) {
                    t[0][j] = r0[x + j] - r2[x + j];
                    t[1][j] = r1[x + j] + r2[x + j];
                    t[2][j] = r2[x + j] - r1[x + j];
                    t[3][j] = r1[x + j] - r3[x + j];
                }
                for (int i = 0; i < 4; i++) { /* (B^T d) B */
                    dst[(4 * i + 0) * xi_stride + tx] = t[i][0] - t[i][2];
                    dst[(4 * i + 1) * xi_stride + tx] = t[i][1] + t[i][2];
                    dst[(4 * i + 2) * xi_stride + tx] = t[i][2] - t[i][1];
                    dst[(4 * i + 3) * xi_stride + tx] = t[i][1] - t[i][3];
                }
            }
        }
    }
}

FCS_SELECTED_ISA(fcs_winograd_f2_input_transform,
                 (const float *padded, size_t channels, size_t padded_height, size_t padded_width, size_t tile_row0,
                  size_t tile_rows, size_t tile_cols, float *v, size_t ldv, size_t xi_stride),
                 (padded, channels, padded_height, padded_width, tile_row0, tile_rows, tile_cols, v, ldv, xi_stride))

FCS_INLINE void fcs_winograd_f2_output_transform_body(const float *restrict m, size_t out_channels, size_t ldm,
                                                      size_t xi_stride, size_t tile_row0, size_t tile_rows,
                                                      size_t tile_cols, const float *restrict bias, float *restrict y,
                                                      size_t y_channel_stride, size_t y_row_stride,
                                                      size_t out_height, size_t out_width) {
    float out[2][2 * BLOCK]; /* A^T m A + bias: a block's two output rows */
    for (size_t o = 0; o < out_channels; o++) {
        const float b = bias ? bias[o] : 0.0f;
        for (size_t ty = 0; ty < tile_rows; ty++) {
            const float *src = m + o * ldm + ty * tile_cols;
            const size_t row = 2 * (tile_row0 + ty), rows = out_height - row < 2 ? 1 : 2;
            for (size_t tx0 = 0; tx0 < tile_cols; tx0 += BLOCK) {
                const size_t count = tile_cols - tx0 < BLOCK ? tile_cols - tx0 : BLOCK;
                for (size_t tx = 0; tx < count; tx++) {
                    float s[4][2]; /* m A, row by row */
                    for (int i = 0; i < 4; i++) {
                        const float *mi = src + 4 * i * xi_stride + tx0 + tx;
                        const float a = mi[0], bb = mi[xi_stride], c = mi[2 * xi_stride], d = mi[3 * xi_stride];
                        s[i][0] = a + bb + c;
                        s[i][1] = bb - c - d;
                    }
                    out[0][2 * tx] = s[0][0] + s[1][0] + s[2][0] + b;
                    out[0][2 * tx + 1] = s[0][1] + s[1][1] + s[2][1] + b;
                    out[1][2 * tx] = s[1][0] - s[2][0] - s[3][0] + b;
                    out[1][2 * tx + 1] = s[1][1] - s[2][1] - s[3][1] + b;
                }
                const size_t x0 = 2 * tx0, width = out_width - x0 < 2 * count ? out_width - x0 : 2 * count;
                for (size_t i = 0; i < rows; i++)
                    memcpy(y + o * y_channel_stride + (row + i) * y_row_stride + x0, out[i], width * sizeof(float));
            }
        }
    }
}

FCS_SELECTED_ISA(fcs_winograd_f2_output_transform,
                 (const float *m, size_t out_channels, size_t ldm, size_t xi_stride, size_t tile_row0,
                  size_t tile_rows, size_t tile_cols, const float *bias, float *y, size_t y_channel_stride,
                  size_t y_row_stride, size_t out_height, size_t out_width),
                 (m, out_channels, ldm, xi_stride, tile_row0, tile_rows, tile_cols, bias, y, y_channel_stride,
                  y_row_stride, out_height, out_width))

/* ---- F(4×4, 3×3) ---- */

/* r = B^T d for one column (or row) of six inputs. */
FCS_INLINE void input_f4(float d0, float d1, float d2, float d3, float d4, float d5, float r[6]) {
    const float d42 = d4 - d2, d31 = d3 - d1;
    r[0] = (d0 + d4 - 2.0f * d2) + 1.5f * d31;
    r[1] = (d4 - d1) + 0.5f * d2 + 2.5f * d3;
    r[2] = (d4 + d1) - 2.5f * d2 + 0.5f * d3;
    r[3] = d42 + 2.0f * d31;
    r[4] = d42 - 0.5f * d31;
    r[5] = (d1 + d5 - 2.0f * d3) + 1.5f * d42;
}

/* s = A^T m for one column (or row) of six products. */
FCS_INLINE void output_f4(float m0, float m1, float m2, float m3, float m4, float m5, float s[4]) {
    const float p = m1 + m2, q = m1 - m2;
    s[0] = m0 + p + m3 + m4;
    s[1] = q + 0.5f * m3 - 2.0f * m4;
    s[2] = p + 0.25f * m3 + 4.0f * m4;
    s[3] = q + 0.125f * m3 - 8.0f * m4 + m5;
}

/* G g for three taps, in double: the filters are transformed once, and rounding only the result
 * keeps the ⅓ and 1/15 exact to float precision. */
static void weight_f4(double g0, double g1, double g2, double r[6]) {
    r[0] = g0;
    r[1] = (g0 + g1 + g2) / 3;
    r[2] = (-g0 + g1 - g2) / 3;
    r[3] = -(16 * g0 + 8 * g1 + 4 * g2) / 15;
    r[4] = (g0 - 2 * g1 + 4 * g2) / 15;
    r[5] = g2;
}

void fcs_winograd_f4_weight_transform(const float *w, size_t out_channels, size_t in_channels, float *u) {
    const size_t plane = out_channels * in_channels;
    for (size_t oc = 0; oc < plane; oc++) {
        const float *g = w + oc * 9;
        double gg[3][6]; /* (G g)^T: gg[j] is column j of G g */
        for (int j = 0; j < 3; j++) weight_f4(g[j], g[3 + j], g[6 + j], gg[j]);
        for (int i = 0; i < 6; i++) { /* (G g) G^T */
            double row[6];
            weight_f4(gg[0][i], gg[1][i], gg[2][i], row);
            for (int j = 0; j < 6; j++) u[(6 * i + j) * plane + oc] = (float)row[j];
        }
    }
}

FCS_INLINE void fcs_winograd_f4_input_transform_body(const float *restrict padded, size_t channels, size_t padded_height,
                                                     size_t padded_width, size_t tile_row0, size_t tile_rows,
                                                     size_t tile_cols, float *restrict v, size_t ldv, size_t xi_stride) {
    const size_t plane = padded_height * padded_width;
    float t[6][4 * BLOCK + 2]; /* B^T d over a block's columns */
    for (size_t c = 0; c < channels; c++) {
        for (size_t ty = 0; ty < tile_rows; ty++) {
            const float *r = padded + c * plane + 4 * (tile_row0 + ty) * padded_width;
            float *dst = v + c * ldv + ty * tile_cols;
            for (size_t tx0 = 0; tx0 < tile_cols; tx0 += BLOCK) {
                const size_t count = tile_cols - tx0 < BLOCK ? tile_cols - tx0 : BLOCK, columns = 4 * count + 2;
                const float *r0 = r + 4 * tx0;
                for (size_t x = 0; x < columns; x++) {
                    float column[6];
                    input_f4(r0[x], r0[padded_width + x], r0[2 * padded_width + x], r0[3 * padded_width + x],
                             r0[4 * padded_width + x], r0[5 * padded_width + x], column);
                    for (int i = 0; i < 6; i++) t[i][x] = column[i];
                }
                for (int i = 0; i < 6; i++) { /* (B^T d) B */
                    float *out = dst + 6 * i * xi_stride + tx0;
                    for (size_t tx = 0; tx < count; tx++) {
                        const float *d = t[i] + 4 * tx;
                        float row[6];
                        input_f4(d[0], d[1], d[2], d[3], d[4], d[5], row);
                        for (int j = 0; j < 6; j++) out[j * xi_stride + tx] = row[j];
                    }
                }
            }
        }
    }
}

FCS_SELECTED_ISA(fcs_winograd_f4_input_transform,
                 (const float *padded, size_t channels, size_t padded_height, size_t padded_width, size_t tile_row0,
                  size_t tile_rows, size_t tile_cols, float *v, size_t ldv, size_t xi_stride),
                 (padded, channels, padded_height, padded_width, tile_row0, tile_rows, tile_cols, v, ldv, xi_stride))

FCS_INLINE void fcs_winograd_f4_output_transform_body(const float *restrict m, size_t out_channels, size_t ldm,
                                                      size_t xi_stride, size_t tile_row0, size_t tile_rows,
                                                      size_t tile_cols, const float *restrict bias, float *restrict y,
                                                      size_t y_channel_stride, size_t y_row_stride,
                                                      size_t out_height, size_t out_width) {
    float s[4][6][BLOCK];   /* A^T m over a block's tiles: s[output row][ξ column][tile] */
    float out[4][4 * BLOCK]; /* A^T m A + bias: the block's four output rows */
    for (size_t o = 0; o < out_channels; o++) {
        const float b = bias ? bias[o] : 0.0f;
        for (size_t ty = 0; ty < tile_rows; ty++) {
            const float *src = m + o * ldm + ty * tile_cols;
            const size_t row = 4 * (tile_row0 + ty), rows = out_height - row < 4 ? out_height - row : 4;
            for (size_t tx0 = 0; tx0 < tile_cols; tx0 += BLOCK) {
                const size_t count = tile_cols - tx0 < BLOCK ? tile_cols - tx0 : BLOCK;
                for (int j = 0; j < 6; j++) {
                    const float *mj = src + j * xi_stride + tx0;
                    for (size_t tx = 0; tx < count; tx++) {
                        float column[4];
                        output_f4(mj[tx], mj[6 * xi_stride + tx], mj[12 * xi_stride + tx], mj[18 * xi_stride + tx],
                                  mj[24 * xi_stride + tx], mj[30 * xi_stride + tx], column);
                        for (int i = 0; i < 4; i++) s[i][j][tx] = column[i];
                    }
                }
                for (int i = 0; i < 4; i++)
                    for (size_t tx = 0; tx < count; tx++) {
                        float pixels[4];
                        output_f4(s[i][0][tx], s[i][1][tx], s[i][2][tx], s[i][3][tx], s[i][4][tx], s[i][5][tx], pixels);
                        for (int j = 0; j < 4; j++) out[i][4 * tx + j] = pixels[j] + b;
                    }
                const size_t x0 = 4 * tx0, width = out_width - x0 < 4 * count ? out_width - x0 : 4 * count;
                for (size_t i = 0; i < rows; i++)
                    memcpy(y + o * y_channel_stride + (row + i) * y_row_stride + x0, out[i], width * sizeof(float));
            }
        }
    }
}

FCS_SELECTED_ISA(fcs_winograd_f4_output_transform,
                 (const float *m, size_t out_channels, size_t ldm, size_t xi_stride, size_t tile_row0,
                  size_t tile_rows, size_t tile_cols, const float *bias, float *y, size_t y_channel_stride,
                  size_t y_row_stride, size_t out_height, size_t out_width),
                 (m, out_channels, ldm, xi_stride, tile_row0, tile_rows, tile_cols, bias, y, y_channel_stride,
                  y_row_stride, out_height, out_width))
