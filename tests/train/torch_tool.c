/* SPDX-License-Identifier: MIT */
/* Trains a tiny model on the synthetic sentences given on the command line's files, saves it,
 * and prints, for each probe text, its token ids, the class probabilities and the language
 * model's mean next-token loss:
 *   torch_tool CORPUS TRAIN_TSV MODEL_OUT [pooling [decision [NEW_CORPUS]]]
 *   -> lines "ids=4,5,6 probs=0.1,0.9 lm=2.5" for the probes read from stdin (one per line)
 * decision (an OR, default 0): 1 = calibrate a temperature on the training data and decide for
 * a prior other than the training one; 2 = balanced class weights (a model prior other than the
 * training prior); 4 = a GRU backbone instead of an LSTM. With NEW_CORPUS, the pre-trained model's vocabulary grows with its words and
 * pre-training goes on there before fine-tuning. Used by test_torch_checkpoint.py to compare with
 * an equivalent PyTorch model. */
#include <transfer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(x)                                                                                      \
    do {                                                                                           \
        tf_status_t s_ = (x);                                                                      \
        if (s_ != TF_STATUS_OK) {                                                                  \
            fprintf(stderr, "%s: %s\n", tf_status_str(s_), tf_last_error_message());             \
            return 2;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 4)
        return 1;
    tf_ctx_t *ctx;
    tf_ctx_opts_t co;
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = 1;
    co.seed = 3;
    CK(tf_ctx_create(&ctx, &co));
    tf_vocab_t *vocab;
    const char *paths[1] = {argv[1]};
    CK(tf_vocab_build_files(&vocab, ctx, paths, 1, NULL));
    tf_loader_t *lm, *tr;
    tf_loader_opts_t lo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 8;
    lo.bptt = 10;
    CK(tf_loader_create_lm(&lm, ctx, vocab, paths, 1, &lo));
    CK(tf_loader_create_labeled(&tr, ctx, vocab, argv[2], &lo));
    tf_model_opts_t mo;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 12;
    mo.hidden_size = 16;
    mo.num_layers = 2;
    mo.cell = argc > 5 && (atoi(argv[5]) & 4) ? TF_CELL_GRU : TF_CELL_LSTM;
    tf_model_t *m;
    CK(tf_model_create(&m, ctx, vocab, &mo));
    tf_pretrain_opts_t po;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = 30;
    CK(tf_pretrain(m, lm, NULL, &po, NULL));
    if (argc > 6) {
        const char *more[1] = {argv[6]};
        tf_loader_t *lm2;
        int32_t added;
        CK(tf_model_extend_vocab_files(m, more, 1, 1, 0, &added));
        CK(tf_loader_create_lm(&lm2, ctx, tf_model_vocab(m), more, 1, &lo));
        po.max_steps = 10;
        CK(tf_pretrain(m, lm2, NULL, &po, NULL));
        tf_loader_free(lm2);
        tf_loader_free(tr);
        CK(tf_loader_create_labeled(&tr, ctx, tf_model_vocab(m), argv[2], &lo));
    }
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.epochs = 2;
    if (argc > 4)
        fo.pooling = (uint32_t)atoi(argv[4]);
    int decision = argc > 5 ? atoi(argv[5]) : 0;
    if (decision & 2)
        fo.class_weight = TF_CLASS_WEIGHT_BALANCED;
    CK(tf_finetune(m, tr, NULL, &fo, NULL));
    if (decision & 1) {
        /* The training prior tilted towards the later classes: p_c ~ train_c (c + 1)^2. */
        double prior[16], sum = 0;
        int32_t C = tf_model_num_classes(m);
        CK(tf_model_calibrate(m, tr, NULL));
        CK(tf_model_prior(m, TF_PRIOR_TRAIN, prior, 16));
        for (int32_t c = 0; c < C; c++)
            sum += (prior[c] *= (double)((c + 1) * (c + 1)));
        for (int32_t c = 0; c < C; c++)
            prior[c] /= sum;
        CK(tf_model_set_prior(m, prior, (size_t)C));
    }
    CK(tf_model_save(m, argv[3]));
    char line[4096];
    int32_t ids[1024];
    float probs[16];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n, len = strcspn(line, "\n");
        double lm_loss;
        CK(tf_vocab_encode(tf_model_vocab(m), line, len, ids, 1024, &n));
        CK(tf_predict_ids(m, ids, (int64_t)n, probs, 16));
        printf("ids=");
        for (size_t i = 0; i < n; i++)
            printf(i ? ",%d" : "%d", ids[i]);
        printf(" probs=");
        for (int32_t c = 0; c < tf_model_num_classes(m); c++)
            printf(c ? ",%.9g" : "%.9g", probs[c]);
        CK(tf_lm_score_text(m, line, len, &lm_loss));
        printf(" lm=%.9g\n", lm_loss);
    }
    tf_model_free(m);
    tf_loader_free(lm);
    tf_loader_free(tr);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return 0;
}
