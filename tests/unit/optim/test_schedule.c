/* SPDX-License-Identifier: MIT */
/* Schedules against closed-form values computed here at chosen steps. */
#include "tf_test.h"

#include <math.h>

static const double pi = 3.14159265358979323846;

static tf_optimizer_t *make(tf_ctx_t *ctx, tf_optimizer_opts_t *o)
{
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_create(&opt, ctx, o));
    return opt;
}

/* Advance to `step` and compare the queried rate. */
static void expect_lr_at(tf_optimizer_t *opt, int64_t step, double want)
{
    while (tf_optimizer_num_steps(opt) < step)
        assert_ok(tf_optimizer_step(opt));
    assert_int_equal(tf_optimizer_num_steps(opt), step);
    double got = tf_optimizer_lr(opt);
    if (fabs(got - want) > 1e-12 * fmax(1.0, fabs(want)))
        fail_msg("step %lld: lr %.17g, want %.17g", (long long)step, got, want);
}

static void base(tf_optimizer_opts_t *o, int32_t schedule, int64_t total)
{
    assert_ok(tf_optimizer_opts_init(o, TF_OPTIMIZER_OPTS_VERSION));
    o->lr = 2.0;
    o->schedule = schedule;
    o->total_steps = total;
}

static void test_constant(void **state)
{
    tf_optimizer_opts_t o;
    base(&o, TF_OPTIMIZER_SCHED_CONSTANT, 0);
    tf_optimizer_t *opt = make(*state, &o);
    expect_lr_at(opt, 0, 2.0);
    expect_lr_at(opt, 7, 2.0);
    expect_lr_at(opt, 1000, 2.0);
    tf_optimizer_free(opt);
}

static void test_warmup_cosine(void **state)
{
    tf_optimizer_opts_t o;
    base(&o, TF_OPTIMIZER_SCHED_WARMUP_COSINE, 100);
    o.warmup_steps = 10;
    o.min_lr_ratio = 0.1;
    tf_optimizer_t *opt = make(*state, &o);
    expect_lr_at(opt, 0, 0.0);
    expect_lr_at(opt, 5, 2.0 * 0.5);
    expect_lr_at(opt, 10, 2.0);
    expect_lr_at(opt, 32, 2.0 * (0.1 + 0.9 * 0.5 * (1.0 + cos(pi * 22.0 / 90.0))));
    expect_lr_at(opt, 55, 2.0 * 0.55);
    expect_lr_at(opt, 100, 2.0 * 0.1);
    expect_lr_at(opt, 130, 2.0 * 0.1);
    tf_optimizer_free(opt);
}

static void test_warmup_linear(void **state)
{
    tf_optimizer_opts_t o;
    base(&o, TF_OPTIMIZER_SCHED_WARMUP_LINEAR, 100);
    o.warmup_steps = 20;
    o.min_lr_ratio = 0.0;
    tf_optimizer_t *opt = make(*state, &o);
    expect_lr_at(opt, 1, 2.0 / 20.0);
    expect_lr_at(opt, 20, 2.0);
    expect_lr_at(opt, 60, 1.0);
    expect_lr_at(opt, 90, 2.0 * 10.0 / 80.0);
    expect_lr_at(opt, 100, 0.0);
    expect_lr_at(opt, 101, 0.0);
    tf_optimizer_free(opt);
}

static void test_slanted_triangular(void **state)
{
    tf_optimizer_opts_t o;
    base(&o, TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR, 1000); /* cut_frac 0.1, ratio 32: cut = 100 */
    tf_optimizer_t *opt = make(*state, &o);
    expect_lr_at(opt, 0, 2.0 / 32.0);
    expect_lr_at(opt, 50, 2.0 * (1.0 + 0.5 * 31.0) / 32.0);
    expect_lr_at(opt, 100, 2.0);
    expect_lr_at(opt, 550, 2.0 * (1.0 + 0.5 * 31.0) / 32.0); /* p = 1 - 450 / 900 */
    expect_lr_at(opt, 1000, 2.0 / 32.0);
    expect_lr_at(opt, 1200, 2.0 / 32.0);
    tf_optimizer_free(opt);
}

static void test_one_cycle(void **state)
{
    tf_optimizer_opts_t o;
    base(&o, TF_OPTIMIZER_SCHED_ONE_CYCLE, 100); /* pct_start 0.3: peak at step 29 */
    tf_optimizer_t *opt = make(*state, &o);
    const double lo = 1.0 / 25.0, fin = lo / 1e4;
    expect_lr_at(opt, 0, 2.0 * lo);
    expect_lr_at(opt, 29, 2.0);
    expect_lr_at(opt, 64, 2.0 * (fin + (1.0 - fin) / 2.0)); /* half-way down: cos(pi/2) = 0 */
    expect_lr_at(opt, 99, 2.0 * fin);
    expect_lr_at(opt, 120, 2.0 * fin);
    tf_optimizer_free(opt);
}

static void test_schedule_applies_to_every_group(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_opts_t o;
    tf_tensor_t *p, *g;
    const int64_t s[1] = {3};
    double lr;
    base(&o, TF_OPTIMIZER_SCHED_WARMUP_LINEAR, 10);
    o.warmup_steps = 4;
    tf_optimizer_t *opt = make(ctx, &o);
    assert_ok(tf_tensor_create(&p, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_tensor_create(&g, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_optimizer_add_param(opt, "enc.w", p, g));
    assert_ok(tf_optimizer_add_group(opt, "enc.", 0.5, 0.0));
    expect_lr_at(opt, 2, 2.0 * 0.5);
    assert_ok(tf_optimizer_param_lr(opt, "enc.w", &lr));
    assert_true(fabs(lr - 2.0 * 0.5 * 0.5) < 1e-15);
    tf_optimizer_free(opt);
    tf_tensor_free(p);
    tf_tensor_free(g);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_constant),           T(test_warmup_cosine), T(test_warmup_linear),
        T(test_slanted_triangular), T(test_one_cycle),     T(test_schedule_applies_to_every_group),
    };
    return TF_TEST_RUN(tests);
}
