#include <math.h>

#include "fcs_kernels.h"
#include "kernel_support.h"

/* Lane-wise maxima, then across lanes: a single running maximum is a reduction the compiler
 * may not vectorise without fast-math, and this loop is a third of attention's softmax. */
FCS_INLINE float fcs_max(const float *x, size_t n) {
    float lanes[16];
    for (size_t l = 0; l < 16; l++) lanes[l] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t l = 0; l < 16; l++) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
    for (size_t l = 0; i < n; i++, l++) lanes[l] = x[i] > lanes[l] ? x[i] : lanes[l];
    float m = -INFINITY;
    for (size_t l = 0; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

FCS_MULTIVERSION void fcs_softmax(const float *x, float *y, size_t n) {
    if (n == 0) return;
    const float m = fcs_max(x, n);
    for (size_t i = 0; i < n; i++) y[i] = fcs_expf(x[i] - m);
    const float inv = 1.0f / fcs_sum(y, n);
    for (size_t i = 0; i < n; i++) y[i] *= inv;
}

FCS_MULTIVERSION void fcs_online_softmax_tile(float *s, size_t rows, size_t cols, size_t lds,
                                              float *row_max, float *row_sum, float *o, size_t d, size_t ldo,
                                              ptrdiff_t causal_base) {
    for (size_t r = 0; r < rows; r++) {
        float *srow = s + r * lds;
        size_t valid = cols;
        if (causal_base >= 0) {
            ptrdiff_t v = causal_base + (ptrdiff_t)r;
            valid = v <= 0 ? 0 : ((size_t)v < cols ? (size_t)v : cols);
        }
        if (valid == 0) {
            for (size_t c = 0; c < cols; c++) srow[c] = 0.0f;
            continue;
        }
        /* Masked and padding columns up to a multiple of 16 become -inf, so every loop below runs
         * on whole vectors (exp(-inf) = 0): a scalar tail of 13 of CLIP's 77 keys per row would
         * otherwise cost as much as the vector part. */
        size_t width = (valid + 15) & ~(size_t)15;
        width = width > lds ? lds : width;
        width = width < cols ? cols : width;
        for (size_t c = valid; c < width; c++) srow[c] = -INFINITY;
        const float tile_max = fcs_max(srow, width);
        const float old_max = row_max[r];
        const float new_max = tile_max > old_max ? tile_max : old_max;
        /* exponentials and their sum in one pass, lanes summed in a fixed order (as fcs_sum) */
        float acc[16] = {0};
        size_t c = 0;
        for (; c + 16 <= width; c += 16)
            for (size_t l = 0; l < 16; l++) {
                float e = fcs_expf(srow[c + l] - new_max);
                srow[c + l] = e;
                acc[l] += e;
            }
        for (size_t l = 0; c < width; c++, l++) {
            float e = fcs_expf(srow[c] - new_max);
            srow[c] = e;
            acc[l] += e;
        }
        for (size_t lanes = 8; lanes > 0; lanes /= 2)
            for (size_t l = 0; l < lanes; l++) acc[l] += acc[l + lanes];
        row_max[r] = new_max;
        if (old_max == -INFINITY) { /* first tile of this row: nothing accumulated to rescale */
            row_sum[r] = acc[0];
            continue;
        }
        const float correction = fcs_expf(old_max - new_max);
        row_sum[r] = row_sum[r] * correction + acc[0];
        float *orow = o + r * ldo;
        for (size_t i = 0; i < d; i++) orow[i] *= correction;
    }
}

FCS_MULTIVERSION void fcs_divide_rows(float *o, size_t rows, size_t d, size_t ldo, const float *row_sum) {
    for (size_t r = 0; r < rows; r++) {
        if (row_sum[r] == 0.0f) continue; /* fully masked row: output stays 0 */
        const float inv = 1.0f / row_sum[r];
        float *orow = o + r * ldo;
        for (size_t i = 0; i < d; i++) orow[i] *= inv;
    }
}
