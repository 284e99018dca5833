/* SPDX-License-Identifier: MIT */
/**
 * The main job (`scripts/demo`): pre-train an LSTM language model on unlabelled e-mails, fine-tune
 * it as a spam filter on 276 labelled e-mails, train the same architecture from scratch on the
 * same labels, and compare both on 490 held-out e-mails. Each arm is fine-tuned with several seeds
 * (the pre-training is one run), so the comparison shows the seed-to-seed spread. Writes the loss
 * curves as CSV and SVG.
 *
 * usage: demo [--data DIR] [--out DIR] [--threads N] [--pretrain-steps N] [--epochs N]
 *             [--seeds N]
 */
#define _POSIX_C_SOURCE 200809L
#include <transfer.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "curves.h"

/* ---- settings: sized so that the whole demo fits in 10 minutes on 2 cores ------------------- */
#define VOCAB_SIZE 8000          /* most frequent words of the unlabelled corpus */
#define EMB 100                  /* embedding size */
#define HIDDEN 200               /* LSTM hidden size */
#define LAYERS 1                 /* LSTM layers */
#define BPTT 64                  /* language-model window (tokens) */
#define LM_BATCH 32              /* language-model streams */
#define PRETRAIN_STEPS 400       /* 400 x 32 x 64 tokens: about 1.1 passes over the corpus */
#define PRETRAIN_MAX_SECONDS 330 /* on a slow machine, stop pre-training early after this */
#define PRETRAIN_LR 3e-3         /* AdamW peak rate (short warmup, cosine decay) */
#define FT_EPOCHS 8              /* fine-tuning epochs (all run, the best one is kept) */
#define FT_LR 5e-3               /* peak rate of the top layer */
#define FT_BATCH 16              /* labelled e-mails per batch */
#define MAX_LEN 200              /* words of an e-mail used */
#define EARLY_STOP_FRACTION 0.15 /* labelled rows held out for early stopping (by hash) */
#define SEED 2026                /* random seed of the context */
#define FT_SEEDS 3               /* fine-tuning runs per arm: seeds 1..FT_SEEDS */
#define MAX_SEEDS 5              /* most seeds --seeds accepts (the table stays readable) */

#define CHECK(call)                                                                                \
    do {                                                                                           \
        tf_status_t st_ = (call);                                                                  \
        if (st_ != TF_STATUS_OK) {                                                                 \
            fprintf(stderr, "demo: %s failed: %s: %s\n", #call, tf_status_str(st_),                \
                    tf_last_error_message());                                                      \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What the progress callback records into and prints. */
typedef struct run_log {
    demo_curves_t *curves;
    int phase, run, seed;
    double last_print;
    double deadline; /* stop at this time (seconds of now_s()); 0 = never */
    int out_of_time;
} run_log_t;

static int32_t on_progress(const tf_progress_t *p, void *payload)
{
    run_log_t *log = (run_log_t *)payload;
    double t = now_s();
    if (demo_curves_add(log->curves, log->phase, log->run, log->seed, p->step, p->loss,
                        p->lr) != 0)
        return 1; /* out of memory: stop */
    if (t - log->last_print >= 5.0 || p->step >= p->total_steps) {
        long eta = isfinite(p->eta_s) ? (long)(p->eta_s + 0.5) : 0;
        printf("    step %5lld/%lld  epoch %d  loss %.3f  lr %.2e  %6.0f %s/s  ETA %ld:%02ld",
               (long long)p->step, (long long)p->total_steps, p->epoch, p->loss, p->lr,
               p->items_per_s, log->phase == DEMO_PHASE_PRETRAIN ? "tokens" : "e-mails",
               eta / 60, eta % 60);
        if (isfinite(p->valid_metric))
            printf("  %s %.3f", log->phase == DEMO_PHASE_PRETRAIN ? "valid ppl" : "valid acc",
                   p->valid_metric);
        printf("\n");
        fflush(stdout);
        log->last_print = t;
    }
    if (log->deadline > 0 && t > log->deadline) {
        log->out_of_time = 1;
        return 1;
    }
    return 0;
}

static int join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Fine-tune `model` on the labelled file (early stopping on a hash split of it). */
static tf_status_t finetune(tf_ctx_t *ctx, tf_model_t *model, tf_vocab_t *vocab,
                            const char *path, int32_t strategy, double discriminative,
                            int32_t epochs, run_log_t *log, tf_train_report_t *report)
{
    tf_loader_t *train = NULL, *valid = NULL;
    tf_loader_opts_t lo;
    tf_finetune_opts_t fo;
    const char *labels[64];
    int32_t i, n;
    tf_status_t st;

    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = FT_BATCH;
    lo.max_len = MAX_LEN;
    lo.split = TF_LOADER_SPLIT_TRAIN;
    lo.valid_fraction = EARLY_STOP_FRACTION;
    st = tf_loader_create_labeled(&train, ctx, vocab, path, &lo);
    if (st != TF_STATUS_OK)
        return st;
    n = tf_loader_num_labels(train);
    for (i = 0; i < n && i < 64; i++)
        labels[i] = tf_loader_label_name(train, i);
    lo.labels = labels;
    lo.num_labels = n;
    lo.split = TF_LOADER_SPLIT_VALID;
    lo.shuffle = 0;
    st = tf_loader_create_labeled(&valid, ctx, vocab, path, &lo);
    if (st == TF_STATUS_OK) {
        tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
        fo.strategy = strategy;
        fo.epochs = epochs;
        fo.lr = FT_LR;
        fo.discriminative = discriminative;
        fo.patience = 0; /* every epoch runs; the best one's weights are kept */
        fo.progress_every = 1;
        fo.progress = on_progress;
        fo.progress_payload = log;
        printf("    %lld e-mails for training, %lld for early stopping\n",
               (long long)tf_loader_num_sequences(train), (long long)tf_loader_num_sequences(valid));
        st = tf_finetune(model, train, valid, &fo, report);
    }
    tf_loader_free(valid);
    tf_loader_free(train);
    return st;
}

/* Accuracy and macro-F1 on the held-out file. */
static tf_status_t evaluate(tf_ctx_t *ctx, tf_model_t *model, tf_vocab_t *vocab,
                            const char *path, tf_metrics_t *m, int64_t *confusion)
{
    tf_loader_t *data = NULL;
    tf_loader_opts_t lo;
    const char *labels[64];
    int32_t i, n = tf_model_num_classes(model);
    tf_status_t st;
    for (i = 0; i < n && i < 64; i++)
        labels[i] = tf_model_label_name(model, i);
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 64;
    lo.shuffle = 0;
    lo.labels = labels;
    lo.num_labels = n;
    st = tf_loader_create_labeled(&data, ctx, vocab, path, &lo);
    if (st != TF_STATUS_OK)
        return st;
    tf_metrics_init(m, TF_METRICS_VERSION);
    st = tf_evaluate(model, data, m, confusion, 64 * 64);
    tf_loader_free(data);
    return st;
}

/* mkdir -p */
static int mkdir_p(const char *dir)
{
    char buf[1024];
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static long parse_count(const char *flag, const char *s)
{
    char *end = NULL;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        fprintf(stderr, "demo: %s: '%s' is not a count\n", flag, s);
        exit(1);
    }
    return v;
}

/* Held-out results of one arm, one entry per fine-tuning seed. */
typedef struct arm {
    int n;
    double acc[MAX_SEEDS], f1[MAX_SEEDS];
    double seconds;
} arm_t;

static void spread(const double *v, int n, double *mean, double *lo, double *hi)
{
    int i;
    *mean = 0, *lo = v[0], *hi = v[0];
    for (i = 0; i < n; i++) {
        *mean += v[i] / n;
        if (v[i] < *lo)
            *lo = v[i];
        if (v[i] > *hi)
            *hi = v[i];
    }
}

/* "93.88%  (93.06 - 94.90)": the mean and the range, in percent. */
static void summary(char *buf, size_t cap, const double *v, int n)
{
    double mean, lo, hi;
    spread(v, n, &mean, &lo, &hi);
    snprintf(buf, cap, "%6.2f%%  (%.2f - %.2f)", 100 * mean, 100 * lo, 100 * hi);
}

/* " 93.88 / 93.06 / 94.90": every seed's value, in percent. */
static void per_seed(char *buf, size_t cap, const double *v, int n)
{
    int i;
    size_t used = 0;
    buf[0] = '\0';
    for (i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%.2f", i ? " / " : " ", 100 * v[i]);
}

/* Fine-tune one arm (the pre-trained language model, or a fresh model on `scratch_vocab`) with
 * one seed and evaluate it on the held-out file. */
static tf_status_t run_seed(tf_ctx_t *ctx, int run, int seed, const char *lm_path,
                            tf_vocab_t *scratch_vocab, const tf_model_opts_t *mo,
                            const char *train_path, const char *heldout, int32_t epochs,
                            run_log_t *log, tf_metrics_t *m, int64_t *confusion, arm_t *arm)
{
    tf_model_t *model = NULL;
    tf_train_report_t rep;
    double t = now_s();
    /* Both arms' runs with the same seed start from the same random state (head init, order,
     * dropout). */
    tf_status_t st = tf_ctx_reseed(ctx, (uint64_t)(SEED + seed));
    if (st != TF_STATUS_OK)
        return st;
    if (run == DEMO_RUN_PRETRAINED)
        st = tf_model_load(&model, ctx, lm_path, TF_MODEL_LOAD_BACKBONE);
    else
        st = tf_model_create(&model, ctx, scratch_vocab, mo);
    if (st != TF_STATUS_OK)
        return st;
    printf("  seed %d\n", seed);
    log->run = run;
    log->seed = seed;
    log->last_print = 0;
    tf_train_report_init(&rep, TF_TRAIN_REPORT_VERSION);
    st = finetune(ctx, model, tf_model_vocab(model), train_path, TF_FINETUNE_FULL, 1.0, epochs,
                  log, &rep);
    if (st == TF_STATUS_OK)
        st = evaluate(ctx, model, tf_model_vocab(model), heldout, m, confusion);
    if (st == TF_STATUS_OK) {
        t = now_s() - t;
        arm->acc[arm->n] = m->accuracy;
        arm->f1[arm->n] = m->macro_f1;
        arm->n++;
        arm->seconds += t;
        printf("    done in %.0f s (best epoch %d): held-out accuracy %.2f%%, macro-F1 %.2f%%\n",
               t, rep.best_epoch, 100 * m->accuracy, 100 * m->macro_f1);
    }
    tf_model_free(model);
    return st;
}

static void rule(int w0, int w)
{
    printf("+%.*s+%.*s+%.*s+\n", w0 + 2, "----------------------------------------------------",
           w + 2, "----------------------------------------------------", w + 2,
           "----------------------------------------------------");
}

static void row(int w0, int w, const char *a, const char *b, const char *c)
{
    printf("| %-*s | %-*s | %-*s |\n", w0, a, w, b, w, c);
}

/* The comparison: per arm the mean and range over the seeds, then each seed's value. */
static void print_table(const arm_t *pre, const arm_t *scratch, double majority)
{
    static const char *const names[2] = {"pre-trained + fine-tuned", "from scratch"};
    const arm_t *arms[2];
    char seeds[64], b[128], c[128];
    int w0 = 32, w = 26, a, i;
    size_t used = 0;
    arms[0] = pre;
    arms[1] = scratch;
    used += (size_t)snprintf(seeds, sizeof seeds, "  per seed (");
    for (i = 0; i < pre->n && used < sizeof seeds; i++)
        used += (size_t)snprintf(seeds + used, sizeof seeds - used, "%s%d", i ? " / " : "", i + 1);
    if (used < sizeof seeds)
        snprintf(seeds + used, sizeof seeds - used, ")");
    per_seed(b, sizeof b, pre->acc, pre->n);
    if ((int)strlen(b) > w)
        w = (int)strlen(b);
    rule(w0, w);
    row(w0, w, "model (same LSTM, same labels)", "accuracy: mean (min - max)",
        "macro-F1: mean (min - max)");
    rule(w0, w);
    for (a = 0; a < 2; a++) {
        summary(b, sizeof b, arms[a]->acc, arms[a]->n);
        summary(c, sizeof c, arms[a]->f1, arms[a]->n);
        row(w0, w, names[a], b, c);
        per_seed(b, sizeof b, arms[a]->acc, arms[a]->n);
        per_seed(c, sizeof c, arms[a]->f1, arms[a]->n);
        row(w0, w, seeds, b, c);
    }
    snprintf(b, sizeof b, "%6.2f%%", 100 * majority);
    row(w0, w, "(always the majority class)", b, "     -");
    rule(w0, w);
}

/* The conclusion, worded by whether the seeds' ranges overlap. */
static void print_verdict(const arm_t *pre, const arm_t *scratch)
{
    double pf, plo, phi, sf, slo, shi, pa, sa, lo, hi;
    spread(pre->f1, pre->n, &pf, &plo, &phi);
    spread(scratch->f1, scratch->n, &sf, &slo, &shi);
    spread(pre->acc, pre->n, &pa, &lo, &hi);
    spread(scratch->acc, scratch->n, &sa, &lo, &hi);
    if (pf > sf && plo > shi)
        printf("Pre-training improves macro-F1 by %.1f points and accuracy by %+.1f points on "
               "average,\nand every pre-trained run beats every run from scratch (macro-F1 %.2f%% "
               "at worst against %.2f%% at best).\n",
               100 * (pf - sf), 100 * (pa - sa), 100 * plo, 100 * shi);
    else if (pf > sf)
        printf("Pre-training improves macro-F1 by %.1f points on average (accuracy %+.1f), but "
               "the seeds overlap:\nthe worst pre-trained run (%.2f%%) is not above the best run "
               "from scratch (%.2f%%).\n",
               100 * (pf - sf), 100 * (pa - sa), 100 * plo, 100 * shi);
    else
        printf("Pre-training does not improve macro-F1 on average in this run (%+.1f points).\n",
               100 * (pf - sf));
}

int main(int argc, char **argv)
{
    const char *data_dir = "examples/data/spam", *out_dir = "out/demo";
    long threads = 0, pretrain_steps = PRETRAIN_STEPS, ft_epochs = FT_EPOCHS, nseeds = FT_SEEDS;
    char unlabeled[1024], train10[1024], heldout[1024], csv[1024], svg[1024], lm_path[1024];
    const char *corpus[1];
    tf_ctx_opts_t co;
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *lm_vocab = NULL, *scratch_vocab = NULL;
    tf_loader_t *lm_train = NULL, *lm_valid = NULL;
    tf_model_t *pretrained = NULL;
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    tf_model_opts_t mo;
    tf_optimizer_opts_t oo;
    tf_pretrain_opts_t po;
    tf_train_report_t rep_pre;
    tf_metrics_t m;
    int64_t cm[64 * 64], majority = 0, count = 0, total;
    arm_t pre_arm, scratch_arm;
    demo_curves_t curves = {NULL, 0, 0};
    run_log_t log;
    double t0 = now_s(), t_pre = 0;
    int i, j, s, rc = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: demo [--data DIR] [--out DIR] [--threads N] [--pretrain-steps N] "
                   "[--epochs N] [--seeds N]\n(defaults: examples/data/spam, out/demo, all "
                   "cores, %d pre-training steps, %d fine-tuning epochs, %d fine-tuning seeds "
                   "per model, at most %d)\n",
                   PRETRAIN_STEPS, FT_EPOCHS, FT_SEEDS, MAX_SEEDS);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "demo: unknown or incomplete option '%s' (see demo --help)\n",
                    argv[i]);
            return 1;
        }
        if (strcmp(argv[i], "--data") == 0)
            data_dir = argv[++i];
        else if (strcmp(argv[i], "--out") == 0)
            out_dir = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = parse_count(argv[i], argv[i + 1]), i++;
        else if (strcmp(argv[i], "--pretrain-steps") == 0)
            pretrain_steps = parse_count(argv[i], argv[i + 1]), i++;
        else if (strcmp(argv[i], "--epochs") == 0)
            ft_epochs = parse_count(argv[i], argv[i + 1]), i++;
        else if (strcmp(argv[i], "--seeds") == 0)
            nseeds = parse_count(argv[i], argv[i + 1]), i++;
        else {
            fprintf(stderr, "demo: unknown option '%s' (see demo --help)\n", argv[i]);
            return 1;
        }
    }
    if (nseeds < 1 || nseeds > MAX_SEEDS) {
        fprintf(stderr, "demo: --seeds: %ld is not in 1..%d\n", nseeds, MAX_SEEDS);
        return 1;
    }
    if (join(unlabeled, sizeof unlabeled, data_dir, "unlabeled.txt") ||
        join(train10, sizeof train10, data_dir, "train-10pct.tsv") ||
        join(heldout, sizeof heldout, data_dir, "valid.tsv") ||
        join(csv, sizeof csv, out_dir, "curves.csv") || join(svg, sizeof svg, out_dir, "curves.svg") ||
        join(lm_path, sizeof lm_path, out_dir, "lm.safetensors")) {
        fprintf(stderr, "demo: path too long\n");
        return 1;
    }
    if (mkdir_p(out_dir) != 0) {
        fprintf(stderr, "demo: cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    corpus[0] = unlabeled;
    memset(&pre_arm, 0, sizeof pre_arm);
    memset(&scratch_arm, 0, sizeof scratch_arm);

    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = (int32_t)threads;
    co.seed = SEED;
    CHECK(tf_ctx_create(&ctx, &co));
    printf("libtransfer %s demo: does pre-training on unlabelled e-mails help a spam filter "
           "trained on few labels?\n(%d threads; each classifier fine-tuned with %ld seeds)\n\n",
           tf_version_string(), tf_ctx_num_threads(ctx), nseeds);

    /* 1. Pre-train a language model on the unlabelled e-mails (5% held out for perplexity). */
    printf("[1/3] pre-training a language model on %s\n", unlabeled);
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.lowercase = 1;
    vo.split_punct = 1;
    vo.max_size = VOCAB_SIZE;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = LM_BATCH;
    lo.bptt = BPTT;
    lo.split = TF_LOADER_SPLIT_TRAIN;
    lo.valid_fraction = 0.05;
    CHECK(tf_loader_create_lm_vocab(&lm_train, &lm_vocab, ctx, corpus, 1, &vo, &lo));
    lo.split = TF_LOADER_SPLIT_VALID;
    lo.shuffle = 0;
    CHECK(tf_loader_create_lm(&lm_valid, ctx, lm_vocab, corpus, 1, &lo));
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = EMB;
    mo.hidden_size = HIDDEN;
    mo.num_layers = LAYERS;
    CHECK(tf_model_create(&pretrained, ctx, lm_vocab, &mo));
    printf("    vocabulary %d words, %lld tokens, model %.2fM parameters\n",
           (int)tf_vocab_size(lm_vocab), (long long)tf_loader_num_sequences(lm_train),
           (double)tf_model_num_params(pretrained) / 1e6);
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.algorithm = TF_OPTIMIZER_ADAMW;
    oo.lr = PRETRAIN_LR;
    oo.weight_decay = 0.01;
    oo.schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    oo.total_steps = pretrain_steps > 0 ? pretrain_steps : 1;
    oo.warmup_steps = oo.total_steps / 50;
    tf_pretrain_opts_init(&po, TF_PRETRAIN_OPTS_VERSION);
    po.max_steps = oo.total_steps;
    po.optim = &oo;
    po.progress_every = 10;
    po.progress = on_progress;
    po.progress_payload = &log;
    log.curves = &curves;
    log.phase = DEMO_PHASE_PRETRAIN;
    log.run = DEMO_RUN_PRETRAINED;
    log.seed = 0;
    log.last_print = 0;
    log.out_of_time = 0;
    tf_train_report_init(&rep_pre, TF_TRAIN_REPORT_VERSION);
    t_pre = now_s();
    log.deadline = t_pre + PRETRAIN_MAX_SECONDS;
    {
        tf_status_t st = tf_pretrain(pretrained, lm_train, lm_valid, &po, &rep_pre);
        if (st == TF_STATUS_ECANCELED && log.out_of_time)
            printf("    (this machine is slow: pre-training stopped after %d s)\n",
                   PRETRAIN_MAX_SECONDS);
        else
            CHECK(st);
    }
    log.deadline = 0;
    t_pre = now_s() - t_pre;
    printf("    done: %lld steps in %.0f s", (long long)rep_pre.steps, t_pre);
    if (isfinite(rep_pre.valid_metric))
        printf(", validation perplexity %.1f", rep_pre.valid_metric);
    printf("\n");
    /* Every fine-tuning run starts from this file, so each gets the same pre-trained weights. */
    CHECK(tf_model_save(pretrained, lm_path));
    printf("    saved as %s\n\n", lm_path);
    tf_model_free(pretrained);
    pretrained = NULL;

    /* 2. Fine-tune it on the small labelled set, once per seed: a new head, every layer training
     *    (the same rate everywhere, slanted triangular schedule), the best epoch kept. After a
     *    short pre-training this beats ULMFiT's gradual unfreezing with discriminative rates. */
    printf("[2/3] fine-tuning the pre-trained model on %s, then evaluating on %s\n", train10,
           heldout);
    log.phase = DEMO_PHASE_FINETUNE;
    for (s = 1; s <= nseeds; s++) {
        CHECK(run_seed(ctx, DEMO_RUN_PRETRAINED, s, lm_path, NULL, &mo, train10, heldout,
                       (int32_t)ft_epochs, &log, &m, cm, &pre_arm));
        if (s == 1) { /* the majority-class baseline, from the confusion matrix's row sums */
            for (count = 0, i = 0; i < m.num_classes; i++) {
                for (total = 0, j = 0; j < m.num_classes; j++)
                    total += cm[i * m.num_classes + j];
                if (total > majority)
                    majority = total;
                count += total;
            }
        }
    }
    printf("\n");

    /* 3. The same architecture from scratch on the same labels (vocabulary from those labels,
     *    as a user without unlabelled text would build it), with the same seeds. */
    printf("[3/3] training the same architecture from scratch on %s, then evaluating on %s\n",
           train10, heldout);
    vo.max_size = VOCAB_SIZE;
    corpus[0] = train10;
    CHECK(tf_vocab_build_files(&scratch_vocab, ctx, corpus, 1, &vo));
    for (s = 1; s <= nseeds; s++)
        CHECK(run_seed(ctx, DEMO_RUN_SCRATCH, s, NULL, scratch_vocab, &mo, train10, heldout,
                       (int32_t)ft_epochs, &log, &m, cm, &scratch_arm));
    printf("\n");

    printf("Held-out e-mails: %lld (%s); each model fine-tuned with seeds 1 to %ld\n",
           (long long)m.num_sequences, heldout, nseeds);
    print_table(&pre_arm, &scratch_arm, (double)majority / (double)(count > 0 ? count : 1));
    print_verdict(&pre_arm, &scratch_arm);
    printf("\n");

    if (demo_curves_write_csv(&curves, csv) != 0 || demo_curves_write_svg(&curves, svg) != 0) {
        fprintf(stderr, "demo: cannot write %s or %s: %s\n", csv, svg, strerror(errno));
        goto fail;
    }
    printf("Loss curves (every seed): %s and %s\n", csv, svg);
    printf("Time: pre-training %.0f s, fine-tuning %.0f s, from scratch %.0f s, total %.0f s\n",
           t_pre, pre_arm.seconds, scratch_arm.seconds, now_s() - t0);
    rc = 0;
fail:
    demo_curves_free(&curves);
    tf_model_free(pretrained);
    tf_loader_free(lm_valid);
    tf_loader_free(lm_train);
    tf_vocab_free(scratch_vocab);
    tf_vocab_free(lm_vocab);
    tf_ctx_free(ctx);
    return rc;
}
