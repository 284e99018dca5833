/* SPDX-License-Identifier: MIT */
/* The optimizer struct and the pieces shared by lib/optim: update kernels, schedules, state. */
#ifndef TF_OPTIM_INTERNAL_H
#define TF_OPTIM_INTERNAL_H

#include "../tensor/tensor_internal.h"

/* One registered parameter. `state` is one block of `nstate * numel` floats allocated at
 * add_param time (SGD with momentum: the momentum buffer; Adam/AdamW: exp_avg, exp_avg_sq and,
 * with AMSGrad, max_exp_avg_sq), so stepping and loading never allocate. */
typedef struct tf__optim_param {
    char *name;
    tf_tensor_t *param;
    tf_tensor_t *grad;
    int64_t numel;
    int64_t step;    /* updates applied to this parameter (torch's state['step']) */
    int32_t has_buf; /* SGD: momentum buffer initialised (torch's buf is not None) */
    int32_t group;   /* index into groups, -1 = default group */
    float *state;
    /* Set by each step for its threaded update: the rate and weight decay of this step, and the
     * index of this parameter's first block among the step's blocks. */
    double lr_now, wd_now;
    int64_t block0;
} tf__optim_param_t;

typedef struct tf__optim_group {
    char *prefix;
    size_t prefix_len;
    double lr_mult;
    double weight_decay;
} tf__optim_group_t;

struct tf_optimizer {
    tf_ctx_t *ctx;
    tf_optimizer_opts_t o;
    uint32_t nstate; /* floats of state per element */
    tf__optim_param_t *params;
    uint32_t nparams;
    size_t cap_params;
    tf__optim_group_t *groups;
    uint32_t ngroups, cap_groups;
    int64_t step;
    double last_norm;
    /* The blocks' sums of squares of a gradient norm (room for every parameter's blocks, made
     * at add_param), and the factor of the last clipping, for the threaded passes. */
    double *block_sumsq;
    size_t cap_block_sumsq;
    int64_t all_blocks;
    float clip_coef;
};

/* Validate the schedule fields of `o`; `fn` names the public function in the message. */
tf_status_t tf__optim_schedule_check(const char *fn, const tf_optimizer_opts_t *o);
/* The schedule's multiplier of the base rate at 0-based step t. */
double tf__optim_schedule_mult(const tf_optimizer_opts_t *o, int64_t t);

/* Fused update loops over contiguous memory (one pass, each array read and written once). */
void tf__sgd_update(float *p,
                    const float *g,
                    float *buf,
                    int64_t n,
                    double lr,
                    double momentum,
                    double dampening,
                    double weight_decay,
                    int32_t nesterov,
                    int32_t first);
void tf__adam_update(float *p,
                     const float *g,
                     float *m,
                     float *v,
                     float *vmax,
                     int64_t n,
                     double lr,
                     double beta1,
                     double beta2,
                     double eps,
                     double weight_decay,
                     int32_t decoupled,
                     int64_t step);
/* The same with the widest vector unit only if `allow_wide` (0: the SSE2/scalar form, which gives
 * bit-identical results; for tests). */
void tf__adam_update_isa(float *p,
                         const float *g,
                         float *m,
                         float *v,
                         float *vmax,
                         int64_t n,
                         double lr,
                         double beta1,
                         double beta2,
                         double eps,
                         double weight_decay,
                         int32_t decoupled,
                         int64_t step,
                         int32_t allow_wide);
/* Sum of squares in double. */
double tf__sumsq_f32(const float *x, int64_t n);
void tf__scale_f32(float *x, int64_t n, float s);

#endif
