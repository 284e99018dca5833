/* SPDX-License-Identifier: MIT */
/* tf_loader_set_shard: loaders made alike and sharded 0..n-1 return disjoint parts of every
 * batch that together are exactly the unsharded batch (language-model streams, sequences with
 * their lengths and labels, an empty part of a batch smaller than the shard count), in the same
 * order, and count the epoch's position as the whole loader does. */
#include "data_util.h"

static tf_loader_t *lm(tf_ctx_t *ctx, tf_vocab_t *v, const char *path, int32_t index, int32_t count)
{
    tf_loader_t *l;
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 5;
    o.bptt = 4;
    o.bptt_random = 1;
    o.seed = 2;
    assert_ok(tf_loader_create_lm(&l, ctx, v, &path, 1, &o));
    assert_ok(tf_loader_set_shard(l, index, count));
    return l;
}

static void test_lm_streams_split(void **state)
{
    (void)state;
    tmpdir_t d;
    tmp_open(&d);
    char text[4096] = "";
    for (int i = 0; i < 300; i++) {
        char w[16];
        snprintf(w, sizeof w, "w%d%s", i % 97, i % 11 == 10 ? "\n" : " ");
        strcat(text, w);
    }
    const char *path = tmp_write(&d, "c.txt", text, (size_t)-1);
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_vocab_t *v;
    assert_ok(tf_vocab_build_files(&v, ctx, &path, 1, NULL));
    for (int32_t n = 2; n <= 5; n++) {
        tf_loader_t *whole = lm(ctx, v, path, 0, 1), *part[5];
        for (int32_t i = 0; i < n; i++)
            part[i] = lm(ctx, v, path, i, n);
        int64_t batches = 0;
        for (;;) {
            tf_batch_t *w, *p;
            assert_ok(tf_loader_next(&w, whole));
            int32_t col = 0;
            for (int32_t i = 0; i < n; i++) {
                assert_ok(tf_loader_next(&p, part[i]));
                assert_true((p == NULL) == (w == NULL));
                if (w == NULL)
                    continue;
                int32_t T = tf_batch_steps(w), B = tf_batch_size(w), b = tf_batch_size(p);
                assert_int_equal(tf_batch_steps(p), T);
                assert_int_equal(b, B * (i + 1) / n - B * i / n);
                const int32_t *wt = tf_tensor_data(tf_batch_tokens(w)), *pt = tf_tensor_data(tf_batch_tokens(p));
                const int32_t *wg = tf_tensor_data(tf_batch_targets(w)), *pg = tf_tensor_data(tf_batch_targets(p));
                for (int32_t t = 0; t < T; t++)
                    for (int32_t k = 0; k < b; k++) {
                        assert_int_equal(pt[t * b + k], wt[t * B + col + k]);
                        assert_int_equal(pg[t * b + k], wg[t * B + col + k]);
                    }
                col += b;
                assert_int_equal(tf_loader_items_read(part[i]), tf_loader_items_read(whole));
            }
            if (w == NULL)
                break;
            assert_int_equal(col, tf_batch_size(w)); /* every stream once */
            batches++;
        }
        assert_int_equal(batches, tf_loader_num_batches(whole));
        for (int32_t i = 0; i < n; i++)
            tf_loader_free(part[i]);
        tf_loader_free(whole);
    }
    tf_vocab_free(v);
    tf_ctx_free(ctx);
    tmp_close(&d);
}

enum { NSEQ = 11 };

/* Sequence i has length 1 + i % 4 and starts with token 100 + i, which identifies it. */
static tf_loader_t *seqs(tf_ctx_t *ctx, int32_t index, int32_t count)
{
    static int32_t ids[NSEQ * 4], labels[NSEQ];
    static int64_t offs[NSEQ + 1];
    int64_t k = 0;
    for (int i = 0; i < NSEQ; i++) {
        offs[i] = k;
        for (int t = 0; t < 1 + i % 4; t++)
            ids[k++] = t == 0 ? 100 + i : 5;
        labels[i] = i % 3;
    }
    offs[NSEQ] = k;
    tf_loader_t *l;
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 4;
    o.seed = 9;
    assert_ok(tf_loader_create_tokens(&l, ctx, ids, offs, NSEQ, labels, &o));
    assert_ok(tf_loader_set_shard(l, index, count));
    return l;
}

static void test_sequences_split(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    for (int32_t n = 2; n <= 4; n++) {
        tf_loader_t *whole = seqs(ctx, 0, 1), *part[4];
        for (int32_t i = 0; i < n; i++)
            part[i] = seqs(ctx, i, n);
        int seen[NSEQ] = {0}, empty = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            for (;;) {
                tf_batch_t *w, *p;
                assert_ok(tf_loader_next(&w, whole));
                int32_t col = 0;
                for (int32_t i = 0; i < n; i++) {
                    assert_ok(tf_loader_next(&p, part[i]));
                    assert_true((p == NULL) == (w == NULL));
                    if (w == NULL)
                        continue;
                    int32_t B = tf_batch_size(w), b = tf_batch_size(p), T = tf_batch_steps(w);
                    assert_int_equal(b, B * (i + 1) / n - B * i / n);
                    empty += b == 0;
                    const int32_t *wt = tf_tensor_data(tf_batch_tokens(w));
                    const int32_t *pt = tf_tensor_data(tf_batch_tokens(p));
                    const int32_t *wl = tf_tensor_data(tf_batch_lengths(w));
                    const int32_t *pl = tf_tensor_data(tf_batch_lengths(p));
                    const int32_t *wy = tf_tensor_data(tf_batch_labels(w));
                    const int32_t *py = tf_tensor_data(tf_batch_labels(p));
                    for (int32_t k = 0; k < b; k++) {
                        assert_int_equal(pt[k], wt[col + k]); /* the same sequence, in order */
                        assert_int_equal(pl[k], wl[col + k]);
                        assert_int_equal(py[k], wy[col + k]);
                        assert_true(pl[k] <= T);
                        if (epoch == 0)
                            seen[pt[k] - 100]++;
                    }
                    col += b;
                    assert_int_equal(tf_loader_items_read(part[i]), tf_loader_items_read(whole));
                }
                if (w == NULL)
                    break;
                assert_int_equal(col, tf_batch_size(w));
            }
            assert_ok(tf_loader_reset(whole));
            for (int32_t i = 0; i < n; i++)
                assert_ok(tf_loader_reset(part[i]));
        }
        for (int s = 0; s < NSEQ; s++)
            assert_int_equal(seen[s], 1); /* each sequence in exactly one shard per epoch */
        if (n == 4)
            assert_true(empty > 0); /* the last batch of 3 leaves one shard empty */
        for (int32_t i = 0; i < n; i++)
            tf_loader_free(part[i]);
        tf_loader_free(whole);
    }
    tf_ctx_free(ctx);
}

static void test_bad_shards(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_loader_t *l = seqs(ctx, 0, 1);
    assert_status(tf_loader_set_shard(NULL, 0, 1), TF_STATUS_EINVAL);
    assert_status(tf_loader_set_shard(l, 0, 0), TF_STATUS_EINVAL);
    assert_status(tf_loader_set_shard(l, 2, 2), TF_STATUS_EINVAL);
    assert_status(tf_loader_set_shard(l, -1, 2), TF_STATUS_EINVAL);
    assert_status(tf_loader_set_shard(l, 0, 5), TF_STATUS_EINVAL); /* above the batch size */
    assert_non_null(strstr(tf_last_error_message(), "batch size"));
    /* A refused shard leaves the loader whole. */
    tf_batch_t *b;
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_size(b), 4);
    tf_loader_free(l);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lm_streams_split),
        cmocka_unit_test(test_sequences_split),
        cmocka_unit_test(test_bad_shards),
    };
    return TF_TEST_RUN(tests);
}
