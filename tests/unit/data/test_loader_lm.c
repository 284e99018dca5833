/* SPDX-License-Identifier: MIT */
#include "data_util.h"

static const char corpus[] = "a b c\nd e\n\nf g h i\n";

static tf_loader_opts_t lm_opts(int B, int T, int shuffle)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = B;
    o.bptt = T;
    o.shuffle = shuffle;
    return o;
}

static int32_t id_of(tf_vocab_t *v, const char *w)
{
    int32_t id = tf_vocab_lookup(v, w, strlen(w));
    assert_true(id >= 4);
    return id;
}

static void test_lm_streams_windows_and_targets(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", corpus, (size_t)-1);
    tf_vocab_t *v = NULL;
    tf_loader_t *l = NULL;
    tf_batch_t *b = NULL;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    tf_loader_opts_t o = lm_opts(2, 2, 0);
    assert_ok(tf_loader_create_lm(&l, ctx, v, &path, 1, &o));
    /* a b c <eos> d e <eos> f g h i <eos>: streams [a b c eos d e] and [eos f g h i eos]. */
    assert_int_equal(tf_loader_num_sequences(l), 12);
    assert_int_equal(tf_loader_num_batches(l), 3);
    assert_int_equal(tf_loader_num_items(l), 3);
    const int32_t E = TF_VOCAB_EOS;
    const int32_t want_tok[3][4] = {
        {id_of(v, "a"), E, id_of(v, "b"), id_of(v, "f")},
        {id_of(v, "c"), id_of(v, "g"), E, id_of(v, "h")},
        {id_of(v, "d"), id_of(v, "i"), 0, 0},
    };
    const int32_t want_tgt[3][4] = {
        {id_of(v, "b"), id_of(v, "f"), id_of(v, "c"), id_of(v, "g")},
        {E, id_of(v, "h"), id_of(v, "d"), id_of(v, "i")},
        {id_of(v, "e"), E, 0, 0},
    };
    for (int k = 0; k < 3; k++) {
        assert_ok(tf_loader_next(&b, l));
        assert_non_null(b);
        int T = k < 2 ? 2 : 1;
        assert_int_equal(tf_batch_steps(b), T);
        assert_int_equal(tf_batch_size(b), 2);
        tf_tensor_t *tok = tf_batch_tokens(b), *tgt = tf_batch_targets(b);
        assert_int_equal(tf_tensor_dim(tok, 0), T);
        assert_int_equal(tf_tensor_dim(tok, 1), 2);
        for (int i = 0; i < 2 * T; i++) {
            assert_int_equal(i32_of(tok)[i], want_tok[k][i]);
            assert_int_equal(i32_of(tgt)[i], want_tgt[k][i]);
        }
        assert_int_equal(i32_of(tf_batch_lengths(b))[1], T);
        assert_null(tf_batch_labels(b));
        assert_null(tf_batch_features(b));
        assert_int_equal(tf_loader_items_read(l), k + 1);
    }
    assert_true(tf_loader_epoch_fraction(l) == 1.0);
    assert_ok(tf_loader_next(&b, l));
    assert_null(b); /* end of epoch, and it stays there */
    assert_ok(tf_loader_next(&b, l));
    assert_null(b);
    assert_int_equal(tf_loader_epoch(l), 0);
    assert_ok(tf_loader_reset(l));
    assert_int_equal(tf_loader_epoch(l), 1);
    assert_true(tf_loader_epoch_fraction(l) == 0.0);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(i32_of(tf_batch_tokens(b))[0], want_tok[0][0]);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

/* The window start positions of one epoch, in order. */
static void epoch_starts(tf_loader_t *l, int32_t *first_tok, int *n)
{
    tf_batch_t *b;
    *n = 0;
    for (;;) {
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            break;
        first_tok[(*n)++] = i32_of(tf_batch_tokens(b))[0] * 1000 + tf_batch_steps(b);
    }
}

static void test_lm_shuffle_is_seeded_and_covers_everything(void **state)
{
    tf_ctx_t *ctx = *state;
    char text[4000];
    size_t o = 0;
    for (int i = 0; i < 400; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "w%d%s", i, i % 10 == 9 ? "\n" : " ");
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", text, o);
    tf_vocab_t *v = NULL;
    tf_loader_t *l1 = NULL, *l2 = NULL, *l3 = NULL;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    tf_loader_opts_t lo = lm_opts(4, 5, 1);
    lo.seed = 7;
    assert_ok(tf_loader_create_lm(&l1, ctx, v, &path, 1, &lo));
    assert_ok(tf_loader_create_lm(&l2, ctx, v, &path, 1, &lo));
    lo.seed = 8;
    assert_ok(tf_loader_create_lm(&l3, ctx, v, &path, 1, &lo));
    int32_t a[64], b[64], c[64], a2[64];
    int na, nb, nc, na2;
    epoch_starts(l1, a, &na);
    epoch_starts(l2, b, &nb);
    epoch_starts(l3, c, &nc);
    /* 440 tokens / 4 streams = 110 per stream; 109 positions in windows of 5: 22 windows. */
    assert_int_equal(na, 22);
    assert_int_equal(nb, 22);
    assert_memory_equal(a, b, sizeof(int32_t) * 22);
    assert_memory_not_equal(a, c, sizeof(int32_t) * 22);
    assert_ok(tf_loader_reset(l1));
    epoch_starts(l1, a2, &na2);
    assert_int_equal(na2, 22);
    assert_memory_not_equal(a, a2, sizeof(int32_t) * 22); /* reshuffled */
    /* Same multiset each epoch: sort-free check by sums. */
    long s1 = 0, s2 = 0;
    for (int i = 0; i < 22; i++) {
        s1 += a[i];
        s2 += a2[i];
    }
    assert_int_equal(s1, s2);
    tf_loader_free(l1);
    tf_loader_free(l2);
    tf_loader_free(l3);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_lm_random_window_lengths(void **state)
{
    tf_ctx_t *ctx = *state;
    char *text = malloc(200000);
    size_t o = 0;
    for (int i = 0; i < 20000; i++)
        o += (size_t)snprintf(text + o, 200000 - o, "t%d ", i % 50);
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", text, o);
    free(text);
    tf_vocab_t *v = NULL;
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t lo = lm_opts(2, 30, 0);
    lo.bptt_random = 1;
    assert_ok(tf_loader_create_lm_vocab(&l, &v, ctx, &path, 1, NULL, &lo));
    /* 20000 words + 1 eos -> 10000 per stream, 9999 positions. */
    int64_t covered = 0, windows = 0, shorts = 0, distinct = 0, last = -1;
    int32_t mn = 1 << 30, mx = 0;
    for (;;) {
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            break;
        int32_t T = tf_batch_steps(b);
        covered += T;
        windows++;
        if (T != last)
            distinct++;
        last = T;
        if (T < 20)
            shorts++;
        mn = T < mn ? T : mn;
        mx = T > mx ? T : mx;
    }
    assert_int_equal(covered, 9999);
    assert_int_equal(windows, tf_loader_num_batches(l));
    assert_true(mx <= 50);
    assert_true(mn >= 1);
    assert_true(distinct > windows / 4); /* lengths vary */
    assert_true(shorts > 0);             /* some windows are drawn around bptt/2 */
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_lm_one_pass_equals_two_pass(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", "x y z x\nY x, q\nrare\n", (size_t)-1);
    tf_vocab_opts_t vo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.lowercase = 1;
    vo.min_count = 2;
    tf_loader_opts_t lo = lm_opts(1, 4, 0);
    tf_vocab_t *v1 = NULL, *v2 = NULL;
    tf_loader_t *l1 = NULL, *l2 = NULL;
    assert_ok(tf_vocab_build_files(&v1, ctx, &path, 1, &vo));
    assert_ok(tf_loader_create_lm(&l1, ctx, v1, &path, 1, &lo));
    assert_ok(tf_loader_create_lm_vocab(&l2, &v2, ctx, &path, 1, &vo, &lo));
    assert_int_equal(tf_vocab_size(v1), tf_vocab_size(v2));
    assert_int_equal(tf_vocab_size(v1), 6); /* x y */
    /* 9 tokens, of which z , q rare were seen once and are unknown, on either path. */
    assert_int_equal(tf_loader_num_tokens(l1), 9);
    assert_int_equal(tf_loader_unknown_tokens(l1), 4);
    assert_int_equal(tf_loader_num_tokens(l2), 9);
    assert_int_equal(tf_loader_unknown_tokens(l2), 4);
    assert_same_token_batches(l1, l2);
    /* Byte kind through the one-pass entry point. */
    tf_loader_free(l2);
    tf_vocab_free(v2);
    vo.kind = TF_VOCAB_KIND_BYTE;
    assert_ok(tf_loader_create_lm_vocab(&l2, &v2, ctx, &path, 1, &vo, &lo));
    assert_int_equal(tf_vocab_size(v2), 260);
    assert_int_equal(tf_loader_num_sequences(l2), 20); /* 17 bytes (CR/LF dropped) + 3 eos */
    assert_int_equal(tf_loader_num_tokens(l2), 17);
    assert_int_equal(tf_loader_unknown_tokens(l2), 0);
    tf_loader_free(l1);
    tf_loader_free(l2);
    tf_vocab_free(v1);
    tf_vocab_free(v2);
    tmp_close(&d);
}

static void test_lm_state_resume_is_bit_exact(void **state)
{
    tf_ctx_t *ctx = *state;
    char text[8000];
    size_t o = 0;
    for (int i = 0; i < 800; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "v%d ", (i * 7) % 97);
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", text, o);
    tf_vocab_t *v = NULL;
    tf_loader_t *a = NULL, *b = NULL;
    tf_batch_t *ba;
    tf_loader_opts_t lo = lm_opts(3, 8, 1);
    lo.bptt_random = 1;
    assert_ok(tf_loader_create_lm_vocab(&a, &v, ctx, &path, 1, NULL, &lo));
    /* Run into the second epoch, save, continue; a fresh loader restored must match. */
    for (;;) {
        assert_ok(tf_loader_next(&ba, a));
        if (ba == NULL)
            break;
    }
    assert_ok(tf_loader_reset(a));
    for (int i = 0; i < 5; i++)
        assert_ok(tf_loader_next(&ba, a));
    unsigned char blob[256];
    size_t len = 0;
    assert_ok(tf_loader_export_state(a, NULL, 0, &len));
    assert_true(len > 0 && len <= sizeof blob);
    assert_ok(tf_loader_export_state(a, blob, sizeof blob, &len));
    assert_ok(tf_loader_create_lm(&b, ctx, v, &path, 1, &lo));
    assert_ok(tf_loader_import_state(b, blob, len));
    assert_int_equal(tf_loader_epoch(b), 1);
    assert_int_equal(tf_loader_items_read(b), 5);
    for (int epoch = 0; epoch < 2; epoch++) {
        assert_same_token_batches(a, b);
        assert_ok(tf_loader_reset(a));
        assert_ok(tf_loader_reset(b));
    }
    /* Corrupt blobs are refused and leave the loader as it was. */
    int64_t before = tf_loader_items_read(b);
    blob[0] ^= 1;
    assert_status(tf_loader_import_state(b, blob, len), TF_STATUS_EFORMAT);
    blob[0] ^= 1;
    assert_status(tf_loader_import_state(b, blob, len - 1), TF_STATUS_EFORMAT);
    blob[len - 1] ^= 0x55; /* the RNG state no longer follows from the epoch start */
    assert_status(tf_loader_import_state(b, blob, len), TF_STATUS_EFORMAT);
    assert_int_equal(tf_loader_items_read(b), before);
    tf_loader_free(a);
    tf_loader_free(b);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_lm_split_partitions_lines(void **state)
{
    tf_ctx_t *ctx = *state;
    char text[20000];
    size_t o = 0;
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "line %d\n", i);
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", text, o);
    tf_vocab_t *v = NULL;
    tf_loader_t *all = NULL, *tr = NULL, *va = NULL;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    tf_loader_opts_t lo = lm_opts(1, 10, 0);
    lo.valid_fraction = 0.2;
    assert_ok(tf_loader_create_lm(&all, ctx, v, &path, 1, &lo));
    lo.split = TF_LOADER_SPLIT_TRAIN;
    assert_ok(tf_loader_create_lm(&tr, ctx, v, &path, 1, &lo));
    lo.split = TF_LOADER_SPLIT_VALID;
    assert_ok(tf_loader_create_lm(&va, ctx, v, &path, 1, &lo));
    int64_t n = tf_loader_num_sequences(all), nt = tf_loader_num_sequences(tr),
            nv = tf_loader_num_sequences(va);
    assert_int_equal(n, 3000); /* 3 tokens per line */
    assert_int_equal(nt + nv, n);
    assert_true(nv > 3 * 120 && nv < 3 * 280); /* about 20% of the lines */
    tf_loader_free(all);
    tf_loader_free(tr);
    tf_loader_free(va);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_lm_too_small_and_bad_args(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    const char *path = tmp_write(&d, "c.txt", "a b c\n", (size_t)-1);
    tf_vocab_t *v = NULL;
    tf_loader_t *l = (tf_loader_t *)ctx;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    tf_loader_opts_t lo = lm_opts(4, 4, 0);
    assert_status(tf_loader_create_lm(&l, ctx, v, &path, 1, &lo), TF_STATUS_EFORMAT);
    assert_null(l);
    assert_msg_has("c.txt");
    lo.batch_size = 0;
    assert_status(tf_loader_create_lm(&l, ctx, v, &path, 1, &lo), TF_STATUS_EINVAL);
    assert_status(tf_loader_create_lm(&l, ctx, NULL, &path, 1, NULL), TF_STATUS_EINVAL);
    assert_status(tf_loader_create_lm(&l, ctx, v, &path, 0, NULL), TF_STATUS_EINVAL);
    assert_status(tf_loader_opts_init(NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_loader_opts_init(&lo, 2), TF_STATUS_EVERSION);
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.valid_fraction = 1.5;
    assert_status(tf_loader_create_lm(&l, ctx, v, &path, 1, &lo), TF_STATUS_EINVAL);
    assert_status(tf_loader_next(NULL, NULL), TF_STATUS_EINVAL);
    assert_int_equal(tf_loader_epoch(NULL), -1);
    assert_int_equal(tf_batch_size(NULL), 0);
    assert_null(tf_batch_tokens(NULL));
    tf_loader_free(NULL);
    assert_int_equal(tf_ctx_live_objects(ctx), 1);
    tf_vocab_free(v);
    tmp_close(&d);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_lm_streams_windows_and_targets),
        T(test_lm_shuffle_is_seeded_and_covers_everything),
        T(test_lm_random_window_lengths),
        T(test_lm_one_pass_equals_two_pass),
        T(test_lm_state_resume_is_bit_exact),
        T(test_lm_split_partitions_lines),
        T(test_lm_too_small_and_bad_args),
    };
    return TF_TEST_RUN(tests);
}
