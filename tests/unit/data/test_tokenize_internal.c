/* The tokeniser's word-at-a-time hash and slot key equal the byte-wise functions the tables use
 * for lookups by string, for every token length. */
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

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_tokenize_hash_and_key_match_bytewise),
        T(test_tokenize_classes),
    };
    return TF_TEST_RUN(tests);
}
