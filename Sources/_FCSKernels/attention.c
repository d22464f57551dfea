/* Flash attention on the GEMM micro-kernels, float32 softmax and sums, with the products in
 * float32 or bf16 (the panel type). Per block of queries of one head, key tile by key tile:
 *   Sᵀ = K (scale·Q)ᵀ     A: the head's keys, packed once per call and shared by every query
 *                         block; B: the block's queries, packed once per block. Sᵀ is kept in
 *                         strips of NR queries, each [keys][NR]: the micro-kernel's B layout;
 *   online softmax        float32, down the columns of Sᵀ: one vector lane per query;
 *   Oᵀ += Vᵀ Pᵀ           A: the head's values, packed once; B: P, each strip of Sᵀ as it is (bf16:
 *                         two key rows rounded and interleaved into pairs), so P is neither
 *                         transposed nor (float32) copied. Oᵀ keeps the head width d (40 in SD
 *                         1.5's largest layer) on the A side, in 12-row panels (48 for d = 40)
 *                         rather than 32-column tiles (64); its tiles are written transposed into O.
 * No score matrix larger than one tile exists, and K and V are packed (bf16: rounded) once, not
 * per block. The float32 products run on fcs's own micro-kernel, not OpenBLAS's sgemm, so on
 * AVX-512 CPUs they get its 512-bit FMAs whatever core type OpenBLAS was told. */
#include <math.h>

#include "fcs_kernels.h"
#include "kernel_support.h"
#include "micro_kernels.h"

enum { MR = FCS_CONV_GEMM_MR, NR = FCS_GEMM_NR };

static size_t even(size_t n) { return (n + 1) / 2 * 2; }
static size_t round_up(size_t n, size_t unit) { return (n + unit - 1) / unit * unit; }
/* k as a panel stores it (bf16: whole pairs), and the bytes of one element. */
static size_t depth_of(size_t k, fcs_panel_type type) { return type == FCS_PANEL_BF16 ? even(k) : k; }
static size_t element_bytes(fcs_panel_type type) { return type == FCS_PANEL_BF16 ? 2 : 4; }

static void pack(fcs_panel_type type, const float *src, size_t rows, size_t k, size_t row_stride, size_t k_stride,
                 float scale, size_t height, void *panels) {
    if (type == FCS_PANEL_BF16)
        fcs_pack_bf16_panels(src, rows, k, row_stride, k_stride, scale, height, panels);
    else
        fcs_pack_f32_panels(src, rows, k, row_stride, k_stride, scale, height, panels);
}

size_t fcs_attention_key_panels_bytes(fcs_panel_type type, size_t keys, size_t d) {
    return round_up(keys, MR) * depth_of(d, type) * element_bytes(type);
}

size_t fcs_attention_value_panels_bytes(fcs_panel_type type, size_t keys, size_t d) {
    return round_up(d, MR) * depth_of(keys, type) * element_bytes(type);
}

/* K as A: A[key, dim] = k[key · ld + dim]. */
void fcs_attention_pack_keys(fcs_panel_type type, const float *k, size_t keys, size_t d, size_t ld, void *panels) {
    pack(type, k, keys, d, ld, 1, 1.0f, MR, panels);
}

/* Vᵀ as A: A[dim, key] = v[key · ld + dim]. */
void fcs_attention_pack_values(fcs_panel_type type, const float *v, size_t keys, size_t d, size_t ld, void *panels) {
    pack(type, v, d, keys, 1, ld, 1.0f, MR, panels);
}

/* One online-softmax step on the tile st of cols keys × rows queries, in strips of NR queries
 * ([keys][NR], strip_floats apart): per query, the running maximum and sum are updated, st becomes
 * the unnormalised probabilities, and the query's output row (o, leading dim ldo) is rescaled for
 * the new maximum. Each strip runs all NR lanes, in registers (the last strip's lanes past rows
 * hold finite values no output uses); lanes[3 · rows] is scratch. */
FCS_MULTIVERSION static void softmax_columns(float *st, size_t cols, size_t rows, size_t strip_floats, float *row_max,
                                             float *row_sum, float *o, size_t d, size_t ldo, int first,
                                             float *lanes) {
    float *new_max = lanes, *sum = lanes + rows, *correction = lanes + 2 * rows;
    for (size_t j0 = 0; j0 < rows; j0 += NR) {
        float *strip = st + j0 / NR * strip_floats, strip_max[NR], strip_sum[NR];
        const size_t width = rows - j0 < NR ? rows - j0 : NR;
        for (size_t j = 0; j < NR; j++) {
            strip_max[j] = j < width ? row_max[j0 + j] : 0.0f;
            strip_sum[j] = 0.0f;
        }
        for (size_t c = 0; c < cols; c++)
            for (size_t j = 0; j < NR; j++) strip_max[j] = strip[c * NR + j] > strip_max[j] ? strip[c * NR + j] : strip_max[j];
        for (size_t c = 0; c < cols; c++)
            for (size_t j = 0; j < NR; j++) {
                const float e = fcs_expf(strip[c * NR + j] - strip_max[j]);
                strip[c * NR + j] = e;
                strip_sum[j] += e;
            }
        for (size_t j = 0; j < width; j++) {
            new_max[j0 + j] = strip_max[j];
            sum[j0 + j] = strip_sum[j];
        }
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

size_t fcs_attention_scratch_size(fcs_panel_type type, size_t rows, size_t key_tile, size_t d) {
    /* in floats: the score tile, row maxima and sums and three lanes of softmax scratch, the Q
     * panels, and (bf16) the P panels, two values to a float */
    const size_t width = round_up(rows, NR);
    const size_t panels = type == FCS_PANEL_BF16 ? (width * even(d) + width * even(key_tile) + 1) / 2 : width * d;
    return key_tile * width + 5 * rows + panels;
}

/* The micro-kernel for the panels' type, looked up once per call rather than per tile. */
struct kernel {
    fcs_panel_type type;
    fcs_bf16_micro_kernel bf16;
    fcs_f32_micro_kernel f32;
};

/* c (+)= A-panel · B-panel over depth k values, in the panels' type. */
static void multiply(const struct kernel *kernel, size_t depth, const char *a, const char *b, float *c, size_t ldc,
                     int transpose_c, int accumulate, size_t rows, size_t cols) {
    if (kernel->type == FCS_PANEL_BF16)
        kernel->bf16(depth, (const uint16_t *)a, (const uint16_t *)b, c, ldc, transpose_c, accumulate, rows, cols);
    else
        kernel->f32(depth, (const float *)a, (const float *)b, c, ldc, transpose_c, accumulate, rows, cols);
}

void fcs_attention(fcs_panel_type type, const float *q, size_t rows, size_t d, size_t ldq, float scale,
                   const void *keys_packed, const void *values_packed, size_t keys, size_t key_tile, float *o,
                   size_t ldo, float *scratch) {
    const struct kernel kernel = {type, fcs_selected_bf16_micro_kernel(), fcs_selected_f32_micro_kernel()};
    const char *key_panels = keys_packed, *value_panels = values_packed;
    const size_t bytes = element_bytes(type), depth = depth_of(d, type), value_depth = depth_of(keys, type);
    const size_t width = round_up(rows, NR), strip_floats = key_tile * NR; /* Sᵀ: width / NR strips */
    float *st = scratch, *row_max = st + key_tile * width, *row_sum = row_max + rows, *lanes = row_sum + rows;
    char *q_panels = (char *)(lanes + 3 * rows), *p_panels = q_panels + width * depth * bytes;
    /* the micro-kernel writes the first rows lanes of each strip: the last strip's lanes past them
     * start at zero and stay finite through the softmax */
    if (rows % NR) memset(st + rows / NR * strip_floats, 0, strip_floats * sizeof(float));
    pack(type, q, rows, d, ldq, 1, scale, NR, q_panels); /* (scale · Q)ᵀ as B: B[dim, query] */
    for (size_t j = 0; j < rows; j++) {
        row_max[j] = -INFINITY;
        row_sum[j] = 0.0f;
    }
    for (size_t k0 = 0; k0 < keys; k0 += key_tile) {
        const size_t cols = keys - k0 < key_tile ? keys - k0 : key_tile, p_depth = depth_of(cols, type);
        for (size_t i0 = 0; i0 < cols; i0 += MR)
            for (size_t j0 = 0; j0 < rows; j0 += NR)
                multiply(&kernel, depth, key_panels + (k0 + i0) * depth * bytes, q_panels + j0 * depth * bytes,
                         st + j0 / NR * strip_floats + i0 * NR, NR, 0, 0, cols - i0 < MR ? cols - i0 : MR,
                         rows - j0 < NR ? rows - j0 : NR);
        softmax_columns(st, cols, rows, strip_floats, row_max, row_sum, o, d, ldo, k0 == 0, lanes);
        for (size_t j0 = 0; j0 < rows; j0 += NR) {
            const float *strip = st + j0 / NR * strip_floats;
            const char *panel = (const char *)strip; /* float32: the strip is the B panel */
            if (type == FCS_PANEL_BF16) {
                uint16_t *pairs = (uint16_t *)(p_panels + j0 * p_depth * bytes);
                if (cols % 2) memset((float *)strip + cols * NR, 0, NR * sizeof(float)); /* the odd key's partner */
                for (size_t c = 0; c < cols; c += 2) fcs_interleave_bf16(strip + c * NR, strip + (c + 1) * NR, pairs + c * NR);
                panel = (const char *)pairs;
            }
            for (size_t i0 = 0; i0 < d; i0 += MR)
                multiply(&kernel, p_depth, value_panels + (i0 * value_depth + k0 * MR) * bytes, panel, o + j0 * ldo + i0, ldo,
                         1, k0 > 0, d - i0 < MR ? d - i0 : MR, rows - j0 < NR ? rows - j0 : NR);
        }
    }
    fcs_divide_rows(o, rows, d, ldo, row_sum);
}
