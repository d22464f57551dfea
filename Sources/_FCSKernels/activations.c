#include "fcs_kernels.h"
#include "kernel_support.h"

FCS_MULTIVERSION void fcs_silu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * fcs_sigmoidf(x[i]);
}

FCS_MULTIVERSION void fcs_relu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

FCS_MULTIVERSION void fcs_gelu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + fcs_erff(x[i] * 0.70710678118654752f));
}

FCS_MULTIVERSION void fcs_gelu_tanh(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float inner = 0.79788456080286536f * (v + 0.044715f * v * v * v);
        y[i] = 0.5f * v * (1.0f + fcs_tanhf(inner));
    }
}

FCS_MULTIVERSION void fcs_quick_gelu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * fcs_sigmoidf(1.702f * x[i]);
}

FCS_MULTIVERSION void fcs_geglu(const float *x, float *y, size_t rows, size_t half) {
    for (size_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * half, *gate = a + half;
        float *out = y + r * half;
        for (size_t i = 0; i < half; i++)
            out[i] = a[i] * (0.5f * gate[i] * (1.0f + fcs_erff(gate[i] * 0.70710678118654752f)));
    }
}
