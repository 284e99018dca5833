/* SPDX-License-Identifier: MIT */
/* GEMM through CBLAS (OpenBLAS) or a plain loop when built without BLAS.
 *
 * Threads: the library runs OpenBLAS single-threaded (for the length of each product, restoring
 * the application's count after it) and splits a large GEMM over its own team
 * (core/team.h) instead. OpenBLAS's idle workers busy-wait for a while after every threaded call;
 * on a machine with as many cores as threads they then compete with the library's own threads
 * (the LSTM time loop, the loss passes) for the same cores. With one kind of thread, each core
 * runs one thread at a time. */
#include "blas.h"
#include "../core/internal.h"
#include "../core/team.h"
#include "gemm_dnnl.h"

#include <stdatomic.h>

#ifdef TF_HAVE_CBLAS
#include <cblas.h>
#endif

#if defined(TF_HAVE_CBLAS) && defined(TF_HAVE_OPENBLAS_SET_NUM_THREADS)
#include <pthread.h>

/* OpenBLAS's thread count is process-wide. Each GEMM runs with it at 1 (its parts are already
 * split over the library's threads), and the application's count comes back after the last GEMM
 * running at once ends: counted, so that one call ending cannot restore the application's count
 * while another call's products still run (they would then start OpenBLAS's own threads). */
static pthread_mutex_t blas_threads_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_threads_users, blas_threads_host;

static void blas_threads_enter(void)
{
    pthread_mutex_lock(&blas_threads_mu);
    if (blas_threads_users++ == 0) {
        blas_threads_host = openblas_get_num_threads();
        if (blas_threads_host != 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_threads_mu);
}

static void blas_threads_leave(void)
{
    pthread_mutex_lock(&blas_threads_mu);
    if (--blas_threads_users == 0 && blas_threads_host != 1)
        openblas_set_num_threads(blas_threads_host);
    pthread_mutex_unlock(&blas_threads_mu);
}
#else
static void blas_threads_enter(void)
{
}

static void blas_threads_leave(void)
{
}
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

static atomic_int forced = TF__GEMM_AUTO;

void tf__sgemm_force(int backend)
{
    atomic_store(&forced, backend);
}

/* From bench_gemm on an AVX-512 machine (docs/kernels.md): oneDNN's sgemm ran 2-23% faster than
 * OpenBLAS on the layers' and the LM head's products from 128^3 up, but slower on small products
 * (64^3, one row), on x W^T over only 100 inputs, and on A^T B over fewer than 512 rows (the LM
 * head's weight gradient). With oneDNN's AVX2 code against OpenBLAS's Haswell kernels it was at
 * best level and down to 0.41x on some A^T B, so only its AVX-512 code is used. */
int tf__sgemm_dnnl_pays(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k)
{
    if (trans_a + trans_b == 2 || !tf__dnnl_avx512())
        return 0;
    if (m < 8 || 2.0 * (double)m * (double)n * (double)k < 2.0 * 128 * 128 * 128)
        return 0;
    if (trans_b && k <= 128)
        return 0;
    if (trans_a && k < 512)
        return 0;
    return 1;
}

/* One GEMM on the calling thread. */
static void sgemm_one(int trans_a,
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
    const int backend = atomic_load(&forced);
    if (backend != TF__GEMM_BLAS &&
        (backend == TF__GEMM_DNNL || tf__sgemm_dnnl_pays(trans_a, trans_b, m, n, k)) &&
        tf__dnnl_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
#ifdef TF_HAVE_CBLAS
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
#else
    tf__sgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

/* A GEMM is split when it has at least this many flops (about 0.1 ms on one core), so starting a
 * helper thread (tens of microseconds) stays small beside it. */
#define GEMM_SPLIT_FLOPS (8.0 * 1024 * 1024)

int64_t tf__sgemm_parts(int32_t threads, int64_t m, int64_t n, int64_t k, int *split_m, int64_t *block)
{
    *split_m = m >= n;
    *block = *split_m ? m : n;
    if (threads < 2 || m <= 0 || n <= 0 || 2.0 * (double)m * (double)n * (double)k < GEMM_SPLIT_FLOPS)
        return 1;
    /* One part per thread along the longer side of C, in multiples of 16 rows or columns. */
    const int64_t dim = *block;
    *block = ((dim + threads - 1) / threads + 15) / 16 * 16;
    return (dim + *block - 1) / *block;
}

typedef struct gemm_job {
    int trans_a, trans_b, split_m;
    int64_t m, n, k, block;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t lda, ldb, ldc;
} gemm_job_t;

/* Part `part` of a split GEMM: a block of rows of C (split_m) or of columns. */
static void gemm_part(void *arg, int64_t step, int64_t part)
{
    const gemm_job_t *J = arg;
    (void)step;
    const int64_t lo = part * J->block, dim = J->split_m ? J->m : J->n;
    const int64_t len = dim - lo < J->block ? dim - lo : J->block;
    if (J->split_m)
        sgemm_one(J->trans_a, J->trans_b, len, J->n, J->k, J->alpha,
                  J->trans_a ? J->a + lo : J->a + lo * J->lda, J->lda, J->b, J->ldb, J->beta,
                  J->c + lo * J->ldc, J->ldc);
    else
        sgemm_one(J->trans_a, J->trans_b, J->m, len, J->k, J->alpha, J->a, J->lda,
                  J->trans_b ? J->b + lo * J->ldb : J->b + lo, J->ldb, J->beta, J->c + lo, J->ldc);
}

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
               int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    /* A host (numpy, ...) finds the OpenBLAS thread count it set after every call. */
    blas_threads_enter();
    int split_m;
    int64_t block;
    const int64_t parts = tf__sgemm_parts(threads, m, n, k, &split_m, &block);
    if (parts >= 2) {
        gemm_job_t job = {trans_a, trans_b, split_m, m, n, k, block, alpha, beta, a, b, c, lda, ldb, ldc};
        tf__team_for(threads, parts, gemm_part, &job);
    } else {
        sgemm_one(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
    blas_threads_leave();
}
