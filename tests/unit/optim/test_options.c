/* SPDX-License-Identifier: MIT */
/* Bad options and bad arguments: each gives a clear status and message and changes nothing. */
#include "tf_test.h"

#include <math.h>
#include <string.h>

static void init(tf_optimizer_opts_t *o)
{
    assert_ok(tf_optimizer_opts_init(o, TF_OPTIMIZER_OPTS_VERSION));
}

/* Creation with `o` fails with `want`, a message naming the function and `needle`, and no
 * object is left behind. */
static void
expect_bad(tf_ctx_t *ctx, const tf_optimizer_opts_t *o, tf_status_t want, const char *needle)
{
    tf_optimizer_t *opt = (tf_optimizer_t *)ctx;
    assert_status(tf_optimizer_create(&opt, ctx, o), want);
    assert_null(opt);
    const char *msg = tf_last_error_message();
    if (strstr(msg, "tf_optimizer_create") == NULL || strstr(msg, needle) == NULL)
        fail_msg("message '%s' should name tf_optimizer_create and '%s'", msg, needle);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
}

static void test_opts_init_defaults_and_versions(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt;
    init(&o);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.algorithm, TF_OPTIMIZER_ADAMW);
    assert_true(o.lr == 1e-3 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
    assert_true(o.pct_start == 0.3 && o.div_factor == 25.0 && o.final_div_factor == 1e4);
    assert_true(o.cut_frac == 0.1 && o.ratio == 32.0);
    assert_status(tf_optimizer_opts_init(NULL, TF_OPTIMIZER_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_opts_init(&o, 0), TF_STATUS_EVERSION);
    assert_status(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION + 1), TF_STATUS_EVERSION);
    /* NULL options: the defaults. */
    assert_ok(tf_optimizer_create(&opt, ctx, NULL));
    assert_true(tf_optimizer_lr(opt) == 1e-3);
    tf_optimizer_free(opt);
    tf_optimizer_free(NULL);
    init(&o);
    o.version = TF_OPTIMIZER_OPTS_VERSION + 1;
    expect_bad(ctx, &o, TF_STATUS_EVERSION, "version");
    init(&o);
    o.struct_size = 8;
    expect_bad(ctx, &o, TF_STATUS_EINVAL, "struct_size");
    assert_status(tf_optimizer_create(NULL, ctx, NULL), TF_STATUS_EINVAL);
    opt = (tf_optimizer_t *)ctx;
    assert_status(tf_optimizer_create(&opt, NULL, NULL), TF_STATUS_EINVAL);
    assert_null(opt);
}

static void test_create_rejects_bad_algorithm(void **state)
{
    tf_optimizer_opts_t o;
    init(&o);
    o.algorithm = 0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "algorithm 0");
    o.algorithm = 4;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "algorithm 4");
}

static void test_create_rejects_bad_lr(void **state)
{
    tf_optimizer_opts_t o;
    init(&o);
    o.lr = -0.1;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "lr");
    o.lr = NAN;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "lr");
    o.lr = INFINITY;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "lr");
    o.lr = 0.0; /* allowed */
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_create(&opt, *state, &o));
    tf_optimizer_free(opt);
}

static void test_create_rejects_bad_betas_and_eps(void **state)
{
    tf_optimizer_opts_t o;
    init(&o);
    o.beta1 = 1.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "beta1");
    o.beta1 = -0.1;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "beta1");
    o.beta1 = NAN;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "beta1");
    init(&o);
    o.beta2 = 1.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "beta2");
    o.beta2 = -1e-9;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "beta2");
    init(&o);
    o.eps = 0.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "eps");
    o.eps = -1e-8;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "eps");
    o.eps = INFINITY;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "eps");
    init(&o);
    o.amsgrad = 2;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "amsgrad");
}

static void test_create_rejects_bad_momentum_and_decay(void **state)
{
    tf_optimizer_opts_t o;
    init(&o);
    o.algorithm = TF_OPTIMIZER_SGD;
    o.momentum = -0.5;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "momentum");
    o.momentum = 0.0;
    o.nesterov = 1;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "Nesterov");
    o.momentum = 0.9;
    o.dampening = 0.1;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "Nesterov");
    o.dampening = NAN;
    o.nesterov = 0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "dampening");
    o.dampening = 0.0;
    o.nesterov = 2;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "nesterov");
    init(&o);
    o.weight_decay = -0.01;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "weight_decay");
    o.weight_decay = NAN;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "weight_decay");
    init(&o);
    o.max_grad_norm = -1.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "max_grad_norm");
    o.max_grad_norm = INFINITY;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "max_grad_norm");
}

static void test_create_rejects_bad_schedule(void **state)
{
    tf_optimizer_opts_t o;
    init(&o);
    o.schedule = 5;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "schedule 5");
    o.schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    o.total_steps = 0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "total_steps");
    o.total_steps = 10;
    o.warmup_steps = 11;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "warmup_steps");
    o.warmup_steps = -1;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "warmup_steps");
    o.warmup_steps = 2;
    o.min_lr_ratio = 1.5;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "min_lr_ratio");
    init(&o);
    o.schedule = TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR;
    o.total_steps = 100;
    o.cut_frac = 0.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "cut_frac");
    o.cut_frac = 1.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "cut_frac");
    o.cut_frac = 0.1;
    o.ratio = 0.5;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "ratio");
    o.ratio = 32.0;
    o.total_steps = 5; /* 5 * 0.1 < 1 rising step */
    expect_bad(*state, &o, TF_STATUS_EINVAL, "cut_frac");
    init(&o);
    o.schedule = TF_OPTIMIZER_SCHED_ONE_CYCLE;
    o.total_steps = 100;
    o.pct_start = 0.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "pct_start");
    o.pct_start = 0.3;
    o.div_factor = 0.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "div_factor");
    o.div_factor = 25.0;
    o.final_div_factor = -1.0;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "final_div_factor");
    o.final_div_factor = 1e4;
    o.total_steps = 2;
    expect_bad(*state, &o, TF_STATUS_EINVAL, "phase");
}

static void test_add_param_rejects_bad_tensors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_t *opt;
    tf_tensor_t *p, *g, *p2, *g2, *gi, *gs;
    const int64_t s[2] = {2, 3}, s2[2] = {3, 2};
    assert_ok(tf_optimizer_create(&opt, ctx, NULL));
    assert_ok(tf_tensor_create(&p, ctx, TF_DTYPE_F32, s, 2));
    assert_ok(tf_tensor_create(&g, ctx, TF_DTYPE_F32, s, 2));
    assert_ok(tf_tensor_create(&p2, ctx, TF_DTYPE_F32, s, 2));
    assert_ok(tf_tensor_create(&g2, ctx, TF_DTYPE_F32, s, 2));
    assert_ok(tf_tensor_create(&gi, ctx, TF_DTYPE_I32, s, 2));
    assert_ok(tf_tensor_create(&gs, ctx, TF_DTYPE_F32, s2, 2));
    assert_status(tf_optimizer_add_param(NULL, "w", p, g), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, NULL, p, g), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, "w", NULL, g), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, "w", p, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, "", p, g), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, "w", p, p), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_param(opt, "w", p, gi), TF_STATUS_EDTYPE);
    assert_non_null(strstr(tf_last_error_message(), "tf_optimizer_add_param"));
    assert_status(tf_optimizer_add_param(opt, "w", p, gs), TF_STATUS_ESHAPE);
    assert_non_null(strstr(tf_last_error_message(), "'w'"));
    assert_int_equal(tf_optimizer_num_params(opt), 0);
    assert_ok(tf_optimizer_add_param(opt, "w", p, g));
    assert_status(tf_optimizer_add_param(opt, "w", p2, g2), TF_STATUS_EINVAL); /* duplicate name */
    assert_status(tf_optimizer_add_param(opt, "v", p, g2), TF_STATUS_EINVAL);  /* same tensor */
    assert_status(tf_optimizer_add_param(opt, "v", p2, g), TF_STATUS_EINVAL);
    assert_int_equal(tf_optimizer_num_params(opt), 1);
    assert_ok(tf_optimizer_step(opt));
    /* Adding after the first step is refused (the state fingerprint is fixed by then). */
    assert_status(tf_optimizer_add_param(opt, "v", p2, g2), TF_STATUS_ESTATE);
    assert_int_equal(tf_optimizer_num_params(opt), 1);
    tf_optimizer_free(opt);
    tf_tensor_free(p);
    tf_tensor_free(g);
    tf_tensor_free(p2);
    tf_tensor_free(g2);
    tf_tensor_free(gi);
    tf_tensor_free(gs);
}

static void test_group_calls_reject_bad_arguments(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_t *opt;
    tf_tensor_t *p, *g;
    const int64_t s[1] = {4};
    double lr = 0.0;
    assert_ok(tf_optimizer_create(&opt, ctx, NULL));
    assert_ok(tf_tensor_create(&p, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_tensor_create(&g, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_optimizer_add_param(opt, "lstm.weight_ih_l0", p, g));
    assert_status(tf_optimizer_add_group(opt, "head.", 1.0, 0.0), TF_STATUS_ENOTFOUND);
    assert_non_null(strstr(tf_last_error_message(), "'head.'"));
    assert_status(tf_optimizer_add_group(opt, "lstm.", -1.0, 0.0), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(opt, "lstm.", NAN, 0.0), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(opt, "lstm.", 1.0, -0.1), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(opt, "lstm.", 1.0, INFINITY), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(opt, "", 1.0, 0.0), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(opt, NULL, 1.0, 0.0), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_add_group(NULL, "lstm.", 1.0, 0.0), TF_STATUS_EINVAL);
    const char *good[2] = {"lstm.", "lstm.weight"};
    const char *bad[2] = {"lstm.", "embedding."};
    const char *dup[2] = {"lstm.", "lstm."};
    assert_status(tf_optimizer_set_discriminative(opt, bad, 2, 2.6), TF_STATUS_ENOTFOUND);
    assert_non_null(strstr(tf_last_error_message(), "'embedding.'"));
    assert_status(tf_optimizer_set_discriminative(opt, dup, 2, 2.6), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_set_discriminative(opt, good, 0, 2.6), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_set_discriminative(opt, good, 2, 0.0), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_set_discriminative(opt, good, 2, NAN), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_set_discriminative(opt, NULL, 2, 2.6), TF_STATUS_EINVAL);
    /* Nothing changed: the parameter still runs at the base rate. */
    assert_ok(tf_optimizer_param_lr(opt, "lstm.weight_ih_l0", &lr));
    assert_true(lr == 1e-3);
    assert_status(tf_optimizer_param_lr(opt, "nope", &lr), TF_STATUS_ENOTFOUND);
    assert_status(tf_optimizer_clip_grad_norm(opt, 0.0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_clip_grad_norm(opt, -1.0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_clip_grad_norm(opt, NAN, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_clip_grad_norm(NULL, 1.0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_step(NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_zero_grad(NULL), TF_STATUS_EINVAL);
    tf_optimizer_free(opt);
    tf_tensor_free(p);
    tf_tensor_free(g);
}

static void test_null_getters(void **state)
{
    (void)state;
    assert_true(tf_optimizer_lr(NULL) == 0.0);
    assert_int_equal(tf_optimizer_num_steps(NULL), 0);
    assert_int_equal(tf_optimizer_num_params(NULL), 0);
    assert_true(tf_optimizer_last_grad_norm(NULL) == 0.0);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_opts_init_defaults_and_versions),
        T(test_create_rejects_bad_algorithm),
        T(test_create_rejects_bad_lr),
        T(test_create_rejects_bad_betas_and_eps),
        T(test_create_rejects_bad_momentum_and_decay),
        T(test_create_rejects_bad_schedule),
        T(test_add_param_rejects_bad_tensors),
        T(test_group_calls_reject_bad_arguments),
        cmocka_unit_test(test_null_getters),
    };
    return TF_TEST_RUN(tests);
}
