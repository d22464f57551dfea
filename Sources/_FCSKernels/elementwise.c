#include "fcs_kernels.h"
#include "kernel_support.h"

/* The step-1/step-0 cases are separate loops so each one vectorises without gathers. */
#define FCS_BINARY(NAME, OP)                                                              \
    FCS_MULTIVERSION void NAME(const float *a, size_t a_step, const float *b, size_t b_step, \
                               float *y, size_t n) {                                      \
        if (a_step && b_step) {                                                           \
            FCS_ELEMENTWISE_LOOP                                                          \
            for (size_t i = 0; i < n; i++) y[i] = a[i] OP b[i];                           \
        } else if (a_step) {                                                              \
            const float s = b[0];                                                         \
            FCS_ELEMENTWISE_LOOP                                                          \
            for (size_t i = 0; i < n; i++) y[i] = a[i] OP s;                              \
        } else if (b_step) {                                                              \
            const float s = a[0];                                                         \
            FCS_ELEMENTWISE_LOOP                                                          \
            for (size_t i = 0; i < n; i++) y[i] = s OP b[i];                              \
        } else {                                                                          \
            const float s = a[0] OP b[0];                                                 \
            for (size_t i = 0; i < n; i++) y[i] = s;                                      \
        }                                                                                 \
    }

FCS_BINARY(fcs_add, +)
FCS_BINARY(fcs_sub, -)
FCS_BINARY(fcs_mul, *)
