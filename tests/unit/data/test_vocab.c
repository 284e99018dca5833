/* SPDX-License-Identifier: MIT */
#include "data_util.h"

static tf_vocab_t *words(tf_ctx_t *ctx, const char *text, int lower, int punct, int min_count,
                         int max_size)
{
    tf_vocab_opts_t o;
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION));
    o.lowercase = lower;
    o.split_punct = punct;
    o.min_count = min_count;
    o.max_size = max_size;
    assert_ok(tf_vocab_build_texts(&v, ctx, &text, NULL, 1, &o));
    return v;
}

static void test_vocab_specials_and_frequency_order(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_t *v = words(ctx, "b a a c c c d", 0, 1, 1, 0);
    size_t len = 0;
    assert_int_equal(tf_vocab_size(v), 8);
    assert_int_equal(tf_vocab_kind(v), TF_VOCAB_KIND_WORD);
    assert_string_equal(tf_vocab_token(v, TF_VOCAB_PAD, NULL), "<pad>");
    assert_string_equal(tf_vocab_token(v, TF_VOCAB_UNK, NULL), "<unk>");
    assert_string_equal(tf_vocab_token(v, TF_VOCAB_BOS, NULL), "<bos>");
    assert_string_equal(tf_vocab_token(v, TF_VOCAB_EOS, &len), "<eos>");
    assert_int_equal(len, 5);
    /* Most frequent first, ties in byte order. */
    assert_string_equal(tf_vocab_token(v, 4, NULL), "c");
    assert_string_equal(tf_vocab_token(v, 5, NULL), "a");
    assert_string_equal(tf_vocab_token(v, 6, NULL), "b");
    assert_string_equal(tf_vocab_token(v, 7, NULL), "d");
    assert_null(tf_vocab_token(v, 8, NULL));
    assert_null(tf_vocab_token(v, -1, NULL));
    assert_int_equal(tf_vocab_lookup(v, "a", 1), 5);
    assert_int_equal(tf_vocab_lookup(v, "zz", 2), -1);
    assert_int_equal(tf_vocab_lookup(v, "<eos>", 5), TF_VOCAB_EOS);
    tf_vocab_free(v);
    tf_vocab_free(NULL);
    assert_int_equal(tf_vocab_size(NULL), 0);
}

static void test_vocab_min_count_max_size_lowercase_punct(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_t *v = words(ctx, "The the THE cat, cat. dog", 1, 1, 2, 0);
    /* lower-cased: the x3, cat x2, punctuation split off: , x1 . x1, dog x1 */
    assert_int_equal(tf_vocab_size(v), 6);
    assert_string_equal(tf_vocab_token(v, 4, NULL), "the");
    assert_string_equal(tf_vocab_token(v, 5, NULL), "cat");
    tf_vocab_free(v);
    v = words(ctx, "x x x y y z", 0, 1, 1, 5);
    assert_int_equal(tf_vocab_size(v), 5);
    assert_string_equal(tf_vocab_token(v, 4, NULL), "x");
    tf_vocab_free(v);
    /* Without punctuation splitting, "cat," is one token. */
    v = words(ctx, "cat, cat,", 0, 0, 1, 0);
    assert_int_equal(tf_vocab_size(v), 5);
    assert_string_equal(tf_vocab_token(v, 4, NULL), "cat,");
    tf_vocab_free(v);
}

static void test_vocab_encode_decode(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_t *v = words(ctx, "hello world hello", 1, 1, 1, 0);
    int32_t ids[8];
    size_t n = 0;
    char buf[64];
    size_t len = 0;
    const char *text = "Hello, unknown WORLD!";
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 8, &n));
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], 4); /* hello */
    assert_int_equal(ids[1], TF_VOCAB_UNK); /* "," not in the vocabulary */
    assert_int_equal(ids[2], TF_VOCAB_UNK);
    assert_int_equal(ids[3], 5); /* world */
    assert_int_equal(ids[4], TF_VOCAB_UNK);
    assert_status(tf_vocab_encode(v, text, strlen(text), ids, 2, &n), TF_STATUS_EBUFSIZE);
    assert_int_equal(n, 5);
    n = 0;
    assert_ok(tf_vocab_encode(v, text, strlen(text), NULL, 0, &n)); /* a count query */
    assert_int_equal(n, 5);
    assert_ok(tf_vocab_encode(v, NULL, 0, NULL, 0, &n));
    assert_int_equal(n, 0);
    int32_t back[5] = {4, TF_VOCAB_PAD, 5, TF_VOCAB_EOS, 4};
    assert_ok(tf_vocab_decode(v, back, 5, buf, sizeof buf, &len));
    assert_string_equal(buf, "hello world <eos> hello");
    assert_int_equal(len, 23);
    assert_status(tf_vocab_decode(v, back, 5, buf, 10, &len), TF_STATUS_EBUFSIZE);
    assert_int_equal(len, 23);
    len = 0;
    assert_ok(tf_vocab_decode(v, back, 5, NULL, 0, &len)); /* a length query */
    assert_int_equal(len, 23);
    back[0] = 99;
    assert_status(tf_vocab_decode(v, back, 5, buf, sizeof buf, &len), TF_STATUS_EINVAL);
    assert_status(tf_vocab_encode(NULL, text, 1, ids, 8, &n), TF_STATUS_EINVAL);
    tf_vocab_free(v);
}

static void test_vocab_byte_level_never_unknown(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_opts_t o;
    tf_vocab_t *v = NULL;
    int32_t ids[16];
    size_t n = 0, len = 0;
    char buf[32];
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.kind = TF_VOCAB_KIND_BYTE;
    assert_ok(tf_vocab_build_files(&v, ctx, NULL, 0, &o));
    assert_int_equal(tf_vocab_size(v), 260);
    assert_int_equal(tf_vocab_kind(v), TF_VOCAB_KIND_BYTE);
    const char *text = "Az \xc3\xa9~";
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 16, &n));
    assert_int_equal(n, 6);
    assert_int_equal(ids[0], 4 + 'A');
    assert_int_equal(ids[1], 4 + 'z');
    assert_int_equal(ids[2], 4 + ' ');
    assert_int_equal(ids[3], 4 + 0xc3);
    assert_int_equal(ids[4], 4 + 0xa9);
    assert_int_equal(ids[5], 4 + '~');
    assert_ok(tf_vocab_decode(v, ids, n, buf, sizeof buf, &len));
    assert_string_equal(buf, text);
    assert_int_equal(tf_vocab_lookup(v, "\0", 1), 4);
    size_t tl = 9;
    assert_non_null(tf_vocab_token(v, 4, &tl));
    assert_int_equal(tl, 1);
    tf_vocab_free(v);
}

static void test_vocab_invalid_utf8_replaced_counted_logged(void **state)
{
    log_sink_t sink;
    tf_ctx_t *ctx = log_ctx_new(&sink);
    (void)state;
    const char *text = "ok caf\xe9 \xed\xa0\x80x \xf0\x9f\x98\x80";
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, &text, NULL, 1, NULL));
    /* \xe9 alone: 1 byte; \xed\xa0\x80 is a surrogate: 3 bytes; the emoji is valid. */
    assert_int_equal(tf_vocab_invalid_utf8(v), 4);
    assert_true(tf_vocab_lookup(v, "caf\xef\xbf\xbd", 6) >= 4);
    assert_true(tf_vocab_lookup(v, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx", 10) >= 4);
    assert_true(tf_vocab_lookup(v, "\xf0\x9f\x98\x80", 4) >= 4);
    assert_true(sink.count >= 1);
    assert_non_null(strstr(sink.last, "invalid UTF-8"));
    int32_t ids[4];
    size_t n;
    assert_ok(tf_vocab_encode(v, "\xff", 1, ids, 4, &n));
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], TF_VOCAB_UNK);
    assert_int_equal(tf_vocab_invalid_utf8(v), 5);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

static void test_vocab_serialize_exact_format(void **state)
{
    tf_ctx_t *ctx = *state;
    /* Without punctuation splitting a backslash stays inside a token. */
    tf_vocab_t *v = words(ctx, "a\\b a\\b c", 0, 0, 1, 0);
    char buf[256];
    size_t len = 0;
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    /* Built now: format 2, whose tokeniser is Unicode-aware. */
    const char *want = "libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 0\nunicode 1\n"
                       "size 6\n<pad>\n<unk>\n<bos>\n<eos>\na\\\\b\nc\n";
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    assert_status(tf_vocab_serialize(v, buf, 10, &len), TF_STATUS_EBUFSIZE);
    assert_int_equal(len, strlen(want));
    len = 0;
    assert_ok(tf_vocab_serialize(v, NULL, 0, &len)); /* a length query */
    assert_int_equal(len, strlen(want));
    tf_vocab_t *w = NULL;
    assert_ok(tf_vocab_deserialize(&w, ctx, want, strlen(want)));
    assert_int_equal(tf_vocab_size(w), 6);
    assert_string_equal(tf_vocab_token(w, 4, NULL), "a\\b");
    tf_vocab_free(w);
    tf_vocab_free(v);
}

static void test_vocab_deserialize_control_escapes_roundtrip(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *text = "libtransfer-vocab 1\nkind word\nlowercase 1\nsplit_punct 1\nsize 6\n"
                       "<pad>\n<unk>\n<bos>\n<eos>\nx\\x0ay\\x7f\n\xc3\xa9t\xc3\xa9\n";
    tf_vocab_t *v = NULL;
    char buf[256];
    size_t len;
    assert_ok(tf_vocab_deserialize(&v, ctx, text, strlen(text)));
    assert_int_equal(tf_vocab_lookup(v, "x\ny\x7f", 4), 4);
    assert_int_equal(tf_vocab_lookup(v, "\xc3\xa9t\xc3\xa9", 5), 5);
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    assert_string_equal(buf, text);
    tf_vocab_free(v);
    /* A byte vocabulary is just the header. */
    const char *bytes = "libtransfer-vocab 1\nkind byte\nlowercase 0\nsplit_punct 1\nsize 260\n";
    assert_ok(tf_vocab_deserialize(&v, ctx, bytes, strlen(bytes)));
    assert_int_equal(tf_vocab_size(v), 260);
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    assert_string_equal(buf, bytes);
    tf_vocab_free(v);
}

static void test_vocab_deserialize_rejects_malformed(void **state)
{
    tf_ctx_t *ctx = *state;
    static const char *const bad[] = {
        "",
        "hello",
        "libtransfer-vocab 1\n",
        "libtransfer-vocab 1\nkind letters\n",
        "libtransfer-vocab 1\nkind word\nlowercase 2\nsplit_punct 1\nsize 4\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 3\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 5\n<pad>\n<unk>\n"
        "<bos>\n<eos>\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 4\n<unk>\n<pad>\n"
        "<bos>\n<eos>\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 6\n<pad>\n<unk>\n"
        "<bos>\n<eos>\na\na\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 5\n<pad>\n<unk>\n"
        "<bos>\n<eos>\n\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 5\n<pad>\n<unk>\n"
        "<bos>\n<eos>\na\\q\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 5\n<pad>\n<unk>\n"
        "<bos>\n<eos>\n\xff\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 5\n<pad>\n<unk>\n"
        "<bos>\n<eos>\nx\ny\n",
        "libtransfer-vocab 1\nkind byte\nlowercase 0\nsplit_punct 1\nsize 100\n",
        "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 99999999999\n",
        /* Format 2: the unicode line is required and is 1. */
        "libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 1\nsize 4\n<pad>\n<unk>\n"
        "<bos>\n<eos>\n",
        "libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 1\nunicode 0\nsize 4\n<pad>\n"
        "<unk>\n<bos>\n<eos>\n",
        "libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 1\nunicode 1\nsize 5\n<pad>\n"
        "<unk>\n<bos>\n<eos>\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_vocab_t *v = (tf_vocab_t *)ctx;
        tf_status_t st = tf_vocab_deserialize(&v, ctx, bad[i], strlen(bad[i]));
        if (st != TF_STATUS_EFORMAT)
            print_error("case %zu: %s\n", i, tf_status_str(st));
        assert_int_equal(st, TF_STATUS_EFORMAT);
        assert_null(v);
    }
    tf_vocab_t *v = NULL;
    const char *newer = "libtransfer-vocab 3\nkind word\n";
    assert_status(tf_vocab_deserialize(&v, ctx, newer, strlen(newer)), TF_STATUS_EVERSION);
    assert_status(tf_vocab_deserialize(&v, ctx, NULL, 3), TF_STATUS_EINVAL);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
}

static void test_vocab_files_save_load(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    char a[512], b[512];
    tmp_open(&d);
    snprintf(a, sizeof a, "%s", tmp_write(&d, "a.txt", "one two\r\ntwo three\r\n", (size_t)-1));
    snprintf(b, sizeof b, "%s", tmp_write(&d, "b.txt", "three three\n\nfour", (size_t)-1));
    const char *paths[2] = {a, b};
    tf_vocab_t *v = NULL, *w = NULL;
    assert_ok(tf_vocab_build_files(&v, ctx, paths, 2, NULL));
    assert_int_equal(tf_vocab_size(v), 8);
    assert_string_equal(tf_vocab_token(v, 4, NULL), "three"); /* 3 times */
    assert_string_equal(tf_vocab_token(v, 5, NULL), "two");   /* CR was not part of it */
    assert_int_equal(tf_vocab_lookup(v, "four", 4), 6);
    const char *vp = tmp_path(&d, "vocab.txt");
    char vpath[512];
    snprintf(vpath, sizeof vpath, "%s", vp);
    assert_ok(tf_vocab_save(v, vpath));
    assert_ok(tf_vocab_load(&w, ctx, vpath));
    assert_int_equal(tf_vocab_size(w), 8);
    for (int32_t i = 0; i < 8; i++)
        assert_string_equal(tf_vocab_token(v, i, NULL), tf_vocab_token(w, i, NULL));
    tf_vocab_free(w);
    w = (tf_vocab_t *)ctx;
    assert_status(tf_vocab_load(&w, ctx, tmp_path(&d, "missing.txt")), TF_STATUS_EIO);
    assert_null(w);
    assert_msg_has("missing.txt");
    assert_status(tf_vocab_save(v, "/nonexistent-dir/x/vocab.txt"), TF_STATUS_EIO);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_vocab_bad_options(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_opts_t o;
    tf_vocab_t *v = (tf_vocab_t *)ctx;
    const char *t = "a";
    assert_status(tf_vocab_opts_init(NULL, TF_VOCAB_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_vocab_opts_init(&o, 99), TF_STATUS_EVERSION);
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.min_count = 0;
    assert_status(tf_vocab_build_texts(&v, ctx, &t, NULL, 1, &o), TF_STATUS_EINVAL);
    assert_null(v);
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.kind = 7;
    assert_status(tf_vocab_build_texts(&v, ctx, &t, NULL, 1, &o), TF_STATUS_EINVAL);
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.max_size = 2;
    assert_status(tf_vocab_build_texts(&v, ctx, &t, NULL, 1, &o), TF_STATUS_EINVAL);
    assert_status(tf_vocab_build_files(&v, ctx, NULL, 0, NULL), TF_STATUS_EINVAL);
    const char *blank = "   \t ";
    assert_status(tf_vocab_build_texts(&v, ctx, &blank, NULL, 1, NULL), TF_STATUS_EFORMAT);
    assert_status(tf_vocab_build_texts(NULL, ctx, &t, NULL, 1, NULL), TF_STATUS_EINVAL);
}

/* A format 1 vocabulary keeps its release's rules: a curly apostrophe is a word byte and
 * only ASCII is lower-cased; the same tokens in format 2 split and fold it. */
static void test_vocab_format1_keeps_ascii_rules(void **state)
{
    tf_ctx_t *ctx = *state;
    const char *v1 = "libtransfer-vocab 1\nkind word\nlowercase 1\nsplit_punct 1\nsize 8\n"
                     "<pad>\n<unk>\n<bos>\n<eos>\ndon\u2019t\n\u00c9t\u00c9\ndon\n\u2019\n";
    const char *v2 = "libtransfer-vocab 2\nkind word\nlowercase 1\nsplit_punct 1\nunicode 1\n"
                     "size 8\n<pad>\n<unk>\n<bos>\n<eos>\ndon\u2019t\n\u00e9t\u00e9\ndon\n\u2019\n";
    const char *text = "DON\u2019T \u00c9T\u00c9";
    tf_vocab_t *v = NULL;
    int32_t ids[8];
    size_t n = 0;
    assert_ok(tf_vocab_deserialize(&v, ctx, v1, strlen(v1)));
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 8, &n));
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 4); /* "don\u2019t": ASCII lower-cased, one word */
    assert_int_equal(ids[1], 5); /* "\u00c9T\u00c9" -> "\u00c9t\u00c9" */
    char buf[256];
    size_t len;
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    assert_string_equal(buf, v1);
    tf_vocab_free(v);
    assert_ok(tf_vocab_deserialize(&v, ctx, v2, strlen(v2)));
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 8, &n));
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 6); /* don */
    assert_int_equal(ids[1], 7); /* \u2019 */
    assert_int_equal(ids[2], TF_VOCAB_UNK); /* t */
    assert_int_equal(ids[3], 5); /* \u00e9t\u00e9 */
    tf_vocab_free(v);
}

/* A checkpoint saved by the release before vocabulary format 2 (tests/data/checkpoint_vocab1:
 * a word vocabulary of "Caf\u00e9 don\u2019t STOP \u00dcber stop caf\u00e9", lower-cased, and
 * an untrained model) loads, and its vocabulary encodes as that release did: only ASCII
 * lower-cased, the curly apostrophe inside the word. The ids were printed by that release. */
static void test_vocab_old_checkpoint_keeps_its_rules(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = NULL;
    assert_ok(tf_model_load(&m, ctx, TF_TEST_DATA_DIR "/data/checkpoint_vocab1.safetensors", 0));
    tf_vocab_t *v = tf_model_vocab(m);
    const char *text = "CAF\u00c9 Don\u2019t \u00dcBER stop";
    int32_t ids[16];
    size_t n = 0;
    assert_ok(tf_vocab_encode(v, text, strlen(text), ids, 16, &n));
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], TF_VOCAB_UNK); /* "caf\u00c9" */
    assert_int_equal(ids[1], 6);            /* "don\u2019t" */
    assert_int_equal(ids[2], 7);            /* "\u00dcber" */
    assert_int_equal(ids[3], 5);            /* "stop" */
    char buf[256];
    size_t len;
    assert_ok(tf_vocab_serialize(v, buf, sizeof buf, &len));
    assert_int_equal(strncmp(buf, "libtransfer-vocab 1\n", 20), 0);
    tf_model_free(m);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_vocab_specials_and_frequency_order),
        T(test_vocab_min_count_max_size_lowercase_punct),
        T(test_vocab_encode_decode),
        T(test_vocab_byte_level_never_unknown),
        cmocka_unit_test(test_vocab_invalid_utf8_replaced_counted_logged),
        T(test_vocab_serialize_exact_format),
        T(test_vocab_deserialize_control_escapes_roundtrip),
        T(test_vocab_deserialize_rejects_malformed),
        T(test_vocab_files_save_load),
        T(test_vocab_bad_options),
        T(test_vocab_format1_keeps_ascii_rules),
        T(test_vocab_old_checkpoint_keeps_its_rules),
    };
    return TF_TEST_RUN(tests);
}
