/* SPDX-License-Identifier: MIT */
/* Ten-step parity with torch.optim 1.13 (fixtures from tests/reference/gen_optim_fixtures.py),
 * schedules against torch's schedulers and clipping against torch.nn.utils.clip_grad_norm_.
 *
 * Tolerance: |got - want| <= 1e-6 * |want| + 2e-7 per element after each of the 10 steps. The
 * arithmetic is f32 in ATen's order; the remaining differences are 1-2 ulp from ATen's use of FMA
 * in its vectorised kernels. The parameters are O(1), so the absolute term (under 2 ulp of 1.0)
 * covers elements that pass near zero, where those ulps of the O(1) operands dominate. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-6
#define ATOL 2e-7
#define NPARAM 3

static const char *const names[NPARAM] = {"a.weight", "b.weight", "b.bias"};

static void run_parity(tf_ctx_t *ctx, const char *file)
{
    tf_fixture_t *fx = tf_fixture_load(file);
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt;
    tf_tensor_t *p[NPARAM], *g[NPARAM];
    char key[64];
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.algorithm = (int32_t)tf_fixture_scalar(fx, "alg");
    o.lr = tf_fixture_scalar(fx, "lr");
    o.momentum = tf_fixture_scalar(fx, "momentum");
    o.dampening = tf_fixture_scalar(fx, "dampening");
    o.nesterov = (int32_t)tf_fixture_scalar(fx, "nesterov");
    o.weight_decay = tf_fixture_scalar(fx, "weight_decay");
    o.beta1 = tf_fixture_scalar(fx, "beta1");
    o.beta2 = tf_fixture_scalar(fx, "beta2");
    o.eps = tf_fixture_scalar(fx, "eps");
    o.amsgrad = (int32_t)tf_fixture_scalar(fx, "amsgrad");
    o.schedule = (int32_t)tf_fixture_scalar(fx, "schedule");
    const int steps = (int)tf_fixture_scalar(fx, "steps");
    const int frozen = (int)tf_fixture_scalar(fx, "frozen");
    if (o.schedule != TF_OPTIMIZER_SCHED_CONSTANT)
        o.total_steps = steps;
    assert_ok(tf_optimizer_create(&opt, ctx, &o));
    for (int j = 0; j < NPARAM; j++) {
        int64_t dims[4], n;
        uint32_t nd;
        snprintf(key, sizeof key, "%s.init", names[j]);
        tf_fixture_shape(fx, key, dims, &nd);
        const float *init = tf_fixture_f32(fx, key, &n);
        assert_ok(tf_tensor_create(&p[j], ctx, TF_DTYPE_F32, dims, nd));
        assert_ok(tf_tensor_create(&g[j], ctx, TF_DTYPE_F32, dims, nd));
        assert_ok(tf_tensor_copy_from(p[j], init, (size_t)n * sizeof(float)));
        if (j == frozen)
            assert_ok(tf_tensor_set_requires_grad(p[j], 0));
        assert_ok(tf_optimizer_add_param(opt, names[j], p[j], g[j]));
    }
    if (tf_fixture_scalar(fx, "has_groups") != 0.0)
        assert_ok(tf_optimizer_add_group(opt, "b.", tf_fixture_scalar(fx, "group_b_lr_mult"),
                                         tf_fixture_scalar(fx, "group_b_wd")));
    for (int t = 0; t < steps; t++) {
        for (int j = 0; j < NPARAM; j++) {
            int64_t n = tf_tensor_numel(g[j]), total;
            snprintf(key, sizeof key, "%s.grads", names[j]);
            const float *grads = tf_fixture_f32(fx, key, &total);
            assert_int_equal(total, n * steps);
            assert_ok(tf_tensor_copy_from(g[j], grads + t * n, (size_t)n * sizeof(float)));
        }
        assert_ok(tf_optimizer_step(opt));
        for (int j = 0; j < NPARAM; j++) {
            int64_t n = tf_tensor_numel(p[j]), total;
            char what[128];
            snprintf(key, sizeof key, "%s.after", names[j]);
            const float *after = tf_fixture_f32(fx, key, &total);
            snprintf(what, sizeof what, "%s: %s after step %d", file, names[j], t + 1);
            if (j == frozen) {
                int64_t n0;
                snprintf(key, sizeof key, "%s.init", names[j]);
                const float *init = tf_fixture_f32(fx, key, &n0);
                assert_memory_equal(tf_tensor_data(p[j]), init, (size_t)n0 * sizeof(float));
            }
            tf_assert_close_f32(what, tf_tensor_data(p[j]), after + t * n, n, RTOL, ATOL);
        }
    }
    assert_int_equal(tf_optimizer_num_steps(opt), steps);
    tf_optimizer_free(opt);
    for (int j = 0; j < NPARAM; j++) {
        tf_tensor_free(p[j]);
        tf_tensor_free(g[j]);
    }
    tf_fixture_free(fx);
}

static void test_parity_sgd_plain(void **state)
{
    run_parity(*state, "optim_sgd_plain.tfx");
}

static void test_parity_sgd_plain_wd(void **state)
{
    run_parity(*state, "optim_sgd_plain_wd.tfx");
}

static void test_parity_sgd_momentum(void **state)
{
    run_parity(*state, "optim_sgd_momentum.tfx");
}

static void test_parity_sgd_nesterov(void **state)
{
    run_parity(*state, "optim_sgd_nesterov.tfx");
}

static void test_parity_sgd_wd(void **state)
{
    run_parity(*state, "optim_sgd_wd.tfx");
}

static void test_parity_sgd_onecycle(void **state)
{
    run_parity(*state, "optim_sgd_onecycle.tfx");
}

static void test_parity_adam(void **state)
{
    run_parity(*state, "optim_adam.tfx");
}

static void test_parity_adam_wd(void **state)
{
    run_parity(*state, "optim_adam_wd.tfx");
}

static void test_parity_adam_amsgrad(void **state)
{
    run_parity(*state, "optim_adam_amsgrad.tfx");
}

static void test_parity_adamw(void **state)
{
    run_parity(*state, "optim_adamw.tfx");
}

static void test_parity_adamw_amsgrad(void **state)
{
    run_parity(*state, "optim_adamw_amsgrad.tfx");
}

static void test_parity_adamw_frozen(void **state)
{
    run_parity(*state, "optim_adamw_frozen.tfx");
}

static void test_parity_adamw_groups(void **state)
{
    run_parity(*state, "optim_adamw_groups.tfx");
}

/* The rate queried before each step against torch's scheduler (get_last_lr before step). */
static void
check_schedule(tf_ctx_t *ctx, const tf_optimizer_opts_t *o, const double *want, int64_t n)
{
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_create(&opt, ctx, o));
    for (int64_t t = 0; t < n; t++) {
        double got = tf_optimizer_lr(opt);
        if (fabs(got - want[t]) > 1e-12 + 1e-12 * fabs(want[t]))
            fail_msg("step %lld: lr %.17g, torch %.17g", (long long)t, got, want[t]);
        assert_ok(tf_optimizer_step(opt)); /* no parameters: only the counter moves */
    }
    tf_optimizer_free(opt);
}

static void test_schedule_cosine_matches_torch(void **state)
{
    tf_fixture_t *fx = tf_fixture_load("optim_sched.tfx");
    tf_optimizer_opts_t o;
    int64_t n;
    const double *want = tf_fixture_f64(fx, "cosine.lr", &n);
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.lr = 0.1;
    o.schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    o.total_steps = 20;
    o.warmup_steps = 0;
    o.min_lr_ratio = 0.005 / 0.1;
    check_schedule(*state, &o, want, n);
    tf_fixture_free(fx);
}

static void test_schedule_one_cycle_matches_torch(void **state)
{
    tf_fixture_t *fx = tf_fixture_load("optim_sched.tfx");
    tf_optimizer_opts_t o;
    int64_t n;
    const double *want = tf_fixture_f64(fx, "onecycle.lr", &n);
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.lr = 0.1;
    o.schedule = TF_OPTIMIZER_SCHED_ONE_CYCLE;
    o.total_steps = 50; /* defaults: pct_start 0.3, div_factor 25, final_div_factor 1e4 */
    check_schedule(*state, &o, want, n);
    tf_fixture_free(fx);
}

static void run_clip(tf_ctx_t *ctx, const char *c)
{
    tf_fixture_t *fx = tf_fixture_load("optim_clip.tfx");
    tf_optimizer_t *opt;
    tf_tensor_t *p[NPARAM], *g[NPARAM];
    char key[96];
    assert_ok(tf_optimizer_create(&opt, ctx, NULL));
    for (int j = 0; j < NPARAM; j++) {
        int64_t dims[4], n;
        uint32_t nd;
        snprintf(key, sizeof key, "%s.%s.before", c, names[j]);
        tf_fixture_shape(fx, key, dims, &nd);
        const float *before = tf_fixture_f32(fx, key, &n);
        assert_ok(tf_tensor_create(&p[j], ctx, TF_DTYPE_F32, dims, nd));
        assert_ok(tf_tensor_create(&g[j], ctx, TF_DTYPE_F32, dims, nd));
        assert_ok(tf_tensor_copy_from(g[j], before, (size_t)n * sizeof(float)));
        assert_ok(tf_optimizer_add_param(opt, names[j], p[j], g[j]));
    }
    snprintf(key, sizeof key, "%s.max_norm", c);
    double max_norm = tf_fixture_scalar(fx, key), norm = -1.0;
    snprintf(key, sizeof key, "%s.norm", c);
    double want = tf_fixture_scalar(fx, key);
    assert_ok(tf_optimizer_clip_grad_norm(opt, max_norm, &norm));
    if (fabs(norm - want) > 1e-6 * want)
        fail_msg("%s: norm %.9g, torch %.9g", c, norm, want);
    assert_true(tf_optimizer_last_grad_norm(opt) == norm);
    for (int j = 0; j < NPARAM; j++) {
        int64_t n;
        snprintf(key, sizeof key, "%s.%s.after", c, names[j]);
        const float *after = tf_fixture_f32(fx, key, &n);
        tf_assert_close_f32(key, tf_tensor_data(g[j]), after, n, 1e-6, 1e-8);
    }
    tf_optimizer_free(opt);
    for (int j = 0; j < NPARAM; j++) {
        tf_tensor_free(p[j]);
        tf_tensor_free(g[j]);
    }
    tf_fixture_free(fx);
}

static void test_clip_matches_torch(void **state)
{
    run_clip(*state, "clip");
}

static void test_clip_below_max_matches_torch(void **state)
{
    run_clip(*state, "noclip");
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_parity_sgd_plain),
        T(test_parity_sgd_plain_wd),
        T(test_parity_sgd_momentum),
        T(test_parity_sgd_nesterov),
        T(test_parity_sgd_wd),
        T(test_parity_sgd_onecycle),
        T(test_parity_adam),
        T(test_parity_adam_wd),
        T(test_parity_adam_amsgrad),
        T(test_parity_adamw),
        T(test_parity_adamw_amsgrad),
        T(test_parity_adamw_frozen),
        T(test_parity_adamw_groups),
        T(test_schedule_cosine_matches_torch),
        T(test_schedule_one_cycle_matches_torch),
        T(test_clip_matches_torch),
        T(test_clip_below_max_matches_torch),
    };
    return TF_TEST_RUN(tests);
}
