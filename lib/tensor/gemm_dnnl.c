/* SPDX-License-Identifier: MIT */
/* gemm_dnnl.h. oneDNN is loaded with dlopen when first asked for, not linked: a host whose CPU
 * never takes it (no AVX-512) never loads its 40 MB, its OpenMP runtime and C++ library, and a
 * machine without the library still runs libtransfer (OpenBLAS then runs every product). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_getaffinity_np */
#endif
#include "gemm_dnnl.h"
#include <stddef.h>

#if defined(TF_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
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

/* The library's name with the major version of its ABI (the headers built against). */
#define DNNL_SONAME "libdnnl.so." TF__DNNL_STR(DNNL_VERSION_MAJOR)
#define TF__DNNL_STR(x) TF__DNNL_STR2(x)
#define TF__DNNL_STR2(x) #x

static struct {
    pthread_once_t once;
    const char *error; /* why it did not load (NULL: loaded, or not tried) */
    __typeof__(dnnl_sgemm) *sgemm;
    __typeof__(dnnl_get_effective_cpu_isa) *effective_isa;
    int (*omp_get_max_threads)(void); /* from the OpenMP runtime oneDNN brings */
    void (*omp_set_num_threads)(int);
} dnnl = {.once = PTHREAD_ONCE_INIT};

static void dnnl_load_pinned(void);

/* Loading oneDNN (its start, or the OpenMP runtime's) pins the loading thread to one processor,
 * and the threads it starts later inherit that: the predictor's two threads then shared one
 * processor (15x slower). The thread's processors are put back as they were. */
static void dnnl_load(void)
{
#if defined(__linux__)
    cpu_set_t mask;
    const int saved = pthread_getaffinity_np(pthread_self(), sizeof mask, &mask) == 0;
    dnnl_load_pinned();
    if (saved)
        pthread_setaffinity_np(pthread_self(), sizeof mask, &mask);
#else
    dnnl_load_pinned();
#endif
}

static void dnnl_load_pinned(void)
{
    void *lib = dlopen(DNNL_SONAME, RTLD_NOW | RTLD_LOCAL); /* kept for the process's life */
    if (lib == NULL) {
        dnnl.error = "cannot load " DNNL_SONAME;
        return;
    }
    /* dlsym on the handle searches the library and then what it needs (the OpenMP runtime). */
    void *sgemm = dlsym(lib, "dnnl_sgemm"), *isa = dlsym(lib, "dnnl_get_effective_cpu_isa");
    void *get = dlsym(lib, "omp_get_max_threads"), *set = dlsym(lib, "omp_set_num_threads");
    if (!sgemm || !isa || !get || !set) {
        dnnl.error = DNNL_SONAME " lacks dnnl_sgemm, dnnl_get_effective_cpu_isa or the OpenMP thread count";
        return;
    }
    /* Object pointers to function pointers: POSIX guarantees dlsym's results convert. */
    memcpy(&dnnl.sgemm, &sgemm, sizeof sgemm);
    memcpy(&dnnl.effective_isa, &isa, sizeof isa);
    memcpy(&dnnl.omp_get_max_threads, &get, sizeof get);
    memcpy(&dnnl.omp_set_num_threads, &set, sizeof set);
    (void)dnnl.effective_isa(); /* oneDNN's start, here while the processors are restored after */
}

/* Whether oneDNN may be used at all: not under valgrind; loaded on the first call. */
static int dnnl_ready(void)
{
    if (UNDER_VALGRIND())
        return 0;
    pthread_once(&dnnl.once, dnnl_load);
    return dnnl.sgemm != NULL;
}
#endif

int tf__dnnl_available(void)
{
#if defined(TF_HAVE_DNNL)
    return dnnl_ready();
#else
    return 0;
#endif
}

const char *tf__dnnl_load_error(void)
{
#if defined(TF_HAVE_DNNL)
    return dnnl.sgemm ? NULL : dnnl.error;
#else
    return NULL;
#endif
}

int tf__dnnl_avx512(void)
{
#if defined(TF_HAVE_DNNL)
#if defined(__x86_64__) && defined(__GNUC__)
    if (!__builtin_cpu_supports("avx512f")) /* oneDNN's AVX-512 code cannot run: leave it unloaded */
        return 0;
#endif
    if (!dnnl_ready())
        return 0;
    const unsigned isa = (unsigned)dnnl.effective_isa(), core = (unsigned)dnnl_cpu_isa_avx512_core;
    return (isa & core) == core;
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
    if (!dnnl_ready())
        return 0;
    /* Per thread (the calling thread's OpenMP setting); only a count other than 1 is set and
     * restored. Inside an OpenMP parallel region oneDNN runs on the calling thread anyway. */
    const int host_threads = dnnl.omp_get_max_threads();
    if (host_threads != 1)
        dnnl.omp_set_num_threads(1);
    const dnnl_status_t st =
        dnnl.sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (host_threads != 1)
        dnnl.omp_set_num_threads(host_threads);
    return st == dnnl_success;
#else
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
#endif
}
