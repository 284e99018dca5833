/* SPDX-License-Identifier: MIT */
/* The per-step product (nn/step_gemm.h) under each kernel the dispatcher can pick, against a plain
 * double-precision triple loop: whole and partial panels, column blocks, accumulate or not, W
 * stored as W or W^T, row strides wider than the rows. */
#include "tf_test.h"
#include "each_kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static float uniform(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

/* C (M x N, ldc) = [C +] A (M x K, lda) W over the kernel the dispatcher picks now, columns in
 * blocks of `block` panels, compared with the loop. */
static void check_shape(int64_t M, int64_t N, int64_t K, int trans, int accumulate, int64_t block)
{
    const int64_t lda = K + 3, ldc = N + 5;
    uint32_t seed = (uint32_t)(M * 131 + N * 17 + K + trans * 7 + accumulate);
    float *A = falloc((size_t)(M * lda)), *W = falloc((size_t)(K * N)), *C = falloc((size_t)(M * ldc));
    double *want = calloc((size_t)(M * ldc), sizeof(double));
    assert_non_null(want);
    for (int64_t e = 0; e < M * lda; e++)
        A[e] = uniform(&seed);
    for (int64_t e = 0; e < K * N; e++)
        W[e] = uniform(&seed); /* K x N, or N x K when trans */
    for (int64_t e = 0; e < M * ldc; e++)
        C[e] = uniform(&seed);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++) {
            double acc = accumulate || n >= N ? (double)C[m * ldc + n] : 0.0;
            for (int64_t k = 0; k < K && n < N; k++)
                acc += (double)A[m * lda + k] * (double)(trans ? W[n * K + k] : W[k * N + n]);
            want[m * ldc + n] = acc;
        }

    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, M, N, K, lda, ldc, accumulate);
    assert_true(tf__step_gemm_packed_floats(&g) <= tf__step_gemm_packed_floats_max(K, N));
    float *P = falloc(tf__step_gemm_packed_floats(&g));
    tf__step_gemm_pack(&g, P, W, trans);
    const int64_t cols = block * g.pw;
    for (int64_t n0 = 0; n0 < N; n0 += cols)
        tf__step_gemm_run(&g, A, P, n0, n0 + cols < N ? n0 + cols : N, C);

    for (int64_t e = 0; e < M * ldc; e++) {
        const double tol = 1e-5 * (double)K + 1e-6;
        if (fabs((double)C[e] - want[e]) > tol)
            fail_msg("M=%lld N=%lld K=%lld trans=%d acc=%d: C[%lld] = %g, want %g", (long long)M,
                     (long long)N, (long long)K, trans, accumulate, (long long)e, (double)C[e], want[e]);
    }
    free(A);
    free(W);
    free(C);
    free(want);
    free(P);
}

static void test_products_match_loop(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 128, 128}, {1, 512, 128}, {3, 96, 64},  {8, 384, 96},
                                        {5, 200, 800}, {32, 64, 50},  {17, 7, 300}, {64, 130, 33}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int trans = 0; trans < 2; trans++)
            for (int acc = 0; acc < 2; acc++)
                for (int64_t block = 1; block <= 2; block++)
                    check_shape(shapes[i][0], shapes[i][1], shapes[i][2], trans, acc, block);
}

/* Forcing libxsmm where it is built in and the CPU has kernels really gives libxsmm's kernels, and
 * forcing the portable kernel gives it: the tests of every cell then cover both. */
static void test_forcing_picks_the_kernel(void **state)
{
    (void)state;
    tf__step_gemm_t g;
    tf__step_gemm_force(TF__STEP_PORTABLE);
    tf__step_gemm_plan(&g, 4, 200, 100, 100, 200, 0);
    assert_null(g.full);
    assert_int_equal(g.pw, TF__STEP_PORTABLE_PANEL);
    tf__step_gemm_force(TF__STEP_XSMM);
    tf__step_gemm_plan(&g, 4, 200, 100, 100, 200, 0);
#if defined(TF_HAVE_XSMM)
    /* The AVX2 run of these tests (tests/CMakeLists.txt) really gets AVX2 code. */
    const char *want = getenv("LIBXSMM_TARGET");
    if (want)
        assert_string_equal(tf__step_gemm_xsmm_target(), want);
    if (tf__step_gemm_xsmm_available()) {
        assert_non_null(g.full);
        assert_non_null(g.tail);
        assert_int_equal(g.pw, TF__STEP_XSMM_PANEL);
    }
#else
    assert_false(tf__step_gemm_xsmm_available());
    assert_null(tf__step_gemm_xsmm_target());
    assert_null(g.full);
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products_match_loop),
        cmocka_unit_test(test_forcing_picks_the_kernel),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
