/* SPDX-License-Identifier: MIT */
/* gemm_dnnl.h. */
#include "gemm_dnnl.h"

#if defined(TF_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
/* oneDNN's generated kernels load whole vectors past the ends of their buffers (harmless on the
 * hardware, errors under valgrind's memcheck): under valgrind the BLAS runs every product. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif
#endif

int tf__dnnl_available(void)
{
#if defined(TF_HAVE_DNNL)
    return !UNDER_VALGRIND();
#else
    return 0;
#endif
}

int tf__dnnl_avx512(void)
{
#if defined(TF_HAVE_DNNL)
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), core = (unsigned)dnnl_cpu_isa_avx512_core;
    return tf__dnnl_available() && (isa & core) == core;
#else
    return 0;
#endif
}

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
                   int64_t ldc)
{
#if defined(TF_HAVE_DNNL)
    if (!tf__dnnl_available())
        return 0;
    /* Per thread (the calling thread's OpenMP setting); only a count other than 1 is set and
     * restored. Inside an OpenMP parallel region oneDNN runs on the calling thread anyway. */
    const int host_threads = omp_get_max_threads();
    if (host_threads != 1)
        omp_set_num_threads(1);
    const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                        beta, c, ldc);
    if (host_threads != 1)
        omp_set_num_threads(host_threads);
    return st == dnnl_success;
#else
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
#endif
}
