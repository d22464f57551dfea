/* Matrix transposes: the UNet's and the VAE's attention blocks turn [C, H·W] feature maps into
 * [H·W, C] token rows and back around each transformer. Element by element, every store of a
 * transpose goes to another cache line; here 16 × 16 blocks are transposed in registers, so each
 * row of a block is read and written as one 64-byte vector. */
#include "fcs_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* y[j · ldy + i] = x[i · ldx + j] for a whole 16 × 16 block: 32-bit, 64-bit and two 128-bit
 * interleaving rounds. */
__attribute__((target("avx512f"))) static void transpose_16x16_avx512(const float *x, size_t ldx, float *y,
                                                                      size_t ldy) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(x + i * ldx);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xDD);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(y + i * ldy, r[i]);
}
#endif

/* The part of a block the vector path does not cover: element by element. */
static void transpose_scalar(const float *x, size_t ldx, size_t rows, size_t cols, float *y, size_t ldy) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) y[j * ldy + i] = x[i * ldx + j];
}

void fcs_transpose_rows(const float *x, size_t rows, size_t cols, size_t row_begin, size_t row_end, float *y) {
    if (row_end > rows) row_end = rows;
    if (row_begin >= row_end || cols == 0) return;
    size_t vector_end = row_begin, vector_cols = 0;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        vector_end = row_begin + (row_end - row_begin) / 16 * 16;
        vector_cols = cols / 16 * 16;
        for (size_t i = row_begin; i < vector_end; i += 16)
            for (size_t j = 0; j < vector_cols; j += 16) transpose_16x16_avx512(x + i * cols + j, cols, y + j * rows + i, rows);
    }
#endif
    /* the columns past the last whole 16 of the vector rows, then the rows past them; in 32 × 32
     * blocks, so that the lines stored to stay in cache while a block fills them */
    for (size_t i0 = row_begin; i0 < vector_end; i0 += 32) {
        const size_t block_rows = vector_end - i0 < 32 ? vector_end - i0 : 32;
        transpose_scalar(x + i0 * cols + vector_cols, cols, block_rows, cols - vector_cols, y + vector_cols * rows + i0, rows);
    }
    for (size_t i0 = vector_end; i0 < row_end; i0 += 32) {
        const size_t block_rows = row_end - i0 < 32 ? row_end - i0 : 32;
        for (size_t j0 = 0; j0 < cols; j0 += 32)
            transpose_scalar(x + i0 * cols + j0, cols, block_rows, cols - j0 < 32 ? cols - j0 : 32, y + j0 * rows + i0, rows);
    }
}
