/* SPDX-License-Identifier: MIT */
/* Vectorised loops over float rows used by the losses, the heads and the embedding: max, shifted
 * exp with its sum (softmax over a 10000-word vocabulary), scale, accumulate. Written with GCC
 * vector extensions; on x86-64 Linux each function is compiled for three ISA levels and the best
 * one is picked at load time. */
#include "nn_internal.h"

#include <math.h>
#include <string.h>

#define NV 16
#if defined(__GNUC__)
/* The vector helpers are always inlined, so no vector is passed in a call: neither GCC's psABI
 * warning (vectors between ISA clones) nor clang's (64-byte vectors in a build without AVX-512,
 * at every call of a helper) applies. Clang reads this pragma too. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v16 __attribute__((vector_size(NV * sizeof(float))));
typedef int32_t i16 __attribute__((vector_size(NV * sizeof(int32_t))));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&        \
    !defined(__SANITIZE_ADDRESS__)
/* Cloned functions are static (an extern ifunc would be exported with default visibility); the
 * tf__ entry points at the end call them. */
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif
#define NN_INLINE static inline __attribute__((always_inline))

NN_INLINE v16 splat(float a)
{
    v16 v;
    for (int i = 0; i < NV; i++)
        v[i] = a;
    return v;
}

NN_INLINE v16 load(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

NN_INLINE void store(float *p, v16 v)
{
    memcpy(p, &v, sizeof v);
}

NN_INLINE v16 select16(i16 m, v16 a, v16 b)
{
    return (v16)(((i16)a & m) | ((i16)b & ~m));
}

/* exp(x) for x <= 0 down to -87 (inputs below are clamped, giving ~1e-38): x = n ln2 + r, a
 * degree-6 polynomial for exp(r) (Cephes expf), 2^n in the exponent bits. Relative error ~2e-7. */
NN_INLINE v16 vexp(v16 x)
{
    const v16 magic = splat(12582912.0f);
    const v16 lo = splat(-87.0f), hi = splat(88.0f);
    x = select16(x < lo, lo, x);
    x = select16(x > hi, hi, x);
    const v16 t = x * splat(1.44269504088896341f) + magic;
    const v16 n = t - magic;
    const i16 ni = (i16)t - (i16)magic;
    v16 r = x - n * splat(0.693359375f);
    r = r + n * splat(2.12194440e-4f);
    v16 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * (r * r) + r + splat(1.0f);
    return p * (v16)((ni + 127) << 23);
}

NN_CLONES static float vec_max(const float *x, int64_t n)
{
    float m = x[0];
    int64_t i = 0;
    if (n >= NV) {
        v16 vm = load(x);
        for (i = NV; i + NV <= n; i += NV) {
            v16 v = load(x + i);
            vm = select16(v > vm, v, vm);
        }
        for (int k = 0; k < NV; k++)
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
    if (n >= NV) {
        v16 vm = load(x) + load(b);
        store(x, vm);
        for (i = NV; i + NV <= n; i += NV) {
            v16 v = load(x + i) + load(b + i);
            store(x + i, v);
            vm = select16(v > vm, v, vm);
        }
        m = vm[0];
        for (int k = 1; k < NV; k++)
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
    v16 acc = splat(0.0f), s = splat(shift);
    int64_t i = 0;
    for (; i + NV <= n; i += NV) {
        v16 e = vexp(load(in + i) - s);
        store(out + i, e);
        acc += e;
    }
    double sum = 0.0;
    for (int k = 0; k < NV; k++)
        sum += acc[k];
    if (i < n) {
        float tail[NV];
        int64_t r = n - i;
        for (int k = 0; k < NV; k++)
            tail[k] = k < r ? in[i + k] - shift : -100.0f;
        v16 e = vexp(load(tail));
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
    const v16 va = splat(a);
    int64_t i = 0;
    for (; i + NV <= n; i += NV)
        store(x + i, load(x + i) * va);
    for (; i < n; i++)
        x[i] *= a;
}

NN_CLONES static void vec_add(float *restrict acc, const float *restrict x, int64_t n)
{
    int64_t i = 0;
    for (; i + NV <= n; i += NV)
        store(acc + i, load(acc + i) + load(x + i));
    for (; i < n; i++)
        acc[i] += x[i];
}

NN_CLONES static void vec_axpy(float *restrict acc, float a, const float *restrict x, int64_t n)
{
    const v16 va = splat(a);
    int64_t i = 0;
    for (; i + NV <= n; i += NV)
        store(acc + i, load(acc + i) + va * load(x + i));
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
