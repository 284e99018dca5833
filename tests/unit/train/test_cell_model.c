/* SPDX-License-Identifier: MIT */
/* Models of either recurrent cell: a GRU model pre-trains, fine-tunes with gradual unfreezing and
 * discriminative rates (both find its layers by the cell's parameter names), and comes back from
 * its checkpoint as a GRU that predicts the same; a checkpoint written before models had a cell
 * loads as an LSTM; an unknown cell, in options or in a checkpoint, is refused. */
#include "tf_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define N 48
#define L 12

static float values[N * L];
static int64_t offsets[N + 1];
static int32_t labels[N];

static void make_data(void)
{
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        for (int t = 0; t < L; t++)
            values[i * L + t] = (float)sin(t * (labels[i] ? 1.3 : 0.3) + i);
        offsets[i + 1] = (i + 1) * L;
    }
}

static tf_model_t *numeric_model(tf_ctx_t *ctx, int32_t cell)
{
    tf_model_opts_t mo;
    tf_model_t *m;
    assert_ok(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    assert_int_equal(mo.cell, TF_CELL_LSTM);
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 1;
    mo.embedding_dim = 4;
    mo.hidden_size = 6;
    mo.num_layers = 2;
    mo.cell = cell;
    assert_ok(tf_model_create(&m, ctx, NULL, &mo));
    return m;
}

/* The first recurrent parameter's name: "<cell>.weight_ih_l0". */
static const char *first_recurrent_name(tf_model_t *m)
{
    const char *name;
    assert_ok(tf_module_param_at(&name, NULL, NULL, tf_model_encoder(m), 2)); /* after proj.* */
    return name;
}

/* Which encoder parameters train during each fine-tuning epoch: bit i of seen[epoch][trains]
 * is set when parameter i was seen trainable (trains = 1) or frozen (trains = 0). */
typedef struct watch {
    tf_model_t *m;
    uint32_t seen[3][2];
} watch_t;

static int32_t watch_freezing(const tf_progress_t *p, void *payload)
{
    watch_t *w = payload;
    tf_module_t *enc = tf_model_encoder(w->m);
    for (uint32_t i = 0; i < tf_module_num_params(enc) && p->epoch < 3; i++) {
        tf_tensor_t *t;
        tf_module_param_at(NULL, &t, NULL, enc, i);
        w->seen[p->epoch][tf_tensor_requires_grad(t) != 0] |= 1u << i;
    }
    return 0;
}

static void test_gru_model_trains_and_round_trips(void **state)
{
    tf_ctx_t *ctx = *state;
    make_data();
    tf_loader_opts_t lo;
    tf_loader_t *next, *cls;
    assert_ok(tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION));
    lo.batch_size = 8;
    lo.next_step = 1;
    assert_ok(tf_loader_create_numeric_memory(&next, ctx, values, offsets, N, NULL, &lo));
    const char *names[2] = {"slow", "fast"};
    lo.next_step = 0;
    lo.labels = names;
    lo.num_labels = 2;
    assert_ok(tf_loader_create_numeric_memory(&cls, ctx, values, offsets, N, labels, &lo));

    tf_model_t *m = numeric_model(ctx, TF_CELL_GRU);
    assert_string_equal(first_recurrent_name(m), "gru.weight_ih_l0");
    tf_pretrain_opts_t po;
    assert_ok(tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION));
    po.max_steps = 3;
    assert_ok(tf_pretrain(m, next, NULL, &po, NULL));
    /* Gradual unfreezing and discriminative rates go by the GRU's layer names. */
    tf_finetune_opts_t fo;
    assert_ok(tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION));
    fo.strategy = TF_FINETUNE_GRADUAL;
    fo.discriminative = 2.6;
    fo.epochs = 3;
    fo.calibrate = 0;
    fo.progress_every = 1;
    fo.progress = watch_freezing;
    watch_t w = {m, {{0}}};
    fo.progress_payload = &w;
    tf_train_report_t rep;
    assert_ok(tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION));
    assert_ok(tf_finetune(m, cls, NULL, &fo, &rep));
    assert_true(isfinite(rep.train_loss));
    /* Units top first: epoch 0 trains no encoder parameter, epoch 1 the GRU's layer 1, epoch 2
     * both layers but not the projection (parameters 0, 1). A recurrent name the unfreezing did
     * not recognise would stay frozen with the projection. Layer k's parameters are 2 + 4k .. 5 + 4k. */
    const uint32_t proj = 0x3u, layer0 = 0xfu << 2, layer1 = 0xfu << 6, all = proj | layer0 | layer1;
    assert_int_equal(tf_module_num_params(tf_model_encoder(m)), 10);
    assert_int_equal(w.seen[0][1], 0);
    assert_int_equal(w.seen[0][0], all);
    assert_int_equal(w.seen[1][1], layer1);
    assert_int_equal(w.seen[2][1], layer0 | layer1);
    assert_int_equal(w.seen[2][0], proj);

    char dir[] = "/tmp/tf_cell_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/gru.safetensors", dir);
    assert_ok(tf_model_save(m, path));
    tf_model_t *back;
    assert_ok(tf_model_load(&back, ctx, path, 0));
    assert_string_equal(first_recurrent_name(back), "gru.weight_ih_l0");
    assert_int_equal(tf_model_num_params(back), tf_model_num_params(m));
    float p1[2], p2[2];
    assert_ok(tf_predict_features(m, values + 5 * L, L, p1, 2));
    assert_ok(tf_predict_features(back, values + 5 * L, L, p2, 2));
    assert_memory_equal(p1, p2, sizeof p1);
    tf_model_free(back);
    tf_model_free(m);
    tf_loader_free(next);
    tf_loader_free(cls);
    assert_int_equal(tf_test_remove_tree(dir), 0);
}

/* Copy the checkpoint `from` to `to` with `old` replaced by `new` in its configuration. */
static void rewrite_config(tf_ctx_t *ctx, const char *from, const char *to, const char *old, const char *new)
{
    tf_tensorfile_t *f;
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensorfile_load(&f, ctx, from, NULL));
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        const char *name = tf_tensorfile_name(f, i);
        if (tf_tensorfile_kind(f, i) == TF_TENSORFILE_KIND_TENSOR) {
            tf_tensor_t *t;
            assert_ok(tf_tensorfile_get(&t, f, name));
            assert_ok(tf_tensorfile_writer_add_tensor(w, name, t));
        } else {
            const void *data;
            size_t n;
            assert_ok(tf_tensorfile_blob(&data, &n, f, name));
            assert_ok(tf_tensorfile_writer_add_blob(w, name, data, n));
        }
    }
    for (uint32_t i = 0; i < tf_tensorfile_num_meta(f); i++) {
        const char *key, *value;
        char buf[4096];
        assert_ok(tf_tensorfile_meta_at(&key, &value, f, i));
        if (strcmp(key, "format") == 0 || strcmp(key, "format_version") == 0 ||
            strcmp(key, "library_version") == 0 || strncmp(key, "crc32.", 6) == 0)
            continue; /* the writer's own */
        if (strcmp(key, "libtransfer.config") == 0) {
            const char *at = strstr(value, old);
            assert_non_null(at);
            snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - value), value, new, at + strlen(old));
            value = buf;
        }
        assert_ok(tf_tensorfile_writer_add_meta(w, key, value));
    }
    assert_ok(tf_tensorfile_writer_save(w, to));
    tf_tensorfile_writer_free(w);
    tf_tensorfile_free(f);
}

/* A configuration whose cell is not a cell's name is refused with a message that says so; the
 * same file rewritten with its own cell loads (the rewriting itself is sound). */
static void test_checkpoint_with_an_unknown_cell_is_refused(void **state)
{
    tf_ctx_t *ctx = *state;
    char dir[] = "/tmp/tf_cellx_XXXXXX", good[64], bad[64];
    assert_non_null(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/gru.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    tf_model_t *m = numeric_model(ctx, TF_CELL_GRU), *back = (tf_model_t *)ctx;
    assert_ok(tf_model_save(m, good));
    tf_model_free(m);
    rewrite_config(ctx, good, bad, "\"cell\":\"gru\"", "\"cell\":\"gru\"");
    assert_ok(tf_model_load(&back, ctx, bad, 0));
    tf_model_free(back);
    static const char *const cells[] = {"\"cell\":\"rnn\"", "\"cell\":1", "\"cell\":\"\"",
                                        "\"cell\":\"GRU\"", "\"cell\":null"};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        rewrite_config(ctx, good, bad, "\"cell\":\"gru\"", cells[i]);
        back = (tf_model_t *)ctx;
        assert_status(tf_model_load(&back, ctx, bad, 0), TF_STATUS_EFORMAT);
        assert_null(back);
        assert_non_null(strstr(tf_last_error_message(), "'cell'"));
    }
    /* A GRU's tensors under a configuration that names the LSTM do not load either. */
    rewrite_config(ctx, good, bad, "\"cell\":\"gru\"", "\"cell\":\"lstm\"");
    assert_status(tf_model_load(&back, ctx, bad, 0), TF_STATUS_EFORMAT);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    assert_int_equal(tf_test_remove_tree(dir), 0);
}

/* tests/data/checkpoint_vocab1 was written before models recorded their cell. */
static void test_checkpoint_without_cell_loads_as_lstm(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m;
    assert_ok(tf_model_load(&m, ctx, TF_TEST_DATA_DIR "/data/checkpoint_vocab1.safetensors", 0));
    const char *name;
    assert_ok(tf_module_param_at(&name, NULL, NULL, tf_model_encoder(m), 1)); /* after embedding */
    assert_string_equal(name, "lstm.weight_ih_l0");
    tf_model_free(m);
}

static void test_unknown_cell_is_refused(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_opts_t mo;
    tf_model_t *m = (tf_model_t *)ctx;
    assert_ok(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 1;
    mo.cell = 7;
    assert_status(tf_model_create(&m, ctx, NULL, &mo), TF_STATUS_EINVAL);
    assert_null(m);
    assert_non_null(strstr(tf_last_error_message(), "cell"));
    /* A version-1 struct has no cell: whatever lies after it is not read. */
    assert_ok(tf_model_opts_init(&mo, 1));
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 1;
    mo.cell = 7;
    assert_ok(tf_model_create(&m, ctx, NULL, &mo));
    assert_string_equal(first_recurrent_name(m), "lstm.weight_ih_l0");
    tf_model_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gru_model_trains_and_round_trips, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_checkpoint_without_cell_loads_as_lstm, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_unknown_cell_is_refused, tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_checkpoint_with_an_unknown_cell_is_refused, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
