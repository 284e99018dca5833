/* SPDX-License-Identifier: MIT */
/* tf_distill end to end on small synthetic data: a smaller student learns a fine-tuned teacher's
 * decisions from unlabelled sentences alone, the weight of the hard labels does what it says,
 * a call cut short continues to the same weights, max_steps is a step budget, and every
 * mismatch between the two models or their data is refused with a message that names it. */
#include "tf_train_setup.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char corpus[128], train_tsv[128], valid_tsv[128], tri_tsv[128];

static int setup_files(void **state)
{
    (void)state;
    if (tf_test_make_dir(dir, sizeof dir, "tf_distill") != 0)
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    snprintf(valid_tsv, sizeof valid_tsv, "%s/valid.tsv", dir);
    snprintf(tri_tsv, sizeof tri_tsv, "%s/tri.tsv", dir);
    tf_test_write_grammar(777, 600, corpus, train_tsv, valid_tsv, tri_tsv);
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    return tf_test_remove_tree(dir);
}

static tf_vocab_t *vocab_of(tf_ctx_t *ctx, int32_t max_size)
{
    tf_vocab_opts_t vo;
    tf_vocab_t *v;
    const char *paths[1] = {corpus};
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.max_size = max_size;
    assert_ok(tf_vocab_build_files(&v, ctx, paths, 1, &vo));
    return v;
}

static tf_model_t *model_of(tf_ctx_t *ctx, tf_vocab_t *v, int32_t hidden)
{
    tf_model_opts_t mo;
    tf_model_t *m;
    tf_test_small_model_opts(&mo, hidden);
    assert_ok(tf_model_create(&m, ctx, v, &mo));
    return m;
}

/* The corpus's sentences as a loader of token sequences without labels. */
static int32_t ids[600 * 8];
static int64_t offsets[601];
static tf_loader_t *unlabeled(tf_ctx_t *ctx, tf_vocab_t *v)
{
    FILE *f = fopen(corpus, "r");
    char line[256];
    int64_t n = 0;
    size_t at = 0;
    tf_loader_opts_t lo;
    tf_loader_t *l;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t got;
        assert_ok(tf_vocab_encode(v, line, strcspn(line, "\n"), ids + at, 8, &got));
        offsets[n++] = (int64_t)at;
        at += got;
    }
    fclose(f);
    offsets[n] = (int64_t)at;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    lo.shuffle = 1;
    assert_ok(tf_loader_create_tokens(&l, ctx, ids, offsets, n, NULL, &lo));
    return l;
}

/* A teacher of hidden 24 fine-tuned from scratch on the animal task. */
typedef struct {
    tf_ctx_t *ctx;
    tf_vocab_t *vocab;
    tf_model_t *model;
    tf_loader_t *train, *valid;
} teacher_t;

static void teacher_open(teacher_t *t, uint64_t seed, int32_t epochs)
{
    tf_finetune_opts_t fo;
    t->ctx = tf_test_ctx_seeded(seed);
    t->vocab = vocab_of(t->ctx, 0);
    t->model = model_of(t->ctx, t->vocab, 24);
    t->train = tf_test_labeled(t->ctx, t->vocab, train_tsv, NULL);
    t->valid = tf_test_labeled(t->ctx, t->vocab, valid_tsv, t->train);
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = epochs;
    assert_ok(tf_finetune(t->model, t->train, t->valid, &fo, NULL));
}

static void teacher_close(teacher_t *t)
{
    tf_loader_free(t->train);
    tf_loader_free(t->valid);
    tf_model_free(t->model);
    tf_vocab_free(t->vocab);
    tf_ctx_free(t->ctx);
}

static double accuracy(tf_model_t *m, tf_loader_t *data)
{
    tf_metrics_t mt;
    tf_metrics_init(&mt, TF_METRICS_VERSION);
    assert_ok(tf_evaluate(m, data, &mt, NULL, 0));
    return mt.accuracy;
}

static int32_t phases_seen;
static int32_t on_progress(const tf_progress_t *p, void *payload)
{
    (void)payload;
    phases_seen |= 1 << p->phase;
    return 0;
}

static void test_student_learns_the_teacher_from_unlabeled_text(void **state)
{
    (void)state;
    teacher_t t;
    teacher_open(&t, 5, 6);
    double teacher_acc = accuracy(t.model, t.valid);
    assert_true(teacher_acc >= 0.95);
    tf_ctx_t *ctx = tf_test_ctx_seeded(6);
    tf_model_t *s = model_of(ctx, tf_model_vocab(t.model), 8);
    tf_loader_t *u = unlabeled(ctx, tf_model_vocab(t.model));
    tf_distill_opts_t o;
    tf_train_report_t rep;
    tf_distill_opts_init(&o, TF_DISTILL_OPTS_VERSION);
    o.epochs = 3;
    o.progress = on_progress;
    o.progress_every = 5;
    phases_seen = 0;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_distill(s, t.model, u, NULL, t.valid, &o, &rep));
    assert_int_equal(phases_seen, 1 << TF_TRAIN_PHASE_DISTILL);
    assert_int_equal(rep.epochs, 3);
    assert_int_equal(rep.steps, 3 * tf_loader_num_batches(u));
    /* The student has the teacher's labels, and decides as it does on held-out sentences. */
    assert_int_equal(tf_model_num_classes(s), 2);
    assert_string_equal(tf_model_label_name(s, 0), tf_model_label_name(t.model, 0));
    assert_string_equal(tf_model_label_name(s, 1), tf_model_label_name(t.model, 1));
    assert_true(tf_model_num_params(s) < tf_model_num_params(t.model) / 2);
    double student_acc = accuracy(s, t.valid);
    if (!(student_acc >= teacher_acc - 0.05))
        fail_msg("student accuracy %.3f, teacher %.3f", student_acc, teacher_acc);
    assert_true(fabs(rep.best_metric - student_acc) < 1e-9); /* best weights restored */
    const char *texts[] = {"the cat sees a toy .", "a small child wants the ball .",
                           "my bird finds some warm milk .", "the old man chases a dog ."};
    for (int i = 0; i < 4; i++) {
        float ps[2], pt[2];
        assert_ok(tf_predict_text(s, texts[i], strlen(texts[i]), ps, 2));
        assert_ok(tf_predict_text(t.model, texts[i], strlen(texts[i]), pt, 2));
        if ((ps[1] > 0.5f) != (pt[1] > 0.5f))
            fail_msg("'%s': student p=%.3f, teacher p=%.3f", texts[i], (double)ps[1], (double)pt[1]);
    }
    tf_loader_free(u);
    tf_model_free(s);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
    teacher_close(&t);
}

/* Predictions of a model on the validation texts, for exact comparisons. */
static void predictions(tf_model_t *m, float *out)
{
    FILE *f = fopen(valid_tsv, "r");
    char line[256];
    int n = 0;
    while (n < 100 && fgets(line, sizeof line, f) != NULL) {
        const char *text = strchr(line, '\t') + 1;
        assert_ok(tf_predict_text(m, text, strcspn(text, "\n"), out + 2 * n, 2));
        n++;
    }
    fclose(f);
}

/* A student distilled from `teacher` in a context of its own seed (every student starts from
 * the same weights), with the labelled loader and alpha given; its predictions go to `out`. */
static void distilled(teacher_t *t, tf_loader_t *lab, double alpha, int64_t stop_after, float *out)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(9);
    tf_model_t *s = model_of(ctx, tf_model_vocab(t->model), 8);
    tf_loader_t *u = unlabeled(ctx, tf_model_vocab(t->model));
    tf_distill_opts_t o;
    tf_distill_opts_init(&o, TF_DISTILL_OPTS_VERSION);
    o.epochs = 2;
    o.alpha = alpha;
    if (lab != NULL)
        assert_ok(tf_loader_reset(lab));
    if (stop_after > 0) { /* two calls, the first cut short */
        o.stop_after_steps = stop_after;
        assert_ok(tf_distill(s, t->model, u, lab, NULL, &o, NULL));
        o.stop_after_steps = 0;
    }
    assert_ok(tf_distill(s, t->model, u, lab, NULL, &o, NULL));
    predictions(s, out);
    tf_loader_free(u);
    tf_model_free(s);
    tf_ctx_free(ctx);
}

/* The labelled sentences in file order: every run reads the same batches. */
static tf_loader_t *in_order(teacher_t *t)
{
    tf_loader_opts_t lo;
    tf_loader_t *l;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    lo.shuffle = 0;
    assert_ok(tf_loader_create_labeled(&l, t->ctx, t->vocab, train_tsv, &lo));
    return l;
}

/* alpha = 1: the labels alone teach, so two different teachers give the same student; alpha = 0:
 * the labels weigh nothing, as if none were given; in between, both count. */
static void test_alpha_weighs_the_hard_labels(void **state)
{
    (void)state;
    static float a[200], b[200], c[200], d[200];
    teacher_t t1, t2;
    teacher_open(&t1, 5, 6);
    teacher_open(&t2, 11, 2);
    tf_loader_t *lab = in_order(&t1);
    distilled(&t1, lab, 1.0, 0, a);
    distilled(&t2, lab, 1.0, 0, b);
    assert_memory_equal(a, b, sizeof a);
    distilled(&t1, lab, 0.0, 0, c);
    distilled(&t1, NULL, 0.5, 0, d);
    assert_memory_equal(c, d, sizeof c);
    distilled(&t1, lab, 0.5, 0, d);
    assert_memory_not_equal(a, d, sizeof a);
    assert_memory_not_equal(c, d, sizeof c);
    tf_loader_free(lab);
    teacher_close(&t2);
    teacher_close(&t1);
}

/* A call stopped after some steps and called again ends with the weights of one call. */
static void test_cut_short_then_continued_is_bit_exact(void **state)
{
    (void)state;
    static float a[200], b[200];
    teacher_t t;
    teacher_open(&t, 5, 3);
    tf_loader_t *lab = in_order(&t);
    distilled(&t, lab, 0.3, 0, a);
    distilled(&t, lab, 0.3, 17, b);
    assert_memory_equal(a, b, sizeof a);
    tf_loader_free(lab);
    teacher_close(&t);
}

static void expect_error(tf_status_t st, tf_status_t want, const char *words)
{
    assert_status(st, want);
    if (strstr(tf_last_error_message(), words) == NULL)
        fail_msg("message '%s' does not say '%s'", tf_last_error_message(), words);
}

/* A student distilled with validation for `epochs` epochs or `max_steps` steps; its report and
 * predictions. */
static void budgeted(teacher_t *t, int32_t epochs, int64_t max_steps, tf_train_report_t *rep,
                     float *out)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(9);
    tf_model_t *s = model_of(ctx, tf_model_vocab(t->model), 8);
    tf_loader_t *u = unlabeled(ctx, tf_model_vocab(t->model));
    tf_distill_opts_t o;
    tf_distill_opts_init(&o, TF_DISTILL_OPTS_VERSION);
    o.epochs = epochs;
    o.max_steps = max_steps;
    tf_train_report_init(rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_distill(s, t->model, u, NULL, t->valid, &o, rep));
    assert_true(fabs(rep->best_metric - accuracy(s, t->valid)) < 1e-9); /* best weights restored */
    predictions(s, out);
    tf_loader_free(u);
    tf_model_free(s);
    tf_ctx_free(ctx);
}

/* max_steps replaces the epochs: two epochs' steps give the weights of epochs = 2, and a budget
 * that ends inside an epoch runs exactly its steps and validates the partial epoch. */
static void test_max_steps_is_the_budget(void **state)
{
    (void)state;
    static float a[200], b[200], c[200];
    teacher_t t;
    tf_train_report_t ra, rb, rc;
    teacher_open(&t, 5, 3);
    tf_ctx_t *ctx = tf_test_ctx_seeded(9);
    tf_loader_t *u = unlabeled(ctx, tf_model_vocab(t.model));
    const int64_t per_epoch = tf_loader_num_batches(u);
    tf_loader_free(u);
    tf_ctx_free(ctx);
    budgeted(&t, 2, 0, &ra, a);
    budgeted(&t, 9, 2 * per_epoch, &rb, b);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(ra.steps, 2 * per_epoch);
    assert_int_equal(rb.steps, 2 * per_epoch);
    assert_int_equal(rb.epochs, 2);
    assert_int_equal(rb.best_epoch, ra.best_epoch);
    budgeted(&t, 1, per_epoch + 7, &rc, c);
    assert_int_equal(rc.steps, per_epoch + 7);
    assert_int_equal(rc.epochs, 2); /* the partial one counted */
    assert_memory_not_equal(a, c, sizeof a);

    tf_ctx_t *sctx = tf_test_ctx_seeded(9);
    tf_model_t *s = model_of(sctx, tf_model_vocab(t.model), 8);
    u = unlabeled(sctx, tf_model_vocab(t.model));
    tf_distill_opts_t o;
    tf_distill_opts_init(&o, TF_DISTILL_OPTS_VERSION);
    o.max_steps = -1;
    expect_error(tf_distill(s, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL, "max_steps");
    tf_loader_free(u);
    tf_model_free(s);
    tf_ctx_free(sctx);
    teacher_close(&t);
}

static void test_mismatches_are_refused(void **state)
{
    (void)state;
    teacher_t t;
    teacher_open(&t, 5, 1);
    tf_ctx_t *ctx = t.ctx;
    tf_model_t *s = model_of(ctx, t.vocab, 8);
    tf_loader_t *u = unlabeled(ctx, t.vocab);
    tf_distill_opts_t o;
    tf_distill_opts_init(&o, TF_DISTILL_OPTS_VERSION);
    o.epochs = 1;
    o.stop_after_steps = 1;
    expect_error(tf_distill(NULL, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL, "student");
    expect_error(tf_distill(s, NULL, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL, "teacher");
    expect_error(tf_distill(s, t.model, NULL, NULL, NULL, &o, NULL), TF_STATUS_EINVAL, "unlabeled");
    expect_error(tf_distill(t.model, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL,
                 "same model");
    /* A teacher that was never fine-tuned has nothing to teach. */
    tf_model_t *raw = model_of(ctx, t.vocab, 8);
    expect_error(tf_distill(s, raw, u, NULL, NULL, &o, NULL), TF_STATUS_ESTATE, "fine-tune");
    /* Another vocabulary (one token fewer) is refused. */
    tf_vocab_t *small = vocab_of(ctx, tf_vocab_size(t.vocab) - 1);
    tf_model_t *other = model_of(ctx, small, 8);
    expect_error(tf_distill(other, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL,
                 "vocabulary");
    /* A numeric student cannot learn from a token teacher. */
    tf_model_opts_t mo;
    tf_model_t *num;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.input = TF_MODEL_INPUT_FEATURES;
    mo.num_features = 3;
    mo.hidden_size = 8;
    assert_ok(tf_model_create(&num, ctx, NULL, &mo));
    expect_error(tf_distill(num, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL, "features");
    /* Labelled or validation data with other labels, and a student with a head of others. */
    tf_loader_t *tri = tf_test_labeled(ctx, t.vocab, tri_tsv, NULL);
    expect_error(tf_distill(s, t.model, u, tri, NULL, &o, NULL), TF_STATUS_EINVAL, "labels");
    expect_error(tf_distill(s, t.model, u, NULL, tri, &o, NULL), TF_STATUS_EINVAL, "labels");
    tf_model_t *tri_student = model_of(ctx, t.vocab, 8);
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    fo.stop_after_steps = 1;
    assert_ok(tf_finetune(tri_student, tri, NULL, &fo, NULL));
    expect_error(tf_distill(tri_student, t.model, u, NULL, NULL, &o, NULL), TF_STATUS_EINVAL,
                 "other labels");
    /* Bad options. */
    const double bad_t[] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        tf_distill_opts_t b = o;
        b.temperature = bad_t[i];
        expect_error(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EINVAL, "temperature");
    }
    const double bad_a[] = {-0.1, 1.5, NAN};
    for (int i = 0; i < 3; i++) {
        tf_distill_opts_t b = o;
        b.alpha = bad_a[i];
        expect_error(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EINVAL, "alpha");
    }
    tf_distill_opts_t b = o;
    b.epochs = 0;
    expect_error(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EINVAL, "epochs");
    b = o;
    b.pooling = 8;
    expect_error(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EINVAL, "pooling");
    b = o;
    b.reserved = 1;
    expect_error(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EINVAL, "reserved");
    b = o;
    b.version = 99;
    assert_status(tf_distill(s, t.model, u, NULL, NULL, &b, NULL), TF_STATUS_EVERSION);
    /* None of it touched the student: it has no head yet, and a good call still works. */
    assert_int_equal(tf_model_num_classes(s), 0);
    assert_ok(tf_distill(s, t.model, u, NULL, NULL, &o, NULL));
    assert_int_equal(tf_model_num_classes(s), 2);
    assert_status(tf_distill_opts_init(NULL, TF_DISTILL_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_distill_opts_init(&b, 0), TF_STATUS_EVERSION);
    tf_model_free(tri_student);
    tf_loader_free(tri);
    tf_model_free(num);
    tf_model_free(other);
    tf_vocab_free(small);
    tf_model_free(raw);
    tf_loader_free(u);
    tf_model_free(s);
    teacher_close(&t);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_student_learns_the_teacher_from_unlabeled_text),
        cmocka_unit_test(test_alpha_weighs_the_hard_labels),
        cmocka_unit_test(test_cut_short_then_continued_is_bit_exact),
        cmocka_unit_test(test_max_steps_is_the_budget),
        cmocka_unit_test(test_mismatches_are_refused),
    };
    if (tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
