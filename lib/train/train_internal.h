/* SPDX-License-Identifier: MIT */
/* Private definitions of lib/train: the model struct, the state of a training phase, and the
 * helpers the trainer files share. */
#ifndef TF_TRAIN_INTERNAL_H
#define TF_TRAIN_INTERNAL_H

#include "transfer/train.h"
#include "transfer/io.h"
#include "../nn/nn_internal.h"

#include <stddef.h>
#include <stdint.h>

/* A growable float buffer with a tensor view over it. */
typedef struct tf__scratch {
    float *data;
    size_t cap;
    struct tf_tensor view;
} tf__scratch_t;

/* State of the current training phase; it survives between calls so a phase can continue. */
typedef struct tf__phase {
    int32_t phase;          /* 0 (none), TF_TRAIN_PHASE_PRETRAIN or _FINETUNE */
    uint64_t fingerprint;   /* hash of the options that shape the phase */
    tf_optimizer_t *opt;
    int64_t total_steps;
    int32_t epoch;          /* epochs completed */
    int32_t best_epoch;
    int32_t bad_epochs;     /* epochs since the best (early stopping) */
    int32_t finished;       /* the phase ran to its end */
    int32_t ranks;          /* processes of the distributed run that trains it; 0: one */
    double best_metric;
    double last_valid_loss;
    double last_valid_metric;
    double epoch_loss_sum;  /* training loss of the running epoch */
    int64_t epoch_loss_n;
    float *best;            /* snapshot of every parameter at the best epoch, or NULL */
    size_t best_n;
    float *last_good;       /* weights before the last update (divergence guard) */
    void *pending_opt;      /* optimizer state read by tf_train_state_load, applied on resume */
    size_t pending_opt_size;
} tf__phase_t;

struct tf_model {
    tf_ctx_t *ctx;
    tf_model_opts_t cfg;
    tf_vocab_t *vocab;          /* owned copy, NULL for numeric input */
    tf_module_t *encoder;       /* "embedding.*" or "proj.*", then "lstm.*" */
    tf_module_t *lm_dropout;
    tf_module_t *lm_head;       /* "lm_head.*": H -> V (tokens) or H -> F (next step) */
    tf_module_t *head_dropout;  /* task head, after fine-tuning: */
    tf_module_t *head;          /* "head.*": pooled -> C (or 1 logit for two classes) */
    uint32_t pool_modes;
    double head_p;              /* dropout before the task head */
    int32_t num_classes;
    int32_t multilabel;         /* 1: one sigmoid output per class (BCE), label sets */
    char **labels;
    /* decisions (decision.c): z / T + log(prior) - log(model_prior); NULL priors: none recorded
     * (model_prior, train_prior) or deciding as trained (prior) */
    double temperature;
    double *train_prior, *model_prior, *prior;
    float *in_mean, *in_std;    /* numeric input standardisation (F each), or NULL */
    tf__phase_t ph;
    /* scratch for a step */
    tf__scratch_t dy, dpred, pooled, dpooled, targets, dlogits, adj;
    double *class_w;            /* per-class loss weights of the running fine-tuning, or NULL */
    int32_t *ids;               /* predict_text tokenisation buffer */
    size_t ids_cap;
    /* a distributed training call (dist.c): the group, the modules whose gradients it sums
     * (head first), which of them are being summed this step, and the first error of a sum */
    tf_dist_t *dist;
    const char *dist_fn;
    tf_module_t *dist_mods[2];
    uint32_t dist_started;
    tf_status_t dist_err;
    int32_t inference;          /* loaded from an inference export (no LM head, rounded
                                   weights): its TF_EXPORT_DTYPE_*; 0 otherwise */
};

/* Standardisation (standardize.c). A numeric model without statistics records the training
 * loader's (a no-op otherwise); prediction (lib/predict) applies them to raw values. Free: drop
 * them. */
tf_status_t tf__model_adopt_standardization(tf_model_t *m, const tf_loader_t *train);
void tf__model_free_standardization(tf_model_t *m);

/* Allocate a model with fresh modules for `cfg`; `vocab` is adopted (freed on failure). */
tf_status_t tf__model_new(tf_model_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab, const tf_model_opts_t *cfg);
/* Check the LM head's options (softmax, cut-offs, div_value) of `o` against the vocabulary
 * (NULL for a numeric model). */
tf_status_t tf__model_check_softmax(const char *fn, const tf_model_opts_t *o, const tf_vocab_t *vocab);
/* The mean next-token loss of a token model's LM head (full or adaptive softmax) on encoder
 * outputs y, as tf_linear_cross_entropy (dy: the caller's, or NULL). */
tf_status_t tf__model_lm_loss(tf_model_t *m,
                              const tf_tensor_t *y,
                              const tf_tensor_t *targets,
                              int32_t backward,
                              double *loss,
                              int64_t *count,
                              tf_tensor_t *dy);

/* A copy of `src` owned by `ctx`. */
tf_status_t tf__vocab_copy(tf_ctx_t *ctx, const tf_vocab_t *src, tf_vocab_t **out);

/* Modules holding parameters, in enumeration order (encoder, lm_head, head); returns the count. */
uint32_t tf__model_modules(tf_model_t *m, tf_module_t **mods);

/* Directions of the backbone (1 or 2) and its output width D = H * directions. */
int32_t tf__model_dirs(const tf_model_t *m);
int64_t tf__model_out_dim(const tf_model_t *m);

/* Make the task head for `num_classes` classes with these label names (copied): one output
 * per class for softmax cross-entropy (C > 2) or for multi-label BCE, one logit for two
 * classes. */
tf_status_t tf__model_make_head(tf_model_t *m,
                                int32_t num_classes,
                                int32_t multilabel,
                                const char *const *labels,
                                uint32_t pool_modes,
                                double dropout);
void tf__model_drop_head(tf_model_t *m);

struct tf__lines;
/* tf_model_init_embeddings_file on lines of any source (a file, or memory for the fuzz target). */
tf_status_t tf__model_init_embeddings_lines(tf_model_t *m, struct tf__lines *lr, int32_t *num_found);

/* ESTATE naming `fn` when the model came from an inference export, which cannot train. */
tf_status_t tf__model_check_trainable(const tf_model_t *m, const char *fn);

/* The metadata of a model checkpoint (kind, configuration, vocabulary, labels, decisions) into
 * `w`; `inference` is the dtype name of an inference export ("f32", "f16", "int8"), or NULL. */
tf_status_t tf__model_add_meta(tf_model_t *m, tf_tensorfile_writer_t *w, const char *inference);

/* Copy every parameter of the model from `f`, checking dtype and shape, and refuse tensors of
 * `f` the model does not have (`head.*` skipped when skip_head); messages start "fn: path:". */
tf_status_t tf__model_load_params(tf_model_t *m, tf_tensorfile_t *f, const char *fn, const char *path,
                                  int skip_head);

/* Counts of a classification pass ("confusion"): single-label, the C x C matrix (row = true
 * class, column = predicted); multi-label, a 2 x 2 matrix per class ([TN, FP; FN, TP], 4*C)
 * and then the number of sequences whose whole set was right. tf__counts_len gives the size. */
size_t tf__counts_len(const tf_model_t *m);

/* Encoder, pooling, dropout and task head: the raw logits (B x tf__head_width) of an input
 * (T, B[, F]) with its lengths (NULL: all T), and the encoder's output y for a backward pass.
 * tf__batch_logits does it for a loader's batch (EINVAL if it has no input of the model's kind). */
tf_status_t tf__head_logits(tf_model_t *m, tf_tensor_t *input, tf_tensor_t *lengths, tf_tensor_t **y,
                            tf_tensor_t **logits);
tf_status_t tf__batch_logits(tf_model_t *m, tf_batch_t *b, tf_tensor_t **y, tf_tensor_t **logits);

/* Logits per sequence: 1 for a two-class single-label head, else C. */
int64_t tf__head_width(const tf_model_t *m);

/* Tokenise `text` with the model's vocabulary into m->ids; *n receives the count (EINVAL for a
 * text without tokens, naming `fn`). */
tf_status_t tf__model_encode(tf_model_t *m, const char *fn, const char *text, size_t bytes, size_t *n);

/* Decisions (decision.c). Clear: temperature 1, no priors. Set the training frequencies from
 * label counts over n sequences and the class weights the loss uses (NULL: all 1). Apply: turn
 * B rows of raw logits into decision logits in place. Probs: one row of raw logits into C
 * probabilities. */
void tf__decision_clear(tf_model_t *m);
/* dst decides for src's priors (training, model and target; same classes), temperature 1. */
tf_status_t tf__decision_copy_priors(tf_model_t *dst, const tf_model_t *src);
tf_status_t tf__decision_set_train(tf_model_t *m, const int64_t *counts, int64_t n, const double *w);
int tf__decision_is_identity(const tf_model_t *m);
void tf__decision_apply(const tf_model_t *m, float *z, int64_t B);
/* The decisions as plain values, for prediction without the model (lib/predict): the
 * temperature, the offset of each of the K = tf__head_width logits and the kind of head; and
 * one row of raw logits z into C probabilities with them. */
enum { TF__DECIDE_SOFTMAX = 1, TF__DECIDE_ONE_LOGIT = 2, TF__DECIDE_MULTILABEL = 3 };
void tf__decision_export(const tf_model_t *m, double *temperature, double *offsets, int32_t *kind);
void tf__decision_row(int32_t kind, int64_t C, double temperature, const double *offsets, const float *z,
                      float *probs);
/* Probabilities `p` (C values) of one row of raw logits `z` and the gradient `dz` (K =
 * tf__head_width values) of p[c] with respect to z. */
void tf__decision_prob_grad(const tf_model_t *m, const float *z, int32_t c, double *p, double *dz);

/* Integrated gradients (explain.c) along the straight path from `base` to `x`, both (T, I) rows
 * of the backbone's input (embedding output or numeric input) of which the first `len` are the
 * sequence: for each of the n points alpha[k] (in [0, 1]) the input base + alpha[k] (x - base) is
 * run forward with `len` valid steps, f[k] receives the decided probability of class `cls`, and
 * `grad` (T x I, zeroed first) the sum of weight[k] times the gradient of f at the point (no
 * backward when every weight is 0). At most `chunk` points go through the model at once. The
 * model's gradient buffers are left as they were. */
tf_status_t tf__explain_path(tf_model_t *m, const float *x, const float *base, int64_t T, int64_t len,
                             int32_t cls, const double *alpha, const double *weight, int64_t n,
                             int64_t chunk, double *f, double *grad);

/* Class weights (class_weights.c): from the options and the training loader's counts into
 * m->class_w (NULL when every weight is 1), recording the training and model priors; and the
 * weighted loss (and gradient into `grad`, may be NULL) of a batch's logits. */
tf_status_t tf__class_weights_resolve(tf_model_t *m, const tf_finetune_opts_t *o, tf_loader_t *train);
tf_status_t tf__weighted_loss(tf_model_t *m, tf_tensor_t *logits, const int32_t *lab,
                              tf_tensor_t *sets, double *loss, tf_tensor_t *grad);

/* The name of class `c` of a labelled loader; classes of caller arrays given without names are
 * named by their ids ("0", "1", ...), written into `buf`. */
const char *tf__class_name(const tf_loader_t *l, int32_t c, char buf[16]);

/* log(1 + exp(x)) and 1 / (1 + exp(-x)) in double, without overflow. */
double tf__softplus(double x);
double tf__sigmoid(double x);

/* The distillation loss (distill_loss.c): T^2 KL(p_T || q_T) between the teacher's softened
 * outputs p_T (logits zt) and the student's q_T (logits zs), B rows of K logits. per_logit = 0:
 * one softmax over each row's K >= 2 logits, the mean over rows; per_logit = 1: each logit is
 * a distribution over {no, yes} (sigmoid), the mean over all B * K. The loss is accumulated in
 * double; grad (may be NULL) receives d loss / d zs times `scale`. */
void tf__distill_loss(const float *zs, const float *zt, int64_t B, int64_t K, int32_t per_logit,
                      double T, double scale, double *loss, float *grad);

/* EINVAL unless `data` has exactly the model's labels (kind, count and names). */
tf_status_t tf__model_check_labels(const tf_model_t *m, const tf_loader_t *data, const char *fn);

/* Forward + loss (+ backward when `train`) of one classification batch. Adds to `confusion`
 * (tf__counts_len) when given. Returns the mean loss of the batch in *loss. */
tf_status_t tf__cls_batch(tf_model_t *m, tf_batch_t *b, int32_t train, double *loss, int64_t *confusion);
/* The backward pass of a classification batch from the gradient of its logits in m->dlogits:
 * head, dropout, pooling and (unless every backbone parameter is frozen) the encoder, whose
 * forward gave y for those lengths. `weight`: what the batch's loss is a mean over (a
 * distributed step sums the head's gradients scaled by it as soon as they are complete). */
tf_status_t tf__cls_backward(tf_model_t *m, tf_tensor_t *y, tf_tensor_t *lengths, double weight);

/* The options fine-tuning and distillation share: EINVAL naming `fn` unless epochs and
 * progress_every are >= 1, patience and stop_after_steps >= 0, metric a tf_metric_t and
 * head_dropout in [0, 1). */
tf_status_t tf__check_cls_phase(const char *fn, int32_t epochs, int32_t patience,
                                int64_t stop_after_steps, int64_t progress_every, int32_t metric,
                                double head_dropout);

/* An epoch's end of a classification phase: evaluate `valid` (NULL: nothing), keep a snapshot
 * of the best weights by `metric` (a tf_metric_t) and set *stop after `patience` epochs (0:
 * never) without a better one; `what` names the phase in the log. */
tf_status_t tf__keep_best(tf_model_t *m, tf_loader_t *valid, int32_t metric, int32_t patience,
                          const char *what, int *stop);

/* One pass over a labelled loader in evaluation mode (reset before and after): mean loss, the
 * counts (zeroed first) and the number of sequences. */
tf_status_t tf__evaluate_loader(tf_model_t *m, tf_loader_t *data, double *loss, int64_t *confusion, int64_t *count);

/* A ::tf_metric_t from the counts (accuracy, or exact-set accuracy for multi-label; macro-F1)
 * or the loss. */
double tf__metric(const tf_model_t *m, const int64_t *conf, double loss, int32_t metric);

/* Resize a scratch buffer to `shape` (contents not kept) and view it as f32. */
tf_status_t tf__scratch_f32(tf_ctx_t *ctx, tf__scratch_t *s, const int64_t *shape, uint32_t ndim);
void tf__scratch_free(tf_ctx_t *ctx, tf__scratch_t *s);

/* Mode (TF__MODE_*) of every module of the model. */
void tf__model_set_training(tf_model_t *m, int32_t training);

/* Copy all parameters (encoder, lm_head, head) into / out of one flat snapshot. */
size_t tf__model_param_floats(tf_model_t *m);
void tf__model_snapshot(tf_model_t *m, float *dst);
void tf__model_restore(tf_model_t *m, const float *src);

/* End the current phase: free its optimizer and bookkeeping. */
void tf__phase_reset(tf_model_t *m);

/* Give the phase its optimizer (parameters attached): applies the state a tf_train_state_load
 * left pending, then takes ownership; on failure the optimizer is freed. */
tf_status_t tf__phase_install_optimizer(tf_model_t *m, tf_optimizer_t *opt);

/* Zero the gradients of every module of the model. */
void tf__model_zero_grad(tf_model_t *m);

/* Add every parameter of the model's modules to the optimizer. */
tf_status_t tf__optimizer_attach(tf_model_t *m, tf_optimizer_t *opt);
/* ULMFiT's discriminative rates over an attached model: recurrent layer k at factor^-(L - k), the
 * embedding or projection at factor^-(L + 1), weight decay `wd`. */
tf_status_t tf__finetune_set_rates(tf_model_t *m, tf_optimizer_t *opt, double factor, double wd);
/* Only the backbone and the language-model head (pre-training leaves a task head as it is; its
 * weights would otherwise shrink by weight decay). */
tf_status_t tf__optimizer_attach_lm(tf_model_t *m, tf_optimizer_t *opt);
/* Only the backbone and the task head (distillation leaves a language-model head as it is). */
tf_status_t tf__optimizer_attach_cls(tf_model_t *m, tf_optimizer_t *opt);

/* Progress reporting shared by the two trainers. */
typedef struct tf__clock {
    double start;
    double mark;        /* time of the last report */
    double items_mark;  /* items processed at the last report */
    double items;       /* items processed in this call */
    double loss_sum;    /* training loss since the last report */
    int64_t loss_n;
} tf__clock_t;
double tf__now(void);
void tf__clock_start(tf__clock_t *clk);
/* Calls the callback; returns ECANCELED when it asked to stop. */
tf_status_t tf__report_progress(tf_model_t *m,
                                tf__clock_t *clk,
                                int32_t phase,
                                int64_t step,
                                double epoch_fraction,
                                tf_progress_cb cb,
                                void *payload);

/* 64-bit FNV-1a over bytes, for option fingerprints. */
uint64_t tf__fnv1a(uint64_t h, const void *data, size_t n);

/* A non-finite loss or gradient norm: stop before updating, keep the weights. */
tf_status_t tf__diverged(const char *fn, int64_t step, double loss, double grad_norm);

/* A non-finite loss: restore the weights of before the last update, zero the gradients and
 * return EDIVERGED; OK otherwise. */
tf_status_t tf__guard_loss(tf_model_t *m, double loss, int64_t step, const char *fn);

/* Clip the gradients (clip <= 0: only measure the norm), refuse a non-finite norm with
 * EDIVERGED before any update, then step the optimizer and zero the gradients. */
tf_status_t tf__clip_and_step(tf_model_t *m, double clip, int64_t step, double loss, const char *fn);

/* Fill a caller report (honouring its struct_size). */
void tf__fill_report(tf_model_t *m, tf_train_report_t *report, const tf__clock_t *clk);
/* A training call's report (NULL allowed) is checked on entry: EINVAL/EVERSION naming `fn`. */
tf_status_t tf__report_check(const tf_train_report_t *report, const char *fn);

/* ---- the training loop (train_loop.c) ---- */

/* What a phase brings to the loop. `self` is the phase's own state. */
typedef struct tf__phase_ops {
    int32_t phase;  /* TF_TRAIN_PHASE_* */
    const char *fn; /* the public call, for messages */
    /* Forward, loss and backward of one training batch; *items: its tokens or sequences;
     * *weight: what its mean loss is a mean over (a distributed step weighs the ranks' shards
     * by it). */
    tf_status_t (*batch)(void *self, tf_model_t *m, tf_batch_t *b, double *loss, double *items,
                         double *weight);
    /* Before each batch is read, or NULL (gradual unfreezing). */
    void (*before_batch)(void *self, tf_model_t *m);
    /* After each update, `step` updates done in the phase, or NULL. */
    tf_status_t (*after_step)(void *self, tf_model_t *m, int64_t step);
    /* At an epoch's end, the epoch counted, or NULL; *stop = 1 ends the phase. */
    tf_status_t (*end_epoch)(void *self, tf_model_t *m, int *stop);
    /* Once the phase has run to its end, or NULL. */
    tf_status_t (*finish)(void *self, tf_model_t *m);
} tf__phase_ops_t;

/* One call of a phase. */
typedef struct tf__loop {
    const tf__phase_ops_t *ops;
    void *self;
    tf_loader_t *train;
    int64_t total;            /* the phase's steps */
    int32_t epochs;           /* the phase ends after this many epochs; 0: by `total` only */
    int32_t stop_at_total;    /* 1: the phase ends once `total` steps are done */
    int64_t stop_after_steps; /* return after this many steps of this call; 0: no limit */
    double clip;              /* gradient-norm bound; 0: none */
    int64_t progress_every;
    tf_progress_cb progress;
    void *progress_payload;
} tf__loop_t;

/* Run (or continue) the phase whose optimizer tf__phase_optimizer installed; fills `report`. */
tf_status_t tf__train_loop(tf_model_t *m, const tf__loop_t *l, tf_train_report_t *report);

/* Enter `phase` for a call: another phase, other options (`fingerprint`) or a finished phase
 * start anew (the state reset; returns 1), else the phase continues (returns 0). */
int tf__phase_enter(tf_model_t *m, int32_t phase, uint64_t fingerprint, int64_t total);

/* A new phase's optimizer from `oo` (no clipping of its own), its parameters added by `attach`;
 * a continued phase keeps the one it has. */
tf_status_t
tf__phase_optimizer(tf_model_t *m,
                    const tf_optimizer_opts_t *oo,
                    tf_status_t (*attach)(tf_model_t *m, tf_optimizer_t *opt, const void *arg),
                    const void *arg);

/* A phase's optimizer options: the caller's nested struct `given` (read with its own size and
 * version, library defaults for the rest), or the phase's `defaults` when NULL; total_steps 0
 * becomes `total` and max_grad_norm 0 the phase's `clip_norm`. */
tf_status_t tf__resolve_optim(const tf_optimizer_opts_t *given,
                              const tf_optimizer_opts_t *defaults,
                              int64_t total,
                              double clip_norm,
                              tf_optimizer_opts_t *out,
                              const char *what);

#endif
