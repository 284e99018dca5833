/* SPDX-License-Identifier: MIT */
/* The synthetic data and small models the training tests share (tf_train_setup.h). */
#include "tf_train_setup.h"

#include <stdio.h>
#include <stdlib.h>

const char *const tf_test_subj[5] = {"the cat", "a dog", "my bird", "the old man", "a small child"};
const char *const tf_test_verb[5] = {"sees", "likes", "chases", "finds", "wants"};
const char *const tf_test_obj[5] = {"the ball", "a red apple", "the big house", "some warm milk",
                                    "a toy"};

unsigned tf_test_rnd(unsigned *state, unsigned n)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) % n;
}

int tf_test_make_dir(char *dir, size_t size, const char *prefix)
{
    snprintf(dir, size, "/tmp/%s_XXXXXX", prefix);
    return mkdtemp(dir) == NULL ? -1 : 0;
}

void tf_test_write_grammar(unsigned seed, int corpus_lines, const char *corpus,
                           const char *train_tsv, const char *valid_tsv, const char *tri_tsv)
{
    unsigned s = seed;
    FILE *f = fopen(corpus, "w");
    assert_non_null(f);
    for (int i = 0; i < corpus_lines; i++) {
        unsigned a = tf_test_rnd(&s, 5), b = tf_test_rnd(&s, 5), c = tf_test_rnd(&s, 5);
        fprintf(f, "%s %s %s .\n", tf_test_subj[a], tf_test_verb[b], tf_test_obj[c]);
    }
    fclose(f);
    FILE *tr = fopen(train_tsv, "w"), *va = fopen(valid_tsv, "w"), *tri = fopen(tri_tsv, "w");
    assert_true(tr != NULL && va != NULL && tri != NULL);
    for (int i = 0; i < 400; i++) {
        unsigned a = tf_test_rnd(&s, 5), b = tf_test_rnd(&s, 5), c = tf_test_rnd(&s, 5);
        fprintf(i < 300 ? tr : va, "%s\t%s %s %s .\n", a < 3 ? "animal" : "person",
                tf_test_subj[a], tf_test_verb[b], tf_test_obj[c]);
        fprintf(tri, "%s\t%s %s %s .\n", b < 2 ? "like" : (b < 4 ? "hunt" : "want"),
                tf_test_subj[a], tf_test_verb[b], tf_test_obj[c]);
    }
    fclose(tr);
    fclose(va);
    fclose(tri);
}

tf_loader_t *tf_test_labeled(tf_ctx_t *ctx, tf_vocab_t *vocab, const char *path,
                             const tf_loader_t *fixed)
{
    tf_loader_opts_t lo;
    tf_loader_t *l;
    const char *names[8];
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    if (fixed != NULL)
        lo = tf_test_opts_with_labels(fixed, names, 16);
    assert_ok(tf_loader_create_labeled(&l, ctx, vocab, path, &lo));
    return l;
}

void tf_test_lm_opts(tf_loader_opts_t *lo)
{
    tf_loader_opts_init(lo, TF_LOADER_OPTS_VERSION);
    lo->batch_size = 8;
    lo->bptt = 12;
}

void tf_test_small_model_opts(tf_model_opts_t *mo, int32_t hidden)
{
    tf_model_opts_init(mo, TF_MODEL_OPTS_VERSION);
    mo->embedding_dim = 16;
    mo->hidden_size = hidden;
    mo->dropout = 0.1;
}

tf_model_t *tf_test_numeric_pretrain_finetune(tf_ctx_t *ctx, tf_loader_t *next, tf_loader_t *cls,
                                              int32_t features, int64_t first, int64_t total,
                                              double fall, int32_t epochs)
{
    tf_model_opts_t mo;
    tf_model_t *m;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = features;
    mo.embedding_dim = 8;
    mo.hidden_size = 16;
    mo.dropout = 0;
    assert_ok(tf_model_create(&m, ctx, NULL, &mo));
    tf_pretrain_opts_t po;
    tf_train_report_t before, after;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = first;
    tf_train_report_init(&before, TF_TRAIN_REPORT_VERSION);
    tf_train_report_init(&after, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_pretrain(m, next, next, &po, &before));
    po.max_steps = total;
    assert_ok(tf_pretrain(m, next, next, &po, &after));
    if (!(after.valid_metric < fall * before.valid_metric)) /* next-step MSE falls */
        fail_msg("next-step MSE %g after %lld steps, %g after %lld", before.valid_metric,
                 (long long)first, after.valid_metric, (long long)total);
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.strategy = TF_FINETUNE_FULL;
    fo.epochs = epochs;
    fo.lr = 1e-2;
    assert_ok(tf_finetune(m, cls, cls, &fo, NULL));
    tf_metrics_t mt;
    tf_metrics_init(&mt, TF_METRICS_VERSION);
    assert_ok(tf_evaluate(m, cls, &mt, NULL, 0));
    if (!(mt.accuracy > 0.9))
        fail_msg("accuracy %g after fine-tuning", mt.accuracy);
    return m;
}
