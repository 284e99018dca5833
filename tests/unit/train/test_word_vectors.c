/* SPDX-License-Identifier: MIT */
/* tf_model_init_embeddings_file: word2vec/GloVe/fastText text vectors set the rows of the words
 * they list and leave the others; bad files are refused and leave the model unchanged. */
#include "tf_test.h"

#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_vec_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

/* A token model over "the cat sat on mat dog" with 3-dimensional embeddings. */
static tf_model_t *small_model(tf_ctx_t *ctx)
{
    const char *texts[] = {"the cat sat on the mat", "the dog sat"};
    tf_vocab_t *v;
    assert_ok(tf_vocab_build_texts(&v, ctx, texts, NULL, 2, NULL));
    tf_model_opts_t o;
    tf_model_opts_init(&o, TF_MODEL_OPTS_VERSION);
    o.embedding_dim = 3;
    o.hidden_size = 4;
    tf_model_t *m;
    assert_ok(tf_model_create(&m, ctx, v, &o));
    tf_vocab_free(v);
    return m;
}

static float *emb_row(tf_model_t *m, const char *word)
{
    tf_module_t *enc = tf_model_encoder(m);
    const char *name;
    tf_tensor_t *p;
    assert_ok(tf_module_param_at(&name, &p, NULL, enc, 0));
    assert_string_equal(name, "embedding.weight");
    int32_t id = tf_vocab_lookup(tf_model_vocab(m), word, strlen(word));
    assert_true(id >= 0);
    return (float *)tf_tensor_data(p) + (size_t)id * 3;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_vectors_set_found_rows_and_keep_others(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = small_model(ctx);
    float dog[3];
    memcpy(dog, emb_row(m, "dog"), sizeof dog);
    /* fastText header, CRLF, an unknown word, "cat" twice (the first wins), a word in invalid
     * UTF-8, a blank line, extra spaces. */
    const char *path = write_file("a.vec", "5 3\r\n"
                                           "cat 1 2 3\r\n"
                                           "zebra 9 9 9\r\n"
                                           "cat 7 7 7\r\n"
                                           "\xff\xfe 5 5 5\r\n"
                                           "\r\n"
                                           "the  -0.5 0.25   1e-3 \r\n");
    int32_t found = -1;
    assert_ok(tf_model_init_embeddings_file(m, path, &found));
    assert_int_equal(found, 2);
    const float *cat = emb_row(m, "cat"), *the = emb_row(m, "the");
    assert_true(cat[0] == 1.0f && cat[1] == 2.0f && cat[2] == 3.0f);
    assert_true(the[0] == -0.5f && the[1] == 0.25f && the[2] == 1e-3f);
    assert_memory_equal(emb_row(m, "dog"), dog, sizeof dog);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* GloVe files have no header; a last line without LF counts. */
static void test_vectors_without_header(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = small_model(ctx);
    int32_t found = 0;
    assert_ok(tf_model_init_embeddings_file(m, write_file("g.txt", "mat 0 0 1\ndog 4 5 6"), &found));
    assert_int_equal(found, 2);
    assert_true(emb_row(m, "dog")[2] == 6.0f && emb_row(m, "mat")[2] == 1.0f);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* Each bad file: the status, a message naming the problem, the model untouched. */
static void expect_bad(tf_model_t *m, const char *name, const char *text, tf_status_t st, const char *words)
{
    float cat[3];
    memcpy(cat, emb_row(m, "cat"), sizeof cat);
    int32_t found = -1;
    assert_status(tf_model_init_embeddings_file(m, write_file(name, text), &found), st);
    assert_int_equal(found, 0);
    if (strstr(tf_last_error_message(), words) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", name, tf_last_error_message(), words);
    assert_memory_equal(emb_row(m, "cat"), cat, sizeof cat);
}

static void test_vectors_refuse_bad_files(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = small_model(ctx);
    expect_bad(m, "dim.vec", "2 300\ncat 1 2 3\n", TF_STATUS_EFORMAT, "300 dimensions");
    expect_bad(m, "short.vec", "cat 1 2 3\nthe 1 2\n", TF_STATUS_EFORMAT, "short.vec:2: 2 values");
    expect_bad(m, "long.vec", "cat 1 2 3 4 5\n", TF_STATUS_EFORMAT, "long.vec:1: 5 values");
    expect_bad(m, "nan.vec", "cat 1 nan 3\n", TF_STATUS_EFORMAT, "nan.vec:1: value 2");
    expect_bad(m, "inf.vec", "cat 1 2 1e999\n", TF_STATUS_EFORMAT, "value 3 is not a finite");
    expect_bad(m, "junk.vec", "cat 1 2x 3\n", TF_STATUS_EFORMAT, "value 2");
    char nul[] = "cat 1 2 3\nthe 1\0 2 3\n";
    char path[128];
    snprintf(path, sizeof path, "%s/nul2.vec", dir);
    FILE *f = fopen(path, "wb");
    fwrite(nul, 1, sizeof nul - 1, f);
    fclose(f);
    float cat[3];
    memcpy(cat, emb_row(m, "cat"), sizeof cat);
    assert_status(tf_model_init_embeddings_file(m, path, NULL), TF_STATUS_EFORMAT);
    assert_memory_equal(emb_row(m, "cat"), cat, sizeof cat);
    snprintf(path, sizeof path, "%s/missing.vec", dir);
    assert_status(tf_model_init_embeddings_file(m, path, NULL), TF_STATUS_EIO);
    assert_status(tf_model_init_embeddings_file(NULL, path, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_init_embeddings_file(m, NULL, NULL), TF_STATUS_EINVAL);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* A long line of a huge file is refused by line number, not read whole. */
static void test_vectors_line_too_long(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = small_model(ctx);
    char path[128];
    snprintf(path, sizeof path, "%s/big.vec", dir);
    FILE *f = fopen(path, "wb");
    fputs("cat 1 2 3\nthe", f);
    for (int i = 0; i < (1 << 19); i++)
        fputs(" 0.5", f);
    fputs("\n", f);
    fclose(f);
    assert_status(tf_model_init_embeddings_file(m, path, NULL), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "big.vec:2"));
    tf_model_free(m);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_set_found_rows_and_keep_others),
        cmocka_unit_test(test_vectors_without_header),
        cmocka_unit_test(test_vectors_refuse_bad_files),
        cmocka_unit_test(test_vectors_line_too_long),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
