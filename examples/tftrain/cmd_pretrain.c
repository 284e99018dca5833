/* tftrain pretrain: a word-level LSTM language model on unlabelled text. */
#include "tftrain.h"

#include <math.h>
#include <stdint.h>

static const char pretrain_help[] =
    "usage: tftrain pretrain --corpus FILE [--corpus FILE ...] --out MODEL [options]\n"
    "\n"
    "Pre-train an LSTM language model (next-word prediction) on unlabelled text, one text\n"
    "per line. The vocabulary is built from the corpora: words lower-cased, punctuation\n"
    "split off, the most frequent first. 5% of the lines (chosen by a hash of the line)\n"
    "are held out to report the validation perplexity.\n"
    "\n"
    "  --corpus FILE    text file, one text per line (repeat for several files)\n"
    "  --out MODEL      where to write the model (safetensors)\n"
    "  --vocab-size N   largest vocabulary, special tokens included (default 8000)\n"
    "  --tokenizer T    word (default): whole words, others become <unk>;\n"
    "                   bpe: subwords learnt from the corpora (byte-level BPE), so new\n"
    "                   words are spelled with known pieces; byte: one token per byte\n"
    "  --emb N          embedding size (default 100)\n"
    "  --hidden N       LSTM hidden size (default 200)\n"
    "  --layers N       stacked LSTM layers (default 1)\n"
    "  --bptt N         window length in tokens (default 64)\n"
    "  --batch N        parallel streams per batch (default 32)\n"
    "  --epochs N       passes over the corpus (default 1)\n"
    "  --steps N        train exactly N optimizer steps instead of whole epochs\n"
    "  --lr X           peak learning rate of AdamW (default 1e-2; warmup, cosine decay;\n"
    "                   lower it for much larger models if training diverges)\n"
    "  --threads N      compute threads, 0 = all cores (default 0)\n"
    "  --seed N         random seed (default 42)\n"
    "\n"
    "Progress goes to stderr; the last line on stdout is a summary:\n"
    "  steps=N train_loss=X valid_ppl=X seconds=X\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error, 3 training failed.\n";

int tt_cmd_pretrain(int argc, char **argv)
{
    static const char *cmd = "pretrain";
    tt_strings_t corpus = {{0}, 0};
    const char *out = NULL, *tokenizer = NULL;
    int32_t vocab_size = TT_DEFAULT_VOCAB, emb = TT_DEFAULT_EMB, hidden = TT_DEFAULT_HIDDEN;
    int32_t layers = TT_DEFAULT_LAYERS, bptt = 64, batch = 32, epochs = 1, threads = 0;
    int64_t steps = 0, seed = 42;
    double lr = 1e-2;
    tt_opt_t opts[] = {
        {"--corpus", TT_OPT_STRINGS, &corpus, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--vocab-size", TT_OPT_INT, &vocab_size, TF_VOCAB_NUM_SPECIALS + 1, 10000000, 0},
        {"--emb", TT_OPT_INT, &emb, 1, 65536, 0},
        {"--hidden", TT_OPT_INT, &hidden, 1, 65536, 0},
        {"--layers", TT_OPT_INT, &layers, 1, 16, 0},
        {"--bptt", TT_OPT_INT, &bptt, 2, 100000, 0},
        {"--batch", TT_OPT_INT, &batch, 1, 100000, 0},
        {"--epochs", TT_OPT_INT, &epochs, 1, 100000, 0},
        {"--steps", TT_OPT_I64, &steps, 1, INT64_MAX, 0},
        {"--lr", TT_OPT_DOUBLE, &lr, 0, 0, 0},
        {"--threads", TT_OPT_INT, &threads, 0, 1024, 0},
        {"--seed", TT_OPT_I64, &seed, 0, INT64_MAX, 0},
        {"--tokenizer", TT_OPT_STRING, &tokenizer, 0, 0, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *train = NULL, *valid = NULL;
    tf_model_t *model = NULL;
    tf_vocab_opts_t vopts;
    tf_loader_opts_t lopts;
    tf_model_opts_t mopts;
    tf_optim_opts_t oopts;
    tf_pretrain_opts_t popts;
    tf_train_report_t report;
    tt_progress_t progress;
    tf_status_t st;
    int64_t total;
    int rc;

    rc = tt_parse_args(cmd, argc, argv, opts, nopts, pretrain_help);
    if (rc != TT_EXIT_OK)
        return rc == TT_HELP_SHOWN ? TT_EXIT_OK : rc;
    if (corpus.count == 0)
        return tt_usage_error(cmd, "--corpus FILE is required");
    if (out == NULL)
        return tt_usage_error(cmd, "--out MODEL is required");
    if (tt_opt(opts, nopts, "--epochs")->seen && tt_opt(opts, nopts, "--steps")->seen)
        return tt_usage_error(cmd, "give --epochs or --steps, not both");

    rc = tt_vocab_opts(cmd, &vopts, vocab_size, tokenizer);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_ctx_create(cmd, &ctx, threads, (uint64_t)seed);
    if (rc != TT_EXIT_OK)
        return rc;

    tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
    lopts.batch_size = batch;
    lopts.bptt = bptt;
    lopts.shuffle = 1;
    lopts.split = TF_LOADER_SPLIT_TRAIN;
    lopts.valid_fraction = 0.05;
    st = tf_loader_create_lm_vocab(&train, &vocab, ctx, corpus.items, corpus.count, &vopts,
                                   &lopts);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot read the corpus");
        goto done;
    }
    tt_report_unknown(cmd, train, "the corpus (training lines)");
    lopts.split = TF_LOADER_SPLIT_VALID;
    lopts.shuffle = 0;
    st = tf_loader_create_lm(&valid, ctx, vocab, corpus.items, corpus.count, &lopts);
    if (st != TF_STATUS_OK) {
        fprintf(stderr, "tftrain %s: note: no validation split (%s); training without it\n", cmd,
                tf_last_error_message());
        valid = NULL;
    }
    tt_report_unknown(cmd, valid, "the corpus (validation lines)");

    tf_model_opts_init(&mopts, TF_MODEL_OPTS_VERSION);
    mopts.embedding_dim = emb;
    mopts.hidden_size = hidden;
    mopts.num_layers = layers;
    st = tf_model_create(&model, ctx, vocab, &mopts);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot create the model");
        goto done;
    }
    fprintf(stderr,
            "tftrain %s: vocabulary %d words, %lld training tokens, %lld batches per epoch, "
            "model %.2fM parameters\n",
            cmd, (int)tf_vocab_size(vocab), (long long)tf_loader_num_sequences(train),
            (long long)tf_loader_num_batches(train),
            (double)tf_model_num_params(model) / 1e6);

    total = steps > 0 ? steps : (int64_t)epochs * tf_loader_num_batches(train);
    tf_optim_opts_init(&oopts, TF_OPTIM_OPTS_VERSION);
    oopts.algorithm = TF_OPTIM_ADAMW;
    oopts.lr = lr;
    oopts.weight_decay = 0.01;
    oopts.schedule = TF_OPTIM_SCHED_WARMUP_COSINE;
    oopts.total_steps = total > 0 ? total : 1;
    oopts.warmup_steps = oopts.total_steps / 100;

    tf_pretrain_opts_init(&popts, TF_PRETRAIN_OPTS_VERSION);
    popts.epochs = epochs;
    popts.max_steps = steps;
    popts.optim = &oopts;
    popts.progress_every = 10;
    popts.progress = tt_progress_cb;
    popts.progress_payload = &progress;
    tt_progress_init(&progress, cmd);
    tf_train_report_init(&report, TF_TRAIN_REPORT_VERSION);
    tt_catch_interrupt();
    st = tf_pretrain(model, train, valid, &popts, &report);
    tt_progress_done(&progress);
    rc = tt_training_status(cmd, st, out, "pre-training failed");
    if (rc != TT_EXIT_OK)
        goto done;
    rc = tt_model_save(cmd, model, out);
    if (rc != TT_EXIT_OK)
        goto done;
    printf("steps=%lld train_loss=%.4f valid_ppl=%.2f seconds=%.1f\n", (long long)report.steps,
           report.train_loss, report.valid_metric, report.seconds);
done:
    tf_model_free(model);
    tf_loader_free(valid);
    tf_loader_free(train);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return rc;
}
