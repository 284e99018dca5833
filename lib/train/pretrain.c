/* SPDX-License-Identifier: MIT */
/* tf_pretrain: next-token language modelling (or next-step regression) on the backbone. */
#include "transfer/train.h"
#include "train_internal.h"
#include "dist.h"

#include <math.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__pretrain_opts_layout,
                tf_pretrain_opts_t,
                TF_PRETRAIN_OPTS_VERSION,
                TF__OPTS_END(tf_pretrain_opts_t, progress_payload),
                TF__OPTS_END(tf_pretrain_opts_t, dist));

static void pretrain_opts_defaults(tf_pretrain_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_PRETRAIN_OPTS_VERSION;
    o->epochs = 1;
    o->clip_norm = 0.5;
    o->progress_every = 50;
}

tf_status_t tf_pretrain_opts_init(tf_pretrain_opts_t *opts, uint32_t version)
{
    tf_pretrain_opts_t d;
    pretrain_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__pretrain_opts_layout, __func__);
}

static tf_status_t check_opts(const tf_pretrain_opts_t *o)
{
    const char *fn = "tf_pretrain";
    if (o->max_steps < 0 || o->stop_after_steps < 0 || o->valid_every < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_steps, stop_after_steps and valid_every must be >= 0", fn);
    if (o->max_steps == 0 && o->epochs < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: epochs is %d; give at least 1 (or max_steps)", fn, o->epochs);
    if (!(o->clip_norm >= 0.0) || !isfinite(o->clip_norm))
        TF_FAIL(TF_STATUS_EINVAL, "%s: clip_norm %g must be finite and >= 0", fn, o->clip_norm);
    if (o->progress_every < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: progress_every must be at least 1", fn);
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", fn);
    return TF_STATUS_OK;
}

/* AdamW with warmup and cosine decay, unless the caller gives optimizer options. */
static void default_optim(int64_t total, tf_optimizer_opts_t *out)
{
    tf_optimizer_opts_init(out, TF_OPTIMIZER_OPTS_VERSION);
    out->algorithm = TF_OPTIMIZER_ADAMW;
    out->lr = 1e-2; /* tftrain defaults: perplexity 45.8 against 55.4 at 3e-3 after 2,000 steps
                     * on the wordnet glosses, 55.1 against 81.0 after 500 on spam */
    out->weight_decay = 0.01;
    out->schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    out->warmup_steps = total / 100;
    out->min_lr_ratio = 0.1;
}

/* The phase's identity: every resolved option but those that only steer one call (a later field
 * is in it unless it is cleared here), and the resolved optimizer options. Hashed as bytes: the
 * structs have no padding (core_opts_static). */
static uint64_t
fingerprint(const tf_pretrain_opts_t *o, const tf_optimizer_opts_t *oo, int64_t total)
{
    tf_pretrain_opts_t k = *o;
    k.stop_after_steps = 0;
    k.valid_every = 0;
    k.progress_every = 0;
    k.progress = NULL;
    k.progress_payload = NULL;
    k.optim = NULL; /* hashed as resolved, below */
    k.dist = NULL;  /* the group's size is checked on its own */
    const int64_t i[] = {TF_TRAIN_PHASE_PRETRAIN, total};
    return tf__fnv1a(tf__fnv1a(tf__fnv1a(0, i, sizeof i), &k, sizeof k), oo, sizeof *oo);
}

/* Mean squared error over the valid steps of (T, B, F) predictions; the gradient is zero at
 * padded steps, so sequences of different lengths train only on their own steps. */
static void masked_mse(const tf_tensor_t *pred, const tf_tensor_t *target, const tf_tensor_t *lengths,
                       double *loss, int64_t *count, float *grad)
{
    int64_t T = pred->shape[0], B = pred->shape[1], F = pred->shape[2];
    const float *p = pred->data, *t = target->data;
    const int32_t *len = lengths != NULL ? lengths->data : NULL;
    int64_t n = 0;
    double sum = 0;
    for (int64_t s = 0; s < T; s++)
        for (int64_t b = 0; b < B; b++)
            if (len == NULL || s < len[b]) {
                n += F;
                for (int64_t f = 0; f < F; f++) {
                    double d = (double)p[(s * B + b) * F + f] - (double)t[(s * B + b) * F + f];
                    sum += d * d;
                }
            }
    for (int64_t s = 0; s < T; s++)
        for (int64_t b = 0; b < B; b++) {
            int valid = len == NULL || s < len[b];
            for (int64_t f = 0; f < F; f++) {
                int64_t i = (s * B + b) * F + f;
                grad[i] = valid ? (float)(2.0 * ((double)p[i] - (double)t[i]) / (double)n) : 0.0f;
            }
        }
    *loss = n ? sum / (double)n : 0.0;
    *count = n;
}

/* One language-model (or next-step) batch: forward, loss and, when training, backward. */
static tf_status_t lm_batch(tf_model_t *m, tf_batch_t *b, int32_t train, double *loss, int64_t *count)
{
    tf_tensor_t *y, *yd, *pred, *dyd, *dy;
    int32_t tokens = m->cfg.input == TF_MODEL_INPUT_TOKENS;
    tf_tensor_t *input = tokens ? tf_batch_tokens(b) : tf_batch_features(b);
    tf_tensor_t *target = tokens ? tf_batch_targets(b) : tf_batch_feature_targets(b);
    if (input == NULL || target == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "tf_pretrain: the loader gives no %s; use a language-model "
                "loader (tf_loader_create_lm) for a token model or a numeric loader with "
                "next_step = 1 for a numeric model", tokens ? "next-token targets" : "next-step targets");
    tf_tensor_t *lengths = tokens ? NULL : tf_batch_lengths(b);
    TF_CHECK(tf_module_forward(&y, m->encoder, input, lengths));
    TF_CHECK(tf_module_forward(&yd, m->lm_dropout, y, NULL));
    if (tokens) {
        if (train)
            TF_CHECK(tf__scratch_f32(m->ctx, &m->dpred, yd->shape, yd->ndim));
        TF_CHECK(tf__model_lm_loss(m, yd, target, train, loss, count, train ? &m->dpred.view : NULL));
        dyd = &m->dpred.view;
    } else {
        TF_CHECK(tf_module_forward(&pred, m->lm_head, yd, NULL));
        TF_CHECK(tf__scratch_f32(m->ctx, &m->dpred, pred->shape, pred->ndim));
        masked_mse(pred, target, lengths, loss, count, m->dpred.data);
        if (train)
            TF_CHECK(tf_module_backward(&dyd, m->lm_head, &m->dpred.view));
    }
    if (!train || !isfinite(*loss))
        return TF_STATUS_OK;
    /* The head's gradients are complete: a distributed step starts summing them now. */
    tf__dist_grads_ready(m, m->lm_head, (double)*count);
    TF_CHECK(tf_module_backward(&dy, m->lm_dropout, dyd));
    return tf_module_backward(NULL, m->encoder, dy);
}

/* The summed loss and count of a validation loader's batches (reset before and after). */
static tf_status_t validate_sums(tf_model_t *m, tf_loader_t *valid, double *sum, double *n)
{
    tf_batch_t *b;
    TF_CHECK(tf_loader_reset(valid));
    for (;;) {
        double loss;
        int64_t count;
        TF_CHECK(tf_loader_next(&b, valid));
        if (b == NULL)
            break;
        if (tf_batch_size(b) == 0)
            continue; /* an empty shard */
        TF_CHECK(lm_batch(m, b, 0, &loss, &count));
        *sum += loss * (double)count;
        *n += (double)count;
    }
    return tf_loader_reset(valid);
}

/* Mean loss over a whole validation loader (over every rank's shard of it when distributed). */
static tf_status_t validate(tf_model_t *m, tf_loader_t *valid)
{
    double v[2] = {0, 0};
    tf__model_set_training(m, 0);
    tf_status_t st = validate_sums(m, valid, &v[0], &v[1]);
    tf__model_set_training(m, 1);
    if (m->dist != NULL)
        st = tf__dist_sum(m, st, v, 2, "tf_pretrain");
    TF_CHECK(st);
    if (v[1] == 0)
        TF_FAIL(TF_STATUS_EINVAL, "tf_pretrain: the validation loader gave no data");
    m->ph.last_valid_loss = v[0] / v[1];
    m->ph.last_valid_metric = m->cfg.input == TF_MODEL_INPUT_TOKENS ? exp(m->ph.last_valid_loss)
                                                                   : m->ph.last_valid_loss;
    tf__log(m->ctx, TF_LOG_INFO, "pretrain validation: loss %.4f, %s %.4f", m->ph.last_valid_loss,
            m->cfg.input == TF_MODEL_INPUT_TOKENS ? "perplexity" : "mse", m->ph.last_valid_metric);
    return TF_STATUS_OK;
}

static tf_status_t attach_lm(tf_model_t *m, tf_optimizer_t *opt, const void *arg)
{
    (void)arg;
    return tf__optimizer_attach_lm(m, opt);
}

/* The phase's own steps for the loop. */
typedef struct pretrain_run {
    tf_loader_t *valid;
    int64_t valid_every;
    int32_t validated_now; /* the weights as they are have been validated */
} pretrain_run_t;

static tf_status_t
run_batch(void *self, tf_model_t *m, tf_batch_t *b, double *loss, double *items, double *weight)
{
    int64_t count = 0;
    ((pretrain_run_t *)self)->validated_now = 0;
    *items = (double)tf_batch_steps(b) * (double)tf_batch_size(b);
    tf_status_t st = lm_batch(m, b, 1, loss, &count);
    *weight = (double)count;
    return st;
}

static tf_status_t run_after_step(void *self, tf_model_t *m, int64_t step)
{
    pretrain_run_t *r = self;
    if (r->valid == NULL || r->valid_every == 0 || step % r->valid_every != 0)
        return TF_STATUS_OK;
    r->validated_now = 1;
    return validate(m, r->valid);
}

static tf_status_t run_end_epoch(void *self, tf_model_t *m, int *stop)
{
    pretrain_run_t *r = self;
    (void)stop;
    if (r->valid == NULL || r->valid_every != 0)
        return TF_STATUS_OK;
    r->validated_now = 1;
    return validate(m, r->valid);
}

static tf_status_t run_finish(void *self, tf_model_t *m)
{
    pretrain_run_t *r = self;
    return r->valid != NULL && !r->validated_now ? validate(m, r->valid) : TF_STATUS_OK;
}

static const tf__phase_ops_t pretrain_ops = {
    TF_TRAIN_PHASE_PRETRAIN, "tf_pretrain", run_batch, NULL,
    run_after_step,          run_end_epoch, run_finish};

/* What a call resolved from its options before it trains. */
typedef struct pretrain_call {
    int64_t total;
    tf_optimizer_opts_t oo;
    uint64_t fingerprint;
} pretrain_call_t;

/* Check the call, resolve its budget and optimizer, and enter (or continue) the phase. */
static tf_status_t prepare(tf_model_t *m, tf_loader_t *train, const tf_pretrain_opts_t *o,
                           const tf_train_report_t *report, pretrain_call_t *c)
{
    const char *fn = "tf_pretrain";
    TF_CHECK(tf__report_check(report, fn));
    TF_CHECK(check_opts(o));
    TF_CHECK(tf__model_check_trainable(m, fn));
    if (m->lm_head == NULL)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: a bidirectional model has no language-model head; "
                "pre-train a unidirectional backbone",
                fn);
    int64_t per_epoch = tf_loader_num_batches(train);
    if (per_epoch < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the training loader has no batches", fn);
    c->total = o->max_steps > 0 ? o->max_steps : (int64_t)o->epochs * per_epoch;
    tf_optimizer_opts_t defaults;
    default_optim(c->total, &defaults);
    TF_CHECK(tf__resolve_optim(o->optim, &defaults, c->total, o->clip_norm, &c->oo,
                               "tf_pretrain: optim"));
    c->fingerprint = fingerprint(o, &c->oo, c->total);
    TF_CHECK(tf__dist_check_resume(m, TF_TRAIN_PHASE_PRETRAIN, c->fingerprint, o->dist, fn));
    TF_CHECK(tf__model_adopt_standardization(m, train));
    tf__phase_enter(m, TF_TRAIN_PHASE_PRETRAIN, c->fingerprint, c->total);
    return tf__phase_optimizer(m, &c->oo, attach_lm, NULL);
}

tf_status_t tf_pretrain(tf_model_t *m,
                        tf_loader_t *train,
                        tf_loader_t *valid,
                        const tf_pretrain_opts_t *opts,
                        tf_train_report_t *report)
{
    tf_pretrain_opts_t o;
    pretrain_call_t c;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(train);
    pretrain_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__pretrain_opts_layout, __func__));
    tf_status_t st = prepare(m, train, &o, report, &c);
    tf__dist_shards_t shards;
    if (o.dist != NULL) {
        /* Every rank gets here, also one whose own checks failed: they agree first. */
        st = tf__dist_begin_call(m, o.dist, st, c.fingerprint, train, valid, m->lm_head,
                                 m->encoder, &shards, __func__);
        if (st != TF_STATUS_OK)
            return st;
    }
    TF_CHECK(st);
    pretrain_run_t run = {valid, o.valid_every, 0};
    const tf__loop_t loop = {.ops = &pretrain_ops,
                             .self = &run,
                             .train = train,
                             .total = c.total,
                             .epochs = o.max_steps > 0 ? 0 : o.epochs,
                             .stop_at_total = 1,
                             .stop_after_steps = o.stop_after_steps,
                             .clip = c.oo.max_grad_norm,
                             .progress_every = o.progress_every,
                             .progress = o.progress,
                             .progress_payload = o.progress_payload};
    st = tf__train_loop(m, &loop, report);
    if (o.dist != NULL)
        tf__dist_end_call(m, &shards);
    return st;
}
