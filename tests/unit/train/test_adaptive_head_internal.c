/* SPDX-License-Identifier: MIT */
/* A model with an adaptive softmax LM head (tf_model_opts_t version 3): its parameters carry
 * torch.nn.AdaptiveLogSoftmaxWithLoss's names under "lm_head.", pre-training lowers the loss and
 * reports the exact perplexity, tf_lm_score_text agrees with the head's full log-probabilities,
 * checkpoints record the head and rebuild it, fine-tuning ignores it, and bad options are
 * refused. */
#include "tf_test.h"
#include "train/train_internal.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64], corpus[128], train_tsv[128];

static const char *subj[] = {"the cat", "a dog", "my bird", "the old man", "a small child"};
static const char *verb[] = {"sees", "likes", "chases", "finds", "wants"};
static const char *obj[] = {"the ball", "a red apple", "the big house", "some warm milk", "a toy"};

static int setup_files(void **state)
{
    unsigned s = 99;
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_asoft_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    FILE *f = fopen(corpus, "w"), *t = fopen(train_tsv, "w");
    for (int i = 0; i < 1200; i++) {
        unsigned r[3];
        for (int j = 0; j < 3; j++) {
            s = s * 1103515245u + 12345u;
            r[j] = (s >> 16) % 5;
        }
        fprintf(f, "%s %s %s .\n", subj[r[0]], verb[r[1]], obj[r[2]]);
        if (i < 200)
            fprintf(t, "%s\t%s %s %s .\n", r[0] < 3 ? "animal" : "person", subj[r[0]], verb[r[1]], obj[r[2]]);
    }
    fclose(f);
    fclose(t);
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

typedef struct {
    tf_ctx_t *ctx;
    tf_vocab_t *vocab;
    tf_loader_t *lm;
} rig_t;

static void rig_open(rig_t *r)
{
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    const char *paths[1] = {corpus};
    r->ctx = tf_test_ctx_seeded(5);
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    assert_ok(tf_vocab_build_files(&r->vocab, r->ctx, paths, 1, &vo));
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 8;
    lo.bptt = 12;
    assert_ok(tf_loader_create_lm(&r->lm, r->ctx, r->vocab, paths, 1, &lo));
}

static void rig_close(rig_t *r)
{
    tf_loader_free(r->lm);
    tf_vocab_free(r->vocab);
    assert_int_equal(tf_ctx_live_objects(r->ctx), 0);
    tf_ctx_free(r->ctx);
}

static void adaptive_opts(tf_model_opts_t *mo)
{
    tf_model_opts_init(mo, TF_MODEL_OPTS_VERSION);
    mo->embedding_dim = 16;
    mo->hidden_size = 24;
    mo->dropout = 0.1;
    mo->softmax = TF_MODEL_SOFTMAX_ADAPTIVE;
    mo->cutoffs[0] = 8;
    mo->cutoffs[1] = 16;
}

static const char probe[] = "the cat sees the ball .";

/* -mean log p(next word) from the head's full log-probabilities over the encoder's outputs. */
static double score_by_log_prob(tf_model_t *m, const char *text)
{
    int32_t ids[64];
    size_t n = 0;
    assert_ok(tf_vocab_encode(tf_model_vocab(m), text, strlen(text), ids, 64, &n));
    tf_tensor_t *in, *y, *lp;
    assert_ok(tf_tensor_create(&in, m->ctx, TF_DTYPE_I32, (int64_t[]){(int64_t)n - 1, 1}, 2));
    assert_ok(tf_tensor_copy_from(in, ids, (size_t)(n - 1) * 4));
    tf__model_set_training(m, 0);
    assert_ok(tf_module_forward(&y, m->encoder, in, NULL));
    assert_ok(tf_module_forward(&lp, m->lm_head, y, NULL));
    tf__model_set_training(m, 1);
    const int64_t V = tf_vocab_size(tf_model_vocab(m));
    const float *p = tf_tensor_data(lp);
    double s = 0;
    for (int64_t r = 0; r + 1 < (int64_t)n; r++) {
        double z = 0; /* each row is a distribution */
        for (int64_t w = 0; w < V; w++)
            z += exp((double)p[r * V + w]);
        assert_true(fabs(z - 1.0) < 1e-4);
        s -= p[r * V + ids[r + 1]];
    }
    tf_tensor_free(in);
    return s / (double)(n - 1);
}

static void test_names_train_score_save_load(void **state)
{
    rig_t r;
    tf_model_opts_t mo;
    tf_model_t *m, *loaded;
    (void)state;
    rig_open(&r);
    adaptive_opts(&mo);
    assert_ok(tf_model_create(&m, r.ctx, r.vocab, &mo));
    const int32_t V = tf_vocab_size(r.vocab);
    assert_true(V > 17);
    static const char *names[] = {"lm_head.head.weight", "lm_head.tail.0.0.weight", "lm_head.tail.0.1.weight",
                                  "lm_head.tail.1.0.weight", "lm_head.tail.1.1.weight"};
    /* PyTorch's shapes: head (8 + 2, 24), tail i: (24 / 4^(i+1), 24), (size_i, that). */
    const int64_t shapes[5][2] = {{10, 24}, {6, 24}, {8, 6}, {1, 24}, {V - 16, 1}};
    assert_int_equal(tf_module_kind(m->lm_head), TF_MODULE_ADAPTIVE_SOFTMAX);
    assert_int_equal(tf_module_num_params(m->lm_head), 5);
    for (uint32_t i = 0; i < 5; i++) {
        const char *name;
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(&name, &p, NULL, m->lm_head, i));
        assert_string_equal(name, names[i]);
        assert_int_equal(tf_tensor_dim(p, 0), shapes[i][0]);
        assert_int_equal(tf_tensor_dim(p, 1), shapes[i][1]);
    }
    double before, after;
    assert_ok(tf_lm_score_text(m, probe, strlen(probe), &before));
    assert_true(fabs(before - score_by_log_prob(m, probe)) < 1e-4 * before);
    tf_pretrain_opts_t po;
    tf_train_report_t rep;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 120;
    po.valid_every = 60;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_pretrain(m, r.lm, r.lm, &po, &rep));
    assert_true(isfinite(rep.valid_loss));
    assert_true(fabs(rep.valid_metric - exp(rep.valid_loss)) < 1e-6 * rep.valid_metric);
    assert_ok(tf_lm_score_text(m, probe, strlen(probe), &after));
    assert_true(after < 0.6 * before);
    assert_true(fabs(after - score_by_log_prob(m, probe)) < 1e-4 * after);
    /* Saved and loaded: the same head, the same score. */
    char path[128];
    double again;
    snprintf(path, sizeof path, "%s/adaptive.safetensors", dir);
    assert_ok(tf_model_save(m, path));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_int_equal(loaded->cfg.softmax, TF_MODEL_SOFTMAX_ADAPTIVE);
    assert_int_equal(loaded->cfg.cutoffs[0], 8);
    assert_int_equal(loaded->cfg.cutoffs[1], 16);
    assert_int_equal(loaded->cfg.cutoffs[2], 0);
    assert_true(loaded->cfg.div_value == 4.0);
    assert_int_equal(tf_model_num_params(loaded), tf_model_num_params(m));
    assert_ok(tf_lm_score_text(loaded, probe, strlen(probe), &again));
    assert_true(again == after);
    /* Fine-tuning works on it and never uses the LM head: its gradients stay zero. */
    tf_loader_opts_t lo;
    tf_loader_t *cls;
    tf_finetune_opts_t fo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    assert_ok(tf_loader_create_labeled(&cls, r.ctx, tf_model_vocab(loaded), train_tsv, &lo));
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_ok(tf_module_zero_grad(loaded->lm_head));
    assert_ok(tf_finetune(loaded, cls, NULL, &fo, NULL));
    assert_int_equal(tf_model_num_classes(loaded), 2);
    for (uint32_t i = 0; i < tf_module_num_params(loaded->lm_head); i++) {
        tf_tensor_t *g;
        assert_ok(tf_module_param_at(NULL, NULL, &g, loaded->lm_head, i));
        for (int64_t j = 0; j < tf_tensor_numel(g); j++)
            assert_true(((const float *)tf_tensor_data(g))[j] == 0.0f);
    }
    tf_loader_free(cls);
    tf_model_free(loaded);
    tf_model_free(m);
    rig_close(&r);
}

/* A model of the full softmax writes no "softmax" key, and a file without it loads as full (as
 * files from before the adaptive softmax do); a file whose cut-offs do not fit is refused. */
static void test_checkpoint_softmax_key(void **state)
{
    rig_t r;
    tf_model_opts_t mo;
    tf_model_t *m, *loaded;
    char path[128];
    (void)state;
    rig_open(&r);
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 8;
    assert_ok(tf_model_create(&m, r.ctx, r.vocab, &mo));
    snprintf(path, sizeof path, "%s/full.safetensors", dir);
    assert_ok(tf_model_save(m, path));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_int_equal(loaded->cfg.softmax, TF_MODEL_SOFTMAX_FULL);
    assert_int_equal(tf_module_kind(loaded->lm_head), TF_MODULE_LINEAR);
    tf_model_free(loaded);
    tf_model_free(m);
    /* An adaptive model whose file claims a cut-off at the vocabulary size. */
    adaptive_opts(&mo);
    assert_ok(tf_model_create(&m, r.ctx, r.vocab, &mo));
    m->cfg.cutoffs[1] = tf_vocab_size(r.vocab);
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    assert_ok(tf_model_save(m, path));
    assert_status(tf_model_load(&loaded, r.ctx, path, 0), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "below the vocabulary"));
    tf_model_free(m);
    rig_close(&r);
}

static void refused(rig_t *r, const tf_model_opts_t *mo, const char *needle)
{
    tf_model_t *m = (tf_model_t *)r;
    assert_status(tf_model_create(&m, r->ctx, r->vocab, mo), TF_STATUS_EINVAL);
    assert_null(m);
    if (strstr(tf_last_error_message(), needle) == NULL)
        fail_msg("message '%s' lacks '%s'", tf_last_error_message(), needle);
}

static void test_bad_options(void **state)
{
    rig_t r;
    tf_model_opts_t mo;
    (void)state;
    rig_open(&r);
    adaptive_opts(&mo);
    mo.cutoffs[1] = 5;
    refused(&r, &mo, "strictly increasing");
    adaptive_opts(&mo);
    mo.cutoffs[1] = tf_vocab_size(r.vocab);
    refused(&r, &mo, "below the vocabulary");
    adaptive_opts(&mo);
    mo.cutoffs[0] = 0;
    refused(&r, &mo, "end at the first 0");
    adaptive_opts(&mo);
    mo.cutoffs[0] = mo.cutoffs[1] = 0;
    refused(&r, &mo, "at least one cut-off");
    adaptive_opts(&mo);
    mo.tie_weights = 1;
    mo.embedding_dim = 24;
    refused(&r, &mo, "tie_weights");
    adaptive_opts(&mo);
    mo.div_value = 0.0;
    refused(&r, &mo, "div_value");
    adaptive_opts(&mo);
    mo.div_value = 30.0; /* 24 / 30 < 1: no features for the first cluster */
    refused(&r, &mo, "cluster 0");
    adaptive_opts(&mo);
    mo.softmax = 2;
    refused(&r, &mo, "tf_model_softmax_t");
    adaptive_opts(&mo);
    mo.softmax = TF_MODEL_SOFTMAX_FULL;
    refused(&r, &mo, "full softmax takes none");
    rig_close(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_train_score_save_load),
        cmocka_unit_test(test_checkpoint_softmax_key),
        cmocka_unit_test(test_bad_options),
    };
    if (setup_files(NULL) != 0)
        return 1;
    int rc = TF_TEST_RUN(tests);
    teardown_files(NULL);
    return rc;
}
