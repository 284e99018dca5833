/* SPDX-License-Identifier: MIT */
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
#define TT_EXIT_FAILED 3  /* training failed otherwise (diverged, out of memory) */
#define TT_EXIT_INTERRUPTED 4 /* Ctrl-C or SIGTERM: a resumable state was written */
/* The exit statuses, as each command's --help ends. */
#define TT_EXIT_HELP                                                                               \
    "Exit status: 0 success, 1 usage error, 2 data/file/format error, 3 training failed,\n"       \
    "4 interrupted (a resumable state was saved).\n"
#define TT_HELP_SHOWN (-1) /* tt_parse_args(): --help was printed; exit 0 */

/* ---- command-line parsing (args.c) ------------------------------------------------------------ */

typedef enum tt_opt_kind {
    TT_OPT_INT,    /* int32_t in [min, max] */
    TT_OPT_I64,    /* int64_t in [min, max] */
    TT_OPT_DOUBLE, /* finite double > 0 */
    TT_OPT_FRACTION, /* finite double in [0, 1) */
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

/* Parse argv[1..argc-1] of subcommand `cmd` against `opts` (num entries). Prints `help` and then
 * `help_more` (may be NULL; a second part keeps each string within C's portable length) on
 * --help/-h and returns TT_HELP_SHOWN; prints a one-line message and returns TT_EXIT_USAGE on a
 * bad command line; TT_EXIT_OK otherwise. */
int tt_parse_args(const char *cmd, int argc, char **argv, tt_opt_t *opts, int num,
                  const char *help, const char *help_more);

/* Table entries of the options every training command has (pretrain, finetune, distill): its
 * threads, seed and checkpoints, read into the variables named. */
#define TT_RUN_OPTS(threads, seed, save_every, resume)                                             \
    {"--threads", TT_OPT_INT, &(threads), 0, 1024, 0},                                             \
    {"--seed", TT_OPT_I64, &(seed), 0, INT64_MAX, 0},                                              \
    {"--save-every", TT_OPT_I64, &(save_every), 1, INT64_MAX, 0},                                  \
    {"--resume", TT_OPT_STRING, &(resume), 0, 0, 0}

/* Table entries of the architecture of a new model (pretrain, finetune, distill): embedding
 * and hidden sizes, layers and cell. */
#define TT_ARCH_OPTS(emb, hidden, layers, cell_name)                                               \
    {"--emb", TT_OPT_INT, &(emb), 1, 65536, 0},                                                    \
    {"--hidden", TT_OPT_INT, &(hidden), 1, 65536, 0},                                              \
    {"--layers", TT_OPT_INT, &(layers), 1, 16, 0},                                                 \
    {"--cell", TT_OPT_STRING, &(cell_name), 0, 0, 0}

/* Table entries of the options of the classifier phases (finetune, distill): epochs, early
 * stopping, learning rate, the head's dropout, text length and batch. */
#define TT_CLS_OPTS(epochs, patience, lr, head_dropout, max_len, batch)                            \
    {"--epochs", TT_OPT_INT, &(epochs), 1, 100000, 0},                                             \
    {"--patience", TT_OPT_INT, &(patience), 0, 100000, 0},                                         \
    {"--lr", TT_OPT_DOUBLE, &(lr), 0, 0, 0},                                                       \
    {"--head-dropout", TT_OPT_FRACTION, &(head_dropout), 0, 0, 0},                                 \
    {"--max-len", TT_OPT_INT, &(max_len), 1, 10000000, 0},                                         \
    {"--batch", TT_OPT_INT, &(batch), 1, 100000, 0}

/* tt_parse_args(), then a usage error for the first of `required` not given: each names an
 * option and what it takes ("--out MODEL"), NULL ends the list. Returns 1 when the command goes
 * on; 0 when it is to return *exit_status (TT_EXIT_OK after --help). */
int tt_parse_command(const char *cmd, int argc, char **argv, tt_opt_t *opts, int num,
                     const char *help, const char *help_more, const char *const *required,
                     int *exit_status);

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

/* The vocabulary options of the tool: lower-cased, punctuation split, at most max_size tokens,
 * of the kind named by --tokenizer (word, bpe or byte; NULL = word). Prints a usage error and
 * returns TT_EXIT_USAGE for another name or a size BPE cannot have. */
int tt_vocab_opts(const char *cmd, tf_vocab_opts_t *opts, int32_t max_size, const char *tokenizer);

/* The recurrent cell named by --cell (lstm or gru; NULL = lstm) into *cell (a tf_cell_t). Prints a
 * usage error and returns TT_EXIT_USAGE for another name. */
int tt_cell(const char *cmd, const char *name, int32_t *cell);

/* Check before training that `path` (the value of `flag`) can be written: its directory exists,
 * is a directory and is writable, and `path` is not a directory. Prints the reason and returns
 * TT_EXIT_DATA otherwise. */
int tt_check_out(const char *cmd, const char *flag, const char *path);

/* Set the embedding rows of the words listed in a word2vec/GloVe/fastText text file (--init-
 * embeddings) and print "N of V words found" on stderr; NULL path: nothing. */
int tt_init_embeddings(const char *cmd, tf_model_t *model, const char *path);

/* 1 if the n bytes at s are all white space (or n is 0): a line with no text. */
int tt_is_blank(const char *s, size_t n);

/* Save and report; returns an exit status. */
int tt_model_save(const char *cmd, tf_model_t *model, const char *path);

/* Parse `LABEL=VALUE,...` (values finite and > 0) into out[0..n-1] in label order; the labels
 * are the model's (when `model` is not NULL) or `names`. Labels not named get `dflt`; NaN makes
 * every label required. Returns TT_EXIT_OK or a usage error naming `flag`. */
int tt_label_values(const char *cmd, const char *flag, const char *spec, tf_model_t *model,
                    const char *const *names, int32_t n, double dflt, double *out);

/* ---- numeric sequences (numeric.c) ------------------------------------------------------------ */

/* The data format of --format: text (label<TAB>text lines, one text per line) or csv (numeric
 * sequences, --features values per step). */
#define TT_FORMAT_TEXT 0
#define TT_FORMAT_CSV 1
#define TT_FORMAT_IDX 2 /* IDX images: one row of pixels per step, labels in an IDX label file */

/* What an IDX image loader reads besides the image file: its label file (NULL: none) and how
 * many images of each label to keep (0: all). */
typedef struct tt_idx {
    const char *labels;
    int32_t per_class;
} tt_idx_t;

/* --format NAME (NULL: text) into *format; --features without csv is a usage error. */
int tt_format(const char *cmd, const char *name, int features_seen, int *format);

/* A usage error for the first of `names` (text-only flags) given with numeric data. */
int tt_text_flags(const char *cmd, tt_opt_t *opts, int num, const char *const *names, int n);

/* Features per step of a numeric model (0 for a text model). */
int32_t tt_model_features(tf_model_t *model);

/* The data format must fit the model loaded from `path` (csv for a numeric model, text for a
 * text one) and --features, when given, its feature count; otherwise a data error (exit 2). */
int tt_check_input(const char *cmd, const char *path, tf_model_t *model, int format,
                   int32_t features, int features_seen);

/* Flags of tt_numeric_loader(). */
#define TT_NUM_LEARN 1    /* a model without statistics takes this loader's (training data) */
#define TT_NUM_EMPTY_OK 2 /* a file (split) without lines is a note and *out NULL, not an error */

/* A numeric loader with `lopts` (num_features, has_label, next_step set by the caller): CSV, or
 * with `idx` IDX images (whose columns must be the model's features). A model that records a
 * standardisation standardises the loader with it; one that does not takes the loader's own
 * (TT_NUM_LEARN) or else reads values as they are. `shown` names the file in messages. */
int tt_numeric_loader(const char *cmd, tf_ctx_t *ctx, const char *path, const char *shown,
                      const tf_loader_opts_t *lopts, const tt_idx_t *idx, tf_model_t *model,
                      int flags, tf_loader_t **out);

/* Columns (features per step) of the images of an IDX file, from its header; 0 if it cannot be
 * read as one (the loader then says why). */
int32_t tt_idx_features(const char *path);

/* One CSV line of `len` bytes (changed in place) as values of F features per step into
 * *values (grown as needed, *cap its capacity); a first field that is not a number, or that is
 * one field more than whole steps, is a label and skipped. Returns 1 and sets *steps, or 0 with
 * the reason in `why`. */
int tt_parse_csv_values(char *line, size_t len, int32_t F, float **values, size_t *cap,
                        int64_t *steps, char *why, size_t why_size);

/* ---- texts of files (texts.c) ---------------------------------------------------------------- */

/* The token ids of texts, back to back: text i is ids[off[i]] to ids[off[i+1]-1]. Start it
 * zeroed; free with tt_texts_free(). */
typedef struct tt_texts {
    int32_t *ids;
    int64_t *off;
    size_t nids, cap_ids;
    int64_t n, cap_off;
} tt_texts_t;

/* Append the texts of `path`, one per line (tsv: `label<TAB>text` lines, the text only; lines
 * without a tab are skipped), tokenised with `vocab`; lines without a token are left out.
 * Prints the failure and returns an exit status. */
int tt_read_texts(const char *cmd, const char *path, int tsv, tf_vocab_t *vocab, tt_texts_t *t);
void tt_texts_free(tt_texts_t *t);

/* ---- several processes (dist.c) ---------------------------------------------------------------- */

/* Under an MPI launcher, in builds with MPI: initialise MPI; ranks other than 0 print nothing on
 * stdout. Otherwise nothing. Returns an exit status. */
int tt_dist_init(int *argc, char ***argv);
/* The group of every process of the job for the training options, made on first use (every
 * rank calls it at the same point); NULL for one process. */
tf_dist_t *tt_dist(const char *cmd);
/* This process's rank: 0 for one process. Only rank 0 prints progress and writes files. */
int tt_dist_rank(void);
/* End MPI: a finished or interrupted run ends every rank normally, another failure ends the
 * whole job at once (it may be one rank's alone). Returns `rc`. */
int tt_dist_finish(int rc);

/* ---- progress (progress.c) -------------------------------------------------------------------- */

typedef struct tt_progress {
    const char *what;  /* "pretrain" or "finetune" */
    const char *valid_name; /* the validation column: valid_ppl, valid_mse or valid_metric */
    int tty;           /* draw a bar on stderr; otherwise one table row per epoch */
    int drawn;         /* a bar is on the current line */
    double last_draw;  /* monotonic seconds of the bar's last drawing */
    int header;        /* the table's header is printed */
    int32_t epoch;     /* epoch of the running row (-1: none yet) */
    int64_t last_step; /* step of the previous callback */
    double loss_sum;   /* training loss of the running epoch, summed over its steps */
    int64_t loss_n;
    double epoch_start; /* monotonic seconds */
    int64_t save_every; /* stop the call every this many steps to save a checkpoint; 0 = never */
    int save_due;       /* the callback stopped the call for a checkpoint */
} tt_progress_t;

/* `save_every` as tt_progress_t. */
void tt_progress_init(tt_progress_t *p, const char *what, int64_t save_every);
/* The progress_every a phase must be called with: every step off a terminal (the rows need
 * each step's loss), `dflt` on one; a divisor of `save_every` either way. */
int64_t tt_progress_every(const tt_progress_t *p, int64_t dflt);
int32_t tt_progress_cb(const tf_progress_t *progress, void *payload);
/* End the bar's line (if any). */
void tt_progress_done(tt_progress_t *p);
/* The phase ended: off a terminal, the row of its last epoch, with the report's validation. */
void tt_progress_finish(tt_progress_t *p, const tf_train_report_t *report);
double tt_now(void);

/* ---- checkpoints and resuming (resume.c) ------------------------------------------------------ */

/* Where a run's checkpoint goes: the model (safetensors) and its training state. */
typedef struct tt_ckpt {
    char *model;
    char *state;
    int resuming; /* --resume was given */
} tt_ckpt_t;

/* After tt_check_out() of --out OUT: with --resume STATE (it must end in .state), STATE and the
 * model next to it (.safetensors in place of .state), where the run also goes on saving;
 * otherwise OUT.resume.state and OUT.resume.safetensors. Free with tt_ckpt_free(). */
int tt_ckpt_paths(const char *cmd, const char *out, const char *resume, tt_ckpt_t *ck);
void tt_ckpt_free(tt_ckpt_t *ck);
/* Load the checkpoint's model (task head included). */
int tt_ckpt_load_model(const char *cmd, tf_ctx_t *ctx, const tt_ckpt_t *ck, tf_model_t **model);
/* Restore the checkpoint's training state into the model and its training loader when resuming
 * (nothing otherwise). */
int tt_ckpt_load_state(const char *cmd, tf_model_t *model, tf_loader_t *train,
                       const tt_ckpt_t *ck);
/* Delete the checkpoint of a run that is complete. */
void tt_ckpt_remove(const tt_ckpt_t *ck);

/* One training phase driven by tt_run_phase(). */
typedef struct tt_run {
    const char *cmd;
    const char *what; /* the message of a failure: "pre-training failed" */
    tf_status_t (*step)(void *arg, tf_train_report_t *report); /* one tf_pretrain/tf_finetune call */
    void *arg;
    tf_model_t *model;
    tf_loader_t *train;
    tt_progress_t *progress;
    const tt_ckpt_t *ckpt;
    int argc;    /* the subcommand's arguments, to print the command that resumes */
    char **argv;
    void (*finished)(const struct tt_run *run); /* after the phase, before saving; or NULL */
} tt_run_t;

/* Run the phase to its end: each time the progress callback stops it for a checkpoint, save the
 * model and the state and go on; on Ctrl-C or SIGTERM save them, print how to resume and return
 * TT_EXIT_INTERRUPTED. */
int tt_run_phase(const tt_run_t *run, tf_train_report_t *report);

/* Catch interrupts, run the phase (tt_run_phase()), save the model to `out` and remove the
 * checkpoint; *started receives tt_now() at the phase's start, for the summary line. Returns
 * TT_EXIT_OK or the exit status. */
int tt_run_and_save(const tt_run_t *run, tf_train_report_t *report, const char *out,
                    double *started);

/* Make SIGINT and SIGTERM set a flag that the progress callback sees (a second SIGINT or SIGTERM
 * ends the process as usual). */
void tt_catch_interrupt(void);
int tt_interrupted(void);

/* ---- the explanation page (report_html.c) ------------------------------------------------------ */

typedef struct tt_report {
    FILE *f;           /* the temporary file being written */
    char *tmp;         /* its name: REPORT.html.tmp, renamed once complete */
    const char *path;
    tf_model_t *model;
    tf_vocab_t *vocab; /* the model's, borrowed */
    int words;         /* a word vocabulary: tokens are shown apart */
} tt_report_t;

/* Start the page at `path` (through a temporary file): title, method and legend. */
int tt_report_open(const char *cmd, tt_report_t *rep, const char *path, tf_model_t *model,
                   const char *model_path, const tf_explain_opts_t *o);
/* One text's section: prediction, the tokens highlighted by attribution, the text itself. */
void tt_report_text(tt_report_t *rep, long lineno, const char *line, size_t n,
                    const tf_explain_result_t *r, const float *probs, const float *attr,
                    const int32_t *ids);
/* End the page and put it in place; an exit status. */
int tt_report_close(const char *cmd, tt_report_t *rep, long texts);
/* Drop an unfinished page (no-op after tt_report_close). */
void tt_report_abandon(tt_report_t *rep);

/* ---- subcommands ------------------------------------------------------------------------------ */

int tt_cmd_pretrain(int argc, char **argv);
int tt_cmd_finetune(int argc, char **argv);
int tt_cmd_eval(int argc, char **argv);
int tt_cmd_predict(int argc, char **argv);
int tt_cmd_adapt(int argc, char **argv);
int tt_cmd_export(int argc, char **argv);
int tt_cmd_import(int argc, char **argv);
int tt_cmd_distill(int argc, char **argv);
int tt_cmd_explain(int argc, char **argv);

/* Architecture flags shared by pretrain and finetune (from scratch). */
#define TT_DEFAULT_VOCAB 8000
#define TT_DEFAULT_EMB 100
#define TT_DEFAULT_HIDDEN 200
#define TT_DEFAULT_LAYERS 1

#endif
