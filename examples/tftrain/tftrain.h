/*
 * tftrain: the command-line front end of libtransfer (pre-train, fine-tune, evaluate, predict).
 * Shared declarations of the tool's files; nothing here is part of the library.
 */
#ifndef TFTRAIN_H
#define TFTRAIN_H

#include <transfer.h>
#include <stdio.h>

/* Exit statuses (documented in `tftrain --help`). */
#define TT_EXIT_OK 0
#define TT_EXIT_USAGE 1   /* bad command line */
#define TT_EXIT_DATA 2    /* a data, file or format error */
#define TT_EXIT_FAILED 3  /* training failed otherwise (diverged, out of memory, interrupted) */
#define TT_HELP_SHOWN (-1) /* tt_parse_args(): --help was printed; exit 0 */

/* ---- command-line parsing (args.c) ------------------------------------------------------------ */

typedef enum tt_opt_kind {
    TT_OPT_INT,    /* int32_t in [min, max] */
    TT_OPT_I64,    /* int64_t in [min, max] */
    TT_OPT_DOUBLE, /* finite double > 0 */
    TT_OPT_STRING, /* const char * */
    TT_OPT_STRINGS, /* repeatable: appended to a tt_strings_t */
    TT_OPT_FLAG     /* no value: sets an int to 1 */
} tt_opt_kind_t;

#define TT_MAX_STRINGS 64

typedef struct tt_strings {
    const char *items[TT_MAX_STRINGS];
    unsigned count;
} tt_strings_t;

typedef struct tt_opt {
    const char *name;  /* "--epochs" */
    tt_opt_kind_t kind;
    void *dest;        /* int32_t *, int64_t *, double *, const char **, tt_strings_t *, int * */
    long long min, max;
    int seen;          /* set by the parser */
} tt_opt_t;

/* Parse argv[1..argc-1] of subcommand `cmd` against `opts` (num entries). Prints `help` on
 * --help/-h and returns TT_HELP_SHOWN; prints a one-line message and returns TT_EXIT_USAGE on a
 * bad command line; TT_EXIT_OK otherwise. */
int tt_parse_args(const char *cmd, int argc, char **argv, tt_opt_t *opts, int num,
                  const char *help);

/* The option named `name` in `opts` (it must exist). */
tt_opt_t *tt_opt(tt_opt_t *opts, int num, const char *name);

/* Print "tftrain CMD: MESSAGE (see 'tftrain CMD --help')" and return TT_EXIT_USAGE. */
int tt_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- library glue (common.c) ------------------------------------------------------------------ */

/* Report a failed library call on one line: "tftrain CMD: WHAT: <library message>"; returns the
 * exit status for `st` (TT_EXIT_DATA for file and data errors, TT_EXIT_FAILED otherwise). */
int tt_fail(const char *cmd, tf_status_t st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Create the context (threads: 0 = all cores; seed). */
int tt_ctx_create(const char *cmd, tf_ctx_t **ctx, int32_t threads, uint64_t seed);

/* The model's vocabulary, borrowed (loaders read it only while they are created); a model without
 * one (numeric input) is a data error. */
int tt_model_vocab(const char *cmd, tf_model_t *model, tf_vocab_t **out);

/* One line on stderr: the share of the loader's tokens unknown to the vocabulary, so a user sees
 * when a vocabulary no longer fits the data; `what` names the data ("valid.tsv"). */
void tt_report_unknown(const char *cmd, const tf_loader_t *loader, const char *what);

/* Load a model file; flags as tf_model_load(). */
int tt_model_load(const char *cmd, tf_ctx_t *ctx, const char *path, uint32_t flags,
                  tf_model_t **out);

/* Create the context (threads; seed 42) and load a fine-tuned model for eval, predict and adapt;
 * *classes receives its class count. A model without a task head is a data error (exit 2) naming
 * the file. On failure nothing is left to free. */
int tt_load_classifier(const char *cmd, int32_t threads, const char *path, tf_ctx_t **ctx,
                       tf_model_t **model, int32_t *classes);

/* Exit status of a training call: an interrupt (nothing written) or a failure, with its message. */
int tt_training_status(const char *cmd, tf_status_t st, const char *out, const char *what);

/* The vocabulary options of the tool: lower-cased, punctuation split, at most max_size tokens,
 * of the kind named by --tokenizer (word, bpe or byte; NULL = word). Prints a usage error and
 * returns TT_EXIT_USAGE for another name or a size BPE cannot have. */
int tt_vocab_opts(const char *cmd, tf_vocab_opts_t *opts, int32_t max_size, const char *tokenizer);

/* The recurrent cell named by --cell (lstm or gru; NULL = lstm) into *cell (a tf_cell_t). Prints a
 * usage error and returns TT_EXIT_USAGE for another name. */
int tt_cell(const char *cmd, const char *name, int32_t *cell);

/* Save and report; returns an exit status. */
int tt_model_save(const char *cmd, tf_model_t *model, const char *path);

/* Parse `LABEL=VALUE,...` (values finite and > 0) into out[0..n-1] in label order; the labels
 * are the model's (when `model` is not NULL) or `names`. Labels not named get `dflt`; NaN makes
 * every label required. Returns TT_EXIT_OK or a usage error naming `flag`. */
int tt_label_values(const char *cmd, const char *flag, const char *spec, tf_model_t *model,
                    const char *const *names, int32_t n, double dflt, double *out);

/* Install a SIGINT handler that makes the progress callback stop training. */
void tt_catch_interrupt(void);
int tt_interrupted(void);

/* ---- progress (progress.c) -------------------------------------------------------------------- */

typedef struct tt_progress {
    const char *what;  /* "pretrain" or "finetune" */
    int tty;           /* draw a bar on stderr */
    double last_print; /* monotonic seconds of the last plain line */
    int drawn;         /* a bar is on the current line */
} tt_progress_t;

void tt_progress_init(tt_progress_t *p, const char *what);
int32_t tt_progress_cb(const tf_progress_t *progress, void *payload);
/* End the bar's line (if any). */
void tt_progress_done(tt_progress_t *p);
double tt_now(void);

/* ---- subcommands ------------------------------------------------------------------------------ */

int tt_cmd_pretrain(int argc, char **argv);
int tt_cmd_finetune(int argc, char **argv);
int tt_cmd_eval(int argc, char **argv);
int tt_cmd_predict(int argc, char **argv);
int tt_cmd_adapt(int argc, char **argv);

/* Architecture flags shared by pretrain and finetune (from scratch). */
#define TT_DEFAULT_VOCAB 8000
#define TT_DEFAULT_EMB 100
#define TT_DEFAULT_HIDDEN 200
#define TT_DEFAULT_LAYERS 1

#endif
