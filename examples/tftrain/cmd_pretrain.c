/* SPDX-License-Identifier: MIT */
/* tftrain pretrain: a word-level recurrent (LSTM or GRU) language model on unlabelled text, new or
 * continued from a pre-trained one (domain adaptation). */
#include "tftrain.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char pretrain_help[] =
    "usage: tftrain pretrain --corpus FILE [--corpus FILE ...] --out MODEL [--init MODEL]\n"
    "                        [options]\n"
    "\n"
    "Pre-train an LSTM (or GRU) language model (next-word prediction) on unlabelled text, one text\n"
    "per line. The vocabulary is built from the corpora: words lower-cased, punctuation\n"
    "split off, the most frequent first. 5% of the lines (chosen by a hash of the line)\n"
    "are held out to report the validation perplexity.\n"
    "\n"
    "With --init, a pre-trained language model goes on training on new text (domain\n"
    "adaptation): words of the corpora seen at least twice that its vocabulary lacks are\n"
    "added, the most frequent first, up to --vocab-size (their embedding and output rows\n"
    "start at the mean of the old ones; the number added is printed on stderr), then it is\n"
    "pre-trained from its own weights. The architecture and the tokenizer come from the\n"
    "model: --emb, --hidden, --layers, --cell, --tokenizer, --softmax and --cutoffs are\n"
    "refused. A subword or byte vocabulary already spells every word and does not grow.\n"
    "\n"
    "  --corpus FILE    text file, one text per line (repeat for several files)\n"
    "  --out MODEL      where to write the model (safetensors)\n"
    "  --init MODEL     pre-trained language model to continue from\n"
    "  --vocab-size N   largest vocabulary, special tokens included (default 8000; with\n"
    "                   --init, the size a word vocabulary may grow to: default its\n"
    "                   size + 2000)\n"
    "  --tokenizer T    word (default): whole words, others become <unk>;\n"
    "                   bpe: subwords learnt from the corpora (byte-level BPE), so new\n"
    "                   words are spelled with known pieces; byte: one token per byte\n"
    "  --init-embeddings F  word vectors (word2vec/GloVe/fastText .vec) to start from\n"
    "  --emb N          embedding size (default 100)\n"
    "  --hidden N       recurrent hidden size (default 200)\n"
    "  --layers N       stacked recurrent layers (default 1)\n"
    "  --cell C         recurrent cell: lstm (default) or gru (torch.nn.GRU's layout)\n"
    "  --softmax S      full (default): a softmax over the whole vocabulary; adaptive:\n"
    "                   an adaptive softmax (Grave et al. 2017, as PyTorch's\n"
    "                   AdaptiveLogSoftmaxWithLoss), far faster for a large vocabulary;\n"
    "                   its perplexity is exact and compares with the full one's\n"
    "  --cutoffs LIST   adaptive softmax cut-offs, increasing word ranks below the\n"
    "                   vocabulary size, e.g. 2000,6000: the head predicts the 2000 most\n"
    "                   frequent words and two clusters; required with --softmax adaptive\n"
    "  --bptt N         window length in tokens (default 64)\n"
    "  --batch N        parallel streams per batch (default 32)\n"
    "  --epochs N       passes over the corpus (default 1)\n"
    "  --steps N        train exactly N optimizer steps instead of whole epochs\n"
    "  --lr X           peak learning rate of AdamW (default 1e-2; warmup, cosine decay;\n"
    "                   lower it for much larger models if training diverges)\n"
    "  --threads N      compute threads, 0 = all cores (default 0)\n"
    "  --seed N         random seed (default 42)\n"
    "  --save-every N   every N steps, save a checkpoint: the model in\n"
    "                   MODEL.resume.safetensors, its training state in\n"
    "                   MODEL.resume.state (each file replaced whole, atomically)\n"
    "  --resume STATE   continue an interrupted run from its state file (the model is\n"
    "                   read from the .safetensors file next to it): give the same\n"
    "                   options and data, and it ends with the weights of a run that\n"
    "                   never stopped (at --threads 1: bit for bit)\n"
    "Ctrl-C (or SIGTERM) saves the same checkpoint, prints the command that resumes\n"
    "and exits with status 4. A run that completes deletes its checkpoint.\n"
    "\n"
    "Progress goes to stderr: a bar on a terminal, otherwise a table with one row per\n"
    "epoch (mean training loss, validation perplexity after it, time). The last line\n"
    "on stdout is a summary:\n"
    "  steps=N train_loss=X valid_ppl=X seconds=X\n";

static const char pretrain_help_numeric[] =
    "\n"
    "Numeric sequences:\n"
    "  --format FMT     text (default), or csv: the corpus is one CSV file of unlabelled\n"
    "                   sequences, one per line, F comma-separated values per step\n"
    "                   (x0f0,...,x0fF-1,x1f0,...); the model learns to predict each\n"
    "                   next step (mean squared error) from the values standardised\n"
    "                   per feature. The means and standard deviations of the training\n"
    "                   lines are saved in the model; finetune, eval and predict\n"
    "                   standardise with them. The summary gives valid_mse=X in place\n"
    "                   of valid_ppl. --vocab-size, --tokenizer, --bptt, --softmax,\n"
    "                   --cutoffs and --init-embeddings are for text only\n"
    "  --features F     values per step (required with --format csv unless --init)\n"
    "Images:\n"
    "  --format idx     the corpus is an IDX image file (MNIST's format, decompressed):\n"
    "                   each image is a sequence of its rows, one step of `columns`\n"
    "                   pixels each, scaled to [0, 1] and standardised with one mean\n"
    "                   and deviation over all pixels; the model learns to predict\n"
    "                   each next row. --features is the column count if given\n"
    "\n"
    TT_EXIT_HELP;

/* Extra words an --init model may take in without --vocab-size. */
#define TT_VOCAB_GROWTH 2000

/* Load the --init language model and add the corpora's new words (seen at least twice) up to
 * `max_size` (0: its size + TT_VOCAB_GROWTH). */
static int load_and_extend(const char *cmd, tf_ctx_t *ctx, const char *init,
                           const tt_strings_t *corpus, int32_t max_size, tf_model_t **model)
{
    tf_vocab_t *vocab;
    int32_t added = 0;
    int rc = tt_model_load(cmd, ctx, init, TF_MODEL_LOAD_BACKBONE, model);
    if (rc == TT_EXIT_OK)
        rc = tt_model_vocab(cmd, *model, &vocab);
    if (rc != TT_EXIT_OK)
        return rc;
    int32_t size = tf_vocab_size(vocab);
    if (tf_vocab_kind(vocab) != TF_VOCAB_KIND_WORD) {
        fprintf(stderr, "tftrain %s: the %s vocabulary of '%s' spells new words with its own "
                "pieces: none added\n", cmd,
                tf_vocab_kind(vocab) == TF_VOCAB_KIND_BYTE ? "byte" : "subword", init);
        return TT_EXIT_OK;
    }
    if (max_size == 0)
        max_size = size > INT32_MAX - TT_VOCAB_GROWTH ? INT32_MAX : size + TT_VOCAB_GROWTH;
    if (max_size < size)
        return tt_usage_error(cmd, "--vocab-size %d is below the vocabulary of '%s' (%d words); "
                              "it can only grow", (int)max_size, init, (int)size);
    tf_status_t st = tf_model_extend_vocab_files(*model, corpus->items, corpus->count, 2,
                                                 max_size, &added);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot extend the vocabulary of '%s'", init);
    fprintf(stderr, "tftrain %s: %d new words added to the vocabulary of '%s' (%d -> %d words)\n",
            cmd, (int)added, init, (int)size, (int)(size + added));
    return TT_EXIT_OK;
}

/* --format csv or idx: the model (loaded from `from`, or new with F features) and loaders of the
 * corpus's training lines (images) and of its validation ones (5%, by a hash of the line or
 * image), standardised with the model's statistics (a new model takes the training data's). */
static int numeric_setup(const char *cmd, tf_ctx_t *ctx, const char *from, const char *path,
                         int format, int32_t features, int features_seen, int32_t batch,
                         tf_model_opts_t *mopts,
                         tf_model_t **model, tf_loader_t **train, tf_loader_t **valid)
{
    tf_loader_opts_t lo;
    tf_status_t st;
    int rc;
    if (*model != NULL) {
        rc = tt_check_input(cmd, from, *model, format, features, features_seen);
        if (rc != TT_EXIT_OK)
            return rc;
        features = tt_model_features(*model);
    } else {
        mopts->input = TF_MODEL_INPUT_FEATURES;
        mopts->num_features = features;
        st = tf_model_create(model, ctx, NULL, mopts);
        if (st != TF_STATUS_OK)
            return tt_fail(cmd, st, "cannot create the model");
    }
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = batch;
    lo.shuffle = 1;
    lo.split = TF_LOADER_SPLIT_TRAIN;
    lo.valid_fraction = 0.05;
    lo.num_features = features;
    lo.next_step = 1;
    const tt_idx_t images = {NULL, 0}, *idx = format == TT_FORMAT_IDX ? &images : NULL;
    rc = tt_numeric_loader(cmd, ctx, path, path, &lo, idx, *model, TT_NUM_LEARN, train);
    if (rc != TT_EXIT_OK)
        return rc;
    lo.split = TF_LOADER_SPLIT_VALID;
    lo.shuffle = 0;
    rc = tt_numeric_loader(cmd, ctx, path, path, &lo, idx, *model, TT_NUM_EMPTY_OK, valid);
    if (rc != TT_EXIT_OK)
        return rc;
    fprintf(stderr,
            "tftrain %s: numeric sequences of %d features, %lld training and %lld validation "
            "sequences, %lld batches per epoch, model %.2fM parameters\n",
            cmd, (int)features, (long long)tf_loader_num_sequences(*train),
            (long long)(*valid != NULL ? tf_loader_num_sequences(*valid) : 0),
            (long long)tf_loader_num_batches(*train), (double)tf_model_num_params(*model) / 1e6);
    return TT_EXIT_OK;
}

typedef struct pretrain_call {
    tf_model_t *model;
    tf_loader_t *train, *valid;
    const tf_pretrain_opts_t *opts;
} pretrain_call_t;

static tf_status_t pretrain_step(void *arg, tf_train_report_t *report)
{
    const pretrain_call_t *c = (const pretrain_call_t *)arg;
    return tf_pretrain(c->model, c->train, c->valid, c->opts, report);
}

/* --softmax full|adaptive and --cutoffs A,B,...: the model's LM head. */
static int parse_softmax(const char *cmd, const char *softmax, const char *cutoffs, tf_model_opts_t *mo)
{
    if (softmax == NULL || strcmp(softmax, "full") == 0) {
        if (cutoffs != NULL)
            return tt_usage_error(cmd, "--cutoffs is for --softmax adaptive");
        return TT_EXIT_OK;
    }
    if (strcmp(softmax, "adaptive") != 0)
        return tt_usage_error(cmd, "--softmax is '%s'; use full or adaptive", softmax);
    if (cutoffs == NULL)
        return tt_usage_error(cmd, "--softmax adaptive needs --cutoffs (e.g. 2000,6000)");
    mo->softmax = TF_MODEL_SOFTMAX_ADAPTIVE;
    const char *p = cutoffs;
    for (int n = 0;; n++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (n == TF_MODEL_MAX_CUTOFFS || end == p || errno != 0 || v < 1 || v > INT32_MAX ||
            (*end != ',' && *end != '\0'))
            return tt_usage_error(cmd, "--cutoffs '%s' is not a list of 1 to %d positive integers separated by "
                                  "commas", cutoffs, TF_MODEL_MAX_CUTOFFS);
        mo->cutoffs[n] = (int32_t)v;
        if (*end == '\0')
            return TT_EXIT_OK;
        p = end + 1;
    }
}

int tt_cmd_pretrain(int argc, char **argv)
{
    static const char *const arch_flags[] = {"--emb", "--hidden", "--layers", "--cell",
                                             "--tokenizer", "--softmax", "--cutoffs",
                                             "--init-embeddings"};
    static const char *cmd = "pretrain";
    tt_strings_t corpus = {{0}, 0};
    const char *out = NULL, *init = NULL, *tokenizer = NULL, *cell_name = NULL, *softmax = NULL;
    const char *resume = NULL, *cutoffs = NULL, *vectors = NULL, *format_name = NULL;
    static const char *const text_flags[] = {"--vocab-size", "--tokenizer", "--bptt", "--softmax",
                                             "--cutoffs", "--init-embeddings"};
    int32_t features = 1;
    int format;
    int32_t vocab_size = TT_DEFAULT_VOCAB, emb = TT_DEFAULT_EMB, hidden = TT_DEFAULT_HIDDEN;
    int32_t layers = TT_DEFAULT_LAYERS, bptt = 64, batch = 32, epochs = 1, threads = 0;
    int64_t steps = 0, seed = 42, save_every = 0;
    double lr = 1e-2;
    tt_opt_t opts[] = {
        {"--corpus", TT_OPT_STRINGS, &corpus, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--init", TT_OPT_STRING, &init, 0, 0, 0},
        {"--vocab-size", TT_OPT_INT, &vocab_size, TF_VOCAB_NUM_SPECIALS + 1, 10000000, 0},
        TT_ARCH_OPTS(emb, hidden, layers, cell_name),
        {"--bptt", TT_OPT_INT, &bptt, 2, 100000, 0},
        {"--batch", TT_OPT_INT, &batch, 1, 100000, 0},
        {"--epochs", TT_OPT_INT, &epochs, 1, 100000, 0},
        {"--steps", TT_OPT_I64, &steps, 1, INT64_MAX, 0},
        {"--lr", TT_OPT_DOUBLE, &lr, 0, 0, 0},
        TT_RUN_OPTS(threads, seed, save_every, resume),
        {"--tokenizer", TT_OPT_STRING, &tokenizer, 0, 0, 0},
        {"--softmax", TT_OPT_STRING, &softmax, 0, 0, 0},
        {"--cutoffs", TT_OPT_STRING, &cutoffs, 0, 0, 0},
        {"--init-embeddings", TT_OPT_STRING, &vectors, 0, 0, 0},
        {"--format", TT_OPT_STRING, &format_name, 0, 0, 0},
        {"--features", TT_OPT_INT, &features, 1, 1 << 24, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--corpus FILE", "--out MODEL", NULL};
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *train = NULL, *valid = NULL;
    tf_model_t *model = NULL;
    tf_vocab_opts_t vopts;
    tf_loader_opts_t lopts;
    tf_model_opts_t mopts;
    tf_optimizer_opts_t oopts;
    tf_pretrain_opts_t popts;
    tf_train_report_t report;
    tt_progress_t progress;
    tt_ckpt_t ck = {NULL, NULL, 0};
    pretrain_call_t call;
    tt_run_t run;
    double t0;
    tf_status_t st;
    int64_t total;
    int32_t cell;
    int rc;

    if (!tt_parse_command(cmd, argc, argv, opts, nopts, pretrain_help, pretrain_help_numeric,
                          required, &rc))
        return rc;
    if (tt_opt(opts, nopts, "--epochs")->seen && tt_opt(opts, nopts, "--steps")->seen)
        return tt_usage_error(cmd, "give --epochs or --steps, not both");
    rc = tt_format(cmd, format_name, tt_opt(opts, nopts, "--features")->seen, &format);
    if (rc == TT_EXIT_OK && format != TT_FORMAT_TEXT)
        rc = tt_text_flags(cmd, opts, nopts, text_flags,
                           (int)(sizeof text_flags / sizeof text_flags[0]));
    if (rc != TT_EXIT_OK)
        return rc;
    if (format != TT_FORMAT_TEXT && corpus.count != 1)
        return tt_usage_error(cmd, "--format csv or idx reads one --corpus file");
    if (format == TT_FORMAT_IDX && !tt_opt(opts, nopts, "--features")->seen)
        features = tt_idx_features(corpus.items[0]) > 0 ? tt_idx_features(corpus.items[0]) : 1;
    if (format == TT_FORMAT_CSV && init == NULL && resume == NULL &&
        !tt_opt(opts, nopts, "--features")->seen)
        return tt_usage_error(cmd, "--format csv needs --features F (values per step)");
    for (int i = 0; init != NULL && i < (int)(sizeof arch_flags / sizeof arch_flags[0]); i++)
        if (tt_opt(opts, nopts, arch_flags[i])->seen)
            return tt_usage_error(cmd, "%s cannot be used with --init (the architecture and the "
                                  "tokenizer come from the pre-trained model)", arch_flags[i]);

    tf_model_opts_init(&mopts, TF_MODEL_OPTS_VERSION);
    rc = parse_softmax(cmd, softmax, cutoffs, &mopts);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_vocab_opts(cmd, &vopts, vocab_size, tokenizer);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_cell(cmd, cell_name, &cell);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_ckpt_paths(cmd, out, resume, &ck);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_ctx_create(cmd, &ctx, threads, (uint64_t)seed);
    if (rc != TT_EXIT_OK)
        goto done;

    if (format != TT_FORMAT_TEXT) {
        if (ck.resuming)
            rc = tt_ckpt_load_model(cmd, ctx, &ck, &model);
        else if (init != NULL)
            rc = tt_model_load(cmd, ctx, init, TF_MODEL_LOAD_BACKBONE, &model);
        mopts.embedding_dim = emb;
        mopts.hidden_size = hidden;
        mopts.num_layers = layers;
        mopts.cell = cell;
        if (rc == TT_EXIT_OK)
            rc = numeric_setup(cmd, ctx, init != NULL ? init : ck.model, corpus.items[0], format,
                               features, tt_opt(opts, nopts, "--features")->seen, batch, &mopts,
                               &model, &train, &valid);
        if (rc != TT_EXIT_OK)
            goto done;
        goto ready;
    }
    tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
    lopts.batch_size = batch;
    lopts.bptt = bptt;
    lopts.shuffle = 1;
    lopts.split = TF_LOADER_SPLIT_TRAIN;
    lopts.valid_fraction = 0.05;
    if (ck.resuming || init != NULL) {
        /* A resumed run's checkpoint has the vocabulary (grown, with --init) it trains with. */
        if (ck.resuming)
            rc = tt_ckpt_load_model(cmd, ctx, &ck, &model);
        else
            rc = load_and_extend(cmd, ctx, init, &corpus, tt_opt(opts, nopts, "--vocab-size")->seen
                                 ? vocab_size : 0, &model);
        if (rc != TT_EXIT_OK)
            goto done;
        st = tf_loader_create_lm(&train, ctx, tf_model_vocab(model), corpus.items, corpus.count,
                                 &lopts);
    } else {
        st = tf_loader_create_lm_vocab(&train, &vocab, ctx, corpus.items, corpus.count, &vopts,
                                       &lopts);
    }
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot read the corpus");
        goto done;
    }
    tt_report_unknown(cmd, train, "the corpus (training lines)");
    lopts.split = TF_LOADER_SPLIT_VALID;
    lopts.shuffle = 0;
    st = tf_loader_create_lm(&valid, ctx, model != NULL ? tf_model_vocab(model) : vocab,
                             corpus.items, corpus.count, &lopts);
    if (st != TF_STATUS_OK) {
        fprintf(stderr, "tftrain %s: note: no validation split (%s); training without it\n", cmd,
                tf_last_error_message());
        valid = NULL;
    }
    tt_report_unknown(cmd, valid, "the corpus (validation lines)");

    if (model == NULL) {
        mopts.embedding_dim = emb;
        mopts.hidden_size = hidden;
        mopts.num_layers = layers;
        mopts.cell = cell;
        st = tf_model_create(&model, ctx, vocab, &mopts);
        if (st != TF_STATUS_OK) {
            rc = tt_fail(cmd, st, "cannot create the model");
            goto done;
        }
        rc = tt_init_embeddings(cmd, model, vectors);
        if (rc != TT_EXIT_OK)
            goto done;
    }
    fprintf(stderr,
            "tftrain %s: vocabulary %d words, %lld training tokens, %lld batches per epoch, "
            "model %.2fM parameters\n",
            cmd, (int)tf_vocab_size(tf_model_vocab(model)), (long long)tf_loader_num_sequences(train),
            (long long)tf_loader_num_batches(train),
            (double)tf_model_num_params(model) / 1e6);
ready:
    rc = tt_ckpt_load_state(cmd, model, train, &ck);
    if (rc != TT_EXIT_OK)
        goto done;

    total = steps > 0 ? steps : (int64_t)epochs * tf_loader_num_batches(train);
    tf_optimizer_opts_init(&oopts, TF_OPTIMIZER_OPTS_VERSION);
    oopts.algorithm = TF_OPTIMIZER_ADAMW;
    oopts.lr = lr;
    oopts.weight_decay = 0.01;
    oopts.schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    oopts.total_steps = total > 0 ? total : 1;
    oopts.warmup_steps = oopts.total_steps / 100;

    tf_pretrain_opts_init(&popts, TF_PRETRAIN_OPTS_VERSION);
    popts.epochs = epochs;
    popts.max_steps = steps;
    popts.optim = &oopts;
    tt_progress_init(&progress, cmd, save_every);
    if (format != TT_FORMAT_TEXT)
        progress.valid_name = "valid_mse";
    popts.progress_every = tt_progress_every(&progress, 10);
    popts.progress = tt_progress_cb;
    popts.progress_payload = &progress;
    popts.dist = tt_dist(cmd);
    tf_train_report_init(&report, TF_TRAIN_REPORT_VERSION);
    call = (pretrain_call_t){model, train, valid, &popts};
    run = (tt_run_t){cmd, "pre-training failed", pretrain_step, &call, model, train, &progress,
                     &ck, argc, argv, NULL};
    rc = tt_run_and_save(&run, &report, out, &t0);
    if (rc != TT_EXIT_OK)
        goto done;
    if (format != TT_FORMAT_TEXT)
        printf("steps=%lld train_loss=%.4f valid_mse=%.4f seconds=%.1f\n",
               (long long)report.steps, report.train_loss, report.valid_metric, tt_now() - t0);
    else
        printf("steps=%lld train_loss=%.4f valid_ppl=%.2f seconds=%.1f\n",
               (long long)report.steps, report.train_loss, report.valid_metric, tt_now() - t0);
done:
    tt_ckpt_free(&ck);
    tf_model_free(model);
    tf_loader_free(valid);
    tf_loader_free(train);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return rc;
}
