/* SPDX-License-Identifier: MIT */
/* Byte-level BPE vocabularies: training and encoding against the independent Python reference
 * (tests/reference/gen_bpe_fixtures.py), the encode/decode round trip, the one-pass language-model
 * loader, and hostile serialised vocabularies. */
#include "data_util.h"

#define CORPUS TF_TEST_DATA_DIR "/reference/fixtures/bpe_corpus.txt"
#define EXPECTED TF_TEST_DATA_DIR "/reference/fixtures/bpe_expected.txt"

static tf_vocab_opts_t bpe_opts(int lower, int punct, int min_count, int max_size)
{
    tf_vocab_opts_t o;
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.kind = TF_VOCAB_KIND_BPE;
    o.lowercase = lower;
    o.split_punct = punct;
    o.min_count = min_count;
    o.max_size = max_size;
    return o;
}

/* Hex digits to bytes; returns the length. */
static size_t unhex(const char *hex, char *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && hex[0] != '\n'; hex += 2) {
        unsigned b;
        assert_int_equal(sscanf(hex, "%2x", &b), 1);
        out[n++] = (char)b;
    }
    return n;
}

/* The next non-comment line of the fixture (without its newline), which must start with `key`;
 * returns what follows the key and a space. */
static const char *fixture_line(FILE *f, char *line, size_t cap, const char *key)
{
    do {
        assert_non_null(fgets(line, (int)cap, f));
    } while (line[0] == '#');
    line[strcspn(line, "\n")] = '\0';
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        print_error("fixture: expected '%s', got '%.40s'\n", key, line);
    assert_int_equal(strncmp(line, key, k), 0);
    return line[k] == ' ' ? line + k + 1 : line + k;
}

/* One configuration of the fixture: the merges, the size and four encodings. */
static void check_config(tf_ctx_t *ctx, FILE *f, char *line, size_t cap, const char *cfg)
{
    int lower, punct, min_count, max_size, size, merges;
    assert_int_equal(sscanf(cfg, "%d %d %d %d", &lower, &punct, &min_count, &max_size), 4);
    tf_vocab_opts_t o = bpe_opts(lower, punct, min_count, max_size);
    const char *path = CORPUS;
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, &o));
    assert_int_equal(tf_vocab_kind(v), TF_VOCAB_KIND_BPE);
    size = atoi(fixture_line(f, line, cap, "size"));
    assert_int_equal(tf_vocab_size(v), size);
    /* The merges, in order, through the serialised form. */
    size_t len = 0;
    char *ser = serialized(v, &len);
    merges = atoi(fixture_line(f, line, cap, "merges"));
    char want_head[64];
    snprintf(want_head, sizeof want_head, "\nmerges %d\n", merges);
    const char *m = strstr(ser, want_head);
    assert_non_null(m);
    m += strlen(want_head);
    for (int k = 0; k < merges; k++) {
        assert_non_null(fgets(line, (int)cap, f));
        size_t l = strlen(line);
        if (strncmp(m, line, l) != 0)
            print_error("merge %d: library '%.20s', reference '%s'\n", k, m, line);
        assert_int_equal(strncmp(m, line, l), 0);
        m += l;
    }
    assert_string_equal(m, "");
    free(ser);
    for (int t = 0; t < 4; t++) {
        char text[512], decoded[512], got[512];
        int32_t ids[512];
        size_t n = 0, dn, gn;
        size_t tn = unhex(fixture_line(f, line, cap, "text"), text);
        const char *p = fixture_line(f, line, cap, "ids");
        assert_ok(tf_vocab_encode(v, text, tn, ids, 512, &n));
        size_t k = 0;
        for (char *e; *p; p = e, k++) {
            long want = strtol(p, &e, 10);
            assert_true(k < n);
            if (ids[k] != want)
                print_error("text %d, id %zu: %d, reference %ld\n", t, k, ids[k], want);
            assert_int_equal(ids[k], want);
        }
        assert_int_equal(k, n);
        dn = unhex(fixture_line(f, line, cap, "decoded"), decoded);
        assert_ok(tf_vocab_decode(v, ids, n, got, sizeof got, &gn));
        assert_int_equal(gn, dn);
        assert_memory_equal(got, decoded, dn);
    }
    tf_vocab_free(v);
}

static void test_bpe_matches_reference(void **state)
{
    tf_ctx_t *ctx = *state;
    FILE *f = fopen(EXPECTED, "r");
    char line[4096];
    int configs = 0;
    assert_non_null(f);
    for (;;) {
        char cfg[64];
        do {
            assert_non_null(fgets(line, sizeof line, f));
        } while (line[0] == '#');
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "end") == 0)
            break;
        assert_int_equal(strncmp(line, "config ", 7), 0);
        assert_true(strlen(line + 7) < sizeof cfg);
        memcpy(cfg, line + 7, strlen(line + 7) + 1);
        check_config(ctx, f, line, sizeof line, cfg);
        configs++;
    }
    fclose(f);
    assert_int_equal(configs, 3);
}

static void test_bpe_round_trip_new_words(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *texts[] = {"the walker walked", "the talker talked", "walking and talking"};
    tf_vocab_opts_t o = bpe_opts(1, 1, 1, 300);
    tf_vocab_t *v = NULL, *w = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, texts, NULL, 3, &o));
    assert_true(tf_vocab_size(v) > 260);
    assert_true(tf_vocab_lookup(v, "alk", 3) >= 260);
    /* Words never seen, other scripts, an emoji: pieces, never <unk>; decoding gives the
     * normalised text back with each run of whitespace one space. */
    const char *text = "  Zebras\tWALKED  \xe6\x97\xa5\xe6\x9c\xac, caf\xc3\xa9!! \xf0\x9f\x91\x8d ";
    const char *want = "zebras walked \xe6\x97\xa5\xe6\x9c\xac, caf\xc3\xa9!! \xf0\x9f\x91\x8d";
    int32_t ids[128], ids2[128];
    size_t n = 0, n2 = 0, dl = 0;
    char out[256];
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 128, &n));
    assert_true(n > 5 && n < 40);
    for (size_t i = 0; i < n; i++)
        assert_true(ids[i] >= TF_VOCAB_NUM_SPECIALS);
    assert_ok(tf_vocab_decode(v, ids, n, out, sizeof out, &dl));
    assert_string_equal(out, want);
    /* The serialised vocabulary encodes the same. */
    size_t len = 0;
    char *ser = serialized(v, &len);
    assert_non_null(strstr(ser, "libtransfer-vocab 2\nkind bpe\n"));
    assert_ok(tf_vocab_deserialize(&w, ctx, ser, len));
    assert_int_equal(tf_vocab_size(w), tf_vocab_size(v));
    assert_ok(tf_vocab_encode(w, text, strlen(text), ids2, 128, &n2));
    assert_int_equal(n2, n);
    assert_memory_equal(ids2, ids, n * sizeof *ids);
    free(ser);
    tf_vocab_free(w);
    tf_vocab_free(v);
}

/* A merge whose token exists (two spellings of "abc") reuses it. */
static void test_bpe_repeated_token_reuses_id(void **state)
{
    tf_ctx_t *ctx = *state;
    /* a=101 b=102 c=103: ab=260, abc=261, bc=262, then (a, bc) makes "abc" again. */
    const char *text = "libtransfer-vocab 2\nkind bpe\nlowercase 0\nsplit_punct 1\nunicode 1\n"
                       "size 263\nmerges 4\n101 102\n260 103\n102 103\n101 262\n";
    tf_vocab_t *v = NULL;
    int32_t ids[8];
    size_t n = 0;
    assert_ok(tf_vocab_deserialize(&v, ctx, text, strlen(text)));
    assert_int_equal(tf_vocab_size(v), 263);
    assert_int_equal(tf_vocab_lookup(v, "abc", 3), 261);
    /* "abc" takes the earliest merge first: ab, then abc. "xbc": x, bc. */
    assert_ok(tf_vocab_encode(v, "abc xbc", 7, ids, 8, &n));
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 261);
    assert_int_equal(ids[1], TF_VOCAB_NUM_SPECIALS + ' ');
    assert_int_equal(ids[2], TF_VOCAB_NUM_SPECIALS + 'x');
    assert_int_equal(ids[3], 262);
    char buf[256];
    size_t len;
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    assert_string_equal(buf, text);
    tf_vocab_free(v);
}

static void test_bpe_lm_loader_one_pass_equals_two_pass(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *path = CORPUS;
    tf_vocab_opts_t o = bpe_opts(1, 1, 1, 330);
    tf_loader_opts_t lo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 4;
    lo.bptt = 16;
    lo.shuffle = 0;
    lo.split = TF_LOADER_SPLIT_TRAIN;
    lo.valid_fraction = 0.2;
    tf_vocab_t *v1 = NULL;
    tf_loader_t *l1 = NULL, *l2 = NULL;
    /* One pass (pre-tokens counted, merges learnt, each pre-token expanded to its pieces) against
     * encoding every line with the vocabulary it made. */
    assert_ok(tf_loader_create_lm_vocab(&l1, &v1, ctx, &path, 1, &o, &lo));
    assert_ok(tf_loader_create_lm(&l2, ctx, v1, &path, 1, &lo));
    assert_int_equal(tf_loader_num_sequences(l1), tf_loader_num_sequences(l2));
    assert_int_equal(tf_loader_num_tokens(l1), tf_loader_num_tokens(l2));
    assert_true(tf_loader_num_tokens(l1) > 1000);
    assert_int_equal(tf_loader_unknown_tokens(l1), 0);
    assert_same_token_batches(l1, l2);
    tf_loader_free(l1);
    tf_loader_free(l2);
    tf_vocab_free(v1);
}

static void test_bpe_hostile_serialised(void **state)
{
    tf_ctx_t *ctx = *state;
#define H "libtransfer-vocab 2\nkind bpe\nlowercase 0\nsplit_punct 1\nunicode 1\n"
    static const char *const bad[] = {
        H,                                               /* truncated after the header */
        H "size 261\n",                                  /* no merges line */
        H "size 261\nmerges 1\n",                        /* merges missing */
        H "size 261\nmerges 1\n101 102",                 /* last line cut */
        H "size 262\nmerges 2\n101 102\n",               /* fewer merges than announced */
        H "size 261\nmerges 1\n101 260\n",               /* refers to a token not made yet */
        H "size 261\nmerges 1\n101 99999\n",             /* far out of range */
        H "size 261\nmerges 1\n1 102\n",                 /* a special in a merge */
        H "size 261\nmerges 1\n101 4294967296\n",        /* beyond int32 */
        H "size 261\nmerges 1\n101 -2\n",
        H "size 261\nmerges 1\n101 0102\n",              /* not canonical */
        H "size 261\nmerges 1\n101  102\n",
        H "size 261\nmerges 2\n101 102\n101 102\n",      /* a pair twice */
        H "size 262\nmerges 1\n101 102\n",               /* size does not match */
        H "size 261\nmerges 1\n101 102\n103\n",          /* text after the merges */
        H "size 261\nmerges 2147483647\n101 102\n",      /* a huge count */
        H "size 2000000000\nmerges 1000000000\n101 102\n",
        H "size 259\nmerges 0\n",                        /* fewer than the bytes */
        /* "<pad>" spelled by merges: < p a d > = 64 116 101 104 66 (+4) */
        H "size 264\nmerges 4\n64 116\n260 101\n261 104\n262 66\n",
        "libtransfer-vocab 1\nkind bpe\nlowercase 0\nsplit_punct 1\nsize 260\nmerges 0\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_vocab_t *v = (tf_vocab_t *)ctx;
        tf_status_t st = tf_vocab_deserialize(&v, ctx, bad[i], strlen(bad[i]));
        if (st != TF_STATUS_EFORMAT)
            print_error("case %zu: %s\n", i, tf_status_str(st));
        assert_int_equal(st, TF_STATUS_EFORMAT);
        assert_null(v);
    }
    /* Doubling a token each merge passes 64 bytes at the seventh merge: refused there. */
    char text[512];
    int o = snprintf(text, sizeof text, H "size 267\nmerges 7\n101 101\n");
    for (int k = 0; k < 6; k++)
        o += snprintf(text + o, sizeof text - (size_t)o, "%d %d\n", 260 + k, 260 + k);
    tf_vocab_t *v = NULL;
    assert_status(tf_vocab_deserialize(&v, ctx, text, strlen(text)), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "line 14"));
    assert_non_null(strstr(tf_last_error_message(), "128 bytes"));
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    /* The smallest valid one: the bytes only. */
    const char *bytes = H "size 260\nmerges 0\n";
    assert_ok(tf_vocab_deserialize(&v, ctx, bytes, strlen(bytes)));
    assert_int_equal(tf_vocab_size(v), 260);
    tf_vocab_free(v);
#undef H
}

static void test_bpe_bad_options(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *t = "some text";
    tf_vocab_t *v = NULL;
    tf_vocab_opts_t o = bpe_opts(0, 1, 1, 259);
    assert_status(tf_vocab_build_texts(&v, ctx, &t, NULL, 1, &o), TF_STATUS_EINVAL);
    assert_null(v);
    o.max_size = 260; /* bytes only: no merge */
    assert_ok(tf_vocab_build_texts(&v, ctx, &t, NULL, 1, &o));
    assert_int_equal(tf_vocab_size(v), 260);
    tf_vocab_free(v);
    assert_status(tf_vocab_build_files(&v, ctx, NULL, 0, &o), TF_STATUS_EINVAL);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_bpe_matches_reference),
        T(test_bpe_round_trip_new_words),
        T(test_bpe_repeated_token_reuses_id),
        T(test_bpe_lm_loader_one_pass_equals_two_pass),
        T(test_bpe_hostile_serialised),
        T(test_bpe_bad_options),
    };
    return TF_TEST_RUN(tests);
}
