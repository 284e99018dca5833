/* SPDX-License-Identifier: MIT */
/* The x86-64 levels the library's own vector kernels are compiled for (lib/nn/lstm_kernel.c,
 * lib/nn/nn_vec.c, lib/predict/lstm_step.c), and the choice among them: the CPU's best, or a
 * lower one a test forces, so the AVX2 code also runs on CPUs with AVX-512. */
#ifndef TF_CORE_ISA_H
#define TF_CORE_ISA_H

#include <stdatomic.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
/* Kernels are compiled once per level with GCC's target("arch=...") attribute. */
#define TF__ISA_LEVELS 1
#endif

enum { TF__ISA_BASE = 0, TF__ISA_V3 = 3, TF__ISA_V4 = 4 }; /* baseline, x86-64-v3 (AVX2), -v4 */

/* This CPU's best level (TF__ISA_BASE in builds without TF__ISA_LEVELS). */
int tf__isa_best(void);

/* The level to run: *forced where it is >= 0 and the CPU has it, else the best. */
int tf__isa_pick(const atomic_int *forced);

#endif
