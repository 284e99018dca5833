/* SPDX-License-Identifier: MIT */
/* The recurrent-cell table (lib/nn/cell.c): lookups, PyTorch parameter names, and the layer a
 * parameter name belongs to (what gradual unfreezing and discriminative rates ask). */
#include "tf_test.h"
#include "nn/nn_internal.h"

#include <string.h>

static void test_table_lookup(void **state)
{
    (void)state;
    const tf__cell_ops_t *lstm = tf__cell_get(TF_CELL_LSTM);
    assert_non_null(lstm);
    assert_string_equal(lstm->name, "lstm");
    assert_int_equal(lstm->gates, 4);
    assert_int_equal(lstm->module_kind, TF_MODULE_LSTM);
    assert_int_equal(tf__cell_find("lstm"), TF_CELL_LSTM);
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    assert_non_null(gru);
    assert_string_equal(gru->name, "gru");
    assert_int_equal(gru->gates, 3);
    assert_int_equal(gru->cell_state, 0);
    assert_int_equal(gru->module_kind, TF_MODULE_GRU);
    assert_int_equal(tf__cell_find("gru"), TF_CELL_GRU);
    assert_int_equal(tf__cell_find("LSTM"), -1);
    assert_int_equal(tf__cell_find(""), -1);
    assert_int_equal(tf__cell_find(NULL), -1);
    assert_null(tf__cell_get(-1));
    assert_null(tf__cell_get(tf__cell_count()));
    for (int32_t i = 0; i < tf__cell_count(); i++) {
        const tf__cell_ops_t *c = tf__cell_get(i);
        assert_non_null(c);
        assert_int_equal(tf__cell_find(c->name), i); /* names are unique */
        assert_true(c->gates >= 1 && c->forward != NULL && c->backward != NULL);
        assert_true(c->cache_floats != NULL && c->work_floats != NULL);
    }
}

static void test_param_names(void **state)
{
    (void)state;
    char buf[64];
    tf__cell_param_local(buf, sizeof buf, 0, 0, 0);
    assert_string_equal(buf, "weight_ih_l0");
    tf__cell_param_local(buf, sizeof buf, 3, 12, 1);
    assert_string_equal(buf, "bias_hh_l12_reverse");
}

static void test_param_layer(void **state)
{
    (void)state;
    assert_int_equal(tf__cell_param_layer("lstm.weight_ih_l0"), 0);
    assert_int_equal(tf__cell_param_layer("lstm.weight_hh_l3"), 3);
    assert_int_equal(tf__cell_param_layer("lstm.bias_ih_l1_reverse"), 1);
    assert_int_equal(tf__cell_param_layer("lstm.bias_hh_l10"), 10);
    assert_int_equal(tf__cell_param_layer("gru.weight_ih_l0"), 0);
    assert_int_equal(tf__cell_param_layer("gru.bias_hh_l2_reverse"), 2);
    /* Not a recurrent layer's parameter. */
    static const char *const no[] = {"embedding.weight", "proj.weight", "head.bias", "lstm.weight_ih_l",
                                     "lstm.weight_ih_lx", "lstm.weight_ih_l1_rev", "lstm.weight_ih_l1x",
                                     "lstmx.weight_ih_l0", "xlstm.weight_ih_l0", "weight_ih_l0",
                                     "lstm.weight_xx_l0", "lstm.weight_ih_l-1", "lstm.weight_ih_l+1",
                                     "lstm.weight_ih_l99999", "", "lstm.", "grux.weight_ih_l0"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(tf__cell_param_layer(no[i]), -1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_lookup),
        cmocka_unit_test(test_param_names),
        cmocka_unit_test(test_param_layer),
    };
    return TF_TEST_RUN(tests);
}
