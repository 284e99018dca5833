/* SPDX-License-Identifier: MIT */
/* Multi-label fine-tuning end to end: a TSV of label sets, one BCE output per label, metrics
 * checked against values recomputed here from tf_predict_text, checkpoints that keep the kind
 * of head, and the errors for mixing single- and multi-label loaders and models. */
#include "tf_test.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char train_tsv[128], valid_tsv[128], single_tsv[128];

/* Each marker word brings its label; filler words carry nothing. */
static const char *const marker[3] = {"apple", "dog", "car"};
static const char *const label[3] = {"animal", "fruit", "vehicle"}; /* byte order */
static const int label_of_marker[3] = {1, 0, 2};
static const char *const filler[] = {"the", "some", "one", "two", "red", "blue", "old", "new"};

#define NVALID 120
static char valid_text[NVALID][128];
static int valid_set[NVALID][3];

static unsigned rnd_state = 777;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

/* One row: 3 to 7 filler words with each marker inserted with probability 0.4. */
static void make_row(char *text, size_t cap, int set[3])
{
    size_t o = 0;
    int words = 3 + (int)rnd(5);
    int at[3];
    for (int k = 0; k < 3; k++) {
        set[label_of_marker[k]] = rnd(10) < 4;
        at[k] = (int)rnd((unsigned)words + 1);
    }
    text[0] = '\0';
    for (int w = 0; w <= words; w++) {
        for (int k = 0; k < 3; k++)
            if (set[label_of_marker[k]] && at[k] == w)
                o += (size_t)snprintf(text + o, cap - o, "%s%s", o ? " " : "", marker[k]);
        if (w < words)
            o += (size_t)snprintf(text + o, cap - o, "%s%s", o ? " " : "", filler[rnd(8)]);
    }
}

static void write_row(FILE *f, const char *text, const int set[3])
{
    int n = 0;
    for (int c = 0; c < 3; c++)
        if (set[c])
            fprintf(f, "%s%s", n++ ? "," : "", label[c]);
    fprintf(f, "\t%s\n", text);
}

static int setup_files(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tf_multilabel_XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(train_tsv, sizeof train_tsv, "%s/train.tsv", dir);
    snprintf(valid_tsv, sizeof valid_tsv, "%s/valid.tsv", dir);
    snprintf(single_tsv, sizeof single_tsv, "%s/single.tsv", dir);
    FILE *tr = fopen(train_tsv, "w"), *va = fopen(valid_tsv, "w"), *si = fopen(single_tsv, "w");
    if (tr == NULL || va == NULL || si == NULL)
        return -1;
    char text[128];
    int set[3];
    for (int i = 0; i < 400; i++) {
        make_row(text, sizeof text, set);
        write_row(tr, text, set);
        fprintf(si, "%s\t%s\n", set[0] ? "animal" : "none", text);
    }
    /* A wrong label in about one validation row of six, so the counts have errors of both
     * kinds to check. */
    for (int i = 0; i < NVALID; i++) {
        make_row(valid_text[i], sizeof valid_text[i], valid_set[i]);
        if (rnd(6) == 0) {
            int c = (int)rnd(3);
            valid_set[i][c] = !valid_set[i][c];
        }
        write_row(va, valid_text[i], valid_set[i]);
    }
    fclose(tr);
    fclose(va);
    fclose(si);
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
    tf_model_t *model;
    tf_loader_t *train, *valid;
} rig_t;

static tf_loader_t *sets_loader(rig_t *r, const char *path, const tf_loader_t *fixed)
{
    tf_loader_opts_t lo;
    tf_loader_t *l;
    const char *names[3];
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    if (fixed != NULL)
        lo = tf_test_opts_with_labels(fixed, names, 16);
    assert_ok(tf_loader_create_multilabel(&l, r->ctx, r->vocab, path, &lo));
    return l;
}

/* A small model fine-tuned from scratch on the label sets. */
static void rig_open(rig_t *r)
{
    tf_model_opts_t mo;
    tf_finetune_opts_t fo;
    tf_train_report_t rep;
    const char *paths[1] = {train_tsv};
    r->ctx = tf_test_ctx_seeded(5);
    /* The vocabulary from the texts (the label column is a word too; harmless here). */
    assert_ok(tf_vocab_build_files(&r->vocab, r->ctx, paths, 1, NULL));
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 16;
    mo.hidden_size = 24;
    assert_ok(tf_model_create(&r->model, r->ctx, r->vocab, &mo));
    r->train = sets_loader(r, train_tsv, NULL);
    r->valid = sets_loader(r, valid_tsv, r->train);
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 8;
    fo.lr = 1e-2;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_finetune(r->model, r->train, r->valid, &fo, &rep));
    assert_int_equal(tf_model_is_multilabel(r->model), 1);
    assert_int_equal(tf_model_num_classes(r->model), 3);
    for (int c = 0; c < 3; c++)
        assert_string_equal(tf_model_label_name(r->model, c), label[c]);
}

static void rig_close(rig_t *r)
{
    tf_loader_free(r->train);
    tf_loader_free(r->valid);
    tf_model_free(r->model);
    tf_vocab_free(r->vocab);
    assert_int_equal(tf_ctx_live_objects(r->ctx), 0);
    tf_ctx_free(r->ctx);
}

/* The task is learnt, and tf_evaluate's loss, exact-set accuracy, macro-F1 and per-label counts
 * agree with the same quantities computed here from each text's predicted probabilities. */
static void test_multilabel_learns_and_metrics_match_predictions(void **state)
{
    rig_t r;
    tf_metrics_t mt;
    int64_t conf[12], tp[3] = {0}, fp[3] = {0}, fn[3] = {0}, tn[3] = {0};
    double loss = 0;
    int exact = 0;
    (void)state;
    rig_open(&r);
    assert_ok(tf_metrics_init(&mt, TF_METRICS_VERSION));
    assert_status(tf_evaluate(r.model, r.valid, &mt, conf, 11), TF_STATUS_EBUFSIZE);
    assert_ok(tf_evaluate(r.model, r.valid, &mt, conf, 12));
    assert_int_equal(mt.num_sequences, NVALID);
    assert_int_equal(mt.num_classes, 3);
    if (mt.accuracy < 0.7)
        fail_msg("exact-set accuracy %.3f below 0.7", mt.accuracy);
    for (int i = 0; i < NVALID; i++) {
        float p[3];
        int all = 1;
        assert_ok(tf_predict_text(r.model, valid_text[i], strlen(valid_text[i]), p, 3));
        for (int c = 0; c < 3; c++) {
            int y = valid_set[i][c], yhat = p[c] > 0.5f;
            loss -= y ? log((double)p[c]) : log1p(-(double)p[c]);
            tp[c] += y && yhat;
            fp[c] += !y && yhat;
            fn[c] += y && !yhat;
            tn[c] += !y && !yhat;
            all &= y == yhat;
        }
        exact += all;
    }
    loss /= 3.0 * NVALID;
    double f1 = 0;
    for (int c = 0; c < 3; c++) {
        assert_int_equal(conf[4 * c + 0], tn[c]);
        assert_int_equal(conf[4 * c + 1], fp[c]);
        assert_int_equal(conf[4 * c + 2], fn[c]);
        assert_int_equal(conf[4 * c + 3], tp[c]);
        f1 += 2.0 * (double)tp[c] / (double)(2 * tp[c] + fp[c] + fn[c]);
    }
    for (int c = 0; c < 3; c++)
        if (fp[c] == 0 && fn[c] == 0)
            fail_msg("label %d has no errors to check", c);
    assert_true(fabs(mt.loss - loss) < 1e-4 * (1.0 + loss));
    assert_true(fabs(mt.accuracy - (double)exact / NVALID) < 1e-12);
    assert_true(fabs(mt.macro_f1 - f1 / 3.0) < 1e-12);
    /* Probabilities are per label, not a distribution: "dog apple" wants two of them high. */
    float p[3];
    assert_ok(
        tf_predict_text(r.model, "the dog and one apple", strlen("the dog and one apple"), p, 3));
    assert_true(p[0] > 0.5f && p[1] > 0.5f && p[2] < 0.5f);
    rig_close(&r);
}

static void test_multilabel_checkpoint_keeps_the_head(void **state)
{
    rig_t r;
    char path[160];
    float p1[3], p2[3];
    tf_model_t *loaded;
    (void)state;
    rig_open(&r);
    snprintf(path, sizeof path, "%s/multi.safetensors", dir);
    assert_ok(tf_model_save(r.model, path));
    assert_ok(tf_model_load(&loaded, r.ctx, path, 0));
    assert_int_equal(tf_model_is_multilabel(loaded), 1);
    assert_int_equal(tf_model_num_classes(loaded), 3);
    assert_string_equal(tf_model_label_name(loaded, 2), "vehicle");
    assert_ok(tf_predict_text(r.model, "a red car", strlen("a red car"), p1, 3));
    assert_ok(tf_predict_text(loaded, "a red car", strlen("a red car"), p2, 3));
    assert_memory_equal(p1, p2, sizeof p1);
    tf_model_free(loaded);
    rig_close(&r);
}

static void test_multilabel_and_single_label_do_not_mix(void **state)
{
    rig_t r;
    tf_metrics_t mt;
    tf_finetune_opts_t fo;
    (void)state;
    rig_open(&r);
    tf_loader_t *single = NULL;
    assert_ok(tf_loader_create_labeled(&single, r.ctx, r.vocab, single_tsv, NULL));
    assert_ok(tf_metrics_init(&mt, TF_METRICS_VERSION));
    /* A multi-label model reads label sets only. */
    assert_status(tf_evaluate(r.model, single, &mt, NULL, 0), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "multi-label"));
    /* Training and validation loaders must be of one kind. */
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 1;
    assert_status(tf_finetune(r.model, r.train, single, &fo, NULL), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "multi-label"));
    /* Fine-tuning again on single labels, even keeping the head, makes a single-label head. */
    fo.reset_head = 0;
    assert_ok(tf_finetune(r.model, single, NULL, &fo, NULL));
    assert_int_equal(tf_model_is_multilabel(r.model), 0);
    assert_int_equal(tf_model_num_classes(r.model), 2);
    assert_status(tf_evaluate(r.model, r.valid, &mt, NULL, 0), TF_STATUS_EINVAL);
    assert_ok(tf_evaluate(r.model, single, &mt, NULL, 0));
    assert_int_equal(tf_model_is_multilabel(NULL), 0);
    tf_loader_free(single);
    rig_close(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multilabel_learns_and_metrics_match_predictions),
        cmocka_unit_test(test_multilabel_checkpoint_keeps_the_head),
        cmocka_unit_test(test_multilabel_and_single_label_do_not_mix),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
