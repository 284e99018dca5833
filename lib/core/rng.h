/* SPDX-License-Identifier: MIT */
/* The random generator of a context: xoshiro256** seeded through splitmix64. Plain data, so its
 * state can be saved with a training run and restored bit-exactly. */
#ifndef TF_CORE_RNG_H
#define TF_CORE_RNG_H

#include <stdint.h>

typedef struct tf__rng {
    uint64_t s[4];
} tf__rng_t;

void tf__rng_seed(tf__rng_t *rng, uint64_t seed);
uint64_t tf__rng_u64(tf__rng_t *rng);
/* Uniform in [0, 1) with 24 random bits. */
float tf__rng_uniform(tf__rng_t *rng);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t tf__rng_below(tf__rng_t *rng, uint64_t n);
/* Standard normal (Box-Muller). */
double tf__rng_normal(tf__rng_t *rng);

#endif
