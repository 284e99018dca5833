/* SPDX-License-Identifier: MIT */
/* Every kind of bad input: a clear status and a message naming the file and line, or the
 * documented recovery (skip_bad_lines); never a crash. */
#include "data_util.h"

static tf_vocab_t *vocab_of(tf_ctx_t *ctx)
{
    const char *text = "hello world a b c";
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, &text, NULL, 1, NULL));
    return v;
}

static tf_loader_opts_t opts(int skip)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 1;
    o.bptt = 1;
    o.skip_bad_lines = skip;
    return o;
}

static void test_bad_missing_file_is_eio_naming_it(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_t *v = vocab_of(ctx), *w = NULL;
    tf_loader_t *l = (tf_loader_t *)ctx;
    const char *p = "/nonexistent/dir/corpus-xyz.txt";
    assert_status(tf_loader_create_lm(&l, ctx, v, &p, 1, NULL), TF_STATUS_EIO);
    assert_null(l);
    assert_msg_has("corpus-xyz.txt");
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, NULL), TF_STATUS_EIO);
    assert_msg_has("corpus-xyz.txt");
    assert_status(tf_loader_create_numeric(&l, ctx, p, NULL), TF_STATUS_EIO);
    assert_msg_has("corpus-xyz.txt");
    assert_status(tf_vocab_build_files(&w, ctx, &p, 1, NULL), TF_STATUS_EIO);
    assert_msg_has("corpus-xyz.txt");
    /* A directory cannot be read as a file. */
    const char *dir = "/";
    tf_status_t st = tf_loader_create_labeled(&l, ctx, v, dir, NULL);
    assert_true(st == TF_STATUS_EIO);
    tf_vocab_free(v);
}

static void test_bad_empty_file(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx), *w = NULL;
    tf_loader_t *l = NULL;
    const char *p = tmp_write(&d, "empty.txt", "", 0);
    tf_loader_opts_t o = opts(0);
    assert_status(tf_loader_create_lm(&l, ctx, v, &p, 1, &o), TF_STATUS_EFORMAT);
    assert_msg_has("empty.txt");
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("empty.txt");
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("empty.txt");
    assert_status(tf_vocab_build_files(&w, ctx, &p, 1, NULL), TF_STATUS_EFORMAT);
    /* Only blank lines is as good as empty. */
    p = tmp_write(&d, "blank.tsv", "\n\r\n\n", (size_t)-1);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_null(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_bad_line_without_tab(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx);
    tf_loader_t *l = NULL;
    const char *p = tmp_write(&d, "t.tsv", "a\thello\nno tab here\nb\tworld\n", (size_t)-1);
    tf_loader_opts_t o = opts(0);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("t.tsv:2");
    assert_msg_has("no tab");
    o = opts(1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_int_equal(tf_loader_num_sequences(l), 2);
    assert_int_equal(tf_loader_skipped_lines(l), 1);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_bad_empty_text_and_label(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx);
    tf_loader_t *l = NULL;
    tf_loader_opts_t o = opts(0);
    const char *p = tmp_write(&d, "t.tsv", "a\thello\nb\t\n", (size_t)-1);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("t.tsv:2");
    assert_msg_has("empty text");
    p = tmp_write(&d, "u.tsv", "a\thello\nb\t  \t \n", (size_t)-1);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("u.tsv:2");
    p = tmp_write(&d, "w.tsv", "\thello\n", (size_t)-1);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("empty label");
    o = opts(1);
    p = tmp_write(&d, "x.tsv", "a\thello\nb\t\n\tz\nc\tworld\n", (size_t)-1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_int_equal(tf_loader_num_sequences(l), 2);
    assert_int_equal(tf_loader_skipped_lines(l), 2);
    assert_int_equal(tf_loader_num_labels(l), 2); /* "b" had only a bad line */
    assert_string_equal(tf_loader_label_name(l, 1), "c");
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static char *long_text(size_t *len)
{
    size_t n = (size_t)TF_DATA_MAX_LINE + 100;
    char *s = malloc(n + 64);
    assert_non_null(s);
    size_t o = (size_t)snprintf(s, 64, "a\thello\nb\t");
    memset(s + o, 'x', n);
    o += n;
    o += (size_t)snprintf(s + o, 64, "\nc\tworld\n");
    *len = o;
    return s;
}

static void test_bad_line_over_1mb(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx), *w = NULL;
    tf_loader_t *l = NULL;
    size_t n;
    char *s = long_text(&n);
    const char *p = tmp_write(&d, "long.tsv", s, n);
    free(s);
    tf_loader_opts_t o = opts(0);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("long.tsv:2");
    assert_msg_has("longer than");
    assert_status(tf_vocab_build_files(&w, ctx, &p, 1, NULL), TF_STATUS_EFORMAT);
    assert_msg_has("long.tsv:2");
    assert_status(tf_loader_create_lm(&l, ctx, v, &p, 1, &o), TF_STATUS_EFORMAT);
    o = opts(1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_int_equal(tf_loader_num_sequences(l), 2); /* the line after it is read normally */
    assert_int_equal(tf_loader_skipped_lines(l), 1);
    tf_loader_free(l);
    /* A line of exactly the limit is fine. */
    size_t m = (size_t)TF_DATA_MAX_LINE;
    char *t = malloc(m + 1);
    memset(t, 'y', m);
    t[1] = '\t';
    t[m] = '\n';
    p = tmp_write(&d, "limit.tsv", t, m + 1);
    free(t);
    o = opts(0);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_bad_nul_bytes(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx);
    tf_loader_t *l = NULL;
    static const char data[] = "a\thello\nb\twor\0ld\nc\tworld\n";
    const char *p = tmp_write(&d, "nul.tsv", data, sizeof data - 1);
    tf_loader_opts_t o = opts(0);
    assert_status(tf_loader_create_labeled(&l, ctx, v, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("nul.tsv:2");
    assert_msg_has("NUL");
    static const char csv[] = "1,2\n3\0,4\n";
    p = tmp_write(&d, "nul.csv", csv, sizeof csv - 1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("nul.csv:2");
    o = opts(1);
    p = tmp_write(&d, "nul2.tsv", data, sizeof data - 1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_int_equal(tf_loader_skipped_lines(l), 1);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_bad_crlf_just_works(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_vocab_t *v = vocab_of(ctx);
    tf_loader_t *l = NULL, *m = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(0);
    o.batch_size = 2;
    o.shuffle = 0;
    const char *p = tmp_write(&d, "crlf.tsv", "x\thello world\r\ny\tc\r\n", (size_t)-1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_string_equal(tf_loader_label_name(l, 1), "y"); /* no CR in the label */
    p = tmp_write(&d, "lf.tsv", "x\thello world\ny\tc\n", (size_t)-1);
    assert_ok(tf_loader_create_labeled(&m, ctx, v, p, &o));
    tf_batch_t *b2;
    assert_ok(tf_loader_next(&b, l));
    assert_ok(tf_loader_next(&b2, m));
    assert_int_equal(tf_batch_steps(b), 2);
    assert_memory_equal(i32_of(tf_batch_tokens(b)), i32_of(tf_batch_tokens(b2)), 16);
    assert_int_equal(tf_vocab_lookup(v, "c", 1), i32_of(tf_batch_tokens(b))[1]);
    tf_loader_free(l);
    tf_loader_free(m);
    p = tmp_write(&d, "crlf.csv", "1,2\r\n3,4\r\n", (size_t)-1);
    assert_ok(tf_loader_create_numeric(&l, ctx, p, &o));
    assert_int_equal(tf_loader_num_sequences(l), 2);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
}

static void test_bad_invalid_utf8_replaced_and_counted(void **state)
{
    log_sink_t sink;
    tf_ctx_t *ctx = log_ctx_new(&sink);
    tmpdir_t d;
    (void)state;
    tmp_open(&d);
    const char *text = "hello w\xf6rld";
    tf_vocab_t *v = NULL;
    assert_ok(tf_vocab_build_texts(&v, ctx, &text, NULL, 1, NULL));
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(0);
    o.shuffle = 0;
    const char *p = tmp_write(&d, "latin1.tsv", "a\thello w\xf6rld \xc3\x28\n", (size_t)-1);
    sink.count = 0;
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_int_equal(tf_loader_invalid_utf8(l), 2);
    assert_true(sink.count >= 1);
    assert_non_null(strstr(sink.last, "invalid UTF-8"));
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_steps(b), 4); /* hello, w?rld, ?, ( */
    assert_int_equal(i32_of(tf_batch_tokens(b))[1], tf_vocab_lookup(v, "w\xef\xbf\xbdrld", 7));
    tf_loader_free(l);
    /* Label names are cleaned as well (they go into checkpoints as JSON strings). */
    p = tmp_write(&d, "label.tsv", "caf\xe9\thello\n", (size_t)-1);
    assert_ok(tf_loader_create_labeled(&l, ctx, v, p, &o));
    assert_string_equal(tf_loader_label_name(l, 0), "caf\xef\xbf\xbd");
    assert_int_equal(tf_loader_invalid_utf8(l), 1);
    tf_loader_free(l);
    p = tmp_write(&d, "latin1.txt", "hello w\xf6rld\nhello\n", (size_t)-1);
    assert_ok(tf_loader_create_lm(&l, ctx, v, &p, 1, &o));
    assert_int_equal(tf_loader_invalid_utf8(l), 1);
    tf_loader_free(l);
    tf_vocab_free(v);
    tmp_close(&d);
    tf_ctx_free(ctx);
}

static void test_bad_non_numeric_csv(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_loader_t *l = NULL;
    tf_loader_opts_t o = opts(0);
    const char *p = tmp_write(&d, "x.csv", "1.5,2\n1.0,two\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("x.csv:2");
    assert_msg_has("two");
    p = tmp_write(&d, "y.csv", "1,2,\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("y.csv:1");
    p = tmp_write(&d, "z.csv", "1,2 3\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_null(l);
    tmp_close(&d);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_bad_missing_file_is_eio_naming_it),
        T(test_bad_empty_file),
        T(test_bad_line_without_tab),
        T(test_bad_empty_text_and_label),
        T(test_bad_line_over_1mb),
        T(test_bad_nul_bytes),
        T(test_bad_crlf_just_works),
        cmocka_unit_test(test_bad_invalid_utf8_replaced_and_counted),
        T(test_bad_non_numeric_csv),
    };
    return TF_TEST_RUN(tests);
}
