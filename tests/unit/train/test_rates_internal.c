/* SPDX-License-Identifier: MIT */
/* Discriminative rates (tf__finetune_set_rates) on an 11-layer bidirectional model, where the
 * names of layer 1 ("lstm.weight_ih_l1") are prefixes of layer 10's ("lstm.weight_ih_l10"): every
 * recurrent parameter, of either direction and either cell, gets its own layer's rate, read here
 * from the name independently of lib/nn, and the projection the lowest. */
#include "tf_test.h"
#include "optim/optim_internal.h"
#include "train/train_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LAYERS 11
#define FACTOR 2.0

/* The rate multiplier the optimizer resolved for the parameter `name`. */
static double rate_of(const tf_optimizer_t *opt, const char *name)
{
    for (uint32_t i = 0; i < opt->nparams; i++)
        if (strcmp(opt->params[i].name, name) == 0) {
            int32_t g = opt->params[i].group;
            assert_true(g >= 0 && (uint32_t)g < opt->ngroups);
            return opt->groups[g].lr_mult;
        }
    fail_msg("no parameter %s", name);
    return 0.0;
}

static void check_cell(tf_ctx_t *ctx, int32_t cell, const char *prefix)
{
    tf_model_opts_t mo;
    tf_model_t *m;
    assert_ok(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 1;
    mo.embedding_dim = 1;
    mo.hidden_size = 1;
    mo.num_layers = LAYERS;
    mo.bidirectional = 1;
    mo.cell = cell;
    assert_ok(tf_model_create(&m, ctx, NULL, &mo));
    tf_optimizer_opts_t oo;
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION));
    assert_ok(tf_optimizer_create(&opt, ctx, &oo));
    assert_ok(tf__optimizer_attach(m, opt));
    assert_ok(tf__finetune_set_rates(m, opt, FACTOR, 0.0));

    /* The two names the fix is about, spelled out. */
    char a[64], b[64];
    snprintf(a, sizeof a, "%s.weight_ih_l1", prefix);
    snprintf(b, sizeof b, "%s.weight_ih_l10", prefix);
    assert_true(fabs(rate_of(opt, a) - pow(FACTOR, -10.0)) < 1e-15);
    assert_true(fabs(rate_of(opt, b) - pow(FACTOR, -1.0)) < 1e-15);

    /* Every recurrent parameter: 4 per layer and direction. */
    int recurrent = 0;
    tf_module_t *enc = tf_model_encoder(m);
    for (uint32_t j = 0; j < tf_module_num_params(enc); j++) {
        const char *name;
        assert_ok(tf_module_param_at(&name, NULL, NULL, enc, j));
        size_t n = strlen(prefix);
        if (strncmp(name, "proj.", 5) == 0) {
            assert_true(fabs(rate_of(opt, name) - pow(FACTOR, -(LAYERS + 1.0))) < 1e-15);
            continue;
        }
        assert_true(strncmp(name, prefix, n) == 0 && name[n] == '.');
        const char *l = strstr(name, "_l"); /* "<kind>_l<k>" or "<kind>_l<k>_reverse" */
        int k = -1;
        assert_non_null(l);
        assert_int_equal(sscanf(l, "_l%d", &k), 1);
        assert_true(k >= 0 && k < LAYERS);
        assert_true(fabs(rate_of(opt, name) - pow(FACTOR, -(double)(LAYERS - k))) < 1e-15);
        recurrent++;
    }
    assert_int_equal(recurrent, 4 * 2 * LAYERS);
    tf_optimizer_free(opt);
    tf_model_free(m);
}

static void test_layer_1_keeps_its_rate_next_to_layer_10(void **state)
{
    check_cell(*state, TF_CELL_LSTM, "lstm");
    check_cell(*state, TF_CELL_GRU, "gru");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layer_1_keeps_its_rate_next_to_layer_10,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
