/* SPDX-License-Identifier: MIT */
/* Private definitions of lib/nn: the module base struct and its vtable, the parameter store, and
 * the helpers the module files share.
 *
 * How the training layer uses the modules (public calls only, see include/transfer/nn.h):
 *
 *   Encoder forward on a batch:
 *     tf_rnn_forward(&y, &h_n, &c_n, enc, tokens (T,B) i32, lengths (B) i32 or NULL, h0, c0)
 *     y (T,B,H*dirs), h_n/c_n (L*dirs,B,H) are borrowed from enc until its next forward.
 *   LM head (tied or not), loss in chunks of rows (bounded memory for a 10000-word vocabulary):
 *     tf_linear_create(&lm, ctx, {in=H, out=V, name="lm_head"})        -> "lm_head.weight/.bias"
 *     tf_linear_create_tied(&lm, ctx, enc, {in=E(=H), out=V, name="lm_head"}) -> "lm_head.bias"
 *     tf_linear_cross_entropy(lm, y, targets (T,B), ignore, 1, &loss, &count, dy)  (dy caller's)
 *   Classification: tf_pool_forward(y, lengths, TF_POOL_LAST|..., dirs, pooled (B,k*D));
 *     tf_module_forward(&logits, head, pooled, NULL); tf_loss_bce_with_logits / _cross_entropy
 *     (logits, targets, &loss, dlogits); tf_module_backward(&dpooled, head, dlogits);
 *     tf_pool_backward(y, lengths, modes, dirs, dpooled, dy).
 *   Backward through the encoder: tf_rnn_backward(NULL, NULL, NULL, enc, dy, dh_n or NULL,
 *     dc_n or NULL) (or tf_module_backward(NULL, enc, dy)).
 *   Parameters across encoder + heads: enumerate each module with tf_module_num_params /
 *     tf_module_param_at (names are already prefixed: "embedding.weight", "lstm.*" (the cell's
 *     name, cell.h), "head.weight",
 *     "lm_head.bias"); zero with tf_module_zero_grad on each; freeze with tf_module_freeze.
 *   Inside lib/, tf__module_param_buffers() gives the flat parameter and gradient arrays.
 */
#ifndef TF_NN_INTERNAL_H
#define TF_NN_INTERNAL_H

#include "transfer/nn.h"
#include "../tensor/tensor_internal.h"
#include "cell.h"

#include <stddef.h>
#include <stdint.h>

/* One parameter: its name, a view of its slice of the parameter buffer and of the gradient
 * buffer. */
typedef struct tf__param {
    char *name;
    struct tf_tensor value;
    struct tf_tensor grad;
} tf__param_t;

typedef struct tf__module_vtable {
    int32_t kind;
    const char *kind_name;
    tf_status_t (*forward)(tf_module_t *m,
                           const tf_tensor_t *input,
                           const tf_tensor_t *lengths,
                           tf_tensor_t **output);
    tf_status_t (*backward)(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input);
    void (*set_training)(tf_module_t *m, int32_t training); /* children; may be NULL */
    void (*destroy)(tf_module_t *m);                        /* frees the kind's own memory */
    /* Forward and backward with initial and final states (tf_rnn_forward/_backward); NULL for a
     * module that is neither recurrent nor an encoder. */
    tf_status_t (*forward_states)(tf_module_t *m,
                                  const tf_tensor_t *input,
                                  const tf_tensor_t *lengths,
                                  const tf_tensor_t *h0,
                                  const tf_tensor_t *c0,
                                  tf_tensor_t **output,
                                  tf_tensor_t **h_n,
                                  tf_tensor_t **c_n);
    tf_status_t (*backward_states)(tf_module_t *m,
                                   const tf_tensor_t *grad_output,
                                   const tf_tensor_t *grad_h_n,
                                   const tf_tensor_t *grad_c_n,
                                   tf_tensor_t **grad_input,
                                   tf_tensor_t **grad_h0,
                                   tf_tensor_t **grad_c0);
} tf__module_vtable_t;

/* Base of every module; each kind's struct starts with it. */
struct tf_module {
    const tf__module_vtable_t *vt;
    tf_ctx_t *ctx;
    int32_t training;
    int32_t has_forward; /* a training-mode forward is cached for backward */
    uint32_t nparams;
    tf__param_t *own;     /* this module's parameters (nown entries), or NULL */
    uint32_t nown;
    tf__param_t **params; /* enumeration order: own entries or children's */
    float *pbuf;          /* parameter and gradient buffers (nfloats each) */
    float *gbuf;
    size_t nfloats;
    int32_t owns_buf;     /* 0 when the buffers belong to a parent (encoder) */
};

/* Module modes (tf_module_t::training): evaluation, training, and an evaluation forward (no
 * dropout) kept for a backward pass, for gradients with respect to the input (explanations). */
enum { TF__MODE_EVAL = 0, TF__MODE_TRAIN = 1, TF__MODE_GRAD = 2 };

/* ---- module.c: base and parameter store ---- */

/* Set a module's mode (TF__MODE_*), children included. */
void tf__module_set_mode(tf_module_t *m, int32_t mode);


/* Initialise the base (no allocation). */
void tf__module_init(tf_module_t *m, const tf__module_vtable_t *vt, tf_ctx_t *ctx);

/* Declare `n` parameters: allocates the own-entry table and the enumeration table. */
tf_status_t tf__module_alloc_params(tf_module_t *m, uint32_t n);

/* Set own parameter `i`: name = prefix "." local (or local when prefix is NULL/empty), data views
 * at pbuf + offset / gbuf + offset. */
tf_status_t tf__module_set_param(tf_module_t *m,
                                 uint32_t i,
                                 const char *prefix,
                                 const char *local,
                                 size_t offset,
                                 const int64_t *shape,
                                 uint32_t ndim);

/* Allocate the parameter and gradient buffers (zeroed) when the module owns them. */
tf_status_t tf__module_alloc_buffers(tf_module_t *m, size_t nfloats);

/* Release the parameter tables and owned buffers (not the module struct). */
void tf__module_release(tf_module_t *m);

/* Free a module that was never counted as a live object (creation failure), or as part of
 * tf_module_free. Calls vt->destroy first, then releases the parameter store. */
void tf__module_discard(tf_module_t *m);

/* Flat arrays of all parameters and gradients (NULL/0 for a module with none). */
void tf__module_param_buffers(tf_module_t *m, float **params, float **grads, size_t *nfloats);

/* Gradient pointer of a parameter, or NULL when it is frozen (its gradient work is skipped). */
static inline float *tf__param_grad(tf__param_t *p)
{
    return p->value.requires_grad ? (float *)p->grad.data : NULL;
}

/* Fill a borrowed f32 view (a struct tf_tensor owned by a module) over `data`. */
void tf__view_set(struct tf_tensor *t, tf_ctx_t *ctx, float *data, const int64_t *shape, uint32_t ndim);

/* Grow a module-owned float buffer to at least `n` floats (contents not kept). */
tf_status_t tf__buf_reserve(tf_ctx_t *ctx, float **buf, size_t *cap, size_t n);

/* Uniform(-bound, bound) / N(0, 1) initialisation from the context's generator. */
void tf__init_uniform(tf_ctx_t *ctx, float *x, size_t n, float bound);
void tf__init_normal(tf_ctx_t *ctx, float *x, size_t n);

/* Validate an optional lengths tensor against (T, B): (B) i32 with values in 1..T. */
tf_status_t tf__check_lengths(const char *fn, const tf_tensor_t *lengths, int64_t T, int64_t B);

/* EOVERFLOW when a working buffer of `floats` floats (computed in double) cannot be addressed. */
tf_status_t tf__check_floats(const char *fn, double floats);

/* Check that `m` is non-NULL and of kind `kind`. */
tf_status_t tf__module_expect(const char *fn, const tf_module_t *m, int32_t kind);

/* Validate the name prefix option. */
tf_status_t tf__check_name(const char *fn, const char *name);

/* ---- per-kind internal constructors (the encoder builds its parts into one buffer) ---- */

/* Parameter floats each kind needs. */
size_t tf__embedding_param_floats(const tf_embedding_opts_t *o);
size_t tf__linear_param_floats(const tf_linear_opts_t *o);
size_t tf__rnn_param_floats(const tf_rnn_opts_t *o);

/* Create with the parameters placed at pbuf/gbuf (not owned) when pbuf is non-NULL, else owned.
 * Options are already read and validated. */
tf_status_t tf__embedding_new(tf_module_t **out,
                              tf_ctx_t *ctx,
                              const tf_embedding_opts_t *o,
                              float *pbuf,
                              float *gbuf);
tf_status_t tf__linear_new(tf_module_t **out,
                           tf_ctx_t *ctx,
                           const tf_linear_opts_t *o,
                           float *pbuf,
                           float *gbuf);
tf_status_t
tf__rnn_new(tf_module_t **out, tf_ctx_t *ctx, const tf_rnn_opts_t *o, float *pbuf, float *gbuf);
tf_status_t tf__embedding_check_opts(const char *fn, const tf_embedding_opts_t *o);
tf_status_t tf__linear_check_opts(const char *fn, const tf_linear_opts_t *o);
tf_status_t tf__rnn_check_opts(const char *fn, const tf_rnn_opts_t *o);

/* Embedding weight parameter (V, E) of an embedding module or token encoder, or NULL. */
tf__param_t *tf__embedding_weight(tf_module_t *m);
/* The embedding part of a token encoder, or NULL (numeric encoder). */
tf_module_t *tf__encoder_embedding(tf_module_t *m);
/* The recurrent stack of an encoder. */
tf_module_t *tf__encoder_rnn(tf_module_t *m);
/* nn_vec.c: vectorised row loops. max of n >= 1 floats; x += b then the max of x (n >= 1);
 * out[i] = exp(in[i] - shift) (out may be in; meant for in <= shift) returning the sum in double,
 * or only the sum; x *= a; acc += x; acc += a x. */
float tf__vec_max(const float *x, int64_t n);
float tf__vec_add_max(float *x, const float *b, int64_t n);
void tf__vec_axpy(float *acc, float a, const float *x, int64_t n);
double tf__vec_exp_sum(float *out, const float *in, float shift, int64_t n);
double tf__vec_exp_sum_only(const float *in, float shift, int64_t n);
void tf__vec_scale(float *x, float a, int64_t n);
void tf__vec_add(float *acc, const float *x, int64_t n);
/* The ISA level of those loops to use (core/isa.h; for the tests: a level the CPU lacks, or -1,
 * gives the CPU's best). */
void tf__vec_level_force(int level);

/* Check class targets of a (rows, C) input shaped like `x` without its last axis; count the rows
 * that are not ignored (loss.c). */
tf_status_t tf__check_class_targets(const char *fn,
                                    const tf_tensor_t *x,
                                    const tf_tensor_t *targets,
                                    int64_t C,
                                    int32_t ignore_index,
                                    int64_t *count);

/* ---- adaptive_softmax.c: the adaptive softmax LM head (torch.nn.AdaptiveLogSoftmaxWithLoss) ---- */

#define TF__ASOFT_MAX_CUTOFFS 8

typedef struct tf__asoft_opts {
    int64_t in_features, n_classes;
    int32_t n_cutoffs;                       /* tail clusters, 1..TF__ASOFT_MAX_CUTOFFS */
    int64_t cutoffs[TF__ASOFT_MAX_CUTOFFS];  /* strictly increasing, in 1..n_classes-1 */
    double div_value;                        /* PyTorch's default 4.0 */
    int32_t head_bias;
    const char *name;                        /* parameter prefix ("lm_head") or NULL */
} tf__asoft_opts_t;

/* Validate the options (EINVAL with a message naming the bad field). */
tf_status_t tf__asoft_check_opts(const char *fn, const tf__asoft_opts_t *o);
/* Parameter floats of a valid configuration. */
size_t tf__asoft_param_floats(const tf__asoft_opts_t *o);
/* Create (validates; counted as a live object, freed with tf_module_free). Parameters, in
 * PyTorch's state_dict order and names under `name`: head.weight (S + k, in), head.bias,
 * tail.<i>.0.weight (h_i, in), tail.<i>.1.weight (size_i, h_i). */
tf_status_t tf__asoft_new(tf_module_t **out, tf_ctx_t *ctx, const tf__asoft_opts_t *o);
/* The mean negative log-likelihood of the targets over the rows not ignored, as
 * tf_linear_cross_entropy() (same arguments); logp_out (optional, one double per row) gets each
 * row's log-probability of its target (0 for an ignored row). */
tf_status_t tf__asoft_loss(tf_module_t *m,
                           const tf_tensor_t *input,
                           const tf_tensor_t *targets,
                           int32_t ignore_index,
                           int32_t backward,
                           double *loss_out,
                           int64_t *count_out,
                           double *logp_out,
                           tf_tensor_t *grad_input);
/* log p of every word: out (..., V) f32 for input (..., in). */
tf_status_t tf__asoft_log_prob(tf_module_t *m, const tf_tensor_t *input, tf_tensor_t *out);

/* Linear internals for the chunked LM head. */
typedef struct tf__linear_view {
    int64_t in, out;
    const float *w; /* (out, in) */
    const float *b; /* (out) or NULL */
    float *dw;      /* NULL when frozen */
    float *db;      /* NULL when frozen or no bias */
} tf__linear_view_t;
void tf__linear_get_view(tf_module_t *m, tf__linear_view_t *v);
/* Scratch floats held by a linear module (grown on demand) for the chunked loss. */
tf_status_t tf__linear_scratch(tf_module_t *m, size_t n, float **out);

#endif
