/* SPDX-License-Identifier: MIT */
/* tf_distill: a student model trained on a fine-tuned teacher's softened predictions over
 * unlabelled sequences, mixed with the hard labels where there are some. */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__distill_opts_layout,
                tf_distill_opts_t,
                TF_DISTILL_OPTS_VERSION,
                TF__OPTS_END(tf_distill_opts_t, reserved),
                TF__OPTS_END(tf_distill_opts_t, max_steps));

static void distill_opts_defaults(tf_distill_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_DISTILL_OPTS_VERSION;
    o->epochs = 4;
    o->metric = TF_METRIC_ACCURACY;
    o->temperature = 2.0;
    o->alpha = 0.5;
    o->lr = 1e-2;
    o->weight_decay = 0.01;
    o->head_dropout = 0.1;
    o->clip_norm = 1.0;
    o->progress_every = 20;
    o->calibrate = 1;
}

tf_status_t tf_distill_opts_init(tf_distill_opts_t *opts, uint32_t version)
{
    tf_distill_opts_t d;
    distill_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__distill_opts_layout, __func__);
}

static tf_status_t check_opts(const tf_distill_opts_t *o)
{
    const char *fn = "tf_distill";
    TF_CHECK(tf__check_cls_phase(fn, o->epochs, o->patience, o->stop_after_steps, o->progress_every,
                                 o->metric, o->head_dropout));
    if (o->pooling & ~(uint32_t)(TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX))
        TF_FAIL(TF_STATUS_EINVAL, "%s: pooling 0x%x is not 0 or an OR of TF_POOL_*", fn, o->pooling);
    if (!(o->temperature > 0.0) || !isfinite(o->temperature))
        TF_FAIL(TF_STATUS_EINVAL, "%s: temperature %g must be finite and > 0", fn, o->temperature);
    if (!(o->alpha >= 0.0 && o->alpha <= 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: alpha %g is outside [0, 1]", fn, o->alpha);
    if (!(o->lr > 0.0) || !isfinite(o->lr) || !(o->weight_decay >= 0.0) ||
        !isfinite(o->weight_decay) || !(o->clip_norm >= 0.0) || !isfinite(o->clip_norm))
        TF_FAIL(TF_STATUS_EINVAL, "%s: lr (%g) must be finite and > 0, weight_decay and clip_norm "
                "finite and >= 0", fn, o->lr);
    if (o->max_steps < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_steps is %lld; give 0 (epochs) or more", fn,
                (long long)o->max_steps);
    if ((o->calibrate != 0 && o->calibrate != 1) || o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: calibrate must be 0 or 1 and reserved 0", fn);
    return TF_STATUS_OK;
}

/* Whether the two vocabularies are the same, token for token (their serialised forms). */
static tf_status_t same_vocab(tf_ctx_t *ctx, const tf_vocab_t *a, const tf_vocab_t *b, int *same)
{
    size_t la = 0, lb = 0;
    TF_CHECK(tf_vocab_serialize(a, NULL, 0, &la));
    TF_CHECK(tf_vocab_serialize(b, NULL, 0, &lb));
    *same = 0;
    if (la != lb)
        return TF_STATUS_OK;
    char *buf = tf__alloc(ctx, 2 * (la + 1));
    if (buf == NULL)
        return TF_STATUS_ENOMEM;
    tf_status_t st = tf_vocab_serialize(a, buf, la + 1, &la);
    if (st == TF_STATUS_OK)
        st = tf_vocab_serialize(b, buf + la + 1, lb + 1, &lb);
    *same = st == TF_STATUS_OK && memcmp(buf, buf + la + 1, la) == 0;
    tf__free(ctx, buf);
    return st;
}

static int same_labels(const tf_model_t *a, const tf_model_t *b)
{
    if (a->num_classes != b->num_classes || a->multilabel != b->multilabel)
        return 0;
    for (int32_t c = 0; c < a->num_classes; c++)
        if (strcmp(a->labels[c], b->labels[c]) != 0)
            return 0;
    return 1;
}

/* The student can learn from the teacher: both read the same input, the teacher has a head, and
 * a head the student already has is for the same labels. */
static tf_status_t check_pair(tf_model_t *s, tf_model_t *t)
{
    const char *fn = "tf_distill";
    if (s == t)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the student and the teacher are the same model", fn);
    if (t->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the teacher has no task head; fine-tune it first", fn);
    if (s->cfg.input != t->cfg.input)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the student reads %s, the teacher %s", fn,
                s->cfg.input == TF_MODEL_INPUT_TOKENS ? "tokens" : "numeric features",
                t->cfg.input == TF_MODEL_INPUT_TOKENS ? "tokens" : "numeric features");
    if (s->cfg.input == TF_MODEL_INPUT_FEATURES && s->cfg.num_features != t->cfg.num_features)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the student reads %d features per step, the teacher %d", fn,
                s->cfg.num_features, t->cfg.num_features);
    if (s->cfg.input == TF_MODEL_INPUT_TOKENS) {
        int same;
        TF_CHECK(same_vocab(s->ctx, s->vocab, t->vocab, &same));
        if (!same)
            TF_FAIL(TF_STATUS_EINVAL, "%s: the student's vocabulary (%d tokens) is not the "
                    "teacher's (%d tokens); create the student with tf_model_vocab(teacher)", fn,
                    tf_vocab_size(s->vocab), tf_vocab_size(t->vocab));
    }
    if (s->head != NULL && !same_labels(s, t))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the student's task head has other labels (%d%s) than the "
                "teacher's (%d%s); load the student with TF_MODEL_LOAD_BACKBONE", fn,
                s->num_classes, s->multilabel ? ", multi-label" : "", t->num_classes,
                t->multilabel ? ", multi-label" : "");
    return TF_STATUS_OK;
}

static tf_status_t check_loader(const tf_model_t *t, tf_loader_t *l, const char *what)
{
    if (l == NULL)
        return TF_STATUS_OK;
    if (tf_loader_num_labels(l) == 0)
        TF_FAIL(TF_STATUS_EINVAL, "tf_distill: the %s loader has no labels", what);
    return tf__model_check_labels(t, l, what);
}

/* AdamW with warmup and cosine decay, unless the caller gives optimizer options. */
static void default_optim(const tf_distill_opts_t *o, int64_t total, tf_optimizer_opts_t *out)
{
    tf_optimizer_opts_init(out, TF_OPTIMIZER_OPTS_VERSION);
    out->algorithm = TF_OPTIMIZER_ADAMW;
    out->lr = o->lr;
    out->weight_decay = o->weight_decay;
    out->schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
    out->warmup_steps = total / 10;
    out->min_lr_ratio = 0.0;
}

/* The phase's identity: every option but those that only steer one call or what follows
 * training, the resolved optimizer options, whether labels are mixed in, and the labels. Hashed
 * as bytes: the structs have no padding (core_opts_static). */
static uint64_t fingerprint(const tf_distill_opts_t *o, const tf_optimizer_opts_t *oo,
                            const tf_model_t *t, int32_t mixed, int64_t total)
{
    tf_distill_opts_t k = *o;
    k.stop_after_steps = 0;
    k.progress_every = 0;
    k.progress = NULL;
    k.progress_payload = NULL;
    k.calibrate = 0;
    k.optim = NULL; /* hashed as resolved, below */
    const int64_t i[] = {TF_TRAIN_PHASE_DISTILL, total, mixed, t->multilabel};
    uint64_t h = tf__fnv1a(tf__fnv1a(tf__fnv1a(0, i, sizeof i), &k, sizeof k), oo, sizeof *oo);
    for (int32_t c = 0; c < t->num_classes; c++)
        h = tf__fnv1a(h, t->labels[c], strlen(t->labels[c]) + 1);
    return h;
}

/* A new phase's student head: the teacher's labels and priors (the student's own head is kept
 * when it reads the same pooling). */
static tf_status_t make_head(tf_model_t *s, const tf_model_t *t, const tf_distill_opts_t *o)
{
    uint32_t pooling = o->pooling != 0 ? o->pooling : t->pool_modes;
    if (s->head == NULL || s->pool_modes != pooling)
        TF_CHECK(tf__model_make_head(s, t->num_classes, t->multilabel,
                                     (const char *const *)t->labels, pooling, o->head_dropout));
    tf__free(s->ctx, s->class_w); /* a fine-tuning's class weights do not apply here */
    s->class_w = NULL;
    return tf__decision_copy_priors(s, t);
}

static tf_status_t attach_cls(tf_model_t *m, tf_optimizer_t *opt, const void *arg)
{
    (void)arg;
    return tf__optimizer_attach_cls(m, opt);
}

/* Multiply the gradients of the student's trained modules by `a`. */
static void scale_grads(tf_model_t *m, float a)
{
    tf_module_t *const mods[2] = {m->encoder, m->head};
    for (int i = 0; i < 2; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            tf_tensor_t *g = NULL;
            tf_module_param_at(NULL, NULL, &g, mods[i], j);
            if (g != NULL)
                tf__vec_scale(tf_tensor_data(g), a, tf_tensor_numel(g));
        }
}

/* The phase's own steps for the loop. */
typedef struct distill_run {
    const tf_distill_opts_t *o;
    tf_model_t *teacher;
    tf_loader_t *labeled; /* NULL: soft targets only */
    tf_loader_t *valid;
    int64_t per_epoch; /* batches of the unlabelled loader */
} distill_run_t;

/* The next labelled batch, starting the loader over at its end. */
static tf_status_t next_labeled(tf_loader_t *l, tf_batch_t **b)
{
    TF_CHECK(tf_loader_next(b, l));
    if (*b != NULL)
        return TF_STATUS_OK;
    TF_CHECK(tf_loader_reset(l));
    TF_CHECK(tf_loader_next(b, l));
    if (*b == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "tf_distill: the labelled loader gives no batch");
    return TF_STATUS_OK;
}

static tf_status_t
run_batch(void *self, tf_model_t *m, tf_batch_t *b, double *loss, double *items, double *weight)
{
    *weight = (double)tf_batch_size(b);
    const distill_run_t *r = self;
    tf_model_t *t = r->teacher;
    tf_tensor_t *yt, *zt, *ys, *zs;
    double hard = 0, soft, w_soft = 1.0;
    *items = (double)tf_batch_size(b);
    if (r->labeled != NULL) {
        tf_batch_t *lb;
        TF_CHECK(next_labeled(r->labeled, &lb));
        /* The hard loss's gradients first, scaled once they are all in. */
        TF_CHECK(tf__cls_batch(m, lb, 1, &hard, NULL));
        scale_grads(m, (float)r->o->alpha);
        w_soft = 1.0 - r->o->alpha;
        *items += (double)tf_batch_size(lb);
    }
    tf__model_set_training(t, 0);
    TF_CHECK(tf__batch_logits(t, b, &yt, &zt));
    TF_CHECK(tf__batch_logits(m, b, &ys, &zs));
    TF_CHECK(tf__scratch_f32(m->ctx, &m->dlogits, zs->shape, zs->ndim));
    int64_t B = tf_tensor_dim(zs, 0), K = tf__head_width(m);
    tf__distill_loss(tf_tensor_data(zs), tf_tensor_data(zt), B, K, m->multilabel || K == 1,
                     r->o->temperature, w_soft, &soft, m->dlogits.data);
    *loss = w_soft * soft + (r->labeled != NULL ? r->o->alpha * hard : 0.0);
    if (!isfinite(*loss))
        return TF_STATUS_OK; /* the loop's guard stops before any update */
    return tf__cls_backward(m, ys, tf_batch_lengths(b), (double)B);
}

static tf_status_t run_end_epoch(void *self, tf_model_t *m, int *stop)
{
    const distill_run_t *r = self;
    return tf__keep_best(m, r->valid, r->o->metric, r->o->patience, "distill", stop);
}

static tf_status_t run_finish(void *self, tf_model_t *m)
{
    const distill_run_t *r = self;
    const int64_t steps = tf_optimizer_num_steps(m->ph.opt);
    if (r->valid != NULL && steps > (int64_t)m->ph.epoch * r->per_epoch) {
        /* A step budget ended inside an epoch: its weights compete with the full epochs'. */
        int stop;
        m->ph.epoch++;
        TF_CHECK(tf__keep_best(m, r->valid, r->o->metric, 0, "distill", &stop));
    }
    if (m->ph.best != NULL)
        tf__model_restore(m, m->ph.best);
    return r->o->calibrate && r->valid != NULL ? tf_model_calibrate(m, r->valid, NULL)
                                               : TF_STATUS_OK;
}

static const tf__phase_ops_t distill_ops = {
    TF_TRAIN_PHASE_DISTILL, "tf_distill", run_batch, NULL, NULL, run_end_epoch, run_finish};

tf_status_t tf_distill(tf_model_t *student,
                       tf_model_t *teacher,
                       tf_loader_t *unlabeled,
                       tf_loader_t *labeled,
                       tf_loader_t *valid,
                       const tf_distill_opts_t *opts,
                       tf_train_report_t *report)
{
    tf_distill_opts_t o;
    TF_REQUIRE_ARG(student);
    TF_REQUIRE_ARG(teacher);
    TF_REQUIRE_ARG(unlabeled);
    distill_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__distill_opts_layout, __func__));
    TF_CHECK(tf__report_check(report, __func__));
    TF_CHECK(check_opts(&o));
    TF_CHECK(check_pair(student, teacher));
    TF_CHECK(check_loader(teacher, labeled, "tf_distill: labelled"));
    TF_CHECK(check_loader(teacher, valid, "tf_distill: validation"));
    if (o.alpha == 0.0)
        labeled = NULL; /* the labels would weigh nothing */
    int64_t per_epoch = tf_loader_num_batches(unlabeled);
    if (per_epoch < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the unlabelled loader has no batches", __func__);
    int64_t total = o.max_steps > 0 ? o.max_steps : (int64_t)o.epochs * per_epoch;
    tf_optimizer_opts_t defaults, oo;
    default_optim(&o, total, &defaults);
    TF_CHECK(tf__resolve_optim(o.optim, &defaults, total, o.clip_norm, &oo, "tf_distill: optim"));
    if (tf__phase_enter(student, TF_TRAIN_PHASE_DISTILL,
                        fingerprint(&o, &oo, teacher, labeled != NULL, total), total)) {
        tf_status_t st = make_head(student, teacher, &o);
        if (st != TF_STATUS_OK) {
            student->ph.phase = 0; /* the next call starts the phase again */
            return st;
        }
    }
    TF_CHECK(tf__phase_optimizer(student, &oo, attach_cls, NULL));
    distill_run_t run = {&o, teacher, labeled, valid, per_epoch};
    const tf__loop_t loop = {.ops = &distill_ops,
                             .self = &run,
                             .train = unlabeled,
                             .total = total,
                             .epochs = o.max_steps > 0 ? 0 : o.epochs,
                             .stop_at_total = o.max_steps > 0,
                             .stop_after_steps = o.stop_after_steps,
                             .clip = oo.max_grad_norm,
                             .progress_every = o.progress_every,
                             .progress = o.progress,
                             .progress_payload = o.progress_payload};
    tf_status_t st = tf__train_loop(student, &loop, report);
    tf__model_set_training(teacher, 1);
    return st;
}
