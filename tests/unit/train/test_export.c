/* SPDX-License-Identifier: MIT */
/* Inference export (tf_model_export): the file holds no language-model head, its matrices are
 * within the format's rounding of the full checkpoint's (checked here tensor by tensor from the
 * two files), the loaded model predicts what the full one does within a stated tolerance, and it
 * refuses to train. Bad options and bad inference metadata get a status, never a crash. */
#include "tf_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64], train_tsv[128], full_path[128], out_path[128];

static const char *const labels[3] = {"a", "b", "c"};
static const char *const cues[3][3] = {
    {"red", "apple", "fire"}, {"blue", "sea", "sky"}, {"green", "leaf", "tree"}};
static const char *const filler[] = {"the", "one", "two", "some", "old", "new"};

static unsigned rnd_state = 77;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void make_text(int c, char *text, size_t cap)
{
    size_t o = 0;
    int words = 4 + (int)rnd(5);
    for (int w = 0; w < words; w++) {
        unsigned r = rnd(100);
        const char *word = r < 45 ? cues[c][rnd(3)] : r < 55 ? cues[rnd(3)][rnd(3)] : filler[rnd(6)];
        o += (size_t)snprintf(text + o, cap - o, "%s%s", o ? " " : "", word);
    }
}

#define NTEXTS 40
static char texts[NTEXTS][128];

/* A 3-class classifier (embedding 12, hidden 16) fine-tuned briefly and saved in full. */
static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_export_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    snprintf(full_path, sizeof full_path, "%s/full.safetensors", dir);
    snprintf(out_path, sizeof out_path, "%s/out.safetensors", dir);
    FILE *f = fopen(train_tsv, "w");
    if (f == NULL)
        return -1;
    char text[128];
    for (int i = 0; i < 300; i++) {
        int c = (int)rnd(3);
        make_text(c, text, sizeof text);
        fprintf(f, "%s\t%s\n", labels[c], text);
    }
    fclose(f);
    for (int i = 0; i < NTEXTS; i++)
        make_text(i % 3, texts[i], sizeof texts[i]);
    tf_ctx_t *ctx = tf_test_ctx_seeded(5);
    tf_vocab_t *vocab;
    tf_model_t *m;
    tf_loader_t *train;
    tf_model_opts_t mo;
    tf_finetune_opts_t fo;
    const char *paths[1] = {train_tsv};
    if (tf_vocab_build_files(&vocab, ctx, paths, 1, NULL) != TF_STATUS_OK)
        return -1;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 12;
    mo.hidden_size = 16;
    if (tf_model_create(&m, ctx, vocab, &mo) != TF_STATUS_OK)
        return -1;
    tf_vocab_free(vocab);
    if (tf_loader_create_labeled(&train, ctx, tf_model_vocab(m), train_tsv, NULL) != TF_STATUS_OK)
        return -1;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 3;
    tf_status_t st = tf_finetune(m, train, NULL, &fo, NULL);
    if (st == TF_STATUS_OK)
        st = tf_model_save(m, full_path);
    tf_loader_free(train);
    tf_model_free(m);
    tf_ctx_free(ctx);
    return st == TF_STATUS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

static tf_model_t *load(tf_ctx_t *ctx, const char *path)
{
    tf_model_t *m;
    assert_ok(tf_model_load(&m, ctx, path, 0));
    return m;
}

static void export_as(tf_ctx_t *ctx, uint32_t dtype, int64_t min_elements)
{
    tf_export_opts_t eo;
    assert_ok(tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION));
    eo.dtype = dtype;
    eo.min_elements = min_elements;
    tf_model_t *m = load(ctx, full_path);
    assert_ok(tf_model_export(m, out_path, &eo));
    tf_model_free(m);
}

/* The JSON header of a file, NUL-terminated (the test frees it). */
static char *header_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    char *h = malloc((size_t)n + 1);
    assert_int_equal(fread(h, 1, (size_t)n, f), n);
    h[n] = '\0';
    fclose(f);
    return h;
}

static long long file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long long)st.st_size;
}

/* The largest |p_full - p_export| over the texts and classes. */
static double max_prob_diff(tf_ctx_t *ctx)
{
    tf_model_t *full = load(ctx, full_path), *ex = load(ctx, out_path);
    double worst = 0.0;
    for (int i = 0; i < NTEXTS; i++) {
        float p[3], q[3];
        assert_ok(tf_predict_text(full, texts[i], strlen(texts[i]), p, 3));
        assert_ok(tf_predict_text(ex, texts[i], strlen(texts[i]), q, 3));
        for (int c = 0; c < 3; c++)
            worst = fmax(worst, fabs((double)p[c] - (double)q[c]));
    }
    tf_model_free(full);
    tf_model_free(ex);
    return worst;
}

/* Every tensor of the export against the full file's: F32 ones equal, F16 within half an ulp,
 * int8 within half a step of their row (max|row| / 254). Returns how many were rounded. */
static int compare_tensors(tf_ctx_t *ctx, uint32_t dtype, int64_t min_elements)
{
    tf_tensorfile_t *full, *ex;
    int rounded = 0;
    assert_ok(tf_tensorfile_load(&full, ctx, full_path, NULL));
    assert_ok(tf_tensorfile_load(&ex, ctx, out_path, NULL));
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(ex); i++) {
        const char *name = tf_tensorfile_name(ex, i);
        tf_tensor_t *a, *b;
        assert_ok(tf_tensorfile_get(&a, full, name));
        assert_ok(tf_tensorfile_get(&b, ex, name));
        assert_int_equal(tf_tensor_numel(a), tf_tensor_numel(b));
        const float *x = tf_tensor_data(a), *y = tf_tensor_data(b);
        const int64_t n = tf_tensor_numel(a), rows = tf_tensor_dim(a, 0), cols = n / rows;
        const int big = tf_tensor_ndim(a) >= 2 && n >= min_elements && dtype != TF_EXPORT_DTYPE_F32;
        rounded += big;
        for (int64_t r = 0; r < rows; r++) {
            float amax = 0.0f;
            for (int64_t j = 0; j < cols; j++)
                amax = fmaxf(amax, fabsf(x[r * cols + j]));
            for (int64_t j = 0; j < cols; j++) {
                float u = x[r * cols + j], v = y[r * cols + j], bound = 0.0f;
                if (big && dtype == TF_EXPORT_DTYPE_F16)
                    bound = fabsf(u) >= 0x1p-14f ? fabsf(u) * 0x1p-11f : 0x1p-25f;
                else if (big)
                    bound = amax / 254.0f * (1.0f + 1e-5f);
                if (!(fabsf(u - v) <= bound))
                    print_error("%s[%lld]: %.9g exported as %.9g (bound %g)\n", name,
                                (long long)(r * cols + j), (double)u, (double)v, (double)bound);
                assert_true(fabsf(u - v) <= bound);
            }
        }
    }
    tf_tensorfile_free(full);
    tf_tensorfile_free(ex);
    return rounded;
}

static void test_export_f32_drops_only_the_lm_head(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    export_as(ctx, TF_EXPORT_DTYPE_F32, TF_EXPORT_MIN_ELEMENTS);
    char *h = header_of(out_path), *hf = header_of(full_path);
    assert_non_null(strstr(hf, "\"lm_head.weight\""));
    assert_null(strstr(h, "\"lm_head."));
    assert_non_null(strstr(h, "\"libtransfer.inference\":\"f32\""));
    assert_non_null(strstr(h, "\"embedding.weight\":{\"dtype\":\"F32\""));
    assert_non_null(strstr(h, "libtransfer.vocab"));
    assert_non_null(strstr(h, "libtransfer.decision"));
    free(h);
    free(hf);
    assert_int_equal(compare_tensors(ctx, TF_EXPORT_DTYPE_F32, 1), 0);
    assert_true(max_prob_diff(ctx) == 0.0); /* the same weights: the same predictions */
    assert_true(file_size(out_path) < file_size(full_path));
    tf_ctx_free(ctx);
}

/* Stated tolerances on the predicted probabilities: f16 5e-4, int8 1e-2 (each int8 weight is
 * within 1/254 of its row's largest magnitude; this model moves by about 2e-3). */
static void test_export_f16_and_int8_predict_within_tolerance(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    long long sizes[2];
    const uint32_t dtypes[2] = {TF_EXPORT_DTYPE_F16, TF_EXPORT_DTYPE_INT8};
    const double tol[2] = {5e-4, 1e-2};
    const char *want[2] = {"\"embedding.weight\":{\"dtype\":\"F16\"",
                           "\"embedding.weight\":{\"dtype\":\"I8\""};
    for (int k = 0; k < 2; k++) {
        export_as(ctx, dtypes[k], 1); /* min_elements 1: every matrix of the small model */
        char *h = header_of(out_path);
        assert_non_null(strstr(h, want[k]));
        assert_non_null(strstr(h, k ? "\"libtransfer.inference\":\"int8\""
                                     : "\"libtransfer.inference\":\"f16\""));
        assert_null(strstr(h, "\"lm_head."));
        /* biases stay F32, the scales come with the int8 matrices */
        assert_non_null(strstr(h, "\"lstm.bias_ih_l0\":{\"dtype\":\"F32\""));
        assert_true((strstr(h, "\"embedding.weight.scale\":{\"dtype\":\"F32\"") != NULL) == k);
        free(h);
        /* embedding, weight_ih, weight_hh, head */
        assert_int_equal(compare_tensors(ctx, dtypes[k], 1), 4);
        double d = max_prob_diff(ctx);
        if (!(d <= tol[k]))
            print_error("dtype %u: max |dp| %g above %g\n", dtypes[k], d, tol[k]);
        assert_true(d <= tol[k]);
        assert_true(d > 0.0); /* rounded weights do move the probabilities a little */
        sizes[k] = file_size(out_path);
    }
    assert_true(sizes[1] < sizes[0]);
    tf_ctx_free(ctx);
}

/* Tensors below min_elements stay F32: at 1000, only lstm.weight_hh_l0 (64 x 16) is rounded. */
static void test_export_min_elements_leaves_small_tensors(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    export_as(ctx, TF_EXPORT_DTYPE_INT8, 1000);
    char *h = header_of(out_path);
    assert_null(strstr(h, "\"embedding.weight\":{\"dtype\":\"I8\"")); /* 20-odd x 12 */
    assert_non_null(strstr(h, "\"lstm.weight_hh_l0\":{\"dtype\":\"I8\""));   /* 64 x 16 */
    assert_null(strstr(h, "\"head.weight\":{\"dtype\":\"I8\""));           /* 3 x 48 */
    free(h);
    assert_int_equal(compare_tensors(ctx, TF_EXPORT_DTYPE_INT8, 1000), 1);
    tf_ctx_free(ctx);
}

/* A model from an export predicts, evaluates and saves, but does not train. */
static void test_export_loaded_model_refuses_training(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    export_as(ctx, TF_EXPORT_DTYPE_INT8, 1);
    tf_model_t *m = load(ctx, out_path);
    tf_loader_t *train;
    assert_ok(tf_loader_create_labeled(&train, ctx, tf_model_vocab(m), train_tsv, NULL));
    tf_metrics_t met;
    assert_ok(tf_metrics_init(&met, TF_METRICS_VERSION));
    assert_ok(tf_evaluate(m, train, &met, NULL, 0));
    assert_true(met.accuracy > 0.5);
    assert_status(tf_finetune(m, train, NULL, NULL, NULL), TF_STATUS_ESTATE);
    assert_non_null(strstr(tf_last_error_message(), "inference export"));
    const char *paths[1] = {train_tsv};
    int32_t added;
    assert_status(tf_model_extend_vocab_files(m, paths, 1, 1, 0, &added), TF_STATUS_ESTATE);
    tf_loader_t *lm;
    assert_ok(tf_loader_create_lm(&lm, ctx, tf_model_vocab(m), paths, 1, NULL));
    assert_status(tf_pretrain(m, lm, NULL, NULL, NULL), TF_STATUS_ESTATE);
    assert_non_null(strstr(tf_last_error_message(), "language-model head"));
    tf_loader_free(lm);
    /* saved again, it stays an inference model with the same predictions */
    char again[160];
    snprintf(again, sizeof again, "%s/again.safetensors", dir);
    assert_ok(tf_model_save(m, again));
    tf_model_t *m2 = load(ctx, again);
    assert_status(tf_finetune(m2, train, NULL, NULL, NULL), TF_STATUS_ESTATE);
    float p[3], q[3];
    assert_ok(tf_predict_text(m, texts[0], strlen(texts[0]), p, 3));
    assert_ok(tf_predict_text(m2, texts[0], strlen(texts[0]), q, 3));
    assert_memory_equal(p, q, sizeof p);
    tf_model_free(m2);
    tf_loader_free(train);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* The predictor reads an export as tf_model_load does: dequantised, the same probabilities as the
 * loaded model (batched, so up to the rounding of the products); by default (int8 weights kept
 * where the CPU has integer products, docs/deployment.md) within their activation rounding. */
static void test_export_predictor_loads_it(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    export_as(ctx, TF_EXPORT_DTYPE_INT8, 1);
    tf_model_t *m = load(ctx, out_path);
    tf_predictor_opts_t po;
    assert_ok(tf_predictor_opts_init(&po, TF_PREDICTOR_OPTS_VERSION));
    po.int8_weights = TF_PREDICT_INT8_DEQUANTIZE;
    const char *t[NTEXTS];
    size_t lens[NTEXTS];
    float probs[NTEXTS * 3];
    for (int i = 0; i < NTEXTS; i++) {
        t[i] = texts[i];
        lens[i] = strlen(texts[i]);
    }
    for (int way = 0; way < 2; way++) { /* dequantised, then the default */
        tf_predictor_t *p;
        assert_ok(tf_predictor_load(&p, ctx, out_path, way == 0 ? &po : NULL));
        assert_int_equal(tf_predictor_num_classes(p), 3);
        assert_ok(tf_predict_texts(p, t, lens, NTEXTS, probs, NTEXTS * 3));
        for (int i = 0; i < NTEXTS; i++) {
            float q[3];
            assert_ok(tf_predict_text(m, texts[i], lens[i], q, 3));
            for (int c = 0; c < 3; c++)
                assert_true(fabsf(q[c] - probs[i * 3 + c]) <= (way == 0 ? 1e-5f : 1e-2f));
        }
        tf_predictor_free(p);
    }
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* Other backbones: a language-model head tied to the embedding, and a bidirectional one (no
 * language-model head at all), export, load and predict as trained. */
static void test_export_tied_and_bidirectional(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        tf_ctx_t *ctx = tf_test_ctx_seeded(2);
        tf_vocab_t *vocab;
        tf_model_t *m;
        tf_loader_t *train;
        tf_model_opts_t mo;
        tf_finetune_opts_t fo;
        const char *paths[1] = {train_tsv};
        assert_ok(tf_vocab_build_files(&vocab, ctx, paths, 1, NULL));
        tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
        mo.embedding_dim = 16;
        mo.hidden_size = 16;
        mo.tie_weights = variant == 0;
        mo.bidirectional = variant == 1;
        assert_ok(tf_model_create(&m, ctx, vocab, &mo));
        tf_vocab_free(vocab);
        assert_ok(tf_loader_create_labeled(&train, ctx, tf_model_vocab(m), train_tsv, NULL));
        tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
        fo.epochs = 1;
        assert_ok(tf_finetune(m, train, NULL, &fo, NULL));
        tf_export_opts_t eo = TF_EXPORT_OPTS_INIT;
        eo.dtype = TF_EXPORT_DTYPE_F16;
        assert_ok(tf_model_export(m, out_path, &eo));
        tf_model_t *ex = load(ctx, out_path);
        float p[3], q[3];
        assert_ok(tf_predict_text(m, texts[1], strlen(texts[1]), p, 3));
        assert_ok(tf_predict_text(ex, texts[1], strlen(texts[1]), q, 3));
        for (int c = 0; c < 3; c++)
            assert_true(fabsf(p[c] - q[c]) <= 5e-4f);
        assert_status(tf_finetune(ex, train, NULL, &fo, NULL), TF_STATUS_ESTATE);
        tf_model_free(ex);
        tf_loader_free(train);
        tf_model_free(m);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        tf_ctx_free(ctx);
    }
}

static void test_export_bad_arguments(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = load(ctx, full_path);
    tf_export_opts_t eo;
    assert_status(tf_export_opts_init(NULL, TF_EXPORT_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_export_opts_init(&eo, 0), TF_STATUS_EVERSION);
    assert_status(tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION + 1), TF_STATUS_EVERSION);
    assert_ok(tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION));
    tf_export_opts_t st = TF_EXPORT_OPTS_INIT;
    assert_memory_equal(&eo, &st, sizeof eo);
    assert_int_equal(eo.dtype, TF_EXPORT_DTYPE_F32);
    assert_status(tf_model_export(NULL, out_path, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_export(m, NULL, NULL), TF_STATUS_EINVAL);
    const uint32_t bad_dtype[3] = {0, 4, 0xffffffffu};
    for (int i = 0; i < 3; i++) {
        eo.dtype = bad_dtype[i];
        assert_status(tf_model_export(m, out_path, &eo), TF_STATUS_EINVAL);
    }
    eo.dtype = TF_EXPORT_DTYPE_INT8;
    eo.min_elements = 0;
    assert_status(tf_model_export(m, out_path, &eo), TF_STATUS_EINVAL);
    eo.min_elements = 1;
    eo.reserved = 1;
    assert_status(tf_model_export(m, out_path, &eo), TF_STATUS_EINVAL);
    eo.reserved = 0;
    eo.version = 9;
    assert_status(tf_model_export(m, out_path, &eo), TF_STATUS_EVERSION);
    assert_status(tf_model_export(m, "/nonexistent-dir/x.safetensors", NULL), TF_STATUS_EIO);
    tf_model_free(m);
    /* a language model (no task head) is not exported */
    tf_model_t *lm;
    assert_ok(tf_model_load(&lm, ctx, full_path, TF_MODEL_LOAD_BACKBONE));
    assert_status(tf_model_export(lm, out_path, NULL), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "task head"));
    tf_model_free(lm);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
}

/* Every allocation failure of an int8 export returns ENOMEM and leaks nothing. */
static void test_export_out_of_memory(void **state)
{
    (void)state;
    tf_test_alloc_t ta;
    tf_test_alloc_init(&ta);
    tf_ctx_t *ctx = tf_test_ctx_new(&ta);
    tf_model_t *m = load(ctx, full_path);
    tf_export_opts_t eo;
    assert_ok(tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION));
    eo.dtype = TF_EXPORT_DTYPE_INT8;
    eo.min_elements = 1;
    long base = ta.attempts;
    tf_status_t st = TF_STATUS_ENOMEM;
    for (long n = 1; st != TF_STATUS_OK; n++) {
        long before = ta.allocs - ta.frees;
        ta.fail_at = base + n;
        st = tf_model_export(m, out_path, &eo);
        ta.fail_at = 0;
        base = ta.attempts;
        assert_true(st == TF_STATUS_OK || st == TF_STATUS_ENOMEM);
        assert_int_equal(ta.allocs - ta.frees, before);
        assert_true(n < 1000);
    }
    tf_model_free(m);
    tf_ctx_free(ctx);
    tf_test_alloc_release_all(&ta);
}

/* The inference key must name a known dtype; an exported file with lm_head tensors put back, or
 * cut short, is refused. */
static void test_export_hostile_files(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    export_as(ctx, TF_EXPORT_DTYPE_INT8, 1);
    tf_tensorfile_t *f, *full;
    assert_ok(tf_tensorfile_load(&f, ctx, out_path, NULL));
    assert_ok(tf_tensorfile_load(&full, ctx, full_path, NULL));
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    for (int variant = 0; variant < 2; variant++) {
        tf_tensorfile_writer_t *w;
        assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
        for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
            tf_tensor_t *t;
            assert_ok(tf_tensorfile_get(&t, f, tf_tensorfile_name(f, i)));
            assert_ok(tf_tensorfile_writer_add_tensor(w, tf_tensorfile_name(f, i), t));
        }
        if (variant == 1) {
            tf_tensor_t *t;
            assert_ok(tf_tensorfile_get(&t, full, "lm_head.weight"));
            assert_ok(tf_tensorfile_writer_add_tensor(w, "lm_head.weight", t));
        }
        for (uint32_t i = 0; i < tf_tensorfile_num_meta(f); i++) {
            const char *k, *v;
            assert_ok(tf_tensorfile_meta_at(&k, &v, f, i));
            if (strcmp(k, "libtransfer.inference") == 0 && variant == 0)
                v = "int4";
            if (strncmp(k, "libtransfer.", 12) == 0)
                assert_ok(tf_tensorfile_writer_add_meta(w, k, v));
        }
        assert_ok(tf_tensorfile_writer_save(w, bad));
        tf_tensorfile_writer_free(w);
        tf_model_t *m = (tf_model_t *)ctx;
        assert_status(tf_model_load(&m, ctx, bad, 0), TF_STATUS_EFORMAT);
        assert_null(m);
        assert_non_null(strstr(tf_last_error_message(), variant ? "lm_head.weight" : "int4"));
    }
    tf_tensorfile_free(f);
    tf_tensorfile_free(full);
    /* truncated anywhere: a format error */
    FILE *in = fopen(out_path, "rb");
    assert_non_null(in);
    long long size = file_size(out_path);
    unsigned char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    for (long long cut = 0; cut < size; cut += 1 + cut / 7) {
        FILE *o = fopen(bad, "wb");
        assert_non_null(o);
        assert_int_equal(fwrite(bytes, 1, (size_t)cut, o), (size_t)cut);
        fclose(o);
        tf_model_t *m;
        assert_status(tf_model_load(&m, ctx, bad, 0), TF_STATUS_EFORMAT);
    }
    free(bytes);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_f32_drops_only_the_lm_head),
        cmocka_unit_test(test_export_f16_and_int8_predict_within_tolerance),
        cmocka_unit_test(test_export_min_elements_leaves_small_tensors),
        cmocka_unit_test(test_export_loaded_model_refuses_training),
        cmocka_unit_test(test_export_predictor_loads_it),
        cmocka_unit_test(test_export_tied_and_bidirectional),
        cmocka_unit_test(test_export_bad_arguments),
        cmocka_unit_test(test_export_out_of_memory),
        cmocka_unit_test(test_export_hostile_files),
    };
    if (tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
