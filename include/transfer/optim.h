/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/optim.h
 * @brief Optimizers (SGD, Adam, AdamW), learning-rate schedules, parameter groups, gradient
 *        clipping and resumable optimizer state.
 *
 * An optimizer updates named (parameter, gradient) pairs of f32 tensors that the caller (usually a
 * module) owns. The update rules are those of `torch.optim` 1.13 (SGD with momentum, dampening,
 * Nesterov and L2 weight decay; Adam with L2 weight decay, bias correction, epsilon added after
 * the square root and optional AMSGrad; AdamW with decoupled weight decay). A parameter whose
 * tensor is frozen (tf_tensor_requires_grad() is 0) is skipped entirely: neither it, its moments
 * nor its step counter change.
 *
 * The learning rate of a parameter at step t (0-based: the t-th call of tf_optimizer_step()) is
 * `lr * group lr_mult * schedule(t)`; the schedule is a multiplier computed from the optimizer's
 * step counter, so it is queryable (tf_optimizer_lr()) and resumes with the state blob.
 *
 * Typical use per training step: compute gradients, tf_optimizer_step(), tf_optimizer_zero_grad().
 * For resuming, store the blob of tf_optimizer_state_save() next to the model checkpoint and give
 * it to tf_optimizer_state_load() on an optimizer built with the same options and parameters.
 *
 * Threads: an optimizer (and the tensors registered with it) is used from one thread at a time;
 * distinct optimizers may step concurrently. Updates run on the calling thread.
 *
 * @defgroup optim Optimizers
 * @{
 */
#ifndef LIBTRANSFER_OPTIM_H
#define LIBTRANSFER_OPTIM_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "tensor.h"

TF_BEGIN_DECLS

/** @brief Opaque optimizer handle. */
typedef struct tf_optimizer tf_optimizer_t;

/** @brief Update rule (tf_optimizer_opts_t::algorithm). Values are stable. */
typedef enum tf_optimizer_algorithm {
    TF_OPTIMIZER_SGD = 1,  /**< torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay. */
    TF_OPTIMIZER_ADAM = 2, /**< torch.optim.Adam: L2 weight decay added to the gradient. */
    TF_OPTIMIZER_ADAMW = 3 /**< torch.optim.AdamW: decoupled weight decay `p *= 1 - lr * wd`. */
} tf_optimizer_algorithm_t;

/** @brief Learning-rate schedule (tf_optimizer_opts_t::schedule). Values are stable. */
typedef enum tf_optimizer_schedule {
    /** Multiplier 1 at every step. */
    TF_OPTIMIZER_SCHED_CONSTANT = 0,
    /** Linear warmup `t / warmup_steps`, then cosine decay from 1 to `min_lr_ratio` at
     *  `total_steps` (with no warmup and min_lr_ratio = eta_min / lr this is torch's
     *  CosineAnnealingLR with T_max = total_steps). Stays at `min_lr_ratio` afterwards. */
    TF_OPTIMIZER_SCHED_WARMUP_COSINE = 1,
    /** Linear warmup `t / warmup_steps`, then linear decay from 1 to `min_lr_ratio` at
     *  `total_steps`. Stays at `min_lr_ratio` afterwards. */
    TF_OPTIMIZER_SCHED_WARMUP_LINEAR = 2,
    /** ULMFiT's slanted triangular rates: with cut = floor(total_steps * cut_frac),
     *  p = t / cut for t < cut, else 1 - (t - cut) / (cut * (1 / cut_frac - 1)); the multiplier is
     *  (1 + p * (ratio - 1)) / ratio (never below 1 / ratio). */
    TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR = 3,
    /** torch's OneCycleLR (two phases, cosine annealing, max_lr = lr) without momentum cycling:
     *  from 1 / div_factor up to 1 at step pct_start * total_steps - 1, then down to
     *  1 / (div_factor * final_div_factor) at step total_steps - 1, where it stays. */
    TF_OPTIMIZER_SCHED_ONE_CYCLE = 4
} tf_optimizer_schedule_t;

/** Current version of ::tf_optimizer_opts_t. */
#define TF_OPTIMIZER_OPTS_VERSION 1

/**
 * @brief Options for tf_optimizer_create(). Fill with tf_optimizer_opts_init(), then change fields.
 *
 * Fields that do not apply to the chosen algorithm or schedule are still validated but ignored.
 */
typedef struct tf_optimizer_opts {
    uint32_t struct_size;    /**< sizeof(tf_optimizer_opts_t), set by the init function. */
    uint32_t version;        /**< #TF_OPTIMIZER_OPTS_VERSION, set by the init function. */
    int32_t algorithm;       /**< A ::tf_optimizer_algorithm_t; default #TF_OPTIMIZER_ADAMW. */
    int32_t amsgrad;         /**< Adam/AdamW: 1 uses AMSGrad's running maximum; default 0. */
    double lr;               /**< Base learning rate, finite and >= 0; default 1e-3. */
    double momentum;         /**< SGD momentum, finite and >= 0; default 0. */
    double dampening;        /**< SGD dampening, finite; default 0. */
    int32_t nesterov;        /**< SGD: 1 for Nesterov momentum (needs momentum > 0 and
                                  dampening 0); default 0. */
    int32_t schedule;        /**< A ::tf_optimizer_schedule_t; default
                                  #TF_OPTIMIZER_SCHED_CONSTANT. */
    double weight_decay;     /**< Weight decay of parameters outside any group, finite and
                                  >= 0; default 0 (torch's AdamW default is 0.01). */
    double beta1;            /**< Adam first-moment decay, in [0, 1); default 0.9. */
    double beta2;            /**< Adam second-moment decay, in [0, 1); default 0.999. */
    double eps;              /**< Adam denominator term, finite and > 0; default 1e-8. */
    double max_grad_norm;    /**< > 0: tf_optimizer_step() first clips the global gradient norm
                                  to this value; 0 = off (default). */
    int64_t total_steps;     /**< Schedule length; >= 1 for every schedule but constant. */
    int64_t warmup_steps;    /**< Warmup of the cosine/linear schedules, 0..total_steps. */
    double min_lr_ratio;     /**< Floor of the cosine/linear decay as a fraction of the rate,
                                  in [0, 1]; default 0. */
    double cut_frac;         /**< Slanted triangular: fraction of steps rising, in (0, 1);
                                  default 0.1. */
    double ratio;            /**< Slanted triangular: peak / lowest rate, >= 1; default 32. */
    double pct_start;        /**< One-cycle: fraction of steps rising, in (0, 1); default 0.3. */
    double div_factor;       /**< One-cycle: initial rate = lr / div_factor, > 0; default 25. */
    double final_div_factor; /**< One-cycle: final rate = initial / final_div_factor, > 0;
                                  default 1e4. */
} tf_optimizer_opts_t;

/** Static initializer with the same defaults as tf_optimizer_opts_init() (current version). */
#define TF_OPTIMIZER_OPTS_INIT                                                                     \
    {                                                                                              \
        (uint32_t)sizeof(tf_optimizer_opts_t), TF_OPTIMIZER_OPTS_VERSION, TF_OPTIMIZER_ADAMW, 0,   \
        1e-3, 0.0, 0.0, 0, TF_OPTIMIZER_SCHED_CONSTANT, 0.0, 0.9, 0.999, 1e-8, 0.0, 0, 0, 0.0,     \
        0.1, 32.0, 0.3, 25.0, 1e4                                                                  \
    }

/**
 * @brief Fill `opts` with the defaults listed for each field.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_OPTIMIZER_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL if `opts` is NULL; #TF_STATUS_EVERSION if `version` is
 *         0 or newer than this library.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_optimizer_opts_init(tf_optimizer_opts_t *opts, uint32_t version);

/**
 * @brief Create an optimizer with no parameters.
 * @param[out] out Receives the optimizer; NULL on failure.
 * @param[in] ctx Context whose allocator holds the optimizer state.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, unknown algorithm or schedule, a
 *         negative or non-finite rate, betas outside [0, 1), eps <= 0, negative momentum,
 *         Nesterov without momentum or with dampening, bad schedule fields);
 *         #TF_STATUS_EVERSION (unknown options version); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_optimizer_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_optimizer_create(tf_optimizer_t **out,
                                       tf_ctx_t *ctx,
                                       const tf_optimizer_opts_t *opts);

/**
 * @brief Free an optimizer and its state (not the parameter tensors). NULL is a no-op.
 * @param[in] opt The optimizer.
 * @ownership Takes ownership of `opt`.
 * @threadsafety One thread at a time with `opt`'s context (it allocates through it).
 */
TF_API void tf_optimizer_free(tf_optimizer_t *opt);

/**
 * @brief Register a parameter and its gradient. Parameters must all be added before the first
 *        tf_optimizer_step(); their order and names define the state fingerprint.
 * @param[in,out] opt The optimizer.
 * @param[in] name Unique name (such as "lstm.weight_ih_l0"), copied; used by groups.
 * @param[in] param f32 parameter tensor, updated in place by tf_optimizer_step().
 * @param[in] grad f32 gradient tensor of the same shape, read by tf_optimizer_step() and scaled
 *                 by clipping.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, empty or duplicate name, a tensor
 *         already registered, `param` and `grad` the same tensor); #TF_STATUS_EDTYPE (not f32);
 *         #TF_STATUS_ESHAPE (shapes differ); #TF_STATUS_ESTATE (after the first step);
 *         #TF_STATUS_ENOMEM. The optimizer is unchanged on failure.
 * @ownership borrowed: the tensors stay the caller's and must outlive the optimizer (or its
 *            last use).
 * @threadsafety One thread at a time with `opt`'s context (it allocates through it).
 */
TF_API tf_status_t tf_optimizer_add_param(tf_optimizer_t *opt,
                                          const char *name,
                                          tf_tensor_t *param,
                                          tf_tensor_t *grad);

/**
 * @brief Put every parameter whose name starts with `prefix` into a group with its own rate
 *        multiplier and weight decay. A parameter belongs to the group with the longest matching
 *        prefix (parameters added later are matched too); others use multiplier 1 and
 *        tf_optimizer_opts_t::weight_decay. Calling again with the same prefix updates the group.
 * @param[in,out] opt The optimizer.
 * @param[in] prefix Name prefix, matching at least one registered parameter.
 * @param[in] lr_mult Multiplier of the rate, finite and >= 0.
 * @param[in] weight_decay Weight decay of the group, finite and >= 0.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL or empty prefix, bad values);
 *         #TF_STATUS_ENOTFOUND (no parameter matches); #TF_STATUS_ENOMEM. Unchanged on failure.
 * @ownership `prefix` is copied.
 * @threadsafety One thread at a time with `opt`'s context (it allocates through it).
 */
TF_API tf_status_t tf_optimizer_add_group(tf_optimizer_t *opt,
                                          const char *prefix,
                                          double lr_mult,
                                          double weight_decay);

/**
 * @brief ULMFiT discriminative rates in one call: `prefixes[i]` (ordered from the top layer down)
 *        gets the multiplier `factor^-i` (1, 1/2.6, 1/2.6^2, ... for factor 2.6) and the
 *        optimizer's default weight decay (or keeps the weight decay of an existing group).
 * @param[in,out] opt The optimizer.
 * @param[in] prefixes `num_prefixes` name prefixes, top layer first; each must match a parameter.
 * @param[in] num_prefixes Number of prefixes, at least 1.
 * @param[in] factor Division factor between neighbouring layers, finite and > 0.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, `num_prefixes` 0, bad factor, empty
 *         prefix); #TF_STATUS_ENOTFOUND (a prefix matches no parameter); #TF_STATUS_ENOMEM.
 *         Unchanged on failure.
 * @ownership The prefixes are copied.
 * @threadsafety One thread at a time with `opt`'s context (it allocates through it).
 */
TF_API tf_status_t tf_optimizer_set_discriminative(tf_optimizer_t *opt,
                                                   const char *const *prefixes,
                                                   uint32_t num_prefixes,
                                                   double factor);

/**
 * @brief Apply one update to every trainable parameter, then advance the step counter (and with
 *        it the schedule). With tf_optimizer_opts_t::max_grad_norm > 0 the gradients are clipped
 *        first (see tf_optimizer_clip_grad_norm()).
 * @param[in,out] opt The optimizer.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL optimizer); #TF_STATUS_ESHAPE (a registered
 *         tensor was reshaped to another element count).
 * @ownership Nothing changes hands.
 * @threadsafety Changes `opt` and its registered tensors; one thread at a time with their context.
 */
TF_API tf_status_t tf_optimizer_step(tf_optimizer_t *opt);

/**
 * @brief Set every registered gradient to zero.
 * @param[in,out] opt The optimizer.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL optimizer).
 * @ownership Nothing changes hands.
 * @threadsafety Changes `opt` and its registered tensors; one thread at a time with their context.
 */
TF_API tf_status_t tf_optimizer_zero_grad(tf_optimizer_t *opt);

/**
 * @brief Clip gradients like torch.nn.utils.clip_grad_norm_: compute the global L2 norm over the
 *        gradients of trainable parameters and, when it exceeds `max_norm`, scale them by
 *        max_norm / (norm + 1e-6). A non-finite norm is reported and nothing is scaled.
 * @param[in,out] opt The optimizer.
 * @param[in] max_norm Largest allowed norm, finite and > 0.
 * @param[out] pre_clip_norm Receives the norm before clipping (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL optimizer, bad `max_norm`).
 * @ownership Nothing changes hands.
 * @threadsafety Changes `opt` and its registered tensors; one thread at a time with their context.
 */
TF_API tf_status_t tf_optimizer_clip_grad_norm(tf_optimizer_t *opt,
                                               double max_norm,
                                               double *pre_clip_norm);

/**
 * @brief The rate the next step uses for parameters outside any group: lr * schedule(step).
 * @param[in] opt The optimizer.
 * @return The rate, or 0 if `opt` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API double tf_optimizer_lr(const tf_optimizer_t *opt);

/**
 * @brief The rate the next step uses for one parameter (its group's multiplier included).
 * @param[in] opt The optimizer.
 * @param[in] name A registered parameter name.
 * @param[out] lr_out Receives the rate.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_ENOTFOUND (no such name).
 * @ownership The arguments are borrowed for the call only; nothing is kept.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_optimizer_param_lr(const tf_optimizer_t *opt,
                                         const char *name,
                                         double *lr_out);

/**
 * @brief Number of completed tf_optimizer_step() calls (the schedule position).
 * @param[in] opt The optimizer.
 * @return The count, or 0 if `opt` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_optimizer_num_steps(const tf_optimizer_t *opt);

/**
 * @brief The global gradient norm measured by the last clipping (automatic or explicit).
 * @param[in] opt The optimizer.
 * @return The norm, or 0 if nothing was clipped yet or `opt` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API double tf_optimizer_last_grad_norm(const tf_optimizer_t *opt);

/**
 * @brief Number of registered parameters.
 * @param[in] opt The optimizer.
 * @return The count, or 0 if `opt` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API uint32_t tf_optimizer_num_params(const tf_optimizer_t *opt);

/**
 * @brief Write the resumable state: a versioned little-endian blob holding the step counter
 *        (schedule position), per-parameter step counters and moments, a fingerprint of the
 *        parameter names and shapes and a CRC32. Call with `buf` NULL and `capacity` 0 to learn
 *        the size, then with a buffer of that size.
 * @param[in] opt The optimizer.
 * @param[out] buf Receives the blob; NULL with `capacity` 0 only asks for the size.
 * @param[in] capacity Size of `buf` in bytes.
 * @param[out] len_out Receives the blob size (also on #TF_STATUS_EBUFSIZE).
 * @return #TF_STATUS_OK (also for the size query); #TF_STATUS_EINVAL (NULL argument);
 *         #TF_STATUS_EBUFSIZE (`buf` given and `capacity` below `*len_out`); #TF_STATUS_EOVERFLOW.
 * @ownership `buf` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `opt` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_optimizer_state_save(const tf_optimizer_t *opt,
                                           void *buf,
                                           size_t capacity,
                                           size_t *len_out);

/**
 * @brief Restore a state written by tf_optimizer_state_save() into an optimizer built for the
 *        same parameters (same names, shapes and order) and the same algorithm; the following
 *        steps then continue bit for bit as if training had not stopped.
 * @param[in,out] opt The optimizer.
 * @param[in] buf The blob.
 * @param[in] size Size of the blob.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument; a blob for other parameters or another
 *         algorithm); #TF_STATUS_EFORMAT (truncated, corrupt or not a state blob);
 *         #TF_STATUS_EVERSION (a newer blob version). Nothing changes on failure.
 * @ownership `buf` is read during the call only.
 * @threadsafety Changes `opt`; one thread at a time with its context.
 */
TF_API tf_status_t tf_optimizer_state_load(tf_optimizer_t *opt, const void *buf, size_t size);

TF_END_DECLS

#endif /* LIBTRANSFER_OPTIM_H */
/** @} */
