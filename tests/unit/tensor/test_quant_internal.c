/* SPDX-License-Identifier: MIT */
/* The int8 and half-precision weight formats against numpy (tests/reference/gen_quant_fixtures.py),
 * and the error bounds of their round trips. */
#include "tf_test.h"
#include "tf_fixture.h"
#include "tensor/quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_quant_f16_from_f32_matches_numpy(void **state)
{
    (void)state;
    tf_fixture_t *fx = tf_fixture_load("quant.tfx");
    int64_t n, nb;
    const float *in = tf_fixture_f32(fx, "f16_in", &n);
    const int32_t *want = tf_fixture_i32(fx, "f16_bits", &nb);
    assert_int_equal(n, nb);
    assert_true(n > 500);
    for (int64_t i = 0; i < n; i++) {
        uint16_t got = tf__f32_to_f16(in[i]);
        if (got != (uint16_t)want[i])
            print_error("f16_in[%lld] = %.9g (0x%08x): got 0x%04x, numpy 0x%04x\n", (long long)i,
                        (double)in[i], bits_of(in[i]), got, (unsigned)want[i]);
        assert_int_equal(got, (uint16_t)want[i]);
    }
    tf_fixture_free(fx);
}

static void test_quant_f16_to_f32_matches_numpy(void **state)
{
    (void)state;
    tf_fixture_t *fx = tf_fixture_load("quant.tfx");
    int64_t n, nv;
    const int32_t *h = tf_fixture_i32(fx, "h_bits", &n);
    const float *want = tf_fixture_f32(fx, "h_f32", &nv);
    assert_int_equal(n, nv);
    for (int64_t i = 0; i < n; i++) {
        float got = tf__f16_to_f32((uint16_t)h[i]);
        if (bits_of(got) != bits_of(want[i]))
            print_error("half 0x%04x: got %.9g, numpy %.9g\n", (unsigned)h[i], (double)got,
                        (double)want[i]);
        assert_int_equal(bits_of(got), bits_of(want[i]));
    }
    tf_fixture_free(fx);
}

/* Every finite half survives f16 -> f32 -> f16 unchanged (both directions at once, exhaustive). */
static void test_quant_f16_every_half_round_trips(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tf__f16_to_f32((uint16_t)h);
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0) {
            assert_true(isnan(f));
            continue;
        }
        assert_int_equal(tf__f32_to_f16(f), h);
    }
}

static void test_quant_f16_nan_inf_and_overflow(void **state)
{
    (void)state;
    uint16_t h = tf__f32_to_f16(NAN);
    assert_int_equal(h & 0x7c00u, 0x7c00u);
    assert_true((h & 0x3ffu) != 0);
    assert_true(isnan(tf__f16_to_f32(h)));
    assert_int_equal(tf__f32_to_f16(-NAN) & 0x8000u, 0x8000u);
    /* a signalling NaN whose payload sits only in the low bits still stays a NaN */
    assert_true(isnan(tf__f16_to_f32(tf__f32_to_f16(float_of(0x7f800001u)))));
    assert_int_equal(tf__f32_to_f16(INFINITY), 0x7c00u);
    assert_int_equal(tf__f32_to_f16(-INFINITY), 0xfc00u);
    const float v[4] = {1.0f, 65504.0f, 70000.0f, -1e30f};
    uint16_t out[4];
    assert_int_equal(tf__f32_to_f16_n(v, out, 4), 2);
    assert_int_equal(out[1], 0x7bffu);
    assert_int_equal(out[3], 0xfc00u);
    const float inf[2] = {INFINITY, 2.0f};
    assert_int_equal(tf__f32_to_f16_n(inf, out, 2), -1); /* already infinite: not an overflow */
    float back[4];
    tf__f16_to_f32_n(out, back, 2);
    assert_true(isinf(back[0]) && back[1] == 2.0f);
}

/* Rounding to f16 is within half a unit in the last place: relative 2^-11 for normals. */
static void test_quant_f16_error_bound(void **state)
{
    (void)state;
    uint32_t seed = 12345u;
    for (int i = 0; i < 100000; i++) {
        seed = seed * 1664525u + 1013904223u;
        float x = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 8.0f;
        float y = tf__f16_to_f32(tf__f32_to_f16(x));
        float bound = fabsf(x) >= 6.103515625e-05f ? fabsf(x) * 0x1p-11f : 0x1p-25f;
        assert_true(fabsf(y - x) <= bound);
    }
}

static void test_quant_i8_matches_numpy(void **state)
{
    (void)state;
    tf_fixture_t *fx = tf_fixture_load("quant.tfx");
    int64_t dims[4];
    uint32_t nd;
    tf_fixture_shape(fx, "i8_x", dims, &nd);
    assert_int_equal(nd, 2);
    const int64_t R = dims[0], C = dims[1];
    const float *x = tf_fixture_f32(fx, "i8_x", NULL);
    const int32_t *wq = tf_fixture_i32(fx, "i8_q", NULL);
    const float *ws = tf_fixture_f32(fx, "i8_scale", NULL);
    const float *wd = tf_fixture_f32(fx, "i8_deq", NULL);
    int8_t *q = malloc((size_t)(R * C));
    float *s = malloc((size_t)R * sizeof *s), *d = malloc((size_t)(R * C) * sizeof *d);
    assert_non_null(q);
    assert_non_null(s);
    assert_non_null(d);
    assert_int_equal(tf__quantize_rows_i8(x, R, C, q, s), -1);
    for (int64_t r = 0; r < R; r++) {
        assert_int_equal(bits_of(s[r]), bits_of(ws[r]));
        for (int64_t j = 0; j < C; j++) {
            if (q[r * C + j] != wq[r * C + j])
                print_error("row %lld col %lld: x %.9g q %d, numpy %d\n", (long long)r,
                            (long long)j, (double)x[r * C + j], q[r * C + j], wq[r * C + j]);
            assert_int_equal(q[r * C + j], wq[r * C + j]);
        }
    }
    assert_true(s[3] == FLT_TRUE_MIN); /* the subnormal row */
    assert_true(s[2] == 0.0f);         /* the zero row */
    tf__dequantize_rows_i8(q, s, R, C, d);
    for (int64_t i = 0; i < R * C; i++) {
        assert_int_equal(bits_of(d[i]), bits_of(wd[i]));
        /* and the rule's bound: at most half a step from the input */
        int64_t r = i / C;
        assert_true(fabsf(d[i] - x[i]) <= s[r] * 0.5f * (1.0f + 1e-6f) + FLT_TRUE_MIN);
    }
    free(q);
    free(s);
    free(d);
    tf_fixture_free(fx);
}

/* The largest magnitude of each row maps to +-127 and comes back exactly (up to the rounding of
 * max / 127 * 127); a non-finite row is reported and zeroed, the others still filled. */
static void test_quant_i8_extremes_and_nonfinite(void **state)
{
    (void)state;
    float x[3][4] = {{0.5f, -2.0f, 1.0f, 0.0f}, {1.0f, NAN, 2.0f, 3.0f}, {-7.0f, 7.0f, 3.5f, 0.0f}};
    int8_t q[12];
    float s[3];
    assert_int_equal(tf__quantize_rows_i8(&x[0][0], 3, 4, q, s), 1);
    assert_int_equal(q[1], -127);
    assert_int_equal(q[4] | q[5] | q[6] | q[7], 0);
    assert_true(s[1] == 0.0f);
    assert_int_equal(q[8], -127);
    assert_int_equal(q[9], 127);
    assert_int_equal(q[10], 64); /* 63.5 ties to even */
    float inf_row[2] = {INFINITY, 1.0f};
    assert_int_equal(tf__quantize_rows_i8(inf_row, 1, 2, q, s), 0);
    float big[2] = {FLT_MAX, -FLT_MAX};
    assert_int_equal(tf__quantize_rows_i8(big, 1, 2, q, s), -1);
    assert_int_equal(q[0], 127);
    assert_int_equal(q[1], -127);
    float back[2];
    tf__dequantize_rows_i8(q, s, 1, 2, back);
    assert_true(isfinite(back[0]) && fabsf(back[0] - FLT_MAX) <= FLT_MAX * 1e-6f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_f16_from_f32_matches_numpy),
        cmocka_unit_test(test_quant_f16_to_f32_matches_numpy),
        cmocka_unit_test(test_quant_f16_every_half_round_trips),
        cmocka_unit_test(test_quant_f16_nan_inf_and_overflow),
        cmocka_unit_test(test_quant_f16_error_bound),
        cmocka_unit_test(test_quant_i8_matches_numpy),
        cmocka_unit_test(test_quant_i8_extremes_and_nonfinite),
    };
    return TF_TEST_RUN(tests);
}
