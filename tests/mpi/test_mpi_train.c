/* SPDX-License-Identifier: MIT */
/* Data-parallel training over MPI, run with `mpiexec -np 2` (tests/mpi/tests.cmake): two ranks
 * with half the batch each take the steps one process takes on the whole batch (SGD and AdamW,
 * pre-training and fine-tuning with an uneven and an empty shard); a model saved by a two-rank
 * run evaluates as the one-process model; a phase continues only on as many ranks; a failure
 * or a stop on one rank stops every rank with the same status. The one-process reference is
 * the library's ordinary (undistributed) training, checked by the other tests. */
#include "tf_test.h"
#include "transfer/mpi.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static int rank_, size_;
static char dir[64], corpus[128];

static const char *subj[] = {"the cat", "a dog", "my bird", "the old man", "a small child"};
static const char *verb[] = {"sees", "likes", "chases", "finds", "wants"};
static const char *obj[] = {"the ball", "a red apple", "the big house", "some warm milk", "a toy"};

/* Rank 0 writes the corpus into a fresh directory that every rank then uses. */
static int setup(void **state)
{
    (void)state;
    if (rank_ == 0) {
        snprintf(dir, sizeof dir, "/tmp/tf_mpi_XXXXXX");
        if (mkdtemp(dir) == NULL)
            dir[0] = '\0';
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (dir[0] == '\0')
        return -1;
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    if (rank_ == 0) {
        FILE *f = fopen(corpus, "w");
        if (f == NULL)
            return -1;
        unsigned s = 12345;
        for (int i = 0; i < 300; i++) {
            unsigned r[3];
            for (int k = 0; k < 3; k++) {
                s = s * 1103515245u + 12345u;
                r[k] = (s >> 16) % 5;
            }
            fprintf(f, "%s %s %s .\n", subj[r[0]], verb[r[1]], obj[r[2]]);
        }
        fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MPI_Barrier(MPI_COMM_WORLD);
    return rank_ == 0 ? tf_test_remove_tree(dir) : 0;
}

static tf_vocab_t *corpus_vocab(tf_ctx_t *ctx)
{
    tf_vocab_t *v;
    const char *paths[1] = {corpus};
    assert_ok(tf_vocab_build_files(&v, ctx, paths, 1, NULL));
    return v;
}

/* The language-model loader of the corpus: the same batches on every rank (own seed). */
static tf_loader_t *lm_loader(tf_ctx_t *ctx, tf_vocab_t *v, int32_t batch)
{
    tf_loader_t *l;
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = batch;
    o.bptt = 6;
    o.seed = 3;
    const char *paths[1] = {corpus};
    assert_ok(tf_loader_create_lm(&l, ctx, v, paths, 1, &o));
    return l;
}

static tf_model_t *small_model(tf_ctx_t *ctx, tf_vocab_t *v, int32_t hidden)
{
    tf_model_t *m;
    tf_model_opts_t o;
    tf_model_opts_init(&o, TF_MODEL_OPTS_VERSION);
    o.embedding_dim = 8;
    o.hidden_size = hidden;
    o.dropout = 0.0;
    assert_ok(tf_model_create(&m, ctx, v, &o));
    return m;
}

/* Every parameter of two models agrees to float tolerance; returns the largest difference. */
static double assert_models_close(tf_model_t *a, tf_model_t *b, double tol)
{
    char pa[160], pb[160];
    snprintf(pa, sizeof pa, "%s/a%d.safetensors", dir, rank_);
    snprintf(pb, sizeof pb, "%s/b%d.safetensors", dir, rank_);
    assert_ok(tf_model_save(a, pa));
    assert_ok(tf_model_save(b, pb));
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_tensorfile_t *fa, *fb;
    assert_ok(tf_tensorfile_load(&fa, ctx, pa, NULL));
    assert_ok(tf_tensorfile_load(&fb, ctx, pb, NULL));
    assert_int_equal(tf_tensorfile_num_entries(fa), tf_tensorfile_num_entries(fb));
    double worst = 0;
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(fa); i++) {
        const char *name = tf_tensorfile_name(fa, i);
        tf_tensor_t *ta, *tb;
        assert_ok(tf_tensorfile_get(&ta, fa, name));
        assert_ok(tf_tensorfile_get(&tb, fb, name));
        assert_int_equal(tf_tensor_numel(ta), tf_tensor_numel(tb));
        const float *x = tf_tensor_data(ta), *y = tf_tensor_data(tb);
        for (int64_t k = 0; k < tf_tensor_numel(ta); k++) {
            double d = fabs((double)x[k] - (double)y[k]);
            if (d > worst)
                worst = d;
            if (d > tol * (1.0 + fabs((double)x[k])))
                fail_msg("rank %d: %s[%lld] is %.9g, one process %.9g", rank_, name, (long long)k,
                         (double)y[k], (double)x[k]);
        }
    }
    tf_tensorfile_free(fa);
    tf_tensorfile_free(fb);
    tf_ctx_free(ctx);
    return worst;
}

/* Whether every rank has the same bytes. */
static int same_everywhere(const void *data, size_t n)
{
    unsigned char *root = malloc(n);
    assert_non_null(root);
    memcpy(root, data, n);
    MPI_Bcast(root, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
    int same = memcmp(root, data, n) == 0, all;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    free(root);
    return all;
}

static tf_dist_t *group(tf_ctx_t *ctx)
{
    tf_dist_t *d;
    assert_ok(tf_dist_create(&d, ctx, MPI_COMM_WORLD));
    assert_int_equal(tf_dist_rank(d), rank_);
    assert_int_equal(tf_dist_size(d), size_);
    return d;
}

/* A group's pre-training on the corpus: context, vocabulary, model, loader (batch 4), handle. */
typedef struct lm_run {
    tf_ctx_t *ctx;
    tf_vocab_t *v;
    tf_model_t *m;
    tf_loader_t *l;
    tf_dist_t *d;
    tf_pretrain_opts_t po;
} lm_run_t;

static void lm_run_open(lm_run_t *r, int64_t steps)
{
    r->ctx = tf_test_ctx_seeded(5);
    r->v = corpus_vocab(r->ctx);
    r->m = small_model(r->ctx, r->v, 10);
    r->l = lm_loader(r->ctx, r->v, 4);
    r->d = group(r->ctx);
    tf_pretrain_opts_init(&r->po, TF_PRETRAIN_OPTS_VERSION);
    r->po.max_steps = steps;
    r->po.dist = r->d;
}

static void lm_run_close(lm_run_t *r)
{
    tf_dist_free(r->d);
    tf_loader_free(r->l);
    tf_model_free(r->m);
    tf_vocab_free(r->v);
    tf_ctx_free(r->ctx);
}

static void pretrain_matches(int32_t algorithm)
{
    const int32_t B = 4, steps = 6;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5);
    tf_vocab_t *v = corpus_vocab(ctx);
    tf_optimizer_opts_t oo;
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.algorithm = algorithm;
    oo.lr = algorithm == TF_OPTIMIZER_SGD ? 0.5 : 1e-2;
    oo.momentum = algorithm == TF_OPTIMIZER_SGD ? 0.9 : 0.0;
    oo.weight_decay = algorithm == TF_OPTIMIZER_SGD ? 0.0 : 0.01;
    tf_pretrain_opts_t po;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = steps;
    po.optim = &oo;

    /* One process, whole batches of B. */
    tf_model_t *ref = small_model(ctx, v, 10);
    tf_loader_t *l1 = lm_loader(ctx, v, B);
    tf_train_report_t r1;
    tf_train_report_init(&r1, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_pretrain(ref, l1, NULL, &po, &r1));

    /* Every rank: the same loader of B, sharded by the call; rank 1 starts from other weights,
     * which rank 0's replace. */
    tf_ctx_t *ctx2 = tf_test_ctx_seeded(rank_ == 0 ? 5 : 99);
    tf_model_t *m = small_model(ctx2, v, 10);
    tf_loader_t *l2 = lm_loader(ctx2, v, B);
    tf_dist_t *d = group(ctx2);
    po.dist = d;
    tf_train_report_t r2;
    tf_train_report_init(&r2, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_pretrain(m, l2, NULL, &po, &r2));
    assert_int_equal(r2.steps, steps);
    /* The reported loss is the whole batch's: the one process's, to float tolerance. */
    assert_true(fabs(r2.train_loss - r1.train_loss) <= 1e-5 * fabs(r1.train_loss));
    double worst = assert_models_close(ref, m, 1e-5);
    print_message("rank %d: largest difference to one process %.3g\n", rank_, worst);
    /* The loader is whole again after the call. */
    tf_batch_t *b;
    assert_ok(tf_loader_reset(l2));
    assert_ok(tf_loader_next(&b, l2));
    assert_int_equal(tf_batch_size(b), B);
    /* Every rank holds the same weights, bit for bit. */
    char p[160];
    snprintf(p, sizeof p, "%s/b%d.safetensors", dir, rank_);
    tf_tensor_t *t;
    tf_ctx_t *c3 = tf_test_ctx_seeded(1);
    tf_tensorfile_t *f;
    assert_ok(tf_tensorfile_load(&f, c3, p, NULL));
    assert_ok(tf_tensorfile_get(&t, f, "lm_head.weight"));
    assert_true(same_everywhere(tf_tensor_data(t), (size_t)tf_tensor_numel(t) * sizeof(float)));
    tf_tensorfile_free(f);
    tf_ctx_free(c3);

    tf_dist_free(d);
    tf_loader_free(l2);
    tf_model_free(m);
    tf_ctx_free(ctx2);
    tf_loader_free(l1);
    tf_model_free(ref);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

static void test_pretrain_sgd_matches_one_rank(void **state)
{
    (void)state;
    pretrain_matches(TF_OPTIMIZER_SGD);
}

static void test_pretrain_adamw_matches_one_rank(void **state)
{
    (void)state;
    pretrain_matches(TF_OPTIMIZER_ADAMW);
}

/* 11 labelled sequences of token ids in batches of 5: shards of 3 and 2, and a last batch of one
 * sequence, which leaves rank 0's shard empty. */
enum { NSEQ = 11 };
static int32_t ids[NSEQ * 6];
static int64_t offs[NSEQ + 1];
static int32_t seq_labels[NSEQ];

static tf_loader_t *cls_loader(tf_ctx_t *ctx, int32_t V, int32_t batch)
{
    int64_t k = 0;
    for (int i = 0; i < NSEQ; i++) {
        offs[i] = k;
        int len = 2 + i % 5;
        for (int t = 0; t < len; t++)
            ids[k++] = 4 + (i * 7 + t * 3) % (V - 4);
        seq_labels[i] = (i * 5 + 1) % 3 == 0;
    }
    offs[NSEQ] = k;
    tf_loader_t *l;
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = batch;
    o.seed = 4;
    const char *names[2] = {"no", "yes"};
    o.labels = names;
    o.num_labels = 2;
    assert_ok(tf_loader_create_tokens(&l, ctx, ids, offs, NSEQ, seq_labels, &o));
    return l;
}

static void finetune_opts(tf_finetune_opts_t *fo)
{
    tf_finetune_opts_init(fo, TF_FINETUNE_OPTS_VERSION);
    fo->epochs = 2;
    fo->head_dropout = 0.0;
    fo->calibrate = 0;
}

/* Fine-tune one process and the group alike; the group's model in *dist_model. */
static tf_model_t *finetune_both(tf_ctx_t *ctx, tf_vocab_t *v, tf_model_t **dist_model,
                                 tf_dist_t **d, tf_ctx_t **ctx2)
{
    tf_finetune_opts_t fo;
    finetune_opts(&fo);
    tf_model_t *ref = small_model(ctx, v, 10);
    tf_loader_t *l1 = cls_loader(ctx, tf_vocab_size(v), 5);
    assert_ok(tf_finetune(ref, l1, NULL, &fo, NULL));
    tf_loader_free(l1);

    *ctx2 = tf_test_ctx_seeded(rank_ == 0 ? 5 : 77);
    *dist_model = small_model(*ctx2, v, 10);
    tf_loader_t *l2 = cls_loader(*ctx2, tf_vocab_size(v), 5);
    *d = group(*ctx2);
    fo.dist = *d;
    tf_train_report_t r;
    tf_train_report_init(&r, TF_TRAIN_REPORT_VERSION);
    assert_ok(tf_finetune(*dist_model, l2, NULL, &fo, &r));
    assert_int_equal(r.steps, 2 * 3);
    tf_loader_free(l2);
    return ref;
}

static void test_finetune_matches_one_rank(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5), *ctx2;
    tf_vocab_t *v = corpus_vocab(ctx);
    tf_model_t *m;
    tf_dist_t *d;
    tf_model_t *ref = finetune_both(ctx, v, &m, &d, &ctx2);
    double worst = assert_models_close(ref, m, 1e-5);
    print_message("rank %d: largest difference to one process %.3g\n", rank_, worst);
    tf_dist_free(d);
    tf_model_free(m);
    tf_ctx_free(ctx2);
    tf_model_free(ref);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

/* Rank 0 saves the group's model; every rank loads it and evaluates it as the one-process
 * model evaluates. */
static void test_checkpoint_from_two_ranks(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5), *ctx2;
    tf_vocab_t *v = corpus_vocab(ctx);
    tf_model_t *m;
    tf_dist_t *d;
    tf_model_t *ref = finetune_both(ctx, v, &m, &d, &ctx2);
    char path[160];
    snprintf(path, sizeof path, "%s/group.safetensors", dir);
    if (rank_ == 0)
        assert_ok(tf_model_save(m, path));
    MPI_Barrier(MPI_COMM_WORLD);
    tf_model_t *loaded;
    assert_ok(tf_model_load(&loaded, ctx, path, 0));
    tf_loader_t *data = cls_loader(ctx, tf_vocab_size(v), 4);
    tf_metrics_t a, b;
    tf_metrics_init(&a, TF_METRICS_VERSION);
    tf_metrics_init(&b, TF_METRICS_VERSION);
    assert_ok(tf_evaluate(ref, data, &a, NULL, 0));
    assert_ok(tf_evaluate(loaded, data, &b, NULL, 0));
    assert_int_equal(a.num_sequences, NSEQ);
    assert_int_equal(b.num_sequences, NSEQ);
    assert_true(a.accuracy == b.accuracy);
    assert_true(fabs(a.loss - b.loss) <= 1e-5 * (1.0 + fabs(a.loss)));
    tf_loader_free(data);
    tf_model_free(loaded);
    tf_dist_free(d);
    tf_model_free(m);
    tf_ctx_free(ctx2);
    tf_model_free(ref);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

/* A training state saved by a two-rank run continues on two ranks, not on one. */
static void test_resume_needs_same_ranks(void **state)
{
    (void)state;
    lm_run_t r;
    lm_run_open(&r, 6);
    r.po.stop_after_steps = 2;
    assert_ok(tf_pretrain(r.m, r.l, NULL, &r.po, NULL));
    char mpath[160], spath[160];
    snprintf(mpath, sizeof mpath, "%s/resume.safetensors", dir);
    snprintf(spath, sizeof spath, "%s/resume.state", dir);
    if (rank_ == 0) {
        assert_ok(tf_model_save(r.m, mpath));
        assert_ok(tf_train_state_save(r.m, r.l, spath));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* One process refuses to continue it, in this process and from the files. */
    r.po.dist = NULL;
    assert_status(tf_pretrain(r.m, r.l, NULL, &r.po, NULL), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "was run on 2 processes"));
    tf_model_t *back;
    tf_loader_t *l2 = lm_loader(r.ctx, r.v, 4);
    assert_ok(tf_model_load(&back, r.ctx, mpath, 0));
    assert_ok(tf_train_state_load(back, l2, spath));
    assert_status(tf_pretrain(back, l2, NULL, &r.po, NULL), TF_STATUS_EINVAL);
    /* The group continues it, to the same weights as the run that never stopped. */
    r.po.dist = r.d;
    assert_ok(tf_pretrain(back, l2, NULL, &r.po, NULL));
    r.po.stop_after_steps = 0;
    assert_ok(tf_pretrain(back, l2, NULL, &r.po, NULL));
    assert_ok(tf_pretrain(r.m, r.l, NULL, &r.po, NULL));
    assert_models_close(r.m, back, 0.0);
    tf_model_free(back);
    tf_loader_free(l2);
    lm_run_close(&r);
}

/* Rank 1's own checks fail: both ranks return its status, rank 0 naming rank 1. */
static void test_failure_on_one_rank_stops_all(void **state)
{
    (void)state;
    lm_run_t r;
    lm_run_open(&r, 3);
    r.po.clip_norm = rank_ == 1 ? -1.0 : 0.5;
    assert_status(tf_pretrain(r.m, r.l, NULL, &r.po, NULL), TF_STATUS_EINVAL);
    if (rank_ == 0) {
        assert_non_null(strstr(tf_last_error_message(), "rank 1 of 2 failed"));
        assert_non_null(strstr(tf_last_error_message(), "clip_norm"));
    }
    /* A model of another size on rank 1: the configurations differ. */
    tf_model_t *other = small_model(r.ctx, r.v, rank_ == 1 ? 12 : 10);
    r.po.clip_norm = 0.5;
    assert_status(tf_pretrain(other, r.l, NULL, &r.po, NULL), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "ranks differ"));
    tf_model_free(other);
    lm_run_close(&r);
}

static int stop_at_two(const tf_progress_t *p, void *payload)
{
    (void)payload;
    return rank_ == 1 && p->step == 2;
}

/* A progress callback that stops rank 1 stops rank 0 at the same step. */
static void test_stop_on_one_rank_stops_all(void **state)
{
    (void)state;
    lm_run_t r;
    lm_run_open(&r, 6);
    r.po.progress_every = 1;
    r.po.progress = stop_at_two;
    tf_train_report_t rep;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    assert_status(tf_pretrain(r.m, r.l, NULL, &r.po, &rep), TF_STATUS_ECANCELED);
    assert_int_equal(rep.steps, 2);
    lm_run_close(&r);
}

/* Not a case of the group: run alone by tests.cmake's failure test. Rank 1 dies before the
 * training call; the job must end (with an error), not wait for it. */
static int exit_early(void)
{
    lm_run_t r;
    lm_run_open(&r, 1000000);
    if (rank_ == 1)
        _exit(3);
    tf_status_t st = tf_pretrain(r.m, r.l, NULL, &r.po, NULL);
    fprintf(stderr, "rank 0: tf_pretrain returned %s: %s\n", tf_status_str(st),
            tf_last_error_message());
    return st == TF_STATUS_OK ? 0 : 2;
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (size_ != 2) {
        fprintf(stderr, "run with mpiexec -np 2\n");
        MPI_Finalize();
        return 1;
    }
    int rc;
    if (argc > 1 && strcmp(argv[1], "exit_early") == 0) {
        rc = setup(NULL) == 0 ? exit_early() : 1;
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pretrain_sgd_matches_one_rank),
            cmocka_unit_test(test_pretrain_adamw_matches_one_rank),
            cmocka_unit_test(test_finetune_matches_one_rank),
            cmocka_unit_test(test_checkpoint_from_two_ranks),
            cmocka_unit_test(test_resume_needs_same_ranks),
            cmocka_unit_test(test_failure_on_one_rank_stops_all),
            cmocka_unit_test(test_stop_on_one_rank_stops_all),
        };
        rc = tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0
                 ? 1
                 : cmocka_run_group_tests(tests, setup, teardown);
    }
    MPI_Finalize();
    return rc;
}
