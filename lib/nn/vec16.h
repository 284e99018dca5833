/* SPDX-License-Identifier: MIT */
/* 16-float and 8-float vectors (GCC vector extensions) and the vectorised functions built on
 * them: exp, the sigmoid and tanh of the LSTM gates. Everything is inlined into its caller, so each
 * ISA version of a caller gets its own copy (a 16-float vector is one zmm on AVX-512; AVX2 code
 * takes the 8-float ones, one ymm). exp, sigmoid and tanh come from vmath.inc, as the training
 * kernel's (lib/nn/lstm_kernel.c) do, so they match it to the bit on each lane. */
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

/* 8-float vectors with the same helpers (tf__v8_*): the AVX2 code of kernels written for a block
 * of 16 units takes two of them, as a 16-float vector there is lowered lane by lane in places. */
#define TF__V8 8
typedef float tf__v8 __attribute__((vector_size(TF__V8 * sizeof(float))));
typedef int32_t tf__v8i __attribute__((vector_size(TF__V8 * sizeof(int32_t))));

#define VEC_F tf__v16
#define VEC_I tf__i16
#define VEC_N TF__V16
#define VEC_NAME(f) tf__v16_##f
#include "vec_ops.inc"

#define VEC_F tf__v8
#define VEC_I tf__v8i
#define VEC_N TF__V8
#define VEC_NAME(f) tf__v8_##f
#include "vec_ops.inc"

#endif
