/* SPDX-License-Identifier: MIT */
/* The public nn API: options, creation errors, parameter enumeration and names, freezing, modes,
 * forward/backward argument checks, losses and pooling argument checks, tied heads, the chunked
 * head against the plain one, workspace growth. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <string.h>

static tf_module_t *lstm_new(tf_ctx_t *ctx, int64_t I, int64_t H, int32_t L, int32_t bi, const char *name)
{
    tf_rnn_opts_t o;
    tf_module_t *m;
    assert_ok(tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION));
    o.input_size = I;
    o.hidden_size = H;
    o.num_layers = L;
    o.bidirectional = bi;
    o.name = name;
    assert_ok(tf_rnn_create(&m, ctx, &o));
    return m;
}

static tf_module_t *encoder_new(tf_ctx_t *ctx, int64_t V, int64_t E, int64_t H, int64_t F)
{
    tf_encoder_opts_t o;
    tf_module_t *m;
    assert_ok(tf_encoder_opts_init(&o, TF_ENCODER_OPTS_VERSION));
    o.vocab_size = V;
    o.embedding_dim = E;
    o.hidden_size = H;
    o.input_features = F;
    assert_ok(tf_encoder_create(&m, ctx, &o));
    return m;
}

static tf_module_t *linear_new(tf_ctx_t *ctx, int64_t in, int64_t out, const char *name)
{
    tf_linear_opts_t o;
    tf_module_t *m;
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = in;
    o.out_features = out;
    o.name = name;
    assert_ok(tf_linear_create(&m, ctx, &o));
    return m;
}

static tf_tensor_t *tensor(tf_ctx_t *ctx, int32_t dtype, const int64_t *shape, uint32_t nd, double fill)
{
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, dtype, shape, nd));
    assert_ok(tf_tensor_fill(t, fill));
    return t;
}

/* The chunked head over more rows than one chunk holds (2^22 logits), with ignored rows and its
 * work split over one and two threads, equals a linear forward + cross-entropy + linear backward. */
typedef struct head_run {
    double loss;
    float *gx, *gw, *gb;
} head_run_t;

static void head_grads(tf_module_t *head, head_run_t *r, size_t nx, size_t nw, size_t nb)
{
    tf_tensor_t *w, *gw, *b, *gb;
    assert_ok(tf_module_param_find(&w, &gw, head, "weight"));
    assert_ok(tf_module_param_find(&b, &gb, head, "bias"));
    r->gw = malloc(nw * sizeof(float));
    r->gb = malloc(nb * sizeof(float));
    assert_non_null(r->gw);
    assert_non_null(r->gb);
    memcpy(r->gw, tf_tensor_data(gw), nw * sizeof(float));
    memcpy(r->gb, tf_tensor_data(gb), nb * sizeof(float));
    (void)nx;
}

static void test_chunked_head_on_two_threads(void **state)
{
    tf_ctx_t *ctx = *state;
    const int64_t N = 1800, K = 16, V = 2500; /* 4.5 M logits: two chunks */
    tf_linear_opts_t o;
    tf_module_t *head;
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = K;
    o.out_features = V;
    assert_ok(tf_linear_create(&head, ctx, &o));
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){N, K}, 2, 0);
    tf_tensor_t *tg = tensor(ctx, TF_DTYPE_I32, (int64_t[]){N}, 1, 0);
    float *xd = tf_tensor_data(x);
    int32_t *td = tf_tensor_data(tg);
    uint64_t lcg = 12345;
    for (int64_t i = 0; i < N * K; i++) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        xd[i] = (float)((double)(lcg >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
    for (int64_t r = 0; r < N; r++) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        td[r] = r % 7 == 0 ? 3 : 4 + (int32_t)((lcg >> 33) % (uint64_t)(V - 4)); /* 3: ignored */
    }
    const size_t nx = (size_t)(N * K), nw = (size_t)(V * K), nb = (size_t)V;
    /* Unchunked: the module, the loss on the materialised logits, the module's backward. */
    head_run_t want, one, two;
    tf_tensor_t *logits, *gl, *gx;
    assert_ok(tf_module_set_training(head, 1));
    assert_ok(tf_module_zero_grad(head));
    assert_ok(tf_module_forward(&logits, head, x, NULL));
    gl = tensor(ctx, TF_DTYPE_F32, (int64_t[]){N, V}, 2, 0);
    assert_ok(tf_loss_cross_entropy(logits, tg, 3, &want.loss, gl));
    assert_ok(tf_module_backward(&gx, head, gl));
    want.gx = malloc(nx * sizeof(float));
    assert_non_null(want.gx);
    memcpy(want.gx, tf_tensor_data(gx), nx * sizeof(float));
    head_grads(head, &want, nx, nw, nb);
    /* Chunked, on one thread and on two. */
    head_run_t *runs[2] = {&one, &two};
    for (int k = 0; k < 2; k++) {
        assert_ok(tf_ctx_set_num_threads(ctx, k + 1));
        assert_ok(tf_module_zero_grad(head));
        tf_tensor_t *g = tensor(ctx, TF_DTYPE_F32, (int64_t[]){N, K}, 2, 0);
        int64_t count;
        assert_ok(tf_linear_cross_entropy(head, x, tg, 3, 1, &runs[k]->loss, &count, g));
        assert_int_equal(count, N - (N + 6) / 7);
        runs[k]->gx = malloc(nx * sizeof(float));
        assert_non_null(runs[k]->gx);
        memcpy(runs[k]->gx, tf_tensor_data(g), nx * sizeof(float));
        head_grads(head, runs[k], nx, nw, nb);
        tf_tensor_free(g);
    }
    assert_ok(tf_ctx_set_num_threads(ctx, 1));
    for (int k = 0; k < 2; k++) {
        assert_true(fabs(runs[k]->loss - want.loss) <= 1e-6 * fabs(want.loss));
        const float *got[3] = {runs[k]->gx, runs[k]->gw, runs[k]->gb}, *ref[3] = {want.gx, want.gw, want.gb};
        const size_t n[3] = {nx, nw, nb};
        for (int a = 0; a < 3; a++) {
            float scale = 0;
            for (size_t i = 0; i < n[a]; i++)
                scale = fmaxf(scale, fabsf(ref[a][i]));
            for (size_t i = 0; i < n[a]; i++)
                if (!(fabsf(got[a][i] - ref[a][i]) <= 1e-5f * fabsf(ref[a][i]) + 1e-5f * scale))
                    fail_msg("%d thread(s), gradient %d[%zu]: chunked %.9g, unchunked %.9g", k + 1, a, i,
                             (double)got[a][i], (double)ref[a][i]);
        }
    }
    head_run_t *all[3] = {&want, &one, &two};
    for (int k = 0; k < 3; k++) {
        free(all[k]->gx);
        free(all[k]->gw);
        free(all[k]->gb);
    }
    tf_tensor_free(gl);
    tf_tensor_free(x);
    tf_tensor_free(tg);
    tf_module_free(head);
}

static void test_opts_init_errors(void **state)
{
    (void)state;
    tf_embedding_opts_t e;
    tf_linear_opts_t l;
    tf_dropout_opts_t d;
    tf_rnn_opts_t s;
    tf_encoder_opts_t c;
    assert_status(tf_embedding_opts_init(NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_embedding_opts_init(&e, 0), TF_STATUS_EVERSION);
    assert_status(tf_linear_opts_init(&l, 2), TF_STATUS_EVERSION);
    assert_status(tf_dropout_opts_init(NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_rnn_opts_init(&s, 99), TF_STATUS_EVERSION);
    assert_status(tf_encoder_opts_init(&c, 0), TF_STATUS_EVERSION);
    assert_ok(tf_embedding_opts_init(&e, TF_EMBEDDING_OPTS_VERSION));
    assert_int_equal(e.padding_idx, TF_NN_INDEX_NONE);
    assert_ok(tf_linear_opts_init(&l, TF_LINEAR_OPTS_VERSION));
    assert_int_equal(l.bias, 1);
    assert_ok(tf_dropout_opts_init(&d, TF_DROPOUT_OPTS_VERSION));
    assert_true(d.p == 0.5);
    assert_ok(tf_rnn_opts_init(&s, TF_RNN_OPTS_VERSION));
    assert_int_equal(s.num_layers, 1);
    assert_ok(tf_encoder_opts_init(&c, TF_ENCODER_OPTS_VERSION));
    assert_int_equal(c.embedding_dim, 100);
    assert_int_equal(c.hidden_size, 200);
}

static void test_create_errors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *m = (tf_module_t *)ctx;
    tf_embedding_opts_t e;
    tf_linear_opts_t l;
    tf_dropout_opts_t d;
    tf_rnn_opts_t s;
    tf_encoder_opts_t c;
    assert_ok(tf_embedding_opts_init(&e, TF_EMBEDDING_OPTS_VERSION));
    assert_status(tf_embedding_create(NULL, ctx, &e), TF_STATUS_EINVAL);
    assert_status(tf_embedding_create(&m, NULL, &e), TF_STATUS_EINVAL);
    assert_null(m);
    assert_status(tf_embedding_create(&m, ctx, NULL), TF_STATUS_EINVAL);
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EINVAL); /* sizes 0 */
    e.num_embeddings = 5;
    e.embedding_dim = 2;
    e.padding_idx = 5;
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EINVAL);
    e.padding_idx = -2;
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EINVAL);
    e.padding_idx = TF_NN_INDEX_NONE;
    e.struct_size = 8;
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EINVAL);
    e.struct_size = sizeof e;
    e.version = 7;
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EVERSION);
    e.version = TF_EMBEDDING_OPTS_VERSION;
    e.num_embeddings = INT64_MAX / 2;
    assert_status(tf_embedding_create(&m, ctx, &e), TF_STATUS_EOVERFLOW);

    assert_ok(tf_linear_opts_init(&l, TF_LINEAR_OPTS_VERSION));
    assert_status(tf_linear_create(&m, ctx, &l), TF_STATUS_EINVAL);
    l.in_features = 2;
    l.out_features = 2;
    l.bias = 2;
    assert_status(tf_linear_create(&m, ctx, &l), TF_STATUS_EINVAL);
    l.bias = 1;
    l.reserved = 1;
    assert_status(tf_linear_create(&m, ctx, &l), TF_STATUS_EINVAL);

    assert_ok(tf_dropout_opts_init(&d, TF_DROPOUT_OPTS_VERSION));
    d.p = 1.0;
    assert_status(tf_dropout_create(&m, ctx, &d), TF_STATUS_EINVAL);
    d.p = -0.1;
    assert_status(tf_dropout_create(&m, ctx, &d), TF_STATUS_EINVAL);
    d.p = NAN;
    assert_status(tf_dropout_create(&m, ctx, &d), TF_STATUS_EINVAL);
    assert_status(tf_dropout_create(&m, NULL, NULL), TF_STATUS_EINVAL);

    assert_ok(tf_rnn_opts_init(&s, TF_RNN_OPTS_VERSION));
    assert_status(tf_rnn_create(&m, ctx, &s), TF_STATUS_EINVAL);
    s.input_size = 2;
    s.hidden_size = 2;
    s.num_layers = 0;
    assert_status(tf_rnn_create(&m, ctx, &s), TF_STATUS_EINVAL);
    s.num_layers = 1;
    s.bidirectional = 2;
    assert_status(tf_rnn_create(&m, ctx, &s), TF_STATUS_EINVAL);
    s.bidirectional = 0;
    s.dropout = 1.5;
    assert_status(tf_rnn_create(&m, ctx, &s), TF_STATUS_EINVAL);
    s.dropout = 0;
    s.hidden_size = (int64_t)1 << 40;
    assert_status(tf_rnn_create(&m, ctx, &s), TF_STATUS_EOVERFLOW);

    assert_ok(tf_encoder_opts_init(&c, TF_ENCODER_OPTS_VERSION));
    assert_status(tf_encoder_create(&m, ctx, &c), TF_STATUS_EINVAL); /* vocab_size 0 */
    c.vocab_size = 10;
    c.input_features = -1;
    assert_status(tf_encoder_create(&m, ctx, &c), TF_STATUS_EINVAL);
    c.input_features = 0;
    c.num_layers = 0;
    assert_status(tf_encoder_create(&m, ctx, &c), TF_STATUS_EINVAL);
    assert_null(m);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_module_free(NULL);
    assert_int_equal(tf_module_kind(NULL), 0);
    assert_int_equal(tf_module_num_params(NULL), 0);
    assert_int_equal(tf_module_param_numel(NULL), 0);
    assert_int_equal(tf_module_is_training(NULL), 0);
}

static void expect_names(tf_module_t *m, const char *const *names, const int64_t (*shapes)[2], uint32_t n)
{
    assert_int_equal(tf_module_num_params(m), n);
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *name;
        tf_tensor_t *p, *g;
        assert_ok(tf_module_param_at(&name, &p, &g, m, i));
        assert_string_equal(name, names[i]);
        assert_int_equal(tf_tensor_dim(p, 0), shapes[i][0]);
        assert_int_equal(tf_tensor_ndim(p), shapes[i][1] ? 2 : 1);
        if (shapes[i][1])
            assert_int_equal(tf_tensor_dim(p, 1), shapes[i][1]);
        assert_int_equal(tf_tensor_numel(g), tf_tensor_numel(p));
        assert_int_equal(tf_tensor_dtype(p), TF_DTYPE_F32);
        assert_int_equal(tf_tensor_requires_grad(p), 1);
        total += tf_tensor_numel(p);
    }
    assert_int_equal(tf_module_param_numel(m), total);
}

static void test_param_names_lstm(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *m = lstm_new(ctx, 3, 4, 2, 1, NULL);
    static const char *const names[] = {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
    static const int64_t shapes[16][2] = {{16, 3}, {16, 4}, {16, 0}, {16, 0}, {16, 3}, {16, 4}, {16, 0}, {16, 0},
                                          {16, 8}, {16, 4}, {16, 0}, {16, 0}, {16, 8}, {16, 4}, {16, 0}, {16, 0}};
    expect_names(m, names, shapes, 16);
    assert_int_equal(tf_module_kind(m), TF_MODULE_LSTM);
    const char *name = NULL;
    assert_status(tf_module_param_at(&name, NULL, NULL, m, 16), TF_STATUS_EINVAL);
    assert_status(tf_module_param_at(&name, NULL, NULL, NULL, 0), TF_STATUS_EINVAL);
    tf_module_free(m);
    m = lstm_new(ctx, 3, 4, 1, 0, "lstm");
    static const char *const pre[] = {"lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"};
    expect_names(m, pre, shapes, 4);
    tf_module_free(m);
}

static void test_param_names_encoder_and_heads(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *enc = encoder_new(ctx, 10, 4, 3, 0), *num = encoder_new(ctx, 0, 4, 3, 2);
    static const char *const names[] = {"embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
                                        "lstm.bias_ih_l0", "lstm.bias_hh_l0"};
    static const int64_t shapes[5][2] = {{10, 4}, {12, 4}, {12, 3}, {12, 0}, {12, 0}};
    expect_names(enc, names, shapes, 5);
    static const char *const nnames[] = {"proj.weight", "proj.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
                                         "lstm.bias_ih_l0", "lstm.bias_hh_l0"};
    static const int64_t nshapes[6][2] = {{4, 2}, {4, 0}, {12, 4}, {12, 3}, {12, 0}, {12, 0}};
    expect_names(num, nnames, nshapes, 6);
    tf_module_t *lin = linear_new(ctx, 3, 2, NULL), *head = linear_new(ctx, 3, 2, "head");
    static const char *const ln[] = {"weight", "bias"}, *const hn[] = {"head.weight", "head.bias"};
    static const int64_t lshapes[2][2] = {{2, 3}, {2, 0}};
    expect_names(lin, ln, lshapes, 2);
    expect_names(head, hn, lshapes, 2);
    /* A tied head lists only its bias; its weight is the embedding's. */
    tf_linear_opts_t o;
    tf_module_t *lm, *bad;
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = 4;
    o.out_features = 10;
    o.name = "lm_head";
    assert_ok(tf_linear_create_tied(&lm, ctx, enc, &o));
    static const char *const tn[] = {"lm_head.bias"};
    static const int64_t tshapes[1][2] = {{10, 0}};
    expect_names(lm, tn, tshapes, 1);
    assert_status(tf_linear_create_tied(&bad, ctx, num, &o), TF_STATUS_EINVAL);
    assert_status(tf_linear_create_tied(&bad, ctx, head, &o), TF_STATUS_EINVAL);
    o.in_features = 5;
    assert_status(tf_linear_create_tied(&bad, ctx, enc, &o), TF_STATUS_EINVAL);
    assert_status(tf_linear_create_tied(&bad, ctx, NULL, &o), TF_STATUS_EINVAL);
    assert_null(bad);
    /* Find by name. */
    tf_tensor_t *p, *g;
    assert_ok(tf_module_param_find(&p, &g, enc, "lstm.bias_hh_l0"));
    assert_int_equal(tf_tensor_dim(p, 0), 12);
    assert_status(tf_module_param_find(&p, &g, enc, "lstm.bias_hh_l1"), TF_STATUS_ENOTFOUND);
    assert_null(p);
    assert_null(g);
    assert_true(strstr(tf_last_error_message(), "lstm.bias_hh_l1") != NULL);
    assert_status(tf_module_param_find(&p, &g, enc, NULL), TF_STATUS_EINVAL);
    assert_status(tf_module_param_find(&p, &g, NULL, "x"), TF_STATUS_EINVAL);
    tf_module_free(lm);
    tf_module_free(lin);
    tf_module_free(head);
    tf_module_free(num);
    tf_module_free(enc);
}

static void test_same_seed_same_weights(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *a, *b, *c;
    tf_tensor_t *pa, *pb, *pc;
    assert_ok(tf_ctx_reseed(ctx, 5));
    a = encoder_new(ctx, 20, 4, 3, 0);
    assert_ok(tf_ctx_reseed(ctx, 5));
    b = encoder_new(ctx, 20, 4, 3, 0);
    c = encoder_new(ctx, 20, 4, 3, 0);
    for (uint32_t i = 0; i < tf_module_num_params(a); i++) {
        assert_ok(tf_module_param_at(NULL, &pa, NULL, a, i));
        assert_ok(tf_module_param_at(NULL, &pb, NULL, b, i));
        assert_ok(tf_module_param_at(NULL, &pc, NULL, c, i));
        assert_memory_equal(tf_tensor_data(pa), tf_tensor_data(pb), tf_tensor_nbytes(pa));
        assert_memory_not_equal(tf_tensor_data(pa), tf_tensor_data(pc), tf_tensor_nbytes(pa));
    }
    /* LSTM weights are within 1/sqrt(H); the embedding is N(0, 1) (some values beyond 1). */
    assert_ok(tf_module_param_find(&pa, NULL, a, "lstm.weight_hh_l0"));
    const float *w = tf_tensor_data(pa);
    for (int64_t i = 0; i < tf_tensor_numel(pa); i++)
        assert_true(fabsf(w[i]) <= 1.0f / sqrtf(3.0f));
    assert_ok(tf_module_param_find(&pa, NULL, a, "embedding.weight"));
    w = tf_tensor_data(pa);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < 80; i++) {
        s += w[i];
        s2 += (double)w[i] * w[i];
    }
    assert_true(fabs(s / 80) < 0.4 && s2 / 80 > 0.5 && s2 / 80 < 1.6);
    tf_module_free(a);
    tf_module_free(b);
    tf_module_free(c);
}

static void test_freeze_and_modes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *enc = encoder_new(ctx, 10, 4, 3, 0);
    tf_tensor_t *p;
    assert_status(tf_module_freeze(enc, "decoder.", 1), TF_STATUS_ENOTFOUND);
    assert_status(tf_module_freeze(enc, "lstm.", 2), TF_STATUS_EINVAL);
    assert_status(tf_module_freeze(enc, NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_module_freeze(NULL, "", 1), TF_STATUS_EINVAL);
    assert_ok(tf_module_freeze(enc, "lstm.", 1));
    assert_ok(tf_module_param_find(&p, NULL, enc, "lstm.weight_ih_l0"));
    assert_int_equal(tf_tensor_requires_grad(p), 0);
    assert_ok(tf_module_param_find(&p, NULL, enc, "embedding.weight"));
    assert_int_equal(tf_tensor_requires_grad(p), 1);
    assert_ok(tf_module_freeze(enc, "", 0));
    assert_ok(tf_module_param_find(&p, NULL, enc, "lstm.weight_ih_l0"));
    assert_int_equal(tf_tensor_requires_grad(p), 1);

    assert_int_equal(tf_module_is_training(enc), 1);
    assert_status(tf_module_set_training(enc, 3), TF_STATUS_EINVAL);
    assert_status(tf_module_set_training(NULL, 1), TF_STATUS_EINVAL);
    assert_ok(tf_module_set_training(enc, 0));
    assert_int_equal(tf_module_is_training(enc), 0);
    /* Evaluation-mode forward keeps nothing for backward. */
    tf_tensor_t *tok = tensor(ctx, TF_DTYPE_I32, (int64_t[]){2, 2}, 2, 3), *y;
    tf_tensor_t *gy = tensor(ctx, TF_DTYPE_F32, (int64_t[]){2, 2, 3}, 3, 1);
    assert_ok(tf_module_forward(&y, enc, tok, NULL));
    assert_status(tf_module_backward(NULL, enc, gy), TF_STATUS_ESTATE);
    assert_status(tf_rnn_backward(NULL, NULL, NULL, enc, gy, NULL, NULL), TF_STATUS_ESTATE);
    assert_ok(tf_module_set_training(enc, 1));
    assert_ok(tf_module_forward(&y, enc, tok, NULL));
    assert_ok(tf_module_backward(NULL, enc, gy));
    assert_ok(tf_module_zero_grad(enc));
    assert_status(tf_module_zero_grad(NULL), TF_STATUS_EINVAL);
    tf_tensor_t *g;
    assert_ok(tf_module_param_at(NULL, NULL, &g, enc, 1));
    for (int64_t i = 0; i < tf_tensor_numel(g); i++)
        assert_true(((float *)tf_tensor_data(g))[i] == 0.0f);
    tf_tensor_free(tok);
    tf_tensor_free(gy);
    tf_module_free(enc);
}

static void test_dropout_modes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *d;
    tf_dropout_opts_t o;
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){1000}, 1, 2.0), *y;
    assert_ok(tf_dropout_opts_init(&o, TF_DROPOUT_OPTS_VERSION));
    o.p = 0.25;
    assert_ok(tf_dropout_create(&d, ctx, &o));
    assert_int_equal(tf_module_kind(d), TF_MODULE_DROPOUT);
    assert_int_equal(tf_module_num_params(d), 0);
    assert_ok(tf_module_forward(&y, d, x, NULL));
    int zeros = 0;
    for (int i = 0; i < 1000; i++) {
        float v = ((float *)tf_tensor_data(y))[i];
        assert_true(v == 0.0f || fabsf(v - 2.0f / 0.75f) < 1e-6f);
        zeros += v == 0.0f;
    }
    assert_true(zeros > 180 && zeros < 320);
    assert_ok(tf_module_set_training(d, 0));
    assert_ok(tf_module_forward(&y, d, x, NULL));
    for (int i = 0; i < 1000; i++)
        assert_true(((float *)tf_tensor_data(y))[i] == 2.0f);
    tf_tensor_t *xi = tensor(ctx, TF_DTYPE_I32, (int64_t[]){4}, 1, 1);
    assert_status(tf_module_forward(&y, d, xi, NULL), TF_STATUS_EDTYPE);
    assert_null(y);
    tf_tensor_free(xi);
    tf_tensor_free(x);
    tf_module_free(d);
}

static void test_forward_errors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *enc = encoder_new(ctx, 10, 4, 3, 0), *lstm = lstm_new(ctx, 4, 3, 2, 0, NULL);
    tf_module_t *lin = linear_new(ctx, 4, 2, NULL);
    tf_tensor_t *tok = tensor(ctx, TF_DTYPE_I32, (int64_t[]){3, 2}, 2, 1);
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 4}, 3, 0.5);
    tf_tensor_t *x5 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 5}, 3, 0.5);
    tf_tensor_t *len = tensor(ctx, TF_DTYPE_I32, (int64_t[]){2}, 1, 3);
    tf_tensor_t *lenf = tensor(ctx, TF_DTYPE_F32, (int64_t[]){2}, 1, 3);
    tf_tensor_t *len3 = tensor(ctx, TF_DTYPE_I32, (int64_t[]){3}, 1, 3);
    tf_tensor_t *h0 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){2, 2, 3}, 3, 0);
    tf_tensor_t *h0bad = tensor(ctx, TF_DTYPE_F32, (int64_t[]){1, 2, 3}, 3, 0);
    tf_tensor_t *y = (tf_tensor_t *)ctx, *hn, *cn;
    assert_status(tf_module_forward(&y, NULL, tok, NULL), TF_STATUS_EINVAL);
    assert_null(y);
    assert_status(tf_module_forward(&y, enc, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf_module_forward(NULL, enc, tok, NULL), TF_STATUS_EINVAL);
    assert_status(tf_module_forward(&y, enc, x, NULL), TF_STATUS_EDTYPE);
    assert_status(tf_module_forward(&y, lstm, tok, NULL), TF_STATUS_EDTYPE);
    assert_status(tf_module_forward(&y, lstm, x5, NULL), TF_STATUS_ESHAPE);
    assert_status(tf_module_forward(&y, lin, x5, NULL), TF_STATUS_ESHAPE);
    assert_status(tf_module_forward(&y, lstm, x, lenf), TF_STATUS_EDTYPE);
    assert_status(tf_module_forward(&y, lstm, x, len3), TF_STATUS_ESHAPE);
    /* Lengths out of range name the sequence. */
    ((int32_t *)tf_tensor_data(len))[1] = 0;
    assert_status(tf_module_forward(&y, lstm, x, len), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "lengths[1]") != NULL);
    ((int32_t *)tf_tensor_data(len))[1] = 4;
    assert_status(tf_module_forward(&y, enc, tok, len), TF_STATUS_EINVAL);
    ((int32_t *)tf_tensor_data(len))[1] = 2;
    /* A token outside the vocabulary names its position; padded steps are not checked. */
    ((int32_t *)tf_tensor_data(tok))[1 * 2 + 0] = 10;
    assert_status(tf_module_forward(&y, enc, tok, len), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "token id 10 at (t=1, b=0)") != NULL);
    ((int32_t *)tf_tensor_data(tok))[1 * 2 + 0] = 1;
    ((int32_t *)tf_tensor_data(tok))[2 * 2 + 1] = -5; /* t=2 >= lengths[1] = 2: padding */
    assert_ok(tf_module_forward(&y, enc, tok, len));
    assert_int_equal(tf_tensor_dim(y, 2), 3);
    for (int j = 0; j < 3; j++) /* padded output is zero */
        assert_true(((float *)tf_tensor_data(y))[(2 * 2 + 1) * 3 + j] == 0.0f);
    assert_status(tf_module_forward(&y, enc, tok, NULL), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "token id -5 at (t=2, b=1)") != NULL);
    /* States. */
    assert_ok(tf_rnn_forward(&y, &hn, &cn, lstm, x, NULL, h0, h0));
    assert_int_equal(tf_tensor_dim(hn, 0), 2);
    assert_status(tf_rnn_forward(&y, &hn, &cn, lstm, x, NULL, h0bad, NULL), TF_STATUS_ESHAPE);
    assert_null(hn);
    assert_status(tf_rnn_forward(&y, &hn, &cn, lin, x, NULL, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf_rnn_forward(&y, &hn, &cn, NULL, x, NULL, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf_rnn_forward(&y, &hn, &cn, lstm, NULL, NULL, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf_rnn_backward(NULL, NULL, NULL, lin, NULL, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf_rnn_backward(NULL, NULL, NULL, NULL, NULL, NULL, NULL), TF_STATUS_EINVAL);
    tf_tensor_free(tok);
    tf_tensor_free(x);
    tf_tensor_free(x5);
    tf_tensor_free(len);
    tf_tensor_free(lenf);
    tf_tensor_free(len3);
    tf_tensor_free(h0);
    tf_tensor_free(h0bad);
    tf_module_free(enc);
    tf_module_free(lstm);
    tf_module_free(lin);
}

static void test_backward_errors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *lstm = lstm_new(ctx, 4, 3, 1, 1, NULL), *lin = linear_new(ctx, 4, 2, NULL);
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 4}, 3, 0.5), *y, *dx = (tf_tensor_t *)ctx;
    tf_tensor_t *gy = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 6}, 3, 1);
    tf_tensor_t *gbad = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 3}, 3, 1);
    tf_tensor_t *gint = tensor(ctx, TF_DTYPE_I32, (int64_t[]){3, 2, 6}, 3, 1);
    assert_status(tf_module_backward(&dx, lstm, gy), TF_STATUS_ESTATE);
    assert_null(dx);
    assert_status(tf_module_backward(&dx, lin, gy), TF_STATUS_ESTATE);
    assert_ok(tf_module_forward(&y, lstm, x, NULL));
    assert_status(tf_module_backward(&dx, NULL, gy), TF_STATUS_EINVAL);
    assert_status(tf_module_backward(&dx, lstm, NULL), TF_STATUS_EINVAL);
    assert_status(tf_module_backward(&dx, lstm, gbad), TF_STATUS_ESHAPE);
    assert_status(tf_module_backward(&dx, lstm, gint), TF_STATUS_EDTYPE);
    assert_status(tf_rnn_backward(&dx, NULL, NULL, lstm, gy, gbad, NULL), TF_STATUS_ESHAPE);
    assert_ok(tf_module_backward(&dx, lstm, gy));
    assert_int_equal(tf_tensor_dim(dx, 2), 4);
    assert_ok(tf_module_forward(&y, lin, x, NULL));
    assert_int_equal(tf_tensor_dim(y, 2), 2);
    assert_status(tf_module_backward(&dx, lin, gy), TF_STATUS_ESHAPE);
    tf_tensor_free(x);
    tf_tensor_free(gy);
    tf_tensor_free(gbad);
    tf_tensor_free(gint);
    tf_module_free(lstm);
    tf_module_free(lin);
}

static void test_loss_errors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *z = tensor(ctx, TF_DTYPE_F32, (int64_t[]){4, 3}, 2, 0.1);
    tf_tensor_t *t = tensor(ctx, TF_DTYPE_I32, (int64_t[]){4}, 1, 1);
    tf_tensor_t *t5 = tensor(ctx, TF_DTYPE_I32, (int64_t[]){5}, 1, 1);
    tf_tensor_t *tf = tensor(ctx, TF_DTYPE_F32, (int64_t[]){4, 3}, 2, 0.5);
    tf_tensor_t *g = tensor(ctx, TF_DTYPE_F32, (int64_t[]){4, 3}, 2, 0);
    tf_tensor_t *g2 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 4}, 2, 0);
    double loss;
    assert_status(tf_loss_cross_entropy(NULL, t, -1, &loss, g), TF_STATUS_EINVAL);
    assert_status(tf_loss_cross_entropy(z, NULL, -1, &loss, g), TF_STATUS_EINVAL);
    assert_status(tf_loss_cross_entropy(z, t, -1, NULL, g), TF_STATUS_EINVAL);
    assert_status(tf_loss_cross_entropy(z, tf, -1, &loss, g), TF_STATUS_EDTYPE);
    assert_status(tf_loss_cross_entropy(t, t, -1, &loss, g), TF_STATUS_EDTYPE);
    assert_status(tf_loss_cross_entropy(z, t5, -1, &loss, g), TF_STATUS_ESHAPE);
    assert_status(tf_loss_cross_entropy(z, t, -1, &loss, g2), TF_STATUS_ESHAPE);
    ((int32_t *)tf_tensor_data(t))[2] = 3;
    assert_status(tf_loss_cross_entropy(z, t, -1, &loss, g), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "row 2") != NULL);
    assert_ok(tf_loss_cross_entropy(z, t, 3, &loss, NULL)); /* 3 is the ignore index now */
    assert_true(fabs(loss - log(3.0)) < 1e-6);
    assert_ok(tf_tensor_fill(t, 3));
    assert_ok(tf_loss_cross_entropy(z, t, 3, &loss, g)); /* everything ignored */
    assert_true(loss == 0.0);
    assert_status(tf_loss_bce_with_logits(z, t, &loss, g), TF_STATUS_EDTYPE);
    assert_status(tf_loss_bce_with_logits(z, tf, NULL, g), TF_STATUS_EINVAL);
    assert_status(tf_loss_bce_with_logits(z, tf, &loss, g2), TF_STATUS_ESHAPE);
    ((float *)tf_tensor_data(tf))[5] = 1.5f;
    assert_status(tf_loss_bce_with_logits(z, tf, &loss, g), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "element 5") != NULL);
    assert_status(tf_loss_mse(z, t5, &loss, g), TF_STATUS_EDTYPE);
    assert_status(tf_loss_mse(NULL, tf, &loss, g), TF_STATUS_EINVAL);
    tf_tensor_t *small = tensor(ctx, TF_DTYPE_F32, (int64_t[]){5}, 1, 0);
    assert_status(tf_loss_mse(z, small, &loss, NULL), TF_STATUS_ESHAPE);
    /* Known values: BCE(0, 1) = log 2; MSE of 0.1 vs 0.5 = 0.16. */
    assert_ok(tf_tensor_fill(tf, 0.5));
    assert_ok(tf_loss_mse(z, tf, &loss, g));
    assert_true(fabs(loss - 0.16) < 1e-6);
    assert_ok(tf_tensor_fill(z, 0));
    assert_ok(tf_tensor_fill(tf, 1));
    assert_ok(tf_loss_bce_with_logits(z, tf, &loss, g));
    assert_true(fabs(loss - log(2.0)) < 1e-7);
    /* Large logits stay finite. */
    assert_ok(tf_tensor_fill(z, 1e4));
    assert_ok(tf_tensor_fill(tf, 0));
    assert_ok(tf_loss_bce_with_logits(z, tf, &loss, g));
    assert_true(fabs(loss - 1e4) < 1e-3);
    assert_ok(tf_tensor_fill(t, 0));
    assert_ok(tf_loss_cross_entropy(z, t, -1, &loss, g));
    assert_true(isfinite(loss));
    tf_tensor_free(small);
    tf_tensor_free(z);
    tf_tensor_free(t);
    tf_tensor_free(t5);
    tf_tensor_free(tf);
    tf_tensor_free(g);
    tf_tensor_free(g2);
}

static void test_pool_errors(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 3}, 3, 1), *xi = tensor(ctx, TF_DTYPE_I32, (int64_t[]){3, 2, 3}, 3, 1);
    tf_tensor_t *o = tensor(ctx, TF_DTYPE_F32, (int64_t[]){2, 3}, 2, 0), *o2 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){2, 6}, 2, 0);
    tf_tensor_t *len = tensor(ctx, TF_DTYPE_I32, (int64_t[]){2}, 1, 4), *dx = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 3}, 3, 0);
    assert_status(tf_pool_forward(NULL, NULL, TF_POOL_MEAN, 1, o), TF_STATUS_EINVAL);
    assert_status(tf_pool_forward(x, NULL, TF_POOL_MEAN, 1, NULL), TF_STATUS_EINVAL);
    assert_status(tf_pool_forward(x, NULL, 0, 1, o), TF_STATUS_EINVAL);
    assert_status(tf_pool_forward(x, NULL, 8, 1, o), TF_STATUS_EINVAL);
    assert_status(tf_pool_forward(x, NULL, TF_POOL_MEAN, 3, o), TF_STATUS_EINVAL);
    assert_status(tf_pool_forward(x, NULL, TF_POOL_MEAN, 2, o), TF_STATUS_ESHAPE); /* odd D */
    assert_status(tf_pool_forward(xi, NULL, TF_POOL_MEAN, 1, o), TF_STATUS_EDTYPE);
    assert_status(tf_pool_forward(o, NULL, TF_POOL_MEAN, 1, o), TF_STATUS_ESHAPE);
    assert_status(tf_pool_forward(x, NULL, TF_POOL_MEAN | TF_POOL_MAX, 1, o), TF_STATUS_ESHAPE);
    assert_status(tf_pool_forward(x, len, TF_POOL_MEAN, 1, o), TF_STATUS_EINVAL);
    assert_ok(tf_pool_forward(x, NULL, TF_POOL_MEAN | TF_POOL_MAX, 1, o2));
    assert_ok(tf_pool_forward(x, NULL, TF_POOL_MEAN, 1, o));
    assert_true(((float *)tf_tensor_data(o))[0] == 1.0f);
    assert_status(tf_pool_backward(x, NULL, TF_POOL_MEAN, 1, o, NULL), TF_STATUS_EINVAL);
    assert_status(tf_pool_backward(x, NULL, TF_POOL_MEAN, 1, o2, dx), TF_STATUS_ESHAPE);
    assert_status(tf_pool_backward(x, NULL, TF_POOL_MEAN, 1, o, o2), TF_STATUS_ESHAPE);
    assert_ok(tf_pool_backward(x, NULL, TF_POOL_MEAN, 1, o, dx));
    assert_true(fabsf(((float *)tf_tensor_data(dx))[0] - 1.0f / 3.0f) < 1e-7f);
    tf_tensor_free(x);
    tf_tensor_free(xi);
    tf_tensor_free(o);
    tf_tensor_free(o2);
    tf_tensor_free(len);
    tf_tensor_free(dx);
}

/* The tied head's weight gradient lands in the embedding's gradient and equals the gradient of an
 * untied head holding the same weight. */
static void test_tied_head_gradient(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_embedding_opts_t eo;
    tf_linear_opts_t o;
    tf_module_t *emb, *tied, *plain;
    assert_ok(tf_embedding_opts_init(&eo, TF_EMBEDDING_OPTS_VERSION));
    eo.num_embeddings = 7;
    eo.embedding_dim = 3;
    assert_ok(tf_embedding_create(&emb, ctx, &eo));
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = 3;
    o.out_features = 7;
    assert_ok(tf_linear_create_tied(&tied, ctx, emb, &o));
    assert_ok(tf_linear_create(&plain, ctx, &o));
    tf_tensor_t *ew, *eg, *pw, *pg, *tb, *pb;
    assert_ok(tf_module_param_at(NULL, &ew, &eg, emb, 0));
    assert_ok(tf_module_param_find(&pw, &pg, plain, "weight"));
    assert_ok(tf_module_param_find(&pb, NULL, plain, "bias"));
    assert_ok(tf_module_param_find(&tb, NULL, tied, "bias"));
    memcpy(tf_tensor_data(pw), tf_tensor_data(ew), tf_tensor_nbytes(ew));
    memcpy(tf_tensor_data(pb), tf_tensor_data(tb), tf_tensor_nbytes(tb));
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){5, 3}, 2, 0.3), *tg = tensor(ctx, TF_DTYPE_I32, (int64_t[]){5}, 1, 2);
    tf_tensor_t *g1 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){5, 3}, 2, 0), *g2 = tensor(ctx, TF_DTYPE_F32, (int64_t[]){5, 3}, 2, 0);
    ((float *)tf_tensor_data(x))[4] = -1.0f;
    double l1, l2;
    assert_ok(tf_linear_cross_entropy(tied, x, tg, TF_NN_INDEX_NONE, 1, &l1, NULL, g1));
    assert_ok(tf_linear_cross_entropy(plain, x, tg, TF_NN_INDEX_NONE, 1, &l2, NULL, g2));
    assert_true(l1 == l2);
    assert_memory_equal(tf_tensor_data(eg), tf_tensor_data(pg), tf_tensor_nbytes(pg));
    assert_memory_equal(tf_tensor_data(g1), tf_tensor_data(g2), tf_tensor_nbytes(g2));
    /* Frozen embedding: the tied head adds nothing to it. */
    assert_ok(tf_module_zero_grad(emb));
    assert_ok(tf_module_freeze(emb, "weight", 1));
    assert_ok(tf_linear_cross_entropy(tied, x, tg, TF_NN_INDEX_NONE, 1, &l1, NULL, g1));
    for (int64_t i = 0; i < tf_tensor_numel(eg); i++)
        assert_true(((float *)tf_tensor_data(eg))[i] == 0.0f);
    /* Argument checks. */
    assert_status(tf_linear_cross_entropy(emb, x, tg, -1, 1, &l1, NULL, g1), TF_STATUS_EINVAL);
    assert_status(tf_linear_cross_entropy(NULL, x, tg, -1, 1, &l1, NULL, g1), TF_STATUS_EINVAL);
    assert_status(tf_linear_cross_entropy(tied, x, tg, -1, 2, &l1, NULL, g1), TF_STATUS_EINVAL);
    assert_status(tf_linear_cross_entropy(tied, x, tg, -1, 1, NULL, NULL, g1), TF_STATUS_EINVAL);
    assert_status(tf_linear_cross_entropy(tied, tg, tg, -1, 1, &l1, NULL, g1), TF_STATUS_EDTYPE);
    assert_status(tf_linear_cross_entropy(tied, x, x, -1, 1, &l1, NULL, g1), TF_STATUS_EDTYPE);
    ((int32_t *)tf_tensor_data(tg))[3] = 7;
    assert_status(tf_linear_cross_entropy(tied, x, tg, -1, 1, &l1, NULL, g1), TF_STATUS_EINVAL);
    assert_true(strstr(tf_last_error_message(), "row 3") != NULL);
    tf_tensor_free(x);
    tf_tensor_free(tg);
    tf_tensor_free(g1);
    tf_tensor_free(g2);
    tf_module_free(tied);
    tf_module_free(plain);
    tf_module_free(emb);
}

/* Over a vocabulary large enough for several chunks, the chunked head matches a double-precision
 * softmax cross-entropy computed here (a float linear + loss over 2^18 classes would itself be
 * off by ~1e-5 in a plain-loop build: a 262,147-term float sum). */
static void test_chunked_head_matches_double_reference(void **state)
{
    tf_ctx_t *ctx = *state;
    const int64_t V = ((int64_t)1 << 18) + 3, N = 20, K = 3;
    tf_module_t *a = linear_new(ctx, K, V, NULL);
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){N, K}, 2, 0), *t = tensor(ctx, TF_DTYPE_I32, (int64_t[]){N}, 1, 0);
    float *xd = tf_tensor_data(x);
    int32_t *td = tf_tensor_data(t);
    for (int64_t i = 0; i < N * K; i++)
        xd[i] = (float)sin((double)i);
    for (int64_t i = 0; i < N; i++)
        td[i] = (int32_t)((i * 104729) % V);
    td[7] = 5; /* ignored */
    tf_tensor_t *gx = tensor(ctx, TF_DTYPE_F32, (int64_t[]){N, K}, 2, 0), *w, *gw, *b, *gb;
    double loss;
    int64_t count;
    assert_ok(tf_linear_cross_entropy(a, x, t, 5, 1, &loss, &count, gx));
    assert_int_equal(count, N - 1);
    assert_ok(tf_module_param_find(&w, &gw, a, "weight"));
    assert_ok(tf_module_param_find(&b, &gb, a, "bias"));
    const float *W = tf_tensor_data(w), *bias = tf_tensor_data(b);
    /* The reference, in double. */
    double *z = calloc((size_t)V, sizeof(double)), *dx = calloc((size_t)(N * K), sizeof(double));
    double *dw = calloc((size_t)(V * K), sizeof(double)), *db = calloc((size_t)V, sizeof(double));
    assert_true(z && dx && dw && db);
    double want_loss = 0.0, c = 1.0 / (double)(N - 1);
    for (int64_t r = 0; r < N; r++) {
        if (td[r] == 5)
            continue;
        double mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < V; j++) {
            z[j] = bias[j];
            for (int64_t k = 0; k < K; k++)
                z[j] += (double)xd[r * K + k] * W[j * K + k];
            mx = fmax(mx, z[j]);
        }
        for (int64_t j = 0; j < V; j++)
            sum += exp(z[j] - mx);
        want_loss += (log(sum) + mx - z[td[r]]) * c;
        for (int64_t j = 0; j < V; j++) {
            const double dz = (exp(z[j] - mx) / sum - (j == td[r])) * c;
            for (int64_t k = 0; k < K; k++) {
                dx[r * K + k] += dz * W[j * K + k];
                dw[j * K + k] += dz * xd[r * K + k];
            }
            db[j] += dz;
        }
    }
    assert_true(fabs(loss - want_loss) <= 1e-6 * fabs(want_loss));
    const float *got[3] = {tf_tensor_data(gx), tf_tensor_data(gw), tf_tensor_data(gb)};
    const double *ref[3] = {dx, dw, db};
    const int64_t n[3] = {N * K, V * K, V};
    const char *names[3] = {"dx", "dW", "db"};
    for (int q = 0; q < 3; q++) {
        double scale = 0.0;
        for (int64_t i = 0; i < n[q]; i++)
            scale = fmax(scale, fabs(ref[q][i]));
        for (int64_t i = 0; i < n[q]; i++)
            if (!(fabs(got[q][i] - ref[q][i]) <= 1e-5 * fabs(ref[q][i]) + 1e-6 * scale))
                fail_msg("%s[%lld]: chunked %.9g, double reference %.9g", names[q], (long long)i,
                         (double)got[q][i], ref[q][i]);
    }
    free(z);
    free(dx);
    free(dw);
    free(db);
    tf_tensor_free(x);
    tf_tensor_free(t);
    tf_tensor_free(gx);
    tf_module_free(a);
}

/* The working memory follows the batch: a larger batch grows it, a smaller one reuses it, and
 * results do not depend on what ran before. */
static void test_workspace_reuse_across_shapes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *enc = encoder_new(ctx, 10, 4, 3, 0);
    tf_tensor_t *small = tensor(ctx, TF_DTYPE_I32, (int64_t[]){3, 2}, 2, 0);
    tf_tensor_t *big = tensor(ctx, TF_DTYPE_I32, (int64_t[]){7, 5}, 2, 4);
    tf_tensor_t *gs = tensor(ctx, TF_DTYPE_F32, (int64_t[]){3, 2, 3}, 3, 0.5);
    tf_tensor_t *gb = tensor(ctx, TF_DTYPE_F32, (int64_t[]){7, 5, 3}, 3, 0.5);
    tf_tensor_t *y, *g;
    for (int i = 0; i < 6; i++)
        ((int32_t *)tf_tensor_data(small))[i] = i + 1;
    float first[18], grad1[48];
    assert_ok(tf_module_forward(&y, enc, small, NULL));
    memcpy(first, tf_tensor_data(y), sizeof first);
    assert_ok(tf_module_backward(NULL, enc, gs));
    assert_ok(tf_module_param_at(NULL, NULL, &g, enc, 1));
    memcpy(grad1, tf_tensor_data(g), sizeof grad1);
    uint64_t bytes = tf_ctx_allocated_bytes(ctx);
    assert_ok(tf_module_forward(&y, enc, big, NULL));
    assert_int_equal(tf_tensor_dim(y, 0), 7);
    assert_ok(tf_module_backward(NULL, enc, gb));
    assert_true(tf_ctx_allocated_bytes(ctx) > bytes);
    bytes = tf_ctx_allocated_bytes(ctx);
    assert_ok(tf_module_zero_grad(enc));
    assert_ok(tf_module_forward(&y, enc, small, NULL));
    assert_memory_equal(first, tf_tensor_data(y), sizeof first);
    assert_ok(tf_module_backward(NULL, enc, gs));
    assert_memory_equal(grad1, tf_tensor_data(g), sizeof grad1);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), bytes); /* no allocation for a smaller batch */
    tf_tensor_free(small);
    tf_tensor_free(big);
    tf_tensor_free(gs);
    tf_tensor_free(gb);
    tf_module_free(enc);
}

/* Values at padded steps never matter: NaN there leaves outputs and gradients finite. */
static void test_nan_in_padded_steps(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *mods[2] = {lstm_new(ctx, 2, 3, 2, 1, NULL), encoder_new(ctx, 0, 4, 3, 2)};
    tf_tensor_t *x = tensor(ctx, TF_DTYPE_F32, (int64_t[]){4, 2, 2}, 3, 0.5);
    tf_tensor_t *len = tensor(ctx, TF_DTYPE_I32, (int64_t[]){2}, 1, 4);
    ((int32_t *)tf_tensor_data(len))[1] = 2;
    for (int64_t t = 2; t < 4; t++)
        for (int j = 0; j < 2; j++)
            ((float *)tf_tensor_data(x))[(t * 2 + 1) * 2 + j] = NAN;
    for (int k = 0; k < 2; k++) {
        tf_tensor_t *y, *dx, *g;
        assert_ok(tf_module_forward(&y, mods[k], x, len));
        for (int64_t i = 0; i < tf_tensor_numel(y); i++)
            assert_true(isfinite(((float *)tf_tensor_data(y))[i]));
        tf_tensor_t *gy = tensor(ctx, TF_DTYPE_F32, (int64_t[]){4, 2, tf_tensor_dim(y, 2)}, 3, 1);
        assert_ok(tf_module_backward(&dx, mods[k], gy));
        for (uint32_t i = 0; i < tf_module_num_params(mods[k]); i++) {
            assert_ok(tf_module_param_at(NULL, NULL, &g, mods[k], i));
            for (int64_t j = 0; j < tf_tensor_numel(g); j++)
                assert_true(isfinite(((float *)tf_tensor_data(g))[j]));
        }
        tf_tensor_free(gy);
        tf_module_free(mods[k]);
    }
    tf_tensor_free(x);
    tf_tensor_free(len);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_init_errors),
        cmocka_unit_test_setup_teardown(test_create_errors, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_chunked_head_on_two_threads, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_param_names_lstm, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_param_names_encoder_and_heads, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_same_seed_same_weights, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_freeze_and_modes, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_dropout_modes, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_forward_errors, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_backward_errors, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_loss_errors, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_pool_errors, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_tied_head_gradient, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_chunked_head_matches_double_reference, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_workspace_reuse_across_shapes, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_nan_in_padded_steps, tf_test_setup_ctx, tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
