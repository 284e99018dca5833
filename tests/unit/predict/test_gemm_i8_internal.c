/* SPDX-License-Identifier: MIT */
/* The int8-weight products (lib/predict/gemm_i8.c) against a plain reference: the weights
 * dequantised (tf__dequantize_rows_i8) and multiplied in double precision. Every kernel version
 * the CPU can run, forced in turn; both ways (mixed kernel, dequantised panels) for every row
 * count; panel-boundary widths, strides wider than the matrices, accumulation; and that nothing
 * outside the output columns is written. */
#include "tf_test.h"
#include "predict/gemm_i8.h"
#include "tensor/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

enum { WAY_MIXED, WAY_PANELS, WAY_AUTO };

#define GUARD 12345.0f

/* One product of the given shape and way, checked element by element. */
static void check(int64_t M, int64_t N, int64_t K, int accumulate, int way)
{
    uint32_t s = 7u + (uint32_t)(M * 131 + N * 17 + K * 3 + accumulate + way * 1000);
    const int64_t lda = K + 3, ldc = N + 5;
    float *w = malloc(sizeof(float) * (size_t)(N * K)), *wd = malloc(sizeof(float) * (size_t)(N * K));
    int8_t *q = malloc((size_t)(N * K));
    float *scale = malloc(sizeof(float) * (size_t)N);
    int8_t *P = malloc(tf__i8_packed_bytes(N, K));
    float *ps = malloc(sizeof(float) * tf__i8_scale_floats(N));
    float *A = malloc(sizeof(float) * (size_t)(M * lda)), *C = malloc(sizeof(float) * (size_t)(M * ldc));
    float *C0 = malloc(sizeof(float) * (size_t)(M * ldc));
    float *work = malloc(sizeof(float) * tf__i8_work_floats(K));
    assert_non_null(w);
    assert_non_null(work);
    for (int64_t n = 0; n < N; n++) /* rows of very different magnitudes, one all zero */
        for (int64_t k = 0; k < K; k++)
            w[n * K + k] = n == 1 ? 0.0f : frand(&s) * (float)(1 + n % 7) * (n % 3 ? 1.0f : 1e-3f);
    assert_int_equal(tf__quantize_rows_i8(w, N, K, q, scale), -1);
    tf__dequantize_rows_i8(q, scale, N, K, wd);
    tf__i8_pack(N, K, q, scale, P, ps);
    for (int64_t i = 0; i < M * lda; i++)
        A[i] = frand(&s) * 4.0f;
    for (int64_t i = 0; i < M * ldc; i++)
        C[i] = C0[i] = (i % ldc) < N ? frand(&s) : GUARD;
    if (way == WAY_MIXED)
        tf__i8_gemm_mixed(M, N, K, A, lda, P, ps, accumulate, C, ldc);
    else if (way == WAY_PANELS)
        tf__i8_gemm_panels(M, N, K, A, lda, P, ps, accumulate, C, ldc, work);
    else
        tf__i8_gemm(M, N, K, A, lda, P, ps, accumulate, C, ldc, work);
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double want = accumulate ? (double)C0[m * ldc + n] : 0.0, mag = fabs(want);
            for (int64_t k = 0; k < K; k++) {
                want += (double)A[m * lda + k] * (double)wd[n * K + k];
                mag += fabs((double)A[m * lda + k] * (double)wd[n * K + k]);
            }
            const double got = C[m * ldc + n], tol = 4e-7 * mag * sqrt((double)K + 1) + 1e-30;
            if (!(fabs(got - want) <= tol))
                print_error("M=%lld N=%lld K=%lld acc=%d way=%d: C[%lld][%lld] = %.9g, want %.9g (tol %.3g)\n",
                            (long long)M, (long long)N, (long long)K, accumulate, way, (long long)m,
                            (long long)n, got, want, tol);
            assert_true(fabs(got - want) <= tol);
        }
        for (int64_t n = N; n < ldc; n++)
            assert_true(C[m * ldc + n] == GUARD);
    }
    free(w);
    free(wd);
    free(q);
    free(scale);
    free(P);
    free(ps);
    free(A);
    free(C);
    free(C0);
    free(work);
}

static void check_shapes(int way)
{
    static const int64_t Ms[] = {1, 2, 3, 4, 5, 8, 17, 64};
    static const int64_t Ns[] = {1, 7, 31, 32, 33, 100, 800};
    static const int64_t Ks[] = {1, 2, 3, 200};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int acc = 0; acc < 2; acc++)
                    check(Ms[a], Ns[b], Ks[c], acc, way);
}

/* Every version this CPU runs (at least the baseline), each way. */
static void test_gemm_i8_every_version_matches_reference(void **state)
{
    (void)state;
    int ran = 0;
    for (int v = TF__I8_BASE; v <= TF__I8_V4; v++) {
        if (tf__i8_force(v) != 0)
            continue;
        ran++;
        for (int way = WAY_MIXED; way <= WAY_AUTO; way++)
            check_shapes(way);
    }
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
    assert_true(ran >= 1);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
    __builtin_cpu_init();
    assert_int_equal(ran, 1 + (__builtin_cpu_supports("x86-64-v3") > 0) + (__builtin_cpu_supports("x86-64-v4") > 0));
#endif
}

/* Unknown versions are refused and leave the choice alone. */
static void test_gemm_i8_force_refuses_unknown(void **state)
{
    (void)state;
    assert_int_equal(tf__i8_force(TF__I8_BASE), 0);
    assert_int_equal(tf__i8_force(99), -1);
    assert_int_equal(tf__i8_force(-1), -1);
    check(3, 40, 9, 1, WAY_AUTO);
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
}

/* Extreme scales: the largest and the smallest (subnormal) rows stay within the bound. */
static void test_gemm_i8_extreme_rows(void **state)
{
    (void)state;
    const int64_t N = 3, K = 5;
    const float w[15] = {3e38f, -1e38f, 2e37f, 0.0f, 1.0f, 1e-44f, -3e-45f, 0.0f, 1e-45f, 7e-45f,
                         1.0f,  -0.5f,  0.25f, 2.0f, -2.0f};
    int8_t q[15], P[TF__I8_PANEL * 5];
    float scale[3], ps[TF__I8_PANEL], wd[15], C[3], work[5 * TF__I8_PANEL];
    const float A[5] = {1e-38f, 1e-38f, 1e-38f, 1e-38f, 1e-38f}, A2[5] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f};
    assert_int_equal(tf__quantize_rows_i8(w, N, K, q, scale), -1);
    tf__dequantize_rows_i8(q, scale, N, K, wd);
    tf__i8_pack(N, K, q, scale, P, ps);
    for (int way = WAY_MIXED; way <= WAY_PANELS; way++) {
        const float *a = A;
        for (int pass = 0; pass < 2; pass++, a = A2) {
            if (way == WAY_MIXED)
                tf__i8_gemm_mixed(1, N, K, a, K, P, ps, 0, C, N);
            else
                tf__i8_gemm_panels(1, N, K, a, K, P, ps, 0, C, N, work);
            for (int64_t n = 0; n < N; n++) {
                double want = 0.0, mag = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    want += (double)a[k] * (double)wd[n * K + k];
                    mag += fabs((double)a[k] * (double)wd[n * K + k]);
                }
                /* products below the normal range lose relative precision: an absolute floor */
                assert_true(isfinite(C[n]));
                if (!(fabs((double)C[n] - want) <= 1e-6 * mag + 1e-44))
                    print_error("way %d pass %d n %lld: got %.9g want %.9g\n", way, pass, (long long)n, (double)C[n], want);
                assert_true(fabs((double)C[n] - want) <= 1e-6 * mag + 1e-44);
            }
        }
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_i8_every_version_matches_reference),
        cmocka_unit_test(test_gemm_i8_force_refuses_unknown),
        cmocka_unit_test(test_gemm_i8_extreme_rows),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
