/* SPDX-License-Identifier: MIT */
/* Parameter groups, discriminative rates, frozen parameters, clipping and zeroing. */
#include "tf_test.h"

#include <math.h>
#include <string.h>

#define N 8

typedef struct model {
    tf_tensor_t *p[4], *g[4];
    int count;
} model_t;

static const char *const layer_names[4] = {"head.weight", "lstm.l1.weight", "lstm.l0.weight",
                                           "embedding.weight"};

/* Parameters p_k[i] = 0.5 + 0.1 i - 0.2 k, gradients g_k[i] = 0.3 - 0.05 i + 0.1 k. */
static void model_init(tf_ctx_t *ctx, model_t *m, int count)
{
    const int64_t s[1] = {N};
    m->count = count;
    for (int k = 0; k < count; k++) {
        assert_ok(tf_tensor_create(&m->p[k], ctx, TF_DTYPE_F32, s, 1));
        assert_ok(tf_tensor_create(&m->g[k], ctx, TF_DTYPE_F32, s, 1));
        float *p = tf_tensor_data(m->p[k]), *g = tf_tensor_data(m->g[k]);
        for (int i = 0; i < N; i++) {
            p[i] = 0.5f + 0.1f * (float)i - 0.2f * (float)k;
            g[i] = 0.3f - 0.05f * (float)i + 0.1f * (float)k;
        }
    }
}

static void model_add(tf_optimizer_t *opt, model_t *m)
{
    for (int k = 0; k < m->count; k++)
        assert_ok(tf_optimizer_add_param(opt, layer_names[k], m->p[k], m->g[k]));
}

static void model_free(model_t *m)
{
    for (int k = 0; k < m->count; k++) {
        tf_tensor_free(m->p[k]);
        tf_tensor_free(m->g[k]);
    }
}

static tf_optimizer_t *make_sgd(tf_ctx_t *ctx, double lr, double wd)
{
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.algorithm = TF_OPTIMIZER_SGD;
    o.lr = lr;
    o.weight_decay = wd;
    assert_ok(tf_optimizer_create(&opt, ctx, &o));
    return opt;
}

static void test_groups_give_different_updates(void **state)
{
    tf_ctx_t *ctx = *state;
    model_t m;
    float p0[2][N], g0[2][N];
    model_init(ctx, &m, 2);
    for (int k = 0; k < 2; k++) {
        memcpy(p0[k], tf_tensor_data(m.p[k]), sizeof p0[k]);
        memcpy(g0[k], tf_tensor_data(m.g[k]), sizeof g0[k]);
    }
    tf_optimizer_t *opt = make_sgd(ctx, 0.1, 0.0);
    model_add(opt, &m);
    assert_ok(tf_optimizer_add_group(opt, "lstm.", 0.25, 0.5));
    double lr;
    assert_ok(tf_optimizer_param_lr(opt, "head.weight", &lr));
    assert_true(lr == 0.1);
    assert_ok(tf_optimizer_param_lr(opt, "lstm.l1.weight", &lr));
    assert_true(lr == 0.1 * 0.25);
    assert_ok(tf_optimizer_step(opt));
    /* Hand-computed torch SGD: head p - lr g; lstm group p - lr/4 (g + 0.5 p). */
    const float *ph = tf_tensor_data(m.p[0]), *pl = tf_tensor_data(m.p[1]);
    for (int i = 0; i < N; i++) {
        float want_h = p0[0][i] + (float)-0.1 * g0[0][i];
        float want_l = p0[1][i] + (float)-0.025 * (g0[1][i] + 0.5f * p0[1][i]);
        assert_true(fabsf(ph[i] - want_h) <= 1e-7f);
        assert_true(fabsf(pl[i] - want_l) <= 1e-7f);
        assert_true(fabsf((p0[0][i] - ph[i]) - 0.1f * g0[0][i]) <= 1e-6f);
    }
    /* Updating the group changes its rate; the other parameters keep theirs. */
    assert_ok(tf_optimizer_add_group(opt, "lstm.", 2.0, 0.0));
    assert_ok(tf_optimizer_param_lr(opt, "lstm.l1.weight", &lr));
    assert_true(lr == 0.2);
    tf_optimizer_free(opt);
    model_free(&m);
}

static void test_longest_prefix_wins(void **state)
{
    tf_ctx_t *ctx = *state;
    model_t m;
    double lr;
    model_init(ctx, &m, 4);
    tf_optimizer_t *opt = make_sgd(ctx, 1.0, 0.0);
    assert_ok(tf_optimizer_add_param(opt, layer_names[0], m.p[0], m.g[0]));
    assert_ok(tf_optimizer_add_param(opt, layer_names[1], m.p[1], m.g[1]));
    assert_ok(tf_optimizer_add_group(opt, "lstm.", 0.5, 0.0));
    assert_ok(tf_optimizer_add_group(opt, "lstm.l1.", 0.125, 0.0));
    /* Added after the groups: still matched. */
    assert_ok(tf_optimizer_add_param(opt, layer_names[2], m.p[2], m.g[2]));
    assert_ok(tf_optimizer_param_lr(opt, "lstm.l1.weight", &lr));
    assert_true(lr == 0.125);
    assert_ok(tf_optimizer_param_lr(opt, "lstm.l0.weight", &lr));
    assert_true(lr == 0.5);
    assert_ok(tf_optimizer_param_lr(opt, "head.weight", &lr));
    assert_true(lr == 1.0);
    tf_optimizer_free(opt);
    model_free(&m);
}

static void test_discriminative_rates_are_powers_of_2_6(void **state)
{
    tf_ctx_t *ctx = *state;
    model_t m;
    float p0[4][N], g0[4][N];
    model_init(ctx, &m, 4);
    for (int k = 0; k < 4; k++) {
        memcpy(p0[k], tf_tensor_data(m.p[k]), sizeof p0[k]);
        memcpy(g0[k], tf_tensor_data(m.g[k]), sizeof g0[k]);
    }
    tf_optimizer_t *opt = make_sgd(ctx, 0.01, 0.0);
    model_add(opt, &m);
    const char *top_down[4] = {"head.", "lstm.l1.", "lstm.l0.", "embedding."};
    assert_ok(tf_optimizer_set_discriminative(opt, top_down, 4, 2.6));
    for (int k = 0; k < 4; k++) {
        double lr, want = 0.01 / pow(2.6, k);
        assert_ok(tf_optimizer_param_lr(opt, layer_names[k], &lr));
        if (fabs(lr - want) > 1e-15 * want)
            fail_msg("%s: lr %.17g, want 0.01 / 2.6^%d = %.17g", layer_names[k], lr, k, want);
    }
    assert_ok(tf_optimizer_step(opt));
    /* The applied updates shrink by 2.6 per layer. */
    for (int k = 0; k < 4; k++) {
        const float *p = tf_tensor_data(m.p[k]);
        for (int i = 0; i < N; i++) {
            double delta = (double)p0[k][i] - p[i], want = 0.01 / pow(2.6, k) * g0[k][i];
            assert_true(fabs(delta - want) <= 1e-7);
        }
    }
    tf_optimizer_free(opt);
    model_free(&m);
}

/* Frozen parameters: nothing of theirs changes, bit for bit, and their moments stay untouched
 * (after unfreezing, their first update is the one of a fresh optimizer). */
static void run_frozen(tf_ctx_t *ctx, int32_t algorithm)
{
    model_t m, ref;
    float frozen0[N], grad0[N];
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt, *fresh;
    model_init(ctx, &m, 2);
    model_init(ctx, &ref, 2);
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.algorithm = algorithm;
    o.lr = 0.05;
    o.weight_decay = 0.1;
    o.momentum = algorithm == TF_OPTIMIZER_SGD ? 0.9 : 0.0;
    o.max_grad_norm = 0.5; /* clipping must not touch the frozen gradient either */
    assert_ok(tf_optimizer_create(&opt, ctx, &o));
    model_add(opt, &m);
    assert_ok(tf_tensor_set_requires_grad(m.p[1], 0));
    memcpy(frozen0, tf_tensor_data(m.p[1]), sizeof frozen0);
    memcpy(grad0, tf_tensor_data(m.g[1]), sizeof grad0);
    for (int t = 0; t < 5; t++)
        assert_ok(tf_optimizer_step(opt));
    assert_memory_equal(tf_tensor_data(m.p[1]), frozen0, sizeof frozen0);
    assert_memory_equal(tf_tensor_data(m.g[1]), grad0, sizeof grad0);
    assert_memory_not_equal(tf_tensor_data(m.p[0]), tf_tensor_data(ref.p[0]), sizeof frozen0);
    /* Unfreeze: the step equals a fresh optimizer's first step on the same values. */
    assert_ok(tf_tensor_set_requires_grad(m.p[1], 1));
    assert_ok(tf_tensor_set_requires_grad(m.p[0], 0));
    assert_ok(tf_optimizer_create(&fresh, ctx, &o));
    assert_ok(tf_optimizer_add_param(fresh, "x", ref.p[1], ref.g[1]));
    assert_ok(tf_optimizer_step(opt));
    assert_ok(tf_optimizer_step(fresh));
    assert_memory_equal(tf_tensor_data(m.p[1]), tf_tensor_data(ref.p[1]), sizeof frozen0);
    tf_optimizer_free(opt);
    tf_optimizer_free(fresh);
    model_free(&m);
    model_free(&ref);
}

static void test_frozen_untouched_adamw(void **state)
{
    run_frozen(*state, TF_OPTIMIZER_ADAMW);
}

static void test_frozen_untouched_adam(void **state)
{
    run_frozen(*state, TF_OPTIMIZER_ADAM);
}

static void test_frozen_untouched_sgd_momentum(void **state)
{
    run_frozen(*state, TF_OPTIMIZER_SGD);
}

static void test_clip_hand_computed_norm(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *p[3], *g[3];
    const int64_t s2[1] = {2}, s1[1] = {1};
    const float g0[2] = {3.0f, 4.0f}, g1[1] = {12.0f}, g2[1] = {100.0f};
    tf_optimizer_t *opt = make_sgd(ctx, 1.0, 0.0);
    assert_ok(tf_tensor_create(&p[0], ctx, TF_DTYPE_F32, s2, 1));
    assert_ok(tf_tensor_create(&g[0], ctx, TF_DTYPE_F32, s2, 1));
    for (int k = 1; k < 3; k++) {
        assert_ok(tf_tensor_create(&p[k], ctx, TF_DTYPE_F32, s1, 1));
        assert_ok(tf_tensor_create(&g[k], ctx, TF_DTYPE_F32, s1, 1));
    }
    assert_ok(tf_tensor_copy_from(g[0], g0, sizeof g0));
    assert_ok(tf_tensor_copy_from(g[1], g1, sizeof g1));
    assert_ok(tf_tensor_copy_from(g[2], g2, sizeof g2));
    assert_ok(tf_tensor_set_requires_grad(p[2], 0)); /* frozen: not in the norm, not scaled */
    assert_ok(tf_optimizer_add_param(opt, "a", p[0], g[0]));
    assert_ok(tf_optimizer_add_param(opt, "b", p[1], g[1]));
    assert_ok(tf_optimizer_add_param(opt, "c", p[2], g[2]));
    double norm = 0.0;
    /* sqrt(9 + 16 + 144) = 13 <= 20: nothing changes. */
    assert_ok(tf_optimizer_clip_grad_norm(opt, 20.0, &norm));
    assert_true(norm == 13.0);
    assert_memory_equal(tf_tensor_data(g[0]), g0, sizeof g0);
    /* max 6.5: scale by 6.5 / (13 + 1e-6). */
    assert_ok(tf_optimizer_clip_grad_norm(opt, 6.5, &norm));
    assert_true(norm == 13.0);
    const float c = (float)(6.5 / (13.0 + 1e-6));
    const float *a = tf_tensor_data(g[0]), *b = tf_tensor_data(g[1]), *f = tf_tensor_data(g[2]);
    assert_true(a[0] == 3.0f * c && a[1] == 4.0f * c && b[0] == 12.0f * c);
    assert_true(f[0] == 100.0f);
    assert_true(fabs(tf_optimizer_last_grad_norm(opt) - 13.0) == 0.0);
    assert_ok(tf_optimizer_clip_grad_norm(opt, 6.5, NULL));
    assert_true(fabs(tf_optimizer_last_grad_norm(opt) - 6.5) < 1e-5);
    tf_optimizer_free(opt);
    for (int k = 0; k < 3; k++) {
        tf_tensor_free(p[k]);
        tf_tensor_free(g[k]);
    }
}

static void test_step_clips_when_max_grad_norm_is_set(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *p, *g;
    const int64_t s[1] = {2};
    const float g0[2] = {30.0f, 40.0f};
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.algorithm = TF_OPTIMIZER_SGD;
    o.lr = 1.0;
    o.max_grad_norm = 5.0;
    assert_ok(tf_optimizer_create(&opt, ctx, &o));
    assert_ok(tf_tensor_create(&p, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_tensor_create(&g, ctx, TF_DTYPE_F32, s, 1));
    assert_ok(tf_tensor_copy_from(g, g0, sizeof g0));
    assert_ok(tf_optimizer_add_param(opt, "w", p, g));
    assert_ok(tf_optimizer_step(opt));
    assert_true(tf_optimizer_last_grad_norm(opt) == 50.0);
    const float *pd = tf_tensor_data(p);
    assert_true(fabsf(pd[0] + 3.0f) < 1e-5f && fabsf(pd[1] + 4.0f) < 1e-5f);
    /* zero_grad clears every gradient. */
    assert_ok(tf_optimizer_zero_grad(opt));
    const float *gd = tf_tensor_data(g);
    assert_true(gd[0] == 0.0f && gd[1] == 0.0f);
    tf_optimizer_free(opt);
    tf_tensor_free(p);
    tf_tensor_free(g);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_groups_give_different_updates),
        T(test_longest_prefix_wins),
        T(test_discriminative_rates_are_powers_of_2_6),
        T(test_frozen_untouched_adamw),
        T(test_frozen_untouched_adam),
        T(test_frozen_untouched_sgd_momentum),
        T(test_clip_hand_computed_norm),
        T(test_step_clips_when_max_grad_norm_is_set),
    };
    return TF_TEST_RUN(tests);
}
