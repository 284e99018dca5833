/* GEMM through CBLAS (OpenBLAS) or a plain loop when built without BLAS. */
#include "blas.h"
#include "../core/internal.h"

#ifdef TF_HAVE_CBLAS
#include <cblas.h>
#endif

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
                   int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        float *crow = c + i * ldc;
        if (beta == 0.0f) {
            for (int64_t j = 0; j < n; j++)
                crow[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int64_t j = 0; j < n; j++)
                crow[j] *= beta;
        }
        /* i-p-j order keeps the inner loop contiguous in B and C when B is not transposed. */
        for (int64_t p = 0; p < k; p++) {
            float av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
            if (av == 0.0f)
                continue;
            if (!trans_b) {
                const float *brow = b + p * ldb;
                for (int64_t j = 0; j < n; j++)
                    crow[j] += av * brow[j];
            } else {
                for (int64_t j = 0; j < n; j++)
                    crow[j] += av * b[j * ldb + p];
            }
        }
    }
}

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
               int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
#ifdef TF_HAVE_CBLAS
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
#else
    tf__sgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

int tf__blas_enabled(void)
{
#ifdef TF_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

void tf__blas_set_threads(int32_t num_threads)
{
#if defined(TF_HAVE_CBLAS) && defined(TF_HAVE_OPENBLAS_SET_NUM_THREADS)
    openblas_set_num_threads(num_threads);
#else
    (void)num_threads;
#endif
}
