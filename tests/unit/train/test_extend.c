/* SPDX-License-Identifier: MIT */
/* Domain adaptation: a pre-trained model's vocabulary grows with the words of new text
 * (tf_model_extend_vocab_files) and pre-training goes on from its weights. Checks ids, the rows
 * of the embedding and the language-model head against means computed here, checkpoints,
 * continued pre-training, hostile arguments and failing allocations. */
#include "tf_train_setup.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char corpus_a[128], corpus_b[128], empty_txt[128], train_tsv[128];

/* A random word of the shared grammar's list (tf_train_setup.h). */
static unsigned rnd_state = 777;
static const char *word(const char *const *list)
{
    return list[tf_test_rnd(&rnd_state, 5)];
}

/* Corpus B's new words, by count: zebra 60, devours 40, mango 40 (after "devours" in byte
 * order), quokka 1, sleeps 1. Upper-case spellings count for the lower-casing vocabulary. */
#define NEW_FREQUENT 3
static const char *const new_words[] = {"zebra", "devours", "mango", "quokka", "sleeps"};

static void write_files(void)
{
    FILE *f = fopen(corpus_a, "w");
    for (int i = 0; i < 1500; i++)
        fprintf(f, "%s %s %s .\n", word(tf_test_subj), word(tf_test_verb),
                word(tf_test_obj));
    fclose(f);
    f = fopen(corpus_b, "w");
    for (int i = 0; i < 200; i++) {
        if (i < 40)
            fprintf(f, "%s zebra devours a MANGO .\n", i % 2 ? "a" : "A");
        else if (i < 60)
            fprintf(f, "a Zebra %s %s .\n", word(tf_test_verb), word(tf_test_obj));
        else if (i == 60)
            fprintf(f, "the quokka sleeps .\n");
        else
            fprintf(f, "%s %s %s .\n", word(tf_test_subj), word(tf_test_verb),
                    word(tf_test_obj));
    }
    fclose(f);
    f = fopen(empty_txt, "w");
    fprintf(f, "\n   \n");
    fclose(f);
    f = fopen(train_tsv, "w");
    for (int i = 0; i < 200; i++) {
        int a = (int)tf_test_rnd(&rnd_state, 5);
        fprintf(f, "%s\t%s %s %s .\n", a < 3 ? "animal" : "person", tf_test_subj[a],
                word(tf_test_verb), word(tf_test_obj));
    }
    fclose(f);
}

static int setup_files(void **state)
{
    (void)state;
    if (tf_test_make_dir(dir, sizeof dir, "tf_extend") != 0)
        return -1;
    snprintf(corpus_a, sizeof corpus_a, "%s/a.txt", dir);
    snprintf(corpus_b, sizeof corpus_b, "%s/b.txt", dir);
    snprintf(empty_txt, sizeof empty_txt, "%s/empty.txt", dir);
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    write_files();
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

/* Free a test's context after checking that it holds nothing any more. */
static void ctx_close(tf_ctx_t *ctx)
{
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
}

static const char *const paths_a[1] = {corpus_a};
static const char *const paths_b[1] = {corpus_b};

/* A lower-casing vocabulary of corpus A and a small model over it (tied head optional). */
static tf_model_t *new_model(tf_ctx_t *ctx, int32_t tie, int32_t bidirectional)
{
    tf_vocab_opts_t vo;
    tf_model_opts_t mo;
    tf_vocab_t *vocab;
    tf_model_t *m;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.lowercase = 1;
    assert_ok(tf_vocab_build_files(&vocab, ctx, paths_a, 1, &vo));
    tf_test_small_model_opts(&mo, 24);
    mo.embedding_dim = tie ? 24 : 16;
    mo.tie_weights = tie;
    mo.bidirectional = bidirectional;
    assert_ok(tf_model_create(&m, ctx, vocab, &mo));
    tf_vocab_free(vocab);
    return m;
}

static tf_loader_t *lm_loader(tf_ctx_t *ctx, tf_model_t *m, const char *const *paths)
{
    tf_loader_opts_t lo;
    tf_loader_t *l;
    tf_test_lm_opts(&lo);
    assert_ok(tf_loader_create_lm(&l, ctx, tf_model_vocab(m), paths, 1, &lo));
    return l;
}

static void pretrain(tf_ctx_t *ctx, tf_model_t *m, const char *const *paths, int64_t steps)
{
    tf_pretrain_opts_t po;
    tf_loader_t *lm = lm_loader(ctx, m, paths);
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = steps;
    assert_ok(tf_pretrain(m, lm, NULL, &po, NULL));
    tf_loader_free(lm);
}

/* A copy of parameter `name` of the encoder. */
static float *encoder_param(tf_model_t *m, const char *name, int64_t *rows, int64_t *cols)
{
    tf_module_t *enc = tf_model_encoder(m);
    for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
        const char *n;
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(&n, &p, NULL, enc, i));
        if (strcmp(n, name) != 0)
            continue;
        float *copy = malloc(tf_tensor_nbytes(p));
        memcpy(copy, tf_tensor_data(p), tf_tensor_nbytes(p));
        *rows = tf_tensor_dim(p, 0);
        *cols = tf_tensor_numel(p) / *rows;
        return copy;
    }
    fail_msg("no encoder parameter %s", name);
    return NULL;
}

/* A copy of tensor `name` of a saved model file. */
static float *file_tensor(tf_ctx_t *ctx, const char *path, const char *name, int64_t *rows,
                          int64_t *cols)
{
    tf_tensorfile_t *f;
    tf_tensor_t *t;
    assert_ok(tf_tensorfile_load(&f, ctx, path, NULL));
    assert_ok(tf_tensorfile_get(&t, f, name));
    float *copy = malloc(tf_tensor_nbytes(t));
    memcpy(copy, tf_tensor_data(t), tf_tensor_nbytes(t));
    *rows = tf_tensor_dim(t, 0);
    *cols = tf_tensor_numel(t) / *rows;
    tf_tensorfile_free(f);
    return copy;
}

/* `grown` (new_rows x cols) starts with `old` (rows x cols) bit for bit, and each later row is
 * the mean of the old rows. */
static void check_grown_rows(const float *old, int64_t rows, const float *grown, int64_t new_rows,
                             int64_t cols)
{
    assert_memory_equal(grown, old, (size_t)(rows * cols) * sizeof *old);
    for (int64_t k = 0; k < cols; k++) {
        double mean = 0;
        for (int64_t r = 0; r < rows; r++)
            mean += old[r * cols + k];
        mean /= (double)rows;
        for (int64_t r = rows; r < new_rows; r++)
            if (fabs(grown[r * cols + k] - mean) > 1e-6 * (1.0 + fabs(mean)))
                fail_msg("row %lld column %lld: %g, the mean of the old rows is %g",
                         (long long)r, (long long)k, grown[r * cols + k], mean);
    }
}

/* Tensor `name` is bit-identical in two saved model files. */
static void assert_same_tensor(tf_ctx_t *ctx, const char *a, const char *b, const char *name)
{
    int64_t ra, ca, rb, cb;
    float *ta = file_tensor(ctx, a, name, &ra, &ca);
    float *tb = file_tensor(ctx, b, name, &rb, &cb);
    assert_int_equal(ra * ca, rb * cb);
    assert_memory_equal(ta, tb, (size_t)(ra * ca) * sizeof *ta);
    free(ta);
    free(tb);
}

/* One epoch of fine-tuning on the two-class file. */
static void finetune_epoch(tf_ctx_t *ctx, tf_model_t *m)
{
    tf_finetune_opts_t fo;
    tf_loader_opts_t lo;
    tf_loader_t *tr;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    assert_ok(tf_loader_create_labeled(&tr, ctx, tf_model_vocab(m), train_tsv, &lo));
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_ok(tf_finetune(m, tr, NULL, &fo, NULL));
    tf_loader_free(tr);
}

static int32_t encode_one(tf_model_t *m, const char *word)
{
    int32_t id = -1;
    size_t n = 0;
    assert_ok(tf_vocab_encode(tf_model_vocab(m), word, strlen(word), &id, 1, &n));
    assert_int_equal(n, 1);
    return id;
}

/* Old ids, new words in frequency order, the embedding and both LM-head tensors as specified,
 * every other tensor unchanged, and a checkpoint that says the new size and loads back. */
static void test_extend_appends_new_words_with_mean_rows(void **state)
{
    char before[160], after[160];
    int64_t rows, cols, new_rows, c2, lr, lc, nr, nc;
    int32_t added = -1;
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = new_model(ctx, 0, 0);
    pretrain(ctx, m, paths_a, 20);
    snprintf(before, sizeof before, "%s/before.safetensors", dir);
    snprintf(after, sizeof after, "%s/after.safetensors", dir);
    assert_ok(tf_model_save(m, before));
    int32_t v0 = tf_vocab_size(tf_model_vocab(m));
    char **old_tokens = calloc((size_t)v0, sizeof *old_tokens);
    for (int32_t id = 0; id < v0; id++)
        old_tokens[id] = strdup(tf_vocab_token(tf_model_vocab(m), id, NULL));
    for (size_t w = 0; w < sizeof new_words / sizeof new_words[0]; w++)
        assert_int_equal(encode_one(m, new_words[w]), TF_VOCAB_UNK);
    float *emb = encoder_param(m, "embedding.weight", &rows, &cols);
    assert_int_equal(rows, v0);

    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, 0, &added));
    assert_int_equal(added, NEW_FREQUENT);
    tf_vocab_t *vocab = tf_model_vocab(m);
    assert_int_equal(tf_vocab_size(vocab), v0 + NEW_FREQUENT);
    for (int32_t id = 0; id < v0; id++)
        assert_string_equal(tf_vocab_token(vocab, id, NULL), old_tokens[id]);
    for (int32_t w = 0; w < NEW_FREQUENT; w++) {
        assert_string_equal(tf_vocab_token(vocab, v0 + w, NULL), new_words[w]);
        assert_int_equal(encode_one(m, new_words[w]), v0 + w);
    }
    assert_int_equal(encode_one(m, "ZEBRA"), v0); /* the model's own rules: lower-cased */
    assert_int_equal(encode_one(m, "quokka"), TF_VOCAB_UNK); /* seen once: below min_count */
    float *emb2 = encoder_param(m, "embedding.weight", &new_rows, &c2);
    assert_int_equal(new_rows, v0 + NEW_FREQUENT);
    assert_int_equal(c2, cols);
    check_grown_rows(emb, rows, emb2, new_rows, cols);

    assert_ok(tf_model_save(m, after));
    static const char *const heads[] = {"lm_head.weight", "lm_head.bias"};
    for (int h = 0; h < 2; h++) {
        float *old = file_tensor(ctx, before, heads[h], &lr, &lc);
        float *grown = file_tensor(ctx, after, heads[h], &nr, &nc);
        assert_int_equal(lr, v0);
        assert_int_equal(nr, v0 + NEW_FREQUENT);
        assert_int_equal(nc, lc);
        check_grown_rows(old, lr, grown, nr, lc);
        free(old);
        free(grown);
    }
    /* The LSTM is untouched. */
    tf_tensorfile_t *fb, *fa;
    assert_ok(tf_tensorfile_load(&fb, ctx, before, NULL));
    assert_ok(tf_tensorfile_load(&fa, ctx, after, NULL));
    assert_int_equal(tf_tensorfile_num_entries(fa), tf_tensorfile_num_entries(fb));
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(fb); i++)
        if (strncmp(tf_tensorfile_name(fb, i), "lstm.", 5) == 0)
            assert_same_tensor(ctx, before, after, tf_tensorfile_name(fb, i));
    char want[64];
    snprintf(want, sizeof want, "\"vocab_size\":%d,", v0 + NEW_FREQUENT);
    assert_non_null(strstr(tf_tensorfile_meta(fa, "libtransfer.config"), want));
    tf_tensorfile_free(fb);
    tf_tensorfile_free(fa);

    /* The extended checkpoint loads back with the same vocabulary and weights. */
    tf_model_t *loaded;
    double l1, l2;
    assert_ok(tf_model_load(&loaded, ctx, after, 0));
    assert_int_equal(tf_vocab_size(tf_model_vocab(loaded)), v0 + NEW_FREQUENT);
    assert_int_equal(encode_one(loaded, "mango"), v0 + 2);
    float *emb3 = encoder_param(loaded, "embedding.weight", &nr, &nc);
    assert_memory_equal(emb3, emb2, (size_t)(new_rows * cols) * sizeof *emb3);
    assert_ok(
        tf_lm_score_text(m, "a zebra devours a mango .", strlen("a zebra devours a mango ."), &l1));
    assert_ok(tf_lm_score_text(loaded, "a zebra devours a mango .",
                               strlen("a zebra devours a mango ."), &l2));
    assert_true(l1 == l2);
    tf_model_free(loaded);

    for (int32_t id = 0; id < v0; id++)
        free(old_tokens[id]);
    free(old_tokens);
    free(emb);
    free(emb2);
    free(emb3);
    tf_model_free(m);
    ctx_close(ctx);
}

/* max_size caps the growth: the most frequent new words first; the current size adds nothing. */
static void test_extend_respects_max_size(void **state)
{
    int32_t added = -1;
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(2);
    tf_model_t *m = new_model(ctx, 0, 0);
    tf_vocab_t *vocab = tf_model_vocab(m);
    int32_t v0 = tf_vocab_size(vocab);
    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, v0, &added));
    assert_int_equal(added, 0);
    assert_ptr_equal(tf_model_vocab(m), vocab); /* nothing to do: the model is as it was */
    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, v0 + 1, &added));
    assert_int_equal(added, 1);
    assert_int_equal(tf_vocab_size(tf_model_vocab(m)), v0 + 1);
    assert_int_equal(encode_one(m, "zebra"), v0);
    assert_int_equal(encode_one(m, "devours"), TF_VOCAB_UNK);
    /* min_count 1: the rest, including the words seen once, in byte order on ties */
    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 1, 0, &added));
    assert_int_equal(added, 4);
    for (int32_t w = 1; w < 5; w++)
        assert_int_equal(encode_one(m, new_words[w]), v0 + w);
    tf_model_free(m);
    ctx_close(ctx);
}

/* A tied head follows the embedding (its own bias grows); a task head, its labels and the
 * predictions for old words are unchanged; training goes on afterwards. */
static void test_extend_tied_model_with_task_head(void **state)
{
    char before[160], after[160];
    int64_t rows, cols, nr, nc, br, bc, ar, ac;
    float p1[2], p2[2];
    int32_t added;
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = new_model(ctx, 1, 0);
    pretrain(ctx, m, paths_a, 10);
    finetune_epoch(ctx, m);
    snprintf(before, sizeof before, "%s/tied-before.safetensors", dir);
    snprintf(after, sizeof after, "%s/tied-after.safetensors", dir);
    assert_ok(tf_model_save(m, before));
    assert_ok(
        tf_predict_text(m, "a dog likes the ball .", strlen("a dog likes the ball ."), p1, 2));
    float *emb = encoder_param(m, "embedding.weight", &rows, &cols);

    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, 0, &added));
    assert_int_equal(added, NEW_FREQUENT);
    assert_int_equal(tf_model_num_classes(m), 2);
    assert_string_equal(tf_model_label_name(m, 0), "animal");
    assert_ok(
        tf_predict_text(m, "a dog likes the ball .", strlen("a dog likes the ball ."), p2, 2));
    assert_memory_equal(p1, p2, sizeof p1);
    float *emb2 = encoder_param(m, "embedding.weight", &nr, &nc);
    check_grown_rows(emb, rows, emb2, nr, cols);
    assert_ok(tf_model_save(m, after));
    float *b0 = file_tensor(ctx, before, "lm_head.bias", &br, &bc);
    float *b1 = file_tensor(ctx, after, "lm_head.bias", &ar, &ac);
    assert_int_equal(ar, rows + NEW_FREQUENT);
    check_grown_rows(b0, br, b1, ar, 1);
    assert_same_tensor(ctx, before, after, "head.weight");
    assert_same_tensor(ctx, before, after, "head.bias");
    tf_tensorfile_t *f;
    tf_tensor_t *t;
    assert_ok(tf_tensorfile_load(&f, ctx, after, NULL));
    assert_status(tf_tensorfile_get(&t, f, "lm_head.weight"), TF_STATUS_ENOTFOUND); /* tied */
    tf_tensorfile_free(f);
    /* The grown tied model trains and reloads. */
    pretrain(ctx, m, paths_b, 3);
    tf_model_t *loaded;
    assert_ok(tf_model_save(m, after));
    assert_ok(tf_model_load(&loaded, ctx, after, 0));
    assert_int_equal(tf_vocab_size(tf_model_vocab(loaded)), rows + NEW_FREQUENT);
    tf_model_free(loaded);
    free(emb);
    free(emb2);
    free(b0);
    free(b1);
    tf_model_free(m);
    ctx_close(ctx);
}

/* A bidirectional model (no language-model head) grows its embedding and fine-tunes on. */
static void test_extend_bidirectional_model(void **state)
{
    int64_t rows, cols, nr, nc;
    int32_t added;
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(4);
    tf_model_t *m = new_model(ctx, 0, 1);
    float *emb = encoder_param(m, "embedding.weight", &rows, &cols);
    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, 0, &added));
    assert_int_equal(added, NEW_FREQUENT);
    float *emb2 = encoder_param(m, "embedding.weight", &nr, &nc);
    check_grown_rows(emb, rows, emb2, nr, cols);
    finetune_epoch(ctx, m);
    free(emb);
    free(emb2);
    tf_model_free(m);
    ctx_close(ctx);
}

/* Every bad call fails with its status and leaves the model as it was. */
static void test_extend_rejects_bad_arguments(void **state)
{
    char missing[160];
    int32_t added = 99;
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5);
    tf_model_t *m = new_model(ctx, 0, 0);
    tf_vocab_t *vocab = tf_model_vocab(m);
    int32_t v0 = tf_vocab_size(vocab);
    snprintf(missing, sizeof missing, "%s/missing.txt", dir);
    const char *const bad_paths[2] = {corpus_b, NULL};
    const char *const missing_paths[1] = {missing};
    const char *const empty_paths[1] = {empty_txt};

    assert_status(tf_model_extend_vocab_files(NULL, paths_b, 1, 2, 0, &added), TF_STATUS_EINVAL);
    assert_int_equal(added, 0);
    assert_status(tf_model_extend_vocab_files(m, NULL, 1, 2, 0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_extend_vocab_files(m, paths_b, 0, 2, 0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_extend_vocab_files(m, paths_b, 1, 0, 0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_extend_vocab_files(m, paths_b, 1, 2, -1, NULL), TF_STATUS_EINVAL);
    added = 99;
    assert_status(tf_model_extend_vocab_files(m, paths_b, 1, 2, v0 - 1, &added), TF_STATUS_EINVAL);
    assert_int_equal(added, 0);
    assert_non_null(strstr(tf_last_error_message(), "below"));
    assert_status(tf_model_extend_vocab_files(m, bad_paths, 2, 2, 0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_extend_vocab_files(m, missing_paths, 1, 2, 0, NULL), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "missing.txt"));
    assert_status(tf_model_extend_vocab_files(m, empty_paths, 1, 2, 0, NULL), TF_STATUS_EFORMAT);
    assert_ptr_equal(tf_model_vocab(m), vocab);
    assert_int_equal(tf_vocab_size(vocab), v0);
    assert_int_equal(encode_one(m, "zebra"), TF_VOCAB_UNK);

    /* A numeric model has no vocabulary; a byte vocabulary needs no new words. */
    tf_model_opts_t mo;
    tf_model_t *num;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 3;
    mo.embedding_dim = 8;
    mo.hidden_size = 8;
    assert_ok(tf_model_create(&num, ctx, NULL, &mo));
    assert_status(tf_model_extend_vocab_files(num, paths_b, 1, 2, 0, NULL), TF_STATUS_ESTATE);
    tf_model_free(num);
    tf_vocab_opts_t vo;
    tf_vocab_t *bytes;
    tf_model_t *bm;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.kind = TF_VOCAB_KIND_BYTE;
    assert_ok(tf_vocab_build_files(&bytes, ctx, NULL, 0, &vo));
    mo.input = TF_MODEL_INPUT_TOKENS;
    assert_ok(tf_model_create(&bm, ctx, bytes, &mo));
    assert_status(tf_model_extend_vocab_files(bm, paths_b, 1, 2, 0, NULL), TF_STATUS_ESTATE);
    tf_model_free(bm);
    tf_vocab_free(bytes);
    vo.kind = TF_VOCAB_KIND_BPE;
    vo.max_size = 300;
    assert_ok(tf_vocab_build_files(&bytes, ctx, paths_a, 1, &vo));
    assert_ok(tf_model_create(&bm, ctx, bytes, &mo));
    assert_status(tf_model_extend_vocab_files(bm, paths_b, 1, 2, 0, NULL), TF_STATUS_ESTATE);
    assert_int_equal(tf_vocab_size(tf_model_vocab(bm)), 300);
    tf_model_free(bm);
    tf_vocab_free(bytes);
    tf_model_free(m);
    ctx_close(ctx);
}

/* A model saved before vocabulary format 2 (tests/data/checkpoint_vocab1: "caf\u00e9", "stop",
 * "don\u2019t", "\u00dcber" under ASCII-only lower-casing) grows by its own rules: "CAF\u00c9"
 * becomes the new word "caf\u00c9", and "\u00dcBER" is its "\u00dcber" (Unicode folding would
 * have added "\u00fcber" instead and found "caf\u00e9"). */
static void test_extend_old_vocabulary_keeps_its_rules(void **state)
{
    char path[160], buf[512];
    int32_t added;
    size_t len;
    (void)state;
    snprintf(path, sizeof path, "%s/accents.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "CAF\u00c9 \u00dcBER\nCAF\u00c9 \u00dcBER stop\n");
    fclose(f);
    const char *const paths[1] = {path};
    tf_ctx_t *ctx = tf_test_ctx_seeded(8);
    tf_model_t *m;
    assert_ok(tf_model_load(&m, ctx, TF_TEST_DATA_DIR "/data/checkpoint_vocab1.safetensors", 0));
    int32_t v0 = tf_vocab_size(tf_model_vocab(m));
    assert_ok(tf_model_extend_vocab_files(m, paths, 1, 2, 0, &added));
    assert_int_equal(added, 1);
    assert_string_equal(tf_vocab_token(tf_model_vocab(m), v0, NULL), "caf\u00c9");
    assert_int_equal(encode_one(m, "CAF\u00c9"), v0);
    assert_int_equal(tf_vocab_lookup(tf_model_vocab(m), "\u00fcber", strlen("\u00fcber")), -1);
    assert_ok(tf_vocab_serialize(tf_model_vocab(m), buf, sizeof buf, &len));
    assert_int_equal(strncmp(buf, "libtransfer-vocab 1\n", 20), 0); /* still the old rules */
    tf_model_free(m);
    ctx_close(ctx);
}

/* Fail each allocation of an extension in turn: ENOMEM, nothing leaked, the model unchanged. */
static void test_extend_oom_sweep(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        int64_t rows, cols, nr, nc;
        int32_t added = -1;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        tf_model_t *m = new_model(ctx, 0, 0);
        tf_vocab_t *vocab = tf_model_vocab(m);
        int32_t v0 = tf_vocab_size(vocab);
        float *emb = encoder_param(m, "embedding.weight", &rows, &cols);
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf_model_extend_vocab_files(m, paths_b, 1, 2, 0, &added);
        ta.fail_at = 0;
        if (st != TF_STATUS_OK) {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            assert_int_equal(added, 0);
            assert_ptr_equal(tf_model_vocab(m), vocab);
            assert_int_equal(tf_vocab_size(vocab), v0);
            float *same = encoder_param(m, "embedding.weight", &nr, &nc);
            assert_int_equal(nr, rows);
            assert_memory_equal(same, emb, (size_t)(rows * cols) * sizeof *emb);
            free(same);
        } else {
            assert_int_equal(added, NEW_FREQUENT);
        }
        free(emb);
        tf_model_free(m);
        if (tf_ctx_allocated_bytes(ctx) != 0)
            fail_msg("failing allocation %ld leaked %llu bytes", n,
                     (unsigned long long)tf_ctx_allocated_bytes(ctx));
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
        if (st == TF_STATUS_OK) {
            assert_true(n > 5); /* the extension allocates: the sweep did fail some */
            break;
        }
        assert_true(n < 20000);
    }
}

/* Every encoder parameter, concatenated. */
static float *encoder_weights(tf_model_t *m, int64_t *n)
{
    tf_module_t *enc = tf_model_encoder(m);
    *n = 0;
    for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(NULL, &p, NULL, enc, i));
        *n += tf_tensor_numel(p);
    }
    float *w = malloc((size_t)*n * sizeof *w), *at = w;
    for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(NULL, &p, NULL, enc, i));
        memcpy(at, tf_tensor_data(p), tf_tensor_nbytes(p));
        at += tf_tensor_numel(p);
    }
    return w;
}

/* A saved language model, loaded as a backbone and grown, pre-trains on from its own weights (LM
 * head included) and learns the new text. */
static void test_continued_pretraining_from_loaded_model(void **state)
{
    char path[160];
    const char *old_text = "the cat sees the ball .", *new_text = "a zebra devours a mango .";
    double la, la2, lb_before, lb_after;
    int64_t n, n2;
    int32_t added;
    (void)state;
    snprintf(path, sizeof path, "%s/general.safetensors", dir);
    tf_ctx_t *ctx = tf_test_ctx_seeded(6);
    tf_model_t *m = new_model(ctx, 0, 0);
    pretrain(ctx, m, paths_a, 150);
    assert_ok(tf_lm_score_text(m, old_text, strlen(old_text), &la));
    assert_ok(tf_model_save(m, path));
    tf_model_free(m);

    assert_ok(tf_model_load(&m, ctx, path, TF_MODEL_LOAD_BACKBONE));
    assert_ok(tf_lm_score_text(m, old_text, strlen(old_text), &la2));
    assert_true(la2 == la); /* the loaded weights, LM head included */
    assert_true(la < 2.0);  /* pre-trained: far below ln(V) */
    assert_ok(tf_model_extend_vocab_files(m, paths_b, 1, 2, 0, &added));
    assert_int_equal(added, NEW_FREQUENT);
    assert_ok(tf_lm_score_text(m, new_text, strlen(new_text), &lb_before));

    /* One AdamW step moves no weight by more than lr (plus its decay): training starts from the
     * loaded weights, not from new ones. */
    tf_optimizer_opts_t oo;
    tf_pretrain_opts_t po;
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.algorithm = TF_OPTIMIZER_ADAMW;
    oo.lr = 1e-3;
    oo.weight_decay = 0.01;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 10;
    po.stop_after_steps = 1;
    po.optim = &oo;
    tf_loader_t *lm = lm_loader(ctx, m, paths_b);
    float *w0 = encoder_weights(m, &n);
    assert_ok(tf_pretrain(m, lm, NULL, &po, NULL));
    float *w1 = encoder_weights(m, &n2);
    assert_int_equal(n2, n);
    double moved = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)w1[i] - (double)w0[i]);
        /* (plus float rounding: a few ulps of weights near 1) */
        if (d > oo.lr * (1.0 + oo.weight_decay * fabs(w0[i])) + 1e-6)
            fail_msg("weight %lld moved by %g (from %g) in one step of lr %g", (long long)i, d, (double)w0[i], oo.lr);
        moved = d > moved ? d : moved;
    }
    assert_true(moved > 0.5 * oo.lr);
    free(w0);
    free(w1);

    /* A new phase with the default options learns the new words. */
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 120;
    assert_ok(tf_loader_reset(lm));
    assert_ok(tf_pretrain(m, lm, NULL, &po, NULL));
    assert_ok(tf_lm_score_text(m, new_text, strlen(new_text), &lb_after));
    assert_true(lb_after < 0.6 * lb_before);
    tf_loader_free(lm);
    tf_model_free(m);
    ctx_close(ctx);
}

/* Pre-training a fine-tuned model trains the backbone and the LM head only: the task head's
 * weights are exactly as they were (no weight decay on parameters that get no gradient). */
static void test_pretrain_leaves_task_head_unchanged(void **state)
{
    char before[160], after[160];
    int64_t r0, c0, r1, c1;
    (void)state;
    snprintf(before, sizeof before, "%s/head-before.safetensors", dir);
    snprintf(after, sizeof after, "%s/head-after.safetensors", dir);
    tf_ctx_t *ctx = tf_test_ctx_seeded(7);
    tf_model_t *m = new_model(ctx, 0, 0);
    finetune_epoch(ctx, m);
    assert_ok(tf_model_save(m, before));
    pretrain(ctx, m, paths_b, 20);
    assert_ok(tf_model_save(m, after));
    assert_same_tensor(ctx, before, after, "head.weight");
    assert_same_tensor(ctx, before, after, "head.bias");
    float *e0 = file_tensor(ctx, before, "lstm.weight_hh_l0", &r0, &c0);
    float *e1 = file_tensor(ctx, after, "lstm.weight_hh_l0", &r1, &c1);
    assert_memory_not_equal(e0, e1, (size_t)(r0 * c0) * sizeof *e0); /* the backbone trained */
    free(e0);
    free(e1);
    tf_model_free(m);
    ctx_close(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extend_appends_new_words_with_mean_rows),
        cmocka_unit_test(test_extend_respects_max_size),
        cmocka_unit_test(test_extend_tied_model_with_task_head),
        cmocka_unit_test(test_extend_bidirectional_model),
        cmocka_unit_test(test_extend_rejects_bad_arguments),
        cmocka_unit_test(test_extend_old_vocabulary_keeps_its_rules),
        cmocka_unit_test(test_extend_oom_sweep),
        cmocka_unit_test(test_continued_pretraining_from_loaded_model),
        cmocka_unit_test(test_pretrain_leaves_task_head_unchanged),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
