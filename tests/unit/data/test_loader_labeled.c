/* SPDX-License-Identifier: MIT */
#include "data_util.h"

static tf_loader_opts_t opts(int B, int shuffle)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = B;
    o.shuffle = shuffle;
    return o;
}

static tf_vocab_t *vocab_of(tf_ctx_t *ctx, const char *text)
{
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, &text, NULL, 1, NULL));
    return v;
}

static void test_labeled_tsv_padding_lengths_labels(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    /* CRLF line ends, a blank line, a tab inside the text. */
    const char *path = tmp_write(&d, "t.tsv",
                                 "spam\tbuy now\r\nham\thello\r\n\r\nspam\tbuy buy now\tnow\r\n",
                                 (size_t)-1);
    tf_vocab_t *v = vocab_of(ctx, "buy now hello");
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(2, 0);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, path, &o));
    assert_int_equal(tf_loader_num_sequences(l), 3);
    assert_int_equal(tf_loader_num_labels(l), 2);
    assert_string_equal(tf_loader_label_name(l, 0), "ham"); /* byte order of names */
    assert_string_equal(tf_loader_label_name(l, 1), "spam");
    assert_null(tf_loader_label_name(l, 2));
    int32_t buy = tf_vocab_lookup(v, "buy", 3), now = tf_vocab_lookup(v, "now", 3),
            hello = tf_vocab_lookup(v, "hello", 5);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_size(b), 2);
    assert_int_equal(tf_batch_steps(b), 2);
    const int32_t want[4] = {buy, hello, now, TF_VOCAB_PAD};
    assert_memory_equal(i32_of(tf_batch_tokens(b)), want, sizeof want);
    assert_int_equal(i32_of(tf_batch_lengths(b))[0], 2);
    assert_int_equal(i32_of(tf_batch_lengths(b))[1], 1);
    assert_int_equal(i32_of(tf_batch_labels(b))[0], 1);
    assert_int_equal(i32_of(tf_batch_labels(b))[1], 0);
    assert_null(tf_batch_targets(b));
    /* The last batch is smaller (not padded, not dropped by default). */
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_size(b), 1);
    assert_int_equal(tf_batch_steps(b), 4);
    const int32_t want2[4] = {buy, buy, now, now};
    assert_memory_equal(i32_of(tf_batch_tokens(b)), want2, sizeof want2);
    assert_int_equal(tf_tensor_dim(tf_batch_labels(b), 0), 1);
    assert_ok(tf_loader_next(&b, l));
    assert_null(b);
    assert_int_equal(tf_loader_items_read(l), 3);
    tf_loader_free(l);
    /* drop_last drops it; max_len truncates. */
    o.drop_last = 1;
    o.max_len = 1;
    assert_ok(tf_loader_create_labeled(&l, ctx, v, path, &o));
    assert_int_equal(tf_loader_num_batches(l), 1);
    assert_int_equal(tf_loader_num_items(l), 2);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_steps(b), 1);
    assert_int_equal(i32_of(tf_batch_lengths(b))[0], 1);
    assert_ok(tf_loader_next(&b, l));
    assert_null(b);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_labeled_validation_uses_training_labels(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    char tr[512], va[512];
    tmp_open(&d);
    snprintf(tr, sizeof tr, "%s", tmp_write(&d, "train.tsv", "b\tx\na\ty\nc\tz\n", (size_t)-1));
    snprintf(va, sizeof va, "%s", tmp_write(&d, "valid.tsv", "c\tx\n", (size_t)-1));
    tf_vocab_t *v = vocab_of(ctx, "x y z");
    tf_loader_t *train = NULL, *valid = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(4, 0);
    assert_ok(tf_loader_create_labeled(&train, ctx, v, tr, &o));
    const char *names[3];
    for (int i = 0; i < 3; i++)
        names[i] = tf_loader_label_name(train, i);
    o.labels = names;
    o.num_labels = 3;
    assert_ok(tf_loader_create_labeled(&valid, ctx, v, va, &o));
    assert_int_equal(tf_loader_num_labels(valid), 3);
    assert_ok(tf_loader_next(&b, valid));
    assert_int_equal(i32_of(tf_batch_labels(b))[0], 2); /* "c" keeps the training id */
    tf_loader_free(valid);
    /* An unknown label names the file and the line. */
    const char *bad = tmp_write(&d, "bad.tsv", "a\tx\n\nzzz\ty\n", (size_t)-1);
    valid = (tf_loader_t *)ctx;
    assert_status(tf_loader_create_labeled(&valid, ctx, v, bad, &o), TF_STATUS_EFORMAT);
    assert_null(valid);
    assert_msg_has("bad.tsv:3");
    assert_msg_has("zzz");
    /* Fixed labels must have names and no duplicates. */
    o.labels = NULL;
    assert_status(tf_loader_create_labeled(&valid, ctx, v, tr, &o), TF_STATUS_EINVAL);
    const char *dup[2] = {"a", "a"};
    o.labels = dup;
    o.num_labels = 2;
    assert_status(tf_loader_create_labeled(&valid, ctx, v, tr, &o), TF_STATUS_EINVAL);
    tf_loader_free(train);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_labeled_bucketing_and_shuffle(void **state)
{
    tf_ctx_t *ctx = *state;
    char text[20000];
    size_t o = 0;
    /* 64 sequences of lengths 1..64 (word "w" repeated), label = length % 2. */
    for (int i = 1; i <= 64; i++) {
        o += (size_t)snprintf(text + o, sizeof text - o, "%c\t", i % 2 ? 'o' : 'e');
        for (int k = 0; k < i; k++)
            o += (size_t)snprintf(text + o, sizeof text - o, "w ");
        text[o++] = '\n';
    }
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "t.tsv", text, o);
    tf_vocab_t *v = vocab_of(ctx, "w");
    tf_loader_t *l = NULL, *l2 = NULL;
    tf_batch_t *b;
    tf_loader_opts_t lo = opts(8, 1);
    lo.bucket = 8; /* one pool of all 64 */
    lo.seed = 3;
    assert_ok(tf_loader_create_labeled(&l, ctx, v, path, &lo));
    int seen[65] = {0}, batches = 0, first_T[8];
    for (;;) {
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            break;
        const int32_t *len = i32_of(tf_batch_lengths(b)), *lab = i32_of(tf_batch_labels(b));
        int mn = 1000, mx = 0;
        for (int i = 0; i < tf_batch_size(b); i++) {
            seen[len[i]]++;
            mn = len[i] < mn ? len[i] : mn;
            mx = len[i] > mx ? len[i] : mx;
            assert_int_equal(lab[i], len[i] % 2 ? 1 : 0); /* "e" = 0, "o" = 1 */
        }
        assert_int_equal(mx - mn, 7); /* sorted pool: each batch is 8 consecutive lengths */
        assert_int_equal(tf_batch_steps(b), mx);
        first_T[batches++] = mx;
    }
    assert_int_equal(batches, 8);
    for (int i = 1; i <= 64; i++)
        assert_int_equal(seen[i], 1);
    /* Batch order is shuffled (not longest first). */
    int sorted = 1;
    for (int i = 1; i < 8; i++)
        sorted &= first_T[i] < first_T[i - 1];
    assert_false(sorted);
    /* Without bucketing, a shuffled batch mixes lengths; same seed, same order. */
    lo.bucket = 0;
    assert_ok(tf_loader_create_labeled(&l2, ctx, v, path, &lo));
    tf_loader_free(l);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, path, &lo));
    int wide = 0;
    for (;;) {
        tf_batch_t *b2;
        assert_ok(tf_loader_next(&b, l));
        assert_ok(tf_loader_next(&b2, l2));
        if (b == NULL)
            break;
        assert_memory_equal(i32_of(tf_batch_lengths(b)), i32_of(tf_batch_lengths(b2)), 32);
        const int32_t *len = i32_of(tf_batch_lengths(b));
        int mn = 1000, mx = 0;
        for (int i = 0; i < 8; i++) {
            mn = len[i] < mn ? len[i] : mn;
            mx = len[i] > mx ? len[i] : mx;
        }
        wide += mx - mn > 7;
    }
    assert_true(wide > 0);
    tf_loader_free(l);
    tf_loader_free(l2);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_memory_tokens_flat_and_padded(void **state)
{
    tf_ctx_t *ctx = *state;
    const int32_t ids[6] = {5, 6, 7, 8, 9, 10};
    const int64_t off[4] = {0, 3, 4, 6};
    const int32_t labels[3] = {1, 0, 2};
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(3, 0);
    assert_ok(tf_loader_create_tokens(&l, ctx, ids, off, 3, labels, &o));
    assert_int_equal(tf_loader_num_labels(l), 3);
    assert_null(tf_loader_label_name(l, 0));
    assert_ok(tf_loader_next(&b, l));
    const int32_t want[9] = {5, 8, 9, 6, 0, 10, 7, 0, 0};
    assert_memory_equal(i32_of(tf_batch_tokens(b)), want, sizeof want);
    const int32_t wl[3] = {3, 1, 2};
    assert_memory_equal(i32_of(tf_batch_lengths(b)), wl, sizeof wl);
    assert_memory_equal(i32_of(tf_batch_labels(b)), labels, sizeof labels);
    tf_loader_free(l);
    /* Padded (num_seqs, stride) layout, with label names. */
    const int32_t pad[6] = {5, 6, 7, 8, -1, -1};
    const int32_t lens[2] = {3, 1};
    const char *names[2] = {"neg", "pos"};
    o.labels = names;
    o.num_labels = 2;
    assert_ok(tf_loader_create_tokens_padded(&l, ctx, pad, 3, lens, 2, NULL, &o));
    assert_string_equal(tf_loader_label_name(l, 1), "pos");
    assert_ok(tf_loader_next(&b, l));
    const int32_t want2[6] = {5, 8, 6, 0, 7, 0};
    assert_memory_equal(i32_of(tf_batch_tokens(b)), want2, sizeof want2);
    assert_null(tf_batch_labels(b));
    tf_loader_free(l);
    /* Bad arrays. */
    o.labels = NULL;
    o.num_labels = 2;
    const int64_t bad_off[3] = {0, 2, 2};
    l = (tf_loader_t *)ctx;
    assert_status(tf_loader_create_tokens(&l, ctx, ids, bad_off, 2, NULL, &o), TF_STATUS_EINVAL);
    assert_null(l);
    assert_status(tf_loader_create_tokens(&l, ctx, ids, off, 3, labels, &o), TF_STATUS_EINVAL);
    const int32_t neg[2] = {-3, 1};
    const int64_t off2[2] = {0, 2};
    assert_status(tf_loader_create_tokens(&l, ctx, neg, off2, 1, NULL, NULL), TF_STATUS_EINVAL);
    const int32_t badlen[2] = {3, 4};
    assert_status(tf_loader_create_tokens_padded(&l, ctx, pad, 3, badlen, 2, NULL, NULL),
                  TF_STATUS_EINVAL);
    assert_status(tf_loader_create_tokens(&l, ctx, ids, off, 0, NULL, NULL), TF_STATUS_EINVAL);
}

static const float *f32_of(tf_tensor_t *t)
{
    assert_non_null(t);
    return tf_tensor_data(t);
}

static void test_multilabel_tsv_sets(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    /* Sets with spaces and a repeat, an empty set, and one label alone. */
    const char *path = tmp_write(&d, "m.tsv",
                                 "sport, politics\tx y\n\tz\nsport,sport\ty\narts\tx\n",
                                 (size_t)-1);
    tf_vocab_t *v = vocab_of(ctx, "x y z");
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(4, 0);
    assert_ok(tf_loader_create_multilabel(&l, ctx, v, path, &o));
    assert_int_equal(tf_loader_is_multilabel(l), 1);
    assert_int_equal(tf_loader_num_sequences(l), 4);
    assert_int_equal(tf_loader_num_labels(l), 3);
    assert_string_equal(tf_loader_label_name(l, 0), "arts"); /* byte order of names */
    assert_string_equal(tf_loader_label_name(l, 1), "politics");
    assert_string_equal(tf_loader_label_name(l, 2), "sport");
    assert_ok(tf_loader_next(&b, l));
    assert_null(tf_batch_labels(b));
    tf_tensor_t *sets = tf_batch_label_sets(b);
    assert_int_equal(tf_tensor_ndim(sets), 2);
    assert_int_equal(tf_tensor_dim(sets, 0), 4);
    assert_int_equal(tf_tensor_dim(sets, 1), 3);
    const float want[12] = {0, 1, 1, /* sport, politics */
                            0, 0, 0, /* no label */
                            0, 0, 1, /* sport twice counts once */
                            1, 0, 0};
    assert_memory_equal(f32_of(sets), want, sizeof want);
    assert_int_equal(i32_of(tf_batch_lengths(b))[0], 2);
    tf_loader_free(l);
    /* A validation file with the training names keeps their ids; the single-label loader
     * is unchanged (no sets). */
    const char *names[3] = {"arts", "politics", "sport"};
    o.labels = names;
    o.num_labels = 3;
    assert_ok(tf_loader_create_multilabel(&l, ctx, v, tmp_write(&d, "v.tsv", "sport\tx\n", (size_t)-1), &o));
    assert_ok(tf_loader_next(&b, l));
    const float want1[3] = {0, 0, 1};
    assert_memory_equal(f32_of(tf_batch_label_sets(b)), want1, sizeof want1);
    tf_loader_free(l);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, tmp_write(&d, "s.tsv", "a\tx\n", (size_t)-1), NULL));
    assert_int_equal(tf_loader_is_multilabel(l), 0);
    assert_ok(tf_loader_next(&b, l));
    assert_null(tf_batch_label_sets(b));
    tf_loader_free(l);
    /* Bad sets name the file and line: an empty name, a trailing comma, an unknown label. */
    static const char *const bad[] = {"a,,b\tx\n", "sport,\tx\n", " , \tx\n", "sport,chess\tx\n"};
    for (int i = 0; i < 4; i++) {
        l = (tf_loader_t *)ctx;
        assert_status(tf_loader_create_multilabel(&l, ctx, v, tmp_write(&d, "bad.tsv", bad[i], (size_t)-1), &o),
                      TF_STATUS_EFORMAT);
        assert_null(l);
        assert_msg_has("bad.tsv:1");
    }
    assert_msg_has("chess");
    /* skip_bad_lines drops the line whole: no label of it is kept. */
    o.labels = NULL;
    o.num_labels = 0;
    o.skip_bad_lines = 1;
    assert_ok(tf_loader_create_multilabel(&l, ctx, v, tmp_write(&d, "skip.tsv", "a\tx\nb,,c\ty\n", (size_t)-1), &o));
    assert_int_equal(tf_loader_num_sequences(l), 1);
    assert_int_equal(tf_loader_skipped_lines(l), 1);
    assert_int_equal(tf_loader_num_labels(l), 1); /* not "b" */
    tf_loader_free(l);
    assert_status(tf_loader_create_multilabel(NULL, ctx, v, path, NULL), TF_STATUS_EINVAL);
    assert_msg_has("tf_loader_create_multilabel");
    tf_vocab_free(v);
    tmp_close(&d);
}

/* Tokens read and those unknown to the vocabulary; a skipped line counts for neither. */
static void test_labeled_unknown_token_counts(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    const char *known = "good bad";
    tf_vocab_t *v = NULL;
    tf_loader_t *l = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, &known, NULL, 1, NULL));
    const char *path = tmp_write(&d, "t.tsv",
                                 "pos\tgood day\nneg\tbad bad night\nother\tmystery words\n"
                                 "pos\tgood\n", (size_t)-1);
    static const char *const names[] = {"neg", "pos"};
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.labels = names;
    o.num_labels = 2;
    o.skip_bad_lines = 1;
    assert_ok(tf_loader_create_labeled(&l, ctx, v, path, &o));
    assert_int_equal(tf_loader_skipped_lines(l), 1);
    assert_int_equal(tf_loader_num_tokens(l), 6);
    assert_int_equal(tf_loader_unknown_tokens(l), 2); /* day, night */
    tf_loader_free(l);
    assert_int_equal(tf_loader_num_tokens(NULL), 0);
    assert_int_equal(tf_loader_unknown_tokens(NULL), 0);
    tf_vocab_free(v);
    tmp_close(&d);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_labeled_tsv_padding_lengths_labels),
        T(test_labeled_validation_uses_training_labels),
        T(test_labeled_bucketing_and_shuffle),
        T(test_memory_tokens_flat_and_padded),
        T(test_multilabel_tsv_sets),
        T(test_labeled_unknown_token_counts),
    };
    return TF_TEST_RUN(tests);
}
