/* SPDX-License-Identifier: MIT */
/* The training API end to end on small synthetic data: pre-training lowers the language-model
 * loss, fine-tuning learns a task, checkpoints round-trip, resuming is bit-exact, cancelling and
 * divergence leave the model consistent, and every documented error is reported. */
#include "tf_train_setup.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char corpus[128], train_tsv[128], valid_tsv[128], tri_tsv[128];

static int setup_files(void **state)
{
    (void)state;
    if (tf_test_make_dir(dir, sizeof dir, "tf_train") != 0)
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    snprintf(valid_tsv, sizeof valid_tsv, "%s/valid.tsv", dir);
    snprintf(tri_tsv, sizeof tri_tsv, "%s/tri.tsv", dir);
    tf_test_write_grammar(12345, 1500, corpus, train_tsv, valid_tsv, tri_tsv);
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

/* A context, vocabulary, LM loader and small model. */
typedef struct {
    tf_ctx_t *ctx;
    tf_vocab_t *vocab;
    tf_loader_t *lm;
    tf_model_t *model;
} rig_t;

static void rig_open(rig_t *r, uint64_t seed)
{
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    tf_model_opts_t mo;
    const char *paths[1] = {corpus};
    r->ctx = tf_test_ctx_seeded(seed);
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    assert_ok(tf_vocab_build_files(&r->vocab, r->ctx, paths, 1, &vo));
    tf_test_lm_opts(&lo);
    assert_ok(tf_loader_create_lm(&r->lm, r->ctx, r->vocab, paths, 1, &lo));
    tf_test_small_model_opts(&mo, 24);
    assert_ok(tf_model_create(&r->model, r->ctx, r->vocab, &mo));
}

static void rig_close(rig_t *r)
{
    tf_model_free(r->model);
    tf_loader_free(r->lm);
    tf_vocab_free(r->vocab);
    assert_int_equal(tf_ctx_live_objects(r->ctx), 0);
    assert_int_equal(tf_ctx_allocated_bytes(r->ctx), 0);
    tf_ctx_free(r->ctx);
}

static void pre_opts(tf_pretrain_opts_t *po, int64_t steps)
{
    tf_optimizer_opts_t *oo = NULL;
    (void)oo;
    tf_pretrain_opts_init(po, TF_PRETRAIN_OPTS_VERSION);
    po->max_steps = steps;
}

static tf_loader_t *labeled(rig_t *r, const char *path, const tf_loader_t *fixed)
{
    return tf_test_labeled(r->ctx, r->vocab, path, fixed);
}

/* Every parameter of the model, concatenated (for exact comparisons). */
static float *weights_of(tf_model_t *m, int64_t *n)
{
    *n = tf_model_num_params(m);
    float *w = malloc((size_t)*n * sizeof *w);
    tf_module_t *enc = tf_model_encoder(m);
    int64_t at = 0;
    for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(NULL, &p, NULL, enc, i));
        memcpy(w + at, tf_tensor_data(p), tf_tensor_nbytes(p));
        at += tf_tensor_numel(p);
    }
    /* heads: not reachable through the public API one by one; the encoder is what pre-training
     * changes most, and the remaining floats stay zero-filled so the count matches */
    memset(w + at, 0, (size_t)(*n - at) * sizeof *w);
    return w;
}

static void test_pretrain_lowers_lm_loss(void **state)
{
    rig_t r;
    tf_pretrain_opts_t po;
    tf_train_report_t rep;
    double before, after;
    (void)state;
    rig_open(&r, 1);
    assert_ok(tf_lm_score_text(r.model, "the cat sees the ball .",
                               strlen("the cat sees the ball ."), &before));
    pre_opts(&po, 150);
    assert_ok(tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION));
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, &rep));
    assert_int_equal(rep.steps, 150);
    assert_ok(tf_lm_score_text(r.model, "the cat sees the ball .",
                               strlen("the cat sees the ball ."), &after));
    /* untrained: about ln(V); the grammar leaves about ln(5) per content word */
    assert_true(before > 2.5);
    assert_true(after < 0.6 * before);
    assert_true(isfinite(rep.train_loss) && rep.train_loss < before);
    rig_close(&r);
}

static void test_pretrain_validation_reports_perplexity(void **state)
{
    rig_t r;
    tf_pretrain_opts_t po;
    tf_train_report_t rep;
    tf_loader_t *valid;
    tf_loader_opts_t lo;
    const char *paths[1] = {corpus};
    (void)state;
    rig_open(&r, 2);
    tf_test_lm_opts(&lo);
    lo.shuffle = 0;
    assert_ok(tf_loader_create_lm(&valid, r.ctx, r.vocab, paths, 1, &lo));
    pre_opts(&po, 40);
    po.valid_every = 20;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_pretrain(r.model, r.lm, valid, &po, &rep));
    assert_true(isfinite(rep.valid_loss));
    assert_true(fabs(rep.valid_metric - exp(rep.valid_loss)) < 1e-6 * rep.valid_metric);
    assert_true(rep.valid_metric < tf_vocab_size(r.vocab)); /* better than uniform */
    tf_loader_free(valid);
    rig_close(&r);
}

typedef struct {
    int calls;
    int cancel_at;
    int64_t last_step;
    double last_lr;
} progress_log_t;

static int32_t on_progress(const tf_progress_t *p, void *payload)
{
    progress_log_t *log = payload;
    log->calls++;
    log->last_step = p->step;
    log->last_lr = p->lr;
    assert_true(p->struct_size >= sizeof *p);
    assert_true(p->epoch_fraction >= 0.0 && p->epoch_fraction <= 1.0);
    return log->cancel_at > 0 && p->step >= log->cancel_at;
}

static void test_pretrain_cancel_then_continue(void **state)
{
    rig_t r;
    tf_pretrain_opts_t po;
    tf_train_report_t rep;
    progress_log_t log = {0, 10, 0, 0};
    (void)state;
    rig_open(&r, 3);
    pre_opts(&po, 30);
    po.progress = on_progress;
    po.progress_payload = &log;
    po.progress_every = 5;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_status(tf_pretrain(r.model, r.lm, NULL, &po, &rep), TF_STATUS_ECANCELED);
    assert_int_equal(rep.steps, 10);
    assert_int_equal(log.calls, 2);
    log.cancel_at = 0;
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, &rep)); /* same options: continues */
    assert_int_equal(rep.steps, 30);
    assert_int_equal(log.last_step, 30);
    rig_close(&r);
}

/* Pre-train 2N steps in one go, or N, save model + state, reload everything, N more: the same
 * weights bit for bit. */
static void test_pretrain_resume_is_bit_exact(void **state)
{
    char model_path[160], state_path[160];
    tf_pretrain_opts_t po;
    int64_t n1, n2;
    float *w_once, *w_resumed;
    (void)state;
    snprintf(model_path, sizeof model_path, "%s/resume.safetensors", dir);
    snprintf(state_path, sizeof state_path, "%s/resume.state", dir);

    rig_t a;
    rig_open(&a, 7);
    pre_opts(&po, 24);
    assert_ok(tf_pretrain(a.model, a.lm, NULL, &po, NULL));
    w_once = weights_of(a.model, &n1);
    rig_close(&a);

    rig_t b;
    rig_open(&b, 7);
    po.stop_after_steps = 12;
    assert_ok(tf_pretrain(b.model, b.lm, NULL, &po, NULL));
    assert_ok(tf_model_save(b.model, model_path));
    assert_ok(tf_train_state_save(b.model, b.lm, state_path));
    rig_close(&b);

    rig_t c;
    rig_open(&c, 99); /* another seed: everything must come from the files */
    tf_model_free(c.model);
    assert_ok(tf_model_load(&c.model, c.ctx, model_path, 0));
    assert_ok(tf_train_state_load(c.model, c.lm, state_path));
    po.stop_after_steps = 0;
    assert_ok(tf_pretrain(c.model, c.lm, NULL, &po, NULL));
    w_resumed = weights_of(c.model, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(w_once, w_resumed, (size_t)n1 * sizeof(float));
    rig_close(&c);
    free(w_once);
    free(w_resumed);
}

static void test_pretrain_same_seed_same_weights(void **state)
{
    tf_pretrain_opts_t po;
    int64_t n1, n2;
    (void)state;
    rig_t a, b;
    rig_open(&a, 5);
    rig_open(&b, 5);
    pre_opts(&po, 15);
    assert_ok(tf_pretrain(a.model, a.lm, NULL, &po, NULL));
    assert_ok(tf_pretrain(b.model, b.lm, NULL, &po, NULL));
    float *wa = weights_of(a.model, &n1), *wb = weights_of(b.model, &n2);
    assert_memory_equal(wa, wb, (size_t)n1 * sizeof(float));
    free(wa);
    free(wb);
    rig_close(&a);
    rig_close(&b);
}

static void test_pretrain_divergence_keeps_finite_weights(void **state)
{
    rig_t r;
    tf_pretrain_opts_t po;
    tf_optimizer_opts_t oo;
    int64_t n;
    (void)state;
    rig_open(&r, 4);
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.algorithm = TF_OPTIMIZER_SGD;
    oo.lr = 1e30;
    pre_opts(&po, 20);
    po.optim = &oo;
    po.clip_norm = 0;
    assert_status(tf_pretrain(r.model, r.lm, NULL, &po, NULL), TF_STATUS_EDIVERGED);
    assert_non_null(strstr(tf_last_error_message(), "diverged"));
    float *w = weights_of(r.model, &n);
    for (int64_t i = 0; i < n; i++)
        assert_true(isfinite(w[i]));
    free(w);
    rig_close(&r);
}

static void finetune_and_check(rig_t *r, const char *train_path, const char *valid_path, int32_t strategy,
                               double min_acc)
{
    tf_loader_t *tr = labeled(r, train_path, NULL), *va = labeled(r, valid_path, tr);
    tf_finetune_opts_t fo;
    tf_train_report_t rep;
    tf_metrics_t mt;
    int64_t conf[9];
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.strategy = strategy;
    fo.epochs = 6;
    fo.lr = 1e-2;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_finetune(r->model, tr, va, &fo, &rep));
    int32_t C = tf_model_num_classes(r->model);
    assert_int_equal(C, tf_loader_num_labels(tr));
    assert_ok(tf_metrics_init(&mt, TF_METRICS_VERSION));
    assert_ok(tf_evaluate(r->model, va, &mt, conf, 9));
    if (mt.accuracy < min_acc)
        fail_msg("accuracy %.3f below %.3f (strategy %d)", mt.accuracy, min_acc, strategy);
    assert_true(fabs(mt.accuracy - rep.best_metric) < 1e-9); /* best weights restored */
    int64_t total = 0;
    for (int32_t i = 0; i < C * C; i++)
        total += conf[i];
    assert_int_equal(total, mt.num_sequences);
    tf_loader_free(tr);
    tf_loader_free(va);
}

static void test_finetune_binary_after_pretraining(void **state)
{
    rig_t r;
    tf_pretrain_opts_t po;
    (void)state;
    rig_open(&r, 11);
    pre_opts(&po, 60);
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, NULL));
    finetune_and_check(&r, train_tsv, valid_tsv, TF_FINETUNE_GRADUAL, 0.95);
    rig_close(&r);
}

static void test_finetune_three_classes_from_scratch(void **state)
{
    rig_t r;
    (void)state;
    rig_open(&r, 12);
    finetune_and_check(&r, tri_tsv, tri_tsv, TF_FINETUNE_FULL, 0.9);
    rig_close(&r);
}

static void test_finetune_frozen_backbone_is_unchanged(void **state)
{
    rig_t r;
    int64_t n;
    (void)state;
    rig_open(&r, 13);
    float *before = weights_of(r.model, &n);
    finetune_and_check(&r, train_tsv, valid_tsv, TF_FINETUNE_FROZEN, 0.0); /* random features */
    float *after = weights_of(r.model, &n);
    /* the encoder part of the snapshot is identical: only the head trained */
    int64_t enc = tf_module_param_numel(tf_model_encoder(r.model));
    assert_memory_equal(before, after, (size_t)enc * sizeof(float));
    free(before);
    free(after);
    rig_close(&r);
}

/* A run shorter than the slanted triangle's rising part (3 steps with cut fraction 0.1) still
 * trains, with one rising step. */
static void test_finetune_tiny_run_with_default_schedule(void **state)
{
    rig_t r;
    char path[160];
    (void)state;
    snprintf(path, sizeof path, "%s/tiny.tsv", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 6; i++)
        fprintf(f, "%s\tthe cat sees %s\n", i % 2 ? "yes" : "no", i % 2 ? "a toy" : "the ball");
    fclose(f);
    rig_open(&r, 14);
    tf_loader_t *tr = labeled(&r, path, NULL);
    tf_finetune_opts_t fo;
    tf_train_report_t rep;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 3;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 3);
    tf_loader_free(tr);
    rig_close(&r);
}

/* Fine-tuning's optimizer options: spelling out the defaults (AdamW with ULMFiT's betas, the
 * struct's rate, decay and schedule, a tenth of the steps warming up) trains the same weights bit
 * for bit as leaving them NULL; another beta2 trains other weights. */
static void test_finetune_optimizer_options(void **state)
{
    float *w[3];
    int64_t n = 0;
    (void)state;
    for (int k = 0; k < 3; k++) {
        rig_t r;
        tf_finetune_opts_t fo;
        tf_optimizer_opts_t oo;
        rig_open(&r, 21);
        tf_loader_t *tr = labeled(&r, train_tsv, NULL);
        tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
        fo.epochs = 2;
        fo.calibrate = 0;
        if (k > 0) {
            tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
            oo.algorithm = TF_OPTIMIZER_ADAMW;
            oo.lr = fo.lr;
            oo.weight_decay = fo.weight_decay;
            oo.beta1 = 0.8;
            oo.beta2 = k == 1 ? 0.99 : 0.999;
            oo.schedule = fo.schedule;
            oo.warmup_steps = fo.epochs * tf_loader_num_batches(tr) / 10;
            fo.optim = &oo;
        }
        assert_ok(tf_finetune(r.model, tr, NULL, &fo, NULL));
        w[k] = weights_of(r.model, &n);
        tf_loader_free(tr);
        rig_close(&r);
    }
    assert_memory_equal(w[0], w[1], (size_t)n * sizeof(float));
    assert_memory_not_equal(w[0], w[2], (size_t)n * sizeof(float));
    for (int k = 0; k < 3; k++)
        free(w[k]);
}

/* A phase continues only with the options it started with: another optimizer beta2 or head
 * dropout starts it anew (the step count restarts), options that only steer a call do not. */
static void test_changed_options_restart_the_phase(void **state)
{
    rig_t r;
    tf_finetune_opts_t fo;
    tf_pretrain_opts_t po;
    tf_optimizer_opts_t oo;
    tf_train_report_t rep;
    (void)state;
    rig_open(&r, 22);
    tf_loader_t *tr = labeled(&r, train_tsv, NULL);
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.beta2 = 0.99;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    pre_opts(&po, 20);
    po.stop_after_steps = 3;
    po.optim = &oo;
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, &rep));
    assert_int_equal(rep.steps, 3);
    po.progress_every = 7;
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, &rep));
    assert_int_equal(rep.steps, 6);
    oo.beta2 = 0.995;
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, &rep));
    assert_int_equal(rep.steps, 3);

    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 3;
    fo.calibrate = 0;
    fo.stop_after_steps = 2;
    fo.optim = &oo;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 2);
    fo.progress_every = 7;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 4);
    oo.beta2 = 0.99;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 2);
    fo.head_dropout = 0.2;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 2);
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, &rep));
    assert_int_equal(rep.steps, 4);
    tf_loader_free(tr);
    rig_close(&r);
}

static void test_checkpoint_roundtrip_same_predictions(void **state)
{
    rig_t r;
    char path[160];
    float p1[2], p2[2];
    tf_model_t *loaded, *backbone;
    (void)state;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rig_open(&r, 21);
    finetune_and_check(&r, train_tsv, valid_tsv, TF_FINETUNE_FULL, 0.9);
    assert_ok(tf_model_save(r.model, path));
    assert_ok(tf_predict_text(r.model, "a dog likes the ball .", strlen("a dog likes the ball ."),
                              p1, 2));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_int_equal(tf_model_num_classes(loaded), 2);
    assert_string_equal(tf_model_label_name(loaded, 0), tf_model_label_name(r.model, 0));
    assert_ok(
        tf_predict_text(loaded, "a dog likes the ball .", strlen("a dog likes the ball ."), p2, 2));
    assert_memory_equal(p1, p2, sizeof p1);
    assert_true(fabs(p1[0] + p1[1] - 1.0) < 1e-6);
    assert_true(p1[0] > 0.5); /* "animal" is label 0 */
    assert_ok(tf_model_load(&backbone, r.ctx, path, TF_MODEL_LOAD_BACKBONE));
    assert_int_equal(tf_model_num_classes(backbone), 0);
    assert_status(tf_predict_text(backbone, "a dog", strlen("a dog"), p2, 2), TF_STATUS_ESTATE);
    tf_model_free(backbone);
    tf_model_free(loaded);
    rig_close(&r);
}

/* Label names that JSON must escape (a quote, a backslash, a control character) or keep as they
 * are (UTF-8) come back from a saved model byte for byte. */
static void test_checkpoint_keeps_label_names_json_escapes(void **state)
{
    static const char *const names[3] = {"say \"hi\"", "back\\slash\x01", "caf\xc3\xa9"};
    rig_t r;
    char path[160], tsv[160];
    tf_model_t *loaded;
    tf_finetune_opts_t fo;
    (void)state;
    snprintf(path, sizeof path, "%s/labels.safetensors", dir);
    snprintf(tsv, sizeof tsv, "%s/labels.tsv", dir);
    FILE *f = fopen(tsv, "w");
    assert_non_null(f);
    for (int i = 0; i < 30; i++)
        fprintf(f, "%s\t%s %s %s .\n", names[i % 3], tf_test_subj[i % 5], tf_test_verb[i % 4],
                tf_test_obj[i % 3]);
    fclose(f);
    rig_open(&r, 23);
    tf_loader_t *tr = labeled(&r, tsv, NULL);
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, NULL));
    assert_ok(tf_model_save(r.model, path));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_int_equal(tf_model_num_classes(loaded), 3);
    int seen[3] = {0, 0, 0};
    for (int32_t c = 0; c < 3; c++) {
        const char *name = tf_model_label_name(loaded, c);
        assert_non_null(name);
        assert_string_equal(name, tf_model_label_name(r.model, c));
        for (int k = 0; k < 3; k++)
            seen[k] += strcmp(name, names[k]) == 0;
    }
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    tf_model_free(loaded);
    tf_loader_free(tr);
    rig_close(&r);
}

static void test_checkpoint_rejects_bad_files(void **state)
{
    rig_t r;
    char path[160], cmd[400];
    tf_model_t *m = (tf_model_t *)&r;
    (void)state;
    rig_open(&r, 22);
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    assert_status(tf_model_load(&m, r.ctx, path, 0), TF_STATUS_ENOTFOUND);
    assert_null(m);
    snprintf(path, sizeof path, "%s/flip.safetensors", dir);
    assert_ok(tf_model_save(r.model, path));
    /* flip one bit near the end of the payload: the CRC must catch it */
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());"
             "b[-5]^=4;open(p,'wb').write(b)\" %s", path);
    assert_int_equal(system(cmd), 0);
    assert_status(tf_model_load(&m, r.ctx, path, 0), TF_STATUS_EFORMAT);
    assert_status(tf_model_load(&m, r.ctx, path, 7), TF_STATUS_EINVAL);
    /* a training-state file is not a model */
    tf_pretrain_opts_t po;
    pre_opts(&po, 2);
    assert_ok(tf_pretrain(r.model, r.lm, NULL, &po, NULL));
    assert_ok(tf_train_state_save(r.model, r.lm, path));
    assert_status(tf_model_load(&m, r.ctx, path, 0), TF_STATUS_EFORMAT);
    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    assert_status(tf_model_save(r.model, path), TF_STATUS_EIO);
    rig_close(&r);
}

static void test_api_errors(void **state)
{
    rig_t r;
    tf_model_opts_t mo;
    tf_model_t *m;
    tf_pretrain_opts_t po;
    tf_finetune_opts_t fo;
    tf_metrics_t mt;
    float probs[1];
    (void)state;
    rig_open(&r, 31);
    tf_test_small_model_opts(&mo, 24);
    assert_status(tf_model_create(&m, r.ctx, NULL, &mo), TF_STATUS_EINVAL);
    mo.dropout = 1.0;
    assert_status(tf_model_create(&m, r.ctx, r.vocab, &mo), TF_STATUS_EINVAL);
    tf_test_small_model_opts(&mo, 24);
    mo.tie_weights = 1;
    assert_status(tf_model_create(&m, r.ctx, r.vocab, &mo), TF_STATUS_EINVAL);
    mo.version = 99;
    assert_status(tf_model_create(&m, r.ctx, r.vocab, &mo), TF_STATUS_EVERSION);
    tf_test_small_model_opts(&mo, 24);
    mo.bidirectional = 1;
    assert_ok(tf_model_create(&m, r.ctx, r.vocab, &mo));
    pre_opts(&po, 1);
    assert_status(tf_pretrain(m, r.lm, NULL, &po, NULL), TF_STATUS_EINVAL); /* no LM head */
    tf_model_free(m);
    po.epochs = 0;
    po.max_steps = 0;
    assert_status(tf_pretrain(r.model, r.lm, NULL, &po, NULL), TF_STATUS_EINVAL);
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    assert_status(tf_finetune(r.model, r.lm, NULL, &fo, NULL), TF_STATUS_EINVAL); /* no labels */
    fo.pooling = 8;
    tf_loader_t *tr = labeled(&r, train_tsv, NULL), *tri = labeled(&r, tri_tsv, NULL);
    assert_status(tf_finetune(r.model, tr, NULL, &fo, NULL), TF_STATUS_EINVAL);
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    assert_status(tf_finetune(r.model, tr, tri, &fo, NULL), TF_STATUS_EINVAL); /* labels differ */
    tf_metrics_init(&mt, TF_METRICS_VERSION);
    assert_status(tf_evaluate(r.model, tr, &mt, NULL, 0), TF_STATUS_ESTATE);
    assert_status(tf_predict_text(r.model, "the cat", strlen("the cat"), probs, 1),
                  TF_STATUS_ESTATE);
    assert_status(tf_train_state_save(r.model, NULL, "/tmp/x"), TF_STATUS_ESTATE);
    fo.epochs = 1;
    assert_ok(tf_finetune(r.model, tr, NULL, &fo, NULL));
    assert_status(tf_predict_text(r.model, "the cat", strlen("the cat"), probs, 1),
                  TF_STATUS_EBUFSIZE);
    assert_status(tf_predict_ids(r.model, (const int32_t[]){4}, 0, probs, 1), TF_STATUS_EINVAL);
    int64_t conf[2];
    assert_status(tf_evaluate(r.model, tr, &mt, conf, 2), TF_STATUS_EBUFSIZE);
    assert_status(tf_evaluate(r.model, tri, &mt, NULL, 0), TF_STATUS_EINVAL);
    assert_status(tf_predict_features(r.model, (const float[]){1}, 1, probs, 1), TF_STATUS_ESTATE);
    tf_loader_free(tr);
    tf_loader_free(tri);
    rig_close(&r);
}

static void test_numeric_pretrain_and_classify(void **state)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(41);
    enum { N = 120, L = 20 };
    static float values[N * L];
    static int64_t offsets[N + 1];
    static int32_t labels[N];
    /* class 0: slow sine, class 1: fast sine, random phase */
    unsigned s = 7;
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        s = s * 1103515245u + 12345u;
        double phase = (double)(s >> 16) / 65536.0 * 6.28;
        for (int t = 0; t < L; t++)
            values[i * L + t] = (float)sin(phase + t * (labels[i] ? 1.3 : 0.3));
        offsets[i + 1] = (i + 1) * L;
    }
    tf_loader_opts_t lo;
    tf_loader_t *next, *cls;
    const char *names[2] = {"slow", "fast"};
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    lo.next_step = 1;
    lo.standardize = 0;
    assert_ok(tf_loader_create_numeric_memory(&next, ctx, values, offsets, N, NULL, &lo));
    lo.next_step = 0;
    lo.labels = names;
    lo.num_labels = 2;
    assert_ok(tf_loader_create_numeric_memory(&cls, ctx, values, offsets, N, labels, &lo));
    tf_model_t *m = tf_test_numeric_pretrain_finetune(ctx, next, cls, 1, 5, 200, 0.5, 8);
    float probs[2];
    assert_ok(tf_predict_features(m, values + L, L, probs, 2)); /* sequence 1: fast */
    assert_true(probs[1] > 0.5);
    assert_status(tf_predict_text(m, "x", strlen("x"), probs, 2), TF_STATUS_ESTATE);
    tf_model_free(m);
    tf_loader_free(next);
    tf_loader_free(cls);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
}

/* Fail each allocation of creating a model and of one pre-training step in turn. */
static void test_oom_sweep_create_and_step(void **state)
{
    (void)state;
    rig_t base;
    rig_open(&base, 51);
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        tf_loader_t *lm;
        tf_loader_opts_t lo;
        const char *paths[1] = {corpus};
        tf_model_opts_t mo;
        tf_model_t *m = NULL;
        tf_test_lm_opts(&lo);
        assert_ok(tf_loader_create_lm(&lm, ctx, base.vocab, paths, 1, &lo));
        ta.fail_at = ta.attempts + n;
        tf_test_small_model_opts(&mo, 24);
        tf_status_t st = tf_model_create(&m, ctx, base.vocab, &mo);
        if (st == TF_STATUS_OK) {
            tf_pretrain_opts_t po;
            pre_opts(&po, 1);
            st = tf_pretrain(m, lm, NULL, &po, NULL);
        }
        tf_model_free(m);
        tf_loader_free(lm);
        if (tf_ctx_allocated_bytes(ctx) != 0)
            fail_msg("failing allocation %ld (%s) leaked %llu bytes", n, tf_status_str(st),
                     (unsigned long long)tf_ctx_allocated_bytes(ctx));
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
        if (st == TF_STATUS_OK)
            break;
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_true(n < 10000);
    }
    rig_close(&base);
}

/* Fail each allocation of a fine-tuning step, a save and a load in turn: ENOMEM, nothing leaked,
 * the model still usable and the saved file intact. */
static void test_oom_sweep_finetune_save_load(void **state)
{
    char path[160];
    (void)state;
    snprintf(path, sizeof path, "%s/oom.safetensors", dir);
    for (int op = 0; op < 3; op++)
        for (long n = 1;; n++) {
            tf_test_alloc_t ta;
            tf_test_alloc_init(&ta);
            tf_ctx_t *ctx = tf_test_ctx_new(&ta);
            const char *paths[1] = {corpus};
            tf_vocab_t *vocab;
            tf_loader_t *tr;
            tf_loader_opts_t lo;
            tf_model_opts_t mo;
            tf_model_t *m, *loaded = NULL;
            tf_finetune_opts_t fo;
            assert_ok(tf_vocab_build_files(&vocab, ctx, paths, 1, NULL));
            tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
            lo.batch_size = 16;
            assert_ok(tf_loader_create_labeled(&tr, ctx, vocab, train_tsv, &lo));
            tf_test_small_model_opts(&mo, 24);
            assert_ok(tf_model_create(&m, ctx, vocab, &mo));
            tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
            fo.epochs = 1;
            fo.stop_after_steps = 1;
            if (op > 0) {
                assert_ok(tf_finetune(m, tr, NULL, &fo, NULL));
                assert_ok(tf_model_save(m, path));
            }
            ta.fail_at = ta.attempts + n;
            tf_status_t st = op == 0 ? tf_finetune(m, tr, NULL, &fo, NULL)
                             : op == 1 ? tf_model_save(m, path)
                                       : tf_model_load(&loaded, ctx, path, 0);
            ta.fail_at = 0;
            if (st != TF_STATUS_OK) {
                assert_int_equal(st, TF_STATUS_ENOMEM);
                assert_null(loaded);
                /* the model and the file survive the failure */
                if (op > 0)
                    assert_ok(tf_model_load(&loaded, ctx, path, 0));
                else
                    assert_ok(tf_finetune(m, tr, NULL, &fo, NULL));
            }
            tf_model_free(loaded);
            tf_model_free(m);
            tf_loader_free(tr);
            tf_vocab_free(vocab);
            if (tf_ctx_allocated_bytes(ctx) != 0)
                fail_msg("op %d, failing allocation %ld leaked %llu bytes", op, n,
                         (unsigned long long)tf_ctx_allocated_bytes(ctx));
            tf_ctx_free(ctx);
            assert_int_equal(ta.allocs, ta.frees);
            if (st == TF_STATUS_OK) {
                assert_true(n > 3); /* every operation allocates: the sweep did fail some */
                break;
            }
            assert_true(n < 20000);
        }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pretrain_lowers_lm_loss),
        cmocka_unit_test(test_pretrain_validation_reports_perplexity),
        cmocka_unit_test(test_pretrain_cancel_then_continue),
        cmocka_unit_test(test_pretrain_resume_is_bit_exact),
        cmocka_unit_test(test_pretrain_same_seed_same_weights),
        cmocka_unit_test(test_pretrain_divergence_keeps_finite_weights),
        cmocka_unit_test(test_finetune_binary_after_pretraining),
        cmocka_unit_test(test_finetune_three_classes_from_scratch),
        cmocka_unit_test(test_finetune_frozen_backbone_is_unchanged),
        cmocka_unit_test(test_finetune_tiny_run_with_default_schedule),
        cmocka_unit_test(test_finetune_optimizer_options),
        cmocka_unit_test(test_changed_options_restart_the_phase),
        cmocka_unit_test(test_checkpoint_roundtrip_same_predictions),
        cmocka_unit_test(test_checkpoint_keeps_label_names_json_escapes),
        cmocka_unit_test(test_checkpoint_rejects_bad_files),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_numeric_pretrain_and_classify),
        cmocka_unit_test(test_oom_sweep_create_and_step),
        cmocka_unit_test(test_oom_sweep_finetune_save_load),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
