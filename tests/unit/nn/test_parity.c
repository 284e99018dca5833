/* SPDX-License-Identifier: MIT */
/* Parity with PyTorch: fixtures written by tests/reference/gen_nn_fixtures.py and, for the GRU,
 * gen_gru_fixtures.py (torch 1.13) hold
 * inputs, parameters, outputs and every gradient; the modules must match to 1e-5 relative. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-6

static tf_tensor_t *fx_tensor(tf_ctx_t *ctx, const tf_fixture_t *fx, const char *name, int32_t dtype)
{
    int64_t dims[4], n;
    uint32_t nd;
    tf_tensor_t *t;
    tf_fixture_shape(fx, name, dims, &nd);
    assert_ok(tf_tensor_create(&t, ctx, dtype, dims, nd));
    const void *src = dtype == TF_DTYPE_F32 ? (const void *)tf_fixture_f32(fx, name, &n)
                                            : (const void *)tf_fixture_i32(fx, name, &n);
    assert_ok(tf_tensor_copy_from(t, src, (size_t)n * 4));
    return t;
}

/* Load every "p.<prefix><name>" into the module parameter "<name>" after stripping nothing: the
 * module names must equal PyTorch's. Every module parameter must be in the fixture. */
static void load_params(tf_module_t *m, const tf_fixture_t *fx, const char *fx_prefix)
{
    for (uint32_t i = 0; i < tf_module_num_params(m); i++) {
        const char *name;
        tf_tensor_t *p;
        char key[128];
        int64_t n, dims[4];
        uint32_t nd;
        assert_ok(tf_module_param_at(&name, &p, NULL, m, i));
        snprintf(key, sizeof key, "p.%s%s", fx_prefix, name);
        const float *src = tf_fixture_f32(fx, key, &n);
        tf_fixture_shape(fx, key, dims, &nd);
        assert_int_equal(nd, tf_tensor_ndim(p));
        for (uint32_t d = 0; d < nd; d++)
            assert_int_equal(dims[d], tf_tensor_dim(p, d));
        assert_ok(tf_tensor_copy_from(p, src, (size_t)n * 4));
    }
}

static void check_grads(tf_module_t *m, const tf_fixture_t *fx, const char *fx_prefix)
{
    for (uint32_t i = 0; i < tf_module_num_params(m); i++) {
        const char *name;
        tf_tensor_t *g;
        char key[128];
        int64_t n;
        assert_ok(tf_module_param_at(&name, NULL, &g, m, i));
        snprintf(key, sizeof key, "g.%s%s", fx_prefix, name);
        const float *want = tf_fixture_f32(fx, key, &n);
        assert_int_equal(n, tf_tensor_numel(g));
        tf_assert_close_f32(key, tf_tensor_data(g), want, n, RTOL, ATOL);
    }
}

static void close_to(const char *what, tf_tensor_t *got, const tf_fixture_t *fx, const char *name)
{
    int64_t n;
    const float *want = tf_fixture_f32(fx, name, &n);
    assert_non_null(got);
    assert_int_equal(n, tf_tensor_numel(got));
    tf_assert_close_f32(what, tf_tensor_data(got), want, n, RTOL, ATOL);
}

/* A recurrent module of `cell` against its fixture (a GRU's has no c0, c_n or their gradients). */
static void rnn_parity(tf_ctx_t *ctx, const char *file, int32_t cell)
{
    tf_fixture_t *fx = tf_fixture_load(file);
    const int32_t *cfg = tf_fixture_i32(fx, "cfg", NULL);
    tf_rnn_opts_t o;
    tf_module_t *m;
    assert_ok(tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION));
    o.input_size = cfg[0];
    o.hidden_size = cfg[1];
    o.num_layers = cfg[2];
    o.bidirectional = cfg[3] == 2;
    o.cell = cell;
    assert_ok(tf_rnn_create(&m, ctx, &o));
    assert_int_equal(tf_module_kind(m), cell == TF_CELL_GRU ? TF_MODULE_GRU : TF_MODULE_LSTM);
    load_params(m, fx, "");
    tf_tensor_t *x = fx_tensor(ctx, fx, "x", TF_DTYPE_F32);
    tf_tensor_t *len = tf_fixture_has(fx, "lengths") ? fx_tensor(ctx, fx, "lengths", TF_DTYPE_I32) : NULL;
    tf_tensor_t *h0 = tf_fixture_has(fx, "h0") ? fx_tensor(ctx, fx, "h0", TF_DTYPE_F32) : NULL;
    tf_tensor_t *c0 = tf_fixture_has(fx, "c0") ? fx_tensor(ctx, fx, "c0", TF_DTYPE_F32) : NULL;
    tf_tensor_t *gy = fx_tensor(ctx, fx, "gy", TF_DTYPE_F32);
    tf_tensor_t *ghn = fx_tensor(ctx, fx, "ghn", TF_DTYPE_F32);
    tf_tensor_t *gcn = tf_fixture_has(fx, "gcn") ? fx_tensor(ctx, fx, "gcn", TF_DTYPE_F32) : NULL;
    tf_tensor_t *y, *hn, *cn, *dx, *dh0, *dc0;
    assert_ok(tf_rnn_forward(&y, &hn, &cn, m, x, len, h0, c0));
    close_to("y", y, fx, "y");
    close_to("h_n", hn, fx, "h_n");
    if (gcn)
        close_to("c_n", cn, fx, "c_n");
    else
        assert_null(cn);
    assert_ok(tf_rnn_backward(&dx, &dh0, &dc0, m, gy, ghn, gcn));
    check_grads(m, fx, "");
    close_to("grad input", dx, fx, "g.input");
    if (h0) {
        close_to("grad h0", dh0, fx, "g.h0");
        if (c0)
            close_to("grad c0", dc0, fx, "g.c0");
    }
    /* A second backward accumulates: gradients double. */
    tf_tensor_t *g0;
    assert_ok(tf_module_param_at(NULL, NULL, &g0, m, 0));
    float first = ((float *)tf_tensor_data(g0))[0];
    assert_ok(tf_rnn_backward(NULL, NULL, NULL, m, gy, ghn, gcn));
    assert_float_equal(((float *)tf_tensor_data(g0))[0], 2.0f * first, 1e-5 * (1.0 + 2.0 * fabs((double)first)));
    tf_tensor_free(x);
    tf_tensor_free(len);
    tf_tensor_free(h0);
    tf_tensor_free(c0);
    tf_tensor_free(gy);
    tf_tensor_free(ghn);
    tf_tensor_free(gcn);
    tf_module_free(m);
    tf_fixture_free(fx);
}

static void test_gru_one_layer_with_state(void **state)
{
    rnn_parity(*state, "nn_gru_l1.tfx", TF_CELL_GRU);
}

static void test_gru_two_layers_lengths(void **state)
{
    rnn_parity(*state, "nn_gru_l2_len.tfx", TF_CELL_GRU);
}

static void test_gru_bidirectional_two_layers_lengths(void **state)
{
    rnn_parity(*state, "nn_gru_bi2_len.tfx", TF_CELL_GRU);
}

static void test_gru_bidirectional_two_layers_lengths_large_batch(void **state)
{
    rnn_parity(*state, "nn_gru_bi2_len_b66.tfx", TF_CELL_GRU);
}

static void test_lstm_one_layer_with_state(void **state)
{
    rnn_parity(*state, "nn_lstm_l1.tfx", TF_CELL_LSTM);
}

static void test_lstm_one_layer_lengths(void **state)
{
    rnn_parity(*state, "nn_lstm_l1_len.tfx", TF_CELL_LSTM);
}

static void test_lstm_two_layers_lengths(void **state)
{
    rnn_parity(*state, "nn_lstm_l2_len.tfx", TF_CELL_LSTM);
}

static void test_lstm_bidirectional(void **state)
{
    rnn_parity(*state, "nn_lstm_bi.tfx", TF_CELL_LSTM);
}

static void test_lstm_bidirectional_two_layers_lengths(void **state)
{
    rnn_parity(*state, "nn_lstm_bi2_len.tfx", TF_CELL_LSTM);
}

static tf_module_t *make_encoder(tf_ctx_t *ctx, const int32_t *cfg, int32_t bi)
{
    tf_encoder_opts_t o;
    tf_module_t *enc;
    assert_ok(tf_encoder_opts_init(&o, TF_ENCODER_OPTS_VERSION));
    o.vocab_size = cfg[0];
    o.embedding_dim = cfg[1];
    o.hidden_size = cfg[2];
    o.padding_idx = cfg[5];
    o.bidirectional = bi;
    assert_ok(tf_encoder_create(&enc, ctx, &o));
    return enc;
}

static tf_module_t *make_head(tf_ctx_t *ctx, int64_t in, int64_t out)
{
    tf_linear_opts_t o;
    tf_module_t *head;
    assert_ok(tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION));
    o.in_features = in;
    o.out_features = out;
    o.name = "head";
    assert_ok(tf_linear_create(&head, ctx, &o));
    return head;
}

/* Embedding + LSTM + linear per step + cross-entropy (ignore index), both through the separate
 * modules and the chunked head. */
static void test_model_cross_entropy(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_fixture_t *fx = tf_fixture_load("nn_model_ce.tfx");
    const int32_t *cfg = tf_fixture_i32(fx, "cfg", NULL);
    int64_t V = cfg[0], H = cfg[2], T = cfg[3], B = cfg[4];
    tf_module_t *enc = make_encoder(ctx, cfg, 0), *head = make_head(ctx, H, V);
    load_params(enc, fx, "");
    load_params(head, fx, "");
    tf_tensor_t *tok = fx_tensor(ctx, fx, "tokens", TF_DTYPE_I32);
    tf_tensor_t *tgt = fx_tensor(ctx, fx, "targets", TF_DTYPE_I32);
    tf_tensor_t *len = fx_tensor(ctx, fx, "lengths", TF_DTYPE_I32);
    tf_tensor_t *y, *logits, *dlogits, *dy, *dy2;
    double loss, want = tf_fixture_scalar(fx, "loss");
    int64_t count;
    for (int pass = 0; pass < 2; pass++) {
        assert_ok(tf_module_zero_grad(enc));
        assert_ok(tf_module_zero_grad(head));
        assert_ok(tf_module_forward(&y, enc, tok, len));
        if (pass == 0) {
            assert_ok(tf_module_forward(&logits, head, y, NULL));
            close_to("logits", logits, fx, "logits");
            assert_ok(tf_tensor_create(&dlogits, ctx, TF_DTYPE_F32, (int64_t[]){T, B, V}, 3));
            assert_ok(tf_loss_cross_entropy(logits, tgt, cfg[5], &loss, dlogits));
            assert_ok(tf_module_backward(&dy, head, dlogits));
            tf_tensor_free(dlogits);
        } else {
            assert_ok(tf_tensor_create(&dy2, ctx, TF_DTYPE_F32, (int64_t[]){T, B, H}, 3));
            assert_ok(tf_linear_cross_entropy(head, y, tgt, cfg[5], 1, &loss, &count, dy2));
            assert_int_equal(count, 13); /* 6 + 3 + 5 valid steps, one target ignored */
            dy = dy2;
        }
        assert_true(fabs(loss - want) <= 1e-5 * fabs(want));
        assert_ok(tf_module_backward(NULL, enc, dy));
        check_grads(enc, fx, "");
        check_grads(head, fx, "");
        if (pass == 1)
            tf_tensor_free(dy2);
    }
    tf_tensor_free(tok);
    tf_tensor_free(tgt);
    tf_tensor_free(len);
    tf_module_free(head);
    tf_module_free(enc);
    tf_fixture_free(fx);
}

/* Embedding + bidirectional LSTM, last-step pooling (equal to PyTorch's h_n), linear, BCE. */
static void test_model_bce_pool_last(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_fixture_t *fx = tf_fixture_load("nn_model_bce.tfx");
    const int32_t *cfg = tf_fixture_i32(fx, "cfg", NULL);
    int64_t H = cfg[2], T = cfg[3], B = cfg[4];
    tf_module_t *enc = make_encoder(ctx, cfg, 1), *head = make_head(ctx, 2 * H, 1);
    load_params(enc, fx, "");
    load_params(head, fx, "");
    tf_tensor_t *tok = fx_tensor(ctx, fx, "tokens", TF_DTYPE_I32);
    tf_tensor_t *lab = fx_tensor(ctx, fx, "labels", TF_DTYPE_F32);
    tf_tensor_t *len = fx_tensor(ctx, fx, "lengths", TF_DTYPE_I32);
    tf_tensor_t *y, *pooled, *logits, *dlogits, *dpooled, *dy;
    double loss, want = tf_fixture_scalar(fx, "loss");
    assert_ok(tf_tensor_create(&pooled, ctx, TF_DTYPE_F32, (int64_t[]){B, 2 * H}, 2));
    assert_ok(tf_tensor_create(&dlogits, ctx, TF_DTYPE_F32, (int64_t[]){B, 1}, 2));
    assert_ok(tf_tensor_create(&dy, ctx, TF_DTYPE_F32, (int64_t[]){T, B, 2 * H}, 3));
    assert_ok(tf_module_forward(&y, enc, tok, len));
    assert_ok(tf_pool_forward(y, len, TF_POOL_LAST, 2, pooled));
    close_to("pooled", pooled, fx, "pooled");
    assert_ok(tf_module_forward(&logits, head, pooled, NULL));
    close_to("logits", logits, fx, "logits");
    assert_ok(tf_loss_bce_with_logits(logits, lab, &loss, dlogits));
    assert_true(fabs(loss - want) <= 1e-5 * fabs(want));
    assert_ok(tf_module_backward(&dpooled, head, dlogits));
    assert_ok(tf_pool_backward(y, len, TF_POOL_LAST, 2, dpooled, dy));
    assert_ok(tf_module_backward(NULL, enc, dy));
    check_grads(enc, fx, "");
    check_grads(head, fx, "");
    tf_tensor_free(pooled);
    tf_tensor_free(dlogits);
    tf_tensor_free(dy);
    tf_tensor_free(tok);
    tf_tensor_free(lab);
    tf_tensor_free(len);
    tf_module_free(head);
    tf_module_free(enc);
    tf_fixture_free(fx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gru_one_layer_with_state, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_gru_two_layers_lengths, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_gru_bidirectional_two_layers_lengths, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_gru_bidirectional_two_layers_lengths_large_batch, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_lstm_one_layer_with_state, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_lstm_one_layer_lengths, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_lstm_two_layers_lengths, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_lstm_bidirectional, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_lstm_bidirectional_two_layers_lengths, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_model_cross_entropy, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_model_bce_pool_last, tf_test_setup_ctx, tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
