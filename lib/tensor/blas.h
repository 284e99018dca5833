/* The one BLAS wrapper. Row-major single-precision GEMM:
 *   C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C
 * op(X) is X or X^T as `trans_a` / `trans_b` say. With TF_WITH_BLAS it calls cblas_sgemm; otherwise
 * the plain loop below, which is also kept in every build as the reference the tests compare
 * against. */
#ifndef TF_TENSOR_BLAS_H
#define TF_TENSOR_BLAS_H

#include <stdint.h>

void tf__sgemm(int trans_a,
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

/* 1 when the build calls a real BLAS. */
int tf__blas_enabled(void);

#endif
