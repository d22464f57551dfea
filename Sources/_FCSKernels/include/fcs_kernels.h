/* Vectorised inner loops of the fcs tensor engine. Implementation detail of FCSTensor: no stable
 * API. Every function is compiled for AVX-512, AVX2+FMA and baseline x86-64 (or the generic
 * target elsewhere) and the best variant is picked at load time from the CPU's features
 * (target_clones / ifunc), so one binary runs everywhere at the speed each CPU allows.
 * All pointers are to contiguous float32 arrays unless a leading dimension says otherwise. */
#ifndef FCS_KERNELS_H
#define FCS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The instruction set the dispatcher chose: "avx512", "avx2" or "baseline". */
const char *fcs_kernels_isa(void);

/* ---- activations: y = f(x), n elements; x and y may be the same array ---- */
void fcs_silu(const float *x, float *y, size_t n);
void fcs_relu(const float *x, float *y, size_t n);       /* max(x, 0); NaN stays NaN, as in PyTorch */
void fcs_gelu(const float *x, float *y, size_t n);       /* exact: x/2 (1 + erf(x/√2)) */
void fcs_gelu_tanh(const float *x, float *y, size_t n);  /* tanh approximation */
void fcs_quick_gelu(const float *x, float *y, size_t n); /* x sigmoid(1.702 x) */
/* GEGLU over rows of 2*half: y[r, i] = x[r, i] * gelu(x[r, half + i]) (diffusers GEGLU). */
void fcs_geglu(const float *x, float *y, size_t rows, size_t half);

/* ---- elementwise binary ops with broadcasting of either operand along one run ----
 * y[i] = a[i * a_step] op b[i * b_step], step 0 (broadcast scalar) or 1. */
void fcs_add(const float *a, size_t a_step, const float *b, size_t b_step, float *y, size_t n);
void fcs_sub(const float *a, size_t a_step, const float *b, size_t b_step, float *y, size_t n);
void fcs_mul(const float *a, size_t a_step, const float *b, size_t b_step, float *y, size_t n);

/* ---- reductions and normalisation ---- */
/* Sum of x[0..n); lanes are accumulated in a fixed order, so the result is the same for
 * every instruction set. */
float fcs_sum(const float *x, size_t n);
/* Sum of (x[i] - mean)^2. */
float fcs_sum_squared_deviation(const float *x, size_t n, float mean);
/* y[i] = x[i] * scale + shift, then SiLU when silu != 0. */
void fcs_scale_shift(const float *x, float *y, size_t n, float scale, float shift, int silu);
/* y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i]. */
void fcs_normalize_affine(const float *x, float *y, size_t n, float mean, float rstd,
                          const float *gamma, const float *beta);
/* Numerically stable softmax of x[0..n) into y (may alias x). */
void fcs_softmax(const float *x, float *y, size_t n);

/* ---- attention ----
 * One online-softmax step (flash attention) on a tile s[rows, cols] (leading dim lds) of scaled
 * scores: row_max/row_sum (length rows) are updated, s is replaced by the
 * unnormalised probabilities, and the output rows o[rows, d] (leading dim ldo) are rescaled
 * for the new maximum. Row r may see only its first valid_cols(r) columns, where
 * valid_cols(r) = min(cols, causal_base + r) when causal_base >= 0, else cols; masked
 * columns get probability 0. row_max starts at -INFINITY and row_sum at 0. Columns cols .. lds
 * may be overwritten (lds >= cols rounded up to 16 makes every loop whole vectors). */
void fcs_online_softmax_tile(float *s, size_t rows, size_t cols, size_t lds,
                             float *row_max, float *row_sum, float *o, size_t d, size_t ldo,
                             ptrdiff_t causal_base);
/* o[r, 0..d) /= row_sum[r] for each row. */
void fcs_divide_rows(float *o, size_t rows, size_t d, size_t ldo, const float *row_sum);

/* ---- convolution as implicit GEMM ----
 * C[m, n] = A[m, k] · B[k, n] (+ C when accumulate != 0). C[i, j] is c[i * ldc + j], or
 * c[j * ldc + i] when transpose_c != 0 (a linear layer's [tokens, features] output).
 * A is packed once by fcs_conv_gemm_pack_weight from row-major w[m][k] into
 * fcs_conv_gemm_packed_bytes(m, k, type) bytes (panels of FCS_CONV_GEMM_MR rows) of one element
 * type: float32; float16 (widened to float32 a cache block at a time inside the GEMM); or
 * bfloat16, multiplied as bf16 with float32 accumulation — by AVX512_BF16's vdpbf16ps where
 * the CPU has it (fcs_conv_gemm_has_bf16_instructions), else by a portable loop — with B rounded
 * to bf16 as it is packed. B is read as B[kk, j] = input[k_offset[kk] + n_offset[j]], so an
 * im2col matrix is never formed. scratch holds fcs_conv_gemm_scratch_size() floats, one buffer
 * per concurrent caller. To split the work, call on column ranges (n_offset + start, the C
 * pointer moved to column start) or on row ranges that start at a multiple of FCS_CONV_GEMM_MR
 * (packed_weight + fcs_conv_gemm_row_offset_bytes(start, k, type) bytes, C moved to row start). */
#define FCS_CONV_GEMM_MR 12
typedef enum { FCS_PANEL_F32 = 0, FCS_PANEL_F16 = 1, FCS_PANEL_BF16 = 2 } fcs_panel_type;
size_t fcs_conv_gemm_packed_bytes(size_t m, size_t k, fcs_panel_type type);
size_t fcs_conv_gemm_row_offset_bytes(size_t row, size_t k, fcs_panel_type type);
size_t fcs_conv_gemm_scratch_size(void);
void fcs_conv_gemm_pack_weight(const float *w, size_t m, size_t k, fcs_panel_type type, void *packed);
void fcs_conv_gemm(size_t m, size_t n, size_t k, fcs_panel_type type, const void *packed_weight, const float *input,
                   const int32_t *k_offset, const int32_t *n_offset, float *c, size_t ldc, int transpose_c,
                   int accumulate, float *scratch);
/* Linear layers: y[i, j] = bias[j] + Σ_kk x[i, kk] · W[j, kk] (bias NULL: none) for x [m][k]
 * (leading dim ldx), y [m][n] (leading dim ldy), W [n][k] packed once by fcs_linear_pack_weight into
 * fcs_linear_packed_bytes(n, k, type) bytes, in the same element types as fcs_conv_gemm (bf16:
 * x rounded to bf16 as it is packed). scratch holds fcs_linear_scratch_size() floats, one buffer
 * per concurrent caller; to split the work, call on row ranges of x and y. */
size_t fcs_linear_packed_bytes(size_t n, size_t k, fcs_panel_type type);
void fcs_linear_pack_weight(const float *w, size_t n, size_t k, fcs_panel_type type, void *packed);
size_t fcs_linear_scratch_size(void);
void fcs_linear(size_t m, size_t n, size_t k, fcs_panel_type type, const void *packed_weight, const float *x, size_t ldx,
                float *y, size_t ldy, const float *bias, float *scratch);
/* 1 when this CPU multiplies bf16 panels with AVX512_BF16 instructions. */
int fcs_conv_gemm_has_bf16_instructions(void);
/* Tests only (not thread-safe): use the "avx512bf16", "avx512", "avx2" or "baseline"
 * micro-kernels (all but the first multiply bf16 panels with the portable loop), or the best
 * ones for this CPU when isa is NULL. Returns -1 if this CPU cannot run the ones named. */
int fcs_conv_gemm_select(const char *isa);
/* The micro-kernels in use, by the names fcs_conv_gemm_select takes. */
const char *fcs_conv_gemm_selected_isa(void);

/* ---- attention ---- */
/* Non-causal attention of one head on the micro-kernels, float32 softmax and sums, the products
 * in type (FCS_PANEL_F32, or FCS_PANEL_BF16: q, k, v and the probabilities rounded to bf16):
 * o[rows, d] (leading dim ldo) = softmax(scale · q kᵀ) v for q[rows, d] (leading dim ldq). The
 * head's k and v [keys, d] are packed once (by the two pack functions, into
 * fcs_attention_key_panels_bytes / _value_panels_bytes bytes) and shared by every query block.
 * key_tile keys (a multiple of FCS_CONV_GEMM_MR, and even) are scored at a time, in scratch of
 * fcs_attention_scratch_size(type, rows, key_tile, d) floats (one per concurrent caller). */
size_t fcs_attention_key_panels_bytes(fcs_panel_type type, size_t keys, size_t d);
size_t fcs_attention_value_panels_bytes(fcs_panel_type type, size_t keys, size_t d);
void fcs_attention_pack_keys(fcs_panel_type type, const float *k, size_t keys, size_t d, size_t ld, void *panels);
void fcs_attention_pack_values(fcs_panel_type type, const float *v, size_t keys, size_t d, size_t ld, void *panels);
size_t fcs_attention_scratch_size(fcs_panel_type type, size_t rows, size_t key_tile, size_t d);
void fcs_attention(fcs_panel_type type, const float *q, size_t rows, size_t d, size_t ldq, float scale,
                   const void *key_panels, const void *value_panels, size_t keys, size_t key_tile, float *o,
                   size_t ldo, float *scratch);

/* ---- Winograd F(m×m, 3×3) for stride-1 3×3 convolutions, m = 2 (f2) or 4 (f4); α = m + 2 ----
 * Weights [out][in][3][3] → u[α²][out][in]. Input: tile rows tile_row0 ..< +tile_rows of a padded
 * image (padded_height ≥ m·(tiles down) + 2, padded_width ≥ m·tile_cols + 2) → v[ξ][channel][ldv]
 * (ξ = 0 ..< α² apart by xi_stride), tiles row-major. Output: m[ξ][out][ldm] of the same tiles →
 * y[out · y_channel_stride + row · y_row_stride + column] (+ bias, may be NULL) for rows
 * m·tile_row0 ..< out_height and columns 0 ..< out_width, dropping the part of a tile that falls
 * past out_height or out_width (so y may start at a window's first column, out_width the columns
 * from there). Both may be called on a channel subrange (offset pointers, same xi_stride), and
 * run in the instruction set of the micro-kernels fcs_conv_gemm_select chose. */
void fcs_winograd_f2_weight_transform(const float *w, size_t out_channels, size_t in_channels, float *u);
void fcs_winograd_f2_input_transform(const float *padded, size_t channels, size_t padded_height,
                                     size_t padded_width, size_t tile_row0, size_t tile_rows,
                                     size_t tile_cols, float *v, size_t ldv, size_t xi_stride);
void fcs_winograd_f2_output_transform(const float *m, size_t out_channels, size_t ldm, size_t xi_stride,
                                      size_t tile_row0, size_t tile_rows, size_t tile_cols, const float *bias,
                                      float *y, size_t y_channel_stride, size_t y_row_stride, size_t out_height,
                                      size_t out_width);
void fcs_winograd_f4_weight_transform(const float *w, size_t out_channels, size_t in_channels, float *u);
void fcs_winograd_f4_input_transform(const float *padded, size_t channels, size_t padded_height,
                                     size_t padded_width, size_t tile_row0, size_t tile_rows,
                                     size_t tile_cols, float *v, size_t ldv, size_t xi_stride);
void fcs_winograd_f4_output_transform(const float *m, size_t out_channels, size_t ldm, size_t xi_stride,
                                      size_t tile_row0, size_t tile_rows, size_t tile_cols, const float *bias,
                                      float *y, size_t y_channel_stride, size_t y_row_stride, size_t out_height,
                                      size_t out_width);

/* Winograd layers with 16-bit weights keep their 3×3 kernels g (9 values per output and input
 * channel) instead of the α² transformed matrices U_ξ = (G g Gᵀ)_ξ (16/9 or 4× as many values):
 * fcs_winograd_gemm computes C[m, n] = U_ξ[m, k] · B[k, n] (B read as fcs_conv_gemm reads it)
 * with U_ξ = Σ_t coefficients[t] · g_t formed a cache block at a time in float32 — multiplied as
 * float32 for float16 kernels (so U_ξ is never rounded to 16 bits), rounded to bf16 pairs for
 * bfloat16 ones. coefficients[t] is U_ξ of the unit kernel with a 1 at tap t (the layer's weight
 * transform applied to the 9 unit kernels). Kernels of m output and k input channels
 * (w[m][k][3][3]) are packed once by fcs_winograd_pack_kernels into
 * fcs_winograd_kernels_packed_bytes(m, k, type) bytes (type FCS_PANEL_F16 or FCS_PANEL_BF16);
 * scratch holds fcs_conv_gemm_scratch_size() floats, one buffer per concurrent caller. */
size_t fcs_winograd_kernels_packed_bytes(size_t m, size_t k, fcs_panel_type type);
void fcs_winograd_pack_kernels(const float *w, size_t m, size_t k, fcs_panel_type type, void *packed);
void fcs_winograd_gemm(const float coefficients[9], size_t m, size_t n, size_t k, fcs_panel_type type,
                       const void *packed_kernels, const float *input, const int32_t *k_offset,
                       const int32_t *n_offset, float *c, size_t ldc, float *scratch);

/* Rows [row_begin, row_end) of the rows × cols matrix x, transposed into the cols × rows matrix y
 * (y[j · rows + i] = x[i · cols + j]); callers split the rows between threads. */
void fcs_transpose_rows(const float *x, size_t rows, size_t cols, size_t row_begin, size_t row_end, float *y);

/* Returns the heap's free memory to the system (glibc: malloc_trim), e.g. after a large model part is released. */
void fcs_return_freed_memory(void);

/* ---- float16 / bfloat16 conversion (IEEE round-to-nearest-even, NaN kept NaN) ---- */
void fcs_f16_to_f32(const uint16_t *x, float *y, size_t n);
void fcs_f32_to_f16(const float *x, uint16_t *y, size_t n);
void fcs_bf16_to_f32(const uint16_t *x, float *y, size_t n);
void fcs_f32_to_bf16(const float *x, uint16_t *y, size_t n);
/* y += the bf16 values x, widened. */
void fcs_add_bf16(float *y, const uint16_t *x, size_t n);
/* bits = y rounded to bf16, and y = those values (float32 values a bf16 layer goes on with). */
void fcs_round_to_bf16(float *y, uint16_t *bits, size_t n);

#ifdef __cplusplus
}
#endif

#endif
