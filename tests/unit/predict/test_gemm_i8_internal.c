/* SPDX-License-Identifier: MIT */
/* The int8-weight products (lib/predict/gemm_i8.c) against a plain reference: the weights
 * dequantised (tf__dequantize_rows_i8) and multiplied in double precision; the integer products
 * also against the integer sums of the documented activation codes, and within the documented
 * bound of the f32 product. Every kernel version the CPU can run, forced in turn; every way for
 * every row count; panel-boundary widths, K not a multiple of four, strides wider than the
 * matrices, accumulation, a row of zeros; and that nothing outside the output columns is
 * written. A product by ranges of panels (tf__i8_gemm_cols) gives the whole product's bits. */
#include "tf_test.h"
#include "predict/gemm_i8.h"
#include "tensor/quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

enum { WAY_MIXED, WAY_PANELS, WAY_INT, WAY_AUTO };

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
        A[i] = M > 2 && i / lda == 2 ? 0.0f : frand(&s) * 4.0f; /* row 2 all zeros */
    for (int64_t i = 0; i < M * ldc; i++)
        C[i] = C0[i] = (i % ldc) < N ? frand(&s) : GUARD;
    if (way == WAY_MIXED)
        tf__i8_gemm_mixed(M, N, K, A, lda, P, ps, accumulate, C, ldc);
    else if (way == WAY_PANELS)
        tf__i8_gemm_panels(M, N, K, A, lda, P, ps, accumulate, C, ldc, work);
    else if (way == WAY_INT)
        tf__i8_gemm_int(M, N, K, A, lda, P, ps, accumulate, C, ldc, work);
    else
        tf__i8_gemm(M, N, K, A, lda, P, ps, accumulate, C, ldc, work);
    const int integer = way == WAY_INT || (way == WAY_AUTO && tf__i8_integer());
    for (int64_t m = 0; m < M; m++) {
        /* The integer products' activation codes, by the rule of gemm_i8.h. */
        double amax = 0.0;
        for (int64_t k = 0; k < K; k++)
            amax = fmax(amax, fabs((double)A[m * lda + k]));
        const float sa = (float)amax / 127.0f > 0.0f ? (float)amax / 127.0f : FLT_TRUE_MIN,
                    inv = 127.0f / (float)amax;
        for (int64_t n = 0; n < N; n++) {
            double want = accumulate ? (double)C0[m * ldc + n] : 0.0, mag = fabs(want), wsum = 0.0;
            int64_t dot = 0;
            for (int64_t k = 0; k < K; k++) {
                want += (double)A[m * lda + k] * (double)wd[n * K + k];
                mag += fabs((double)A[m * lda + k] * (double)wd[n * K + k]);
                wsum += fabs((double)wd[n * K + k]);
                if (amax > 0.0)
                    dot += (int64_t)rintf(isinf(inv) ? A[m * lda + k] / sa : A[m * lda + k] * inv) * q[n * K + k];
            }
            double tol = 4e-7 * mag * sqrt((double)K + 1) + 1e-30;
            if (integer) {
                /* the sums of the codes, to f32 rounding; and the documented bound */
                const double exact = (accumulate ? (double)C0[m * ldc + n] : 0.0) +
                                     (amax > 0.0 ? (double)dot * sa * scale[n] : 0.0);
                const double got = C[m * ldc + n];
                if (!(fabs(got - exact) <= 1e-6 * (fabs(exact) + fabs((double)dot * sa * scale[n])) + 1e-30))
                    print_error("M=%lld N=%lld K=%lld acc=%d: C[%lld][%lld] = %.9g, integer sums give %.9g\n",
                                (long long)M, (long long)N, (long long)K, accumulate, (long long)m, (long long)n,
                                got, exact);
                assert_true(fabs(got - exact) <= 1e-6 * (fabs(exact) + fabs((double)dot * sa * scale[n])) + 1e-30);
                tol += sa / 2.0 * wsum * 1.0001;
            }
            const double got = C[m * ldc + n];
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
    static const int64_t Ns[] = {1, 7, 16, 31, 33, 64, 65, 100, 800};
    static const int64_t Ks[] = {1, 2, 3, 5, 8, 200};
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
    for (int v = TF__I8_BASE; v <= TF__I8_VNNI; v++) {
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
    const int v4 = __builtin_cpu_supports("x86-64-v4") > 0;
    assert_int_equal(ran, 1 + (__builtin_cpu_supports("x86-64-v3") > 0) + v4 +
                              (v4 && __builtin_cpu_supports("avx512vnni") > 0));
#endif
}

/* Columns n0..n1-1 of one product (tf__i8_gemm_cols): the bits the whole product gives them, the
 * other columns untouched, on a work buffer of exactly the documented size. */
static void check_cols(int64_t M, int64_t N, int64_t K, int accumulate)
{
    uint32_t s = 11u + (uint32_t)(M * 7 + N * 5 + K + accumulate);
    int8_t *q = malloc((size_t)(N * K)), *P = malloc(tf__i8_packed_bytes(N, K));
    float *scale = malloc(sizeof(float) * (size_t)N), *ps = malloc(sizeof(float) * tf__i8_scale_floats(N));
    float *w = malloc(sizeof(float) * (size_t)(N * K)), *A = malloc(sizeof(float) * (size_t)(M * K));
    float *C0 = malloc(sizeof(float) * (size_t)(M * N)), *full = malloc(sizeof(float) * (size_t)(M * N));
    float *C = malloc(sizeof(float) * (size_t)(M * N)), *big = malloc(sizeof(float) * tf__i8_work_floats(K));
    const size_t wf = M <= TF__I8_MIXED_MAX_ROWS ? tf__i8_row_work_floats(K) : tf__i8_work_floats(K);
    float *work = malloc(sizeof(float) * wf);
    assert_non_null(work);
    for (int64_t i = 0; i < N * K; i++)
        w[i] = frand(&s);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = frand(&s);
    for (int64_t i = 0; i < M * N; i++)
        C0[i] = full[i] = frand(&s);
    assert_int_equal(tf__quantize_rows_i8(w, N, K, q, scale), -1);
    tf__i8_pack(N, K, q, scale, P, ps);
    tf__i8_gemm(M, N, K, A, K, P, ps, accumulate, full, N, big);
    for (int64_t n0 = 0; n0 < N; n0 += TF__I8_PANEL)
        for (int64_t n1 = n0 + TF__I8_PANEL;; n1 += TF__I8_PANEL) {
            const int64_t end = n1 < N ? n1 : N;
            memcpy(C, C0, sizeof(float) * (size_t)(M * N));
            tf__i8_gemm_cols(M, N, K, A, K, P, ps, n0, end, accumulate, C, N, work);
            for (int64_t m = 0; m < M; m++)
                for (int64_t n = 0; n < N; n++) {
                    const float want = n >= n0 && n < end ? full[m * N + n] : C0[m * N + n];
                    if (memcmp(&C[m * N + n], &want, sizeof want) != 0)
                        fail_msg("M=%lld N=%lld K=%lld acc=%d columns %lld..%lld: C[%lld][%lld] = %.9g, want %.9g",
                                 (long long)M, (long long)N, (long long)K, accumulate, (long long)n0,
                                 (long long)end, (long long)m, (long long)n, (double)C[m * N + n], (double)want);
                }
            if (end == N)
                break;
        }
    free(q);
    free(P);
    free(scale);
    free(ps);
    free(w);
    free(A);
    free(C0);
    free(full);
    free(C);
    free(big);
    free(work);
}

/* Every version this CPU runs, rows for the mixed kernel and for panels, whole and partial last
 * panels. */
static void test_gemm_i8_cols_match_whole_product(void **state)
{
    (void)state;
    for (int v = TF__I8_BASE; v <= TF__I8_VNNI; v++) {
        if (tf__i8_force(v) != 0)
            continue;
        for (int acc = 0; acc < 2; acc++) {
            check_cols(1, 208, 13, acc);
            check_cols(1, 800, 200, acc);
            check_cols(3, 100, 7, acc);
            check_cols(6, 130, 20, acc);
        }
    }
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
}

/* The VNNI version quantises each row in vectors: the same codes and scale as the plain C one
 * (the products' bits equal without accumulation), for lengths around the vector width, a row of
 * ties (k + 0.5 steps, rounded to even), a row with a NaN (left out of max |a|) and a subnormal
 * row (the divided way). */
static void test_gemm_i8_vnni_codes_match_plain(void **state)
{
    (void)state;
    if (tf__i8_force(TF__I8_VNNI) != 0) {
        assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
        skip();
    }
    static const int64_t Ks[] = {1, 3, 15, 16, 17, 33, 200, 513};
    const int64_t N = 70;
    uint32_t s = 5u;
    for (size_t i = 0; i < sizeof Ks / sizeof *Ks; i++)
        for (int kind = 0; kind < 3; kind++) {
            const int64_t K = Ks[i];
            int8_t *q = malloc((size_t)(N * K)), *P = malloc(tf__i8_packed_bytes(N, K));
            float *w = malloc(sizeof(float) * (size_t)(N * K)), *scale = malloc(sizeof(float) * (size_t)N);
            float *ps = malloc(sizeof(float) * tf__i8_scale_floats(N)), *a = malloc(sizeof(float) * (size_t)K);
            float *work = malloc(sizeof(float) * tf__i8_row_work_floats(K));
            float c[2][70];
            for (int64_t j = 0; j < N * K; j++)
                w[j] = frand(&s);
            for (int64_t k = 0; k < K; k++) /* kind 1: 127 / max |a| = 1, so a = n + 0.5 are ties */
                a[k] = kind == 0 ? frand(&s) * 3.0f
                       : kind == 1 ? (float)((int64_t)(frand(&s) * 250.0f)) + 0.5f
                                   : frand(&s) * 1e-40f;
            if (kind == 1)
                a[0] = 127.0f;
            if (kind == 0 && K > 2)
                a[K / 2] = NAN;
            assert_int_equal(tf__quantize_rows_i8(w, N, K, q, scale), -1);
            tf__i8_pack(N, K, q, scale, P, ps);
            assert_int_equal(tf__i8_force(TF__I8_VNNI), 0);
            tf__i8_gemm_int(1, N, K, a, K, P, ps, 0, c[0], N, work);
            assert_int_equal(tf__i8_force(TF__I8_BASE), 0);
            tf__i8_gemm_int(1, N, K, a, K, P, ps, 0, c[1], N, work);
            for (int64_t n = 0; n < N; n++)
                if (memcmp(&c[0][n], &c[1][n], sizeof(float)) != 0 && !(isnan(c[0][n]) && isnan(c[1][n])))
                    fail_msg("K=%lld kind %d: column %lld %.9g with VNNI, %.9g plain", (long long)K, kind, (long long)n,
                             (double)c[0][n], (double)c[1][n]);
            free(q);
            free(P);
            free(w);
            free(scale);
            free(ps);
            free(a);
            free(work);
        }
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
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
    int8_t q[15], P[TF__I8_PANEL * 8]; /* K padded to 8 */
    float scale[3], ps[2 * TF__I8_PANEL], wd[15], C[3], work[5 * TF__I8_PANEL];
    const float A[5] = {1e-38f, 1e-38f, 1e-38f, 1e-38f, 1e-38f}, A2[5] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f};
    assert_int_equal(tf__quantize_rows_i8(w, N, K, q, scale), -1);
    assert_true(tf__i8_packed_bytes(N, K) <= sizeof P && tf__i8_scale_floats(N) <= sizeof ps / sizeof *ps);
    tf__dequantize_rows_i8(q, scale, N, K, wd);
    tf__i8_pack(N, K, q, scale, P, ps);
    /* integer products of extreme rows: a subnormal row, huge values; within the bound */
    const float A3[5] = {3e-45f, -1e-45f, 0.0f, 2e-45f, 1e-45f}, A4[5] = {1e38f, -3e38f, 2e38f, 0.5f, 0.0f};
    const float *rows_[2] = {A3, A4};
    for (int r = 0; r < 2; r++) {
        tf__i8_gemm_int(1, N, K, rows_[r], K, P, ps, 0, C, N, work);
        double amax = 0.0;
        for (int64_t k = 0; k < K; k++)
            amax = fmax(amax, fabs((double)rows_[r][k]));
        for (int64_t n = 0; n < N; n++) {
            double want = 0.0, wsum = 0.0;
            for (int64_t k = 0; k < K; k++) {
                want += (double)rows_[r][k] * (double)wd[n * K + k];
                wsum += fabs((double)wd[n * K + k]);
            }
            const double sa = fmax(amax / 127.0, (double)FLT_TRUE_MIN);
            const double bound = sa / 2.0 * wsum * 1.01 + 1e-6 * fabs(want) + 1e-44;
            if (fabs(want) < 1e30 && !(fabs((double)C[n] - want) <= bound)) /* else beyond f32 */
                print_error("integer row %d n %lld: got %.9g want %.9g bound %.3g\n", r, (long long)n,
                            (double)C[n], want, bound);
            if (fabs(want) < 1e30)
                assert_true(fabs((double)C[n] - want) <= bound);
        }
    }
    for (int way = WAY_MIXED; way <= WAY_PANELS; way++) { /* f32 products */
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
                    print_error("way %d pass %d n %lld: got %.9g want %.9g\n", way, pass, (long long)n,
                                (double)C[n], want);
                assert_true(fabs((double)C[n] - want) <= 1e-6 * mag + 1e-44);
            }
        }
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_i8_every_version_matches_reference),
        cmocka_unit_test(test_gemm_i8_cols_match_whole_product),
        cmocka_unit_test(test_gemm_i8_vnni_codes_match_plain),
        cmocka_unit_test(test_gemm_i8_force_refuses_unknown),
        cmocka_unit_test(test_gemm_i8_extreme_rows),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
