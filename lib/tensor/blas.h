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

/* Which single-threaded GEMM the products (and each part of a split one) run: automatic (oneDNN's
 * sgemm, gemm_dnnl.h, for the forms and shapes where tf__sgemm_dnnl_pays says it beats the BLAS,
 * else the BLAS or the plain loop), or one forced, for the tests and benchmarks (oneDNN forced in
 * a build without it gives the BLAS). Not thread-safe against running products. */
enum { TF__GEMM_AUTO = 0, TF__GEMM_BLAS = 1, TF__GEMM_DNNL = 2 };
void tf__sgemm_force(int backend);

/* Whether oneDNN's sgemm is the faster single-threaded choice for this part of a product. */
int tf__sgemm_dnnl_pays(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k);

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
