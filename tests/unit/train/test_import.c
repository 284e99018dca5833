/* SPDX-License-Identifier: MIT */
/* tf_model_import: weights saved by PyTorch (safetensors.torch.save_file of a plain state_dict,
 * tests/reference/gen_torch_import_fixtures.py) give PyTorch's predictions; the imported model
 * saves and loads as a checkpoint; damaged or mismatched files are refused naming the tensor. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define FIX TF_TEST_DATA_DIR "/reference/fixtures/"
#define NPROBES 4

static char dir[64];
static const char *const labels3[] = {"neg", "neu", "pos"};

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_import_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

/* The generator's architecture: embedding 8, 2-layer LSTM of 12, full softmax. */
static tf_model_opts_t arch(void)
{
    tf_model_opts_t o;
    tf_model_opts_init(&o, TF_MODEL_OPTS_VERSION);
    o.embedding_dim = 8;
    o.hidden_size = 12;
    o.num_layers = 2;
    return o;
}

static tf_import_opts_t head3(void)
{
    tf_import_opts_t o;
    tf_import_opts_init(&o, TF_IMPORT_OPTS_VERSION);
    o.labels = labels3;
    o.num_labels = 3;
    return o;
}

static tf_vocab_t *fixture_vocab(tf_ctx_t *ctx)
{
    tf_vocab_t *v;
    assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    assert_int_equal(tf_vocab_size(v), 50);
    return v;
}

static tf_model_t *import_cls(tf_ctx_t *ctx, const char *path)
{
    tf_vocab_t *v = fixture_vocab(ctx);
    tf_model_opts_t a = arch();
    tf_import_opts_t h = head3();
    tf_model_t *m;
    assert_ok(tf_model_import(&m, ctx, path, v, &a, &h));
    tf_vocab_free(v);
    return m;
}

static double max_prob_error(tf_model_t *m, const tf_fixture_t *fx)
{
    double worst = 0.0;
    for (int k = 0; k < NPROBES; k++) {
        char name[32];
        int64_t n, nc;
        snprintf(name, sizeof name, "ids.%d", k);
        const int32_t *ids = tf_fixture_i32(fx, name, &n);
        snprintf(name, sizeof name, "probs.%d", k);
        const double *want = tf_fixture_f64(fx, name, &nc);
        assert_int_equal(nc, 3);
        float got[3];
        assert_ok(tf_predict_ids(m, ids, n, got, 3));
        for (int c = 0; c < 3; c++)
            worst = fmax(worst, fabs(got[c] - want[c]));
    }
    return worst;
}

static void test_import_lm_matches_torch(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_vocab_t *v = fixture_vocab(ctx);
    tf_model_opts_t a = arch();
    tf_model_t *m;
    assert_ok(tf_model_import(&m, ctx, FIX "torch_import_lm.safetensors", v, &a, NULL));
    tf_fixture_t *fx = tf_fixture_load("torch_import_expect.tfx");
    for (int k = 0; k < NPROBES; k++) {
        char name[32], text[256] = "";
        int64_t n;
        snprintf(name, sizeof name, "ids.%d", k);
        const int32_t *ids = tf_fixture_i32(fx, name, &n);
        for (int64_t i = 0; i < n; i++) {
            size_t len;
            const char *tok = tf_vocab_token(v, ids[i], &len);
            assert_int_equal(tf_vocab_lookup(v, tok, len), ids[i]);
            snprintf(text + strlen(text), sizeof text - strlen(text), i ? " %s" : "%s", tok);
        }
        snprintf(name, sizeof name, "lm.%d", k);
        double want = tf_fixture_f64(fx, name, NULL)[0], got;
        assert_ok(tf_lm_score_text(m, text, strlen(text), &got));
        if (fabs(got - want) > 1e-5)
            fail_msg("probe %d: libtransfer loss %.9g, PyTorch %.9g", k, got, want);
    }
    tf_fixture_free(fx);
    tf_vocab_free(v);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

static void test_import_classifier_matches_torch(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, FIX "torch_import_cls.safetensors");
    assert_int_equal(tf_model_num_classes(m), 3);
    assert_string_equal(tf_model_label_name(m, 2), "pos");
    tf_fixture_t *fx = tf_fixture_load("torch_import_expect.tfx");
    double err = max_prob_error(m, fx);
    if (err > 1e-5)
        fail_msg("class probabilities differ from PyTorch's by %.3g", err);
    tf_fixture_free(fx);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* Saved, the imported model is an ordinary checkpoint (CRCs and metadata written), loading
 * without the foreign-file flag and predicting the same. */
static void test_import_saves_as_checkpoint(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, FIX "torch_import_cls.safetensors"), *back;
    char path[128];
    snprintf(path, sizeof path, "%s/imported.safetensors", dir);
    assert_ok(tf_model_save(m, path));
    tf_tensorfile_t *f;
    assert_ok(tf_tensorfile_load(&f, ctx, path, NULL));
    assert_non_null(tf_tensorfile_meta(f, "crc32.lstm.weight_hh_l1"));
    tf_tensorfile_free(f);
    assert_ok(tf_model_load(&back, ctx, path, 0));
    tf_fixture_t *fx = tf_fixture_load("torch_import_expect.tfx");
    double err = max_prob_error(back, fx);
    if (err > 1e-5)
        fail_msg("the reloaded model's probabilities differ from PyTorch's by %.3g", err);
    tf_fixture_free(fx);
    tf_model_free(back);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* The classifier fixture rewritten: `drop` left out, `replace` swapped for `with` (any dtype or
 * shape), `extra` added. */
static void write_variant(tf_ctx_t *ctx, const char *path, const char *drop, const char *replace,
                          tf_tensor_t *with, const char *extra)
{
    tf_tensorfile_opts_t fo;
    tf_tensorfile_t *f;
    tf_tensorfile_writer_t *w;
    tf_tensorfile_opts_init(&fo, TF_TENSORFILE_OPTS_VERSION);
    fo.flags = TF_TENSORFILE_ALLOW_FOREIGN;
    assert_ok(tf_tensorfile_load(&f, ctx, FIX "torch_import_cls.safetensors", &fo));
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    tf_tensor_t *t = NULL;
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        const char *name = tf_tensorfile_name(f, i);
        if (drop != NULL && strcmp(name, drop) == 0)
            continue;
        assert_ok(tf_tensorfile_get(&t, f, name));
        assert_ok(tf_tensorfile_writer_add_tensor(
            w, name, replace != NULL && strcmp(name, replace) == 0 ? with : t));
    }
    if (extra != NULL)
        assert_ok(tf_tensorfile_writer_add_tensor(w, extra, t));
    assert_ok(tf_tensorfile_writer_save(w, path));
    tf_tensorfile_writer_free(w);
    tf_tensorfile_free(f);
}

/* Import `path` as the classifier, expect `st` and a message containing each of `words`. */
static void expect_refused(tf_ctx_t *ctx, const char *path, tf_status_t st, const char *w1,
                           const char *w2)
{
    tf_vocab_t *v = fixture_vocab(ctx);
    tf_model_opts_t a = arch();
    tf_import_opts_t h = head3();
    tf_model_t *m = (tf_model_t *)&m;
    assert_status(tf_model_import(&m, ctx, path, v, &a, &h), st);
    assert_null(m);
    const char *msg = tf_last_error_message();
    if (strstr(msg, w1) == NULL || (w2 != NULL && strstr(msg, w2) == NULL))
        fail_msg("message '%s' does not name '%s' %s", msg, w1, w2 ? w2 : "");
    tf_vocab_free(v);
}

static void test_import_refuses_missing_extra_and_misshapen(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    char path[128];
    snprintf(path, sizeof path, "%s/variant.safetensors", dir);
    write_variant(ctx, path, "lstm.bias_hh_l1", NULL, NULL, NULL);
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "'lstm.bias_hh_l1' is missing", NULL);
    write_variant(ctx, path, NULL, NULL, NULL, "decoder.weight");
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "'decoder.weight'", "does not describe");
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, (int64_t[]){3, 24}, 2));
    write_variant(ctx, path, NULL, "head.weight", t, NULL);
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "'head.weight' has shape [3, 24]", "needs [3, 36]");
    tf_tensor_free(t);
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, (int64_t[]){50}, 1));
    write_variant(ctx, path, NULL, "lm_head.bias", t, NULL);
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "'lm_head.bias' is not F32", NULL);
    tf_tensor_free(t);
    /* An architecture other than the file's: the first tensor that differs is named. */
    tf_vocab_t *v = fixture_vocab(ctx);
    tf_model_opts_t a = arch();
    a.hidden_size = 10;
    tf_model_t *m;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_lm.safetensors", v, &a, NULL),
                  TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "needs [40, 8]"));
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_import_refuses_half_precision_and_truncation(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    char path[128];
    snprintf(path, sizeof path, "%s/half.safetensors", dir);
    /* A hand-written safetensors file: 8-byte header length, JSON header, data. */
    const char hdr[] = "{\"embedding.weight\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
    unsigned char buf[8 + sizeof hdr - 1 + 8];
    uint64_t hl = sizeof hdr - 1;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    memset(buf + 8 + hl, 0, 8);
    write_bytes(path, buf, sizeof buf);
    expect_refused(ctx, path, TF_STATUS_ENOTSUP, "'embedding.weight'", "BF16");
    /* The classifier cut short in its data and in its header. */
    FILE *f = fopen(FIX "torch_import_cls.safetensors", "rb");
    assert_non_null(f);
    static unsigned char whole[1 << 16];
    size_t n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    assert_true(n > 1000 && n < sizeof whole);
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    write_bytes(path, whole, n - 100);
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "cut.safetensors", NULL);
    write_bytes(path, whole, 200);
    expect_refused(ctx, path, TF_STATUS_EFORMAT, "cut.safetensors", NULL);
    snprintf(path, sizeof path, "%s/none.safetensors", dir);
    expect_refused(ctx, path, TF_STATUS_ENOTFOUND, "none.safetensors", NULL);
    tf_ctx_free(ctx);
}

static void test_import_head_labels_must_fit_the_file(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_vocab_t *v = fixture_vocab(ctx);
    tf_model_opts_t a = arch();
    tf_import_opts_t h = head3();
    tf_model_t *m;
    /* A head in the file but no labels given. */
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, NULL),
                  TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "head.weight"));
    /* Labels given but the file has no head. */
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_lm.safetensors", v, &a, &h),
                  TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "'head.weight' is missing"));
    /* Two labels make one logit: the file's three rows do not fit. */
    h.num_labels = 2;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h),
                  TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "'head.weight' has shape [3, 36]"));
    /* Only the last state pooled: the head reads 12 features, not 36. */
    h = head3();
    h.pooling = TF_POOL_LAST;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h),
                  TF_STATUS_EFORMAT);
    const char *const dup[] = {"a", "b", "a"};
    h = head3();
    h.labels = dup;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h),
                  TF_STATUS_EINVAL);
    h = head3();
    h.pooling = 8;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h),
                  TF_STATUS_EINVAL);
    h = head3();
    h.version = 99;
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h),
                  TF_STATUS_EVERSION);
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, NULL, NULL),
                  TF_STATUS_EINVAL);
    assert_status(tf_model_import(&m, ctx, FIX "torch_import_lm.safetensors", NULL, &a, NULL),
                  TF_STATUS_EINVAL);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_lm_matches_torch),
        cmocka_unit_test(test_import_classifier_matches_torch),
        cmocka_unit_test(test_import_saves_as_checkpoint),
        cmocka_unit_test(test_import_refuses_missing_extra_and_misshapen),
        cmocka_unit_test(test_import_refuses_half_precision_and_truncation),
        cmocka_unit_test(test_import_head_labels_must_fit_the_file),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
