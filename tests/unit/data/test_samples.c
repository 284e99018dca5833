/* SPDX-License-Identifier: MIT */
/* The loaders on small samples of the real data sets (tests/data, see its NOTICE). */
#include "data_util.h"

#define SOTU TF_TEST_DATA_DIR "/data/sotu_sample.txt"
#define BROWN TF_TEST_DATA_DIR "/data/brown_sample.tsv"

static void test_samples_sotu_lm_targets_follow_tokens(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *path = SOTU;
    tf_vocab_t *v = NULL, *w = NULL;
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.lowercase = 1;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 4;
    lo.bptt = 16;
    lo.shuffle = 0;
    assert_ok(tf_loader_create_lm_vocab(&l, &v, ctx, &path, 1, &vo, &lo));
    assert_true(tf_loader_num_sequences(l) > 5000);
    assert_true(tf_vocab_size(v) > 1000);
    assert_int_equal(tf_vocab_lookup(v, "the", 3), 4); /* the most frequent word */
    assert_int_equal(tf_loader_invalid_utf8(l), 0);
    /* Windows in order: each target is the next token, across window boundaries too. */
    int32_t prev_last_tgt[4];
    int first = 1;
    for (;;) {
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            break;
        int32_t T = tf_batch_steps(b);
        const int32_t *tok = i32_of(tf_batch_tokens(b)), *tgt = i32_of(tf_batch_targets(b));
        for (int s = 0; s < 4; s++) {
            if (!first)
                assert_int_equal(tok[s], prev_last_tgt[s]);
            for (int32_t t = 0; t + 1 < T; t++)
                assert_int_equal(tgt[t * 4 + s], tok[(t + 1) * 4 + s]);
            prev_last_tgt[s] = tgt[(T - 1) * 4 + s];
        }
        first = 0;
    }
    /* The vocabulary survives a round trip through its string form. */
    size_t len = 0;
    char *buf = serialized(v, &len);
    assert_ok(tf_vocab_deserialize(&w, ctx, buf, len));
    free(buf);
    assert_int_equal(tf_vocab_size(w), tf_vocab_size(v));
    for (int32_t i = 0; i < tf_vocab_size(v); i++)
        assert_string_equal(tf_vocab_token(v, i, NULL), tf_vocab_token(w, i, NULL));
    tf_vocab_free(w);
    tf_loader_free(l);
    tf_vocab_free(v);
}

static void test_samples_brown_labels_and_split(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *path = BROWN;
    tf_vocab_t *v = NULL;
    tf_loader_t *all = NULL, *tr = NULL, *va = NULL;
    tf_loader_opts_t lo;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 8;
    assert_ok(tf_loader_create_labeled(&all, ctx, v, path, &lo));
    assert_int_equal(tf_loader_num_sequences(all), 60);
    assert_int_equal(tf_loader_num_labels(all), 15);
    assert_string_equal(tf_loader_label_name(all, 0), "adventure");
    assert_string_equal(tf_loader_label_name(all, 14), "science_fiction");
    const char *names[15];
    for (int i = 0; i < 15; i++)
        names[i] = tf_loader_label_name(all, i);
    lo.labels = names;
    lo.num_labels = 15;
    lo.valid_fraction = 0.25;
    lo.split = TF_LOADER_SPLIT_TRAIN;
    assert_ok(tf_loader_create_labeled(&tr, ctx, v, path, &lo));
    lo.split = TF_LOADER_SPLIT_VALID;
    assert_ok(tf_loader_create_labeled(&va, ctx, v, path, &lo));
    assert_int_equal(tf_loader_num_sequences(tr) + tf_loader_num_sequences(va), 60);
    assert_true(tf_loader_num_sequences(va) > 3);
    int64_t n = 0;
    for (;;) {
        tf_batch_t *b;
        assert_ok(tf_loader_next(&b, tr));
        if (b == NULL)
            break;
        n += tf_batch_size(b);
    }
    assert_int_equal(n, tf_loader_num_sequences(tr));
    assert_true(tf_loader_epoch_fraction(tr) == 1.0);
    tf_loader_free(all);
    tf_loader_free(tr);
    tf_loader_free(va);
    tf_vocab_free(v);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_samples_sotu_lm_targets_follow_tokens),
        T(test_samples_brown_labels_and_split),
    };
    return TF_TEST_RUN(tests);
}
