/* SPDX-License-Identifier: MIT */
/**
 * Pre-train on unlabelled e-mails, fine-tune on a few labelled ones, save the model, load it back
 * and predict with both copies.
 *
 * usage: train_predict DATA_DIR MODEL_FILE [PRETRAIN_STEPS [FINETUNE_EPOCHS]]
 * DATA_DIR holds unlabeled.txt and train-10pct.tsv (examples/data/spam).
 */
#include <transfer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* On failure: print the status and the thread's last error message, then free everything. */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        tf_status_t st_ = (call);                                                                  \
        if (st_ != TF_STATUS_OK) {                                                                 \
            fprintf(stderr, "%s failed: %s: %s\n", #call, tf_status_str(st_),                      \
                    tf_last_error_message());                                                      \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    static const char text[] = "Subject: free money, click now to claim your prize";
    char unlabeled[4096], labeled[4096];
    const char *paths[1];
    tf_ctx_opts_t co;
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    tf_model_opts_t mo;
    tf_pretrain_opts_t po;
    tf_finetune_opts_t fo;
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *lm = NULL, *train = NULL;
    tf_model_t *model = NULL, *loaded = NULL;
    float before[2], after[2];
    int32_t i, rc = 1;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s DATA_DIR MODEL_FILE [PRETRAIN_STEPS [FINETUNE_EPOCHS]]\n",
                argv[0]);
        return 2;
    }
    snprintf(unlabeled, sizeof unlabeled, "%s/unlabeled.txt", argv[1]);
    snprintf(labeled, sizeof labeled, "%s/train-10pct.tsv", argv[1]);

    CHECK(tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION));
    co.seed = 1;
    CHECK(tf_ctx_create(&ctx, &co));

    /* 1. Pre-train: a vocabulary and a language-model stream from the unlabelled text, then
     *    next-word prediction. */
    CHECK(tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION));
    vo.lowercase = 1;
    vo.max_size = 5000;
    CHECK(tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION));
    lo.batch_size = 16;
    lo.bptt = 32;
    paths[0] = unlabeled;
    CHECK(tf_loader_create_lm_vocab(&lm, &vocab, ctx, paths, 1, &vo, &lo));
    CHECK(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    mo.embedding_dim = 32;
    mo.hidden_size = 64;
    CHECK(tf_model_create(&model, ctx, vocab, &mo));
    CHECK(tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION));
    po.max_steps = argc > 3 ? atoi(argv[3]) : 300;
    CHECK(tf_pretrain(model, lm, NULL, &po, NULL));

    /* 2. Fine-tune: labelled lines encoded with the model's vocabulary; the labels (ham, spam)
     *    become the model's classes. */
    lo.max_len = 200; /* e-mails are long: keep their first 200 tokens */
    CHECK(tf_loader_create_labeled(&train, ctx, tf_model_vocab(model), labeled, &lo));
    CHECK(tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION));
    if (argc > 4)
        fo.epochs = atoi(argv[4]); /* default 8 */
    CHECK(tf_finetune(model, train, NULL, &fo, NULL));
    CHECK(tf_predict_text(model, text, strlen(text), before, 2));

    /* 3. Save, load into a new model, and predict again: the same probabilities. */
    CHECK(tf_model_save(model, argv[2]));
    CHECK(tf_model_load(&loaded, ctx, argv[2], 0));
    CHECK(tf_predict_text(loaded, text, strlen(text), after, 2));
    if (memcmp(before, after, sizeof before) != 0) {
        fprintf(stderr, "the loaded model predicts differently\n");
        goto done;
    }
    for (i = 0; i < tf_model_num_classes(loaded); i++)
        printf("P(%s) = %.4f\n", tf_model_label_name(loaded, i), after[i]);
    rc = 0;

done:
    tf_model_free(loaded);
    tf_model_free(model);
    tf_loader_free(train);
    tf_loader_free(lm);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return rc;
}
