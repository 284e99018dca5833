/* SPDX-License-Identifier: MIT */
/* Allocation-failure sweeps: fail each allocation of an operation in turn; every failure is
 * ENOMEM with nothing leaked, and the operation finally succeeds. */
#include "data_util.h"

typedef tf_status_t (*op_fn)(tf_ctx_t *ctx, const char *const *paths, void **made);

static tmpdir_t dir;
static char p_txt[512], p_tsv[512], p_csv[512];

static void sweep(op_fn op, void (*release)(void *), const char *const *paths)
{
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        ta.fail_at = ta.attempts + n;
        void *made = NULL;
        tf_status_t st = op(ctx, paths, &made);
        if (st == TF_STATUS_OK) {
            assert_true(n > 1);
            release(made);
            assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
            tf_ctx_free(ctx);
            assert_int_equal(ta.allocs, ta.frees);
            break;
        }
        if (st != TF_STATUS_ENOMEM)
            print_error("allocation %ld: %s: %s\n", n, tf_status_str(st), tf_last_error_message());
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

static void free_vocab(void *p)
{
    tf_vocab_free(p);
}

typedef struct pair {
    tf_vocab_t *v;
    tf_loader_t *l;
} pair_t;
static pair_t pairs[1];
static void free_pair(void *p)
{
    pair_t *q = p;
    tf_loader_free(q->l);
    tf_vocab_free(q->v);
}
static void free_loader(void *p)
{
    tf_loader_free(p);
}

static tf_status_t op_vocab_files(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_vocab_t *v = NULL;
    tf_status_t st = tf_vocab_build_files(&v, ctx, paths, 1, NULL);
    *made = v;
    return st;
}

static tf_status_t op_vocab_roundtrip(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    const char *ser = "libtransfer-vocab 1\nkind word\nlowercase 0\nsplit_punct 1\nsize 7\n"
                      "<pad>\n<unk>\n<bos>\n<eos>\nx\ny\nzz\\x01\n";
    tf_vocab_t *v = NULL;
    int32_t ids[8];
    size_t n;
    (void)paths;
    tf_status_t st = tf_vocab_deserialize(&v, ctx, ser, strlen(ser));
    if (st == TF_STATUS_OK)
        st = tf_vocab_encode(v, "x y q", 5, ids, 8, &n);
    if (st != TF_STATUS_OK) {
        tf_vocab_free(v);
        return st;
    }
    *made = v;
    return st;
}

static tf_status_t op_lm(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    tf_batch_t *b;
    pair_t *p = &pairs[0];
    tf_status_t st;
    memset(p, 0, sizeof *p);
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 2;
    o.bptt = 3;
    st = tf_vocab_build_files(&p->v, ctx, paths, 1, NULL);
    if (st == TF_STATUS_OK)
        st = tf_loader_create_lm(&p->l, ctx, p->v, paths, 1, &o);
    if (st == TF_STATUS_OK)
        st = tf_loader_next(&b, p->l);
    if (st != TF_STATUS_OK) {
        free_pair(p);
        return st;
    }
    *made = p;
    return st;
}

static tf_status_t op_lm_vocab(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    pair_t *p = &pairs[0];
    memset(p, 0, sizeof *p);
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 2;
    o.bptt = 3;
    o.bptt_random = 1;
    tf_status_t st = tf_loader_create_lm_vocab(&p->l, &p->v, ctx, paths, 1, NULL, &o);
    *made = p;
    return st;
}

/* BPE learnt in the one pass, then the pre-tokens expanded to pieces. */
static tf_status_t op_lm_bpe(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    tf_vocab_opts_t vo;
    pair_t *p = &pairs[0];
    memset(p, 0, sizeof *p);
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 2;
    o.bptt = 3;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.kind = TF_VOCAB_KIND_BPE;
    vo.max_size = 300;
    tf_status_t st = tf_loader_create_lm_vocab(&p->l, &p->v, ctx, paths, 1, &vo, &o);
    *made = p;
    return st;
}

/* A BPE vocabulary read, then a text that needs normalising encoded with it. */
static tf_status_t op_bpe_roundtrip(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    const char *ser = "libtransfer-vocab 2\nkind bpe\nlowercase 1\nsplit_punct 1\nunicode 1\n"
                      "size 263\nmerges 4\n101 102\n260 103\n102 103\n101 262\n";
    const char *text = "ABC \xef\xac\x81ne \xc3\x89t\xc3\xa9 xbc";
    tf_vocab_t *v = NULL;
    int32_t ids[32];
    size_t n;
    (void)paths;
    tf_status_t st = tf_vocab_deserialize(&v, ctx, ser, strlen(ser));
    if (st == TF_STATUS_OK)
        st = tf_vocab_encode(v, text, strlen(text), ids, 32, &n);
    if (st != TF_STATUS_OK) {
        tf_vocab_free(v);
        return st;
    }
    *made = v;
    return st;
}

static tf_status_t op_labeled(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    tf_batch_t *b;
    pair_t *p = &pairs[0];
    tf_status_t st;
    memset(p, 0, sizeof *p);
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 2;
    o.bucket = 2;
    st = tf_vocab_build_files(&p->v, ctx, paths, 1, NULL);
    if (st == TF_STATUS_OK)
        st = tf_loader_create_labeled(&p->l, ctx, p->v, p_tsv, &o);
    if (st == TF_STATUS_OK)
        st = tf_loader_next(&b, p->l);
    if (st != TF_STATUS_OK) {
        free_pair(p);
        return st;
    }
    *made = p;
    return st;
}

static tf_status_t op_fixed_labels(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    pair_t *p = &pairs[0];
    const char *names[3] = {"neg", "pos", "other"};
    tf_status_t st;
    memset(p, 0, sizeof *p);
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.labels = names;
    o.num_labels = 3;
    st = tf_vocab_build_files(&p->v, ctx, paths, 1, NULL);
    if (st == TF_STATUS_OK)
        st = tf_loader_create_labeled(&p->l, ctx, p->v, p_tsv, &o);
    if (st != TF_STATUS_OK) {
        free_pair(p);
        return st;
    }
    *made = p;
    return st;
}

static tf_status_t op_tokens(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    static const int32_t ids[5] = {4, 5, 6, 7, 8};
    static const int64_t off[3] = {0, 2, 5};
    static const int32_t lab[2] = {0, 1};
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    (void)paths;
    tf_status_t st = tf_loader_create_tokens(&l, ctx, ids, off, 2, lab, NULL);
    if (st == TF_STATUS_OK)
        st = tf_loader_next(&b, l);
    if (st != TF_STATUS_OK) {
        tf_loader_free(l);
        return st;
    }
    *made = l;
    return st;
}

static tf_status_t op_numeric(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    tf_loader_opts_t o;
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    (void)paths;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.has_label = 1;
    o.num_features = 2;
    o.next_step = 1;
    tf_status_t st = tf_loader_create_numeric(&l, ctx, p_csv, &o);
    if (st == TF_STATUS_OK)
        st = tf_loader_next(&b, l);
    if (st != TF_STATUS_OK) {
        tf_loader_free(l);
        return st;
    }
    *made = l;
    return st;
}

static tf_status_t op_numeric_memory(tf_ctx_t *ctx, const char *const *paths, void **made)
{
    static const float v[6] = {1, 2, 3, 4, 5, 6};
    static const int64_t off[3] = {0, 2, 3};
    tf_loader_opts_t o;
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    (void)paths;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.num_features = 2;
    tf_status_t st = tf_loader_create_numeric_memory(&l, ctx, v, off, 2, NULL, &o);
    if (st == TF_STATUS_OK)
        st = tf_loader_next(&b, l);
    if (st != TF_STATUS_OK) {
        tf_loader_free(l);
        return st;
    }
    *made = l;
    return st;
}

static int setup_files(void **state)
{
    (void)state;
    tmp_open(&dir);
    char text[4000];
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "word%d and, more%d\n", i % 13, i % 7);
    snprintf(p_txt, sizeof p_txt, "%s", tmp_write(&dir, "c.txt", text, o));
    snprintf(p_tsv, sizeof p_tsv, "%s",
             tmp_write(&dir, "t.tsv", "pos\tword1 and\nneg\tmore2\nother\tword3 more3 and\n",
                       (size_t)-1));
    snprintf(p_csv, sizeof p_csv, "%s",
             tmp_write(&dir, "n.csv", "a,1,2,3,4\nb,5,6,7,8,9,10\n", (size_t)-1));
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    tmp_close(&dir);
    return 0;
}

static void test_oom_vocab_build_files(void **state)
{
    const char *paths[1] = {p_txt};
    (void)state;
    sweep(op_vocab_files, free_vocab, paths);
}

static void test_oom_vocab_deserialize_encode(void **state)
{
    (void)state;
    sweep(op_vocab_roundtrip, free_vocab, NULL);
}

static void test_oom_lm_loader(void **state)
{
    const char *paths[1] = {p_txt};
    (void)state;
    sweep(op_lm, free_pair, paths);
}

static void test_oom_lm_one_pass(void **state)
{
    const char *paths[1] = {p_txt};
    (void)state;
    sweep(op_lm_vocab, free_pair, paths);
}

static void test_oom_bpe(void **state)
{
    const char *paths[1] = {p_txt};
    (void)state;
    sweep(op_lm_bpe, free_pair, paths);
    sweep(op_bpe_roundtrip, free_vocab, paths);
}

static void test_oom_labeled_loader(void **state)
{
    const char *paths[1] = {p_txt};
    (void)state;
    sweep(op_labeled, free_pair, paths);
    sweep(op_fixed_labels, free_pair, paths);
}

static void test_oom_memory_loaders(void **state)
{
    (void)state;
    sweep(op_tokens, free_loader, NULL);
    sweep(op_numeric_memory, free_loader, NULL);
}

static void test_oom_numeric_csv(void **state)
{
    (void)state;
    sweep(op_numeric, free_loader, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oom_vocab_build_files, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_vocab_deserialize_encode, setup_files,
                                        teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_lm_loader, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_lm_one_pass, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_bpe, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_labeled_loader, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_memory_loaders, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(test_oom_numeric_csv, setup_files, teardown_files),
    };
    return TF_TEST_RUN(tests);
}
