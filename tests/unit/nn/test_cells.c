/* SPDX-License-Identifier: MIT */
/* Recurrent cells through the public API: choosing the cell, a GRU's parameter names and shapes,
 * hostile input to a GRU (a cell state it does not have, bad shapes and cells), and options
 * structs of version 1 (before `cell`) still making LSTMs. */
#include "tf_test.h"

#include <stddef.h>
#include <string.h>

static tf_module_t *gru_new(tf_ctx_t *ctx, int64_t I, int64_t H, int32_t L, int32_t bi, const char *name)
{
    tf_rnn_opts_t o;
    tf_module_t *m;
    assert_ok(tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION));
    o.input_size = I;
    o.hidden_size = H;
    o.num_layers = L;
    o.bidirectional = bi;
    o.name = name;
    o.cell = TF_CELL_GRU;
    assert_ok(tf_rnn_create(&m, ctx, &o));
    return m;
}

static void test_gru_param_names_and_shapes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *m = gru_new(ctx, 3, 4, 2, 1, "gru");
    assert_int_equal(tf_module_kind(m), TF_MODULE_GRU);
    static const char *const names[] = {"gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
                                        "gru.weight_ih_l0_reverse", "gru.weight_hh_l0_reverse",
                                        "gru.bias_ih_l0_reverse", "gru.bias_hh_l0_reverse",
                                        "gru.weight_ih_l1", "gru.weight_hh_l1", "gru.bias_ih_l1", "gru.bias_hh_l1",
                                        "gru.weight_ih_l1_reverse", "gru.weight_hh_l1_reverse",
                                        "gru.bias_ih_l1_reverse", "gru.bias_hh_l1_reverse"};
    /* torch.nn.GRU(3, 4, 2, bidirectional=True): 3H = 12 rows; layer 1 reads 2H = 8. */
    static const int64_t cols[16] = {3, 4, 0, 0, 3, 4, 0, 0, 8, 4, 0, 0, 8, 4, 0, 0};
    assert_int_equal(tf_module_num_params(m), 16);
    int64_t total = 0;
    for (uint32_t i = 0; i < 16; i++) {
        const char *name;
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(&name, &p, NULL, m, i));
        assert_string_equal(name, names[i]);
        assert_int_equal(tf_tensor_dim(p, 0), 12);
        assert_int_equal(tf_tensor_ndim(p), cols[i] ? 2 : 1);
        if (cols[i])
            assert_int_equal(tf_tensor_dim(p, 1), cols[i]);
        total += tf_tensor_numel(p);
    }
    assert_int_equal(tf_module_param_numel(m), total);
    tf_module_free(m);
}

static void test_gru_hostile_input(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *m = gru_new(ctx, 3, 4, 1, 0, NULL);
    tf_tensor_t *x, *xbad, *xi, *h0, *hbad, *c0, *y, *hn, *cn, *dx, *dh0, *dc0;
    assert_ok(tf_tensor_create(&x, ctx, TF_DTYPE_F32, (int64_t[]){5, 2, 3}, 3));
    assert_ok(tf_tensor_fill(x, 0.5));
    assert_ok(tf_tensor_create(&xbad, ctx, TF_DTYPE_F32, (int64_t[]){5, 2, 4}, 3));
    assert_ok(tf_tensor_create(&xi, ctx, TF_DTYPE_I32, (int64_t[]){5, 2, 3}, 3));
    assert_ok(tf_tensor_create(&h0, ctx, TF_DTYPE_F32, (int64_t[]){1, 2, 4}, 3));
    assert_ok(tf_tensor_create(&hbad, ctx, TF_DTYPE_F32, (int64_t[]){2, 2, 4}, 3));
    assert_ok(tf_tensor_create(&c0, ctx, TF_DTYPE_F32, (int64_t[]){1, 2, 4}, 3));
    /* A GRU has no cell state: c0 is refused, c_n is NULL. */
    assert_status(tf_rnn_forward(&y, &hn, &cn, m, x, NULL, h0, c0), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "GRU"));
    assert_status(tf_rnn_forward(&y, NULL, NULL, m, xbad, NULL, NULL, NULL), TF_STATUS_ESHAPE);
    assert_status(tf_rnn_forward(&y, NULL, NULL, m, xi, NULL, NULL, NULL), TF_STATUS_EDTYPE);
    assert_status(tf_rnn_forward(&y, NULL, NULL, m, x, NULL, hbad, NULL), TF_STATUS_ESHAPE);
    cn = x;
    assert_ok(tf_rnn_forward(&y, &hn, &cn, m, x, NULL, h0, NULL));
    assert_null(cn);
    assert_int_equal(tf_tensor_dim(hn, 0), 1);
    assert_int_equal(tf_tensor_dim(y, 2), 4);
    /* Backward: a c_n gradient is refused, the c0 gradient is NULL. */
    assert_ok(tf_tensor_fill(h0, 0.25));
    assert_status(tf_rnn_backward(&dx, &dh0, &dc0, m, y, NULL, c0), TF_STATUS_EINVAL);
    dc0 = x;
    assert_ok(tf_rnn_backward(&dx, &dh0, &dc0, m, y, h0, NULL));
    assert_null(dc0);
    assert_non_null(dh0);
    assert_non_null(dx);
    tf_tensor_free(x);
    tf_tensor_free(xbad);
    tf_tensor_free(xi);
    tf_tensor_free(h0);
    tf_tensor_free(hbad);
    tf_tensor_free(c0);
    tf_module_free(m);
}

static void test_unknown_cell_is_refused(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_rnn_opts_t o;
    tf_encoder_opts_t e;
    tf_module_t *m = (tf_module_t *)ctx;
    assert_ok(tf_rnn_opts_init(&o, TF_RNN_OPTS_VERSION));
    assert_int_equal(o.cell, TF_CELL_LSTM);
    o.input_size = o.hidden_size = 2;
    const int32_t bad[] = {-1, 2, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.cell = bad[i];
        assert_status(tf_rnn_create(&m, ctx, &o), TF_STATUS_EINVAL);
        assert_null(m);
        assert_non_null(strstr(tf_last_error_message(), "cell"));
    }
    assert_ok(tf_encoder_opts_init(&e, TF_ENCODER_OPTS_VERSION));
    assert_int_equal(e.cell, TF_CELL_LSTM);
    e.vocab_size = 5;
    e.cell = 2;
    assert_status(tf_encoder_create(&m, ctx, &e), TF_STATUS_EINVAL);
    assert_null(m);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
}

/* Version 1 of the options had no `cell`: init writes only version 1's bytes, and create reads
 * only those (whatever follows in memory), making an LSTM. */
static void test_version_1_options_make_an_lstm(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_module_t *m;
    tf_rnn_opts_t o;
    memset(&o, 0x7f, sizeof o);
    assert_ok(tf_rnn_opts_init(&o, 1));
    assert_int_equal(o.struct_size, offsetof(tf_rnn_opts_t, cell));
    assert_int_equal(o.version, 1);
    assert_int_equal(o.cell, 0x7f7f7f7f); /* not written */
    o.input_size = 3;
    o.hidden_size = 2;
    assert_ok(tf_rnn_create(&m, ctx, &o));
    assert_int_equal(tf_module_kind(m), TF_MODULE_LSTM);
    tf_module_free(m);

    tf_encoder_opts_t e;
    memset(&e, 0x7f, sizeof e);
    assert_ok(tf_encoder_opts_init(&e, 1));
    assert_int_equal(e.struct_size, offsetof(tf_encoder_opts_t, cell));
    assert_int_equal(e.cell, 0x7f7f7f7f);
    e.vocab_size = 5;
    e.embedding_dim = 2;
    e.hidden_size = 2;
    assert_ok(tf_encoder_create(&m, ctx, &e));
    const char *name;
    assert_ok(tf_module_param_at(&name, NULL, NULL, m, 1));
    assert_string_equal(name, "lstm.weight_ih_l0");
    tf_module_free(m);
    /* A version-1 struct smaller than version 1 is refused. */
    o.struct_size = (uint32_t)offsetof(tf_rnn_opts_t, cell) - 8;
    assert_status(tf_rnn_create(&m, ctx, &o), TF_STATUS_EINVAL);
}

static void test_encoder_gru_names_its_parameters_gru(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_encoder_opts_t e;
    tf_module_t *m;
    assert_ok(tf_encoder_opts_init(&e, TF_ENCODER_OPTS_VERSION));
    e.vocab_size = 5;
    e.embedding_dim = 2;
    e.hidden_size = 3;
    e.cell = TF_CELL_GRU;
    assert_ok(tf_encoder_create(&m, ctx, &e));
    assert_int_equal(tf_module_kind(m), TF_MODULE_ENCODER);
    assert_int_equal(tf_module_num_params(m), 5);
    const char *name;
    tf_tensor_t *p;
    assert_ok(tf_module_param_at(&name, &p, NULL, m, 1));
    assert_string_equal(name, "gru.weight_ih_l0");
    assert_int_equal(tf_tensor_dim(p, 0), 9);
    tf_module_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gru_param_names_and_shapes, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_gru_hostile_input, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_unknown_cell_is_refused, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_version_1_options_make_an_lstm, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_encoder_gru_names_its_parameters_gru, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
