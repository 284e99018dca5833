/* SPDX-License-Identifier: MIT */
/* The vectorised row loops of lib/nn/nn_vec.c against plain C, at every length 1..70 (vector
 * bodies and tails) and over the whole input range of the shifted exponential, at each ISA level
 * the CPU has (the AVX2 level runs on other vectors than the AVX-512 one). */
#include "tf_test.h"
#include "core/isa.h"
#include "nn/nn_internal.h"

#include <math.h>

static void exp_sum_accuracy(void)
{
    static float in[4096], out[4096];
    for (int i = 0; i < 4096; i++)
        in[i] = -90.0f + 90.0f * (float)i / 4095.0f; /* [-90, 0] */
    double sum = tf__vec_exp_sum(out, in, 0.0f, 4096), want = 0.0;
    for (int i = 0; i < 4096; i++) {
        double e = exp((double)in[i]);
        want += e;
        if (in[i] >= -87.0f)
            assert_true(fabs(out[i] - e) <= 4e-7 * e);
        else
            assert_true(out[i] >= 0.0f && out[i] < 2e-38f);
    }
    assert_true(fabs(sum - want) <= 1e-6 * want);
    assert_true(fabs(tf__vec_exp_sum_only(in, 0.0f, 4096) - want) <= 1e-6 * want); /* 16 blocks */
    /* Shift and in-place use. */
    for (int i = 0; i < 100; i++)
        out[i] = (float)i * 0.01f;
    sum = tf__vec_exp_sum(out, out, 1.0f, 100);
    want = 0.0;
    for (int i = 0; i < 100; i++) {
        double e = exp((double)((float)i * 0.01f) - 1.0);
        want += e;
        assert_true(fabs(out[i] - e) <= 4e-7 * e);
    }
    assert_true(fabs(sum - want) <= 1e-6 * want);
}

static void max_add_scale_all_lengths(void)
{
    float x[70], acc[70], ref[70];
    for (int n = 1; n <= 70; n++) {
        for (int i = 0; i < n; i++) {
            x[i] = (float)sin(i * 1.7 + n);
            acc[i] = ref[i] = (float)i;
        }
        const int at = (n * 7 + n / 2) % n; /* the maximum sits anywhere, tails included */
        x[at] = 3.0f + (float)n;
        assert_true(tf__vec_max(x, n) == 3.0f + (float)n);
        /* x + b, then its maximum: at `at` unless b moves it. */
        float y[70], b[70];
        for (int i = 0; i < n; i++) {
            y[i] = x[i];
            b[i] = (float)cos(i * 0.3);
        }
        b[(at + 1) % n] = 100.0f; /* now the largest sum sits one further on */
        const float m = tf__vec_add_max(y, b, n);
        float want = x[0] + b[0];
        for (int i = 0; i < n; i++) {
            assert_true(y[i] == x[i] + b[i]);
            want = y[i] > want ? y[i] : want;
        }
        assert_true(m == want);
        assert_true(n == 1 || m == x[(at + 1) % n] + 100.0f);
        float z[70];
        for (int i = 0; i < n; i++)
            z[i] = (float)i;
        tf__vec_axpy(z, -0.25f, x, n);
        for (int i = 0; i < n; i++)
            assert_true(fabsf(z[i] - ((float)i - 0.25f * x[i])) <= 1e-6f * (1.0f + fabsf(z[i])));
        tf__vec_add(acc, x, n);
        for (int i = 0; i < n; i++)
            assert_true(acc[i] == ref[i] + x[i]);
        tf__vec_scale(acc, 0.5f, n);
        for (int i = 0; i < n; i++)
            assert_true(acc[i] == (ref[i] + x[i]) * 0.5f);
        float e[70];
        double s = tf__vec_exp_sum(e, x, 3.0f + (float)n, n), w = 0.0;
        assert_true(tf__vec_exp_sum_only(x, 3.0f + (float)n, n) == s); /* one block: the same sum */
        for (int i = 0; i < n; i++)
            w += exp((double)x[i] - 3.0 - n);
        assert_true(fabs(s - w) <= 1e-6 * w);
    }
}

/* Each level this CPU has, forced in turn: fn at all of them. */
static void at_every_level(void (*fn)(void))
{
    const int best = tf__isa_best(), levels[] = {0, 3, 4};
    int ran = 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
        if (levels[l] <= best) {
            tf__vec_level_force(levels[l]);
            fn();
            ran++;
        }
    tf__vec_level_force(-1);
    assert_true(ran >= 1 && (best == 0 || best == 3 || best == 4));
}

static void test_exp_sum_accuracy(void **state)
{
    (void)state;
    at_every_level(exp_sum_accuracy);
}

static void test_max_add_scale_all_lengths(void **state)
{
    (void)state;
    at_every_level(max_add_scale_all_lengths);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_sum_accuracy),
        cmocka_unit_test(test_max_add_scale_all_lengths),
    };
    return TF_TEST_RUN(tests);
}
