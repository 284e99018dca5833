/* SPDX-License-Identifier: MIT */
/* Loader regressions against recorded streams: for each kind and a spread of options, a digest
 * of every batch of the first three epochs and of the accessors, and the state blob exported in
 * the second epoch with what a fresh loader reads after importing it.
 *
 * The expected values were recorded from commit 2af3bf4, before the loader kinds became one
 * operations table each, by running `build/tests/test_data_loader_golden` with the table empty:
 * each case failed and printed its entry. The digests are what that code returned, and the blobs
 * are what it wrote (so resume files written then stay readable). A mismatch prints the case's
 * entry as this build computes it; paste it into `golden` only for an intended change of the
 * stream, never to make a refactoring pass. */
#include "data_util.h"

#include <stdint.h>

#define SOTU TF_TEST_DATA_DIR "/data/sotu_sample.txt"
#define BROWN TF_TEST_DATA_DIR "/data/brown_sample.tsv"

typedef struct golden {
    const char *name;
    uint64_t digest;        /* three epochs and the accessors */
    const char *state_hex;  /* exported after epoch 0 and two batches of epoch 1 */
    uint64_t resume_digest; /* a fresh loader after importing state_hex, to the end of epoch 2 */
} golden_t;

enum {
    LM_WORD_RANDOM,
    LM_BPE_SPLIT,
    LM_BYTE_FIXED_LABELS,
    TSV_BUCKET,
    TSV_VALID_FIXED_LABELS,
    MULTILABEL,
    TOKENS_FLAT,
    TOKENS_PADDED,
    NUMERIC_MEMORY,
    NUMERIC_CSV,
    NUM_CASES
};

static const golden_t golden[NUM_CASES] = {
    {"lm_word_random", 0x99ba74f59006a844,
     "54464c5301000000010000000400000097180000000000000100000000000000"
     "0200000000000000020000000000000046101eeec54e36fa05377a953d6df21f"
     "24111f7a8a52e7e26319abb101c544ab1d2d01b8d2bd632cf45c883957df30f4"
     "4426e3dde5779bc31ed40f835f49fc97",
     0xf81eccb782421349},
    {"lm_bpe_split", 0x0ea17c5f0f8ce9d6,
     "54464c530100000001000000030000004b2b0000000000000100000000000000"
     "02000000000000000200000000000000ea67452a42497d4c209f2d82f3ecc9b5"
     "08ed5ccbd5d1a5bed6b3c29aef008d31a2bc24413cda43a28c31a680d4f2b759"
     "c77a6dcce7129d84444859dff64a4215",
     0x282102f224b07a06},
    {"lm_byte_fixed_labels", 0x6f98a64df00c9d5a,
     "54464c5301000000010000000200000037880000000000000100000000000000"
     "0200000000000000020000000000000081f01f7ce0cb5862549e963a88a4547e"
     "ec46752820b64a8cbb69026917b06b3281f01f7ce0cb5862549e963a88a4547e"
     "ec46752820b64a8cbb69026917b06b32",
     0x48b1b3af6e63fc25},
    {"tsv_bucket", 0x2174e763c1fc95dd,
     "54464c530100000002000000050000003c000000000000000100000000000000"
     "02000000000000000a00000000000000d904b4bbf9bb0d6a9262874fcf4ab247"
     "bcf0d3beea02fda9611579c46957905b42a4d1ce9f5e1ff76c5b191aa6a04559"
     "40d8d56fef3ec1915c7eaef365e7ea40",
     0xc14cc76ebeba50ab},
    {"tsv_valid_fixed_labels", 0xf442a51c6bcccf17,
     "54464c5301000000020000000400000009000000000000000100000000000000"
     "02000000000000000800000000000000e7c8acc7bb106e271e1d35f0f7b85c72"
     "1305cccf9c6666e7e1b9a2c29764e2eacdc2c335ebb579666aee1dacd88fa569"
     "3d12f64dfa75fd706690f2ff6eec37d4",
     0x409228b12555db58},
    {"multilabel", 0xc7e947c632b80b47,
     "54464c530100000002000000030000000a000000000000000100000000000000"
     "02000000000000000400000000000000d7ddf4dfbbb0e556b40dafcdca23b7fd"
     "f24420fd677e1c1d714520e2f5acc2d6c474464c1fd0efe9c4f5d5aa404bf071"
     "5126859234533d6fdad349d96719e092",
     0x37adcab01b711535},
    {"tokens_flat", 0xf2036fd0b9a23999,
     "54464c5301000000020000000400000017000000000000000100000000000000"
     "020000000000000008000000000000005e9aa4fab57122dc4765bec94f57b10f"
     "8be03010c17cc7e84acf6bf6da900cb47284a0a5e6dfb2227064443df96f49d3"
     "42428772ce15e77a106d1db0d2a99db1",
     0xe6f211ff8e86e934},
    {"tokens_padded", 0x948b51be4cfa342a,
     "54464c530100000002000000030000000e000000000000000100000000000000"
     "0200000000000000060000000000000009173f5d8acc1ca821274b77c59e104f"
     "050b7d4ea7fd6c8a4ab8bee8e7c3902a5c318581e5b5b7321558a060e79e1ee7"
     "036aae7d552e2c88113a84f14466d659",
     0xb7665139e28d77e2},
    {"numeric_memory", 0x0ebadcf6d2fe42ba,
     "54464c5301000000030000000300000013000000000000000100000000000000"
     "020000000000000004000000000000008a96408faa8a8353966c13c29505b887"
     "471aff0ca04e7c6d1f93675a3b976cd429cc2038f7f1e5c0b6d6995ea1f82946"
     "f65f4f1e1fd4f1835b82f76c56b28580",
     0x4e22aaa9d5a8cf08},
    {"numeric_csv", 0xa8228d4be3dba404,
     "54464c5301000000030000000200000007000000000000000100000000000000"
     "0200000000000000040000000000000030447a3d963b7bfc037f985ce2376631"
     "5f7bc6ace4f20375faaf60d1b80dc24989277fdf2e34bdd0e1ee66a8ea2b44b1"
     "79cc104a5bc7d70e1fef2c7668f7a7d8",
     0xb95d30b652fb21f5},
};

/* ---- FNV-1a over everything a caller can observe ------------------------------------------- */
static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ull;
    }
}

static void mix_i64(uint64_t *h, int64_t v)
{
    mix(h, &v, sizeof v);
}

static void mix_tensor(uint64_t *h, tf_tensor_t *t)
{
    mix_i64(h, t != NULL);
    if (t == NULL)
        return;
    uint32_t nd = tf_tensor_ndim(t);
    mix_i64(h, nd);
    mix_i64(h, tf_tensor_dtype(t));
    for (uint32_t d = 0; d < nd; d++)
        mix_i64(h, tf_tensor_dim(t, d));
    mix_i64(h, tf_tensor_numel(t));
    mix(h, tf_tensor_data(t), (size_t)tf_tensor_numel(t) * 4);
}

static void mix_batch(uint64_t *h, tf_batch_t *b)
{
    mix_i64(h, tf_batch_steps(b));
    mix_i64(h, tf_batch_size(b));
    mix_tensor(h, tf_batch_tokens(b));
    mix_tensor(h, tf_batch_targets(b));
    mix_tensor(h, tf_batch_lengths(b));
    mix_tensor(h, tf_batch_labels(b));
    mix_tensor(h, tf_batch_label_sets(b));
    mix_tensor(h, tf_batch_features(b));
    mix_tensor(h, tf_batch_feature_targets(b));
}

static void mix_progress(uint64_t *h, const tf_loader_t *l)
{
    double f = tf_loader_epoch_fraction(l);
    mix_i64(h, tf_loader_epoch(l));
    mix_i64(h, tf_loader_num_items(l));
    mix_i64(h, tf_loader_items_read(l));
    mix_i64(h, tf_loader_num_batches(l));
    mix(h, &f, sizeof f);
}

/* The accessors, including those of other kinds (what they return there is part of the API). */
static void mix_accessors(uint64_t *h, const tf_loader_t *l)
{
    mix_progress(h, l);
    mix_i64(h, tf_loader_num_sequences(l));
    mix_i64(h, tf_loader_skipped_lines(l));
    mix_i64(h, (int64_t)tf_loader_invalid_utf8(l));
    mix_i64(h, (int64_t)tf_loader_num_tokens(l));
    mix_i64(h, (int64_t)tf_loader_unknown_tokens(l));
    mix_i64(h, tf_loader_is_multilabel(l));
    int32_t C = tf_loader_num_labels(l);
    mix_i64(h, C);
    for (int32_t i = -1; i <= C; i++) {
        const char *s = tf_loader_label_name(l, i);
        mix_i64(h, s != NULL);
        if (s != NULL)
            mix(h, s, strlen(s) + 1);
    }
    int64_t counts[64] = {0};
    assert_true(C < 64);
    mix_i64(h, tf_loader_label_counts(l, counts, 64));
    mix(h, counts, sizeof counts);
    int32_t F = tf_loader_num_features(l);
    float mean[8] = {0}, sd[8] = {0};
    assert_true(F < 8);
    mix_i64(h, F);
    mix_i64(h, tf_loader_standardization(l, mean, sd, F > 0 ? F : 1));
    mix(h, mean, sizeof mean);
    mix(h, sd, sizeof sd);
}

/* The rest of the current epoch; returns the number of batches read. */
static int64_t mix_epoch_rest(uint64_t *h, tf_loader_t *l)
{
    int64_t n = 0;
    for (;;) {
        tf_batch_t *b;
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            break;
        mix_batch(h, b);
        mix_progress(h, l);
        n++;
    }
    return n;
}

/* ---- the cases ----------------------------------------------------------------------------- */
typedef struct fixture {
    tf_ctx_t *ctx;
    tmpdir_t dir;
    tf_vocab_t *vocab;
    int32_t ids[4096];
    int64_t offsets[64];
    int32_t lengths[64];
    int32_t labels[64];
    float values[4096];
} fixture_t;

/* A small linear congruential stream for the caller arrays (independent of the library). */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static tf_loader_opts_t base_opts(int32_t B, uint64_t seed)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = B;
    o.seed = seed;
    return o;
}

static const char multilabel_tsv[] =
    "sports, news\tthe match ended in a draw after extra time\n"
    "news\tparliament met on tuesday\n"
    "\n"
    "weather,news,weather\train is expected over the hills tonight\n"
    "sports\tthe team won \xff\xfe again\n"
    "no tab on this line\n"
    "arts\ta new play opened downtown to warm reviews\n"
    "\tno labels for this one but it is text\n"
    "arts,sports\tthe dancer also runs marathons\n"
    "weather\tsun\n"
    "news,arts\tthe museum reopened after a long renovation of its halls\n"
    "sp\xc3orts\tbad bytes in the label name\n";

static const char numeric_csv[] =
    "up, 1, 10, 100, 2, 20, 200, 3, 30, 300\n"
    "down,5,50,500\n"
    "up,1,2\n"
    "flat, 0, 0, 0, 0, 0, 0\n"
    "down, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12\n"
    "up,7,7,7\n"
    "side,2,4,8,16,32,64\n"
    "down,x,1,2\n"
    "flat,1.5,2.5,3.5\n";

static void make(int which, fixture_t *fx, tf_loader_t **out)
{
    tf_ctx_t *ctx = fx->ctx;
    tf_vocab_opts_t vo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    const char *sotu = SOTU, *brown = BROWN;
    uint32_t s = 12345u + (uint32_t)which;
    switch (which) {
    case LM_WORD_RANDOM: {
        tf_loader_opts_t o = base_opts(4, 11);
        o.bptt = 16;
        o.bptt_random = 1;
        if (fx->vocab == NULL)
            assert_ok(tf_loader_create_lm_vocab(out, &fx->vocab, ctx, &sotu, 1, &vo, &o));
        else
            assert_ok(tf_loader_create_lm(out, ctx, fx->vocab, &sotu, 1, &o));
        return;
    }
    case LM_BPE_SPLIT: {
        tf_loader_opts_t o = base_opts(3, 5);
        o.bptt = 20;
        o.split = TF_LOADER_SPLIT_TRAIN;
        o.valid_fraction = 0.25;
        vo.kind = TF_VOCAB_KIND_BPE;
        vo.max_size = 400;
        if (fx->vocab == NULL)
            assert_ok(tf_loader_create_lm_vocab(out, &fx->vocab, ctx, &sotu, 1, &vo, &o));
        else
            assert_ok(tf_loader_create_lm(out, ctx, fx->vocab, &sotu, 1, &o));
        return;
    }
    case LM_BYTE_FIXED_LABELS: {
        static const char *names[] = {"x", "y"};
        tf_loader_opts_t o = base_opts(2, 0);
        o.bptt = 32;
        o.shuffle = 0;
        o.labels = names;
        o.num_labels = 2;
        vo.kind = TF_VOCAB_KIND_BYTE;
        if (fx->vocab == NULL)
            assert_ok(tf_vocab_build_files(&fx->vocab, ctx, &sotu, 1, &vo));
        assert_ok(tf_loader_create_lm(out, ctx, fx->vocab, &sotu, 1, &o));
        return;
    }
    case TSV_BUCKET: {
        tf_loader_opts_t o = base_opts(5, 3);
        o.bucket = 2;
        o.max_len = 12;
        if (fx->vocab == NULL)
            assert_ok(tf_vocab_build_files(&fx->vocab, ctx, &sotu, 1, &vo));
        assert_ok(tf_loader_create_labeled(out, ctx, fx->vocab, brown, &o));
        return;
    }
    case TSV_VALID_FIXED_LABELS: {
        static const char *names[] = {"reviews", "fiction", "news", "hobbies"};
        tf_loader_opts_t o = base_opts(4, 9);
        o.split = TF_LOADER_SPLIT_VALID;
        o.valid_fraction = 0.5;
        o.labels = names;
        o.num_labels = 4;
        o.skip_bad_lines = 1;
        o.drop_last = 1;
        vo.lowercase = 1;
        if (fx->vocab == NULL)
            assert_ok(tf_vocab_build_files(&fx->vocab, ctx, &brown, 1, &vo));
        assert_ok(tf_loader_create_labeled(out, ctx, fx->vocab, brown, &o));
        return;
    }
    case MULTILABEL: {
        tf_loader_opts_t o = base_opts(3, 21);
        o.bucket = 1;
        o.skip_bad_lines = 1;
        const char *path = tmp_write(&fx->dir, "m.tsv", multilabel_tsv, (size_t)-1);
        if (fx->vocab == NULL)
            assert_ok(tf_vocab_build_files(&fx->vocab, ctx, &sotu, 1, &vo));
        assert_ok(tf_loader_create_multilabel(out, ctx, fx->vocab, path, &o));
        return;
    }
    case TOKENS_FLAT: {
        int64_t n = 23;
        fx->offsets[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t len = 1 + lcg(&s) % 17;
            fx->offsets[i + 1] = fx->offsets[i] + len;
            fx->labels[i] = (int32_t)(lcg(&s) % 5);
        }
        for (int64_t k = 0; k < fx->offsets[n]; k++)
            fx->ids[k] = (int32_t)(lcg(&s) % 300);
        tf_loader_opts_t o = base_opts(4, 17);
        o.bucket = 2;
        o.drop_last = 1;
        assert_ok(tf_loader_create_tokens(out, ctx, fx->ids, fx->offsets, n, fx->labels, &o));
        return;
    }
    case TOKENS_PADDED: {
        int64_t n = 14;
        int32_t stride = 9;
        for (int64_t i = 0; i < n; i++)
            fx->lengths[i] = 1 + (int32_t)(lcg(&s) % (uint32_t)stride);
        for (int64_t k = 0; k < n * stride; k++)
            fx->ids[k] = (int32_t)(lcg(&s) % 50);
        tf_loader_opts_t o = base_opts(3, 2);
        o.max_len = 5;
        assert_ok(tf_loader_create_tokens_padded(out, ctx, fx->ids, stride, fx->lengths, n, NULL,
                                                 &o));
        return;
    }
    case NUMERIC_MEMORY: {
        int64_t n = 19;
        int32_t F = 2;
        fx->offsets[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            fx->offsets[i + 1] = fx->offsets[i] + 2 + lcg(&s) % 11;
            fx->labels[i] = (int32_t)(lcg(&s) % 3);
        }
        for (int64_t k = 0; k < fx->offsets[n] * F; k++)
            fx->values[k] = (float)(lcg(&s) % 2000) / 37.0f - 20.0f;
        tf_loader_opts_t o = base_opts(3, 8);
        o.num_features = F;
        o.next_step = 1;
        o.bucket = 1;
        assert_ok(tf_loader_create_numeric_memory(out, ctx, fx->values, fx->offsets, n,
                                                  fx->labels, &o));
        return;
    }
    case NUMERIC_CSV: {
        tf_loader_opts_t o = base_opts(2, 4);
        o.num_features = 3;
        o.has_label = 1;
        o.skip_bad_lines = 1;
        const char *path = tmp_write(&fx->dir, "n.csv", numeric_csv, (size_t)-1);
        assert_ok(tf_loader_create_numeric(out, ctx, path, &o));
        return;
    }
    }
    fail();
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static size_t bytes_of(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

static void run_case(int which)
{
    const golden_t *g = &golden[which];
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->ctx = tf_test_ctx_seeded(77);
    assert_non_null(fx->ctx);
    tmp_open(&fx->dir);
    tf_loader_t *a = NULL, *b = NULL;
    make(which, fx, &a);

    uint64_t h = 0xcbf29ce484222325ull;
    mix_accessors(&h, a);
    for (int epoch = 0; epoch < 3; epoch++) {
        mix_i64(&h, mix_epoch_rest(&h, a));
        mix_accessors(&h, a);
        assert_ok(tf_loader_reset(a));
    }

    /* Epoch 0, then two batches of epoch 1 from a second loader; export there. */
    make(which, fx, &b);
    uint64_t skip = 0;
    mix_epoch_rest(&skip, b);
    assert_ok(tf_loader_reset(b));
    for (int k = 0; k < 2; k++) {
        tf_batch_t *bt;
        assert_ok(tf_loader_next(&bt, b));
        assert_non_null(bt);
    }
    unsigned char blob[512], want[512];
    char hex[1025];
    size_t len = 0;
    assert_ok(tf_loader_export_state(b, blob, sizeof blob, &len));
    hex_of(blob, len, hex);

    /* Import the recorded blob (or, while none is recorded, this build's) into a third loader:
     * it must read what the exporting loader reads. */
    tf_loader_t *c = NULL;
    make(which, fx, &c);
    size_t wlen = g->state_hex[0] ? bytes_of(g->state_hex, want, sizeof want) : len;
    if (!g->state_hex[0])
        memcpy(want, blob, len);
    assert_ok(tf_loader_import_state(c, want, wlen));
    uint64_t hb = 0xcbf29ce484222325ull, hc = 0xcbf29ce484222325ull;
    for (int epoch = 1; epoch < 3; epoch++) {
        mix_epoch_rest(&hb, b);
        mix_epoch_rest(&hc, c);
        mix_accessors(&hb, b);
        mix_accessors(&hc, c);
        assert_ok(tf_loader_reset(b));
        assert_ok(tf_loader_reset(c));
    }
    assert_true(hb == hc);

    if (h != g->digest || strcmp(hex, g->state_hex) != 0 || hc != g->resume_digest)
        print_error("now: {\"%s\", 0x%016llx, \"%s\", 0x%016llx},\n", g->name,
                    (unsigned long long)h, hex, (unsigned long long)hc);
    assert_true(h == g->digest);
    assert_string_equal(hex, g->state_hex);
    assert_true(hc == g->resume_digest);

    tf_loader_free(a);
    tf_loader_free(b);
    tf_loader_free(c);
    tf_vocab_free(fx->vocab);
    tmp_close(&fx->dir);
    tf_ctx_free(fx->ctx);
    free(fx);
}

static void test_golden_lm_word_random(void **state)
{
    (void)state;
    run_case(LM_WORD_RANDOM);
}
static void test_golden_lm_bpe_split(void **state)
{
    (void)state;
    run_case(LM_BPE_SPLIT);
}
static void test_golden_lm_byte_fixed_labels(void **state)
{
    (void)state;
    run_case(LM_BYTE_FIXED_LABELS);
}
static void test_golden_tsv_bucket(void **state)
{
    (void)state;
    run_case(TSV_BUCKET);
}
static void test_golden_tsv_valid_fixed_labels(void **state)
{
    (void)state;
    run_case(TSV_VALID_FIXED_LABELS);
}
static void test_golden_multilabel(void **state)
{
    (void)state;
    run_case(MULTILABEL);
}
static void test_golden_tokens_flat(void **state)
{
    (void)state;
    run_case(TOKENS_FLAT);
}
static void test_golden_tokens_padded(void **state)
{
    (void)state;
    run_case(TOKENS_PADDED);
}
static void test_golden_numeric_memory(void **state)
{
    (void)state;
    run_case(NUMERIC_MEMORY);
}
static void test_golden_numeric_csv(void **state)
{
    (void)state;
    run_case(NUMERIC_CSV);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_lm_word_random),
        cmocka_unit_test(test_golden_lm_bpe_split),
        cmocka_unit_test(test_golden_lm_byte_fixed_labels),
        cmocka_unit_test(test_golden_tsv_bucket),
        cmocka_unit_test(test_golden_tsv_valid_fixed_labels),
        cmocka_unit_test(test_golden_multilabel),
        cmocka_unit_test(test_golden_tokens_flat),
        cmocka_unit_test(test_golden_tokens_padded),
        cmocka_unit_test(test_golden_numeric_memory),
        cmocka_unit_test(test_golden_numeric_csv),
    };
    return TF_TEST_RUN(tests);
}
