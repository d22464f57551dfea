/* Convolution as an implicit GEMM: C[m, n] (+)= A[m, k] · B[k, n], where A is the weight matrix
 * packed once into panels of 12 rows, and B is never formed: B[k, n] = input[k_offset[k] +
 * n_offset[n]] is gathered straight from the (padded) input into small cache-resident panels.
 * So a 3×3 convolution costs one pass of packing, no im2col matrix and no repeated passes over C.
 *
 * Blocking follows BLIS/GotoBLAS: the k dimension in blocks of KC, n in blocks of NC (a packed B
 * block of KC × NC values stays in L2), m in blocks of MC; the micro-kernel computes a 12 × 32
 * tile of C in registers (AVX-512: 24 zmm accumulators; AVX2: four 6 × 16 calls).
 *
 * A's panels hold one of three element types:
 *  - float32 [k][12]: the float32 micro-kernels, as is;
 *  - float16 [k][12]: an MC × KC block of panels is widened to float32 in scratch right before the
 *    float32 micro-kernels use it (1/NC of the multiply-adds; the layer is never widened whole);
 *  - bfloat16 [k/2][12][2] (k padded to even with zeros): pairs along k, the operand layout of
 *    AVX512_BF16's vdpbf16ps, which multiplies bf16 pairs and accumulates in float32. B is then
 *    packed as bf16 pairs [kc/2][32][2] too, rounding the activations to nearest even.
 * Or A is a Winograd matrix U_ξ formed from 16-bit 3×3 kernels (each of the 9 taps packed as a
 * float16 or bfloat16 A panel) an MC × KC block at a time (fcs_winograd_gemm): 9 values kept per
 * weight instead of 16 (F(2×2)) or 36 (F(4×4)), for a pass over the block per tap that the
 * block's NC columns share. */
#include <stdatomic.h>

#include "fcs_kernels.h"
#include "kernel_support.h"
#include "micro_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { MR = FCS_CONV_GEMM_MR, NR = FCS_GEMM_NR, KC = 256, NC = 512, MC = 12 * MR };
_Static_assert(MC % MR == 0, "m blocks must hold whole A panels");
_Static_assert(KC % 2 == 0, "bf16 k pairs must not straddle k blocks");

/* k as stored in a panel: bf16 panels pad it to whole pairs. */
static size_t panel_depth(size_t k, fcs_panel_type type) { return type == FCS_PANEL_BF16 ? (k + 1) / 2 * 2 : k; }
static size_t element_bytes(fcs_panel_type type) { return type == FCS_PANEL_F32 ? 4 : 2; }

size_t fcs_conv_gemm_packed_bytes(size_t m, size_t k, fcs_panel_type type) {
    return (m + MR - 1) / MR * MR * panel_depth(k, type) * element_bytes(type);
}

size_t fcs_conv_gemm_row_offset_bytes(size_t row, size_t k, fcs_panel_type type) {
    return row * panel_depth(k, type) * element_bytes(type);
}

size_t fcs_conv_gemm_scratch_size(void) { return (size_t)KC * NC + (size_t)MC * KC; }

void fcs_conv_gemm_pack_weight(const float *w, size_t m, size_t k, fcs_panel_type type, void *packed) {
    enum { CHUNK = 64 }; /* k values per conversion pass (even, so bf16 pairs stay whole) */
    const size_t depth = panel_depth(k, type);
    float chunk[CHUNK][MR];
    for (size_t panel = 0; panel < (m + MR - 1) / MR; panel++) {
        const size_t base = panel * MR * depth;
        for (size_t k0 = 0; k0 < depth; k0 += CHUNK) {
            const size_t count = depth - k0 < CHUNK ? depth - k0 : CHUNK;
            for (size_t kk = 0; kk < count; kk++)
                for (size_t r = 0; r < MR; r++) {
                    const size_t row = panel * MR + r;
                    chunk[kk][r] = row < m && k0 + kk < k ? w[row * k + k0 + kk] : 0.0f;
                }
            switch (type) {
            case FCS_PANEL_F32: memcpy((float *)packed + base + k0 * MR, chunk, count * MR * sizeof(float)); break;
            case FCS_PANEL_F16: fcs_f32_to_f16(&chunk[0][0], (uint16_t *)packed + base + k0 * MR, count * MR); break;
            case FCS_PANEL_BF16: {
                uint16_t *dst = (uint16_t *)packed + base + k0 * MR;
                for (size_t kk = 0; kk < count; kk++)
                    for (size_t r = 0; r < MR; r++) dst[kk / 2 * 2 * MR + 2 * r + kk % 2] = fcs_float_to_bf16_bits(chunk[kk][r]);
                break;
            }
            }
        }
    }
}

/* ---- micro-kernels: c[rows, cols] (+)= a-panel · b-panel over kc ----
 * C[i, j] is at c[i * ldc + j], or at c[j * ldc + i] when transpose_c is set. */

/* Stores (or adds) a finished rows × cols tile held in a row-major [MR][NR] array. */
static void store_tile(const float tile[MR][NR], float *c, size_t ldc, int transpose_c, int accumulate, size_t rows,
                       size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) {
            float *out = transpose_c ? c + j * ldc + r : c + r * ldc + j;
            *out = (accumulate ? *out : 0.0f) + tile[r][j];
        }
}

static void kernel_generic(size_t kc, const float *a, const float *b, float *c, size_t ldc, int transpose_c,
                           int accumulate, size_t rows, size_t cols) {
    float acc[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k++, a += MR, b += NR)
        for (size_t r = 0; r < MR; r++)
            for (size_t j = 0; j < NR; j++) acc[r][j] += a[r] * b[j];
    store_tile(acc, c, ldc, transpose_c, accumulate, rows, cols);
}

/* bf16 pairs without AVX512_BF16: each pair's two products are added in vdpbf16ps's order. */
static void kernel_bf16_generic(size_t kc, const uint16_t *a, const uint16_t *b, float *c, size_t ldc,
                                int transpose_c, int accumulate, size_t rows, size_t cols) {
    float acc[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k += 2, a += 2 * MR, b += 2 * NR)
        for (size_t r = 0; r < MR; r++) {
            const float a0 = fcs_bits_to_float((uint32_t)a[2 * r] << 16), a1 = fcs_bits_to_float((uint32_t)a[2 * r + 1] << 16);
            for (size_t j = 0; j < NR; j++) {
                acc[r][j] += a1 * fcs_bits_to_float((uint32_t)b[2 * j + 1] << 16);
                acc[r][j] += a0 * fcs_bits_to_float((uint32_t)b[2 * j] << 16);
            }
        }
    store_tile(acc, c, ldc, transpose_c, accumulate, rows, cols);
}

#if defined(__x86_64__)
/* Writes the 24 accumulators of an AVX-512 tile. */
__attribute__((target("avx512f"))) static inline void store_avx512(__m512 acc[MR][2], float *c, size_t ldc,
                                                                   int transpose_c, int accumulate, size_t rows,
                                                                   size_t cols) {
    if (transpose_c) {
        float tile[MR][NR];
        for (int r = 0; r < MR; r++) {
            _mm512_storeu_ps(tile[r], acc[r][0]);
            _mm512_storeu_ps(tile[r] + 16, acc[r][1]);
        }
        store_tile(tile, c, ldc, 1, accumulate, rows, cols);
        return;
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

/* acc[r] += the first used_rows rows of the A panel times the B panel. A tile of fewer rows
 * (such as rows 36…39 of attention's Oᵀ for d = 40) multiplies 4 or 8 of them, not the panel's
 * zero padding: used_rows is a constant at each call, so each loop is unrolled for it. */
__attribute__((target("avx512f"), always_inline)) static inline void multiply_avx512(int used_rows, size_t kc,
                                                                                     const float *a, const float *b,
                                                                                     __m512 acc[MR][2]) {
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int r = 0; r < used_rows; r++) {
            const __m512 ar = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
}

__attribute__((target("avx512f"))) static void kernel_avx512(size_t kc, const float *a, const float *b, float *c,
                                                             size_t ldc, int transpose_c, int accumulate, size_t rows,
                                                             size_t cols) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    if (rows <= 4)
        multiply_avx512(4, kc, a, b, acc);
    else if (rows <= 8)
        multiply_avx512(8, kc, a, b, acc);
    else
        multiply_avx512(MR, kc, a, b, acc);
    store_avx512(acc, c, ldc, transpose_c, accumulate, rows, cols);
}

/* vdpbf16ps: per k pair, each float32 lane j of row r gains a[r][0]·b[j][0] + a[r][1]·b[j][1];
 * used_rows as in multiply_avx512. */
__attribute__((target("avx512f,avx512bf16"), always_inline)) static inline void multiply_avx512_bf16(
    int used_rows, size_t kc, const uint16_t *a, const uint16_t *b, __m512 acc[MR][2]) {
    for (size_t k = 0; k < kc; k += 2, a += 2 * MR, b += 2 * NR) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + NR);
        for (int r = 0; r < used_rows; r++) {
            int32_t pair;
            memcpy(&pair, a + 2 * r, sizeof pair);
            const __m512bh ar = (__m512bh)_mm512_set1_epi32(pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], ar, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], ar, b1);
        }
    }
}

__attribute__((target("avx512f,avx512bf16"))) static void kernel_avx512_bf16(size_t kc, const uint16_t *a,
                                                                             const uint16_t *b, float *c, size_t ldc,
                                                                             int transpose_c, int accumulate,
                                                                             size_t rows, size_t cols) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    if (rows <= 4)
        multiply_avx512_bf16(4, kc, a, b, acc);
    else if (rows <= 8)
        multiply_avx512_bf16(8, kc, a, b, acc);
    else
        multiply_avx512_bf16(MR, kc, a, b, acc);
    store_avx512(acc, c, ldc, transpose_c, accumulate, rows, cols);
}

/* 6 × 16 on AVX2 + FMA; a whole tile is several calls (rows of the A panel beyond 6 are skipped by lda). */
__attribute__((target("avx2,fma"))) static void kernel_avx2_6x16(size_t kc, const float *a, const float *b, float *c,
                                                                size_t ldc, int transpose_c, int accumulate,
                                                                size_t rows, size_t cols) {
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
    if (!transpose_c && cols == 16) {  /* whole rows straight from the registers, as store_avx512 does */
        for (size_t r = 0; r < rows; r++) {
            float *row = c + r * ldc;
            __m256 v0 = acc[r][0], v1 = acc[r][1];
            if (accumulate) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(row));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        }
        return;
    }
    float tile[MR][NR];
    for (int r = 0; r < 6; r++) {
        _mm256_storeu_ps(tile[r], acc[r][0]);
        _mm256_storeu_ps(tile[r] + 8, acc[r][1]);
    }
    store_tile(tile, c, ldc, transpose_c, accumulate, rows, cols);
}

static void kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc, int transpose_c,
                        int accumulate, size_t rows, size_t cols) {
    for (size_t r0 = 0; r0 < rows; r0 += 6)
        for (size_t c0 = 0; c0 < cols; c0 += 16) {
            size_t r = rows - r0, j = cols - c0;
            float *tile = transpose_c ? c + c0 * ldc + r0 : c + r0 * ldc + c0;
            kernel_avx2_6x16(kc, a + r0, b + c0, tile, ldc, transpose_c, accumulate, r < 6 ? r : 6, j < 16 ? j : 16);
        }
}
#endif

typedef fcs_f32_micro_kernel micro_kernel;
typedef fcs_bf16_micro_kernel micro_kernel_bf16;

/* The float32 micro-kernel and the bf16-pair one, chosen together. */
struct kernels {
    micro_kernel f32;
    micro_kernel_bf16 bf16;
};

static int kernels_for(const char *isa, struct kernels *chosen) {
#if defined(__x86_64__)
    if (!strcmp(isa, "avx512bf16")) {
        if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bf16")) return 0;
        *chosen = (struct kernels){kernel_avx512, kernel_avx512_bf16};
        return 1;
    }
    if (!strcmp(isa, "avx512")) {
        if (!__builtin_cpu_supports("avx512f")) return 0;
        *chosen = (struct kernels){kernel_avx512, kernel_bf16_generic};
        return 1;
    }
    if (!strcmp(isa, "avx2")) {
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
        *chosen = (struct kernels){kernel_avx2, kernel_bf16_generic};
        return 1;
    }
#endif
    if (strcmp(isa, "baseline")) return 0;
    *chosen = (struct kernels){kernel_generic, kernel_bf16_generic};
    return 1;
}

/* Chosen lazily by the first call on any thread (or by a test): atomic, since worker threads may
 * race to set them — they all store the same pointers, but plain accesses would be a data race.
 * Both are stored before either is read by a caller that found them unset. */
static _Atomic(micro_kernel) selected_f32;
static _Atomic(micro_kernel_bf16) selected_bf16;

int fcs_conv_gemm_select(const char *isa) {
    struct kernels chosen = {0, 0};
    if (isa) {
        if (!kernels_for(isa, &chosen)) return -1;
    } else {
        const char *best[] = {"avx512bf16", "avx512", "avx2", "baseline"};
        for (int i = 0; !kernels_for(best[i], &chosen); i++) {}
    }
    atomic_store_explicit(&selected_bf16, chosen.bf16, memory_order_release);
    atomic_store_explicit(&selected_f32, chosen.f32, memory_order_release);
    return 0;
}

fcs_bf16_micro_kernel fcs_selected_bf16_micro_kernel(void) {
    if (!atomic_load_explicit(&selected_f32, memory_order_acquire)) fcs_conv_gemm_select(NULL);
    return atomic_load_explicit(&selected_bf16, memory_order_acquire);
}

fcs_f32_micro_kernel fcs_selected_f32_micro_kernel(void) {
    if (!atomic_load_explicit(&selected_f32, memory_order_acquire)) fcs_conv_gemm_select(NULL);
    return atomic_load_explicit(&selected_f32, memory_order_acquire);
}

int fcs_selected_bf16_instructions(void) {
#if defined(__x86_64__)
    return fcs_selected_bf16_micro_kernel() == kernel_avx512_bf16;
#else
    return 0;
#endif
}

fcs_isa fcs_selected_isa(void) {
#if defined(__x86_64__)
    const micro_kernel f32 = fcs_selected_f32_micro_kernel();
    if (f32 == kernel_avx512) return FCS_ISA_AVX512;
    if (f32 == kernel_avx2) return FCS_ISA_AVX2;
#endif
    return FCS_ISA_BASELINE;
}

const char *fcs_conv_gemm_selected_isa(void) {
#if defined(__x86_64__)
    switch (fcs_selected_isa()) {
    case FCS_ISA_AVX512: return fcs_selected_bf16_instructions() ? "avx512bf16" : "avx512";
    case FCS_ISA_AVX2: return "avx2";
    case FCS_ISA_BASELINE: break;
    }
#endif
    return "baseline";
}

int fcs_conv_gemm_has_bf16_instructions(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

/* The runs of consecutive input offsets among a panel's columns (a run of pixels along one output
 * row, for stride 1): each is copied as one block; 32 columns over 8-pixel rows are 4 runs. */
struct column_runs {
    size_t start[NR], length[NR], count, cols;
};

static struct column_runs find_runs(const int32_t *cols_offset, size_t cols) {
    struct column_runs runs = {.count = 0, .cols = cols};
    for (size_t j = 0; j < cols; j++) {
        if (runs.count && cols_offset[j] == cols_offset[j - 1] + 1) {
            runs.length[runs.count - 1]++;
        } else {
            runs.start[runs.count] = j;
            runs.length[runs.count++] = 1;
        }
    }
    return runs;
}

/* Gathers B[k0 + k, columns] for k in 0 ..< kc into rows of NR floats (dst, stride NR),
 * zero-padding the columns past runs->cols. */
static void gather_b(const float *input, const int32_t *k_offset, const int32_t *cols_offset,
                     const struct column_runs *runs, size_t k0, size_t kc, float *dst) {
    const size_t cols = runs->cols;
    for (size_t k = 0; k < kc; k++, dst += NR) {
        const float *src = input + k_offset[k0 + k];
        if (runs->count == 1 && cols == NR) {
            memcpy(dst, src + cols_offset[0], NR * sizeof(float));
            continue;
        }
        if (runs->count == cols) { /* no two columns adjacent (a transposed operand): element by element */
            for (size_t j = 0; j < cols; j++) dst[j] = src[cols_offset[j]];
        } else {
            for (size_t r = 0; r < runs->count; r++)
                memcpy(dst + runs->start[r], src + cols_offset[runs->start[r]], runs->length[r] * sizeof(float));
        }
        for (size_t j = cols; j < NR; j++) dst[j] = 0.0f;
    }
}

/* Packs B[k0 .. k0+kc, n0 .. n0+nc] into NR-wide float32 panels [kc][NR], zero-padding the last one. */
static void pack_b(const float *input, const int32_t *k_offset, const int32_t *n_offset, size_t k0, size_t kc,
                   size_t n0, size_t nc, float *packed) {
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        const int32_t *cols_offset = n_offset + n0 + j0;
        const struct column_runs runs = find_runs(cols_offset, nc - j0 < NR ? nc - j0 : NR);
        gather_b(input, k_offset, cols_offset, &runs, k0, kc, packed + j0 * kc);
    }
}

/* Interleaves two rows of NR floats into NR bf16 pairs (row k in the low half of each pair). */
static void interleave_bf16_generic(const float *even, const float *odd, uint16_t *dst) {
    for (size_t j = 0; j < NR; j++) {
        dst[2 * j] = fcs_float_to_bf16_bits(even[j]);
        dst[2 * j + 1] = fcs_float_to_bf16_bits(odd[j]);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16"))) static void interleave_bf16_avx512(const float *even,
                                                                                const float *odd, uint16_t *dst) {
    for (size_t j = 0; j < NR; j += 16)
        _mm512_storeu_si512(dst + 2 * j, fcs_bf16_pairs_avx512(_mm512_loadu_ps(even + j), _mm512_loadu_ps(odd + j)));
}
#endif

void fcs_interleave_bf16(const float *even, const float *odd, uint16_t *dst) {
#if defined(__x86_64__)
    if (fcs_selected_bf16_instructions()) {
        interleave_bf16_avx512(even, odd, dst);
        return;
    }
#endif
    interleave_bf16_generic(even, odd, dst);
}

/* Packs B[k0 .. k0+kc, n0 .. n0+nc] into bf16-pair panels [kc/2][NR][2] (kc rounded up to even,
 * the pad row zero). rows is scratch for two gathered float rows per pair. */
static void pack_b_bf16(const float *input, const int32_t *k_offset, const int32_t *n_offset, size_t k0, size_t kc,
                        size_t n0, size_t nc, uint16_t *packed) {
    const size_t depth = (kc + 1) / 2 * 2;
    float rows[2 * NR];
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        const int32_t *cols_offset = n_offset + n0 + j0;
        const struct column_runs runs = find_runs(cols_offset, nc - j0 < NR ? nc - j0 : NR); /* once per panel */
        uint16_t *dst = packed + j0 * depth;
        for (size_t k = 0; k < kc; k += 2, dst += 2 * NR) {
            const size_t pair = kc - k < 2 ? 1 : 2;
            gather_b(input, k_offset, cols_offset, &runs, k0 + k, pair, rows);
            if (pair == 1) memset(rows + NR, 0, NR * sizeof(float));
            fcs_interleave_bf16(rows, rows + NR, dst);
        }
    }
}

/* The A operand of one GEMM: panels stored in one element type, or (Winograd with 16-bit weights)
 * 3×3 kernels whose transform U_ξ = Σ_t coefficients[t] · g_t is formed per cache block. */
struct a_operand {
    fcs_panel_type type; /* the panels' (or kernels') element type; bf16 multiplies in bf16 */
    const void *panels;
    const float *coefficients; /* NULL for stored panels */
};

/* Widens 16-bit values (float16, or bfloat16 bits) to float32. */
static void widen(fcs_panel_type type, const uint16_t *x, float *y, size_t n) {
    if (type == FCS_PANEL_F16)
        fcs_f16_to_f32(x, y, n);
    else
        fcs_bf16_to_f32(x, y, n);
}

/* out[i] += a · x[i], n values. */
FCS_MULTIVERSION static void add_scaled(float *restrict out, float a, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] += a * x[i];
}

/* out[i] = Σ_j coefficients[j] · taps[j][i] for i < n, the taps widened from 16 bits (taps ≥ 1). */
static void combine_taps_generic(fcs_panel_type type, const uint16_t *const *taps, const float *coefficients,
                                 size_t count, float *out, size_t n) {
    enum { CHUNK = 256 }; /* widened a chunk at a time, so both buffers stay in L1 */
    float tap[CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        const size_t length = n - i0 < CHUNK ? n - i0 : CHUNK;
        memset(out + i0, 0, length * sizeof(float));
        for (size_t j = 0; j < count; j++) {
            widen(type, taps[j] + i0, tap, length);
            add_scaled(out + i0, coefficients[j], tap, length);
        }
    }
}

#if defined(__x86_64__)
/* The same in registers: each output vector is one load, widening and multiply-add per tap. */
__attribute__((target("avx512f"))) static void combine_taps_avx512(fcs_panel_type type, const uint16_t *const *taps,
                                                                   const float *coefficients, size_t count, float *out,
                                                                   size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 sum = _mm512_setzero_ps();
        for (size_t j = 0; j < count; j++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(taps[j] + i));
            const __m512 value = type == FCS_PANEL_F16
                ? _mm512_cvtph_ps(bits)
                : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
            sum = _mm512_fmadd_ps(_mm512_set1_ps(coefficients[j]), value, sum);
        }
        _mm512_storeu_ps(out + i, sum);
    }
    if (i < n) {
        const uint16_t *rest[9];
        for (size_t j = 0; j < count; j++) rest[j] = taps[j] + i;
        combine_taps_generic(type, rest, coefficients, count, out + i, n - i);
    }
}
#endif

/* U_ξ for the A panels from row m0 (a multiple of MR) ..< m0 + mc, k values k0 ..< k0 + kc, into
 * block in the layout of the stored panels of the kernels' type: float32 [kc][MR] (float16
 * kernels), or bf16 pairs [kc/2][MR][2] (bfloat16). The kernels are packed
 * [m/MR][9 taps][depth][MR] in that same layout per tap, so U_ξ is an elementwise sum of the
 * taps' contiguous runs. */
static void transform_kernels(const struct a_operand *a, size_t k, size_t k0, size_t kc, size_t m0, size_t mc,
                              float *block) {
    float sums[KC * MR];
    const size_t depth = panel_depth(k, a->type), count = panel_depth(kc, a->type) * MR;
    const uint16_t *taps[9];
    float coefficients[9];
    for (size_t i0 = m0; i0 < m0 + mc; i0 += MR) {
        const uint16_t *kernels = (const uint16_t *)a->panels + i0 * 9 * depth;
        size_t used = 0;
        for (size_t t = 0; t < 9; t++)
            if (a->coefficients[t] != 0.0f) {
                taps[used] = kernels + (t * depth + k0) * MR;
                coefficients[used++] = a->coefficients[t];
            }
        float *u = a->type == FCS_PANEL_F16 ? block + (i0 - m0) * kc : sums;
        if (used == 0) {
            memset(u, 0, count * sizeof(float));
        } else {
#if defined(__x86_64__)
            if (fcs_selected_isa() == FCS_ISA_AVX512)
                combine_taps_avx512(a->type, taps, coefficients, used, u, count);
            else
#endif
                combine_taps_generic(a->type, taps, coefficients, used, u, count);
        }
        if (a->type == FCS_PANEL_BF16) fcs_f32_to_bf16(u, (uint16_t *)block + (i0 - m0) * (count / MR), count);
    }
}

static void gemm(const struct a_operand *a, size_t m, size_t n, size_t k, const float *input, const int32_t *k_offset,
                 const int32_t *n_offset, float *c, size_t ldc, int transpose_c, int accumulate, float *scratch) {
    const micro_kernel_bf16 kernel_bf16 = fcs_selected_bf16_micro_kernel();
    const micro_kernel kernel = atomic_load_explicit(&selected_f32, memory_order_acquire);
    const fcs_panel_type type = a->type;
    const size_t depth = panel_depth(k, type);
    /* the A block the micro-kernels read, when it is not the stored panels themselves */
    const int a_in_scratch = a->coefficients || type == FCS_PANEL_F16;
    float *b_panels = scratch, *a_block = scratch + (size_t)KC * NC;
    /* C[i, j] for i, j in a tile starting at (i0, j0) */
    const size_t row_step = transpose_c ? 1 : ldc, column_step = transpose_c ? ldc : 1;
    for (size_t n0 = 0; n0 < n; n0 += NC) {
        const size_t nc = n - n0 < NC ? n - n0 : NC;
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            const size_t kc = k - k0 < KC ? k - k0 : KC, kc_pairs = (kc + 1) / 2 * 2;
            if (type == FCS_PANEL_BF16)
                pack_b_bf16(input, k_offset, n_offset, k0, kc, n0, nc, (uint16_t *)b_panels);
            else
                pack_b(input, k_offset, n_offset, k0, kc, n0, nc, b_panels);
            const int add = accumulate || k0 > 0;
            for (size_t m0 = 0; m0 < m; m0 += MC) {
                const size_t mc = m - m0 < MC ? m - m0 : MC;
                if (a->coefficients)
                    transform_kernels(a, k, k0, kc, m0, mc, a_block);
                else if (type == FCS_PANEL_F16)
                    for (size_t i0 = m0; i0 < m0 + mc; i0 += MR)
                        fcs_f16_to_f32((const uint16_t *)a->panels + i0 * depth + k0 * MR, a_block + (i0 - m0) * kc,
                                       kc * MR);
                for (size_t j0 = 0; j0 < nc; j0 += NR) {
                    const size_t cols = nc - j0 < NR ? nc - j0 : NR;
                    for (size_t i0 = m0; i0 < m0 + mc; i0 += MR) {
                        const size_t rows = m0 + mc - i0 < MR ? m0 + mc - i0 : MR;
                        float *tile = c + i0 * row_step + (n0 + j0) * column_step;
                        if (type == FCS_PANEL_BF16) {
                            const uint16_t *panel = a_in_scratch ? (const uint16_t *)a_block + (i0 - m0) * kc_pairs
                                                                 : (const uint16_t *)a->panels + i0 * depth + k0 * MR;
                            kernel_bf16(kc_pairs, panel, (const uint16_t *)b_panels + j0 * kc_pairs, tile, ldc,
                                        transpose_c, add, rows, cols);
                        } else {
                            const float *panel = a_in_scratch ? a_block + (i0 - m0) * kc
                                                              : (const float *)a->panels + i0 * depth + k0 * MR;
                            kernel(kc, panel, b_panels + j0 * kc, tile, ldc, transpose_c, add, rows, cols);
                        }
                    }
                }
            }
        }
    }
}

void fcs_conv_gemm(size_t m, size_t n, size_t k, fcs_panel_type type, const void *packed_weight, const float *input,
                   const int32_t *k_offset, const int32_t *n_offset, float *c, size_t ldc, int transpose_c,
                   int accumulate, float *scratch) {
    const struct a_operand a = {type, packed_weight, NULL};
    gemm(&a, m, n, k, input, k_offset, n_offset, c, ldc, transpose_c, accumulate, scratch);
}

size_t fcs_winograd_kernels_packed_bytes(size_t m, size_t k, fcs_panel_type type) {
    return (m + MR - 1) / MR * MR * 9 * panel_depth(k, type) * sizeof(uint16_t);
}

void fcs_winograd_pack_kernels(const float *w, size_t m, size_t k, fcs_panel_type type, void *packed) {
    const size_t depth = panel_depth(k, type);
    uint16_t *dst = packed;
    for (size_t panel = 0; panel < (m + MR - 1) / MR; panel++)
        for (size_t t = 0; t < 9; t++, dst += depth * MR)
            /* each tap in the layout fcs_conv_gemm_pack_weight gives a stored A panel, so that a
             * block of U_ξ is an elementwise sum of the taps' blocks */
            for (size_t kk = 0; kk < depth; kk++) {
                float row[MR];
                for (size_t r = 0; r < MR; r++) {
                    const size_t o = panel * MR + r;
                    row[r] = o < m && kk < k ? w[(o * k + kk) * 9 + t] : 0.0f;
                }
                if (type == FCS_PANEL_F16)
                    fcs_f32_to_f16(row, dst + kk * MR, MR);
                else
                    for (size_t r = 0; r < MR; r++) dst[kk / 2 * 2 * MR + 2 * r + kk % 2] = fcs_float_to_bf16_bits(row[r]);
            }
}

void fcs_winograd_gemm(const float coefficients[9], size_t m, size_t n, size_t k, fcs_panel_type type,
                       const void *packed_kernels, const float *input, const int32_t *k_offset,
                       const int32_t *n_offset, float *c, size_t ldc, float *scratch) {
    const struct a_operand a = {type, packed_kernels, coefficients};
    gemm(&a, m, n, k, input, k_offset, n_offset, c, ldc, 0, 0, scratch);
}
