/* SPDX-License-Identifier: MIT */
/* tftrain finetune: a text classifier, from a pre-trained model or from scratch. */
#include "tftrain.h"

#include <stdint.h>
#include <string.h>

static const char finetune_help[] =
    "usage: tftrain finetune --train TSV [--valid TSV] --out MODEL [--init PRETRAINED] [options]\n"
    "\n"
    "Train a classifier on `label<TAB>text` lines (with --multi-label, `labels<TAB>text`\n"
    "lines whose labels are a comma-separated set, possibly empty). With --init, the\n"
    "backbone and the\n"
    "vocabulary come from a model made by `tftrain pretrain` and a new task head is\n"
    "attached; without it the model is trained from scratch, with a vocabulary built from\n"
    "--train and the architecture flags below. The best weights by validation accuracy are\n"
    "kept, and a temperature is fitted on the validation texts so that the predicted\n"
    "probabilities are calibrated. Without --valid, 10% of the --train lines (by a hash\n"
    "of the line) are held out for validation.\n"
    "\n"
    "  --train TSV        labelled training data\n"
    "  --valid TSV        labelled validation data (same label names)\n"
    "  --out MODEL        where to write the fine-tuned model\n"
    "  --init MODEL       pre-trained model to start from\n"
    "  --multi-label      each text has a set of labels: one yes/no output per label\n"
    "                     (BCE); accuracy counts texts whose whole set is right\n"
    "  --strategy S       full | frozen | gradual (default full)\n"
    "                       full: every layer trains from the start, at the same rate;\n"
    "                       frozen: only the new head trains;\n"
    "                       gradual: ULMFiT's recipe: the head first, then one more layer\n"
    "                       each epoch, lower layers at the rate divided by 2.6 per layer\n"
    "  --epochs N         epochs; all run, the best one's weights are kept (default 8)\n"
    "  --patience N       early stopping: stop after N epochs without a better\n"
    "                     validation accuracy (default 0: every epoch runs)\n"
    "  --lr X             peak learning rate (default 1e-2; slanted triangular schedule)\n"
    "  --discriminative F rate divisor from one layer to the one below (>= 1; default 1,\n"
    "                     or 2.6 with --strategy gradual)\n"
    "  --head-dropout P   dropout before the task head, in [0, 1) (default 0.3)\n"
    "  --class-weight W   none | balanced | LABEL=W,... (default none)\n"
    "                       balanced: class c weighs n / (classes * n_c), so rare\n"
    "                       classes count as much as common ones; LABEL=W,...: the\n"
    "                       given weights, 1 for labels not named. The decision then\n"
    "                       assumes the weighted class balance (see `tftrain adapt`)\n"
    "  --max-len N        truncate texts to N tokens (default 256)\n"
    "  --batch N          texts per batch (default 32)\n"
    "  --threads N        compute threads, 0 = all cores (default 0)\n"
    "  --seed N           random seed (default 42)\n"
    "  --save-every N     every N steps, save a checkpoint: the model in\n"
    "                     MODEL.resume.safetensors, its training state in\n"
    "                     MODEL.resume.state (each file replaced whole, atomically)\n"
    "  --resume STATE     continue an interrupted run from its state file (the model\n"
    "                     is read from the .safetensors file next to it): give the\n"
    "                     same options and data, and it ends with the weights of a\n"
    "                     run that never stopped (at --threads 1: bit for bit)\n"
    "Architecture, from scratch only (same defaults as `tftrain pretrain`):\n"
    "  --vocab-size N  --emb N  --hidden N  --layers N  --cell lstm|gru\n"
    "  --tokenizer word|bpe|byte\n"
    "  --init-embeddings FILE  word vectors (word2vec/GloVe/fastText text format,\n"
    "                   header optional) for the words they list\n"
    "Ctrl-C (or SIGTERM) saves the same checkpoint, prints the command that resumes\n"
    "and exits with status 4. A run that completes deletes its checkpoint.\n"
    "\n"
    "Progress goes to stderr: a bar on a terminal, otherwise a table with one row per\n"
    "epoch (mean training loss, validation accuracy after it, time). The last line on\n"
    "stdout is a summary:\n"
    "  epochs=N best_epoch=N valid_accuracy=X train_loss=X seconds=X\n";

static const char finetune_help_numeric[] =
    "\n"
    "The task head and the optimizer:\n"
    "  --pooling LIST     what the head sees of the top layer's states over the valid\n"
    "                     steps: a comma-separated set of last, mean and max,\n"
    "                     concatenated (default last,mean,max)\n"
    "  --weight-decay X   AdamW weight decay, in [0, 1) (default 0.01)\n"
    "  --keep-head        with --init of a fine-tuned model: keep its task head (same\n"
    "                     labels and pooling) instead of a new one, e.g. to fine-tune\n"
    "                     the whole model after training the head alone (--strategy\n"
    "                     frozen)\n"
    "\n"
    "  --no-valid         no validation: every --train line trains, all epochs run and\n"
    "                     the last one's weights are kept, without calibration (for\n"
    "                     so few labelled lines that a held-out tenth says little)\n"
    "\n"
    "Numeric sequences:\n"
    "  --format FMT       text (default), or csv: `label,x0f0,...,x0fF-1,x1f0,...` lines,\n"
    "                     a label then F values per step, standardised with the\n"
    "                     statistics saved in the --init model (from scratch: those of\n"
    "                     the training lines, saved in the new model). --vocab-size,\n"
    "                     --tokenizer, --init-embeddings and --multi-label are for text\n"
    "  --features F       values per step (required with --format csv from scratch;\n"
    "                     with --init it must be the model's)\n"
    "Images:\n"
    "  --format idx       --train is an IDX image file (MNIST's format, decompressed),\n"
    "                     each image a sequence of its rows, with --labels FILE its IDX\n"
    "                     label file; labels are named by their value (\"0\", \"1\", ...)\n"
    "  --labels FILE      the IDX label file of --train\n"
    "  --valid-labels FILE  the IDX label file of --valid\n"
    "  --per-class N      train on the first N images of each label of --train, in file\n"
    "                     order (a class-balanced subset; 0 = all, the default); the\n"
    "                     held-out 10% (without --valid) is taken from those images\n"
    "\n"
    TT_EXIT_HELP;

/* A loader of `path` in the data format: text (`create` with the model's vocabulary), CSV or
 * IDX images with `idx` (tt_numeric_loader() with `flags`). */
static int make_loader(const char *cmd, tf_ctx_t *ctx, int format,
                       tf_status_t (*create)(tf_loader_t **, tf_ctx_t *, tf_vocab_t *,
                                             const char *, const tf_loader_opts_t *),
                       tf_model_t *model, const char *path, const char *shown,
                       const tf_loader_opts_t *lopts, const tt_idx_t *idx, int flags,
                       tf_loader_t **out)
{
    tf_status_t st;
    if (format != TT_FORMAT_TEXT)
        return tt_numeric_loader(cmd, ctx, path, path, lopts,
                                 format == TT_FORMAT_IDX ? idx : NULL, model, flags, out);
    st = create(out, ctx, tf_model_vocab(model), path, lopts);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot read %s '%s'", shown, path);
    return TT_EXIT_OK;
}

#define TT_MAX_LABELS 4096

/* --pooling: "last", "mean" and "max", comma-separated, each at most once, into TF_POOL_* bits;
 * -1 when the list is empty or names anything else. */
static int parse_pooling(const char *list, uint32_t *modes)
{
    static const char *const names[] = {"last", "mean", "max"};
    static const uint32_t bits[] = {TF_POOL_LAST, TF_POOL_MEAN, TF_POOL_MAX};
    const char *p = list;
    *modes = 0;
    for (;;) {
        size_t n = strcspn(p, ",");
        int i;
        for (i = 0; i < 3; i++)
            if (strlen(names[i]) == n && strncmp(p, names[i], n) == 0)
                break;
        if (i == 3 || (*modes & bits[i]))
            return -1;
        *modes |= bits[i];
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

typedef struct finetune_call {
    tf_model_t *model;
    tf_loader_t *train, *valid;
    const tf_finetune_opts_t *opts;
} finetune_call_t;

static tf_status_t finetune_step(void *arg, tf_train_report_t *report)
{
    const finetune_call_t *c = (const finetune_call_t *)arg;
    return tf_finetune(c->model, c->train, c->valid, c->opts, report);
}

/* The temperature that calibration on the validation texts fitted. */
static void report_calibration(const tt_run_t *run)
{
    const finetune_call_t *c = (const finetune_call_t *)run->arg;
    if (c->valid != NULL)
        fprintf(stderr, "tftrain %s: calibrated on the validation texts: temperature %.4f\n",
                run->cmd, tf_model_temperature(run->model));
}

int tt_cmd_finetune(int argc, char **argv)
{
    static const char *cmd = "finetune";
    const char *train_path = NULL, *valid_path = NULL, *out = NULL, *init = NULL, *vectors = NULL;
    const char *strategy = NULL, *class_weight = NULL, *tokenizer = NULL, *cell_name = NULL;
    const char *resume = NULL, *format_name = NULL, *pooling = NULL;
    static const char *const text_flags[] = {"--vocab-size", "--tokenizer", "--init-embeddings",
                                             "--multi-label"};
    static const char *const idx_flags[] = {"--labels", "--valid-labels", "--per-class"};
    tt_idx_t train_idx = {NULL, 0}, valid_idx = {NULL, 0};
    int32_t features = 1;
    int format;
    int32_t vocab_size = TT_DEFAULT_VOCAB, emb = TT_DEFAULT_EMB, hidden = TT_DEFAULT_HIDDEN;
    int32_t layers = TT_DEFAULT_LAYERS, epochs = 8, max_len = 256, batch = 32, threads = 0;
    int32_t patience = 0;
    int64_t seed = 42, save_every = 0;
    double lr = 1e-2, disc = 1.0, head_dropout = 0.3, weight_decay = 0.01;
    int multi = 0, no_valid = 0, keep_head = 0;
    uint32_t pool_modes = TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX;
    tt_opt_t opts[] = {
        {"--train", TT_OPT_STRING, &train_path, 0, 0, 0},
        {"--valid", TT_OPT_STRING, &valid_path, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--init", TT_OPT_STRING, &init, 0, 0, 0},
        {"--multi-label", TT_OPT_FLAG, &multi, 0, 0, 0},
        {"--no-valid", TT_OPT_FLAG, &no_valid, 0, 0, 0},
        {"--strategy", TT_OPT_STRING, &strategy, 0, 0, 0},
        {"--class-weight", TT_OPT_STRING, &class_weight, 0, 0, 0},
        TT_CLS_OPTS(epochs, patience, lr, head_dropout, max_len, batch),
        {"--discriminative", TT_OPT_DOUBLE, &disc, 0, 0, 0},
        {"--pooling", TT_OPT_STRING, &pooling, 0, 0, 0},
        {"--weight-decay", TT_OPT_FRACTION, &weight_decay, 0, 0, 0},
        {"--keep-head", TT_OPT_FLAG, &keep_head, 0, 0, 0},
        TT_RUN_OPTS(threads, seed, save_every, resume),
        {"--vocab-size", TT_OPT_INT, &vocab_size, TF_VOCAB_NUM_SPECIALS + 1, 10000000, 0},
        TT_ARCH_OPTS(emb, hidden, layers, cell_name),
        {"--tokenizer", TT_OPT_STRING, &tokenizer, 0, 0, 0},
        {"--init-embeddings", TT_OPT_STRING, &vectors, 0, 0, 0},
        {"--format", TT_OPT_STRING, &format_name, 0, 0, 0},
        {"--features", TT_OPT_INT, &features, 1, 1 << 24, 0},
        {"--labels", TT_OPT_STRING, &train_idx.labels, 0, 0, 0},
        {"--valid-labels", TT_OPT_STRING, &valid_idx.labels, 0, 0, 0},
        {"--per-class", TT_OPT_INT, &train_idx.per_class, 0, 1 << 30, 0},
    };
    static const char *const arch_flags[] = {"--vocab-size", "--emb", "--hidden", "--layers",
                                             "--cell", "--tokenizer", "--init-embeddings"};
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--train TSV", "--out MODEL", NULL};
    const char *label_names[TT_MAX_LABELS];
    float weights[TT_MAX_LABELS];
    double given[TT_MAX_LABELS];
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *train = NULL, *valid = NULL;
    tf_model_t *model = NULL;
    tf_vocab_opts_t vopts;
    tf_loader_opts_t lopts;
    tf_model_opts_t mopts;
    tf_finetune_opts_t fopts;
    tf_train_report_t report;
    tt_progress_t progress;
    tt_ckpt_t ck = {NULL, NULL, 0};
    finetune_call_t call;
    tt_run_t run;
    double t0;
    tf_status_t st;
    int32_t strat, i, num_labels, cw_kind;
    tf_status_t (*create)(tf_loader_t **, tf_ctx_t *, tf_vocab_t *, const char *,
                          const tf_loader_opts_t *);
    int32_t cell = TF_CELL_LSTM;
    int rc;

    if (!tt_parse_command(cmd, argc, argv, opts, nopts, finetune_help, finetune_help_numeric,
                          required, &rc))
        return rc;
    rc = tt_format(cmd, format_name, tt_opt(opts, nopts, "--features")->seen, &format);
    if (rc == TT_EXIT_OK && format != TT_FORMAT_TEXT)
        rc = tt_text_flags(cmd, opts, nopts, text_flags,
                           (int)(sizeof text_flags / sizeof text_flags[0]));
    for (i = 0; rc == TT_EXIT_OK && format != TT_FORMAT_IDX && i < 3; i++)
        if (tt_opt(opts, nopts, idx_flags[i])->seen)
            rc = tt_usage_error(cmd, "%s is for images (--format idx)", idx_flags[i]);
    if (rc != TT_EXIT_OK)
        return rc;
    if (format == TT_FORMAT_IDX && (train_idx.labels == NULL ||
                                    (valid_path != NULL && valid_idx.labels == NULL)))
        return tt_usage_error(cmd, "--format idx needs --labels FILE (and --valid-labels FILE "
                              "with --valid)");
    if (format == TT_FORMAT_IDX && !tt_opt(opts, nopts, "--features")->seen)
        features = tt_idx_features(train_path) > 0 ? tt_idx_features(train_path) : 1;
    if (format == TT_FORMAT_CSV && init == NULL && resume == NULL &&
        !tt_opt(opts, nopts, "--features")->seen)
        return tt_usage_error(cmd, "--format csv needs --features F (values per step) from "
                              "scratch");
    if (no_valid && (valid_path != NULL || patience > 0))
        return tt_usage_error(cmd, "--no-valid cannot be used with --valid or --patience");
    if (strategy == NULL)
        strat = TF_FINETUNE_FULL;
    else if (strcmp(strategy, "full") == 0)
        strat = TF_FINETUNE_FULL;
    else if (strcmp(strategy, "frozen") == 0)
        strat = TF_FINETUNE_FROZEN;
    else if (strcmp(strategy, "gradual") == 0)
        strat = TF_FINETUNE_GRADUAL;
    else
        return tt_usage_error(cmd, "--strategy: '%s' is not full, frozen or gradual", strategy);
    if (tt_opt(opts, nopts, "--discriminative")->seen && disc < 1.0)
        return tt_usage_error(cmd, "--discriminative: %g is below 1", disc);
    if (pooling != NULL && parse_pooling(pooling, &pool_modes) != 0)
        return tt_usage_error(cmd, "--pooling: '%s' is not a comma-separated set of last, mean "
                              "and max", pooling);
    if (keep_head && init == NULL)
        return tt_usage_error(cmd, "--keep-head needs --init (a fine-tuned model)");
    if (init != NULL) {
        for (i = 0; i < (int32_t)(sizeof arch_flags / sizeof arch_flags[0]); i++)
            if (tt_opt(opts, nopts, arch_flags[i])->seen)
                return tt_usage_error(cmd, "%s cannot be used with --init (the architecture "
                                      "comes from the pre-trained model)", arch_flags[i]);
    } else {
        rc = tt_vocab_opts(cmd, &vopts, vocab_size, tokenizer);
        if (rc == TT_EXIT_OK)
            rc = tt_cell(cmd, cell_name, &cell);
        if (rc != TT_EXIT_OK)
            return rc;
    }

    rc = tt_ckpt_paths(cmd, out, resume, &ck);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_ctx_create(cmd, &ctx, threads, (uint64_t)seed);
    if (rc != TT_EXIT_OK)
        goto done;

    if (ck.resuming) {
        rc = tt_ckpt_load_model(cmd, ctx, &ck, &model); /* its task head included */
        if (rc != TT_EXIT_OK)
            goto done;
    } else if (init != NULL) {
        rc = tt_model_load(cmd, ctx, init, keep_head ? 0 : TF_MODEL_LOAD_BACKBONE, &model);
        if (rc != TT_EXIT_OK)
            goto done;
    } else {
        tf_vocab_t *built = NULL; /* numeric input: none */
        if (format == TT_FORMAT_TEXT) {
            st = tf_vocab_build_files(&built, ctx, &train_path, 1, &vopts);
            if (st != TF_STATUS_OK) {
                rc = tt_fail(cmd, st, "cannot read training data '%s'", train_path);
                goto done;
            }
        }
        tf_model_opts_init(&mopts, TF_MODEL_OPTS_VERSION);
        if (format != TT_FORMAT_TEXT) {
            mopts.input = TF_MODEL_INPUT_FEATURES;
            mopts.num_features = features;
        }
        mopts.embedding_dim = emb;
        mopts.hidden_size = hidden;
        mopts.num_layers = layers;
        mopts.cell = cell;
        st = tf_model_create(&model, ctx, built, &mopts); /* the model keeps its own copy */
        tf_vocab_free(built);
        if (st != TF_STATUS_OK) {
            rc = tt_fail(cmd, st, "cannot create the model");
            goto done;
        }
        rc = tt_init_embeddings(cmd, model, vectors);
        if (rc != TT_EXIT_OK)
            goto done;
    }

    if (format != TT_FORMAT_TEXT)
        rc = tt_check_input(cmd, init != NULL ? init : "the model", model, format, features,
                            tt_opt(opts, nopts, "--features")->seen);
    else
        rc = tt_model_vocab(cmd, model, &vocab);
    if (rc != TT_EXIT_OK)
        goto done;
    create = multi ? tf_loader_create_multilabel : tf_loader_create_labeled;
    tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
    lopts.batch_size = batch;
    lopts.max_len = max_len;
    lopts.shuffle = 1;
    if (valid_path == NULL && !no_valid) {
        lopts.split = TF_LOADER_SPLIT_TRAIN;
        lopts.valid_fraction = 0.1;
    }
    lopts.num_features = format != TT_FORMAT_TEXT ? tt_model_features(model) : 1;
    lopts.has_label = 1;
    rc = make_loader(cmd, ctx, format, create, model, train_path, "training data", &lopts,
                     &train_idx, TT_NUM_LEARN, &train);
    if (rc != TT_EXIT_OK)
        goto done;
    num_labels = tf_loader_num_labels(train);
    if (num_labels < 2 - multi) {
        fprintf(stderr, "tftrain %s: %s: needs at least %d different labels, found %d\n", cmd,
                train_path, 2 - multi, (int)num_labels);
        rc = TT_EXIT_DATA;
        goto done;
    }
    if (num_labels > TT_MAX_LABELS) {
        fprintf(stderr, "tftrain %s: %s: more than %d labels\n", cmd, train_path, TT_MAX_LABELS);
        rc = TT_EXIT_DATA;
        goto done;
    }
    for (i = 0; i < num_labels; i++)
        label_names[i] = tf_loader_label_name(train, i);
    lopts.labels = label_names;
    lopts.num_labels = num_labels;
    lopts.shuffle = 0;
    if (class_weight == NULL || strcmp(class_weight, "none") == 0) {
        cw_kind = TF_CLASS_WEIGHT_NONE;
    } else if (strcmp(class_weight, "balanced") == 0) {
        cw_kind = TF_CLASS_WEIGHT_BALANCED;
    } else {
        rc = tt_label_values(cmd, "--class-weight", class_weight, NULL, label_names, num_labels,
                             1.0, given);
        if (rc != TT_EXIT_OK)
            goto done;
        for (i = 0; i < num_labels; i++)
            weights[i] = (float)given[i];
        cw_kind = TF_CLASS_WEIGHT_GIVEN;
    }
    if (no_valid) {
        valid = NULL;
    } else if (valid_path != NULL) {
        rc = make_loader(cmd, ctx, format, create, model, valid_path, "validation data", &lopts,
                         &valid_idx, 0, &valid);
        if (rc != TT_EXIT_OK)
            goto done;
    } else if (format != TT_FORMAT_TEXT) {
        /* Every held-out line is read as data: a bad one is an error, as in training. */
        lopts.split = TF_LOADER_SPLIT_VALID;
        rc = make_loader(cmd, ctx, format, create, model, train_path, "validation lines",
                         &lopts, &train_idx, TT_NUM_EMPTY_OK, &valid);
        if (rc != TT_EXIT_OK)
            goto done;
    } else {
        lopts.split = TF_LOADER_SPLIT_VALID;
        lopts.skip_bad_lines = 1; /* a label seen only in the held-out lines */
        st = create(&valid, ctx, vocab, train_path, &lopts);
        if (st != TF_STATUS_OK) {
            fprintf(stderr, "tftrain %s: note: no validation split of %s (%s)\n", cmd, train_path,
                    tf_last_error_message());
            valid = NULL;
        }
    }
    tt_report_unknown(cmd, train, train_path);
    tt_report_unknown(cmd, valid, valid_path ? valid_path : "the validation lines");
    if (format != TT_FORMAT_TEXT)
        fprintf(stderr,
                "tftrain %s: %s model, numeric sequences of %d features, %d classes, %lld "
                "training and %lld validation sequences, %.2fM parameters\n",
                cmd, init ? "pre-trained" : "new", (int)lopts.num_features, (int)num_labels,
                (long long)tf_loader_num_sequences(train),
                (long long)(valid ? tf_loader_num_sequences(valid) : 0),
                (double)tf_model_num_params(model) / 1e6);
    else
        fprintf(stderr,
            "tftrain %s: %s model, vocabulary %d words, %d %s, %lld training and %lld "
            "validation texts, %.2fM parameters\n",
            cmd, init ? "pre-trained" : "new", (int)tf_vocab_size(vocab), (int)num_labels,
            multi ? "labels (multi-label)" : "classes",
            (long long)tf_loader_num_sequences(train),
            (long long)(valid ? tf_loader_num_sequences(valid) : 0),
            (double)tf_model_num_params(model) / 1e6);
    rc = tt_ckpt_load_state(cmd, model, train, &ck);
    if (rc != TT_EXIT_OK)
        goto done;

    tf_finetune_opts_init(&fopts, TF_FINETUNE_OPTS_VERSION);
    fopts.class_weight = cw_kind;
    if (cw_kind == TF_CLASS_WEIGHT_GIVEN) {
        fopts.class_weights = weights;
        fopts.num_class_weights = num_labels;
    }
    fopts.strategy = strat;
    fopts.epochs = epochs;
    fopts.lr = lr;
    /* Measured on spam and wordnet with 10% of the labels (valid.tsv accuracy): after a short
     * pre-training, every layer training at the full rate beats ULMFiT's conservative recipe,
     * and early stopping during gradual unfreezing can stop before the backbone has trained.
     * On wordnet (500 pre-training steps on the glosses): full at 5e-3 72.3%, --lr 1e-3 61.6%,
     * --discriminative 2.6 67.3%, --strategy gradual 70.6%, frozen 45.7%. And 1e-2 beats 5e-3
     * from scratch (spam 88.2% against 67.6%, wordnet 76.2% against 74.4%) and after
     * pre-training (spam 94.9% against 92.9%, wordnet 78.2% against 75.5%). So: 1e-2, the same
     * rate everywhere unless --strategy gradual, and every epoch runs (the best epoch's weights
     * are kept). */
    if (strat != TF_FINETUNE_GRADUAL)
        fopts.discriminative = 1.0;
    if (tt_opt(opts, nopts, "--discriminative")->seen)
        fopts.discriminative = disc;
    if (tt_opt(opts, nopts, "--head-dropout")->seen)
        fopts.head_dropout = head_dropout;
    fopts.pooling = pool_modes;
    fopts.weight_decay = weight_decay;
    fopts.reset_head = !keep_head;
    fopts.patience = patience;
    tt_progress_init(&progress, cmd, save_every);
    fopts.progress_every = tt_progress_every(&progress, 5);
    fopts.progress = tt_progress_cb;
    fopts.progress_payload = &progress;
    fopts.dist = tt_dist(cmd);
    tf_train_report_init(&report, TF_TRAIN_REPORT_VERSION);
    call = (finetune_call_t){model, train, valid, &fopts};
    run = (tt_run_t){cmd, "fine-tuning failed", finetune_step, &call, model, train, &progress,
                     &ck, argc, argv, report_calibration};
    rc = tt_run_and_save(&run, &report, out, &t0);
    if (rc != TT_EXIT_OK)
        goto done;
    printf("epochs=%d best_epoch=%d valid_accuracy=%.4f train_loss=%.4f seconds=%.1f\n",
           (int)report.epochs, (int)report.best_epoch, report.best_metric, report.train_loss,
           tt_now() - t0);
done:
    tt_ckpt_free(&ck);
    tf_model_free(model);
    tf_loader_free(valid);
    tf_loader_free(train);
    tf_ctx_free(ctx);
    return rc;
}
