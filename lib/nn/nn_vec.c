/* SPDX-License-Identifier: MIT */
/* Vectorised loops over float rows used by the losses, the heads and the embedding: max, shifted
 * exp with its sum (softmax over a 10000-word vocabulary), scale, accumulate. Written with GCC
 * vector extensions (nn_vec_body.inc); with GCC on x86-64 each function is compiled for three ISA
 * levels and the best the CPU has is used: x86-64-v4 (AVX-512) and baseline on 16-float vectors,
 * x86-64-v3 (AVX2) on 8-float ones, as GCC lowers some operations of a 16-float vector on AVX2
 * lane by lane (4x to 8x slower there). The exponentials' sum is added in lanes of the vector's
 * width, so its last bits depend on the level. */
#include "nn_internal.h"
#include "vec16.h"
#include "../core/isa.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define SV tf__v16
#define SL 16
#define VOP(f) tf__v16_##f
#define SN(f) f##_16
#include "nn_vec_body.inc"

#define SV tf__v8
#define SL 8
#define VOP(f) tf__v8_##f
#define SN(f) f##_8
#include "nn_vec_body.inc"

/* The functions of one ISA level, on the loops of one width. */
typedef struct nn_vec_ops {
    float (*max)(const float *, int64_t);
    float (*add_max)(float *restrict, const float *restrict, int64_t);
    double (*exp_sum)(float *, const float *, float, int64_t);
    void (*scale)(float *, float, int64_t);
    void (*add)(float *restrict, const float *restrict, int64_t);
    void (*axpy)(float *restrict, float, const float *restrict, int64_t);
} nn_vec_ops_t;

#define NN_LEVEL(ATTR, L, W)                                                                       \
    ATTR static float max_##L(const float *x, int64_t n) { return vec_max_##W(x, n); }             \
    ATTR static float add_max_##L(float *restrict x, const float *restrict b, int64_t n)           \
    {                                                                                              \
        return vec_add_max_##W(x, b, n);                                                           \
    }                                                                                              \
    ATTR static double exp_sum_##L(float *out, const float *in, float shift, int64_t n)           \
    {                                                                                              \
        return vec_exp_sum_##W(out, in, shift, n);                                                 \
    }                                                                                              \
    ATTR static void scale_##L(float *x, float a, int64_t n) { vec_scale_##W(x, a, n); }           \
    ATTR static void add_##L(float *restrict acc, const float *restrict x, int64_t n)              \
    {                                                                                              \
        vec_add_##W(acc, x, n);                                                                    \
    }                                                                                              \
    ATTR static void axpy_##L(float *restrict acc, float a, const float *restrict x, int64_t n)     \
    {                                                                                              \
        vec_axpy_##W(acc, a, x, n);                                                                \
    }                                                                                              \
    static const nn_vec_ops_t ops_##L = {max_##L, add_max_##L, exp_sum_##L, scale_##L, add_##L, axpy_##L};

NN_LEVEL(, base, 16)
#if defined(TF__ISA_LEVELS)
NN_LEVEL(__attribute__((target("arch=x86-64-v3"))), v3, 8)
NN_LEVEL(__attribute__((target("arch=x86-64-v4"))), v4, 16)
#endif

static atomic_int forced = -1;

void tf__vec_level_force(int level)
{
    atomic_store(&forced, level);
}

/* The functions of the level in use (testing a feature bit on each call costs less than the call). */
static const nn_vec_ops_t *ops(void)
{
#if defined(TF__ISA_LEVELS)
    switch (tf__isa_pick(&forced)) {
    case TF__ISA_V4:
        return &ops_v4;
    case TF__ISA_V3:
        return &ops_v3;
    default:
        break;
    }
#endif
    return &ops_base;
}

float tf__vec_max(const float *x, int64_t n)
{
    return ops()->max(x, n);
}

double tf__vec_exp_sum(float *out, const float *in, float shift, int64_t n)
{
    return ops()->exp_sum(out, in, shift, n);
}

double tf__vec_exp_sum_only(const float *in, float shift, int64_t n)
{
    float buf[256]; /* the exponentials are not kept: a small stack buffer takes them in turn */
    double sum = 0.0;
    const nn_vec_ops_t *o = ops();
    for (int64_t j = 0; j < n; j += 256)
        sum += o->exp_sum(buf, in + j, shift, n - j < 256 ? n - j : 256);
    return sum;
}

void tf__vec_scale(float *x, float a, int64_t n)
{
    ops()->scale(x, a, n);
}

void tf__vec_add(float *acc, const float *x, int64_t n)
{
    ops()->add(acc, x, n);
}

float tf__vec_add_max(float *x, const float *b, int64_t n)
{
    return ops()->add_max(x, b, n);
}

void tf__vec_axpy(float *acc, float a, const float *x, int64_t n)
{
    ops()->axpy(acc, a, x, n);
}
