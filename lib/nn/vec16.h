/* SPDX-License-Identifier: MIT */
/* 16-float vectors (GCC vector extensions) and the vectorised functions built on them: exp, the
 * sigmoid and tanh of the LSTM gates. Everything is inlined into its caller, so each ISA clone of
 * a caller gets its own copy (one zmm on AVX-512, two ymm on AVX2, four xmm on SSE2). exp,
 * sigmoid and tanh come from vmath.inc, as the training kernel's (lib/nn/lstm_kernel.c) do, so
 * they match it to the bit on each lane. */
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
#if defined(__GNUC__) && !defined(__clang__)
    /* Lane 0 shuffled to every lane: one broadcast. The loop below, at -O3, GCC 12 builds in
     * memory from narrow stores and reads back whole, a store-forwarding stall per splat (the
     * one-row prediction step ran 3.5x slower); so does it 1 * a on a vector of ones. A zero
     * vector plus a is no splat: 0 + -0 is +0, and vmath.inc's sign mask is a splat of -0. */
    tf__v16 v = {0};
    v[0] = a;
    return __builtin_shuffle(v, (tf__i16){0});
#else
    tf__v16 v;
    for (int i = 0; i < TF__V16; i++)
        v[i] = a;
    return v;
#endif
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

/* exp, sigmoid and tanh: tf__v16_exp, tf__v16_sigmoid, tf__v16_tanh. */
#define VMATH_F tf__v16
#define VMATH_I tf__i16
#define VMATH_INLINE TF__V16_INLINE
#define VMATH_NAME(f) tf__v16_##f
#define VMATH_SPLAT(a) tf__v16_splat(a)
#define VMATH_SELECT(m, a, b) tf__v16_select(m, a, b)
#include "vmath.inc"

#endif
