/* SPDX-License-Identifier: MIT */
/* Vectorised loops over float rows used by the losses, the heads and the embedding: max, shifted
 * exp with its sum (softmax over a 10000-word vocabulary), scale, accumulate. Written with GCC
 * vector extensions; on x86-64 Linux each function is compiled for three ISA levels and the best
 * one is picked at load time. */
#include "nn_internal.h"
#include "vec16.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&        \
    !defined(__SANITIZE_ADDRESS__)
/* Cloned functions are static (an extern ifunc would be exported with default visibility); the
 * tf__ entry points at the end call them. */
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

NN_CLONES static float vec_max(const float *x, int64_t n)
{
    float m = x[0];
    int64_t i = 0;
    if (n >= TF__V16) {
        tf__v16 vm = tf__v16_load(x);
        for (i = TF__V16; i + TF__V16 <= n; i += TF__V16) {
            tf__v16 v = tf__v16_load(x + i);
            vm = tf__v16_select(v > vm, v, vm);
        }
        for (int k = 0; k < TF__V16; k++)
            m = vm[k] > m ? vm[k] : m;
    }
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

NN_CLONES static float vec_add_max(float *restrict x, const float *restrict b, int64_t n)
{
    int64_t i = 0;
    float m;
    if (n >= TF__V16) {
        tf__v16 vm = tf__v16_load(x) + tf__v16_load(b);
        tf__v16_store(x, vm);
        for (i = TF__V16; i + TF__V16 <= n; i += TF__V16) {
            tf__v16 v = tf__v16_load(x + i) + tf__v16_load(b + i);
            tf__v16_store(x + i, v);
            vm = tf__v16_select(v > vm, v, vm);
        }
        m = vm[0];
        for (int k = 1; k < TF__V16; k++)
            m = vm[k] > m ? vm[k] : m;
    } else {
        x[0] += b[0];
        m = x[0];
        i = 1;
    }
    for (; i < n; i++) {
        x[i] += b[i];
        m = x[i] > m ? x[i] : m;
    }
    return m;
}

NN_CLONES static double vec_exp_sum(float *out, const float *in, float shift, int64_t n)
{
    tf__v16 acc = tf__v16_splat(0.0f), s = tf__v16_splat(shift);
    int64_t i = 0;
    for (; i + TF__V16 <= n; i += TF__V16) {
        tf__v16 e = tf__v16_exp(tf__v16_load(in + i) - s);
        tf__v16_store(out + i, e);
        acc += e;
    }
    double sum = 0.0;
    for (int k = 0; k < TF__V16; k++)
        sum += acc[k];
    if (i < n) {
        float tail[TF__V16];
        int64_t r = n - i;
        for (int k = 0; k < TF__V16; k++)
            tail[k] = k < r ? in[i + k] - shift : -100.0f;
        tf__v16 e = tf__v16_exp(tf__v16_load(tail));
        for (int64_t k = 0; k < r; k++) {
            out[i + k] = e[k];
            sum += e[k];
        }
    }
    return sum;
}

/* The element-wise loops below are written in vectors: at -O2 GCC leaves them scalar. Each lane
 * does the plain loop's multiply and add (no contraction under -std=c11), so the bits are the same. */
NN_CLONES static void vec_scale(float *x, float a, int64_t n)
{
    const tf__v16 va = tf__v16_splat(a);
    int64_t i = 0;
    for (; i + TF__V16 <= n; i += TF__V16)
        tf__v16_store(x + i, tf__v16_load(x + i) * va);
    for (; i < n; i++)
        x[i] *= a;
}

NN_CLONES static void vec_add(float *restrict acc, const float *restrict x, int64_t n)
{
    int64_t i = 0;
    for (; i + TF__V16 <= n; i += TF__V16)
        tf__v16_store(acc + i, tf__v16_load(acc + i) + tf__v16_load(x + i));
    for (; i < n; i++)
        acc[i] += x[i];
}

NN_CLONES static void vec_axpy(float *restrict acc, float a, const float *restrict x, int64_t n)
{
    const tf__v16 va = tf__v16_splat(a);
    int64_t i = 0;
    for (; i + TF__V16 <= n; i += TF__V16)
        tf__v16_store(acc + i, tf__v16_load(acc + i) + va * tf__v16_load(x + i));
    for (; i < n; i++)
        acc[i] += a * x[i];
}

float tf__vec_max(const float *x, int64_t n)
{
    return vec_max(x, n);
}

double tf__vec_exp_sum(float *out, const float *in, float shift, int64_t n)
{
    return vec_exp_sum(out, in, shift, n);
}

double tf__vec_exp_sum_only(const float *in, float shift, int64_t n)
{
    float buf[256]; /* the exponentials are not kept: a small stack buffer takes them in turn */
    double sum = 0.0;
    for (int64_t j = 0; j < n; j += 256)
        sum += vec_exp_sum(buf, in + j, shift, n - j < 256 ? n - j : 256);
    return sum;
}

void tf__vec_scale(float *x, float a, int64_t n)
{
    vec_scale(x, a, n);
}

void tf__vec_add(float *acc, const float *x, int64_t n)
{
    vec_add(acc, x, n);
}

float tf__vec_add_max(float *x, const float *b, int64_t n)
{
    return vec_add_max(x, b, n);
}

void tf__vec_axpy(float *acc, float a, const float *x, int64_t n)
{
    vec_axpy(acc, a, x, n);
}
