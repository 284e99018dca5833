/* SPDX-License-Identifier: MIT */
/* Class weights in tf_finetune end to end: on an imbalanced task whose best unweighted decision
 * misses part of the rare class, balanced weights find more of it; the recorded priors follow
 * the training counts; bad weights and options are refused with a message; tf_loader_label_counts
 * counts what was written; and a caller compiled against version 1 of tf_finetune_opts_t (no
 * class weights) is served without overruns, as class_weight NONE with calibration. */
#include "tf_test.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* ---- the imbalanced task ----------------------------------------------------------------------
 * One-token sequences of four tokens; per class, how many sequences hold each token. Rare is 1
 * in 5. Token 2 is rare 24 times in 68: unweighted, "common" is its best decision (p(rare) 0.35);
 * weighted as balanced (common 400 / (2 * 320) = 0.625, rare 400 / (2 * 80) = 2.5: both exact
 * in binary) it becomes "rare" (0.69). Token 3 is rare either way. So the rare class's recall on
 * the training data is 48/80 without weights and 72/80 with them. */
#define NSEQ 400
#define NTOK 4
static const int32_t per_token[2][NTOK] = {{134, 134, 44, 8}, {4, 4, 24, 48}};
static const char *const class_names[2] = {"common", "rare"};
#define TOKEN0 (TF_VOCAB_NUM_SPECIALS + 10) /* ordinary byte tokens of a byte vocabulary */

static int32_t ids[NSEQ], labels[NSEQ];
static int64_t offsets[NSEQ + 1];
static int64_t class_count[2];

static unsigned rnd_state;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

/* The table's sequences in a shuffled order, counting the classes as they are written. */
static void make_task(void)
{
    int64_t n = 0;
    rnd_state = 4242; /* every rig sees the same order (the loaders share these arrays) */
    for (int c = 0; c < 2; c++)
        for (int t = 0; t < NTOK; t++)
            for (int k = 0; k < per_token[c][t]; k++, n++) {
                ids[n] = TOKEN0 + t;
                labels[n] = c;
            }
    assert_int_equal(n, NSEQ);
    for (int64_t i = NSEQ - 1; i > 0; i--) {
        int64_t j = rnd((unsigned)i + 1);
        int32_t a = ids[i], b = labels[i];
        ids[i] = ids[j], labels[i] = labels[j];
        ids[j] = a, labels[j] = b;
    }
    class_count[0] = class_count[1] = 0;
    for (int64_t i = 0; i <= NSEQ; i++)
        offsets[i] = i;
    for (int64_t i = 0; i < NSEQ; i++)
        class_count[labels[i]]++;
}

typedef struct {
    tf_ctx_t *ctx;
    tf_vocab_t *vocab;
    tf_model_t *model;
    tf_loader_t *train, *valid;
} rig_t;

static void task_loader_opts(tf_loader_opts_t *lo)
{
    tf_loader_opts_init(lo, TF_LOADER_OPTS_VERSION);
    lo->batch_size = 32;
    lo->num_labels = 2;
    lo->labels = class_names;
}

static void rig_open(rig_t *r)
{
    tf_vocab_opts_t vo;
    tf_model_opts_t mo;
    tf_loader_opts_t lo;
    make_task();
    r->ctx = tf_test_ctx_seeded(17);
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.kind = TF_VOCAB_KIND_BYTE;
    assert_ok(tf_vocab_build_files(&r->vocab, r->ctx, NULL, 0, &vo));
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 8;
    mo.dropout = 0.0;
    assert_ok(tf_model_create(&r->model, r->ctx, r->vocab, &mo));
    task_loader_opts(&lo);
    assert_ok(tf_loader_create_tokens(&r->train, r->ctx, ids, offsets, NSEQ, labels, &lo));
    lo.shuffle = 0;
    assert_ok(tf_loader_create_tokens(&r->valid, r->ctx, ids, offsets, NSEQ, labels, &lo));
}

static void rig_close(rig_t *r)
{
    tf_model_free(r->model);
    tf_loader_free(r->train);
    tf_loader_free(r->valid);
    tf_vocab_free(r->vocab);
    assert_int_equal(tf_ctx_live_objects(r->ctx), 0);
    tf_ctx_free(r->ctx);
}

static void task_finetune_opts(tf_finetune_opts_t *fo, int32_t class_weight)
{
    tf_finetune_opts_init(fo, TF_FINETUNE_OPTS_VERSION);
    fo->epochs = 20;
    fo->head_dropout = 0.0;
    fo->class_weight = class_weight;
}

/* Fraction of the rare class's training sequences predicted rare. */
static double rare_recall(rig_t *r)
{
    tf_metrics_t met;
    int64_t conf[4];
    tf_metrics_init(&met, TF_METRICS_VERSION);
    assert_ok(tf_evaluate(r->model, r->valid, &met, conf, 4));
    assert_int_equal(conf[2] + conf[3], class_count[1]);
    return (double)conf[3] / (double)(conf[2] + conf[3]);
}

static void assert_near(const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: %.17g, expected %.17g (tolerance %g)", what, got, want, tol);
}

/* p(rare) of each token, the model's decisions. */
static void token_probs(rig_t *r, float p[NTOK])
{
    float probs[2];
    for (int t = 0; t < NTOK; t++) {
        int32_t id = TOKEN0 + t;
        assert_ok(tf_predict_ids(r->model, &id, 1, probs, 2));
        p[t] = probs[1];
    }
}

static void test_balanced_weights_raise_rare_recall(void **state)
{
    (void)state;
    rig_t plain, bal;
    tf_finetune_opts_t fo;
    float p_plain[NTOK], p_bal[NTOK];
    rig_open(&plain);
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_NONE);
    assert_ok(tf_finetune(plain.model, plain.train, NULL, &fo, NULL));
    rig_open(&bal);
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_BALANCED);
    assert_ok(tf_finetune(bal.model, bal.train, NULL, &fo, NULL));
    double r_plain = rare_recall(&plain), r_bal = rare_recall(&bal);
    token_probs(&plain, p_plain);
    token_probs(&bal, p_bal);
    print_message("p(rare | token) without weights %.3f %.3f %.3f %.3f, balanced %.3f %.3f %.3f "
                  "%.3f; rare recall %.3f vs %.3f\n", p_plain[0], p_plain[1], p_plain[2],
                  p_plain[3], p_bal[0], p_bal[1], p_bal[2], p_bal[3], r_plain, r_bal);
    /* The decisions the table calls for (see its comment), and the recalls they give. */
    assert_true(p_plain[2] < 0.5f && p_plain[3] > 0.5f);
    assert_true(p_bal[2] > 0.5f && p_bal[3] > 0.5f);
    assert_true(p_bal[0] < 0.5f && p_bal[1] < 0.5f);
    assert_near("rare recall without weights", r_plain, 48.0 / 80.0, 1e-12);
    assert_near("rare recall with balanced weights", r_bal, 72.0 / 80.0, 1e-12);
    rig_close(&plain);
    rig_close(&bal);
}

/* The training prior is the class frequency n_c / n; the model prior (what the loss saw) is the
 * same without weights and uniform with balanced ones; the target prior is the model's until
 * set. */
static void check_priors(int32_t class_weight)
{
    rig_t r;
    tf_finetune_opts_t fo;
    double train[3] = {-1, -1, -1}, model[2], target[2];
    rig_open(&r);
    task_finetune_opts(&fo, class_weight);
    fo.epochs = 1;
    assert_ok(tf_finetune(r.model, r.train, NULL, &fo, NULL));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TRAIN, train, 3));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_MODEL, model, 2));
    assert_ok(tf_model_prior(r.model, TF_PRIOR_TARGET, target, 2));
    for (int c = 0; c < 2; c++) {
        double freq = (double)class_count[c] / NSEQ;
        assert_near("training prior", train[c], freq, 1e-15);
        assert_near("model prior", model[c], class_weight == TF_CLASS_WEIGHT_NONE ? freq : 0.5,
                    1e-15);
        assert_true(target[c] == model[c]);
    }
    assert_true(train[2] == -1); /* nothing past the classes */
    assert_status(tf_model_prior(r.model, TF_PRIOR_TRAIN, train, 1), TF_STATUS_EBUFSIZE);
    rig_close(&r);
}

static void test_priors_without_weights(void **state)
{
    (void)state;
    check_priors(TF_CLASS_WEIGHT_NONE);
}

static void test_priors_with_balanced_weights(void **state)
{
    (void)state;
    check_priors(TF_CLASS_WEIGHT_BALANCED);
}

/* A third class without any sequence counts half a sequence, so its priors stay above 0:
 * training (n_0, n_1, 0.5) / (n + 0.5); balanced weights leave it at weight 1, so the loss saw
 * (n / 3, n / 3, 0.5) / (2 n / 3 + 0.5). */
static void test_priors_of_a_class_never_seen(void **state)
{
    (void)state;
    static const char *const three[3] = {"common", "rare", "unseen"};
    for (int32_t cw = TF_CLASS_WEIGHT_NONE; cw <= TF_CLASS_WEIGHT_BALANCED; cw++) {
        rig_t r;
        tf_loader_t *l;
        tf_loader_opts_t lo;
        tf_finetune_opts_t fo;
        double train[3], model[3];
        rig_open(&r);
        task_loader_opts(&lo);
        lo.num_labels = 3;
        lo.labels = three;
        assert_ok(tf_loader_create_tokens(&l, r.ctx, ids, offsets, NSEQ, labels, &lo));
        task_finetune_opts(&fo, cw);
        fo.epochs = 1;
        assert_ok(tf_finetune(r.model, l, NULL, &fo, NULL));
        assert_int_equal(tf_model_num_classes(r.model), 3);
        assert_ok(tf_model_prior(r.model, TF_PRIOR_TRAIN, train, 3));
        assert_ok(tf_model_prior(r.model, TF_PRIOR_MODEL, model, 3));
        for (int c = 0; c < 3; c++) {
            double nc = c < 2 ? (double)class_count[c] : 0.5;
            double seen = cw == TF_CLASS_WEIGHT_NONE ? nc : (c < 2 ? NSEQ / 3.0 : 0.5);
            double seen_all = cw == TF_CLASS_WEIGHT_NONE ? NSEQ + 0.5 : 2.0 * NSEQ / 3.0 + 0.5;
            assert_near("training prior", train[c], nc / (NSEQ + 0.5), 1e-15);
            assert_near("model prior", model[c], seen / seen_all, 1e-15);
        }
        tf_loader_free(l);
        rig_close(&r);
    }
}

/* Given weights equal to the balanced ones (exact in float) train the very same model. */
static void test_given_weights_as_balanced(void **state)
{
    (void)state;
    rig_t bal, given;
    tf_finetune_opts_t fo;
    float p_bal[NTOK], p_given[NTOK];
    rig_open(&bal);
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_BALANCED);
    fo.epochs = 3;
    assert_ok(tf_finetune(bal.model, bal.train, NULL, &fo, NULL));
    rig_open(&given);
    const float w[2] = {(float)NSEQ / (2.0f * (float)class_count[0]),
                        (float)NSEQ / (2.0f * (float)class_count[1])};
    assert_true(w[0] == 0.625f && w[1] == 2.5f);
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_GIVEN);
    fo.epochs = 3;
    fo.class_weights = w;
    fo.num_class_weights = 2;
    assert_ok(tf_finetune(given.model, given.train, NULL, &fo, NULL));
    token_probs(&bal, p_bal);
    token_probs(&given, p_given);
    assert_memory_equal(p_bal, p_given, sizeof p_bal);
    rig_close(&bal);
    rig_close(&given);
}

static void assert_einval_naming(tf_status_t st, const char *word)
{
    assert_status(st, TF_STATUS_EINVAL);
    const char *msg = tf_last_error_message();
    if (msg == NULL || strstr(msg, word) == NULL)
        fail_msg("the message '%s' does not name '%s'", msg ? msg : "(null)", word);
}

static void test_bad_weights_and_options(void **state)
{
    (void)state;
    rig_t r;
    tf_finetune_opts_t fo;
    rig_open(&r);
    const float two[2] = {1.0f, 2.0f}, three[3] = {1.0f, 2.0f, 3.0f};
    const float zero[2] = {1.0f, 0.0f}, neg[2] = {-1.0f, 2.0f};
    const float nan_w[2] = {NAN, 1.0f}, inf_w[2] = {1.0f, INFINITY};
    struct {
        const float *w;
        int64_t n;
        const char *word;
    } bad[] = {{three, 3, "num_class_weights"}, {two, 1, "num_class_weights"},
               {NULL, 2, "class_weights"},      {zero, 2, "class weight 1"},
               {neg, 2, "class weight 0"},      {nan_w, 2, "class weight 0"},
               {inf_w, 2, "class weight 1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        task_finetune_opts(&fo, TF_CLASS_WEIGHT_GIVEN);
        fo.class_weights = bad[i].w;
        fo.num_class_weights = bad[i].n;
        assert_einval_naming(tf_finetune(r.model, r.train, NULL, &fo, NULL), bad[i].word);
    }
    task_finetune_opts(&fo, 0);
    assert_einval_naming(tf_finetune(r.model, r.train, NULL, &fo, NULL), "class_weight");
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_GIVEN + 1);
    assert_einval_naming(tf_finetune(r.model, r.train, NULL, &fo, NULL), "class_weight");
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_NONE);
    fo.calibrate = 2;
    assert_einval_naming(tf_finetune(r.model, r.train, NULL, &fo, NULL), "calibrate");
    /* Refused calls leave a model that still fine-tunes. */
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_GIVEN);
    fo.class_weights = two;
    fo.num_class_weights = 2;
    fo.epochs = 1;
    assert_ok(tf_finetune(r.model, r.train, NULL, &fo, NULL));
    rig_close(&r);
}

/* ---- tf_loader_label_counts ------------------------------------------------------------------ */

static void test_label_counts_in_memory(void **state)
{
    (void)state;
    rig_t r;
    int64_t counts[3] = {-1, -1, -7};
    rig_open(&r);
    assert_ok(tf_loader_label_counts(r.train, counts, 3));
    assert_int_equal(counts[0], class_count[0]);
    assert_int_equal(counts[1], class_count[1]);
    assert_int_equal(counts[2], -7); /* beyond the labels: untouched */
    /* Reading batches moves no count. */
    tf_batch_t *b;
    assert_ok(tf_loader_next(&b, r.train));
    assert_ok(tf_loader_label_counts(r.train, counts, 2));
    assert_int_equal(counts[1], class_count[1]);
    assert_status(tf_loader_label_counts(r.train, counts, 1), TF_STATUS_EBUFSIZE);
    assert_status(tf_loader_label_counts(NULL, counts, 2), TF_STATUS_EINVAL);
    assert_status(tf_loader_label_counts(r.train, NULL, 2), TF_STATUS_EINVAL);
    /* The same sequences without labels. */
    tf_loader_t *unlabelled;
    assert_ok(tf_loader_create_tokens(&unlabelled, r.ctx, ids, offsets, NSEQ, NULL, NULL));
    assert_einval_naming(tf_loader_label_counts(unlabelled, counts, 3), "no labels");
    tf_loader_free(unlabelled);
    rig_close(&r);
}

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_class_weights_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

static const char *const set_names[3] = {"animal", "fruit", "vehicle"}; /* byte order */

/* A TSV of label sets (each label with probability 0.3, some sets empty, one line naming a label
 * twice), its single-label twin (the first label of the set, or "none"), and the counts. */
static void write_tsv(const char *multi_path, const char *single_path, int64_t multi_counts[3],
                      int64_t single_counts[4])
{
    static const char *const single_names[4] = {"animal", "fruit", "none", "vehicle"};
    FILE *fm = fopen(multi_path, "w"), *fs = fopen(single_path, "w");
    assert_non_null(fm);
    assert_non_null(fs);
    memset(multi_counts, 0, 3 * sizeof *multi_counts);
    memset(single_counts, 0, 4 * sizeof *single_counts);
    for (int i = 0; i < 150; i++) {
        int set[3], first = -1, n = 0;
        for (int c = 0; c < 3; c++) {
            set[c] = rnd(10) < 3;
            multi_counts[c] += set[c];
            if (set[c] && first < 0)
                first = c;
        }
        for (int c = 0; c < 3; c++)
            if (set[c])
                fprintf(fm, "%s%s", n++ ? "," : "", set_names[c]);
        if (i == 7 && set[0])
            fprintf(fm, ",%s", set_names[0]); /* a repeated label counts once */
        fprintf(fm, "\tword%u word%u\n", rnd(20), rnd(20));
        const char *single = first < 0 ? "none" : set_names[first];
        for (int k = 0; k < 4; k++)
            single_counts[k] += strcmp(single, single_names[k]) == 0;
        fprintf(fs, "%s\tword%u word%u\n", single, rnd(20), rnd(20));
    }
    fclose(fm);
    fclose(fs);
}

static void test_label_counts_from_files(void **state)
{
    (void)state;
    char multi_path[128], single_path[128];
    int64_t want_multi[3], want_single[4], got[4];
    snprintf(multi_path, sizeof multi_path, "%s/sets.tsv", dir);
    snprintf(single_path, sizeof single_path, "%s/single.tsv", dir);
    rnd_state = 99;
    write_tsv(multi_path, single_path, want_multi, want_single);
    assert_true(want_multi[0] > 0 && want_multi[1] > 0 && want_multi[2] > 0);
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_vocab_t *vocab;
    const char *paths[1] = {single_path};
    assert_ok(tf_vocab_build_files(&vocab, ctx, paths, 1, NULL));
    tf_loader_t *multi, *single, *part[2];
    assert_ok(tf_loader_create_multilabel(&multi, ctx, vocab, multi_path, NULL));
    assert_int_equal(tf_loader_num_labels(multi), 3);
    assert_ok(tf_loader_label_counts(multi, got, 3));
    for (int c = 0; c < 3; c++) {
        assert_string_equal(tf_loader_label_name(multi, c), set_names[c]);
        assert_int_equal(got[c], want_multi[c]);
    }
    assert_status(tf_loader_label_counts(multi, got, 2), TF_STATUS_EBUFSIZE);
    assert_ok(tf_loader_create_labeled(&single, ctx, vocab, single_path, NULL));
    assert_int_equal(tf_loader_num_labels(single), 4);
    assert_ok(tf_loader_label_counts(single, got, 4));
    for (int c = 0; c < 4; c++)
        assert_int_equal(got[c], want_single[c]);
    /* The two splits of the file count their own lines, which add up to the whole. */
    const char *names[4];
    int64_t split_sum[4] = {0, 0, 0, 0};
    for (int s = 0; s < 2; s++) {
        tf_loader_opts_t lo = tf_test_opts_with_labels(single, names, 16);
        lo.split = s == 0 ? TF_LOADER_SPLIT_TRAIN : TF_LOADER_SPLIT_VALID;
        lo.valid_fraction = 0.3;
        assert_ok(tf_loader_create_labeled(&part[s], ctx, vocab, single_path, &lo));
        assert_ok(tf_loader_label_counts(part[s], got, 4));
        int64_t total = 0;
        for (int c = 0; c < 4; c++) {
            split_sum[c] += got[c];
            total += got[c];
        }
        assert_int_equal(total, tf_loader_num_sequences(part[s]));
        assert_true(total > 0 && total < 150);
    }
    for (int c = 0; c < 4; c++)
        assert_int_equal(split_sum[c], want_single[c]);
    /* A language-model loader has no labels. */
    tf_loader_t *lm;
    assert_ok(tf_loader_create_lm(&lm, ctx, vocab, paths, 1, NULL));
    assert_einval_naming(tf_loader_label_counts(lm, got, 4), "no labels");
    tf_loader_free(lm);
    tf_loader_free(part[0]);
    tf_loader_free(part[1]);
    tf_loader_free(single);
    tf_loader_free(multi);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
}

/* Balanced multi-label weights: label c's positives weigh n_neg / n_pos, so the loss sees each
 * label half positive; the training prior is n_c / n. */
static void test_multilabel_balanced_priors(void **state)
{
    (void)state;
    char multi_path[128], single_path[128];
    int64_t want_multi[3], want_single[4];
    snprintf(multi_path, sizeof multi_path, "%s/sets2.tsv", dir);
    snprintf(single_path, sizeof single_path, "%s/single2.tsv", dir);
    rnd_state = 5;
    write_tsv(multi_path, single_path, want_multi, want_single);
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_vocab_t *vocab;
    tf_model_t *m;
    tf_loader_t *multi;
    const char *paths[1] = {single_path};
    assert_ok(tf_vocab_build_files(&vocab, ctx, paths, 1, NULL));
    assert_ok(tf_loader_create_multilabel(&multi, ctx, vocab, multi_path, NULL));
    tf_model_opts_t mo;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 8;
    assert_ok(tf_model_create(&m, ctx, vocab, &mo));
    tf_finetune_opts_t fo;
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_BALANCED);
    fo.epochs = 1;
    assert_ok(tf_finetune(m, multi, NULL, &fo, NULL));
    double train[3], model[3];
    assert_ok(tf_model_prior(m, TF_PRIOR_TRAIN, train, 3));
    assert_ok(tf_model_prior(m, TF_PRIOR_MODEL, model, 3));
    for (int c = 0; c < 3; c++) {
        assert_near("multi-label training prior", train[c], (double)want_multi[c] / 150.0,
                    1e-15);
        assert_near("multi-label model prior", model[c], 0.5, 1e-15);
    }
    tf_model_free(m);
    tf_loader_free(multi);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
}

/* ---- a caller of version 1 ------------------------------------------------------------------- */

/* tf_finetune_opts_t as version 1 published it: everything before `class_weight`. */
typedef struct finetune_opts_v1 {
    uint32_t struct_size;
    uint32_t version;
    int32_t strategy;
    uint32_t pooling;
    int32_t epochs;
    int32_t patience;
    int32_t metric;
    int32_t reserved;
    int64_t stop_after_steps;
    double lr;
    double discriminative;
    double weight_decay;
    double head_dropout;
    double clip_norm;
    int32_t schedule;
    int32_t reset_head;
    int64_t progress_every;
    tf_progress_cb progress;
    void *progress_payload;
} finetune_opts_v1_t;

/* The frozen copy must still be the prefix of today's struct. */
_Static_assert(sizeof(finetune_opts_v1_t) == offsetof(tf_finetune_opts_t, class_weight),
               "version 1 of tf_finetune_opts_t ends where class_weight begins");
_Static_assert(offsetof(finetune_opts_v1_t, progress_payload) ==
                   offsetof(tf_finetune_opts_t, progress_payload),
               "version 1 fields keep their offsets");

typedef struct {
    finetune_opts_v1_t v1;
    unsigned char canary[64];
} v1_with_canary_t;

static void test_v1_init_writes_only_v1(void **state)
{
    (void)state;
    v1_with_canary_t s;
    memset(&s, 0xa5, sizeof s);
    assert_ok(tf_finetune_opts_init((tf_finetune_opts_t *)(void *)&s.v1, 1));
    for (size_t i = 0; i < sizeof s.canary; i++)
        assert_int_equal(s.canary[i], 0xa5);
    assert_int_equal(s.v1.struct_size, sizeof(finetune_opts_v1_t));
    assert_int_equal(s.v1.version, 1);
    /* The defaults of version 1's fields are today's. */
    tf_finetune_opts_t now;
    assert_ok(tf_finetune_opts_init(&now, TF_FINETUNE_OPTS_VERSION));
    assert_int_equal(now.struct_size, sizeof now);
    assert_int_equal(s.v1.epochs, now.epochs);
    assert_int_equal(s.v1.pooling, now.pooling);
    assert_true(s.v1.lr == now.lr && s.v1.head_dropout == now.head_dropout);
    assert_int_equal(s.v1.progress_every, now.progress_every);
    assert_null(s.v1.progress);
    assert_status(tf_finetune_opts_init(&now, 0), TF_STATUS_EVERSION);
    assert_status(tf_finetune_opts_init(&now, TF_FINETUNE_OPTS_VERSION + 1), TF_STATUS_EVERSION);
}

/* Fine-tune with a version-1 struct in a block of exactly its size (a read past it shows under
 * AddressSanitizer) and with today's struct at class_weight NONE and calibrate 1: the same
 * model, calibrated, its model prior the training prior. Calibration off shows the comparison
 * can tell. */
static void test_v1_finetune_is_none_and_calibrated(void **state)
{
    (void)state;
    rig_t r1, r2, r0;
    tf_finetune_opts_t fo;
    float p1[NTOK], p2[NTOK], p0[NTOK];
    finetune_opts_v1_t *v1 = malloc(sizeof *v1);
    assert_non_null(v1);
    rig_open(&r1);
    assert_ok(tf_finetune_opts_init((tf_finetune_opts_t *)(void *)v1, 1));
    v1->epochs = 3;
    v1->head_dropout = 0.0;
    assert_ok(tf_finetune(r1.model, r1.train, r1.valid, (const tf_finetune_opts_t *)(void *)v1, NULL));
    free(v1);
    rig_open(&r2);
    task_finetune_opts(&fo, TF_CLASS_WEIGHT_NONE);
    fo.epochs = 3;
    fo.calibrate = 1;
    assert_ok(tf_finetune(r2.model, r2.train, r2.valid, &fo, NULL));
    rig_open(&r0);
    fo.calibrate = 0;
    assert_ok(tf_finetune(r0.model, r0.train, r0.valid, &fo, NULL));
    token_probs(&r1, p1);
    token_probs(&r2, p2);
    token_probs(&r0, p0);
    assert_memory_equal(p1, p2, sizeof p1);
    assert_true(tf_model_temperature(r1.model) == tf_model_temperature(r2.model));
    assert_true(tf_model_temperature(r1.model) != 1.0);
    assert_true(tf_model_temperature(r0.model) == 1.0);
    assert_memory_not_equal(p1, p0, sizeof p1);
    double train[2], model[2];
    assert_ok(tf_model_prior(r1.model, TF_PRIOR_TRAIN, train, 2));
    assert_ok(tf_model_prior(r1.model, TF_PRIOR_MODEL, model, 2));
    assert_memory_equal(train, model, sizeof train);
    rig_close(&r1);
    rig_close(&r2);
    rig_close(&r0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balanced_weights_raise_rare_recall),
        cmocka_unit_test(test_priors_without_weights),
        cmocka_unit_test(test_priors_with_balanced_weights),
        cmocka_unit_test(test_priors_of_a_class_never_seen),
        cmocka_unit_test(test_given_weights_as_balanced),
        cmocka_unit_test(test_bad_weights_and_options),
        cmocka_unit_test(test_label_counts_in_memory),
        cmocka_unit_test_setup_teardown(test_label_counts_from_files, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_multilabel_balanced_priors, make_dir, remove_dir),
        cmocka_unit_test(test_v1_init_writes_only_v1),
        cmocka_unit_test(test_v1_finetune_is_none_and_calibrated),
    };
    return TF_TEST_RUN(tests);
}
