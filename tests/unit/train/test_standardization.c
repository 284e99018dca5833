/* SPDX-License-Identifier: MIT */
/* The per-feature standardisation a numeric model records: learnt from its first training
 * loader, kept by checkpoints, applied by tf_predict_features; hostile metadata refused. */
#include "tf_test.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

enum { N = 40, L = 6, F = 3 };
static float values[N * L * F];
static int64_t offsets[N + 1];
static int32_t labels[N];
static char dir[64];

/* Feature f of class c: a ramp around 10 * (f + 1) with spread f + 1, class 1 rising faster,
 * so each feature has its own scale and the statistics differ from (0, 1). */
static void make_data(void)
{
    unsigned s = 3;
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        offsets[i + 1] = (int64_t)(i + 1) * L;
        for (int t = 0; t < L; t++)
            for (int f = 0; f < F; f++) {
                s = s * 1103515245u + 12345u;
                double noise = (double)(s >> 16) / 65536.0 - 0.5;
                values[((size_t)i * L + t) * F + f] =
                    (float)(10.0 * (f + 1) + (f + 1) * (noise + t * (labels[i] ? 0.5 : 0.1)));
            }
    }
}

static int setup(void **state)
{
    (void)state;
    make_data();
    snprintf(dir, sizeof dir, "/tmp/tf_stdz_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

static tf_model_t *numeric_model(tf_ctx_t *ctx)
{
    tf_model_opts_t mo;
    tf_model_t *m;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = F;
    mo.embedding_dim = 4;
    mo.hidden_size = 6;
    mo.dropout = 0;
    assert_ok(tf_model_create(&m, ctx, NULL, &mo));
    return m;
}

static tf_loader_t *loader(tf_ctx_t *ctx, int next_step, int n)
{
    tf_loader_opts_t lo;
    tf_loader_t *l;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 8;
    lo.num_features = F;
    lo.next_step = next_step;
    assert_ok(tf_loader_create_numeric_memory(&l, ctx, values, offsets, n, next_step ? NULL : labels,
                                              &lo));
    return l;
}

/* Mean and population std of every step of the first n sequences, in double. */
static void reference_stats(int n, double *mean, double *sd)
{
    size_t steps = (size_t)n * L;
    for (int f = 0; f < F; f++) {
        double s = 0, q = 0;
        for (size_t t = 0; t < steps; t++)
            s += values[t * F + f];
        mean[f] = s / (double)steps;
        for (size_t t = 0; t < steps; t++)
            q += (values[t * F + f] - mean[f]) * (values[t * F + f] - mean[f]);
        sd[f] = sqrt(q / (double)steps);
    }
}

static void check_stats(const tf_model_t *m, int n)
{
    float mean[F], sd[F];
    double rm[F], rs[F];
    reference_stats(n, rm, rs);
    assert_ok(tf_model_standardization(m, mean, sd, F));
    for (int f = 0; f < F; f++) {
        assert_true(fabs(mean[f] - rm[f]) <= 1e-5 * fabs(rm[f]));
        assert_true(fabs(sd[f] - rs[f]) <= 1e-4 * rs[f]);
    }
}

/* Pre-training records the statistics of its loader; fine-tuning on other data (other
 * statistics) keeps them; a model fine-tuned from scratch learns those of its training data. */
static void test_standardization_learnt_at_first_training(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5);
    tf_model_t *m = numeric_model(ctx), *scratch = numeric_model(ctx);
    float mean[F], sd[F];
    assert_status(tf_model_standardization(m, mean, sd, F), TF_STATUS_ENOTFOUND);
    tf_loader_t *next = loader(ctx, 1, N), *cls = loader(ctx, 0, N / 2);
    tf_pretrain_opts_t po;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 2;
    assert_ok(tf_pretrain(m, next, NULL, &po, NULL));
    check_stats(m, N);
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_ok(tf_finetune(m, cls, NULL, &fo, NULL));
    check_stats(m, N); /* still the pre-training data's, not the first N / 2 sequences' */
    assert_ok(tf_finetune(scratch, cls, NULL, &fo, NULL));
    check_stats(scratch, N / 2);
    /* labels of caller arrays without names: the classes are named by their ids */
    assert_string_equal(tf_model_label_name(scratch, 0), "0");
    assert_string_equal(tf_model_label_name(scratch, 1), "1");
    tf_loader_free(next);
    tf_loader_free(cls);
    tf_model_free(m);
    tf_model_free(scratch);
    tf_ctx_free(ctx);
}

/* Saved and loaded bit for bit (with and without the task head); prediction on raw values
 * equals prediction without statistics on values the test standardised itself. */
static void test_standardization_checkpoint_and_predict(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(6);
    tf_model_t *m = numeric_model(ctx), *plain, *loaded;
    tf_loader_t *cls = loader(ctx, 0, N);
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_ok(tf_finetune(m, cls, NULL, &fo, NULL));
    /* Values a decimal round trip with fewer digits would change. */
    const float mean[F] = {0.1f, -123.456789f, 1e-7f}, sd[F] = {3.3333333f, 1e-3f, 7e5f};
    char with[128], without[128];
    snprintf(with, sizeof with, "%s/with.safetensors", dir);
    snprintf(without, sizeof without, "%s/without.safetensors", dir);
    assert_ok(tf_model_set_standardization(m, mean, sd, F));
    assert_ok(tf_model_save(m, with));
    tf_test_rewrite_meta(ctx, with, without, "libtransfer.standardization", NULL);
    for (uint32_t flags = 0; flags <= TF_MODEL_LOAD_BACKBONE; flags += TF_MODEL_LOAD_BACKBONE) {
        float gm[F], gs[F];
        assert_ok(tf_model_load(&loaded, ctx, with, flags));
        assert_ok(tf_model_standardization(loaded, gm, gs, F));
        assert_memory_equal(gm, mean, sizeof mean);
        assert_memory_equal(gs, sd, sizeof sd);
        assert_status(tf_model_standardization(loaded, gm, gs, F - 1), TF_STATUS_EBUFSIZE);
        tf_model_free(loaded);
    }
    assert_ok(tf_model_load(&loaded, ctx, with, 0));
    assert_ok(tf_model_load(&plain, ctx, without, 0));
    float gm[F], gs[F];
    assert_status(tf_model_standardization(plain, gm, gs, F), TF_STATUS_ENOTFOUND);
    const float *raw = values + (size_t)3 * L * F;
    float scaled[L * F], p1[2], p2[2];
    for (int t = 0; t < L; t++)
        for (int f = 0; f < F; f++)
            scaled[t * F + f] = (raw[t * F + f] - mean[f]) / sd[f];
    assert_ok(tf_predict_features(loaded, raw, L, p1, 2));
    assert_ok(tf_predict_features(plain, scaled, L, p2, 2));
    for (int c = 0; c < 2; c++)
        assert_true(fabsf(p1[c] - p2[c]) <= 1e-6f);
    /* and the statistics matter: raw values into the plain model give other probabilities */
    assert_ok(tf_predict_features(plain, raw, L, p2, 2));
    assert_true(fabsf(p1[0] - p2[0]) > 1e-4f);
    tf_model_free(plain);
    tf_model_free(loaded);
    tf_model_free(m);
    tf_loader_free(cls);
    tf_ctx_free(ctx);
}

/* Bad arguments: wrong feature count, non-finite values, std not above 0, a token model. */
static void test_standardization_bad_arguments(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(7);
    tf_model_t *m = numeric_model(ctx);
    const float ok[F] = {0, 0, 0}, one[F] = {1, 1, 1};
    const float nan_[F] = {0, NAN, 0}, inf_[F] = {INFINITY, 0, 0};
    const float zero[F] = {1, 0, 1}, neg[F] = {1, 1, -2};
    assert_status(tf_model_set_standardization(NULL, ok, one, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, NULL, one, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, ok, NULL, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, ok, one, F + 1), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "3 features, not 4"));
    assert_status(tf_model_set_standardization(m, nan_, one, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, inf_, one, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, ok, nan_, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, ok, zero, F), TF_STATUS_EINVAL);
    assert_status(tf_model_set_standardization(m, ok, neg, F), TF_STATUS_EINVAL);
    float a[F], b[F];
    assert_status(tf_model_standardization(m, a, b, F), TF_STATUS_ENOTFOUND); /* none was set */
    assert_status(tf_model_standardization(NULL, a, b, F), TF_STATUS_EINVAL);
    assert_status(tf_model_standardization(m, NULL, b, F), TF_STATUS_EINVAL);
    tf_model_t *tok;
    assert_ok(tf_model_load(&tok, ctx, TF_TEST_DATA_DIR "/data/checkpoint_vocab1.safetensors", 0));
    assert_status(tf_model_set_standardization(tok, ok, one, F), TF_STATUS_ESTATE);
    assert_status(tf_model_standardization(tok, a, b, F), TF_STATUS_ENOTFOUND);
    tf_model_free(tok);
    tf_model_free(m);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
}

/* Hostile metadata is a format error naming what is wrong, and leaves nothing allocated. */
static void test_standardization_hostile_metadata(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"not json", "standardisation metadata"},
        {"[1, 2, 3]", "standardisation metadata"},
        {"{\"std\":[1,1,1]}", "'mean'"},
        {"{\"mean\":[0,0,0]}", "'std'"},
        {"{\"mean\":[0,0],\"std\":[1,1,1]}", "array of 3 numbers"},
        {"{\"mean\":[0,0,0,0],\"std\":[1,1,1]}", "array of 3 numbers"},
        {"{\"mean\":[0,0,0],\"std\":[1,1]}", "array of 3 numbers"},
        {"{\"mean\":[0,\"x\",0],\"std\":[1,1,1]}", "'mean' value 1"},
        {"{\"mean\":[0,0,0],\"std\":[1,0,1]}", "'std' value 1"},
        {"{\"mean\":[0,0,0],\"std\":[1,1,-1]}", "'std' value 2"},
        {"{\"mean\":[0,1e300,0],\"std\":[1,1,1]}", "'mean' value 1"},
        {"{\"mean\":[0,0,0],\"std\":[1,null,1]}", "'std' value 1"},
        {"{\"mean\":\"0,0,0\",\"std\":[1,1,1]}", "'mean'"},
    };
    tf_test_alloc_t ta;
    tf_test_alloc_init(&ta);
    tf_ctx_t *ctx = tf_test_ctx_new(&ta);
    tf_model_t *m = numeric_model(ctx), *got = NULL;
    char good[128], bad[128];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    assert_ok(tf_model_save(m, good));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tf_test_rewrite_meta(ctx, good, bad, "libtransfer.standardization", cases[i][0]);
        assert_status(tf_model_load(&got, ctx, bad, 0), TF_STATUS_EFORMAT);
        assert_null(got);
        if (strstr(tf_last_error_message(), cases[i][1]) == NULL)
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i][1], tf_last_error_message());
    }
    /* A token model with a numeric standardisation is refused too. */
    tf_test_rewrite_meta(ctx, TF_TEST_DATA_DIR "/data/checkpoint_vocab1.safetensors", bad,
                         "libtransfer.standardization", "{\"mean\":[0],\"std\":[1]}");
    assert_status(tf_model_load(&got, ctx, bad, 0), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "token model"));
    tf_model_free(m);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
    assert_int_equal(ta.allocs, ta.frees);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standardization_learnt_at_first_training),
        cmocka_unit_test(test_standardization_checkpoint_and_predict),
        cmocka_unit_test(test_standardization_bad_arguments),
        cmocka_unit_test(test_standardization_hostile_metadata),
    };
    if (tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
