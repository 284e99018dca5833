/* SPDX-License-Identifier: MIT */
/* Finite-difference gradient checks for every module and loss. The objective is a fixed random
 * weighting of the outputs, accumulated in double; each analytic gradient (from backward) is
 * compared with the central difference (f(x+e) - f(x-e)) / 2e of the forward pass, element by
 * element. The modules compute in float, so e = 5e-3 and the tolerance is
 * |num - ana| <= ATOL + RTOL * max(|num|, |ana|). */
#include "tf_test.h"

#include <math.h>
#include <string.h>

#define EPS 5e-3f
#define ATOL 5e-4
#define RTOL 1e-2

typedef struct gc {
    tf_ctx_t *ctx;
    tf_module_t *m;
    tf_tensor_t *x, *len, *h0, *c0; /* inputs (some NULL) */
    double *wy, *wh, *wc;           /* objective weights */
    int64_t ny, nh;
    uint64_t reseed; /* nonzero: reseed the context before each forward (fixed dropout masks) */
    /* loss-only cases */
    int kind;
    tf_tensor_t *tgt, *grad;
    uint32_t modes;
    int32_t dirs;
    tf_tensor_t *pooled;
} gc_t;

static uint64_t lcg_state = 12345;
static double rnd(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

static tf_tensor_t *rand_tensor(tf_ctx_t *ctx, const int64_t *shape, uint32_t nd, double scale)
{
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, nd));
    float *d = tf_tensor_data(t);
    for (int64_t i = 0; i < tf_tensor_numel(t); i++)
        d[i] = (float)(rnd() * scale);
    return t;
}

static tf_tensor_t *i32_tensor(tf_ctx_t *ctx, const int64_t *shape, uint32_t nd, const int32_t *v)
{
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, shape, nd));
    assert_ok(tf_tensor_copy_from(t, v, (size_t)tf_tensor_numel(t) * 4));
    return t;
}

static double *rand_weights(int64_t n)
{
    double *w = malloc((size_t)n * sizeof *w);
    for (int64_t i = 0; i < n; i++)
        w[i] = rnd();
    return w;
}

static double dot(const double *w, tf_tensor_t *t)
{
    const float *d = tf_tensor_data(t);
    double s = 0;
    for (int64_t i = 0; i < tf_tensor_numel(t); i++)
        s += w[i] * d[i];
    return s;
}

static tf_tensor_t *weights_tensor(tf_ctx_t *ctx, const double *w, tf_tensor_t *like)
{
    int64_t shape[4];
    uint32_t nd;
    tf_tensor_t *t;
    assert_ok(tf_tensor_shape(like, shape, 4, &nd));
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, nd));
    float *d = tf_tensor_data(t);
    for (int64_t i = 0; i < tf_tensor_numel(t); i++)
        d[i] = (float)w[i];
    return t;
}

/* Module objective: sum wy*y (+ wh*h_n + wc*c_n for a recurrent module or encoder with state
 * weights; a GRU has no c_n). */
static double objective(gc_t *g, tf_tensor_t **y, tf_tensor_t **hn, tf_tensor_t **cn)
{
    if (g->reseed)
        assert_ok(tf_ctx_reseed(g->ctx, g->reseed));
    int32_t kind = tf_module_kind(g->m);
    if (kind == TF_MODULE_LSTM || kind == TF_MODULE_GRU || kind == TF_MODULE_ENCODER) {
        assert_ok(tf_rnn_forward(y, hn, cn, g->m, g->x, g->len, g->h0, g->c0));
        double s = dot(g->wy, *y);
        if (g->wh)
            s += dot(g->wh, *hn) + (*cn ? dot(g->wc, *cn) : 0.0);
        return s;
    }
    assert_ok(tf_module_forward(y, g->m, g->x, g->len));
    return dot(g->wy, *y);
}

static double f_module(gc_t *g)
{
    tf_tensor_t *y, *hn, *cn;
    return objective(g, &y, &hn, &cn);
}

/* Forward + backward; returns the input gradient and state gradients (borrowed). */
static void analytic(gc_t *g, tf_tensor_t **dx, tf_tensor_t **dh0, tf_tensor_t **dc0)
{
    tf_tensor_t *y, *hn = NULL, *cn = NULL, *gy, *gh = NULL, *gcn = NULL;
    assert_ok(tf_module_zero_grad(g->m));
    objective(g, &y, &hn, &cn);
    gy = weights_tensor(g->ctx, g->wy, y);
    int32_t kind = tf_module_kind(g->m);
    if (kind == TF_MODULE_LSTM || kind == TF_MODULE_GRU || kind == TF_MODULE_ENCODER) {
        if (g->wh) {
            gh = weights_tensor(g->ctx, g->wh, hn);
            gcn = cn ? weights_tensor(g->ctx, g->wc, cn) : NULL;
        }
        assert_ok(tf_rnn_backward(dx, dh0, dc0, g->m, gy, gh, gcn));
    } else {
        assert_ok(tf_module_backward(dx, g->m, gy));
    }
    tf_tensor_free(gy);
    tf_tensor_free(gh);
    tf_tensor_free(gcn);
}

typedef double (*objective_fn)(gc_t *g);

/* Compare `ana` (copied before) with central differences of f over every element of x (skipping
 * the elements where skip(i) is true). Returns the number of elements checked. */
static int64_t fd_check(const char *what, objective_fn f, gc_t *g, float *x, int64_t n, const float *ana,
                        int64_t skip_from, int64_t skip_to)
{
    int64_t checked = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i >= skip_from && i < skip_to)
            continue;
        float keep = x[i];
        x[i] = keep + EPS;
        double fp = f(g);
        x[i] = keep - EPS;
        double fm = f(g);
        x[i] = keep;
        double num = (fp - fm) / (2.0 * (double)EPS), a = ana[i];
        double tol = ATOL + RTOL * fmax(fabs(num), fabs(a));
        if (fabs(num - a) > tol) {
            print_error("%s[%lld]: analytic %.7g, finite difference %.7g\n", what, (long long)i, a, num);
            fail();
        }
        checked++;
    }
    return checked;
}

static float *copy_of(tf_tensor_t *t)
{
    size_t nb = tf_tensor_nbytes(t);
    float *c = malloc(nb);
    memcpy(c, tf_tensor_data(t), nb);
    return c;
}

/* Check every parameter of g->m (except `skip_param` rows [skip_from, skip_to) of parameter 0). */
static void check_params(gc_t *g, int64_t skip_from, int64_t skip_to)
{
    uint32_t np = tf_module_num_params(g->m);
    float **ana = calloc(np, sizeof *ana);
    for (uint32_t i = 0; i < np; i++) {
        tf_tensor_t *gr;
        assert_ok(tf_module_param_at(NULL, NULL, &gr, g->m, i));
        ana[i] = copy_of(gr);
    }
    for (uint32_t i = 0; i < np; i++) {
        const char *name;
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(&name, &p, NULL, g->m, i));
        fd_check(name, f_module, g, tf_tensor_data(p), tf_tensor_numel(p), ana[i], i == 0 ? skip_from : 0,
                 i == 0 ? skip_to : 0);
        free(ana[i]);
    }
    free(ana);
}

static void check_input(gc_t *g, tf_tensor_t *in, tf_tensor_t *grad, const char *what)
{
    assert_non_null(grad);
    float *a = copy_of(grad);
    fd_check(what, f_module, g, tf_tensor_data(in), tf_tensor_numel(in), a, 0, 0);
    free(a);
}

static void gc_free(gc_t *g)
{
    tf_tensor_free(g->x);
    tf_tensor_free(g->len);
    tf_tensor_free(g->h0);
    tf_tensor_free(g->c0);
    tf_tensor_free(g->tgt);
    tf_tensor_free(g->grad);
    tf_tensor_free(g->pooled);
    free(g->wy);
    free(g->wh);
    free(g->wc);
    tf_module_free(g->m);
}

/* ---- modules ---- */

static tf_module_t *linear(tf_ctx_t *ctx, int64_t in, int64_t out, int32_t bias)
{
    tf_linear_opts_t o;
    tf_module_t *m;
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = in;
    o.out_features = out;
    o.bias = bias;
    assert_ok(tf_linear_create(&m, ctx, &o));
    return m;
}

static void test_linear(void **state)
{
    gc_t g = {.ctx = *state};
    tf_tensor_t *dx;
    g.m = linear(g.ctx, 4, 5, 1);
    g.x = rand_tensor(g.ctx, (int64_t[]){2, 3, 4}, 3, 1.0);
    g.wy = rand_weights(2 * 3 * 5);
    analytic(&g, &dx, NULL, NULL);
    check_input(&g, g.x, dx, "linear dx");
    analytic(&g, &dx, NULL, NULL);
    check_params(&g, 0, 0);
    gc_free(&g);
}

static void test_linear_frozen_weight(void **state)
{
    gc_t g = {.ctx = *state};
    tf_tensor_t *dx, *gw, *gb;
    g.m = linear(g.ctx, 3, 2, 1);
    g.x = rand_tensor(g.ctx, (int64_t[]){4, 3}, 2, 1.0);
    g.wy = rand_weights(8);
    analytic(&g, &dx, NULL, NULL);
    assert_ok(tf_module_param_find(NULL, &gb, g.m, "bias"));
    float *bias_unfrozen = copy_of(gb), *dx_unfrozen = copy_of(dx);
    assert_ok(tf_module_freeze(g.m, "weight", 1));
    analytic(&g, &dx, NULL, NULL);
    assert_ok(tf_module_param_find(NULL, &gw, g.m, "weight"));
    for (int i = 0; i < 6; i++)
        assert_true(((float *)tf_tensor_data(gw))[i] == 0.0f);
    for (int i = 0; i < 2; i++)
        assert_float_equal(((float *)tf_tensor_data(gb))[i], bias_unfrozen[i], 1e-7);
    for (int i = 0; i < 12; i++)
        assert_float_equal(((float *)tf_tensor_data(dx))[i], dx_unfrozen[i], 1e-7);
    free(bias_unfrozen);
    free(dx_unfrozen);
    gc_free(&g);
}

static void test_embedding_padding_lengths(void **state)
{
    gc_t g = {.ctx = *state};
    tf_embedding_opts_t o;
    tf_tensor_t *gw, *w;
    assert_ok(tf_embedding_opts_init(&o, TF_EMBEDDING_OPTS_VERSION));
    o.num_embeddings = 6;
    o.embedding_dim = 3;
    o.padding_idx = 0;
    assert_ok(tf_embedding_create(&g.m, g.ctx, &o));
    /* (T=4, B=3); padded steps hold -1, which is never looked up. Token 2 appears twice. */
    const int32_t tok[12] = {1, 2, 0, 2, 5, 3, 0, -1, 4, 3, -1, -1};
    g.x = i32_tensor(g.ctx, (int64_t[]){4, 3}, 2, tok);
    g.len = i32_tensor(g.ctx, (int64_t[]){3}, 1, (const int32_t[]){4, 2, 3});
    g.wy = rand_weights(4 * 3 * 3);
    analytic(&g, NULL, NULL, NULL);
    assert_ok(tf_module_param_at(NULL, &w, &gw, g.m, 0));
    for (int j = 0; j < 3; j++) {
        assert_true(((float *)tf_tensor_data(gw))[j] == 0.0f); /* padding row: no gradient */
        assert_true(((float *)tf_tensor_data(w))[j] == 0.0f);  /* and initialised to zero */
    }
    check_params(&g, 0, 3);
    gc_free(&g);
}

static void test_dropout_fixed_mask(void **state)
{
    gc_t g = {.ctx = *state, .reseed = 99};
    tf_dropout_opts_t o;
    tf_tensor_t *dx;
    assert_ok(tf_dropout_opts_init(&o, TF_DROPOUT_OPTS_VERSION));
    o.p = 0.3;
    assert_ok(tf_dropout_create(&g.m, g.ctx, &o));
    g.x = rand_tensor(g.ctx, (int64_t[]){5, 4}, 2, 1.0);
    g.wy = rand_weights(20);
    analytic(&g, &dx, NULL, NULL);
    int zeros = 0;
    for (int i = 0; i < 20; i++)
        zeros += ((float *)tf_tensor_data(dx))[i] == 0.0f;
    assert_true(zeros > 0 && zeros < 20);
    check_input(&g, g.x, dx, "dropout dx");
    gc_free(&g);
}

static tf_module_t *rnn(tf_ctx_t *ctx, int32_t cell, int64_t I, int64_t H, int32_t L, int32_t bi, double p)
{
    tf_rnn_opts_t o;
    tf_module_t *m;
    assert_ok(tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION));
    o.cell = cell;
    o.input_size = I;
    o.hidden_size = H;
    o.num_layers = L;
    o.bidirectional = bi;
    o.dropout = p;
    assert_ok(tf_rnn_create(&m, ctx, &o));
    return m;
}

static void rnn_case(tf_ctx_t *ctx, int32_t cell, int32_t L, int32_t bi, int with_len, int with_state, double p)
{
    gc_t g = {.ctx = ctx, .reseed = p > 0 ? 7 : 0};
    int64_t I = 3, H = 3, T = 5, B = 3, D = bi ? 2 : 1;
    tf_tensor_t *dx, *dh0, *dc0;
    g.m = rnn(ctx, cell, I, H, L, bi, p);
    g.x = rand_tensor(ctx, (int64_t[]){T, B, I}, 3, 1.0);
    if (with_len)
        g.len = i32_tensor(ctx, (int64_t[]){B}, 1, (const int32_t[]){3, 5, 1});
    if (with_state) {
        g.h0 = rand_tensor(ctx, (int64_t[]){L * D, B, H}, 3, 0.5);
        if (cell == TF_CELL_LSTM)
            g.c0 = rand_tensor(ctx, (int64_t[]){L * D, B, H}, 3, 0.5);
    }
    g.wy = rand_weights(T * B * D * H);
    g.wh = rand_weights(L * D * B * H);
    g.wc = rand_weights(L * D * B * H);
    analytic(&g, &dx, &dh0, &dc0);
    check_input(&g, g.x, dx, "lstm dx");
    if (with_state) {
        analytic(&g, &dx, &dh0, &dc0);
        check_input(&g, g.h0, dh0, "lstm dh0");
        analytic(&g, &dx, &dh0, &dc0);
        if (cell == TF_CELL_LSTM)
            check_input(&g, g.c0, dc0, "lstm dc0");
        else
            assert_null(dc0);
    }
    analytic(&g, &dx, &dh0, &dc0);
    check_params(&g, 0, 0);
    gc_free(&g);
}

static void test_gru_one_layer(void **state)
{
    rnn_case(*state, TF_CELL_GRU, 1, 0, 0, 0, 0.0);
}

static void test_lstm_one_layer(void **state)
{
    rnn_case(*state, TF_CELL_LSTM, 1, 0, 0, 0, 0.0);
}

static void test_gru_stacked_lengths_state(void **state)
{
    rnn_case(*state, TF_CELL_GRU, 2, 0, 1, 1, 0.0);
}

static void test_lstm_stacked_lengths_state(void **state)
{
    rnn_case(*state, TF_CELL_LSTM, 2, 0, 1, 1, 0.0);
}

static void test_gru_bidirectional_stacked_lengths_state(void **state)
{
    rnn_case(*state, TF_CELL_GRU, 2, 1, 1, 1, 0.0);
}

static void test_lstm_bidirectional_stacked_lengths_state(void **state)
{
    rnn_case(*state, TF_CELL_LSTM, 2, 1, 1, 1, 0.0);
}

static void test_gru_dropout_between_layers(void **state)
{
    rnn_case(*state, TF_CELL_GRU, 3, 1, 1, 0, 0.4);
}

static void test_lstm_dropout_between_layers(void **state)
{
    rnn_case(*state, TF_CELL_LSTM, 3, 1, 1, 0, 0.4);
}

static void encoder_case(tf_ctx_t *ctx, int32_t cell, int64_t F, const char *freeze)
{
    gc_t g = {.ctx = ctx};
    tf_encoder_opts_t o;
    tf_tensor_t *dx = NULL;
    int64_t T = 4, B = 3, H = 3;
    assert_ok(tf_encoder_opts_init(&o, TF_ENCODER_OPTS_VERSION));
    o.vocab_size = 7;
    o.embedding_dim = 3;
    o.padding_idx = F ? TF_NN_INDEX_NONE : 0;
    o.input_features = F;
    o.hidden_size = H;
    o.num_layers = 2;
    o.bidirectional = 1;
    o.cell = cell;
    assert_ok(tf_encoder_create(&g.m, ctx, &o));
    if (F) {
        g.x = rand_tensor(ctx, (int64_t[]){T, B, F}, 3, 1.0);
    } else {
        const int32_t tok[12] = {1, 2, 3, 6, 0, 5, 2, 0, 4, 2, 0, 0};
        g.x = i32_tensor(ctx, (int64_t[]){T, B}, 2, tok);
    }
    g.len = i32_tensor(ctx, (int64_t[]){B}, 1, (const int32_t[]){4, 1, 3});
    g.wy = rand_weights(T * B * 2 * H);
    g.wh = rand_weights(4 * B * H);
    g.wc = rand_weights(4 * B * H);
    if (freeze == NULL) {
        analytic(&g, F ? &dx : NULL, NULL, NULL);
        if (F)
            check_input(&g, g.x, dx, "encoder dx");
        analytic(&g, NULL, NULL, NULL);
        check_params(&g, 0, F ? 0 : 3);
    } else {
        /* Frozen parameters get no gradient; the others are what they were unfrozen. */
        uint32_t np = tf_module_num_params(g.m);
        float **before = calloc(np, sizeof *before);
        analytic(&g, NULL, NULL, NULL);
        for (uint32_t i = 0; i < np; i++) {
            tf_tensor_t *gr;
            assert_ok(tf_module_param_at(NULL, NULL, &gr, g.m, i));
            before[i] = copy_of(gr);
        }
        assert_ok(tf_module_freeze(g.m, freeze, 1));
        analytic(&g, NULL, NULL, NULL);
        for (uint32_t i = 0; i < np; i++) {
            const char *name;
            tf_tensor_t *p, *gr;
            assert_ok(tf_module_param_at(&name, &p, &gr, g.m, i));
            const float *now = tf_tensor_data(gr);
            int frozen = strncmp(name, freeze, strlen(freeze)) == 0;
            assert_int_equal(tf_tensor_requires_grad(p), !frozen);
            for (int64_t k = 0; k < tf_tensor_numel(gr); k++) {
                if (frozen)
                    assert_true(now[k] == 0.0f);
                else
                    assert_float_equal(now[k], before[i][k], 1e-6 + 1e-5 * fabs(before[i][k]));
            }
            free(before[i]);
        }
        free(before);
        assert_ok(tf_module_freeze(g.m, "", 0));
        analytic(&g, NULL, NULL, NULL);
        check_params(&g, 0, F ? 0 : 3);
    }
    gc_free(&g);
}

static void test_encoder_tokens(void **state)
{
    encoder_case(*state, TF_CELL_LSTM, 0, NULL);
}

static void test_encoder_numeric(void **state)
{
    encoder_case(*state, TF_CELL_LSTM, 2, NULL);
}

static void test_encoder_frozen_embedding(void **state)
{
    encoder_case(*state, TF_CELL_LSTM, 0, "embedding.");
}

static void test_encoder_frozen_first_layer(void **state)
{
    encoder_case(*state, TF_CELL_LSTM, 0, "lstm.weight_ih_l0");
}

static void test_encoder_gru_numeric(void **state)
{
    encoder_case(*state, TF_CELL_GRU, 2, NULL);
}

static void test_encoder_gru_frozen_first_layer(void **state)
{
    encoder_case(*state, TF_CELL_GRU, 0, "gru.weight_ih_l0");
}

static void test_encoder_frozen_projection(void **state)
{
    encoder_case(*state, TF_CELL_LSTM, 2, "proj.");
}

/* ---- losses and pooling (objective = the loss itself, or weighted pooled output) ---- */

enum { K_CE = 1, K_BCE, K_MSE, K_POOL, K_LMHEAD };

static double f_loss(gc_t *g)
{
    double loss = 0;
    switch (g->kind) {
    case K_CE: assert_ok(tf_loss_cross_entropy(g->x, g->tgt, 2, &loss, NULL)); break;
    case K_BCE: assert_ok(tf_loss_bce_with_logits(g->x, g->tgt, &loss, NULL)); break;
    case K_MSE: assert_ok(tf_loss_mse(g->x, g->tgt, &loss, NULL)); break;
    case K_POOL:
        assert_ok(tf_pool_forward(g->x, g->len, g->modes, g->dirs, g->pooled));
        loss = dot(g->wy, g->pooled);
        break;
    case K_LMHEAD: assert_ok(tf_linear_cross_entropy(g->m, g->x, g->tgt, 1, 0, &loss, NULL, NULL)); break;
    }
    return loss;
}

static void loss_case(tf_ctx_t *ctx, int kind)
{
    gc_t g = {.ctx = ctx, .kind = kind};
    double loss, loss2;
    int64_t shape[3] = {2, 3, 5};
    g.x = rand_tensor(ctx, shape, 3, 2.0);
    assert_ok(tf_tensor_create(&g.grad, ctx, TF_DTYPE_F32, shape, 3));
    if (kind == K_CE) {
        const int32_t t[6] = {0, 2, 4, 1, 2, 3}; /* 2 is the ignore index */
        g.tgt = i32_tensor(ctx, shape, 2, t);
        assert_ok(tf_loss_cross_entropy(g.x, g.tgt, 2, &loss, g.grad));
        for (int j = 0; j < 5; j++) /* ignored rows get no gradient */
            assert_true(((float *)tf_tensor_data(g.grad))[5 + j] == 0.0f);
    } else {
        g.tgt = rand_tensor(ctx, shape, 3, 1.0);
        float *t = tf_tensor_data(g.tgt);
        for (int i = 0; i < 30; i++)
            t[i] = kind == K_BCE ? (t[i] + 1.0f) / 2.0f : t[i];
        if (kind == K_BCE)
            assert_ok(tf_loss_bce_with_logits(g.x, g.tgt, &loss, g.grad));
        else
            assert_ok(tf_loss_mse(g.x, g.tgt, &loss, g.grad));
    }
    loss2 = f_loss(&g);
    assert_true(loss == loss2);
    float *a = copy_of(g.grad);
    fd_check("loss grad", f_loss, &g, tf_tensor_data(g.x), 30, a, 0, 0);
    free(a);
    gc_free(&g);
}

static void test_cross_entropy_ignore_index(void **state)
{
    loss_case(*state, K_CE);
}

static void test_bce_with_logits(void **state)
{
    loss_case(*state, K_BCE);
}

static void test_mse(void **state)
{
    loss_case(*state, K_MSE);
}

static void test_linear_cross_entropy_head(void **state)
{
    gc_t g = {.ctx = *state, .kind = K_LMHEAD};
    double loss;
    int64_t count;
    g.m = linear(g.ctx, 4, 7, 1);
    g.x = rand_tensor(g.ctx, (int64_t[]){3, 2, 4}, 3, 1.0);
    g.tgt = i32_tensor(g.ctx, (int64_t[]){3, 2}, 2, (const int32_t[]){0, 1, 6, 3, 1, 5}); /* 1 ignored */
    assert_ok(tf_tensor_create(&g.grad, g.ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 4}, 3));
    assert_ok(tf_module_zero_grad(g.m));
    assert_ok(tf_linear_cross_entropy(g.m, g.x, g.tgt, 1, 1, &loss, &count, g.grad));
    assert_int_equal(count, 4);
    assert_true(loss == f_loss(&g));
    float *a = copy_of(g.grad);
    fd_check("head dx", f_loss, &g, tf_tensor_data(g.x), 24, a, 0, 0);
    free(a);
    for (uint32_t i = 0; i < 2; i++) {
        tf_tensor_t *p, *gr;
        assert_ok(tf_module_param_at(NULL, &p, &gr, g.m, i));
        a = copy_of(gr);
        fd_check("head param", f_loss, &g, tf_tensor_data(p), tf_tensor_numel(p), a, 0, 0);
        free(a);
    }
    gc_free(&g);
}

static void pool_case(tf_ctx_t *ctx, uint32_t modes, int32_t dirs, int with_len)
{
    gc_t g = {.ctx = ctx, .kind = K_POOL, .modes = modes, .dirs = dirs};
    int64_t T = 4, B = 3, D = 4, k = (modes & 1) + ((modes >> 1) & 1) + ((modes >> 2) & 1);
    g.x = rand_tensor(ctx, (int64_t[]){T, B, D}, 3, 1.0);
    if (with_len)
        g.len = i32_tensor(ctx, (int64_t[]){B}, 1, (const int32_t[]){2, 4, 1});
    assert_ok(tf_tensor_create(&g.pooled, ctx, TF_DTYPE_F32, (int64_t[]){B, k * D}, 2));
    assert_ok(tf_tensor_create(&g.grad, ctx, TF_DTYPE_F32, (int64_t[]){T, B, D}, 3));
    g.wy = rand_weights(B * k * D);
    f_loss(&g);
    tf_tensor_t *gp = weights_tensor(ctx, g.wy, g.pooled);
    assert_ok(tf_pool_backward(g.x, g.len, modes, dirs, gp, g.grad));
    tf_tensor_free(gp);
    float *a = copy_of(g.grad);
    if (with_len) /* padded steps get no gradient */
        for (int64_t t = 0; t < T; t++)
            for (int64_t b = 0; b < B; b++)
                if (t >= ((const int32_t[]){2, 4, 1})[b])
                    for (int64_t j = 0; j < D; j++)
                        assert_true(a[(t * B + b) * D + j] == 0.0f);
    fd_check("pool dx", f_loss, &g, tf_tensor_data(g.x), T * B * D, a, 0, 0);
    free(a);
    gc_free(&g);
}

static void test_pool_last(void **state)
{
    pool_case(*state, TF_POOL_LAST, 1, 1);
}

static void test_pool_last_bidirectional(void **state)
{
    pool_case(*state, TF_POOL_LAST, 2, 1);
}

static void test_pool_mean(void **state)
{
    pool_case(*state, TF_POOL_MEAN, 1, 1);
}

static void test_pool_max(void **state)
{
    pool_case(*state, TF_POOL_MAX, 1, 1);
}

static void test_pool_concat_no_lengths(void **state)
{
    pool_case(*state, TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX, 2, 0);
}

static void test_pool_concat_lengths(void **state)
{
    pool_case(*state, TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX, 2, 1);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        CASE(test_linear),
        CASE(test_linear_frozen_weight),
        CASE(test_embedding_padding_lengths),
        CASE(test_dropout_fixed_mask),
        CASE(test_lstm_one_layer),
        CASE(test_gru_one_layer),
        CASE(test_lstm_stacked_lengths_state),
        CASE(test_gru_stacked_lengths_state),
        CASE(test_lstm_bidirectional_stacked_lengths_state),
        CASE(test_gru_bidirectional_stacked_lengths_state),
        CASE(test_lstm_dropout_between_layers),
        CASE(test_gru_dropout_between_layers),
        CASE(test_encoder_tokens),
        CASE(test_encoder_numeric),
        CASE(test_encoder_frozen_embedding),
        CASE(test_encoder_frozen_first_layer),
        CASE(test_encoder_frozen_projection),
        CASE(test_encoder_gru_numeric),
        CASE(test_encoder_gru_frozen_first_layer),
        CASE(test_cross_entropy_ignore_index),
        CASE(test_bce_with_logits),
        CASE(test_mse),
        CASE(test_linear_cross_entropy_head),
        CASE(test_pool_last),
        CASE(test_pool_last_bidirectional),
        CASE(test_pool_mean),
        CASE(test_pool_max),
        CASE(test_pool_concat_no_lengths),
        CASE(test_pool_concat_lengths),
    };
    return TF_TEST_RUN(tests);
}
