/* SPDX-License-Identifier: MIT */
/* tftrain: glue shared by the subcommands (errors, context, vocabularies, models, paths). */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int tt_fail(const char *cmd, tf_status_t st, const char *fmt, ...)
{
    va_list ap;
    const char *msg = tf_last_error_message();
    const char *c;
    fprintf(stderr, "tftrain %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(": ", stderr);
    if (msg == NULL || *msg == '\0')
        msg = tf_status_str(st);
    for (c = msg; *c; c++) /* keep it on one line */
        fputc(*c == '\n' || *c == '\r' ? ' ' : *c, stderr);
    fputc('\n', stderr);
    switch (st) {
    case TF_STATUS_EIO:
    case TF_STATUS_EFORMAT:
    case TF_STATUS_EVERSION:
    case TF_STATUS_ENOTFOUND:
    case TF_STATUS_EINVAL: /* the tool validates its flags: what is left is in the data */
    case TF_STATUS_ESTATE:
    case TF_STATUS_EBUFSIZE:
        return TT_EXIT_DATA;
    default:
        return TT_EXIT_FAILED;
    }
}

static void log_to_stderr(int32_t level, const char *message, void *payload)
{
    (void)payload;
    fprintf(stderr, "tftrain: %s: %s\n", level <= TF_LOG_ERROR ? "error" : "warning", message);
}

int tt_ctx_create(const char *cmd, tf_ctx_t **ctx, int32_t threads, uint64_t seed)
{
    tf_ctx_opts_t opts;
    tf_status_t st;
    tf_ctx_opts_init(&opts, TF_CTX_OPTS_VERSION);
    opts.num_threads = threads;
    opts.seed = seed;
    opts.log_level = TF_LOG_WARN;
    opts.log_cb = log_to_stderr;
    st = tf_ctx_create(ctx, &opts);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot create a context");
    return TT_EXIT_OK;
}

int tt_cell(const char *cmd, const char *name, int32_t *cell)
{
    if (name == NULL || strcmp(name, "lstm") == 0)
        *cell = TF_CELL_LSTM;
    else if (strcmp(name, "gru") == 0)
        *cell = TF_CELL_GRU;
    else
        return tt_usage_error(cmd, "--cell: '%s' is not lstm or gru", name);
    return TT_EXIT_OK;
}

int tt_vocab_opts(const char *cmd, tf_vocab_opts_t *opts, int32_t max_size, const char *tokenizer)
{
    tf_vocab_opts_init(opts, TF_VOCAB_OPTS_VERSION);
    if (tokenizer == NULL || strcmp(tokenizer, "word") == 0)
        opts->kind = TF_VOCAB_KIND_WORD;
    else if (strcmp(tokenizer, "bpe") == 0)
        opts->kind = TF_VOCAB_KIND_BPE;
    else if (strcmp(tokenizer, "byte") == 0)
        opts->kind = TF_VOCAB_KIND_BYTE;
    else
        return tt_usage_error(cmd, "--tokenizer: '%s' is not word, bpe or byte", tokenizer);
    if (opts->kind == TF_VOCAB_KIND_BPE && max_size < TF_VOCAB_NUM_SPECIALS + 256)
        return tt_usage_error(cmd, "--vocab-size: a BPE vocabulary has at least %d tokens (the "
                              "specials and the 256 bytes)", TF_VOCAB_NUM_SPECIALS + 256);
    opts->lowercase = 1;
    opts->split_punct = 1;
    opts->min_count = 1;
    opts->max_size = max_size;
    return TT_EXIT_OK;
}

void tt_report_unknown(const char *cmd, const tf_loader_t *loader, const char *what)
{
    uint64_t n = tf_loader_num_tokens(loader), unk = tf_loader_unknown_tokens(loader);
    char digits[24], grouped[32];
    int nd, o = 0;
    if (n == 0)
        return;
    nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            grouped[o++] = ',';
        grouped[o++] = digits[i];
    }
    grouped[o] = '\0';
    fprintf(stderr, "tftrain %s: %.1f%% of %s tokens in %s are unknown to the vocabulary\n", cmd,
            100.0 * (double)unk / (double)n, grouped, what);
}

int tt_model_vocab(const char *cmd, tf_model_t *model, tf_vocab_t **out)
{
    *out = tf_model_vocab(model);
    if (*out == NULL) {
        fprintf(stderr, "tftrain %s: the model has no vocabulary (numeric input)\n", cmd);
        return TT_EXIT_DATA;
    }
    return TT_EXIT_OK;
}

int tt_model_load(const char *cmd, tf_ctx_t *ctx, const char *path, uint32_t flags,
                  tf_model_t **out)
{
    tf_status_t st = tf_model_load(out, ctx, path, flags);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot load model '%s'", path);
    return TT_EXIT_OK;
}

int tt_check_out(const char *cmd, const char *flag, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    struct stat sb;
    int rc = TT_EXIT_OK;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "tftrain %s: %s %s: is a directory; give a file name\n", cmd, flag, path);
        return TT_EXIT_DATA;
    }
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        return TT_EXIT_FAILED;
    }
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "tftrain %s: %s %s: directory '%s' does not exist\n", cmd, flag, path, dir);
        rc = TT_EXIT_DATA;
    } else if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "tftrain %s: %s %s: '%s' is not a directory\n", cmd, flag, path, dir);
        rc = TT_EXIT_DATA;
    } else if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "tftrain %s: %s %s: directory '%s' is not writable\n", cmd, flag, path,
                dir);
        rc = TT_EXIT_DATA;
    }
    free(dir);
    return rc;
}

int tt_init_embeddings(const char *cmd, tf_model_t *model, const char *path)
{
    int32_t found = 0;
    if (path == NULL)
        return TT_EXIT_OK;
    tf_status_t st = tf_model_init_embeddings_file(model, path, &found);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot read word vectors '%s'", path);
    fprintf(stderr, "tftrain %s: %d of %d words found in %s\n", cmd, (int)found,
            (int)tf_vocab_size(tf_model_vocab(model)), path);
    return TT_EXIT_OK;
}

int tt_model_save(const char *cmd, tf_model_t *model, const char *path)
{
    if (tt_dist_rank() > 0)
        return TT_EXIT_OK; /* rank 0 writes the job's files */
    tf_status_t st = tf_model_save(model, path);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot save model '%s'", path);
    fprintf(stderr, "tftrain %s: saved %s\n", cmd, path);
    return TT_EXIT_OK;
}

int tt_load_classifier(const char *cmd, int32_t threads, const char *path, tf_ctx_t **ctx,
                       tf_model_t **model, int32_t *classes)
{
    int rc = tt_ctx_create(cmd, ctx, threads, 42);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_model_load(cmd, *ctx, path, 0, model);
    if (rc == TT_EXIT_OK && (*classes = tf_model_num_classes(*model)) < 1) {
        fprintf(stderr, "tftrain %s: %s: not a fine-tuned model (no classes); run tftrain "
                        "finetune first\n", cmd, path);
        rc = TT_EXIT_DATA;
    }
    if (rc != TT_EXIT_OK) {
        tf_model_free(*model);
        tf_ctx_free(*ctx);
        *model = NULL;
        *ctx = NULL;
    }
    return rc;
}

int tt_label_values(const char *cmd, const char *flag, const char *spec, tf_model_t *model,
                    const char *const *names, int32_t n, double dflt, double *out)
{
    int32_t i;
    const char *p = spec;
    for (i = 0; i < n; i++)
        out[i] = dflt;
    while (*p != '\0') {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        char *stop;
        double v;
        if (end == NULL)
            end = p + strlen(p);
        if (eq == NULL || eq > end || eq == p)
            return tt_usage_error(cmd, "%s: '%s' is not a list of LABEL=VALUE", flag, spec);
        for (i = 0; i < n; i++) {
            const char *name = model != NULL ? tf_model_label_name(model, i) : names[i];
            if (strlen(name) == (size_t)(eq - p) && strncmp(name, p, (size_t)(eq - p)) == 0)
                break;
        }
        if (i == n)
            return tt_usage_error(cmd, "%s: '%.*s' is not one of the labels", flag, (int)(eq - p), p);
        errno = 0;
        v = strtod(eq + 1, &stop);
        if (stop != end || errno != 0 || !(v > 0.0) || !isfinite(v))
            return tt_usage_error(cmd, "%s: the value of '%.*s' is not a number > 0", flag,
                                  (int)(eq - p), p);
        out[i] = v;
        p = *end == ',' ? end + 1 : end;
    }
    for (i = 0; i < n; i++)
        if (isnan(out[i]))
            return tt_usage_error(cmd, "%s: no value for label '%s'", flag,
                                  model != NULL ? tf_model_label_name(model, i) : names[i]);
    return TT_EXIT_OK;
}

int tt_is_blank(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\v' &&
            s[i] != '\f')
            return 0;
    return 1;
}
