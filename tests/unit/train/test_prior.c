/* SPDX-License-Identifier: MIT */
/* Decisions under a new class prior: temperature scaling, the EM estimate of a new prior from
 * unlabelled texts, and the decision's trip through a checkpoint. Every expected value is
 * recomputed here from the model's own predicted probabilities, or is the known prior that
 * generated the synthetic data. */
#include "tf_test.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char train_tsv[128], valid_tsv[128], shifted_txt[128], same_txt[128];

/* Two classes that overlap: each cue word is more likely under one class, so posteriors are
 * graded, as EM needs. "pos" is 20% of the training data and 70% of the shifted set. */
static const char *const cue_pos[] = {"alpha", "gamma", "delta"};
static const char *const cue_neg[] = {"beta", "omega", "sigma"};
static const char *const filler[] = {"the", "some", "one", "two", "red", "blue", "old", "new"};

#define NSHIFT 600
#define TRAIN_POS 0.2
#define SHIFT_POS 0.7
static char shifted[NSHIFT][160];

static unsigned rnd_state = 4242;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

/* 6 to 9 words; each word is a cue of the text's own class with probability 0.4, of the other
 * class with 0.08, else filler. */
static void make_text(int pos, char *text, size_t cap)
{
    size_t o = 0;
    int words = 6 + (int)rnd(4);
    for (int w = 0; w < words; w++) {
        unsigned r = rnd(100);
        const char *word = r < 40 ? (pos ? cue_pos : cue_neg)[rnd(3)]
                           : r < 48 ? (pos ? cue_neg : cue_pos)[rnd(3)]
                                    : filler[rnd(8)];
        o += (size_t)snprintf(text + o, cap - o, "%s%s", o ? " " : "", word);
    }
}

static void write_labelled(const char *path, int n, double pos_rate)
{
    char text[160];
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++) {
        int pos = rnd(1000) < (unsigned)(pos_rate * 1000);
        make_text(pos, text, sizeof text);
        fprintf(f, "%s\t%s\n", pos ? "pos" : "neg", text);
    }
    fclose(f);
}

static int setup_files(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_prior_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    snprintf(valid_tsv, sizeof valid_tsv, "%s/valid.tsv", dir);
    snprintf(shifted_txt, sizeof shifted_txt, "%s/shifted.txt", dir);
    snprintf(same_txt, sizeof same_txt, "%s/same.txt", dir);
    write_labelled(train_tsv, 1500, TRAIN_POS);
    write_labelled(valid_tsv, 400, TRAIN_POS);
    FILE *sh = fopen(shifted_txt, "w"), *sa = fopen(same_txt, "w");
    if (sh == NULL || sa == NULL)
        return -1;
    for (int i = 0; i < NSHIFT; i++) {
        make_text(i < (int)(SHIFT_POS * NSHIFT), shifted[i], sizeof shifted[i]);
        fprintf(sh, "%s\n", shifted[i]);
        char text[160];
        make_text(i < (int)(TRAIN_POS * NSHIFT), text, sizeof text);
        fprintf(sa, "%s\n", text);
    }
    fclose(sh);
    fclose(sa);
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

typedef struct {
    tf_ctx_t *ctx;
    tf_model_t *model;
    tf_vocab_t *vocab; /* borrowed from the model */
    tf_loader_t *train, *valid;
} rig_t;

/* A small classifier trained from scratch on the 20%-positive data, calibrated on valid.tsv. */
static void rig_open(rig_t *r, int32_t class_weight)
{
    tf_model_opts_t mo;
    tf_finetune_opts_t fo;
    tf_loader_opts_t lo;
    tf_vocab_t *built;
    const char *paths[1] = {train_tsv}, *names[2];
    r->ctx = tf_test_ctx_seeded(3);
    assert_ok(tf_vocab_build_files(&built, r->ctx, paths, 1, NULL));
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 12;
    mo.hidden_size = 16;
    assert_ok(tf_model_create(&r->model, r->ctx, built, &mo));
    tf_vocab_free(built);
    r->vocab = tf_model_vocab(r->model);
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 32;
    assert_ok(tf_loader_create_labeled(&r->train, r->ctx, r->vocab, train_tsv, &lo));
    lo = tf_test_opts_with_labels(r->train, names, 64);
    assert_ok(tf_loader_create_labeled(&r->valid, r->ctx, r->vocab, valid_tsv, &lo));
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 10;
    fo.class_weight = class_weight;
    assert_ok(tf_finetune(r->model, r->train, r->valid, &fo, NULL));
    assert_string_equal(tf_model_label_name(r->model, 1), "pos");
}

static void rig_close(rig_t *r)
{
    tf_loader_free(r->train);
    tf_loader_free(r->valid);
    tf_model_free(r->model);
    assert_int_equal(tf_ctx_live_objects(r->ctx), 0);
    tf_ctx_free(r->ctx);
}

/* An unlabelled loader over the lines of a file, encoded with the model's vocabulary. */
typedef struct {
    int32_t ids[NSHIFT * 16];
    int64_t off[NSHIFT + 1];
    int64_t n;
} texts_t;

static tf_loader_t *unlabelled(rig_t *r, const char *path, texts_t *t)
{
    char line[256];
    size_t got;
    tf_loader_t *l;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    t->n = 0;
    t->off[0] = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        assert_ok(tf_vocab_encode(r->vocab, line, strcspn(line, "\n"), t->ids + t->off[t->n], 16, &got));
        t->off[t->n + 1] = t->off[t->n] + (int64_t)got;
        t->n++;
    }
    fclose(f);
    assert_ok(tf_loader_create_tokens(&l, r->ctx, t->ids, t->off, t->n, NULL, NULL));
    return l;
}

/* p(pos) of each shifted text as the model decides now. */
static void predict_shifted(rig_t *r, double *p)
{
    for (int i = 0; i < NSHIFT; i++) {
        float q[2];
        assert_ok(tf_predict_text(r->model, shifted[i], strlen(shifted[i]), q, 2));
        p[i] = q[1];
    }
}

/* Saerens et al.'s EM written out here in doubles: posteriors p under training prior t. */
static double reference_em(const double *p, int n, double t)
{
    double pi = t;
    for (int it = 0; it < 1000; it++) {
        double next = 0;
        for (int i = 0; i < n; i++) {
            double yes = p[i] * pi / t, no = (1 - p[i]) * (1 - pi) / (1 - t);
            next += yes / (yes + no);
        }
        next /= n;
        if (fabs(next - pi) < 1e-9)
            return next;
        pi = next;
    }
    return pi;
}

/* The estimate matches an EM computed here from the model's probabilities, lands near the
 * prior that generated the texts, and moves the decisions by Bayes' rule. */
static void test_prior_em_estimates_the_shifted_prior(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    double before[NSHIFT], after[NSHIFT], train[2], target[2];
    int32_t iterations = 0;
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TRAIN, train, 2));
    assert_true(fabs(train[1] - TRAIN_POS) < 0.05);
    predict_shifted(&r, before);
    double want = reference_em(before, NSHIFT, train[1]);

    tf_loader_t *l = unlabelled(&r, shifted_txt, t);
    assert_ok(tf_adapt_prior(r.model, l, NULL, &iterations));
    assert_true(iterations > 1);
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, target, 2));
    assert_true(fabs(target[0] + target[1] - 1.0) < 1e-12);
    if (fabs(target[1] - want) > 1e-4)
        fail_msg("EM estimate %.6f, the reference EM on the predictions %.6f", target[1], want);
    if (fabs(target[1] - SHIFT_POS) > 0.1)
        fail_msg("EM estimate %.3f is far from the true prior %.2f", target[1], SHIFT_POS);

    /* Bayes' rule: odds times (new prior odds / training prior odds). */
    predict_shifted(&r, after);
    double k = (target[1] / target[0]) / (train[1] / train[0]);
    int moved = 0;
    for (int i = 0; i < NSHIFT; i++) {
        double odds = before[i] / (1 - before[i]) * k;
        assert_true(fabs(after[i] - odds / (1 + odds)) < 1e-5);
        moved += (before[i] > 0.5) != (after[i] > 0.5);
    }
    assert_true(moved > 0);

    /* Clearing the prior decides as trained again. */
    assert_ok(tf_model_set_prior(r.model, NULL, 0));
    predict_shifted(&r, after);
    for (int i = 0; i < NSHIFT; i++)
        assert_true(fabs(after[i] - before[i]) < 1e-6);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* Texts from the training prior give back (about) the training prior. */
static void test_prior_em_keeps_an_unshifted_prior(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    double target[2];
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    tf_loader_t *l = unlabelled(&r, same_txt, t);
    assert_ok(tf_adapt_prior(r.model, l, NULL, NULL));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, target, 2));
    if (fabs(target[1] - TRAIN_POS) > 0.08)
        fail_msg("estimate %.3f on unshifted texts, true %.2f", target[1], TRAIN_POS);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* With balanced weights the model decides for an even prior, and EM still starts from (and
 * corrects with) the training frequencies: the estimate stays near the truth. */
static void test_prior_em_after_balanced_weights(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    double mp[2], target[2];
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_BALANCED);
    assert_ok(tf_model_prior(r.model, TF_PRIOR_MODEL, mp, 2));
    assert_true(fabs(mp[0] - 0.5) < 1e-9 && fabs(mp[1] - 0.5) < 1e-9);
    /* EM works on the probabilities for the training prior: decide for it and recompute. */
    double train[2], q[NSHIFT];
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TRAIN, train, 2));
    assert_ok(tf_model_set_prior(r.model, train, 2));
    predict_shifted(&r, q);
    double want = reference_em(q, NSHIFT, train[1]);
    assert_ok(tf_model_set_prior(r.model, NULL, 0));
    tf_loader_t *l = unlabelled(&r, shifted_txt, t);
    assert_ok(tf_adapt_prior(r.model, l, NULL, NULL));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, target, 2));
    if (fabs(target[1] - SHIFT_POS) > 0.1)
        fail_msg("EM estimate %.3f after balanced weights, true %.2f", target[1], SHIFT_POS);
    if (fabs(target[1] - want) > 1e-4)
        fail_msg("EM estimate %.6f, the reference EM on the predictions %.6f", target[1], want);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* Cross-entropy of valid.tsv against smoothed targets ((n + 1) / (n + 2) for the true class of
 * n rows) when the decision logits are scaled by s. */
static double valid_nll(rig_t *r, double s)
{
    char line[256];
    double sum = 0, n = 0;
    FILE *f = fopen(valid_tsv, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL)
        n += 1;
    rewind(f);
    double hit = (n + 1) / (n + 2);
    while (fgets(line, sizeof line, f) != NULL) {
        float q[2];
        char *tab = strchr(line, '\t');
        double t = strncmp(line, "pos", 3) == 0 ? hit : 1 - hit;
        assert_ok(tf_predict_text(r->model, tab + 1, strcspn(tab + 1, "\n"), q, 2));
        double a = s * log((double)q[1] / (double)q[0]);
        sum += t * log1p(exp(-a)) + (1 - t) * log1p(exp(a));
    }
    fclose(f);
    return sum / n;
}

/* The fitted temperature is a minimum of the validation cross-entropy: scaling the logits
 * either way makes it worse. Calibrating again on the same data finds the same temperature. */
static void test_prior_temperature_minimises_validation_nll(void **state)
{
    rig_t r;
    double T = 0, again = 0;
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    T = tf_model_temperature(r.model);
    assert_true(T >= 0.05 && T <= 20.0);
    double at = valid_nll(&r, 1.0);
    assert_true(at <= valid_nll(&r, 1.1) + 1e-7);
    assert_true(at <= valid_nll(&r, 1.0 / 1.1) + 1e-7);
    assert_ok(tf_model_calibrate(r.model, r.valid, &again));
    assert_true(fabs(again - T) < 1e-4 * T);
    /* Temperature and training prior together leave the decisions on valid.tsv where an
     * uncalibrated model put them: the accuracy is that of the raw logits' signs. */
    tf_metrics_t mt;
    assert_ok(tf_metrics_init(&mt, TF_METRICS_VERSION));
    assert_ok(tf_evaluate(r.model, r.valid, &mt, NULL, 0));
    assert_true(mt.accuracy > 0.75);
    rig_close(&r);
}

/* Temperature and priors come back from a checkpoint exactly, with the same predictions. */
static void test_prior_checkpoint_round_trip(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    char path[160];
    tf_model_t *loaded;
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_BALANCED);
    tf_loader_t *l = unlabelled(&r, shifted_txt, t);
    assert_ok(tf_adapt_prior(r.model, l, NULL, NULL));
    snprintf(path, sizeof path, "%s/adapted.safetensors", dir);
    assert_ok(tf_model_save(r.model, path));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_true(tf_model_temperature(loaded) == tf_model_temperature(r.model));
    for (int32_t kind = TF_PRIOR_TRAIN; kind <= TF_PRIOR_TARGET; kind++) {
        double a[2], b[2];
        assert_ok(tf_model_prior(r.model, kind, a, 2));
        assert_ok(tf_model_prior(loaded, kind, b, 2));
        assert_memory_equal(a, b, sizeof a);
    }
    for (int i = 0; i < 20; i++) {
        float p1[2], p2[2];
        assert_ok(tf_predict_text(r.model, shifted[i], strlen(shifted[i]), p1, 2));
        assert_ok(tf_predict_text(loaded, shifted[i], strlen(shifted[i]), p2, 2));
        assert_memory_equal(p1, p2, sizeof p1);
    }
    /* A backbone load drops the head and its decision with it. */
    tf_model_free(loaded);
    assert_ok(tf_model_load(&loaded, r.ctx, path, TF_MODEL_LOAD_BACKBONE));
    double p[2];
    assert_status(tf_model_prior(loaded, TF_PRIOR_TARGET, p, 2), TF_STATUS_ESTATE);
    assert_true(tf_model_temperature(loaded) == 1.0);
    tf_model_free(loaded);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* Bad decision metadata is a format error naming the field; a file from before decisions were
 * recorded loads and decides as trained. */
static void test_prior_hostile_decision_metadata(void **state)
{
    rig_t r;
    char good[160], bad[160];
    tf_model_t *m = NULL;
    static const char *const cases[][2] = {
        {"not json", "decision metadata"},
        {"[1, 2]", "decision metadata"},
        {"{\"prior\":[0.5,0.5]}", "temperature"},
        {"{\"temperature\":-1}", "temperature"},
        {"{\"temperature\":1e300}", "temperature"},
        {"{\"temperature\":1,\"train_prior\":[0.5]}", "train_prior"},
        {"{\"temperature\":1,\"train_prior\":[0.5,1.0],\"model_prior\":[0.5,0.5]}", "train_prior"},
        {"{\"temperature\":1,\"train_prior\":[0.5,\"x\"],\"model_prior\":[0.5,0.5]}", "train_prior"},
        {"{\"temperature\":1,\"prior\":[0.5,0.5]}", "without"},
        {"{\"temperature\":1,\"train_prior\":[0.2,0.8]}", "without"},
    };
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    assert_ok(tf_model_save(r.model, good));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tf_test_rewrite_meta(r.ctx, good, bad, "libtransfer.decision", cases[i][0]);
        assert_status(tf_model_load(&m, r.ctx, bad, 0), TF_STATUS_EFORMAT);
        assert_null(m);
        if (strstr(tf_last_error_message(), cases[i][1]) == NULL)
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i][1], tf_last_error_message());
    }
    tf_test_rewrite_meta(r.ctx, good, bad, "libtransfer.decision", NULL);
    assert_ok(tf_model_load(&m, r.ctx, bad, 0));
    double p[2];
    assert_status(tf_model_prior(m, TF_PRIOR_TRAIN, p, 2), TF_STATUS_ESTATE);
    assert_status(tf_model_set_prior(m, (const double[]){0.5, 0.5}, 2), TF_STATUS_ESTATE);
    assert_true(tf_model_temperature(m) == 1.0);
    tf_model_free(m);
    rig_close(&r);
}

/* Argument checks of the prior functions. */
static void test_prior_bad_arguments(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    double p[2];
    tf_adapt_opts_t ao;
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    assert_status(tf_model_prior(r.model, 0, p, 2), TF_STATUS_EINVAL);
    assert_status(tf_model_prior(r.model, 4, p, 2), TF_STATUS_EINVAL);
    assert_status(tf_model_prior(r.model, TF_PRIOR_TRAIN, p, 1), TF_STATUS_EBUFSIZE);
    assert_status(tf_model_set_prior(r.model, (const double[]){0.5, 0.5}, 1), TF_STATUS_EINVAL);
    assert_status(tf_model_set_prior(r.model, (const double[]){0.0, 1.0}, 2), TF_STATUS_EINVAL);
    assert_status(tf_model_set_prior(r.model, (const double[]){0.5, NAN}, 2), TF_STATUS_EINVAL);
    assert_status(tf_model_set_prior(r.model, (const double[]){0.6, 0.6}, 2), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "sum"));
    assert_ok(tf_model_set_prior(r.model, (const double[]){0.25, 0.75}, 2));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, p, 2));
    assert_true(p[0] == 0.25 && p[1] == 0.75);
    tf_loader_t *l = unlabelled(&r, shifted_txt, t);
    assert_ok(tf_adapt_opts_init(&ao, TF_ADAPT_OPTS_VERSION));
    ao.max_iter = 0;
    assert_status(tf_adapt_prior(r.model, l, &ao, NULL), TF_STATUS_EINVAL);
    assert_ok(tf_adapt_opts_init(&ao, TF_ADAPT_OPTS_VERSION));
    ao.tol = -1;
    assert_status(tf_adapt_prior(r.model, l, &ao, NULL), TF_STATUS_EINVAL);
    assert_ok(tf_adapt_opts_init(&ao, TF_ADAPT_OPTS_VERSION));
    ao.version = 99;
    assert_status(tf_adapt_prior(r.model, l, &ao, NULL), TF_STATUS_EVERSION);
    assert_status(tf_adapt_opts_init(&ao, 2), TF_STATUS_EVERSION);
    /* One iteration at most: it stops there. */
    int32_t it = 0;
    assert_ok(tf_adapt_opts_init(&ao, TF_ADAPT_OPTS_VERSION));
    ao.max_iter = 1;
    assert_ok(tf_adapt_prior(r.model, l, &ao, &it));
    assert_int_equal(it, 1);
    /* The model's labels must match for calibration. */
    tf_loader_t *other;
    tf_loader_opts_t lo;
    const char *names[2] = {"neg", "other"};
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.labels = names;
    lo.num_labels = 2;
    lo.skip_bad_lines = 1;
    assert_ok(tf_loader_create_labeled(&other, r.ctx, r.vocab, valid_tsv, &lo));
    assert_status(tf_model_calibrate(r.model, other, NULL), TF_STATUS_EINVAL);
    assert_status(tf_model_calibrate(r.model, l, NULL), TF_STATUS_EINVAL); /* no labels */
    tf_loader_free(other);
    /* A model without a task head has nothing to decide. */
    tf_model_t *bare;
    assert_ok(tf_model_create(&bare, r.ctx, r.vocab, NULL));
    assert_status(tf_adapt_prior(bare, l, NULL, NULL), TF_STATUS_ESTATE);
    assert_status(tf_model_calibrate(bare, r.valid, NULL), TF_STATUS_ESTATE);
    assert_status(tf_model_prior(bare, TF_PRIOR_TRAIN, p, 2), TF_STATUS_ESTATE);
    assert_status(tf_model_set_prior(bare, NULL, 0), TF_STATUS_ESTATE);
    assert_true(tf_model_temperature(bare) == 1.0);
    assert_true(tf_model_temperature(NULL) == 0.0);
    tf_model_free(bare);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* A model whose logits are not finite fails with EDIVERGED and keeps its decision. */
static void test_prior_non_finite_logits_leave_the_decision(void **state)
{
    rig_t r;
    texts_t *t = test_malloc(sizeof *t);
    double before[2], after[2], T;
    tf_tensor_t *w;
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    tf_loader_t *l = unlabelled(&r, shifted_txt, t);
    assert_ok(tf_model_set_prior(r.model, (const double[]){0.4, 0.6}, 2));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, before, 2));
    T = tf_model_temperature(r.model);
    assert_ok(tf_module_param_at(NULL, &w, NULL, tf_model_encoder(r.model), 0));
    float *data = tf_tensor_data(w);
    for (int64_t i = 0; i < tf_tensor_numel(w); i++)
        data[i] = NAN;
    assert_status(tf_adapt_prior(r.model, l, NULL, NULL), TF_STATUS_EDIVERGED);
    assert_non_null(strstr(tf_last_error_message(), "non-finite"));
    assert_status(tf_model_calibrate(r.model, r.valid, NULL), TF_STATUS_EDIVERGED);
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, after, 2));
    assert_memory_equal(before, after, sizeof before);
    assert_true(tf_model_temperature(r.model) == T);
    tf_loader_free(l);
    test_free(t);
    rig_close(&r);
}

/* Fail each allocation of a calibration, then of a prior adaptation, in turn: ENOMEM, nothing
 * leaked, the temperature and the prior as they were. */
static void test_prior_oom_sweep(void **state)
{
    rig_t r;
    char path[160];
    texts_t *t = test_malloc(sizeof *t);
    (void)state;
    rig_open(&r, TF_CLASS_WEIGHT_NONE);
    snprintf(path, sizeof path, "%s/oom.safetensors", dir);
    assert_ok(tf_model_save(r.model, path));
    rig_close(&r);
    for (int adapt = 0; adapt < 2; adapt++)
        for (long n = 1;; n++) {
            tf_test_alloc_t ta;
            rig_t o;
            const char *names[2];
            tf_loader_opts_t lo;
            double before[2], after[2];
            tf_loader_t *l;
            tf_test_alloc_init(&ta);
            memset(&o, 0, sizeof o);
            o.ctx = tf_test_ctx_new(&ta);
            assert_ok(tf_model_load(&o.model, o.ctx, path, 0));
            o.vocab = tf_model_vocab(o.model);
            if (adapt) {
                l = unlabelled(&o, shifted_txt, t);
            } else {
                tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
                names[0] = tf_model_label_name(o.model, 0);
                names[1] = tf_model_label_name(o.model, 1);
                lo.labels = names;
                lo.num_labels = 2;
                assert_ok(tf_loader_create_labeled(&l, o.ctx, o.vocab, valid_tsv, &lo));
            }
            double T = tf_model_temperature(o.model);
            assert_ok(tf_model_prior(o.model, TF_PRIOR_TARGET, before, 2));
            ta.fail_at = ta.attempts + n;
            tf_status_t st = adapt ? tf_adapt_prior(o.model, l, NULL, NULL)
                                   : tf_model_calibrate(o.model, l, NULL);
            ta.fail_at = 0;
            if (st != TF_STATUS_OK) {
                assert_int_equal(st, TF_STATUS_ENOMEM);
                assert_true(tf_model_temperature(o.model) == T);
                assert_ok(tf_model_prior(o.model, TF_PRIOR_TARGET, after, 2));
                assert_memory_equal(before, after, sizeof before);
            }
            tf_loader_free(l);
            tf_model_free(o.model);
            if (tf_ctx_allocated_bytes(o.ctx) != 0)
                fail_msg("%s: failing allocation %ld leaked %llu bytes", adapt ? "adapt" : "calibrate",
                         n, (unsigned long long)tf_ctx_allocated_bytes(o.ctx));
            tf_ctx_free(o.ctx);
            assert_int_equal(ta.allocs, ta.frees);
            if (st == TF_STATUS_OK) {
                assert_true(n > 2); /* the call allocates: the sweep did fail some */
                break;
            }
            assert_true(n < 20000);
        }
    test_free(t);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prior_em_estimates_the_shifted_prior),
        cmocka_unit_test(test_prior_em_keeps_an_unshifted_prior),
        cmocka_unit_test(test_prior_em_after_balanced_weights),
        cmocka_unit_test(test_prior_temperature_minimises_validation_nll),
        cmocka_unit_test(test_prior_checkpoint_round_trip),
        cmocka_unit_test(test_prior_hostile_decision_metadata),
        cmocka_unit_test(test_prior_bad_arguments),
        cmocka_unit_test(test_prior_non_finite_logits_leave_the_decision),
        cmocka_unit_test(test_prior_oom_sweep),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
