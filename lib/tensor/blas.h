/* SPDX-License-Identifier: MIT */
/* The one BLAS wrapper. Row-major single-precision GEMM:
 *   C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C
 * op(X) is X or X^T as `trans_a` / `trans_b` say. With TF_WITH_BLAS it calls cblas_sgemm; otherwise
 * the plain loop below, which is also kept in every build as the reference the tests compare
 * against. A large product is split into blocks of rows or columns of C, one per thread of
 * `threads` (the caller's context's count, or 1 inside a team), each a single-threaded GEMM. */
#ifndef TF_TENSOR_BLAS_H
#define TF_TENSOR_BLAS_H

#include <stdint.h>

void tf__sgemm(int32_t threads,
               int trans_a,
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

/* How tf__sgemm splits an M x N x K product over `threads` threads: the number of parts (1: not
 * split), along M (*split_m) or N, in blocks of *block rows or columns. */
int64_t tf__sgemm_parts(int32_t threads, int64_t m, int64_t n, int64_t k, int *split_m, int64_t *block);

/* Plain C implementation with the same contract (no BLAS). */
void tf__sgemm_ref(int trans_a,
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
