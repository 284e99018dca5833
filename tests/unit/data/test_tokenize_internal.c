/* SPDX-License-Identifier: MIT */
/* The tokeniser's word-at-a-time hash and slot key equal the byte-wise functions the tables use
 * for lookups by string, for every token length; its splitting and lower-casing of ASCII and
 * (with TF__TOK_UNICODE) of Unicode text, the expected tokens written from Python's
 * unicodedata.normalize("NFKC", text.casefold()) and the Unicode categories. */
#include "tf_test.h"
#include "data/data_internal.h"

#include <string.h>

static void test_tokenize_hash_and_key_match_bytewise(void **state)
{
    tf_ctx_t *ctx = *state;
    tf__toks_t tk;
    char text[4096];
    uint64_t bad = 0;
    memset(&tk, 0, sizeof tk);
    /* Tokens of lengths 1..40 with varied bytes (ASCII and UTF-8), separated by spaces. */
    size_t o = 0;
    for (int len = 1; len <= 40; len++) {
        for (int i = 0; i < len; i++)
            text[o++] = (char)('a' + (len * 7 + i * 3) % 26);
        if (len % 5 == 0) {
            memcpy(text + o, "\xc3\xa9", 2);
            o += 2;
        }
        text[o++] = ' ';
    }
    assert_ok(tf__tokenize(&tk, ctx, text, o, 0, &bad));
    assert_int_equal(tk.n, 40);
    assert_int_equal(bad, 0);
    for (size_t i = 0; i < tk.n; i++) {
        const char *t = tk.bytes + tk.off[i];
        assert_int_equal(tk.hash[i], tf__hash_bytes(t, tk.len[i]));
        assert_true(tk.key[i] == tf__slot_key(t, tk.len[i]));
    }
    tf__toks_free(&tk, ctx);
}

static void test_tokenize_classes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf__toks_t tk;
    uint64_t bad = 0;
    memset(&tk, 0, sizeof tk);
    const char *s = "Don't\tstop,NOW!\x01x\x7fy";
    assert_ok(tf__tokenize(&tk, ctx, s, strlen(s), TF__TOK_LOWER | TF__TOK_PUNCT, &bad));
    const char *want[] = {"don", "'", "t", "stop", ",", "now", "!", "x", "y"};
    assert_int_equal(tk.n, 9);
    for (size_t i = 0; i < tk.n; i++) {
        assert_int_equal(tk.len[i], strlen(want[i]));
        assert_memory_equal(tk.bytes + tk.off[i], want[i], tk.len[i]);
    }
    assert_ok(tf__tokenize(&tk, ctx, s, strlen(s), 0, &bad));
    assert_int_equal(tk.n, 4); /* Don't / stop,NOW! / x / y */
    assert_memory_equal(tk.bytes + tk.off[1], "stop,NOW!", 9);
    tf__toks_free(&tk, ctx);
}

#define U (TF__TOK_UNICODE | TF__TOK_PUNCT)
#define UL (TF__TOK_UNICODE | TF__TOK_PUNCT | TF__TOK_LOWER)

/* Tokenise `text` with `flags` and check the tokens against the NULL-terminated `want`. */
static void expect_tokens(tf_ctx_t *ctx, const char *text, uint32_t flags,
                          const char *const *want, uint64_t want_bad)
{
    tf__toks_t tk;
    uint64_t bad = 0;
    size_t n = 0;
    memset(&tk, 0, sizeof tk);
    assert_ok(tf__tokenize(&tk, ctx, text, strlen(text), flags, &bad));
    while (want[n] != NULL)
        n++;
    for (size_t i = 0; i < tk.n && i < n; i++) {
        if (tk.len[i] != strlen(want[i]) || memcmp(tk.bytes + tk.off[i], want[i], tk.len[i]) != 0)
            print_error("token %zu: '%.*s', want '%s'\n", i, (int)tk.len[i],
                        tk.bytes + tk.off[i], want[i]);
        assert_int_equal(tk.len[i], strlen(want[i]));
        assert_memory_equal(tk.bytes + tk.off[i], want[i], tk.len[i]);
        assert_int_equal(tk.hash[i], tf__hash_bytes(want[i], tk.len[i]));
    }
    assert_int_equal(tk.n, n);
    assert_int_equal(bad, want_bad);
    tf__toks_free(&tk, ctx);
}

static void test_tokenize_unicode_turkish_dotted_i(void **state)
{
    /* Case folding is not Turkish-specific: U+0130 folds to i + U+0307; dotless i stays. */
    const char *folded[] = {"i\u0307stanbul", "istanbul", "\u0131i", NULL};
    expect_tokens(*state, "\u0130stanbul ISTANBUL \u0131i", UL, folded, 0);
    const char *kept[] = {"\u0130stanbul", "ISTANBUL", "\u0131i", NULL};
    expect_tokens(*state, "\u0130stanbul ISTANBUL \u0131i", U, kept, 0);
}

static void test_tokenize_unicode_sharp_s(void **state)
{
    const char *folded[] = {"strasse", "strasse", "ss", NULL};
    expect_tokens(*state, "STRASSE Stra\u00dfe \u1e9e", UL, folded, 0);
    const char *kept[] = {"Stra\u00dfe", "\u1e9e", NULL};
    expect_tokens(*state, "Stra\u00dfe \u1e9e", U, kept, 0);
}

static void test_tokenize_unicode_combining_marks(void **state)
{
    /* NFKC composes e + U+0301; a mark with no composed form stays in its word. */
    const char *want[] = {"caf\u00e9", "q\u0301", "x", NULL};
    expect_tokens(*state, "Cafe\u0301 q\u0301 X", UL, want, 0);
    /* Compatibility forms: ligature, full-width letters; a no-break space separates. */
    const char *compat[] = {"fine", "abc", "a", "b", NULL};
    expect_tokens(*state, "\ufb01ne \uff21\uff22\uff23 a\u00a0b", UL, compat, 0);
}

static void test_tokenize_unicode_cjk(void **state)
{
    /* Each ideograph is a token; kana stay a word. */
    const char *want[] = {"\u6211", "\u7231", "python", "\u7f16", "\u7a0b",
                          "\u65e5", "\u672c", "\u8a9e", "\u3067\u3059", NULL};
    expect_tokens(*state, "\u6211\u7231Python\u7f16\u7a0b \u65e5\u672c\u8a9e\u3067\u3059", UL,
                  want, 0);
}

static void test_tokenize_unicode_punctuation_and_emoji(void **state)
{
    /* Symbols are tokens with their modifiers, variation selectors and joined sequences. */
    const char *text = "I \u2764\ufe0f NY \U0001f44d\U0001f3fd! "
                       "\U0001f468\u200d\U0001f469\u200d\U0001f467\U0001f1e9\U0001f1ea";
    const char *want[] = {"i", "\u2764\ufe0f", "ny", "\U0001f44d\U0001f3fd", "!",
                          "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1e9\U0001f1ea",
                          NULL};
    expect_tokens(*state, text, UL, want, 0);
    const char *quotes[] = {"don", "\u2019", "t", "\u00ab", "hello", "\u00bb", "a", "\u2014", "b",
                            NULL};
    expect_tokens(*state, "don\u2019t \u00abhello\u00bb a\u2014b", UL, quotes, 0);
    /* Without punctuation splitting they stay inside words, as ASCII punctuation does. */
    const char *joined[] = {"don\u2019t", "\u00abhello\u00bb", NULL};
    expect_tokens(*state, "don\u2019t \u00abhello\u00bb", TF__TOK_UNICODE, joined, 0);
}

static void test_tokenize_unicode_invalid_utf8(void **state)
{
    /* Each invalid byte becomes U+FFFD inside its word (an encoded surrogate is three); a lone
     * one is a word. */
    const char *want[] = {"ab\ufffdcd", "\ufffd", "\u00e9\ufffd\ufffd\ufffd", NULL};
    expect_tokens(*state, "AB\xff" "cd \xc3 \xc3\xa9\xed\xa0\x80", UL, want, 5);
}

static void test_tokenize_unicode_ascii_unchanged(void **state)
{
    /* Every ASCII byte, in every flag combination: the same tokens with and without Unicode. */
    tf_ctx_t *ctx = *state;
    char text[300];
    size_t n = 0;
    for (int r = 0; r < 2; r++)
        for (int c = 1; c < 128; c++) {
            text[n++] = (char)c;
            if (c % 7 == 0)
                text[n++] = ' ';
        }
    for (uint32_t f = 0; f < 4; f++) {
        tf__toks_t a, b;
        uint64_t bad = 0;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_ok(tf__tokenize(&a, ctx, text, n, f, &bad));
        assert_ok(tf__tokenize(&b, ctx, text, n, f | TF__TOK_UNICODE, &bad));
        assert_true(a.n > 10);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            assert_int_equal(a.len[i], b.len[i]);
            assert_memory_equal(a.bytes + a.off[i], b.bytes + b.off[i], a.len[i]);
        }
        tf__toks_free(&a, ctx);
        tf__toks_free(&b, ctx);
    }
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_tokenize_hash_and_key_match_bytewise),
        T(test_tokenize_classes),
        T(test_tokenize_unicode_turkish_dotted_i),
        T(test_tokenize_unicode_sharp_s),
        T(test_tokenize_unicode_combining_marks),
        T(test_tokenize_unicode_cjk),
        T(test_tokenize_unicode_punctuation_and_emoji),
        T(test_tokenize_unicode_invalid_utf8),
        T(test_tokenize_unicode_ascii_unchanged),
    };
    return TF_TEST_RUN(tests);
}
