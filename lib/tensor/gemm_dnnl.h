/* SPDX-License-Identifier: MIT */
/* A single-threaded row-major SGEMM (blas.h's contract) through oneDNN's dnnl_sgemm, whose kernels
 * are generated at run time for the CPU (AVX2, AVX-512, ...). blas.c decides which products take
 * it (docs/kernels.md); each thread of a split product calls it on its part.
 *
 * oneDNN runs its GEMM on OpenMP threads: the call sets the calling thread's OpenMP thread count
 * to 1 for its length (and restores it), so no OpenMP thread is started and the host's setting is
 * what it was after every call.
 *
 * The library (libdnnl.so.2) is not linked but loaded when first needed: on a CPU with AVX-512,
 * or when a product is forced onto it (tf__sgemm_force). Where it does not load, every function
 * here answers 0 and OpenBLAS runs the products. */
#ifndef TF_TENSOR_GEMM_DNNL_H
#define TF_TENSOR_GEMM_DNNL_H

#include <stdint.h>

/* Whether oneDNN is built in, loads, and is used (not under valgrind: gemm_dnnl.c). Loads it. */
int tf__dnnl_available(void);

/* Why oneDNN did not load (NULL when it did, was never tried, or is not built in). */
const char *tf__dnnl_load_error(void);

/* Whether oneDNN is used and runs its AVX-512 code on this CPU (ONEDNN_MAX_CPU_ISA can lower it).
 * Loads it only on a CPU with AVX-512. */
int tf__dnnl_avx512(void);

/* C = alpha op(A) op(B) + beta C on the calling thread. Returns 1 when done, 0 when oneDNN is not
 * built in or refuses the call (C untouched; the caller computes the product). */
int tf__dnnl_sgemm(int trans_a,
                   int trans_b,
                   int64_t m,
                   int64_t n,
                   int64_t k,
                   float alpha,
                   const float *a,
                   int64_t lda,
                   const float *b,
                   int64_t ldb,
                   float beta,
                   float *c,
                   int64_t ldc);

#endif
