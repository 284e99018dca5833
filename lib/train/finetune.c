/* SPDX-License-Identifier: MIT */
/* tf_finetune: a task head on the backbone, trained with ULMFiT's recipe (gradual unfreezing,
 * discriminative rates, slanted triangular schedule) and early stopping on a validation metric. */
#include "transfer/train.h"
#include "train_internal.h"
#include "dist.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Version 2 added class weights and calibration, 3 the optimizer options. */
TF__OPTS_LAYOUT(tf__finetune_opts_layout,
                tf_finetune_opts_t,
                TF_FINETUNE_OPTS_VERSION,
                TF__OPTS_END(tf_finetune_opts_t, progress_payload),
                TF__OPTS_END(tf_finetune_opts_t, num_class_weights),
                TF__OPTS_END(tf_finetune_opts_t, optim),
                TF__OPTS_END(tf_finetune_opts_t, dist));

static void finetune_opts_defaults(tf_finetune_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_FINETUNE_OPTS_VERSION;
    o->strategy = TF_FINETUNE_FULL;
    o->pooling = TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX;
    o->epochs = 8;
    o->patience = 0;
    o->metric = TF_METRIC_ACCURACY;
    o->lr = 1e-2;
    o->discriminative = 1.0;
    o->weight_decay = 0.01;
    o->head_dropout = 0.3;
    o->clip_norm = 1.0;
    o->schedule = TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR;
    o->reset_head = 1;
    o->progress_every = 20;
    o->class_weight = TF_CLASS_WEIGHT_NONE;
    o->calibrate = 1;
}

tf_status_t tf_finetune_opts_init(tf_finetune_opts_t *opts, uint32_t version)
{
    tf_finetune_opts_t d;
    finetune_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__finetune_opts_layout, __func__);
}

tf_status_t tf__check_cls_phase(const char *fn, int32_t epochs, int32_t patience,
                                int64_t stop_after_steps, int64_t progress_every, int32_t metric,
                                double head_dropout)
{
    if (epochs < 1 || patience < 0 || stop_after_steps < 0 || progress_every < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: epochs (%d) and progress_every must be >= 1, patience and "
                "stop_after_steps >= 0", fn, epochs);
    if (metric < TF_METRIC_ACCURACY || metric > TF_METRIC_LOSS)
        TF_FAIL(TF_STATUS_EINVAL, "%s: metric %d is not a tf_metric_t", fn, metric);
    if (!(head_dropout >= 0.0 && head_dropout < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: head_dropout %g is outside [0, 1)", fn, head_dropout);
    return TF_STATUS_OK;
}

static tf_status_t check_opts(const tf_finetune_opts_t *o)
{
    const char *fn = "tf_finetune";
    if (o->strategy < TF_FINETUNE_FULL || o->strategy > TF_FINETUNE_GRADUAL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: strategy %d is not a tf_finetune_strategy_t", fn, o->strategy);
    if (o->pooling == 0 || (o->pooling & ~(uint32_t)(TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX)))
        TF_FAIL(TF_STATUS_EINVAL, "%s: pooling 0x%x is not a non-empty OR of TF_POOL_*", fn, o->pooling);
    TF_CHECK(tf__check_cls_phase(fn, o->epochs, o->patience, o->stop_after_steps, o->progress_every,
                                 o->metric, o->head_dropout));
    if (!(o->lr > 0.0) || !isfinite(o->lr) || !(o->discriminative >= 1.0) ||
        !isfinite(o->discriminative) || !(o->weight_decay >= 0.0) || !isfinite(o->weight_decay) ||
        !(o->clip_norm >= 0.0) || !isfinite(o->clip_norm))
        TF_FAIL(TF_STATUS_EINVAL, "%s: lr (%g) must be finite and > 0, discriminative (%g) >= 1, "
                "weight_decay and clip_norm finite and >= 0", fn, o->lr, o->discriminative);
    if (o->schedule < TF_OPTIMIZER_SCHED_CONSTANT || o->schedule > TF_OPTIMIZER_SCHED_ONE_CYCLE)
        TF_FAIL(TF_STATUS_EINVAL, "%s: schedule %d is not a tf_optimizer_schedule_t", fn,
                o->schedule);
    if ((o->reset_head != 0 && o->reset_head != 1) || o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reset_head must be 0 or 1 and reserved 0", fn);
    if (o->class_weight < TF_CLASS_WEIGHT_NONE || o->class_weight > TF_CLASS_WEIGHT_GIVEN)
        TF_FAIL(TF_STATUS_EINVAL, "%s: class_weight %d is not a tf_class_weight_t", fn, o->class_weight);
    if (o->calibrate != 0 && o->calibrate != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: calibrate must be 0 or 1", fn);
    return TF_STATUS_OK;
}

size_t tf__counts_len(const tf_model_t *m)
{
    size_t C = (size_t)m->num_classes;
    return m->multilabel ? 4 * C + 1 : C * C;
}

/* Single-label counts of a batch: the C x C confusion matrix (one logit for two classes). */
static void count_classes(const float *z, const int32_t *lab, int64_t B, int64_t C, int64_t *counts)
{
    for (int64_t i = 0; i < B; i++) {
        int64_t pred = 0;
        if (C == 2) {
            pred = z[i] > 0.0f;
        } else {
            for (int64_t c = 1; c < C; c++)
                if (z[i * C + c] > z[i * C + pred])
                    pred = c;
        }
        counts[lab[i] * C + pred]++;
    }
}

/* Multi-label counts of a batch: per class [TN, FP; FN, TP] at probability 0.5, then exact sets. */
static void count_sets(const float *z, const float *y, int64_t B, int64_t C, int64_t *counts)
{
    for (int64_t i = 0; i < B; i++) {
        int exact = 1;
        for (int64_t c = 0; c < C; c++) {
            int truth = y[i * C + c] > 0.5f, pred = z[i * C + c] > 0.0f;
            counts[4 * c + 2 * truth + pred]++;
            exact &= truth == pred;
        }
        counts[4 * C] += exact;
    }
}

tf_status_t tf__head_logits(tf_model_t *m, tf_tensor_t *input, tf_tensor_t *lengths, tf_tensor_t **y,
                            tf_tensor_t **logits)
{
    tf_tensor_t *pd;
    TF_CHECK(tf_module_forward(y, m->encoder, input, lengths));
    int64_t pshape[2] = {tf_tensor_dim(input, 1), 0};
    pshape[1] = tf__model_out_dim(m) * (((m->pool_modes & TF_POOL_LAST) != 0) +
                                        ((m->pool_modes & TF_POOL_MEAN) != 0) +
                                        ((m->pool_modes & TF_POOL_MAX) != 0));
    TF_CHECK(tf__scratch_f32(m->ctx, &m->pooled, pshape, 2));
    TF_CHECK(tf_pool_forward(*y, lengths, m->pool_modes, tf__model_dirs(m), &m->pooled.view));
    TF_CHECK(tf_module_forward(&pd, m->head_dropout, &m->pooled.view, NULL));
    return tf_module_forward(logits, m->head, pd, NULL);
}

tf_status_t tf__batch_logits(tf_model_t *m, tf_batch_t *b, tf_tensor_t **y, tf_tensor_t **logits)
{
    int32_t tokens = m->cfg.input == TF_MODEL_INPUT_TOKENS;
    tf_tensor_t *input = tokens ? tf_batch_tokens(b) : tf_batch_features(b);
    if (input == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "the loader gives no %s; use a %s loader",
                tokens ? "token sequences" : "numeric sequences", tokens ? "text" : "numeric");
    return tf__head_logits(m, input, tf_batch_lengths(b), y, logits);
}

/* What a batch's training loss is a mean over: its sequences, or the sum of their class
 * weights for a single-label loss with class weights (a weighted mean). */
static double cls_weight(const tf_model_t *m, tf_batch_t *b)
{
    int64_t B = tf_batch_size(b);
    tf_tensor_t *labels = tf_batch_labels(b);
    if (m->class_w == NULL || m->multilabel || labels == NULL)
        return (double)B;
    const int32_t *lab = tf_tensor_data(labels);
    double w = 0;
    for (int64_t i = 0; i < B; i++)
        w += lab[i] >= 0 && lab[i] < m->num_classes ? m->class_w[lab[i]] : 0.0;
    return w;
}

tf_status_t tf__cls_batch(tf_model_t *m, tf_batch_t *b, int32_t train, double *loss, int64_t *confusion)
{
    tf_tensor_t *y, *logits;
    int32_t tokens = m->cfg.input == TF_MODEL_INPUT_TOKENS;
    tf_tensor_t *lengths = tf_batch_lengths(b), *labels = tf_batch_labels(b);
    tf_tensor_t *sets = tf_batch_label_sets(b);
    int64_t B = tf_batch_size(b), C = m->num_classes;
    if (m->multilabel ? sets == NULL : labels == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "the loader gives no %s with %s; use a %s loader",
                tokens ? "token sequences" : "numeric sequences",
                m->multilabel ? "label sets" : "labels", m->multilabel ? "multi-label" : "labelled");
    if (m->multilabel && (sets->ndim != 2 || sets->shape[1] != C))
        TF_FAIL(TF_STATUS_EINVAL, "the batch's label sets have %lld labels, the model %lld",
                (long long)sets->shape[1], (long long)C);
    const int32_t *lab = labels ? tf_tensor_data(labels) : NULL;
    for (int64_t i = 0; lab != NULL && i < B; i++)
        if (lab[i] < 0 || lab[i] >= C)
            TF_FAIL(TF_STATUS_EINVAL, "label id %d of sequence %lld is outside the model's %lld "
                    "classes", lab[i], (long long)i, (long long)C);
    TF_CHECK(tf__batch_logits(m, b, &y, &logits));
    if (!train && !tf__decision_is_identity(m)) { /* evaluate the decisions the model makes */
        TF_CHECK(tf__scratch_f32(m->ctx, &m->adj, logits->shape, logits->ndim));
        memcpy(m->adj.data, tf_tensor_data(logits), (size_t)tf_tensor_numel(logits) * sizeof(float));
        tf__decision_apply(m, m->adj.data, B);
        logits = &m->adj.view;
    }
    TF_CHECK(tf__scratch_f32(m->ctx, &m->dlogits, logits->shape, logits->ndim));
    const float *z = tf_tensor_data(logits);
    tf_tensor_t *grad = train ? &m->dlogits.view : NULL;
    if (train && m->class_w != NULL) {
        TF_CHECK(tf__weighted_loss(m, logits, lab, sets, loss, grad));
    } else if (m->multilabel) {
        TF_CHECK(tf_loss_bce_with_logits(logits, sets, loss, grad));
    } else if (C == 2) {
        int64_t tshape[2] = {B, 1};
        TF_CHECK(tf__scratch_f32(m->ctx, &m->targets, tshape, 2));
        for (int64_t i = 0; i < B; i++)
            m->targets.data[i] = (float)lab[i];
        TF_CHECK(tf_loss_bce_with_logits(logits, &m->targets.view, loss, grad));
    } else {
        TF_CHECK(tf_loss_cross_entropy(logits, labels, TF_NN_INDEX_NONE, loss, grad));
    }
    if (confusion != NULL && m->multilabel)
        count_sets(z, tf_tensor_data(sets), B, C, confusion);
    else if (confusion != NULL)
        count_classes(z, lab, B, C, confusion);
    if (!train || !isfinite(*loss))
        return TF_STATUS_OK;
    return tf__cls_backward(m, y, lengths, cls_weight(m, b));
}

tf_status_t tf__cls_backward(tf_model_t *m, tf_tensor_t *y, tf_tensor_t *lengths, double weight)
{
    tf_tensor_t *dpd, *dpooled;
    TF_CHECK(tf_module_backward(&dpd, m->head, &m->dlogits.view));
    /* The head's gradients are complete: a distributed step starts summing them now. */
    tf__dist_grads_ready(m, m->head, weight);
    TF_CHECK(tf_module_backward(&dpooled, m->head_dropout, dpd));
    /* A fully frozen backbone needs no gradient at all. */
    int any = 0;
    for (uint32_t j = 0; j < tf_module_num_params(m->encoder) && !any; j++) {
        tf_tensor_t *p;
        tf_module_param_at(NULL, &p, NULL, m->encoder, j);
        any = tf_tensor_requires_grad(p);
    }
    if (!any)
        return TF_STATUS_OK;
    TF_CHECK(tf__scratch_f32(m->ctx, &m->dy, y->shape, y->ndim));
    TF_CHECK(tf_pool_backward(y, lengths, m->pool_modes, tf__model_dirs(m), dpooled, &m->dy.view));
    return tf_module_backward(NULL, m->encoder, &m->dy.view);
}

/* Units of gradual unfreezing, top first: recurrent layers L-1 .. 0, then the embedding/projection.
 * Unit u is trainable from epoch u + 1 on (the head trains from epoch 0). */
static void apply_freezing(tf_model_t *m, int32_t strategy, int32_t epoch)
{
    int32_t L = m->cfg.num_layers;
    for (uint32_t j = 0; j < tf_module_num_params(m->encoder); j++) {
        const char *name;
        tf_tensor_t *p;
        tf_module_param_at(&name, &p, NULL, m->encoder, j);
        int32_t layer = tf__cell_param_layer(name);
        /* not a recurrent layer's: the embedding or projection, the last unit */
        int32_t unit = layer >= 0 && layer < L ? L - 1 - layer : L;
        int32_t trainable = strategy == TF_FINETUNE_FULL ||
                            (strategy == TF_FINETUNE_GRADUAL && epoch >= unit + 1);
        tf_tensor_set_requires_grad(p, trainable);
    }
}

/* Discriminative rates: head 1, top recurrent layer 1/f, ..., embedding 1/f^(L+1). Each recurrent
 * parameter gets a group of its full name, its layer read as gradual unfreezing reads it. The
 * optimizer takes the longest matching prefix and none is longer than the full name, so
 * "lstm.weight_ih_l10" keeps layer 10's rate whatever other groups exist. */
tf_status_t tf__finetune_set_rates(tf_model_t *m, tf_optimizer_t *opt, double factor, double wd)
{
    int32_t L = m->cfg.num_layers;
    for (uint32_t j = 0; j < tf_module_num_params(m->encoder); j++) {
        const char *name;
        TF_CHECK(tf_module_param_at(&name, NULL, NULL, m->encoder, j));
        int32_t layer = tf__cell_param_layer(name);
        if (layer >= 0 && layer < L)
            TF_CHECK(tf_optimizer_add_group(opt, name, pow(factor, -(double)(L - layer)), wd));
    }
    const char *in = m->cfg.input == TF_MODEL_INPUT_TOKENS ? "embedding." : "proj.";
    return tf_optimizer_add_group(opt, in, pow(factor, -(double)(L + 1)), wd);
}

/* Add one class's F1 to a macro average, if the class occurs in the labels or predictions. */
static void add_f1(int64_t tp, int64_t fp, int64_t fn, double *sum, int32_t *n)
{
    if (tp + fp + fn > 0) {
        *sum += 2.0 * (double)tp / (double)(2 * tp + fp + fn);
        (*n)++;
    }
}

double tf__metric(const tf_model_t *m, const int64_t *conf, double loss, int32_t metric)
{
    int64_t total = 0, right = 0, C = m->num_classes;
    double f1sum = 0;
    int32_t nf1 = 0;
    if (metric == TF_METRIC_LOSS)
        return loss;
    if (m->multilabel) { /* per-class 2 x 2 counts, then the exact sets */
        for (int64_t c = 0; c < C; c++) {
            const int64_t *k = conf + 4 * c;
            add_f1(k[3], k[1], k[2], &f1sum, &nf1);
        }
        total = C > 0 ? conf[0] + conf[1] + conf[2] + conf[3] : 0;
        right = conf[4 * C];
    } else {
        for (int64_t c = 0; c < C; c++) {
            int64_t tp = conf[c * C + c], fp = 0, fn = 0;
            for (int64_t k = 0; k < C; k++) {
                total += conf[c * C + k];
                if (k != c) {
                    fn += conf[c * C + k];
                    fp += conf[k * C + c];
                }
            }
            right += tp;
            add_f1(tp, fp, fn, &f1sum, &nf1);
        }
    }
    if (metric == TF_METRIC_ACCURACY)
        return total ? (double)right / (double)total : 0.0;
    return nf1 ? f1sum / nf1 : 0.0;
}

static int labels_equal(const tf_model_t *m, const tf_loader_t *l)
{
    if (tf_loader_num_labels(l) != m->num_classes || tf_loader_is_multilabel(l) != m->multilabel)
        return 0;
    char buf[16];
    for (int32_t i = 0; i < m->num_classes; i++)
        if (strcmp(tf__class_name(l, i, buf), m->labels[i]) != 0)
            return 0;
    return 1;
}

/* ULMFiT's optimizer: AdamW with betas (0.8, 0.99) and the rate, decay and schedule of `o`,
 * unless the caller gives optimizer options. */
static void default_optim(const tf_finetune_opts_t *o, int64_t total, tf_optimizer_opts_t *out)
{
    tf_optimizer_opts_init(out, TF_OPTIMIZER_OPTS_VERSION);
    out->algorithm = TF_OPTIMIZER_ADAMW;
    out->lr = o->lr;
    out->weight_decay = o->weight_decay;
    out->beta1 = 0.8;
    out->beta2 = 0.99;
    out->schedule = o->schedule;
    out->warmup_steps = total / 10;
}

/* The phase's identity: every resolved option but those that only steer one call or what happens
 * before and after training (a later field is in it unless it is cleared here), the resolved
 * optimizer options, the class weights and the labels. Hashed as bytes: the structs have no
 * padding (core_opts_static). */
static uint64_t fingerprint(const tf_finetune_opts_t *o,
                            const tf_optimizer_opts_t *oo,
                            const tf_loader_t *train,
                            int64_t total)
{
    tf_finetune_opts_t k = *o;
    k.stop_after_steps = 0;
    k.progress_every = 0;
    k.progress = NULL;
    k.progress_payload = NULL;
    k.reset_head = 0;
    k.calibrate = 0;
    k.class_weights = NULL; /* hashed by value, below */
    k.optim = NULL;         /* hashed as resolved, below */
    k.dist = NULL;          /* the group's size is checked on its own */
    const int64_t i[] = {TF_TRAIN_PHASE_FINETUNE, total, tf_loader_is_multilabel(train)};
    uint64_t h = tf__fnv1a(tf__fnv1a(tf__fnv1a(0, i, sizeof i), &k, sizeof k), oo, sizeof *oo);
    if (o->class_weight == TF_CLASS_WEIGHT_GIVEN && o->class_weights != NULL && o->num_class_weights > 0)
        h = tf__fnv1a(h, o->class_weights, (size_t)o->num_class_weights * sizeof *o->class_weights);
    for (int32_t c = 0; c < tf_loader_num_labels(train); c++) {
        char buf[16];
        const char *name = tf__class_name(train, c, buf);
        h = tf__fnv1a(h, name, strlen(name) + 1);
    }
    return h;
}

/* A new phase's task head for the training loader's labels, unless the model's fits. */
static tf_status_t make_head(tf_model_t *m, const tf_finetune_opts_t *o, tf_loader_t *train)
{
    int32_t C = tf_loader_num_labels(train);
    if (!o->reset_head && m->head != NULL && labels_equal(m, train) && m->pool_modes == o->pooling)
        return TF_STATUS_OK;
    const char *names[1024];
    const char **lab = C <= 1024 ? names : tf__calloc(m->ctx, (size_t)C, sizeof *lab);
    if (lab == NULL)
        return TF_STATUS_ENOMEM;
    /* Room for the ids of classes without names. */
    char *ids = tf__calloc(m->ctx, (size_t)C, 16);
    tf_status_t st = ids == NULL ? TF_STATUS_ENOMEM : TF_STATUS_OK;
    for (int32_t c = 0; st == TF_STATUS_OK && c < C; c++)
        lab[c] = tf__class_name(train, c, ids + (size_t)c * 16);
    if (st == TF_STATUS_OK)
        st = tf__model_make_head(m, C, tf_loader_is_multilabel(train), lab, o->pooling,
                                 o->head_dropout);
    tf__free(m->ctx, ids);
    if (lab != names)
        tf__free(m->ctx, (void *)lab);
    return st;
}

/* Every parameter, the lower layers at discriminative rates (`arg` is the resolved options). */
static tf_status_t attach_all(tf_model_t *m, tf_optimizer_t *opt, const void *arg)
{
    const tf_finetune_opts_t *o = arg;
    TF_CHECK(tf__optimizer_attach(m, opt));
    return o->discriminative > 1.0
               ? tf__finetune_set_rates(m, opt, o->discriminative, o->weight_decay)
               : TF_STATUS_OK;
}

/* The phase's own steps for the loop. */
typedef struct finetune_run {
    const tf_finetune_opts_t *o;
    tf_loader_t *valid;
} finetune_run_t;

static tf_status_t
run_batch(void *self, tf_model_t *m, tf_batch_t *b, double *loss, double *items, double *weight)
{
    (void)self;
    *items = (double)tf_batch_size(b);
    *weight = cls_weight(m, b);
    return tf__cls_batch(m, b, 1, loss, NULL);
}

static void run_before_batch(void *self, tf_model_t *m)
{
    apply_freezing(m, ((finetune_run_t *)self)->o->strategy, m->ph.epoch);
}

/* After an epoch: validate, keep the best weights, decide on early stopping. */
static tf_status_t run_end_epoch(void *self, tf_model_t *m, int *stop)
{
    const finetune_run_t *r = self;
    return tf__keep_best(m, r->valid, r->o->metric, r->o->patience, "finetune", stop);
}

tf_status_t tf__keep_best(tf_model_t *m, tf_loader_t *valid, int32_t metric_kind, int32_t patience,
                          const char *what, int *stop)
{
    double loss;
    *stop = 0;
    if (valid == NULL)
        return TF_STATUS_OK;
    int64_t *conf = tf__calloc(m->ctx, tf__counts_len(m), sizeof *conf);
    if (conf == NULL)
        return TF_STATUS_ENOMEM;
    tf_status_t st = tf__evaluate_loader(m, valid, &loss, conf, NULL);
    double metric = st == TF_STATUS_OK ? tf__metric(m, conf, loss, metric_kind) : NAN;
    tf__free(m->ctx, conf);
    if (m->dist != NULL) {
        /* Every rank validated on the whole loader; rank 0's figures decide for all, so that
         * the best epoch and early stopping are the same everywhere. */
        double v[2] = {loss, metric};
        st = tf__dist_share(m, st, v, 2, m->dist_fn);
        loss = v[0];
        metric = v[1];
    }
    TF_CHECK(st);
    m->ph.last_valid_loss = loss;
    m->ph.last_valid_metric = metric;
    int better = isnan(m->ph.best_metric) ||
                 (metric_kind == TF_METRIC_LOSS ? metric < m->ph.best_metric : metric > m->ph.best_metric);
    tf__log(m->ctx, TF_LOG_INFO, "%s epoch %d: validation loss %.4f metric %.4f%s", what,
            m->ph.epoch, loss, metric, better ? " (best)" : "");
    if (better) {
        size_t n = tf__model_param_floats(m);
        if (m->ph.best == NULL) {
            m->ph.best = tf__alloc(m->ctx, n * sizeof(float));
            if (m->ph.best == NULL)
                return TF_STATUS_ENOMEM;
            m->ph.best_n = n;
        }
        tf__model_snapshot(m, m->ph.best);
        m->ph.best_metric = metric;
        m->ph.best_epoch = m->ph.epoch - 1;
        m->ph.bad_epochs = 0;
    } else {
        m->ph.bad_epochs++;
        if (patience > 0 && m->ph.bad_epochs >= patience)
            *stop = 1;
    }
    return TF_STATUS_OK;
}

static tf_status_t run_finish(void *self, tf_model_t *m)
{
    const finetune_run_t *r = self;
    if (m->ph.best != NULL)
        tf__model_restore(m, m->ph.best);
    /* Every parameter trainable again: the model is whole for later use. */
    apply_freezing(m, TF_FINETUNE_FULL, 0);
    return r->o->calibrate && r->valid != NULL ? tf_model_calibrate(m, r->valid, NULL)
                                               : TF_STATUS_OK;
}

static const tf__phase_ops_t finetune_ops = {
    TF_TRAIN_PHASE_FINETUNE, "tf_finetune", run_batch, run_before_batch, NULL,
    run_end_epoch,           run_finish};

/* What a call resolved from its options before it trains. */
typedef struct finetune_call {
    int64_t total;
    tf_optimizer_opts_t oo;
} finetune_call_t;

/* Check the call, resolve its budget and optimizer, enter (or continue) the phase with its head
 * and resolve the class weights; `o` gets the optimizer's weight decay. */
static tf_status_t prepare(tf_model_t *m, tf_loader_t *train, tf_loader_t *valid,
                           tf_finetune_opts_t *o, const tf_train_report_t *report,
                           finetune_call_t *c)
{
    const char *fn = "tf_finetune";
    TF_CHECK(tf__report_check(report, fn));
    TF_CHECK(check_opts(o));
    TF_CHECK(tf__model_check_trainable(m, fn));
    int32_t C = tf_loader_num_labels(train), multi = tf_loader_is_multilabel(train);
    if (C < 2 - multi)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the training loader has %d labels; fine-tuning "
                "needs a labelled loader with at least %s",
                fn, C, multi ? "1 label" : "2 classes");
    if (valid != NULL && tf_loader_is_multilabel(valid) != multi)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the training loader is %s, the validation loader "
                "is not",
                fn, multi ? "multi-label" : "single-label");
    if (valid != NULL && tf_loader_num_labels(valid) != C)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the validation loader has %d labels, the training "
                "loader %d; create it with the training loader's labels",
                fn, tf_loader_num_labels(valid), C);
    for (int32_t k = 0; valid != NULL && k < C; k++) {
        char vb[16], tb[16];
        const char *vn = tf__class_name(valid, k, vb), *tn = tf__class_name(train, k, tb);
        if (strcmp(vn, tn) != 0)
            TF_FAIL(TF_STATUS_EINVAL,
                    "%s: label %d is '%s' in the validation loader but "
                    "'%s' in the training loader",
                    fn, k, vn, tn);
    }
    int64_t per_epoch = tf_loader_num_batches(train);
    if (per_epoch < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the training loader has no batches", fn);
    c->total = (int64_t)o->epochs * per_epoch;
    tf_optimizer_opts_t defaults;
    default_optim(o, c->total, &defaults);
    TF_CHECK(tf__resolve_optim(o->optim, &defaults, c->total, o->clip_norm, &c->oo, "tf_finetune: optim"));
    /* A run too short for the slanted triangle's rising part (under 10 steps with its cut
     * fraction 0.1) gets one rising step. */
    if (c->oo.schedule == TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR && (double)c->total * c->oo.cut_frac < 1.0)
        c->oo.cut_frac = c->total > 1 ? 1.0 / (double)c->total : 0.5;
    TF_CHECK(tf__model_adopt_standardization(m, train));
    uint64_t fp = fingerprint(o, &c->oo, train, c->total);
    TF_CHECK(tf__dist_check_resume(m, TF_TRAIN_PHASE_FINETUNE, fp, o->dist, fn));
    if (tf__phase_enter(m, TF_TRAIN_PHASE_FINETUNE, fp, c->total)) {
        tf_status_t st = make_head(m, o, train);
        if (st != TF_STATUS_OK) {
            m->ph.phase = 0; /* the next call starts the phase again */
            return st;
        }
    }
    o->weight_decay = c->oo.weight_decay; /* the lower layers' groups decay as the optimizer does */
    TF_CHECK(tf__phase_optimizer(m, &c->oo, attach_all, o));
    TF_CHECK(tf__class_weights_resolve(m, o, train));
    return TF_STATUS_OK;
}

tf_status_t tf_finetune(tf_model_t *m,
                        tf_loader_t *train,
                        tf_loader_t *valid,
                        const tf_finetune_opts_t *opts,
                        tf_train_report_t *report)
{
    tf_finetune_opts_t o;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(train);
    finetune_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__finetune_opts_layout, __func__));
    finetune_call_t c;
    tf_status_t st = prepare(m, train, valid, &o, report, &c);
    tf__dist_shards_t shards;
    if (o.dist != NULL) {
        /* Every rank gets here, also one whose own checks failed: they agree first. The
         * validation loader is not sharded: every rank validates on all of it. */
        st = tf__dist_begin_call(m, o.dist, st, m->ph.fingerprint, train, NULL, m->head,
                                 m->encoder, &shards, __func__);
        if (st != TF_STATUS_OK)
            return st;
    }
    TF_CHECK(st);
    finetune_run_t run = {&o, valid};
    const tf__loop_t loop = {.ops = &finetune_ops,
                             .self = &run,
                             .train = train,
                             .total = c.total,
                             .epochs = o.epochs,
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
