/* Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (Lavin & Gray 2016, "Fast Algorithms for
 * Convolutional Neural Networks"): each 2×2 output tile is A^T [(G g G^T) ⊙ (B^T d B)] A over a
 * 4×4 input tile d, so the multiply-adds become 16 GEMMs of [out, in] · [in, tiles] — 2.25×
 * fewer than a direct 3×3 convolution. Transforms (with ξ = 4i + j indexing the 4×4 grid):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1]. */
#include "fcs_kernels.h"
#include "kernel_support.h"

void fcs_winograd_weight_transform(const float *w, size_t out_channels, size_t in_channels, float *u) {
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

FCS_MULTIVERSION void fcs_winograd_input_transform(const float *padded, size_t channels, size_t padded_height,
                                                   size_t padded_width, size_t tile_row0, size_t tile_rows,
                                                   size_t tile_cols, float *v, size_t ldv, size_t xi_stride) {
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

FCS_MULTIVERSION void fcs_winograd_output_transform(const float *m, size_t out_channels, size_t ldm, size_t xi_stride,
                                                    size_t tile_row0, size_t tile_rows, size_t tile_cols,
                                                    const float *bias, float *y, size_t y_channel_stride,
                                                    size_t y_row_stride, size_t out_height, size_t out_width) {
    for (size_t o = 0; o < out_channels; o++) {
        const float b = bias ? bias[o] : 0.0f;
        for (size_t ty = 0; ty < tile_rows; ty++) {
            const float *src = m + o * ldm + ty * tile_cols;
            const size_t row = 2 * (tile_row0 + ty);
            float *y0 = y + o * y_channel_stride + row * y_row_stride;
            float *y1 = row + 1 < out_height ? y0 + y_row_stride : 0;
            for (size_t tx = 0; tx < tile_cols; tx++) {
                float s[4][2]; /* m A, row by row */
                for (int i = 0; i < 4; i++) {
                    const float *mi = src + 4 * i * xi_stride + tx;
                    const float a = mi[0], bb = mi[xi_stride], c = mi[2 * xi_stride], d = mi[3 * xi_stride];
                    s[i][0] = a + bb + c;
                    s[i][1] = bb - c - d;
                }
                const size_t x = 2 * tx;
                const float v00 = s[0][0] + s[1][0] + s[2][0] + b, v01 = s[0][1] + s[1][1] + s[2][1] + b;
                const float v10 = s[1][0] - s[2][0] - s[3][0] + b, v11 = s[1][1] - s[2][1] - s[3][1] + b;
                y0[x] = v00;
                if (x + 1 < out_width) y0[x + 1] = v01;
                if (y1) {
                    y1[x] = v10;
                    if (x + 1 < out_width) y1[x + 1] = v11;
                }
            }
        }
    }
}
