/* SPDX-License-Identifier: MIT */
/* The optimizer object: options, parameter registration, groups, stepping, clipping. */
#include "transfer/optim.h"
#include "optim_internal.h"
#include "../core/team.h"

#include <math.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__optimizer_opts_layout,
                tf_optimizer_opts_t,
                TF_OPTIMIZER_OPTS_VERSION,
                TF__OPTS_END(tf_optimizer_opts_t, final_div_factor));

static void optim_opts_defaults(tf_optimizer_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_OPTIMIZER_OPTS_VERSION;
    o->algorithm = TF_OPTIMIZER_ADAMW;
    o->amsgrad = 0;
    o->lr = 1e-3;
    o->momentum = 0.0;
    o->dampening = 0.0;
    o->nesterov = 0;
    o->schedule = TF_OPTIMIZER_SCHED_CONSTANT;
    o->weight_decay = 0.0;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->max_grad_norm = 0.0;
    o->total_steps = 0;
    o->warmup_steps = 0;
    o->min_lr_ratio = 0.0;
    o->cut_frac = 0.1;
    o->ratio = 32.0;
    o->pct_start = 0.3;
    o->div_factor = 25.0;
    o->final_div_factor = 1e4;
}

tf_status_t tf_optimizer_opts_init(tf_optimizer_opts_t *opts, uint32_t version)
{
    tf_optimizer_opts_t d;
    optim_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__optimizer_opts_layout, __func__);
}

static int nonneg_finite(double x)
{
    return isfinite(x) && x >= 0.0;
}

static tf_status_t check_opts(const tf_optimizer_opts_t *o)
{
    static const char fn[] = "tf_optimizer_create";
    if (o->algorithm != TF_OPTIMIZER_SGD && o->algorithm != TF_OPTIMIZER_ADAM &&
        o->algorithm != TF_OPTIMIZER_ADAMW)
        TF_FAIL(TF_STATUS_EINVAL, "%s: algorithm %d is not a tf_optimizer_algorithm_t", fn,
                o->algorithm);
    if (!nonneg_finite(o->lr))
        TF_FAIL(TF_STATUS_EINVAL, "%s: lr %g must be finite and >= 0", fn, o->lr);
    if (!nonneg_finite(o->momentum))
        TF_FAIL(TF_STATUS_EINVAL, "%s: momentum %g must be finite and >= 0", fn, o->momentum);
    if (!isfinite(o->dampening))
        TF_FAIL(TF_STATUS_EINVAL, "%s: dampening %g must be finite", fn, o->dampening);
    if (o->nesterov != 0 && o->nesterov != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: nesterov is %d; use 0 or 1", fn, o->nesterov);
    if (o->nesterov && (o->momentum <= 0.0 || o->dampening != 0.0))
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: Nesterov momentum requires momentum > 0 and dampening 0 (got %g and %g)", fn,
                o->momentum, o->dampening);
    if (!nonneg_finite(o->weight_decay))
        TF_FAIL(TF_STATUS_EINVAL, "%s: weight_decay %g must be finite and >= 0", fn,
                o->weight_decay);
    if (!(o->beta1 >= 0.0 && o->beta1 < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: beta1 %g is outside [0, 1)", fn, o->beta1);
    if (!(o->beta2 >= 0.0 && o->beta2 < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: beta2 %g is outside [0, 1)", fn, o->beta2);
    if (!(isfinite(o->eps) && o->eps > 0.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: eps %g must be finite and > 0", fn, o->eps);
    if (o->amsgrad != 0 && o->amsgrad != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: amsgrad is %d; use 0 or 1", fn, o->amsgrad);
    if (!nonneg_finite(o->max_grad_norm))
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_grad_norm %g must be finite and >= 0 (0 = off)", fn,
                o->max_grad_norm);
    return tf__optim_schedule_check(fn, o);
}

/* Elements per block of the threaded passes over the parameters (the update, the gradient's
 * norm and its scaling): the update is element-wise, and the norm sums the blocks' sums in
 * order, so neither the blocks nor the threads that run them change the result. */
#define UPDATE_BLOCK ((int64_t)1 << 15)
/* Blocks below which a pass stays on the calling thread (a helper costs more than it saves). */
#define UPDATE_TEAM_MIN_BLOCKS 4

static int64_t update_blocks(const tf__optim_param_t *q)
{
    return (q->numel + UPDATE_BLOCK - 1) / UPDATE_BLOCK;
}

/* Number the blocks of the trainable parameters one after the other (block0); their count. */
static int64_t assign_blocks(tf_optimizer_t *opt)
{
    int64_t blocks = 0;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        tf__optim_param_t *q = &opt->params[i];
        q->block0 = blocks;
        if (q->param->requires_grad)
            blocks += update_blocks(q);
    }
    return blocks;
}

static int32_t pass_threads(const tf_optimizer_t *opt, int64_t blocks)
{
    return blocks >= UPDATE_TEAM_MIN_BLOCKS ? opt->ctx->num_threads : 1;
}

/* The parameter that block `block` belongs to, and the block's first element and length. */
static tf__optim_param_t *block_param(const tf_optimizer_t *opt, int64_t block, int64_t *lo, int64_t *n)
{
    uint32_t i = 0;
    while (i + 1 < opt->nparams && opt->params[i + 1].block0 <= block)
        i++;
    tf__optim_param_t *q = &opt->params[i];
    *lo = (block - q->block0) * UPDATE_BLOCK;
    *n = q->numel - *lo < UPDATE_BLOCK ? q->numel - *lo : UPDATE_BLOCK;
    return q;
}

static void update_block(void *arg, int64_t step, int64_t block)
{
    const tf_optimizer_t *opt = arg;
    const tf_optimizer_opts_t *o = &opt->o;
    int64_t lo, n;
    (void)step;
    const tf__optim_param_t *q = block_param(opt, block, &lo, &n);
    float *p = tf__f32(q->param) + lo;
    const float *g = tf__f32(q->grad) + lo;
    if (o->algorithm == TF_OPTIMIZER_SGD) {
        tf__sgd_update(p, g, q->state ? q->state + lo : NULL, n, q->lr_now, o->momentum, o->dampening,
                       q->wd_now, o->nesterov, !q->has_buf);
    } else {
        float *m = q->state + lo, *v = q->state + q->numel + lo;
        float *vmax = o->amsgrad ? q->state + 2 * q->numel + lo : NULL;
        tf__adam_update(p, g, m, v, vmax, n, q->lr_now, o->beta1, o->beta2, o->eps, q->wd_now,
                        o->algorithm == TF_OPTIMIZER_ADAMW, q->step);
    }
}

static void sumsq_block(void *arg, int64_t step, int64_t block)
{
    tf_optimizer_t *opt = arg;
    int64_t lo, n;
    (void)step;
    const tf__optim_param_t *q = block_param(opt, block, &lo, &n);
    opt->block_sumsq[block] = tf__sumsq_f32(tf__f32(q->grad) + lo, n);
}

static void scale_block(void *arg, int64_t step, int64_t block)
{
    const tf_optimizer_t *opt = arg;
    int64_t lo, n;
    (void)step;
    const tf__optim_param_t *q = block_param(opt, block, &lo, &n);
    tf__scale_f32(tf__f32(q->grad) + lo, n, opt->clip_coef);
}

tf_status_t
tf_optimizer_create(tf_optimizer_t **out, tf_ctx_t *ctx, const tf_optimizer_opts_t *opts)
{
    tf_optimizer_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    optim_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__optimizer_opts_layout, "tf_optimizer_create"));
    TF_CHECK(check_opts(&o));
    tf_optimizer_t *opt = tf__calloc(ctx, 1, sizeof *opt);
    if (opt == NULL)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: out of memory", __func__);
    opt->ctx = ctx;
    opt->o = o;
    if (o.algorithm == TF_OPTIMIZER_SGD)
        opt->nstate = o.momentum != 0.0 ? 1u : 0u;
    else
        opt->nstate = o.amsgrad ? 3u : 2u;
    tf__object_created(ctx);
    *out = opt;
    return TF_STATUS_OK;
}

void tf_optimizer_free(tf_optimizer_t *opt)
{
    if (opt == NULL)
        return;
    tf_ctx_t *ctx = opt->ctx;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        tf__free(ctx, opt->params[i].name);
        tf__free(ctx, opt->params[i].state);
    }
    for (uint32_t i = 0; i < opt->ngroups; i++)
        tf__free(ctx, opt->groups[i].prefix);
    tf__free(ctx, opt->params);
    tf__free(ctx, opt->block_sumsq);
    tf__free(ctx, opt->groups);
    tf__free(ctx, opt);
    tf__object_freed(ctx);
}

static int prefix_match(const char *name, const tf__optim_group_t *g)
{
    return strncmp(name, g->prefix, g->prefix_len) == 0;
}

/* Index of the group with the longest prefix matching `name`, -1 if none. */
static int32_t find_group(const tf_optimizer_t *opt, const char *name)
{
    int32_t best = -1;
    size_t best_len = 0;
    for (uint32_t i = 0; i < opt->ngroups; i++)
        if (prefix_match(name, &opt->groups[i]) &&
            (best < 0 || opt->groups[i].prefix_len > best_len)) {
            best = (int32_t)i;
            best_len = opt->groups[i].prefix_len;
        }
    return best;
}

static void regroup(tf_optimizer_t *opt)
{
    for (uint32_t i = 0; i < opt->nparams; i++)
        opt->params[i].group = find_group(opt, opt->params[i].name);
}

tf_status_t
tf_optimizer_add_param(tf_optimizer_t *opt, const char *name, tf_tensor_t *param, tf_tensor_t *grad)
{
    const char *fn = __func__;
    tf_status_t st;
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(name);
    TF_REQUIRE_ARG(param);
    TF_REQUIRE_ARG(grad);
    if (opt->step > 0)
        TF_FAIL(TF_STATUS_ESTATE, "%s: '%s' added after the first step; add every parameter first",
                fn, name);
    if (name[0] == '\0')
        TF_FAIL(TF_STATUS_EINVAL, "%s: the parameter name is empty", fn);
    if (param == grad)
        TF_FAIL(TF_STATUS_EINVAL, "%s: '%s': param and grad are the same tensor", fn, name);
    if (param->dtype != TF_DTYPE_F32 || grad->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: '%s': param and grad must be f32 (got dtypes %d and %d)", fn,
                name, param->dtype, grad->dtype);
    if (param->ndim != grad->ndim ||
        memcmp(param->shape, grad->shape, param->ndim * sizeof param->shape[0]) != 0)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: '%s': grad shape differs from param shape", fn, name);
    for (uint32_t i = 0; i < opt->nparams; i++) {
        const tf__optim_param_t *q = &opt->params[i];
        if (strcmp(q->name, name) == 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: a parameter named '%s' is already registered", fn, name);
        if (q->param == param || q->grad == grad || q->param == grad || q->grad == param)
            TF_FAIL(TF_STATUS_EINVAL, "%s: '%s': a tensor is already registered as '%s'", fn, name,
                    q->name);
    }
    if (opt->nparams == UINT32_MAX)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: too many parameters", fn);
    void *grown = opt->params;
    TF_CHECK(tf__grow_bytes(opt->ctx, &grown, &opt->cap_params, (size_t)opt->nparams + 1,
                            sizeof *opt->params));
    opt->params = grown;
    tf__optim_param_t p;
    memset(&p, 0, sizeof p);
    p.param = param;
    p.grad = grad;
    p.numel = param->numel;
    p.name = tf__strdup(opt->ctx, name);
    if (p.name == NULL)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: out of memory", fn);
    if (opt->nstate > 0) {
        p.state = tf__calloc(opt->ctx, (size_t)p.numel * opt->nstate, sizeof(float));
        if (p.state == NULL) {
            st = tf__error(TF_STATUS_ENOMEM, "%s: out of memory for the state of '%s'", fn, name);
            tf__free(opt->ctx, p.name);
            return st;
        }
    }
    /* Room for every block's sum of squares (the norm is taken without allocating). */
    void *sums = opt->block_sumsq;
    st = tf__grow_bytes(opt->ctx, &sums, &opt->cap_block_sumsq, (size_t)(opt->all_blocks + update_blocks(&p)),
                        sizeof *opt->block_sumsq);
    if (st != TF_STATUS_OK) {
        tf__free(opt->ctx, p.state);
        tf__free(opt->ctx, p.name);
        return st;
    }
    opt->block_sumsq = sums;
    opt->all_blocks += update_blocks(&p);
    p.group = find_group(opt, name);
    opt->params[opt->nparams++] = p;
    return TF_STATUS_OK;
}

static tf_status_t check_group_values(const char *fn, double lr_mult, double weight_decay)
{
    if (!nonneg_finite(lr_mult))
        TF_FAIL(TF_STATUS_EINVAL, "%s: lr_mult %g must be finite and >= 0", fn, lr_mult);
    if (!nonneg_finite(weight_decay))
        TF_FAIL(TF_STATUS_EINVAL, "%s: weight_decay %g must be finite and >= 0", fn, weight_decay);
    return TF_STATUS_OK;
}

static tf_status_t check_prefix(const tf_optimizer_t *opt, const char *fn, const char *prefix)
{
    if (prefix == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a prefix is NULL", fn);
    if (prefix[0] == '\0')
        TF_FAIL(TF_STATUS_EINVAL, "%s: a prefix is empty", fn);
    size_t len = strlen(prefix);
    for (uint32_t i = 0; i < opt->nparams; i++)
        if (strncmp(opt->params[i].name, prefix, len) == 0)
            return TF_STATUS_OK;
    TF_FAIL(TF_STATUS_ENOTFOUND, "%s: prefix '%s' matches no registered parameter", fn, prefix);
}

static int32_t group_index(const tf_optimizer_t *opt, const char *prefix)
{
    for (uint32_t i = 0; i < opt->ngroups; i++)
        if (strcmp(opt->groups[i].prefix, prefix) == 0)
            return (int32_t)i;
    return -1;
}

/* Make room for `extra` new groups so that the following inserts cannot fail. */
static tf_status_t reserve_groups(tf_optimizer_t *opt, uint32_t extra)
{
    if (extra > UINT32_MAX - opt->ngroups)
        TF_FAIL(TF_STATUS_EOVERFLOW, "tf_optimizer: too many groups");
    uint32_t need = opt->ngroups + extra;
    if (need <= opt->cap_groups)
        return TF_STATUS_OK;
    tf__optim_group_t *n = tf__calloc(opt->ctx, need, sizeof *n);
    if (n == NULL)
        TF_FAIL(TF_STATUS_ENOMEM, "tf_optimizer: out of memory for groups");
    if (opt->ngroups)
        memcpy(n, opt->groups, opt->ngroups * sizeof *n);
    tf__free(opt->ctx, opt->groups);
    opt->groups = n;
    opt->cap_groups = need;
    return TF_STATUS_OK;
}

tf_status_t
tf_optimizer_add_group(tf_optimizer_t *opt, const char *prefix, double lr_mult, double weight_decay)
{
    const char *fn = __func__;
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(prefix);
    TF_CHECK(check_group_values(fn, lr_mult, weight_decay));
    TF_CHECK(check_prefix(opt, fn, prefix));
    int32_t gi = group_index(opt, prefix);
    if (gi < 0) {
        char *copy = tf__strdup(opt->ctx, prefix);
        if (copy == NULL)
            TF_FAIL(TF_STATUS_ENOMEM, "%s: out of memory", fn);
        tf_status_t st = reserve_groups(opt, 1);
        if (st != TF_STATUS_OK) {
            tf__free(opt->ctx, copy);
            return st;
        }
        gi = (int32_t)opt->ngroups++;
        opt->groups[gi].prefix = copy;
        opt->groups[gi].prefix_len = strlen(copy);
    }
    opt->groups[gi].lr_mult = lr_mult;
    opt->groups[gi].weight_decay = weight_decay;
    regroup(opt);
    return TF_STATUS_OK;
}

tf_status_t tf_optimizer_set_discriminative(tf_optimizer_t *opt,
                                            const char *const *prefixes,
                                            uint32_t num_prefixes,
                                            double factor)
{
    const char *fn = __func__;
    tf_status_t st = TF_STATUS_OK;
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(prefixes);
    if (num_prefixes == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_prefixes is 0", fn);
    if (!(isfinite(factor) && factor > 0.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: factor %g must be finite and > 0", fn, factor);
    /* Validate everything and allocate every new prefix before changing anything. */
    uint32_t fresh = 0;
    for (uint32_t i = 0; i < num_prefixes; i++) {
        TF_CHECK(check_prefix(opt, fn, prefixes[i]));
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(prefixes[i], prefixes[j]) == 0)
                TF_FAIL(TF_STATUS_EINVAL, "%s: prefix '%s' is listed twice", fn, prefixes[i]);
        if (group_index(opt, prefixes[i]) < 0)
            fresh++;
    }
    char **copies = NULL;
    if (fresh > 0) {
        copies = tf__calloc(opt->ctx, fresh, sizeof *copies);
        if (copies == NULL)
            TF_FAIL(TF_STATUS_ENOMEM, "%s: out of memory", fn);
        uint32_t k = 0;
        for (uint32_t i = 0; i < num_prefixes; i++) {
            if (group_index(opt, prefixes[i]) >= 0)
                continue;
            copies[k] = tf__strdup(opt->ctx, prefixes[i]);
            if (copies[k] == NULL)
                TF_FAIL_GOTO(st, fail, TF_STATUS_ENOMEM, "%s: out of memory", fn);
            k++;
        }
        TF_CHECK_GOTO(st, reserve_groups(opt, fresh), fail);
    }
    uint32_t k = 0;
    double mult = 1.0;
    for (uint32_t i = 0; i < num_prefixes; i++) {
        int32_t gi = group_index(opt, prefixes[i]);
        if (gi < 0) {
            gi = (int32_t)opt->ngroups++;
            opt->groups[gi].prefix = copies[k++];
            opt->groups[gi].prefix_len = strlen(opt->groups[gi].prefix);
            opt->groups[gi].weight_decay = opt->o.weight_decay;
        }
        opt->groups[gi].lr_mult = mult;
        mult /= factor;
    }
    tf__free(opt->ctx, copies);
    regroup(opt);
    return TF_STATUS_OK;
fail:
    for (uint32_t i = 0; i < fresh; i++)
        tf__free(opt->ctx, copies[i]);
    tf__free(opt->ctx, copies);
    return st;
}

static tf_status_t check_sizes(const tf_optimizer_t *opt, const char *fn)
{
    for (uint32_t i = 0; i < opt->nparams; i++) {
        const tf__optim_param_t *q = &opt->params[i];
        if (q->param->numel != q->numel || q->grad->numel != q->numel)
            TF_FAIL(TF_STATUS_ESHAPE, "%s: '%s' changed its element count since it was added", fn,
                    q->name);
    }
    return TF_STATUS_OK;
}

static double clip_norm(tf_optimizer_t *opt, double max_norm)
{
    const int64_t blocks = assign_blocks(opt);
    tf__team_for(pass_threads(opt, blocks), blocks, sumsq_block, opt);
    double ss = 0.0;
    for (int64_t b = 0; b < blocks; b++) /* in order: the same sum on any number of threads */
        ss += opt->block_sumsq[b];
    double norm = sqrt(ss);
    opt->last_norm = norm;
    if (!isfinite(norm))
        return norm;
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        opt->clip_coef = (float)coef;
        tf__team_for(pass_threads(opt, blocks), blocks, scale_block, opt);
    }
    return norm;
}

tf_status_t tf_optimizer_clip_grad_norm(tf_optimizer_t *opt, double max_norm, double *pre_clip_norm)
{
    TF_REQUIRE_ARG(opt);
    if (!(isfinite(max_norm) && max_norm > 0.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_norm %g must be finite and > 0", __func__, max_norm);
    TF_CHECK(check_sizes(opt, "tf_optimizer_clip_grad_norm"));
    double n = clip_norm(opt, max_norm);
    if (pre_clip_norm != NULL)
        *pre_clip_norm = n;
    return TF_STATUS_OK;
}

static double param_lr(const tf_optimizer_t *opt, const tf__optim_param_t *q, double sched)
{
    double mult = q->group >= 0 ? opt->groups[q->group].lr_mult : 1.0;
    return opt->o.lr * mult * sched;
}

tf_status_t tf_optimizer_step(tf_optimizer_t *opt)
{
    TF_REQUIRE_ARG(opt);
    TF_CHECK(check_sizes(opt, "tf_optimizer_step"));
    const tf_optimizer_opts_t *o = &opt->o;
    if (o->max_grad_norm > 0.0)
        (void)clip_norm(opt, o->max_grad_norm);
    const double sched = tf__optim_schedule_mult(o, opt->step);
    /* Every parameter's rate and step first, then all their blocks in one team. */
    const int64_t blocks = assign_blocks(opt);
    for (uint32_t i = 0; i < opt->nparams; i++) {
        tf__optim_param_t *q = &opt->params[i];
        if (!q->param->requires_grad)
            continue; /* frozen: parameter, moments and step counter untouched */
        q->lr_now = param_lr(opt, q, sched);
        q->wd_now = q->group >= 0 ? opt->groups[q->group].weight_decay : o->weight_decay;
        q->step++;
    }
    tf__team_for(pass_threads(opt, blocks), blocks, update_block, opt);
    for (uint32_t i = 0; i < opt->nparams; i++)
        if (opt->params[i].param->requires_grad && o->algorithm == TF_OPTIMIZER_SGD && o->momentum != 0.0)
            opt->params[i].has_buf = 1;
    opt->step++;
    return TF_STATUS_OK;
}

tf_status_t tf_optimizer_zero_grad(tf_optimizer_t *opt)
{
    TF_REQUIRE_ARG(opt);
    for (uint32_t i = 0; i < opt->nparams; i++) {
        tf_tensor_t *g = opt->params[i].grad;
        memset(g->data, 0, g->nbytes);
    }
    return TF_STATUS_OK;
}

double tf_optimizer_lr(const tf_optimizer_t *opt)
{
    if (opt == NULL)
        return 0.0;
    return opt->o.lr * tf__optim_schedule_mult(&opt->o, opt->step);
}

tf_status_t tf_optimizer_param_lr(const tf_optimizer_t *opt, const char *name, double *lr_out)
{
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(name);
    TF_REQUIRE_ARG(lr_out);
    for (uint32_t i = 0; i < opt->nparams; i++)
        if (strcmp(opt->params[i].name, name) == 0) {
            *lr_out = param_lr(opt, &opt->params[i], tf__optim_schedule_mult(&opt->o, opt->step));
            return TF_STATUS_OK;
        }
    TF_FAIL(TF_STATUS_ENOTFOUND, "%s: no parameter named '%s'", __func__, name);
}

int64_t tf_optimizer_num_steps(const tf_optimizer_t *opt)
{
    return opt ? opt->step : 0;
}

double tf_optimizer_last_grad_norm(const tf_optimizer_t *opt)
{
    return opt ? opt->last_norm : 0.0;
}

uint32_t tf_optimizer_num_params(const tf_optimizer_t *opt)
{
    return opt ? opt->nparams : 0;
}
