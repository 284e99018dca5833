/* SPDX-License-Identifier: MIT */
/* 16-float vectors (GCC vector extensions) and the vectorised functions built on them: exp, the
 * sigmoid and tanh of the LSTM gates. Everything is inlined into its caller, so each ISA clone of
 * a caller gets its own copy (one zmm on AVX-512, two ymm on AVX2, four xmm on SSE2). The
 * functions match the training kernel's (lib/nn/lstm_kernel.c) to the bit on each lane. */
#ifndef TF_NN_VEC16_H
#define TF_NN_VEC16_H

#include <stdint.h>
#include <string.h>

#define TF__V16 16
#if defined(__GNUC__)
/* The helpers are always inlined, so no vector is passed in a call: neither GCC's psABI warning
 * (vectors between ISA clones) nor clang's (64-byte vectors in a build without AVX-512, at every
 * call of a helper) applies. Clang reads this pragma too. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float tf__v16 __attribute__((vector_size(TF__V16 * sizeof(float))));
typedef int32_t tf__i16 __attribute__((vector_size(TF__V16 * sizeof(int32_t))));

#define TF__V16_INLINE static inline __attribute__((always_inline))

TF__V16_INLINE tf__v16 tf__v16_splat(float a)
{
    tf__v16 v;
    for (int i = 0; i < TF__V16; i++)
        v[i] = a;
    return v;
}

TF__V16_INLINE tf__v16 tf__v16_load(const float *p)
{
    tf__v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

TF__V16_INLINE void tf__v16_store(float *p, tf__v16 v)
{
    memcpy(p, &v, sizeof v);
}

/* The first n < 16 floats; the other lanes are zero. */
TF__V16_INLINE tf__v16 tf__v16_load_n(const float *p, int64_t n)
{
    tf__v16 v = tf__v16_splat(0.0f);
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

TF__V16_INLINE void tf__v16_store_n(float *p, tf__v16 v, int64_t n)
{
    memcpy(p, &v, (size_t)n * sizeof(float));
}

TF__V16_INLINE tf__v16 tf__v16_select(tf__i16 m, tf__v16 a, tf__v16 b) /* m ? a : b by lane */
{
    return (tf__v16)(((tf__i16)a & m) | ((tf__i16)b & ~m));
}

/* exp(x): x = n ln2 + r (Cody-Waite, two constants), a degree-6 polynomial for exp(r) (Cephes
 * expf), 2^n in the exponent bits. Inputs are clamped to [-87, 88] so 2^n stays a normal float.
 * Relative error ~2e-7. */
TF__V16_INLINE tf__v16 tf__v16_exp(tf__v16 x)
{
    const tf__v16 magic = tf__v16_splat(12582912.0f); /* 1.5 * 2^23: adding it rounds */
    const tf__v16 lo = tf__v16_splat(-87.0f), hi = tf__v16_splat(88.0f);
    x = tf__v16_select(x < lo, lo, x);
    x = tf__v16_select(x > hi, hi, x);
    const tf__v16 t = x * tf__v16_splat(1.44269504088896341f) + magic;
    const tf__v16 n = t - magic;
    const tf__i16 ni = (tf__i16)t - (tf__i16)magic;
    tf__v16 r = x - n * tf__v16_splat(0.693359375f);
    r = r + n * tf__v16_splat(2.12194440e-4f);
    tf__v16 p = tf__v16_splat(1.9875691500e-4f);
    p = p * r + tf__v16_splat(1.3981999507e-3f);
    p = p * r + tf__v16_splat(8.3334519073e-3f);
    p = p * r + tf__v16_splat(4.1665795894e-2f);
    p = p * r + tf__v16_splat(1.6666665459e-1f);
    p = p * r + tf__v16_splat(5.0000001201e-1f);
    p = p * (r * r) + r + tf__v16_splat(1.0f);
    return p * (tf__v16)((ni + 127) << 23);
}

TF__V16_INLINE tf__v16 tf__v16_sigmoid(tf__v16 x)
{
    return tf__v16_splat(1.0f) / (tf__v16_splat(1.0f) + tf__v16_exp(-x));
}

/* tanh: an odd polynomial below |x| = 0.625 (Cephes tanhf), 1 - 2 / (exp(2|x|) + 1) above, the
 * sign restored; both computed and blended, so there is no branch. */
TF__V16_INLINE tf__v16 tf__v16_tanh(tf__v16 x)
{
    const tf__i16 sign = (tf__i16)x & (tf__i16)tf__v16_splat(-0.0f);
    const tf__v16 ax = (tf__v16)((tf__i16)x & ~sign);
    const tf__v16 z = x * x;
    tf__v16 p = tf__v16_splat(-5.70498872745e-3f);
    p = p * z + tf__v16_splat(2.06390887954e-2f);
    p = p * z + tf__v16_splat(-5.37397155531e-2f);
    p = p * z + tf__v16_splat(1.33314422036e-1f);
    p = p * z + tf__v16_splat(-3.33332819422e-1f);
    const tf__v16 small = p * z * x + x;
    const tf__v16 big = tf__v16_splat(1.0f) - tf__v16_splat(2.0f) / (tf__v16_exp(ax + ax) + tf__v16_splat(1.0f));
    const tf__v16 big_signed = (tf__v16)((tf__i16)big | sign);
    return tf__v16_select(ax < tf__v16_splat(0.625f), small, big_signed);
}

#endif
