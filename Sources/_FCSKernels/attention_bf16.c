/* Flash attention with bf16 products and float32 softmax and sums, on the bf16 GEMM
 * micro-kernel. Per block of queries of one head, key tile by key tile:
 *   Sᵀ = K (scale·Q)ᵀ     A: the head's keys, packed once per call and shared by every query
 *                         block; B: the block's queries, packed once per block;
 *   online softmax        float32, down the columns of Sᵀ: one vector lane per query;
 *   Oᵀ += Vᵀ Pᵀ           A: the head's values, packed once; B: P, two key rows of Sᵀ rounded
 *                         to bf16 and interleaved into pairs (the micro-kernel's B layout), so P
 *                         is never transposed. Oᵀ keeps the head width d (40 in SD 1.5's largest
 *                         layer) on the A side, in 12-row panels (48 for d = 40) rather than
 *                         32-column tiles (64); its tiles are written transposed into O.
 * No score matrix larger than one tile exists, and K and V are rounded once, not per block. */
#include <math.h>

#include "fcs_kernels.h"
#include "kernel_support.h"
#include "micro_kernels.h"

enum { MR = FCS_CONV_GEMM_MR, NR = FCS_GEMM_NR };

static size_t even(size_t n) { return (n + 1) / 2 * 2; }
static size_t round_up(size_t n, size_t unit) { return (n + unit - 1) / unit * unit; }

size_t fcs_attention_bf16_key_panels_size(size_t keys, size_t d) { return round_up(keys, MR) * even(d); }

size_t fcs_attention_bf16_value_panels_size(size_t keys, size_t d) { return round_up(d, MR) * even(keys); }

/* Panels [rows/height][depth/2][height][2] of M[i, kk] = scale · src[i · row_stride + kk · k_stride]
 * for i < rows, kk < k, zero-padded to whole panels and pairs: the micro-kernel's A layout for
 * height MR, its B layout (with M = Bᵀ) for height NR. */
static void pack_panels(const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride, float scale,
                        size_t height, uint16_t *panels) {
    const size_t depth = even(k);
    for (size_t i0 = 0; i0 < rows; i0 += height) {
        uint16_t *panel = panels + i0 * depth;
        for (size_t kk = 0; kk < depth; kk++)
            for (size_t r = 0; r < height; r++) {
                const float value = i0 + r < rows && kk < k ? scale * src[(i0 + r) * row_stride + kk * k_stride] : 0.0f;
                panel[kk / 2 * 2 * height + 2 * r + kk % 2] = fcs_float_to_bf16_bits(value);
            }
    }
}

/* K as A: A[key, dim] = k[key · ld + dim]. */
void fcs_attention_bf16_pack_keys(const float *k, size_t keys, size_t d, size_t ld, void *panels) {
    pack_panels(k, keys, d, ld, 1, 1.0f, MR, panels);
}

/* Vᵀ as A: A[dim, key] = v[key · ld + dim]. */
void fcs_attention_bf16_pack_values(const float *v, size_t keys, size_t d, size_t ld, void *panels) {
    pack_panels(v, d, keys, 1, ld, 1.0f, MR, panels);
}

/* One online-softmax step on the tile st[cols keys][rows queries] (leading dim lds): per query,
 * the running maximum and sum are updated, st becomes the unnormalised probabilities, and the
 * query's output row (o, leading dim ldo) is rescaled for the new maximum. Vectorised along
 * the queries; lanes[3 · rows] is scratch. */
FCS_MULTIVERSION static void softmax_columns(float *st, size_t cols, size_t rows, size_t lds, float *row_max,
                                             float *row_sum, float *o, size_t d, size_t ldo, int first,
                                             float *lanes) {
    float *new_max = lanes, *sum = lanes + rows, *correction = lanes + 2 * rows;
    for (size_t j = 0; j < rows; j++) {
        new_max[j] = row_max[j];
        sum[j] = 0.0f;
    }
    for (size_t c = 0; c < cols; c++)
        for (size_t j = 0; j < rows; j++) new_max[j] = st[c * lds + j] > new_max[j] ? st[c * lds + j] : new_max[j];
    for (size_t c = 0; c < cols; c++)
        for (size_t j = 0; j < rows; j++) {
            const float e = fcs_expf(st[c * lds + j] - new_max[j]);
            st[c * lds + j] = e;
            sum[j] += e;
        }
    for (size_t j = 0; j < rows; j++) {
        correction[j] = fcs_expf(row_max[j] - new_max[j]); /* 0 on the first tile (row_max −∞) */
        row_sum[j] = row_sum[j] * correction[j] + sum[j];
        row_max[j] = new_max[j];
    }
    if (!first) /* the first tile has no output to rescale yet */
        for (size_t j = 0; j < rows; j++)
            for (size_t i = 0; i < d; i++) o[j * ldo + i] *= correction[j];
}

size_t fcs_attention_bf16_scratch_size(size_t rows, size_t key_tile, size_t d) {
    /* in floats: the score tile, row maxima and sums and three lanes of softmax scratch, and the
     * bf16 Q and P panels (two to a float) */
    const size_t width = round_up(rows, NR);
    return key_tile * width + 5 * rows + (width * even(d) + width * even(key_tile)) / 2;
}

void fcs_attention_bf16(const float *q, size_t rows, size_t d, size_t ldq, float scale, const void *keys_packed,
                        const void *values_packed, size_t keys, size_t key_tile, float *o, size_t ldo,
                        float *scratch) {
    const uint16_t *key_panels = keys_packed, *value_panels = values_packed;
    const fcs_bf16_micro_kernel kernel = fcs_selected_bf16_micro_kernel();
    const size_t depth = even(d), value_depth = even(keys), lds = round_up(rows, NR);
    const size_t tile = key_tile < round_up(keys, MR) ? key_tile : round_up(keys, MR); /* rows of st in use */
    float *st = scratch, *row_max = st + key_tile * lds, *row_sum = row_max + rows, *lanes = row_sum + rows;
    uint16_t *q_panels = (uint16_t *)(lanes + 3 * rows), *p_panels = q_panels + lds * depth;
    /* the micro-kernel writes the first rows columns of st: the padding to whole 32-query groups
     * stays zero, so the P panels hold zeros for queries past the last */
    memset(st, 0, tile * lds * sizeof(float));
    pack_panels(q, rows, d, ldq, 1, scale, NR, q_panels); /* (scale · Q)ᵀ as B: B[dim, query] */
    for (size_t j = 0; j < rows; j++) {
        row_max[j] = -INFINITY;
        row_sum[j] = 0.0f;
    }
    for (size_t k0 = 0; k0 < keys; k0 += key_tile) {
        const size_t cols = keys - k0 < key_tile ? keys - k0 : key_tile, pairs = even(cols);
        for (size_t i0 = 0; i0 < cols; i0 += MR)
            for (size_t j0 = 0; j0 < rows; j0 += NR)
                kernel(depth, key_panels + (k0 + i0) * depth, q_panels + j0 * depth, st + i0 * lds + j0, lds, 0, 0,
                       cols - i0 < MR ? cols - i0 : MR, rows - j0 < NR ? rows - j0 : NR);
        softmax_columns(st, cols, rows, lds, row_max, row_sum, o, d, ldo, k0 == 0, lanes);
        if (cols % 2) memset(st + cols * lds, 0, lds * sizeof(float)); /* the odd key's partner */
        for (size_t j0 = 0; j0 < rows; j0 += NR)
            for (size_t c = 0; c < cols; c += 2)
                fcs_interleave_bf16(st + c * lds + j0, st + (c + 1) * lds + j0, p_panels + j0 * pairs + c * NR);
        for (size_t j0 = 0; j0 < rows; j0 += NR)
            for (size_t i0 = 0; i0 < d; i0 += MR)
                kernel(pairs, value_panels + i0 * value_depth + k0 * MR, p_panels + j0 * pairs, o + j0 * ldo + i0, ldo,
                       1, k0 > 0, d - i0 < MR ? d - i0 : MR, rows - j0 < NR ? rows - j0 : NR);
    }
    fcs_divide_rows(o, rows, d, ldo, row_sum);
}
