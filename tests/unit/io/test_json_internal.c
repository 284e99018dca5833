/* SPDX-License-Identifier: MIT */
/* The JSON reader of checkpoint headers: values, escapes and numbers as RFC 8259 defines them,
 * every malformed text refused with the offset and the kind of error, and no leak or crash when
 * any allocation fails. Expected values are written out from the RFC, not produced by the
 * reader. */
#include "tf_test.h"
#include "io/json.h"

#include <math.h>
#include <string.h>

typedef struct parsed {
    tf__json_doc_t *doc;
    const tf__json_t *root;
} parsed_t;

static parsed_t parse_ok(tf_ctx_t *ctx, const char *text)
{
    parsed_t p;
    size_t at;
    int why;
    tf_status_t st = tf__json_parse(ctx, text, strlen(text), &p.doc, &p.root, &at, &why);
    if (st != TF_STATUS_OK)
        fail_msg("'%s' was refused (kind %d at byte %zu)", text, why, at);
    return p;
}

static void parse_bad(tf_ctx_t *ctx, const char *text, size_t len, int kind, size_t at_least)
{
    tf__json_doc_t *doc = (tf__json_doc_t *)ctx;
    const tf__json_t *root = (const tf__json_t *)ctx;
    size_t at;
    int why;
    tf_status_t st = tf__json_parse(ctx, text, len, &doc, &root, &at, &why);
    if (st != TF_STATUS_EFORMAT || why != kind)
        fail_msg("'%.*s': status %d kind %d, expected EFORMAT kind %d", (int)len, text, st, why,
                 kind);
    assert_null(doc);
    assert_null(root);
    assert_true(at >= at_least && at <= len);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
}

static void test_json_values_and_tree(void **state)
{
    tf_ctx_t *ctx = *state;
    parsed_t p = parse_ok(ctx, " {\"a\": [1, -2.5e1, true, false, null, \"x\"], \"b\": {},"
                               " \"a\": 3, \"c\": []}\n");
    const tf__json_t *r = p.root;
    assert_int_equal(r->type, TF__JSON_OBJECT);
    assert_int_equal(r->count, 4);
    const tf__json_t *a = tf__json_get(r, "a"); /* the first of two "a" */
    assert_int_equal(a->type, TF__JSON_ARRAY);
    assert_int_equal(a->count, 6);
    const tf__json_t *e = a->child;
    assert_true(e->type == TF__JSON_NUMBER && e->num == 1.0 && e->is_u64 && e->u64 == 1);
    e = e->next;
    assert_true(e->type == TF__JSON_NUMBER && e->num == -25.0 && !e->is_u64);
    assert_int_equal((e = e->next)->type, TF__JSON_TRUE);
    assert_int_equal((e = e->next)->type, TF__JSON_FALSE);
    assert_int_equal((e = e->next)->type, TF__JSON_NULL);
    e = e->next;
    assert_true(e->type == TF__JSON_STRING && strcmp(e->str, "x") == 0);
    assert_null(e->next);
    assert_int_equal(tf__json_get(r, "b")->count, 0);
    assert_null(tf__json_get(r, "b")->child);
    assert_int_equal(tf__json_get(r, "c")->type, TF__JSON_ARRAY);
    assert_null(tf__json_get(r, "d"));
    assert_null(tf__json_get(a, "a")); /* not an object */
    assert_string_equal(a->key, "a");
    tf__json_free(p.doc);
    /* Scalars at the top level are values too. */
    p = parse_ok(ctx, "\"top\"");
    assert_string_equal(p.root->str, "top");
    tf__json_free(p.doc);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
}

static void test_json_string_escapes(void **state)
{
    tf_ctx_t *ctx = *state;
    /* \u00e9 = U+00E9 (C3 A9), \u20ac = U+20AC (E2 82 AC), \ud83d\ude00 = U+1F600 (F0 9F 98 80). */
    parsed_t p = parse_ok(ctx, "[\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\", \"\\u00e9\\u20AC\\ud83d\\ude00\","
                               " \"\xc3\xa9 raw\"]");
    const tf__json_t *s = p.root->child;
    assert_string_equal(s->str, "q\"b\\s/n\nt\tr\rb\bf\f");
    assert_string_equal(s->next->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_string_equal(s->next->next->str, "\xc3\xa9 raw");
    tf__json_free(p.doc);
}

static void test_json_numbers(void **state)
{
    tf_ctx_t *ctx = *state;
    parsed_t p = parse_ok(ctx, "[0, 18446744073709551615, 18446744073709551616, 9007199254740993,"
                               " 0.5, 1E2, 1e-2, -0]");
    const tf__json_t *n = p.root->child;
    assert_true(n->is_u64 && n->u64 == 0);
    n = n->next;
    assert_true(n->is_u64 && n->u64 == UINT64_MAX); /* exact, beyond a double's 2^53 */
    n = n->next;
    assert_false(n->is_u64); /* 2^64 does not fit */
    assert_true(n->num == 18446744073709551616.0);
    n = n->next;
    assert_true(n->is_u64 && n->u64 == 9007199254740993ull);
    n = n->next;
    assert_true(!n->is_u64 && n->num == 0.5);
    n = n->next;
    assert_true(!n->is_u64 && n->num == 100.0);
    n = n->next;
    assert_true(fabs(n->num - 0.01) < 1e-18);
    n = n->next;
    assert_true(!n->is_u64 && n->num == 0.0);
    tf__json_free(p.doc);
}

static void test_json_refuses_malformed_text(void **state)
{
    tf_ctx_t *ctx = *state;
    static const char *const syntax[] = {
        "", " ", "{", "}", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "[1 2]",
        "1.", ".5", "+1", "-", "1e", "1e+", "tru", "nul", "True", "'s'",
        "\"open", "\"bad \\x escape\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\udc00\"", "\"\\ud800\"",
        "\"\\ud800\\u0041\"", "\"tab\there\"", "[\"a\" \"b\"]", "{\"a\" 1}", "\"\\",
    };
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++)
        parse_bad(ctx, syntax[i], strlen(syntax[i]), TF__JSON_ERR_SYNTAX, 0);
    parse_bad(ctx, "{} x", 4, TF__JSON_ERR_TRAILING, 3);
    parse_bad(ctx, "1 2", 3, TF__JSON_ERR_TRAILING, 2);
    parse_bad(ctx, "01", 2, TF__JSON_ERR_TRAILING, 1); /* a number is 0 alone, then "1" */
    parse_bad(ctx, "0x10", 4, TF__JSON_ERR_TRAILING, 1);
    parse_bad(ctx, "[\"a\\u0000b\"]", 12, TF__JSON_ERR_NUL, 0);
    /* A NUL byte inside the length is just a bad byte; the length bounds the text. */
    parse_bad(ctx, "[1]\0", 4, TF__JSON_ERR_TRAILING, 3);
    parsed_t p = parse_ok(ctx, "[1]");
    tf__json_free(p.doc);
    /* Nesting: 64 levels below the top are accepted, 65 are not, and 100000 never reach the
     * stack's limit. */
    char deep[200002];
    for (int levels = 65; levels <= 66; levels++) {
        memset(deep, '[', (size_t)levels);
        memset(deep + levels, ']', (size_t)levels);
        deep[2 * levels] = '\0';
        if (levels == 65) {
            p = parse_ok(ctx, deep);
            tf__json_free(p.doc);
        } else {
            parse_bad(ctx, deep, (size_t)(2 * levels), TF__JSON_ERR_DEPTH, 0);
        }
    }
    memset(deep, '[', 100000);
    parse_bad(ctx, deep, 100000, TF__JSON_ERR_DEPTH, 0);
}

/* Every allocation of a parse fails in turn: ENOMEM, nothing leaks, then it succeeds. */
static void test_json_out_of_memory(void **state)
{
    tf_test_alloc_t ta;
    (void)state;
    tf_test_alloc_init(&ta);
    tf_ctx_t *ctx = tf_test_ctx_new(&ta);
    char big[40000];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "{");
    for (int i = 0; i < 800; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s\"key%d\":[%d,\"v\"]", i ? "," : "", i, i);
    snprintf(big + o, sizeof big - o, "}");
    int failures = 0;
    for (long n = 1;; n++) {
        tf__json_doc_t *doc;
        const tf__json_t *root;
        size_t at;
        int why;
        ta.fail_at = ta.attempts + n;
        tf_status_t st = tf__json_parse(ctx, big, strlen(big), &doc, &root, &at, &why);
        ta.fail_at = 0;
        if (st == TF_STATUS_OK) {
            assert_int_equal(root->count, 800);
            tf__json_free(doc);
            break;
        }
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        failures++;
    }
    assert_true(failures >= 3); /* the document, then more than one arena block */
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
    assert_int_equal(ta.allocs, ta.frees);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_json_values_and_tree),
        T(test_json_string_escapes),
        T(test_json_numbers),
        T(test_json_refuses_malformed_text),
        T(test_json_out_of_memory),
    };
    return TF_TEST_RUN(tests);
}
