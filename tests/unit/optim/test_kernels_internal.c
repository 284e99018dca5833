/* SPDX-License-Identifier: MIT */
/* The vector forms of the Adam kernel (AVX2 when the CPU has it, SSE2, scalar tail) give
 * bit-identical results, so a resumed run never depends on the machine's vector width. */
#include "tf_test.h"
#include "optim/optim_internal.h"

#include <math.h>
#include <string.h>

#define LEN 203 /* not a multiple of 4 or 8: exercises every tail */

static void fill(float *x, int n, double a, double b)
{
    for (int i = 0; i < n; i++)
        x[i] = (float)(a * sin(b * (double)i + 0.3));
}

static void run_case(int decoupled, double wd, int ams)
{
    static float p[2][LEN], g[LEN], m[2][LEN], v[2][LEN], vm[2][LEN];
    fill(g, LEN, 0.7, 1.3);
    for (int k = 0; k < 2; k++) {
        fill(p[k], LEN, 1.0, 0.37);
        memset(m[k], 0, sizeof m[k]);
        memset(v[k], 0, sizeof v[k]);
        memset(vm[k], 0, sizeof vm[k]);
    }
    for (int step = 1; step <= 5; step++) {
        for (int k = 0; k < 2; k++)
            tf__adam_update_isa(p[k], g, m[k], v[k], ams ? vm[k] : NULL, LEN, 0.01, 0.9, 0.999,
                                1e-8, wd, decoupled, step, k);
        fill(g, LEN, 0.5 / step, 0.9 + 0.1 * step);
    }
    assert_memory_equal(p[0], p[1], sizeof p[0]);
    assert_memory_equal(m[0], m[1], sizeof m[0]);
    assert_memory_equal(v[0], v[1], sizeof v[0]);
    assert_memory_equal(vm[0], vm[1], sizeof vm[0]);
}

static void test_adam_forms_bit_identical(void **state)
{
    (void)state;
    for (int decoupled = 0; decoupled < 2; decoupled++)
        for (int ams = 0; ams < 2; ams++) {
            run_case(decoupled, 0.0, ams);
            run_case(decoupled, 0.05, ams);
        }
}

static void test_sumsq_matches_double_loop(void **state)
{
    (void)state;
    float x[LEN];
    fill(x, LEN, 3.0, 0.11);
    double want = 0.0;
    for (int i = 0; i < LEN; i++)
        want += (double)x[i] * x[i];
    assert_true(fabs(tf__sumsq_f32(x, LEN) - want) <= 1e-12 * want);
    assert_true(tf__sumsq_f32(x, 0) == 0.0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_forms_bit_identical),
        cmocka_unit_test(test_sumsq_matches_double_loop),
    };
    return TF_TEST_RUN(tests);
}
