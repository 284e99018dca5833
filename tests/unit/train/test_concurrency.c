/* SPDX-License-Identifier: MIT */
/* What transfer/context.h promises about threads: distinct contexts (each with its objects) may be
 * used at once from different threads and give the same bits as one after the other; a context
 * and its objects may move between threads between calls; a tensor nobody writes may be read from
 * several threads. scripts/test also runs these under ThreadSanitizer. */
#include "tf_test.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char corpus[96], tsv[96];

typedef struct {
    uint64_t seed;
    float *weights;
    int64_t n;
    float probs[2];
    tf_status_t st;
} job_t;

static void write_data(void)
{
    char dir[] = "/tmp/tf_conc_XXXXXX";
    if (mkdtemp(dir) == NULL)
        fail_msg("mkdtemp failed");
    snprintf(corpus, sizeof corpus, "%s/c.txt", dir);
    snprintf(tsv, sizeof tsv, "%s/t.tsv", dir);
    FILE *c = fopen(corpus, "w"), *t = fopen(tsv, "w");
    const char *w[] = {"red", "green", "blue", "apple", "sky", "grass", "is", "the"};
    for (int i = 0; i < 400; i++) {
        int a = i % 3, b = (i / 3) % 3;
        fprintf(c, "the %s is %s\n", w[3 + a], w[b]);
        fprintf(t, "%s\tthe %s is %s\n", a == b ? "true" : "false", w[3 + a], w[b]);
    }
    fclose(c);
    fclose(t);
}

/* fn(a) and fn(b) on two threads at once. */
static void run_at_once(void *(*fn)(void *), void *a, void *b)
{
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, fn, a), 0);
    assert_int_equal(pthread_create(&tb, NULL, fn, b), 0);
    assert_int_equal(pthread_join(ta, NULL), 0);
    assert_int_equal(pthread_join(tb, NULL), 0);
}

static void *train_one(void *arg)
{
    job_t *j = arg;
    tf_ctx_t *ctx;
    tf_ctx_opts_t co;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *lm = NULL, *tr = NULL;
    tf_model_t *m = NULL;
    tf_loader_opts_t lo;
    tf_model_opts_t mo;
    tf_pretrain_opts_t po;
    tf_finetune_opts_t fo;
    const char *paths[1] = {corpus};
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = 1;
    co.seed = j->seed;
    j->st = tf_ctx_create(&ctx, &co);
    if (j->st != TF_STATUS_OK)
        return NULL;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 8;
    lo.bptt = 8;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 16;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 20;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 2;
    if ((j->st = tf_vocab_build_files(&vocab, ctx, paths, 1, NULL)) == TF_STATUS_OK &&
        (j->st = tf_loader_create_lm(&lm, ctx, vocab, paths, 1, &lo)) == TF_STATUS_OK &&
        (j->st = tf_loader_create_labeled(&tr, ctx, vocab, tsv, &lo)) == TF_STATUS_OK &&
        (j->st = tf_model_create(&m, ctx, vocab, &mo)) == TF_STATUS_OK &&
        (j->st = tf_pretrain(m, lm, NULL, &po, NULL)) == TF_STATUS_OK &&
        (j->st = tf_finetune(m, tr, NULL, &fo, NULL)) == TF_STATUS_OK &&
        (j->st = tf_predict_text(m, "the sky is blue", strlen("the sky is blue"), j->probs, 2)) ==
            TF_STATUS_OK) {
        tf_module_t *enc = tf_model_encoder(m);
        j->n = tf_module_param_numel(enc);
        j->weights = malloc((size_t)j->n * sizeof(float));
        int64_t at = 0;
        for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
            tf_tensor_t *p;
            tf_module_param_at(NULL, &p, NULL, enc, i);
            memcpy(j->weights + at, tf_tensor_data(p), tf_tensor_nbytes(p));
            at += tf_tensor_numel(p);
        }
    }
    tf_model_free(m);
    tf_loader_free(tr);
    tf_loader_free(lm);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return NULL;
}

static void test_concurrency_two_models_match_sequential(void **state)
{
    job_t seq[2] = {{.seed = 1}, {.seed = 2}}, par[2] = {{.seed = 1}, {.seed = 2}};
    (void)state;
    write_data();
    train_one(&seq[0]);
    train_one(&seq[1]);
    run_at_once(train_one, &par[0], &par[1]);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seq[i].st, TF_STATUS_OK);
        assert_int_equal(par[i].st, TF_STATUS_OK);
        assert_int_equal(seq[i].n, par[i].n);
        assert_memory_equal(seq[i].weights, par[i].weights, (size_t)seq[i].n * sizeof(float));
        assert_memory_equal(seq[i].probs, par[i].probs, sizeof seq[i].probs);
        free(seq[i].weights);
        free(par[i].weights);
    }
    /* different seeds really give different models (the comparison above can fail) */
    assert_true(memcmp(seq[0].probs, seq[1].probs, sizeof seq[0].probs) != 0);
}

/* One LSTM layer big enough that a context with 2 threads splits its GEMMs and its time loop. */
enum { LT = 4, LB = 32, LI = 96, LH = 128 };

/* A context and an LSTM made on one thread, run (forward, backward) on others, read back on a
 * last one: the outputs, input gradient and parameter gradients, flattened. */
typedef struct {
    int32_t threads;
    const tf_tensor_t *x; /* (T, B, I), shared by every job, read only */
    tf_ctx_t *ctx;
    tf_module_t *m;
    tf_tensor_t *dy;
    float *out; /* y, then dx, then every parameter's gradient */
    tf_status_t st;
} lstm_job_t;

static size_t lstm_out_floats(void)
{
    return (size_t)(LT * LB * LH) + (size_t)(LT * LB * LI) + 4 * LH * (LI + LH + 2);
}

static void lstm_create(lstm_job_t *j)
{
    tf_ctx_opts_t co;
    tf_rnn_opts_t lo;
    const int64_t shape[3] = {LT, LB, LH};
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = j->threads;
    co.seed = 7;
    tf_rnn_opts_init(&lo, TF_RNN_OPTS_VERSION);
    lo.input_size = LI;
    lo.hidden_size = LH;
    j->ctx = NULL;
    j->m = NULL;
    j->dy = NULL;
    j->out = calloc(lstm_out_floats(), sizeof(float));
    if ((j->st = tf_ctx_create(&j->ctx, &co)) == TF_STATUS_OK &&
        (j->st = tf_rnn_create(&j->m, j->ctx, &lo)) == TF_STATUS_OK &&
        (j->st = tf_tensor_create(&j->dy, j->ctx, TF_DTYPE_F32, shape, 3)) == TF_STATUS_OK)
        j->st = tf_tensor_fill(j->dy, 0.5);
}

static void *lstm_forward(void *arg)
{
    lstm_job_t *j = arg;
    tf_tensor_t *y;
    if (j->st == TF_STATUS_OK && (j->st = tf_module_forward(&y, j->m, j->x, NULL)) == TF_STATUS_OK)
        memcpy(j->out, tf_tensor_data(y), tf_tensor_nbytes(y));
    return NULL;
}

static void *lstm_backward(void *arg)
{
    lstm_job_t *j = arg;
    tf_tensor_t *dx;
    if (j->st == TF_STATUS_OK && (j->st = tf_module_backward(&dx, j->m, j->dy)) == TF_STATUS_OK)
        memcpy(j->out + LT * LB * LH, tf_tensor_data(dx), tf_tensor_nbytes(dx));
    return NULL;
}

static void lstm_finish(lstm_job_t *j)
{
    float *at = j->out + LT * LB * (LH + LI);
    for (uint32_t i = 0; j->st == TF_STATUS_OK && i < tf_module_num_params(j->m); i++) {
        tf_tensor_t *g;
        if ((j->st = tf_module_param_at(NULL, NULL, &g, j->m, i)) == TF_STATUS_OK) {
            memcpy(at, tf_tensor_data(g), tf_tensor_nbytes(g));
            at += tf_tensor_numel(g);
        }
    }
    if (j->st == TF_STATUS_OK)
        assert_true(at == j->out + lstm_out_floats());
    tf_tensor_free(j->dy);
    tf_module_free(j->m);
    tf_ctx_free(j->ctx);
}

static void *lstm_whole(void *arg)
{
    lstm_create(arg);
    lstm_forward(arg);
    lstm_backward(arg);
    lstm_finish(arg);
    return NULL;
}

static tf_tensor_t *shared_input(tf_ctx_t **ctx)
{
    tf_tensor_t *x;
    const int64_t shape[3] = {LT, LB, LI};
    assert_int_equal(tf_ctx_create(ctx, NULL), TF_STATUS_OK);
    assert_int_equal(tf_tensor_create(&x, *ctx, TF_DTYPE_F32, shape, 3), TF_STATUS_OK);
    float *d = tf_tensor_data(x);
    for (int64_t i = 0; i < LT * LB * LI; i++)
        d[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    return x;
}

/* Distinct contexts, one with 1 and one with 2 compute threads, run at once on two threads and
 * read the same input tensor: each gives the bits it gives alone. */
static void test_concurrency_contexts_with_different_thread_counts(void **state)
{
    (void)state;
    tf_ctx_t *xctx;
    tf_tensor_t *x = shared_input(&xctx);
    lstm_job_t seq[2] = {{.threads = 1, .x = x}, {.threads = 2, .x = x}};
    lstm_job_t par[2] = {{.threads = 1, .x = x}, {.threads = 2, .x = x}};
    lstm_whole(&seq[0]);
    lstm_whole(&seq[1]);
    run_at_once(lstm_whole, &par[0], &par[1]);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seq[i].st, TF_STATUS_OK);
        assert_int_equal(par[i].st, TF_STATUS_OK);
        assert_memory_equal(seq[i].out, par[i].out, lstm_out_floats() * sizeof(float));
    }
    /* the gradients are not all zero, so the comparison can fail */
    int nonzero = 0;
    for (size_t i = LT * LB * (LH + LI); i < lstm_out_floats(); i++)
        nonzero += seq[1].out[i] != 0.0f;
    assert_true(nonzero > 1000);
    for (int i = 0; i < 2; i++) {
        free(seq[i].out);
        free(par[i].out);
    }
    tf_tensor_free(x);
    tf_ctx_free(xctx);
}

/* A context and its objects move between threads between calls: created on this thread, forward
 * on a second, backward on a third, read back and freed here; the same bits as on one thread. */
static void test_concurrency_context_moves_between_threads(void **state)
{
    (void)state;
    tf_ctx_t *xctx;
    tf_tensor_t *x = shared_input(&xctx);
    lstm_job_t here = {.threads = 2, .x = x}, moved = {.threads = 2, .x = x};
    pthread_t th;
    lstm_whole(&here);
    lstm_create(&moved);
    assert_int_equal(pthread_create(&th, NULL, lstm_forward, &moved), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pthread_create(&th, NULL, lstm_backward, &moved), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    lstm_finish(&moved);
    assert_int_equal(here.st, TF_STATUS_OK);
    assert_int_equal(moved.st, TF_STATUS_OK);
    assert_memory_equal(here.out, moved.out, lstm_out_floats() * sizeof(float));
    free(here.out);
    free(moved.out);
    tf_tensor_free(x);
    tf_ctx_free(xctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_two_models_match_sequential),
        cmocka_unit_test(test_concurrency_contexts_with_different_thread_counts),
        cmocka_unit_test(test_concurrency_context_moves_between_threads),
    };
    return TF_TEST_RUN(tests);
}
