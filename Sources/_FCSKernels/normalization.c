#include "fcs_kernels.h"
#include "kernel_support.h"

/* 16 lane accumulators, combined pairwise at the end: the compiler keeps lane i summing
 * x[i], x[i+16], ... in order on every ISA (no reassociation), so results are ISA-independent. */
#define FCS_LANES 16

FCS_MULTIVERSION float fcs_sum(const float *x, size_t n) {
    float acc[FCS_LANES] = {0};
    size_t i = 0;
    for (; i + FCS_LANES <= n; i += FCS_LANES)
        for (size_t l = 0; l < FCS_LANES; l++) acc[l] += x[i + l];
    for (size_t l = 0; i < n; i++, l++) acc[l] += x[i];
    for (size_t width = FCS_LANES / 2; width > 0; width /= 2)
        for (size_t l = 0; l < width; l++) acc[l] += acc[l + width];
    return acc[0];
}

FCS_MULTIVERSION float fcs_sum_squared_deviation(const float *x, size_t n, float mean) {
    float acc[FCS_LANES] = {0};
    size_t i = 0;
    for (; i + FCS_LANES <= n; i += FCS_LANES)
        for (size_t l = 0; l < FCS_LANES; l++) {
            float d = x[i + l] - mean;
            acc[l] += d * d;
        }
    for (size_t l = 0; i < n; i++, l++) {
        float d = x[i] - mean;
        acc[l] += d * d;
    }
    for (size_t width = FCS_LANES / 2; width > 0; width /= 2)
        for (size_t l = 0; l < width; l++) acc[l] += acc[l + width];
    return acc[0];
}

FCS_MULTIVERSION void fcs_scale_shift(const float *x, float *y, size_t n, float scale, float shift, int silu) {
    if (silu) {
        FCS_ELEMENTWISE_LOOP
        for (size_t i = 0; i < n; i++) {
            float v = x[i] * scale + shift;
            y[i] = v * fcs_sigmoidf(v);
        }
    } else {
        FCS_ELEMENTWISE_LOOP
        for (size_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
    }
}

FCS_MULTIVERSION void fcs_normalize_affine(const float *x, float *y, size_t n, float mean, float rstd,
                                           const float *gamma, const float *beta) {
    for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
}
