/* SPDX-License-Identifier: MIT */
/* The GEMM wrapper (BLAS or fallback, and oneDNN's sgemm forced on and off) and the plain
 * reference, each against an independent double-precision triple loop, over every transpose
 * combination, alpha/beta and padded leading dimensions. */
#include "tf_test.h"
#include "tensor/blas.h"
#include "tensor/gemm_dnnl.h"
#include "core/rng.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double at(const float *x, int64_t ld, int trans, int64_t r, int64_t c)
{
    return trans ? x[c * ld + r] : x[r * ld + c];
}

/* threads 0: the plain reference; otherwise the wrapper on that many threads. */
static void check_gemm(
    int32_t threads, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, float beta)
{
    tf__rng_t rng;
    tf__rng_seed(&rng, (uint64_t)(m * 131 + n * 17 + k + ta * 7 + tb));
    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
    int64_t arows = ta ? k : m, brows = tb ? n : k;
    float *a = malloc(sizeof(float) * (size_t)(arows * lda));
    float *b = malloc(sizeof(float) * (size_t)(brows * ldb));
    float *c = malloc(sizeof(float) * (size_t)(m * ldc));
    double *want = malloc(sizeof(double) * (size_t)(m * n));
    for (int64_t i = 0; i < arows * lda; i++)
        a[i] = tf__rng_uniform(&rng) * 2 - 1;
    for (int64_t i = 0; i < brows * ldb; i++)
        b[i] = tf__rng_uniform(&rng) * 2 - 1;
    for (int64_t i = 0; i < m * ldc; i++)
        c[i] = beta == 0.0f && i % 3 == 0 ? NAN : tf__rng_uniform(&rng) * 2 - 1; /* beta 0 ignores C */
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += at(a, lda, ta, i, p) * at(b, ldb, tb, p, j);
            want[i * n + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)c[i * ldc + j]);
        }
    c[n + 1] = 7.0f;
    float pad = c[n + 1]; /* an element of the padding between rows must survive */
    if (threads == 0)
        tf__sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        tf__sgemm(threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double got = c[i * ldc + j], w = want[i * n + j];
            if (fabs(got - w) > 1e-4 * (1 + fabs(w)) + 1e-5 * (double)k)
                fail_msg("gemm ta=%d tb=%d m=%lld n=%lld k=%lld: C[%lld,%lld]=%g, want %g", ta, tb,
                         (long long)m, (long long)n, (long long)k, (long long)i, (long long)j, got,
                         w);
        }
    if (n + 1 < ldc && m > 0)
        assert_true(c[n + 1] == pad);
    free(a);
    free(b);
    free(c);
    free(want);
}

static void sweep(int32_t threads)
{
    const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 48, 80}, {5, 128, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f);
                check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0.5f, 1.0f);
                check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], -1.5f, 0.25f);
            }
}

static void test_blas_sgemm_matches_double_reference(void **state)
{
    (void)state;
    sweep(1);
}

static void test_blas_sgemm_ref_matches_double_reference(void **state)
{
    (void)state;
    sweep(0);
}

/* Large products split over the threads they are given (by rows of C when it is taller, by
 * columns when wider) still match the double reference, padding between rows untouched. */
static void test_blas_sgemm_split_over_threads(void **state)
{
    (void)state;
    const int64_t sizes[][3] = {{300, 170, 100}, {20, 700, 400}, {33, 1000, 130}};
    const int32_t threads[] = {2, 3};
    for (size_t t = 0; t < 2; t++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int split_m;
            int64_t block;
            assert_true(tf__sgemm_parts(threads[t], sizes[s][0], sizes[s][1], sizes[s][2], &split_m,
                                        &block) >= 2);
            assert_int_equal(split_m, sizes[s][0] >= sizes[s][1]);
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    check_gemm(threads[t], ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0.5f,
                               1.0f);
        }
    }
    int split_m;
    int64_t block;
    assert_int_equal(tf__sgemm_parts(1, 300, 170, 100, &split_m, &block), 1);
}

/* Sizes across kernel blocks and their remainders, on the calling thread and split over two. */
static void sweep_blocks(void)
{
    const int64_t sizes[][3] = {{1, 1, 1}, {3, 65, 7}, {257, 64, 129}, {300, 130, 256}, {64, 200, 300}, {513, 9, 40}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int32_t threads = 1; threads <= 2; threads++) {
                    check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f);
                    check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 1.0f);
                    check_gemm(threads, ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], -1.5f, 0.25f);
                }
}

static void test_blas_sgemm_dnnl_forced(void **state)
{
    (void)state;
    tf__sgemm_force(TF__GEMM_DNNL);
    sweep(1);
    sweep_blocks();
    tf__sgemm_force(TF__GEMM_AUTO);
}

static void test_blas_sgemm_dnnl_forced_off(void **state)
{
    (void)state;
    tf__sgemm_force(TF__GEMM_BLAS);
    sweep(1);
    sweep_blocks();
    tf__sgemm_force(TF__GEMM_AUTO);
}

/* Where oneDNN is built in it computes every form itself (it does not hand them back to the BLAS),
 * so the forced sweep above tested it. */
static void test_blas_dnnl_takes_every_form(void **state)
{
    (void)state;
    if (!tf__dnnl_available())
        skip();
    float a[6 * 5], b[6 * 5], c[5 * 5];
    for (int i = 0; i < 30; i++)
        a[i] = b[i] = (float)i;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            assert_int_equal(tf__dnnl_sgemm(ta, tb, 5, 5, 6, 1.0f, a, ta ? 5 : 6, b, tb ? 6 : 5, 0.0f, c, 5), 1);
}

/* A build with oneDNN loads it on this machine (the test command installs it): were it not found,
 * every test above would pass on OpenBLAS alone. Under valgrind it is never loaded. */
static void test_blas_dnnl_loads(void **state)
{
    (void)state;
#if defined(TF_HAVE_DNNL)
    (void)tf__dnnl_available(); /* loads it, except under valgrind (then no error either) */
    assert_null(tf__dnnl_load_error());
#else
    assert_false(tf__dnnl_available());
    assert_false(tf__dnnl_avx512());
    float c = 1.0f;
    assert_int_equal(tf__dnnl_sgemm(0, 0, 1, 1, 1, 1.0f, &c, 1, &c, 1, 0.0f, &c, 1), 0);
    assert_true(c == 1.0f);
#endif
}

/* The automatic choice takes oneDNN only for its AVX-512 code, and there not for small products,
 * x W^T over few inputs or A^T B over few rows (blas.c). The run under ONEDNN_MAX_CPU_ISA=AVX2
 * (tests/CMakeLists.txt) checks that AVX2 code is never chosen. */
static void test_blas_dnnl_choice(void **state)
{
    (void)state;
    const char *isa = getenv("ONEDNN_MAX_CPU_ISA");
    if (isa && strcmp(isa, "AVX2") == 0)
        assert_false(tf__dnnl_avx512());
    if (!tf__dnnl_avx512()) {
        assert_false(tf__sgemm_dnnl_pays(0, 0, 419, 200, 10000));
        assert_false(tf__sgemm_dnnl_pays(0, 1, 2048, 2048, 256));
        return;
    }
    assert_true(tf__sgemm_dnnl_pays(0, 0, 419, 200, 10000));
    assert_true(tf__sgemm_dnnl_pays(0, 1, 2048, 2048, 256));
    assert_true(tf__sgemm_dnnl_pays(1, 0, 800, 100, 2048));
    assert_false(tf__sgemm_dnnl_pays(0, 1, 64, 64, 64));
    assert_false(tf__sgemm_dnnl_pays(0, 1, 1, 800, 200));
    assert_false(tf__sgemm_dnnl_pays(0, 1, 2048, 800, 100));
    assert_false(tf__sgemm_dnnl_pays(1, 0, 10000, 200, 419));
    assert_false(tf__sgemm_dnnl_pays(1, 1, 2048, 2048, 2048));
}

static void test_blas_empty_dimensions_are_noops(void **state)
{
    float c[4] = {1, 2, 3, 4};
    (void)state;
    tf__sgemm(1, 0, 0, 0, 2, 2, 1.0f, c, 2, c, 2, 0.0f, c, 2);
    tf__sgemm(1, 0, 0, 2, 0, 2, 1.0f, c, 2, c, 2, 0.0f, c, 2);
    assert_true(c[0] == 1.0f && c[3] == 4.0f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blas_sgemm_matches_double_reference),
        cmocka_unit_test(test_blas_sgemm_ref_matches_double_reference),
        cmocka_unit_test(test_blas_sgemm_split_over_threads),
        cmocka_unit_test(test_blas_sgemm_dnnl_forced),
        cmocka_unit_test(test_blas_sgemm_dnnl_forced_off),
        cmocka_unit_test(test_blas_dnnl_takes_every_form),
        cmocka_unit_test(test_blas_dnnl_loads),
        cmocka_unit_test(test_blas_dnnl_choice),
        cmocka_unit_test(test_blas_empty_dimensions_are_noops),
    };
    return TF_TEST_RUN(tests);
}
