/* SPDX-License-Identifier: MIT */
/* Allocation-failure sweeps: fail the N-th allocation for every N of creating each module and of
 * one forward + backward; each failure returns TF_STATUS_ENOMEM, leaks nothing, and leaves the
 * module freeable (and usable again once memory is back). */
#include "tf_test.h"

#include <string.h>

typedef tf_status_t (*create_fn)(tf_module_t **out, tf_ctx_t *ctx);

static tf_status_t mk_embedding(tf_module_t **out, tf_ctx_t *ctx)
{
    tf_embedding_opts_t o;
    tf_embedding_opts_init(&o, TF_EMBEDDING_OPTS_VERSION);
    o.num_embeddings = 9;
    o.embedding_dim = 4;
    o.padding_idx = 0;
    return tf_embedding_create(out, ctx, &o);
}

static tf_status_t mk_linear(tf_module_t **out, tf_ctx_t *ctx)
{
    tf_linear_opts_t o;
    tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION);
    o.in_features = 4;
    o.out_features = 3;
    o.name = "head";
    return tf_linear_create(out, ctx, &o);
}

static tf_status_t mk_dropout(tf_module_t **out, tf_ctx_t *ctx)
{
    return tf_dropout_create(out, ctx, NULL);
}

/* A stacked bidirectional recurrent module of `cell` with dropout. */
static tf_status_t mk_stack(tf_module_t **out, tf_ctx_t *ctx, int32_t cell)
{
    tf_rnn_opts_t o;
    tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION);
    o.input_size = 4;
    o.hidden_size = 3;
    o.num_layers = 2;
    o.bidirectional = 1;
    o.dropout = 0.25;
    o.name = "rnn";
    o.cell = cell;
    return tf_rnn_create(out, ctx, &o);
}

static tf_status_t mk_lstm(tf_module_t **out, tf_ctx_t *ctx)
{
    return mk_stack(out, ctx, TF_CELL_LSTM);
}

static tf_status_t mk_gru(tf_module_t **out, tf_ctx_t *ctx)
{
    return mk_stack(out, ctx, TF_CELL_GRU);
}

/* A token encoder of `cell`: two bidirectional layers with dropout. */
static tf_status_t mk_token_encoder(tf_module_t **out, tf_ctx_t *ctx, int32_t cell)
{
    tf_encoder_opts_t o;
    tf_encoder_opts_init(&o, TF_ENCODER_OPTS_VERSION);
    o.vocab_size = 9;
    o.embedding_dim = 4;
    o.hidden_size = 3;
    o.num_layers = 2;
    o.bidirectional = 1;
    o.dropout = 0.1;
    o.cell = cell;
    return tf_encoder_create(out, ctx, &o);
}

static tf_status_t mk_encoder(tf_module_t **out, tf_ctx_t *ctx)
{
    return mk_token_encoder(out, ctx, TF_CELL_LSTM);
}

static tf_status_t mk_encoder_gru(tf_module_t **out, tf_ctx_t *ctx)
{
    return mk_token_encoder(out, ctx, TF_CELL_GRU);
}

static tf_status_t mk_encoder_numeric(tf_module_t **out, tf_ctx_t *ctx)
{
    tf_encoder_opts_t o;
    tf_encoder_opts_init(&o, TF_ENCODER_OPTS_VERSION);
    o.input_features = 4;
    o.embedding_dim = 4;
    o.hidden_size = 3;
    return tf_encoder_create(out, ctx, &o);
}

static void sweep_create(create_fn mk)
{
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        tf_module_t *m = (tf_module_t *)ctx;
        ta.fail_at = ta.attempts + n;
        tf_status_t st = mk(&m, ctx);
        if (st == TF_STATUS_OK) {
            assert_true(n > 1);
            tf_module_free(m);
            assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
            tf_ctx_free(ctx);
            break;
        }
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_null(m);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
    }
}

static void test_create_embedding(void **state)
{
    (void)state;
    sweep_create(mk_embedding);
}

static void test_create_linear(void **state)
{
    (void)state;
    sweep_create(mk_linear);
}

static void test_create_dropout(void **state)
{
    (void)state;
    sweep_create(mk_dropout);
}

static void test_create_lstm(void **state)
{
    (void)state;
    sweep_create(mk_lstm);
}

static void test_create_gru(void **state)
{
    (void)state;
    sweep_create(mk_gru);
}

static void test_create_encoder_gru(void **state)
{
    (void)state;
    sweep_create(mk_encoder_gru);
}

static void test_create_encoder(void **state)
{
    (void)state;
    sweep_create(mk_encoder);
}

static void test_create_encoder_numeric(void **state)
{
    (void)state;
    sweep_create(mk_encoder_numeric);
}

static void test_create_tied_head(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_module_t *emb, *head = NULL;
        tf_linear_opts_t o;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_ok(mk_encoder(&emb, ctx));
        uint64_t bytes = tf_ctx_allocated_bytes(ctx);
        tf_linear_opts_init(&o, TF_LINEAR_OPTS_VERSION);
        o.in_features = 4;
        o.out_features = 9;
        o.name = "lm_head";
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf_linear_create_tied(&head, ctx, emb, &o);
        int done = st == TF_STATUS_OK;
        if (!done) {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            assert_null(head);
            assert_int_equal(tf_ctx_allocated_bytes(ctx), bytes);
        }
        tf_module_free(head);
        tf_module_free(emb);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        if (done)
            break;
    }
}

/* Forward + backward with the N-th allocation failing, for every N until it succeeds. */
static tf_status_t step(tf_module_t *m, tf_tensor_t *x, tf_tensor_t *len, tf_tensor_t *gy)
{
    tf_tensor_t *y, *dx;
    tf_status_t st = tf_module_forward(&y, m, x, len);
    if (st != TF_STATUS_OK)
        return st;
    return tf_module_backward(&dx, m, gy);
}

static void sweep_step(create_fn mk, int tokens)
{
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_module_t *m;
        tf_tensor_t *x, *len, *gy, *y;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_ok(mk(&m, ctx));
        int32_t kind = tf_module_kind(m);
        int64_t T = 3, B = 2, out = kind == TF_MODULE_LINEAR ? 3 : kind == TF_MODULE_DROPOUT ? 4 :
                                      kind == TF_MODULE_EMBEDDING ? 4 : 6;
        if (kind == TF_MODULE_ENCODER && tokens == 0)
            out = 3;
        if (tokens) {
            assert_ok(tf_tensor_create(&x, ctx, TF_DTYPE_I32, (int64_t[]){T, B}, 2));
            assert_ok(tf_tensor_fill(x, 1));
        } else {
            assert_ok(tf_tensor_create(&x, ctx, TF_DTYPE_F32, (int64_t[]){T, B, 4}, 3));
            assert_ok(tf_tensor_fill(x, 0.5));
        }
        assert_ok(tf_tensor_create(&len, ctx, TF_DTYPE_I32, (int64_t[]){B}, 1));
        assert_ok(tf_tensor_fill(len, 2));
        assert_ok(tf_tensor_create(&gy, ctx, TF_DTYPE_F32, (int64_t[]){T, B, out}, 3));
        assert_ok(tf_tensor_fill(gy, 1));
        tf_tensor_t *lens = (kind == TF_MODULE_LINEAR || kind == TF_MODULE_DROPOUT) ? NULL : len;
        ta.fail_at = ta.attempts + n;
        tf_status_t st = step(m, x, lens, gy);
        ta.fail_at = 0;
        int done = st == TF_STATUS_OK;
        if (!done) {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            /* Usable again once memory is back. */
            assert_ok(step(m, x, lens, gy));
            assert_ok(tf_module_forward(&y, m, x, lens));
        }
        tf_module_free(m);
        tf_tensor_free(x);
        tf_tensor_free(len);
        tf_tensor_free(gy);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        if (done) {
            assert_true(n > 1);
            break;
        }
    }
}

static void test_step_embedding(void **state)
{
    (void)state;
    sweep_step(mk_embedding, 1);
}

static void test_step_linear(void **state)
{
    (void)state;
    sweep_step(mk_linear, 0);
}

static void test_step_dropout(void **state)
{
    (void)state;
    sweep_step(mk_dropout, 0);
}

static void test_step_lstm(void **state)
{
    (void)state;
    sweep_step(mk_lstm, 0);
}

static void test_step_gru(void **state)
{
    (void)state;
    sweep_step(mk_gru, 0);
}

static void test_step_encoder_gru(void **state)
{
    (void)state;
    sweep_step(mk_encoder_gru, 1);
}

static void test_step_encoder(void **state)
{
    (void)state;
    sweep_step(mk_encoder, 1);
}

static void test_step_encoder_numeric(void **state)
{
    (void)state;
    sweep_step(mk_encoder_numeric, 0);
}

static void test_step_linear_cross_entropy(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_module_t *m;
        tf_tensor_t *x, *t, *gx;
        double loss;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_ok(mk_linear(&m, ctx));
        assert_ok(tf_tensor_create(&x, ctx, TF_DTYPE_F32, (int64_t[]){5, 4}, 2));
        assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, (int64_t[]){5}, 1));
        assert_ok(tf_tensor_create(&gx, ctx, TF_DTYPE_F32, (int64_t[]){5, 4}, 2));
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf_linear_cross_entropy(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, gx);
        ta.fail_at = 0;
        int done = st == TF_STATUS_OK;
        if (!done) {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            assert_ok(tf_linear_cross_entropy(m, x, t, TF_NN_INDEX_NONE, 1, &loss, NULL, gx));
        }
        tf_module_free(m);
        tf_tensor_free(x);
        tf_tensor_free(t);
        tf_tensor_free(gx);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        if (done)
            break;
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_embedding),
        cmocka_unit_test(test_create_linear),
        cmocka_unit_test(test_create_dropout),
        cmocka_unit_test(test_create_lstm),
        cmocka_unit_test(test_create_gru),
        cmocka_unit_test(test_create_encoder_gru),
        cmocka_unit_test(test_create_encoder),
        cmocka_unit_test(test_create_encoder_numeric),
        cmocka_unit_test(test_create_tied_head),
        cmocka_unit_test(test_step_embedding),
        cmocka_unit_test(test_step_linear),
        cmocka_unit_test(test_step_dropout),
        cmocka_unit_test(test_step_lstm),
        cmocka_unit_test(test_step_gru),
        cmocka_unit_test(test_step_encoder_gru),
        cmocka_unit_test(test_step_encoder),
        cmocka_unit_test(test_step_encoder_numeric),
        cmocka_unit_test(test_step_linear_cross_entropy),
    };
    return TF_TEST_RUN(tests);
}
