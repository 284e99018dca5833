/* Two threads training two independent models at once give bit-for-bit the results of training
 * them one after the other (each model has its own context; nothing is shared). scripts/test also
 * runs it under ThreadSanitizer. */
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
    pthread_t th[2];
    (void)state;
    write_data();
    train_one(&seq[0]);
    train_one(&seq[1]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, train_one, &par[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrency_two_models_match_sequential),
    };
    return TF_TEST_RUN(tests);
}
