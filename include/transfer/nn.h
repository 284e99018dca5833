/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/nn.h
 * @brief Neural modules (embedding, recurrent stack, linear, dropout, encoder), losses and pooling
 *        heads, with forward and backward passes.
 *
 * Every module is an opaque ::tf_module_t created from a context with a typed options struct and
 * freed with tf_module_free(). A module keeps all its parameters in one contiguous float buffer
 * and all their gradients in another; each parameter is exposed as a borrowed tensor viewing its
 * slice, under a PyTorch-compatible name (`embedding.weight`, `lstm.weight_ih_l0`,
 * `lstm.bias_hh_l1_reverse`, `weight`, ...). Weights are initialised like PyTorch from the
 * context's random generator, so the same seed gives the same weights.
 *
 * Sequences are time-major: token ids (T, B) i32, numeric inputs (T, B, F) f32, optional lengths
 * (B) i32 with values in 1..T (sequence b is valid for t < lengths[b]; padded steps produce zero
 * outputs and receive no gradient), outputs (T, B, H * directions) f32.
 *
 * Forward returns a borrowed output tensor owned by the module and valid until the next forward
 * on that module or its free. A forward in training mode remembers what backward needs: the
 * caller keeps the input tensor alive and unchanged until the backward call. Backward
 * ACCUMULATES parameter gradients into the module's gradient buffer (clear it with
 * tf_module_zero_grad()) and returns the gradient of the input (a borrowed tensor, overwritten by
 * the next backward). Frozen parameters (tf_module_freeze(), or tf_tensor_set_requires_grad() on
 * the parameter) receive no gradient and their gradient work is skipped.
 *
 * Working memory is sized by the first forward of a given (T, B) and reused; a larger batch grows
 * it (the only allocation outside creation). For an LSTM of L layers, D directions, input I and
 * hidden H it holds, in floats: L*T*B*D*H layer outputs, the kernel caches of every layer and
 * direction, (L-1)*T*B*D*H dropout masks when dropout is on, 6*L*D*B*H states, 2*T*B*D*H + 2*T*B*I
 * gradient and input buffers. A chunked head (tf_linear_cross_entropy()) keeps at most 2^22 logits.
 *
 * One language-model training step (token encoder `enc`, head `lm` over V words):
 * @code
 * tf_tensor_t *y, *h_n, *c_n;                 // borrowed from enc
 * tf_module_zero_grad(enc); tf_module_zero_grad(lm);
 * tf_rnn_forward(&y, &h_n, &c_n, enc, tokens, lengths, NULL, NULL);
 * tf_linear_cross_entropy(lm, y, targets, pad_id, 1, &loss, &count, dy);   // dy: (T, B, H), yours
 * tf_rnn_backward(NULL, NULL, NULL, enc, dy, NULL, NULL);
 * // then an optimizer step over tf_module_param_at(enc, i, ...) and tf_module_param_at(lm, i, ...)
 * @endcode
 *
 * @defgroup nn Neural modules
 * @{
 */
#ifndef LIBTRANSFER_NN_H
#define LIBTRANSFER_NN_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "tensor.h"

TF_BEGIN_DECLS

/** @brief Opaque module handle (embedding, recurrent stack, linear, dropout or encoder). */
typedef struct tf_module tf_module_t;

/** @brief Kind of a module, as returned by tf_module_kind(). Values are stable. */
typedef enum tf_module_kind {
    TF_MODULE_EMBEDDING = 1, /**< Token embedding table. */
    TF_MODULE_LSTM = 2,      /**< Stacked (optionally bidirectional) LSTM. */
    TF_MODULE_LINEAR = 3,    /**< Affine map y = x W^T + b. */
    TF_MODULE_DROPOUT = 4,   /**< Inverted dropout. */
    TF_MODULE_ENCODER = 5,   /**< Embedding (or linear input projection) followed by a recurrent stack. */
    TF_MODULE_GRU = 6,       /**< Stacked (optionally bidirectional) GRU. */
    TF_MODULE_ADAPTIVE_SOFTMAX = 7 /**< Adaptive softmax language-model head (a model's `lm_head` when
                                        pre-trained with cut-offs); tf_module_forward() gives the
                                        log-probabilities of every word. */
} tf_module_kind_t;

/** @brief Recurrent cell of a recurrent stack or encoder. Values are stable and saved in checkpoints. */
typedef enum tf_cell {
    TF_CELL_LSTM = 0, /**< Long short-term memory (torch.nn.LSTM; the default). */
    TF_CELL_GRU = 1   /**< Gated recurrent unit (torch.nn.GRU): no cell state. */
} tf_cell_t;

/** "No padding index" / "no ignore index" marker. */
#define TF_NN_INDEX_NONE (-1)

/* ---- options ---------------------------------------------------------------------------------- */

/** Current version of ::tf_embedding_opts_t. */
#define TF_EMBEDDING_OPTS_VERSION 1

/** @brief Options for tf_embedding_create(). Fill with tf_embedding_opts_init(). */
typedef struct tf_embedding_opts {
    uint32_t struct_size;   /**< sizeof(tf_embedding_opts_t), set by the init function. */
    uint32_t version;       /**< #TF_EMBEDDING_OPTS_VERSION, set by the init function. */
    int64_t num_embeddings; /**< Vocabulary size V (>= 1). No default (0). */
    int64_t embedding_dim;  /**< Row size E (>= 1). No default (0). */
    int64_t padding_idx;    /**< Row kept at zero with no gradient, or #TF_NN_INDEX_NONE (default). */
    const char *name;       /**< Name prefix of the parameters ("emb" gives "emb.weight"); NULL (default) gives "weight". Copied. */
} tf_embedding_opts_t;

/** Static initializer with the same defaults as tf_embedding_opts_init() (current version). */
#define TF_EMBEDDING_OPTS_INIT                                                                     \
    {                                                                                              \
        (uint32_t)sizeof(tf_embedding_opts_t), TF_EMBEDDING_OPTS_VERSION, 0, 0, TF_NN_INDEX_NONE,  \
        NULL                                                                                       \
    }

/** Current version of ::tf_linear_opts_t. */
#define TF_LINEAR_OPTS_VERSION 1

/** @brief Options for tf_linear_create(). Fill with tf_linear_opts_init(). */
typedef struct tf_linear_opts {
    uint32_t struct_size; /**< sizeof(tf_linear_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_LINEAR_OPTS_VERSION, set by the init function. */
    int64_t in_features;  /**< Input size (>= 1). No default (0). */
    int64_t out_features; /**< Output size (>= 1). No default (0). */
    int32_t bias;         /**< 1 (default) adds a bias, 0 does not. */
    int32_t reserved;     /**< Must be 0. */
    const char *name;     /**< Name prefix ("head" gives "head.weight"); NULL (default) gives "weight". Copied. */
} tf_linear_opts_t;

/** Static initializer with the same defaults as tf_linear_opts_init() (current version). */
#define TF_LINEAR_OPTS_INIT                                                                        \
    {                                                                                              \
        (uint32_t)sizeof(tf_linear_opts_t), TF_LINEAR_OPTS_VERSION, 0, 0, 1, 0, NULL               \
    }

/** Current version of ::tf_dropout_opts_t. */
#define TF_DROPOUT_OPTS_VERSION 1

/** @brief Options for tf_dropout_create(). Fill with tf_dropout_opts_init(). */
typedef struct tf_dropout_opts {
    uint32_t struct_size; /**< sizeof(tf_dropout_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_DROPOUT_OPTS_VERSION, set by the init function. */
    double p;             /**< Probability of zeroing an element, in [0, 1). Default 0.5. */
} tf_dropout_opts_t;

/** Static initializer with the same defaults as tf_dropout_opts_init() (current version). */
#define TF_DROPOUT_OPTS_INIT                                                                       \
    {                                                                                              \
        (uint32_t)sizeof(tf_dropout_opts_t), TF_DROPOUT_OPTS_VERSION, 0.5                          \
    }

/** Current version of ::tf_rnn_opts_t (2 added `cell`). */
#define TF_RNN_OPTS_VERSION 2

/** @brief Options for tf_rnn_create(), which makes a recurrent stack of any cell. Fill with
 *         tf_rnn_opts_init(). */
typedef struct tf_rnn_opts {
    uint32_t struct_size;  /**< sizeof(tf_rnn_opts_t), set by the init function. */
    uint32_t version;      /**< #TF_RNN_OPTS_VERSION, set by the init function. */
    int64_t input_size;    /**< Features per step I (>= 1). No default (0). */
    int64_t hidden_size;   /**< Hidden size H (>= 1). No default (0). */
    int32_t num_layers;    /**< Stacked layers (>= 1). Default 1. */
    int32_t bidirectional; /**< 1 for a reverse direction per layer (outputs 2H), 0 (default). */
    double dropout;        /**< Dropout on the outputs of every layer but the last, training mode only; [0, 1). Default 0. */
    const char *name;      /**< Name prefix ("lstm" gives "lstm.weight_ih_l0"); NULL (default): "weight_ih_l0". Copied. */
    int32_t cell;          /**< ::tf_cell_t of every layer; default #TF_CELL_LSTM. Since version 2. */
} tf_rnn_opts_t;

/** Static initializer with the same defaults as tf_rnn_opts_init() (current version). */
#define TF_RNN_OPTS_INIT                                                                          \
    {                                                                                              \
        (uint32_t)sizeof(tf_rnn_opts_t), TF_RNN_OPTS_VERSION, 0, 0, 1, 0, 0.0, NULL,             \
            TF_CELL_LSTM                                                                           \
    }

/** Current version of ::tf_encoder_opts_t (2 added `cell`). */
#define TF_ENCODER_OPTS_VERSION 2

/**
 * @brief Options for tf_encoder_create(). Fill with tf_encoder_opts_init().
 *
 * With `input_features` 0 the encoder reads token ids (T, B) through an embedding
 * (`embedding.weight`); with `input_features` F > 0 it reads numeric sequences (T, B, F) through a
 * linear projection F -> embedding_dim (`proj.weight`, `proj.bias`). The recurrent parameters are
 * named after the cell: `lstm.*` or `gru.*`.
 */
typedef struct tf_encoder_opts {
    uint32_t struct_size;   /**< sizeof(tf_encoder_opts_t), set by the init function. */
    uint32_t version;       /**< #TF_ENCODER_OPTS_VERSION, set by the init function. */
    int64_t vocab_size;     /**< Vocabulary size for token input (>= 1 when input_features is 0). */
    int64_t embedding_dim;  /**< Embedding (or projection) size E (>= 1). Default 100. */
    int64_t padding_idx;    /**< Embedding padding row or #TF_NN_INDEX_NONE (default). */
    int64_t input_features; /**< 0 (default): token input; F > 0: numeric input with a projection. */
    int64_t hidden_size;    /**< Recurrent hidden size H (>= 1). Default 200. */
    int32_t num_layers;     /**< Recurrent layers (>= 1). Default 1. */
    int32_t bidirectional;  /**< 1 for bidirectional layers, 0 (default). */
    double dropout;         /**< Dropout between recurrent layers (training mode); [0, 1). Default 0. */
    int32_t cell;           /**< ::tf_cell_t of the recurrent layers; default #TF_CELL_LSTM. Since version 2. */
} tf_encoder_opts_t;

/** Static initializer with the same defaults as tf_encoder_opts_init() (current version). */
#define TF_ENCODER_OPTS_INIT                                                                       \
    {                                                                                              \
        (uint32_t)sizeof(tf_encoder_opts_t), TF_ENCODER_OPTS_VERSION, 0, 100, TF_NN_INDEX_NONE,    \
        0, 200, 1, 0, 0.0, TF_CELL_LSTM                                                            \
    }

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_EMBEDDING_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION (unknown version).
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_embedding_opts_init(tf_embedding_opts_t *opts, uint32_t version);

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_LINEAR_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION (unknown version).
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_linear_opts_init(tf_linear_opts_t *opts, uint32_t version);

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_DROPOUT_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION (unknown version).
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_dropout_opts_init(tf_dropout_opts_t *opts, uint32_t version);

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_RNN_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION (unknown version).
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_rnn_opts_init(tf_rnn_opts_t *opts, uint32_t version);

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_ENCODER_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION (unknown version).
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_encoder_opts_init(tf_encoder_opts_t *opts, uint32_t version);

/* ---- creation --------------------------------------------------------------------------------- */

/**
 * @brief Create an embedding table (V, E), initialised N(0, 1) with the padding row zero.
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context (allocator and random generator).
 * @param[in] opts Options (required: the sizes have no default).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, size below 1, padding_idx outside
 *         [0, V) and not #TF_NN_INDEX_NONE); #TF_STATUS_EVERSION; #TF_STATUS_EOVERFLOW;
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free().
 * @threadsafety Uses `ctx` (its random generator); not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_embedding_create(tf_module_t **out,
                                       tf_ctx_t *ctx,
                                       const tf_embedding_opts_t *opts);

/**
 * @brief Create a linear layer: weight (out, in) and bias (out), uniform(-1/sqrt(in), 1/sqrt(in)).
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] opts Options (required).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EOVERFLOW;
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_linear_create(tf_module_t **out, tf_ctx_t *ctx, const tf_linear_opts_t *opts);

/**
 * @brief Create a linear layer whose weight is the weight of an embedding (weight tying, as in a
 *        language-model head: logits = h E^T + b with E the (V, H) embedding table).
 *
 * The head owns only its bias (named "<name>.bias"); its weight is the embedding's parameter and
 * is not listed among the head's parameters, so an optimizer updates it once, through the
 * embedding. Gradients of the weight accumulate into the embedding's gradient buffer (none if the
 * embedding weight is frozen).
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] embedding An embedding module, or an encoder with token input; must outlive the head.
 * @param[in] opts Options; `in_features` and `out_features` must equal the embedding's E and V.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, `embedding` not an embedding or token
 *         encoder, sizes that differ); #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free() before the embedding.
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_linear_create_tied(tf_module_t **out,
                                         tf_ctx_t *ctx,
                                         tf_module_t *embedding,
                                         const tf_linear_opts_t *opts);

/**
 * @brief Create a dropout module (no parameters). Training mode zeroes each element with
 *        probability p and scales the others by 1/(1-p); evaluation mode is the identity.
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context (its random generator draws the masks).
 * @param[in] opts Options, or NULL for p = 0.5.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (p outside [0, 1)); #TF_STATUS_EVERSION;
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_dropout_create(tf_module_t **out,
                                     tf_ctx_t *ctx,
                                     const tf_dropout_opts_t *opts);

/**
 * @brief Create a recurrent stack of the cell `opts->cell` with PyTorch's parameter
 *        layout (LSTM: torch.nn.LSTM, gate order i, f, g, o; GRU: torch.nn.GRU, gate order r, z,
 *        n), all weights uniform(-1/sqrt(H), 1/sqrt(H)).
 *
 * This one function (with tf_rnn_forward() and tf_rnn_backward()) serves every cell, so a cell
 * is a value in the options, not a family of functions: a new cell adds no new call.
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] opts Options (required).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a size below 1, dropout outside
 *         [0, 1), bidirectional not 0 or 1, an unknown cell); #TF_STATUS_EVERSION;
 *         #TF_STATUS_EOVERFLOW; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_rnn_create(tf_module_t **out, tf_ctx_t *ctx, const tf_rnn_opts_t *opts);

/**
 * @brief Create an encoder: embedding (or linear input projection) followed by a recurrent stack
 *        of the cell `opts->cell`, with all parameters in one buffer.
 * @param[out] out Receives the module; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] opts Options (required).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EOVERFLOW;
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_module_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_encoder_create(tf_module_t **out,
                                     tf_ctx_t *ctx,
                                     const tf_encoder_opts_t *opts);

/**
 * @brief Free a module, its parameters, gradients and working memory. NULL is a no-op.
 * @param[in] m The module. Every borrowed tensor obtained from it becomes invalid.
 * @ownership Takes ownership of `m`.
 * @threadsafety One thread at a time with `m`'s context (it allocates through it).
 */
TF_API void tf_module_free(tf_module_t *m);

/**
 * @brief The kind of a module.
 * @param[in] m The module.
 * @return A ::tf_module_kind_t value, or 0 if `m` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_module_kind(const tf_module_t *m);

/* ---- parameters ------------------------------------------------------------------------------- */

/**
 * @brief Number of parameter tensors of the module (an encoder lists those of its parts; a tied
 *        head does not list the borrowed weight).
 * @param[in] m The module.
 * @return The count, or 0 if `m` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API uint32_t tf_module_num_params(const tf_module_t *m);

/**
 * @brief Total number of parameter elements (floats) of the module.
 * @param[in] m The module.
 * @return The count, or 0 if `m` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_module_param_numel(const tf_module_t *m);

/**
 * @brief The parameter at `index`, its name and its gradient.
 * @param[out] name_out Receives the name (may be NULL).
 * @param[out] param_out Receives the parameter tensor (f32; may be NULL). Its data may be read
 *             and written; do not reshape or free it.
 * @param[out] grad_out Receives the gradient tensor of the same shape (may be NULL).
 * @param[in] m The module.
 * @param[in] index 0 to tf_module_num_params() - 1, in PyTorch's order.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL module, index out of range).
 * @ownership borrowed: valid until the module is freed.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_module_param_at(const char **name_out,
                                      tf_tensor_t **param_out,
                                      tf_tensor_t **grad_out,
                                      tf_module_t *m,
                                      uint32_t index);

/**
 * @brief Find a parameter by its exact name.
 * @param[out] param_out Receives the parameter tensor (may be NULL).
 * @param[out] grad_out Receives the gradient tensor (may be NULL).
 * @param[in] m The module.
 * @param[in] name Name such as "lstm.weight_ih_l0".
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL module or name); #TF_STATUS_ENOTFOUND.
 * @ownership borrowed: valid until the module is freed.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_module_param_find(tf_tensor_t **param_out,
                                        tf_tensor_t **grad_out,
                                        tf_module_t *m,
                                        const char *name);

/**
 * @brief Set every gradient of the module to zero.
 * @param[in,out] m The module.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL module).
 * @ownership Nothing changes hands.
 * @threadsafety Changes `m`; one thread at a time with its context.
 */
TF_API tf_status_t tf_module_zero_grad(tf_module_t *m);

/**
 * @brief Freeze (1) or unfreeze (0) every parameter whose name starts with `prefix`: sets
 *        tf_tensor_set_requires_grad(param, !frozen). Frozen parameters receive no gradient.
 * @param[in,out] m The module.
 * @param[in] prefix Name prefix ("" matches every parameter, "lstm." the LSTM, "embedding.").
 * @param[in] frozen 1 to freeze, 0 to unfreeze.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, `frozen` not 0 or 1);
 *         #TF_STATUS_ENOTFOUND (no parameter name starts with `prefix`; nothing changes).
 * @ownership `prefix` is read during the call only.
 * @threadsafety Changes `m`; one thread at a time with its context.
 */
TF_API tf_status_t tf_module_freeze(tf_module_t *m, const char *prefix, int32_t frozen);

/**
 * @brief Switch between training (1, the default) and evaluation (0) mode. Dropout is active only
 *        in training mode; a forward in evaluation mode keeps nothing for backward.
 * @param[in,out] m The module (an encoder switches its parts too).
 * @param[in] training 1 or 0.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL module, value other than 0 and 1).
 * @ownership Nothing changes hands.
 * @threadsafety Changes `m`; one thread at a time with its context.
 */
TF_API tf_status_t tf_module_set_training(tf_module_t *m, int32_t training);

/**
 * @brief The current mode.
 * @param[in] m The module.
 * @return 1 in training mode, 0 in evaluation mode or if `m` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `m` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_module_is_training(const tf_module_t *m);

/* ---- forward and backward --------------------------------------------------------------------- */

/**
 * @brief Forward pass of any module.
 *
 * Inputs by kind: embedding: token ids i32 of any shape (T, B) or (N); linear: f32 (..., in);
 * dropout: f32 of any shape; recurrent stack: f32 (T, B, I); encoder: i32 (T, B) tokens or
 * f32 (T, B, F). `lengths` (B) i32 applies to (T, B, ...) sequence inputs of the embedding,
 * recurrent stack and encoder: padded steps are not looked up (their ids are not checked) and give
 * zero outputs. Zero initial states for a recurrent stack (use tf_rnn_forward() to pass states).
 * @param[out] output Receives the output (borrowed, valid until the next forward or the free).
 * @param[in,out] m The module.
 * @param[in] input The input; kept by reference until the next backward (do not change it).
 * @param[in] lengths Valid steps per sequence, values in 1..T, or NULL (all T).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a length outside 1..T, a token id
 *         outside [0, V): the message names the position); #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE;
 *         #TF_STATUS_ENOMEM (growing the working memory; the module stays usable).
 * @ownership `*output` borrowed from the module.
 * @threadsafety One thread at a time with `m`'s context (it allocates through it; dropout draws
 *               from its generator).
 */
TF_API tf_status_t tf_module_forward(tf_tensor_t **output,
                                     tf_module_t *m,
                                     const tf_tensor_t *input,
                                     const tf_tensor_t *lengths);

/**
 * @brief Backward pass after a training-mode forward: accumulates parameter gradients and
 *        returns the input gradient.
 * @param[out] grad_input Receives d(loss)/d(input) (borrowed, overwritten by the next backward);
 *             NULL skips that work. Set to NULL for token inputs (embedding, token encoder).
 * @param[in,out] m The module.
 * @param[in] grad_output d(loss)/d(output), shaped like the last output.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL module or grad_output); #TF_STATUS_ESTATE (no
 *         training-mode forward before); #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE.
 * @ownership `*grad_input` borrowed from the module.
 * @threadsafety One thread at a time with `m`'s context (it allocates through it).
 */
TF_API tf_status_t tf_module_backward(tf_tensor_t **grad_input,
                                      tf_module_t *m,
                                      const tf_tensor_t *grad_output);

/**
 * @brief Forward pass of a recurrent stack (any cell) or encoder with initial and final states.
 * @param[out] output Receives the outputs (T, B, H * directions) (may be NULL).
 * @param[out] h_n Receives the final hidden state (L * directions, B, H): each sequence's state
 *             after its last valid step (may be NULL).
 * @param[out] c_n Receives the final cell state (may be NULL); NULL for a GRU.
 * @param[in,out] m A recurrent stack or an encoder.
 * @param[in] input As for tf_module_forward().
 * @param[in] lengths (B) i32 or NULL.
 * @param[in] h0 Initial hidden state (L * directions, B, H) f32, or NULL for zeros (copied).
 * @param[in] c0 Initial cell state, same shape, or NULL for zeros (copied); NULL for a GRU.
 * @return As tf_module_forward(); #TF_STATUS_EINVAL also for a module that is not a recurrent stack
 *         or an encoder, and for a `c0` given to a GRU.
 * @ownership Outputs borrowed from the module, valid until the next forward or the free.
 * @threadsafety One thread at a time with `m`'s context (it allocates through it).
 */
TF_API tf_status_t tf_rnn_forward(tf_tensor_t **output,
                                   tf_tensor_t **h_n,
                                   tf_tensor_t **c_n,
                                   tf_module_t *m,
                                   const tf_tensor_t *input,
                                   const tf_tensor_t *lengths,
                                   const tf_tensor_t *h0,
                                   const tf_tensor_t *c0);

/**
 * @brief Backward pass of a recurrent stack (any cell) or encoder with state gradients.
 * @param[out] grad_input Receives d(loss)/d(input) for numeric input (may be NULL: skipped).
 * @param[out] grad_h0 Receives d(loss)/d(h0) (may be NULL).
 * @param[out] grad_c0 Receives d(loss)/d(c0) (may be NULL); NULL for a GRU.
 * @param[in,out] m A recurrent stack or an encoder after a training-mode forward.
 * @param[in] grad_output d(loss)/d(output) (T, B, H * directions), or NULL (zero).
 * @param[in] grad_h_n d(loss)/d(h_n), or NULL (zero).
 * @param[in] grad_c_n d(loss)/d(c_n), or NULL (zero); NULL for a GRU.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_ESTATE; #TF_STATUS_EDTYPE;
 *         #TF_STATUS_ESHAPE.
 * @ownership Outputs borrowed from the module, overwritten by the next backward.
 * @threadsafety One thread at a time with `m`'s context (it allocates through it).
 */
TF_API tf_status_t tf_rnn_backward(tf_tensor_t **grad_input,
                                    tf_tensor_t **grad_h0,
                                    tf_tensor_t **grad_c0,
                                    tf_module_t *m,
                                    const tf_tensor_t *grad_output,
                                    const tf_tensor_t *grad_h_n,
                                    const tf_tensor_t *grad_c_n);

/* ---- losses ----------------------------------------------------------------------------------- */

/**
 * @brief Softmax cross-entropy, mean over the rows whose target is not `ignore_index`.
 * @param[in] logits (N, C) f32, or (T, B, C) (rows flattened).
 * @param[in] targets i32 with one class per row (N) or (T, B), values in [0, C) or `ignore_index`.
 * @param[in] ignore_index Target value to skip, or #TF_NN_INDEX_NONE.
 * @param[out] loss_out Receives the mean loss (0 when every row is ignored).
 * @param[out] grad_logits Receives d(loss)/d(logits), shaped like `logits` (overwritten; may be
 *             NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a target out of range: the message
 *         names the row); #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE.
 * @threadsafety One thread at a time with the context of the tensors it writes; inputs that no
 *               thread writes may be shared.
 * @ownership The tensors stay the caller's; nothing is kept.
 */
TF_API tf_status_t tf_loss_cross_entropy(const tf_tensor_t *logits,
                                         const tf_tensor_t *targets,
                                         int32_t ignore_index,
                                         double *loss_out,
                                         tf_tensor_t *grad_logits);

/**
 * @brief Binary cross-entropy with logits, mean over all elements (numerically stable form).
 * @param[in] logits f32 of any shape.
 * @param[in] targets f32, same element count, values in [0, 1].
 * @param[out] loss_out Receives the mean loss.
 * @param[out] grad_logits Receives d(loss)/d(logits) (overwritten; may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a target outside [0, 1));
 *         #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE.
 * @threadsafety One thread at a time with the context of the tensors it writes; inputs that no
 *               thread writes may be shared.
 * @ownership The tensors stay the caller's; nothing is kept.
 */
TF_API tf_status_t tf_loss_bce_with_logits(const tf_tensor_t *logits,
                                           const tf_tensor_t *targets,
                                           double *loss_out,
                                           tf_tensor_t *grad_logits);

/**
 * @brief Mean squared error over all elements.
 * @param[in] input f32 of any shape.
 * @param[in] target f32, same element count.
 * @param[out] loss_out Receives the mean loss.
 * @param[out] grad_input Receives d(loss)/d(input) (overwritten; may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE.
 * @threadsafety One thread at a time with the context of the tensors it writes; inputs that no
 *               thread writes may be shared.
 * @ownership The tensors stay the caller's; nothing is kept.
 */
TF_API tf_status_t tf_loss_mse(const tf_tensor_t *input,
                               const tf_tensor_t *target,
                               double *loss_out,
                               tf_tensor_t *grad_input);

/**
 * @brief Linear layer followed by softmax cross-entropy, computed in chunks of rows so that only
 *        a few rows of logits exist at a time (a language-model head over a large vocabulary).
 *
 * Equivalent to tf_module_forward() on `head`, tf_loss_cross_entropy(), then
 * tf_module_backward(), without materialising the (N, V) logits.
 * @param[in,out] head A linear module (plain or tied) with out_features = V.
 * @param[in] input (N, in) or (T, B, in) f32.
 * @param[in] targets (N) or (T, B) i32 in [0, V) or `ignore_index`.
 * @param[in] ignore_index Target value to skip, or #TF_NN_INDEX_NONE.
 * @param[in] backward 1: accumulate the head's parameter gradients (not for frozen ones) and fill
 *            `grad_input`; 0: loss only (evaluation).
 * @param[out] loss_out Receives the mean loss over non-ignored rows (0 if none).
 * @param[out] count_out Receives the number of non-ignored rows (may be NULL).
 * @param[out] grad_input Receives d(loss)/d(input) shaped like `input` (overwritten; may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, not a linear module, target out of
 *         range); #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE; #TF_STATUS_ENOMEM.
 * @ownership The tensors stay the caller's; nothing is kept.
 * @threadsafety One thread at a time with `head`'s context (it allocates through it).
 */
TF_API tf_status_t tf_linear_cross_entropy(tf_module_t *head,
                                           const tf_tensor_t *input,
                                           const tf_tensor_t *targets,
                                           int32_t ignore_index,
                                           int32_t backward,
                                           double *loss_out,
                                           int64_t *count_out,
                                           tf_tensor_t *grad_input);

/* ---- pooling ---------------------------------------------------------------------------------- */

/** Pool: the output at each sequence's last valid step (bidirectional: the forward half at the
 *  last valid step, the reverse half at t = 0, like PyTorch's h_n). */
#define TF_POOL_LAST 1u
/** Pool: mean over the valid steps. */
#define TF_POOL_MEAN 2u
/** Pool: element-wise maximum over the valid steps. */
#define TF_POOL_MAX 4u

/**
 * @brief Pool sequence outputs (T, B, D) over each sequence's valid steps into (B, k * D), where k
 *        is the number of bits set in `modes`, concatenated in the order last, mean, max.
 * @param[in] input (T, B, D) f32.
 * @param[in] lengths (B) i32 in 1..T, or NULL (all T).
 * @param[in] modes OR of #TF_POOL_LAST, #TF_POOL_MEAN, #TF_POOL_MAX (at least one).
 * @param[in] directions 1, or 2 when D = 2H holds a bidirectional output (affects LAST only).
 * @param[out] output (B, k * D) f32, overwritten.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, bad modes, directions, lengths);
 *         #TF_STATUS_EDTYPE; #TF_STATUS_ESHAPE.
 * @threadsafety One thread at a time with the context of the tensors it writes; inputs that no
 *               thread writes may be shared.
 * @ownership The tensors stay the caller's; nothing is kept.
 */
TF_API tf_status_t tf_pool_forward(const tf_tensor_t *input,
                                   const tf_tensor_t *lengths,
                                   uint32_t modes,
                                   int32_t directions,
                                   tf_tensor_t *output);

/**
 * @brief Backward of tf_pool_forward(): writes d(loss)/d(input) (zero at padded steps; for MAX
 *        the gradient goes to the first maximal step).
 * @param[in] input The input of the forward pass.
 * @param[in] lengths As in the forward pass.
 * @param[in] modes As in the forward pass.
 * @param[in] directions As in the forward pass.
 * @param[in] grad_output (B, k * D) f32.
 * @param[out] grad_input (T, B, D) f32, overwritten.
 * @return As tf_pool_forward().
 * @threadsafety One thread at a time with the context of the tensors it writes; inputs that no
 *               thread writes may be shared.
 * @ownership The tensors stay the caller's; nothing is kept.
 */
TF_API tf_status_t tf_pool_backward(const tf_tensor_t *input,
                                    const tf_tensor_t *lengths,
                                    uint32_t modes,
                                    int32_t directions,
                                    const tf_tensor_t *grad_output,
                                    tf_tensor_t *grad_input);

TF_END_DECLS

#endif /* LIBTRANSFER_NN_H */
/** @} */
