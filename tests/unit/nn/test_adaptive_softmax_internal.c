/* SPDX-License-Identifier: MIT */
/* The adaptive softmax LM head (lib/nn/adaptive_softmax.c): parity with
 * torch.nn.AdaptiveLogSoftmaxWithLoss (fixtures from
 * tests/reference/gen_adaptive_softmax_fixtures.py: loss, each row's target log-probability, the
 * full log_prob of a few rows, every gradient), finite differences, hostile options and targets,
 * and an allocation-failure sweep. */
#include "tf_test.h"
#include "tf_fixture.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-5

static tf_tensor_t *f32_tensor(tf_ctx_t *ctx, const int64_t *shape, uint32_t nd, const float *v)
{
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, nd));
    if (v)
        assert_ok(tf_tensor_copy_from(t, v, (size_t)tf_tensor_numel(t) * 4));
    return t;
}

static tf_tensor_t *i32_tensor(tf_ctx_t *ctx, int64_t n, const int32_t *v)
{
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, (int64_t[]){n}, 1));
    assert_ok(tf_tensor_copy_from(t, v, (size_t)n * 4));
    return t;
}

static tf__asoft_opts_t opts(int64_t in, int64_t V, const int64_t *cut, int32_t k, double div, int32_t bias)
{
    tf__asoft_opts_t o;
    memset(&o, 0, sizeof o);
    o.in_features = in;
    o.n_classes = V;
    o.n_cutoffs = k;
    for (int32_t i = 0; i < k && i < TF__ASOFT_MAX_CUTOFFS; i++)
        o.cutoffs[i] = cut[i];
    o.div_value = div;
    o.head_bias = bias;
    return o;
}

static void parity(tf_ctx_t *ctx, const char *file)
{
    tf_fixture_t *fx = tf_fixture_load(file);
    int64_t nc, n;
    const int32_t *cfg = tf_fixture_i32(fx, "cfg", NULL);
    const int32_t *cut = tf_fixture_i32(fx, "cutoffs", &nc);
    int64_t cut64[TF__ASOFT_MAX_CUTOFFS];
    for (int64_t i = 0; i < nc; i++)
        cut64[i] = cut[i];
    tf__asoft_opts_t o = opts(cfg[0], cfg[1], cut64, (int32_t)nc, tf_fixture_scalar(fx, "div_value"), cfg[2]);
    const int64_t K = cfg[0], V = cfg[1], N = cfg[3];
    tf_module_t *m;
    assert_ok(tf__asoft_new(&m, ctx, &o));
    assert_int_equal(tf_module_kind(m), TF_MODULE_ADAPTIVE_SOFTMAX);
    /* Same parameters, names and shapes as the state_dict; nothing left over. */
    uint32_t want_params = 1 + (uint32_t)cfg[2] + 2 * (uint32_t)nc;
    assert_int_equal(tf_module_num_params(m), want_params);
    for (uint32_t i = 0; i < tf_module_num_params(m); i++) {
        const char *name;
        tf_tensor_t *p;
        char key[128];
        int64_t dims[4];
        uint32_t nd;
        assert_ok(tf_module_param_at(&name, &p, NULL, m, i));
        snprintf(key, sizeof key, "p.%s", name);
        const float *src = tf_fixture_f32(fx, key, &n);
        tf_fixture_shape(fx, key, dims, &nd);
        assert_int_equal(nd, tf_tensor_ndim(p));
        for (uint32_t d = 0; d < nd; d++)
            assert_int_equal(dims[d], tf_tensor_dim(p, d));
        assert_ok(tf_tensor_copy_from(p, src, (size_t)n * 4));
    }
    tf_tensor_t *x = f32_tensor(ctx, (int64_t[]){N, K}, 2, tf_fixture_f32(fx, "x", NULL));
    tf_tensor_t *t = i32_tensor(ctx, N, tf_fixture_i32(fx, "targets", NULL));
    tf_tensor_t *dx = f32_tensor(ctx, (int64_t[]){N, K}, 2, NULL);
    double loss, *logp = calloc((size_t)N, sizeof *logp);
    int64_t count;
    assert_ok(tf_module_zero_grad(m));
    assert_ok(tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 1, &loss, &count, logp, dx));
    assert_int_equal(count, N);
    assert_true(fabs(loss - tf_fixture_scalar(fx, "loss")) <= 1e-5 * fabs(loss));
    const float *out = tf_fixture_f32(fx, "output", NULL);
    float *logpf = malloc((size_t)N * sizeof *logpf);
    for (int64_t r = 0; r < N; r++)
        logpf[r] = (float)logp[r];
    tf_assert_close_f32("output", logpf, out, N, RTOL, ATOL);
    tf_assert_close_f32("g.input", tf_tensor_data(dx), tf_fixture_f32(fx, "g.input", NULL), N * K, RTOL, ATOL);
    for (uint32_t i = 0; i < tf_module_num_params(m); i++) {
        const char *name;
        tf_tensor_t *g;
        char key[128];
        assert_ok(tf_module_param_at(&name, NULL, &g, m, i));
        snprintf(key, sizeof key, "g.%s", name);
        const float *want = tf_fixture_f32(fx, key, &n);
        assert_int_equal(n, tf_tensor_numel(g));
        tf_assert_close_f32(key, tf_tensor_data(g), want, n, RTOL, ATOL);
    }
    /* The loss without gradients gives the same value. */
    double loss2;
    assert_ok(tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 0, &loss2, NULL, NULL, NULL));
    assert_true(loss2 == loss);
    /* log_prob of every word for the first rows. */
    int64_t dims[4];
    uint32_t nd;
    tf_fixture_shape(fx, "log_prob", dims, &nd);
    tf_tensor_t *xs = f32_tensor(ctx, (int64_t[]){dims[0], K}, 2, tf_fixture_f32(fx, "x", NULL));
    tf_tensor_t *lp;
    assert_ok(tf_module_forward(&lp, m, xs, NULL));
    assert_int_equal(tf_tensor_dim(lp, 1), V);
    tf_assert_close_f32("log_prob", tf_tensor_data(lp), tf_fixture_f32(fx, "log_prob", NULL), dims[0] * V, RTOL, ATOL);
    free(logp);
    free(logpf);
    tf_tensor_free(xs);
    tf_tensor_free(x);
    tf_tensor_free(t);
    tf_tensor_free(dx);
    tf_module_free(m);
    tf_fixture_free(fx);
}

static void test_parity_two_clusters(void **state)
{
    parity(*state, "nn_asoft_two.tfx");
}

static void test_parity_three_clusters_bias(void **state)
{
    parity(*state, "nn_asoft_three_bias.tfx");
}

static void test_parity_one_cluster(void **state)
{
    parity(*state, "nn_asoft_one.tfx");
}

/* Two threads and more rows than one chunk holds give the fixture's answer too (the chunk split
 * is checked by a vocabulary wide enough that a chunk holds 8 rows). */
static void test_threads_and_chunks(void **state)
{
    (void)state;
    tf_ctx_opts_t co;
    tf_ctx_t *one, *two;
    assert_ok(tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION));
    co.num_threads = 1;
    assert_ok(tf_ctx_create(&one, &co));
    co.num_threads = 2;
    assert_ok(tf_ctx_create(&two, &co));
    enum { K = 4, N = 21 };
    const int64_t V = ((int64_t)1 << 19) + 3;
    tf__asoft_opts_t o = opts(K, V, (int64_t[]){(int64_t)1 << 19}, 1, 4.0, 1);
    tf_module_t *a, *b;
    assert_ok(tf__asoft_new(&a, one, &o));
    assert_ok(tf__asoft_new(&b, two, &o));
    float *pa, *pb, *ga, *gb;
    size_t na, nb;
    tf__module_param_buffers(a, &pa, &ga, &na);
    tf__module_param_buffers(b, &pb, &gb, &nb);
    memcpy(pb, pa, na * sizeof(float));
    float xv[N * K];
    int32_t tv[N];
    for (int64_t i = 0; i < N * K; i++)
        xv[i] = (float)sin((double)i);
    for (int64_t r = 0; r < N; r++)
        tv[r] = (int32_t)(r % 2 ? (int64_t)1 << 19 : (r * 7919) % V);
    tf_tensor_t *xa = f32_tensor(one, (int64_t[]){N, K}, 2, xv), *xb = f32_tensor(two, (int64_t[]){N, K}, 2, xv);
    tf_tensor_t *ta = i32_tensor(one, N, tv), *tb = i32_tensor(two, N, tv);
    tf_tensor_t *da = f32_tensor(one, (int64_t[]){N, K}, 2, NULL), *db = f32_tensor(two, (int64_t[]){N, K}, 2, NULL);
    double la, lb, lpa[N], lpb[N];
    assert_ok(tf__asoft_loss(a, xa, ta, TF_NN_INDEX_NONE, 1, &la, NULL, lpa, da));
    assert_ok(tf__asoft_loss(b, xb, tb, TF_NN_INDEX_NONE, 1, &lb, NULL, lpb, db));
    assert_true(fabs(la - lb) <= 1e-6 * fabs(la));
    /* Each row's log-probability against its own row of the full log_prob. */
    tf_tensor_t *full;
    assert_ok(tf_module_forward(&full, a, xa, NULL));
    const float *fp = tf_tensor_data(full);
    for (int64_t r = 0; r < N; r++) {
        assert_true(fabs(lpa[r] - lpb[r]) <= 1e-5 * fabs(lpa[r]) + 1e-6);
        assert_true(fabs(lpa[r] - (double)fp[r * V + tv[r]]) <= 1e-4 * fabs(lpa[r]) + 1e-5);
    }
    tf_assert_close_f32("dx", tf_tensor_data(da), tf_tensor_data(db), N * K, 1e-5, 1e-7);
    tf_assert_close_f32("grads", ga, gb, (int64_t)na, 1e-4, 1e-8);
    tf_tensor_free(xa);
    tf_tensor_free(xb);
    tf_tensor_free(ta);
    tf_tensor_free(tb);
    tf_tensor_free(da);
    tf_tensor_free(db);
    tf_module_free(a);
    tf_module_free(b);
    tf_ctx_free(one);
    tf_ctx_free(two);
}

/* Central differences of the loss (in double from the float module) against the analytic
 * gradients of every parameter and of the input, with ignored rows. */
static double loss_at(tf_module_t *m, tf_tensor_t *x, tf_tensor_t *t)
{
    double l;
    assert_ok(tf__asoft_loss(m, x, t, 7, 0, &l, NULL, NULL, NULL));
    return l;
}

static void fd_check(const char *what, float *v, const float *g, int64_t n, tf_module_t *m, tf_tensor_t *x,
                     tf_tensor_t *t)
{
    const float eps = 5e-3f;
    for (int64_t i = 0; i < n; i++) {
        const float keep = v[i];
        v[i] = keep + eps;
        double up = loss_at(m, x, t);
        v[i] = keep - eps;
        double dn = loss_at(m, x, t);
        v[i] = keep;
        double num = (up - dn) / (2.0 * (double)eps), ana = g[i];
        if (!(fabs(num - ana) <= 5e-4 + 1e-2 * fmax(fabs(num), fabs(ana))))
            fail_msg("%s[%lld]: finite difference %g, analytic %g", what, (long long)i, num, ana);
    }
}

static void test_finite_differences(void **state)
{
    tf_ctx_t *ctx = *state;
    enum { K = 9, V = 23, N = 14 };
    tf__asoft_opts_t o = opts(K, V, (int64_t[]){4, 9, 15}, 3, 2.0, 1);
    tf_module_t *m;
    assert_ok(tf__asoft_new(&m, ctx, &o));
    float xv[N * K];
    for (int64_t i = 0; i < N * K; i++)
        xv[i] = (float)cos(0.7 * (double)i) * 1.5f;
    /* Targets in the shortlist and every cluster; two rows ignored (7). */
    const int32_t tv[N] = {0, 3, 4, 8, 9, 14, 15, 22, 7, 18, 1, 7, 12, 20};
    tf_tensor_t *x = f32_tensor(ctx, (int64_t[]){N, K}, 2, xv), *t = i32_tensor(ctx, N, tv);
    tf_tensor_t *dx = f32_tensor(ctx, (int64_t[]){N, K}, 2, NULL);
    double loss;
    int64_t count;
    assert_ok(tf_module_zero_grad(m));
    assert_ok(tf__asoft_loss(m, x, t, 7, 1, &loss, &count, NULL, dx));
    assert_int_equal(count, N - 2);
    float *p, *g;
    size_t nf;
    tf__module_param_buffers(m, &p, &g, &nf);
    fd_check("params", p, g, (int64_t)nf, m, x, t);
    fd_check("input", tf_tensor_data(x), tf_tensor_data(dx), N * K, m, x, t);
    /* Ignored rows get no input gradient. */
    for (int64_t j = 0; j < K; j++)
        assert_true(((float *)tf_tensor_data(dx))[8 * K + j] == 0.0f);
    tf_tensor_free(x);
    tf_tensor_free(t);
    tf_tensor_free(dx);
    tf_module_free(m);
}

/* A frozen parameter keeps a zero gradient while the others still get theirs. */
static void test_frozen_tail(void **state)
{
    tf_ctx_t *ctx = *state;
    tf__asoft_opts_t o = opts(8, 12, (int64_t[]){4}, 1, 4.0, 0);
    tf_module_t *m;
    assert_ok(tf__asoft_new(&m, ctx, &o));
    assert_ok(tf_module_freeze(m, "tail.", 1));
    float xv[16];
    for (int i = 0; i < 16; i++)
        xv[i] = (float)i / 8.0f - 1.0f;
    tf_tensor_t *x = f32_tensor(ctx, (int64_t[]){2, 8}, 2, xv), *t = i32_tensor(ctx, 2, (int32_t[]){1, 9});
    double loss;
    assert_ok(tf_module_zero_grad(m));
    assert_ok(tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, NULL, NULL));
    tf_tensor_t *g;
    assert_ok(tf_module_param_find(NULL, &g, m, "tail.0.0.weight"));
    for (int64_t i = 0; i < tf_tensor_numel(g); i++)
        assert_true(((float *)tf_tensor_data(g))[i] == 0.0f);
    assert_ok(tf_module_param_find(NULL, &g, m, "head.weight"));
    double s = 0;
    for (int64_t i = 0; i < tf_tensor_numel(g); i++)
        s += fabs(((float *)tf_tensor_data(g))[i]);
    assert_true(s > 0);
    tf_tensor_free(x);
    tf_tensor_free(t);
    tf_module_free(m);
}

static void bad_opts(tf_ctx_t *ctx, tf__asoft_opts_t o, const char *needle)
{
    tf_module_t *m = (tf_module_t *)ctx;
    assert_status(tf__asoft_new(&m, ctx, &o), TF_STATUS_EINVAL);
    assert_null(m);
    if (strstr(tf_last_error_message(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", tf_last_error_message(), needle);
}

static void test_hostile_options(void **state)
{
    tf_ctx_t *ctx = *state;
    bad_opts(ctx, opts(16, 40, (int64_t[]){20, 8}, 2, 4.0, 0), "strictly increasing");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 8}, 2, 4.0, 0), "strictly increasing");
    bad_opts(ctx, opts(16, 40, (int64_t[]){0, 8}, 2, 4.0, 0), "positive");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 40}, 2, 4.0, 0), "below the vocabulary");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 41}, 2, 4.0, 0), "below the vocabulary");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8}, 0, 4.0, 0), "cut-offs");
    bad_opts(ctx, opts(16, 40, (int64_t[]){1, 2, 3, 4, 5, 6, 7, 8}, TF__ASOFT_MAX_CUTOFFS + 1, 1.0, 0), "cut-offs");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 20}, 2, 0.5, 0), "div_value");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 20}, 2, NAN, 0), "div_value");
    bad_opts(ctx, opts(16, 40, (int64_t[]){8, 20}, 2, 4.0, 2), "head_bias");
    bad_opts(ctx, opts(0, 40, (int64_t[]){8, 20}, 2, 4.0, 0), "feature");
    /* 8 / 4^2 < 1: the second cluster would have no features. */
    bad_opts(ctx, opts(8, 40, (int64_t[]){8, 20}, 2, 4.0, 0), "cluster 1");
}

static void test_hostile_inputs(void **state)
{
    tf_ctx_t *ctx = *state;
    tf__asoft_opts_t o = opts(8, 12, (int64_t[]){4}, 1, 4.0, 1);
    tf_module_t *m, *lin;
    assert_ok(tf__asoft_new(&m, ctx, &o));
    float xv[16] = {0};
    tf_tensor_t *x = f32_tensor(ctx, (int64_t[]){2, 8}, 2, xv), *dx = f32_tensor(ctx, (int64_t[]){2, 8}, 2, NULL);
    tf_tensor_t *x7 = f32_tensor(ctx, (int64_t[]){2, 7}, 2, NULL), *t3 = i32_tensor(ctx, 3, (int32_t[]){1, 2, 3});
    tf_tensor_t *t = i32_tensor(ctx, 2, (int32_t[]){1, 12}), *tn = i32_tensor(ctx, 2, (int32_t[]){-1, 0});
    tf_tensor_t *tk = i32_tensor(ctx, 2, (int32_t[]){11, 0});
    double loss;
    assert_status(tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, NULL, dx), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "outside [0, 12)"));
    assert_status(tf__asoft_loss(m, x, tn, TF_NN_INDEX_NONE, 1, &loss, NULL, NULL, dx), TF_STATUS_EINVAL);
    assert_status(tf__asoft_loss(m, x, tk, 11, 2, &loss, NULL, NULL, dx), TF_STATUS_EINVAL);
    assert_status(tf__asoft_loss(m, x7, tk, 11, 1, &loss, NULL, NULL, NULL), TF_STATUS_ESHAPE);
    assert_status(tf__asoft_loss(m, x, t3, 11, 1, &loss, NULL, NULL, NULL), TF_STATUS_ESHAPE);
    assert_status(tf__asoft_loss(m, x, tk, 11, 1, &loss, NULL, NULL, x7), TF_STATUS_ESHAPE);
    assert_status(tf__asoft_loss(m, x, tk, 11, 1, NULL, NULL, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf__asoft_loss(m, t, tk, 11, 1, &loss, NULL, NULL, NULL), TF_STATUS_EDTYPE);
    /* All rows ignored: loss 0, count 0. */
    int64_t count = 5;
    tf_tensor_t *ti = i32_tensor(ctx, 2, (int32_t[]){11, 11});
    assert_ok(tf__asoft_loss(m, x, ti, 11, 1, &loss, &count, NULL, dx));
    assert_int_equal(count, 0);
    assert_true(loss == 0.0);
    /* The wrong kind of module, and backward through tf_module_backward. */
    tf_linear_opts_t lo;
    tf_linear_opts_init(&lo, TF_LINEAR_OPTS_VERSION);
    lo.in_features = 8;
    lo.out_features = 12;
    assert_ok(tf_linear_create(&lin, ctx, &lo));
    assert_status(tf__asoft_loss(lin, x, tk, 11, 1, &loss, NULL, NULL, NULL), TF_STATUS_EINVAL);
    tf_tensor_t *lp, *gi;
    assert_ok(tf_module_forward(&lp, m, x, NULL));
    assert_status(tf_module_backward(&gi, m, lp), TF_STATUS_ESTATE);
    tf_tensor_free(x);
    tf_tensor_free(dx);
    tf_tensor_free(x7);
    tf_tensor_free(t3);
    tf_tensor_free(t);
    tf_tensor_free(tn);
    tf_tensor_free(tk);
    tf_tensor_free(ti);
    tf_module_free(lin);
    tf_module_free(m);
}

/* Creation, the loss with gradients and log_prob with the N-th allocation failing, for every N
 * until each succeeds: ENOMEM, nothing leaked, the module usable again afterwards. */
static void test_oom(void **state)
{
    (void)state;
    tf__asoft_opts_t o = opts(8, 30, (int64_t[]){4, 11}, 2, 2.0, 1);
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        tf_module_t *m = (tf_module_t *)ctx;
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf__asoft_new(&m, ctx, &o);
        int done = st == TF_STATUS_OK;
        if (!done) {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            assert_null(m);
            assert_int_equal(tf_ctx_live_objects(ctx), 0);
        }
        tf_module_free(m);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        if (done)
            break;
    }
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        tf_module_t *m;
        assert_ok(tf__asoft_new(&m, ctx, &o));
        float xv[3 * 8];
        for (int i = 0; i < 24; i++)
            xv[i] = (float)i / 10.0f;
        tf_tensor_t *x = f32_tensor(ctx, (int64_t[]){3, 8}, 2, xv), *t = i32_tensor(ctx, 3, (int32_t[]){2, 5, 20});
        tf_tensor_t *dx = f32_tensor(ctx, (int64_t[]){3, 8}, 2, NULL), *lp;
        double loss;
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, NULL, dx);
        if (st == TF_STATUS_OK)
            st = tf_module_forward(&lp, m, x, NULL);
        int done = st == TF_STATUS_OK;
        if (!done)
            assert_int_equal(st, TF_STATUS_ENOMEM);
        ta.fail_at = 0;
        assert_ok(tf__asoft_loss(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, NULL, dx));
        assert_ok(tf_module_forward(&lp, m, x, NULL));
        tf_tensor_free(x);
        tf_tensor_free(t);
        tf_tensor_free(dx);
        tf_module_free(m);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        if (done)
            break;
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parity_two_clusters, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_parity_three_clusters_bias, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_parity_one_cluster, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test(test_threads_and_chunks),
        cmocka_unit_test_setup_teardown(test_finite_differences, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_frozen_tail, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_options, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_inputs, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test(test_oom),
    };
    return TF_TEST_RUN(tests);
}
