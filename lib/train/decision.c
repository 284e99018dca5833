/* SPDX-License-Identifier: MIT */
/* How a task head's logits become decisions: a temperature and class priors (see train.h,
 * "Decisions under a new class prior"), temperature scaling on labelled data, and the EM
 * estimate of a new prior from unlabelled data (Saerens, Latinne and Decaestecker, 2002). */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Temperatures are searched in [T_MIN, T_MAX]: beyond them a head is degenerate anyway. */
#define T_MIN 0.05
#define T_MAX 20.0

void tf__decision_clear(tf_model_t *m)
{
    tf__free(m->ctx, m->train_prior);
    tf__free(m->ctx, m->model_prior);
    tf__free(m->ctx, m->prior);
    m->train_prior = m->model_prior = m->prior = NULL;
    m->temperature = 1.0;
}

/* Whether the head is one independent yes/no per output (a single logit for two classes, or a
 * multi-label head): then priors are per label, and "prior" means the positive class's. */
static int one_logit(const tf_model_t *m)
{
    return !m->multilabel && m->num_classes == 2;
}

/* Logits per sequence: 1 for two classes, else C. */
int64_t tf__head_width(const tf_model_t *m)
{
    return one_logit(m) ? 1 : m->num_classes;
}

static double logit(double p)
{
    return log(p) - log1p(-p);
}

tf_status_t tf__decision_set_train(tf_model_t *m, const int64_t *counts, int64_t n, const double *w)
{
    int32_t C = m->num_classes;
    tf__decision_clear(m);
    m->train_prior = tf__calloc(m->ctx, (size_t)C, sizeof(double));
    m->model_prior = tf__calloc(m->ctx, (size_t)C, sizeof(double));
    if (m->train_prior == NULL || m->model_prior == NULL) {
        tf__decision_clear(m);
        return TF_STATUS_ENOMEM;
    }
    /* A class never (or, multi-label, always) seen counts half an example the other way, so
     * every prior stays inside (0, 1) and logs stay finite. */
    double total = 0, mtotal = 0, half = 0.5 / ((double)n + 1.0);
    for (int32_t c = 0; c < C; c++) {
        double wc = w != NULL ? w[c] : 1.0;
        if (m->multilabel) {
            double pi = (double)counts[c] / (double)(n > 0 ? n : 1);
            pi = pi < half ? half : (pi > 1.0 - half ? 1.0 - half : pi);
            m->train_prior[c] = pi;
            m->model_prior[c] = wc * pi / (wc * pi + 1.0 - pi);
        } else {
            m->train_prior[c] = counts[c] > 0 ? (double)counts[c] : 0.5;
            m->model_prior[c] = m->train_prior[c] * wc;
            total += m->train_prior[c];
            mtotal += m->model_prior[c];
        }
    }
    for (int32_t c = 0; c < C && !m->multilabel; c++) {
        m->train_prior[c] /= total;
        m->model_prior[c] /= mtotal;
    }
    return TF_STATUS_OK;
}

/* A copy of C doubles of `src` (NULL stays NULL) into *dst. */
static tf_status_t copy_prior(tf_ctx_t *ctx, double **dst, const double *src, int32_t C)
{
    *dst = NULL;
    if (src == NULL)
        return TF_STATUS_OK;
    *dst = tf__calloc(ctx, (size_t)C, sizeof **dst);
    if (*dst == NULL)
        return TF_STATUS_ENOMEM;
    memcpy(*dst, src, (size_t)C * sizeof **dst);
    return TF_STATUS_OK;
}

tf_status_t tf__decision_copy_priors(tf_model_t *dst, const tf_model_t *src)
{
    int32_t C = src->num_classes;
    tf__decision_clear(dst);
    tf_status_t st = copy_prior(dst->ctx, &dst->train_prior, src->train_prior, C);
    if (st == TF_STATUS_OK)
        st = copy_prior(dst->ctx, &dst->model_prior, src->model_prior, C);
    if (st == TF_STATUS_OK)
        st = copy_prior(dst->ctx, &dst->prior, src->prior, C);
    if (st != TF_STATUS_OK)
        tf__decision_clear(dst);
    return st;
}

/* The offset added to z_k / T to decide for prior `target` (NULL: the model's target prior).
 * Zero when the model has no recorded prior. */
static double offset_k(const tf_model_t *m, const double *target, int64_t k)
{
    const double *mp = m->model_prior;
    const double *p = target != NULL ? target : (m->prior != NULL ? m->prior : mp);
    if (mp == NULL || p == mp)
        return 0.0;
    if (one_logit(m))
        return log(p[1] / p[0]) - log(mp[1] / mp[0]);
    if (m->multilabel)
        return logit(p[k]) - logit(mp[k]);
    return log(p[k]) - log(mp[k]);
}

int tf__decision_is_identity(const tf_model_t *m)
{
    return m->temperature == 1.0 && (m->prior == NULL || m->model_prior == NULL);
}

/* z_k / T + offset_k for prior `target` on B rows of K logits, from `z` into `a`. */
static void adjust_rows(const tf_model_t *m, const double *target, double T, const float *z, int64_t B,
                        double *a)
{
    int64_t K = tf__head_width(m);
    for (int64_t k = 0; k < K; k++) {
        double o = offset_k(m, target, k);
        for (int64_t i = 0; i < B; i++)
            a[i * K + k] = (double)z[i * K + k] / T + o;
    }
}

void tf__decision_apply(const tf_model_t *m, float *z, int64_t B)
{
    int64_t K = tf__head_width(m);
    if (tf__decision_is_identity(m))
        return;
    for (int64_t k = 0; k < K; k++) {
        double o = offset_k(m, NULL, k);
        for (int64_t i = 0; i < B; i++)
            z[i * K + k] = (float)((double)z[i * K + k] / m->temperature + o);
    }
}

/* Probabilities (C values) of one row of adjusted logits `a` (K values), in place when the two
 * are the same buffer of C values. */
static void row_probs(const tf_model_t *m, const double *a, double *p)
{
    int64_t C = m->num_classes;
    if (one_logit(m)) {
        double p1 = 1.0 / (1.0 + exp(-a[0]));
        p[0] = 1.0 - p1;
        p[1] = p1;
    } else if (m->multilabel) {
        for (int64_t c = 0; c < C; c++)
            p[c] = 1.0 / (1.0 + exp(-a[c]));
    } else {
        double mx = a[0], sum = 0;
        for (int64_t c = 1; c < C; c++)
            mx = a[c] > mx ? a[c] : mx;
        for (int64_t c = 0; c < C; c++)
            sum += (p[c] = exp(a[c] - mx));
        for (int64_t c = 0; c < C; c++)
            p[c] /= sum;
    }
}

void tf__decision_export(const tf_model_t *m, double *temperature, double *offsets, int32_t *kind)
{
    const int64_t K = tf__head_width(m);
    *temperature = m->temperature;
    for (int64_t k = 0; k < K; k++)
        offsets[k] = offset_k(m, NULL, k);
    *kind = one_logit(m) ? TF__DECIDE_ONE_LOGIT : m->multilabel ? TF__DECIDE_MULTILABEL : TF__DECIDE_SOFTMAX;
}

void tf__decision_row(int32_t kind, int64_t C, double temperature, const double *offsets, const float *z,
                      float *probs)
{
    const int64_t K = kind == TF__DECIDE_ONE_LOGIT ? 1 : C;
    if (kind == TF__DECIDE_ONE_LOGIT) {
        double p1 = 1.0 / (1.0 + exp(-((double)z[0] / temperature + offsets[0])));
        probs[0] = (float)(1.0 - p1);
        probs[1] = (float)p1;
    } else if (kind == TF__DECIDE_MULTILABEL) {
        for (int64_t c = 0; c < K; c++)
            probs[c] = (float)(1.0 / (1.0 + exp(-((double)z[c] / temperature + offsets[c]))));
    } else {
        /* The adjusted logits are recomputed in each pass (the same doubles), so no buffer. */
        double mx = -INFINITY, sum = 0.0;
        for (int64_t c = 0; c < K; c++) {
            double v = (double)z[c] / temperature + offsets[c];
            mx = v > mx ? v : mx;
        }
        for (int64_t c = 0; c < K; c++)
            sum += exp((double)z[c] / temperature + offsets[c] - mx);
        for (int64_t c = 0; c < K; c++)
            probs[c] = (float)(exp((double)z[c] / temperature + offsets[c] - mx) / sum);
    }
}

void tf__decision_prob_grad(const tf_model_t *m, const float *z, int32_t c, double *p, double *dz)
{
    int64_t C = m->num_classes, K = tf__head_width(m);
    double T = m->temperature;
    adjust_rows(m, NULL, T, z, 1, p); /* K <= C adjusted logits, then the probabilities */
    row_probs(m, p, p);
    /* d a_k / d z_k = 1 / T; the prior's offsets do not depend on z. */
    if (one_logit(m)) {
        double s = p[1] * p[0] / T;
        dz[0] = c == 1 ? s : -s;
    } else if (m->multilabel) {
        for (int64_t k = 0; k < K; k++)
            dz[k] = k == c ? p[c] * (1.0 - p[c]) / T : 0.0;
    } else {
        for (int64_t k = 0; k < C; k++)
            dz[k] = p[c] * ((k == c ? 1.0 : 0.0) - p[k]) / T;
    }
}

/* ---- a pass over a loader collecting raw logits (and labels) ---- */

typedef struct {
    float *z;       /* n x K */
    int32_t *lab;   /* n, single-label loaders */
    float *sets;    /* n x C, multi-label loaders */
    int64_t n;
    size_t z_cap, lab_cap, sets_cap;
} logits_t;

static void logits_free(tf_ctx_t *ctx, logits_t *L)
{
    tf__free(ctx, L->z);
    tf__free(ctx, L->lab);
    tf__free(ctx, L->sets);
}

/* Room for `need` sequences of K logits (and C label values). */
static tf_status_t logits_grow(tf_ctx_t *ctx, logits_t *L, int64_t need, int64_t K, int64_t C)
{
    void *z = L->z, *lab = L->lab, *sets = L->sets;
    tf_status_t st = tf__grow_bytes(ctx, &z, &L->z_cap, (size_t)(need * K), sizeof *L->z);
    L->z = z;
    if (st == TF_STATUS_OK)
        st = tf__grow_bytes(ctx, &lab, &L->lab_cap, (size_t)need, sizeof *L->lab);
    L->lab = lab;
    if (st == TF_STATUS_OK)
        st = tf__grow_bytes(ctx, &sets, &L->sets_cap, (size_t)(need * C), sizeof *L->sets);
    L->sets = sets;
    return st;
}

/* Raw head logits of every sequence of `data` (evaluation mode); with `labelled`, also the
 * labels (a batch without them is an error). */
static tf_status_t collect(tf_model_t *m, tf_loader_t *data, int labelled, const char *fn, logits_t *L)
{
    int64_t K = tf__head_width(m), C = m->num_classes;
    tf_status_t st;
    memset(L, 0, sizeof *L);
    TF_CHECK(tf_loader_reset(data));
    tf__model_set_training(m, 0);
    for (;;) {
        tf_batch_t *b;
        tf_tensor_t *y, *logits;
        TF_CHECK_GOTO(st, tf_loader_next(&b, data), out);
        if (b == NULL)
            break;
        int64_t B = tf_batch_size(b);
        tf_tensor_t *lab = tf_batch_labels(b), *sets = tf_batch_label_sets(b);
        if (labelled && (m->multilabel ? sets == NULL : lab == NULL))
            TF_FAIL_GOTO(st, out, TF_STATUS_EINVAL, "%s: the loader gives no %s", fn,
                         m->multilabel ? "label sets" : "labels");
        TF_CHECK_GOTO(st, tf__batch_logits(m, b, &y, &logits), out);
        const float *z = tf_tensor_data(logits);
        for (int64_t k = 0; k < B * K; k++)
            if (!isfinite(z[k])) { /* a broken model must not leave a broken decision behind */
                TF_FAIL_GOTO(st, out, TF_STATUS_EDIVERGED,
                             "%s: the model gives a non-finite logit for sequence %lld", fn,
                             (long long)(L->n + k / K));
            }
        TF_CHECK_GOTO(st, logits_grow(m->ctx, L, L->n + B, K, C), out);
        memcpy(L->z + L->n * K, tf_tensor_data(logits), (size_t)(B * K) * sizeof(float));
        if (labelled && m->multilabel)
            memcpy(L->sets + L->n * C, tf_tensor_data(sets), (size_t)(B * C) * sizeof(float));
        else if (labelled)
            memcpy(L->lab + L->n, tf_tensor_data(lab), (size_t)B * sizeof(int32_t));
        L->n += B;
    }
    st = tf_loader_reset(data);
out:
    tf__model_set_training(m, 1);
    if (st == TF_STATUS_OK && L->n == 0)
        st = tf__error(TF_STATUS_EINVAL, "%s: the loader gave no sequences", fn);
    if (st != TF_STATUS_OK)
        logits_free(m->ctx, L);
    return st;
}

/* Probabilities (n x C, into q) of every collected row at temperature T for prior `target`. */
static void all_probs(const tf_model_t *m, const logits_t *L, const double *target, double T, double *q)
{
    int64_t C = m->num_classes, K = tf__head_width(m);
    for (int64_t i = 0; i < L->n; i++) {
        adjust_rows(m, target, T, L->z + i * K, 1, q + i * C);
        row_probs(m, q + i * C, q + i * C);
    }
}

/* Cross-entropy of the labelled rows at temperature T, deciding for the training prior (the
 * prior the labelled data come from); q is n x C scratch. The targets are smoothed after Platt
 * (1999): with n rows, the true class (or a present label) is aimed at with (n + 1) / (n + 2)
 * instead of 1, so a validation set the model separates perfectly (a few dozen rows) does not
 * drive the temperature to zero. Platt counts n per class; a rare class of a handful of rows then
 * gets targets far from 1, the temperature comes out too high, the probabilities
 * under-confident, and the EM prior estimate overshoots. So n here is the number of rows, and
 * the rest of the target mass is shared by the other classes (multi-label: the absent side). */
static double nll(const tf_model_t *m, const logits_t *L, double T, double *q)
{
    int64_t C = m->num_classes;
    double hit = ((double)L->n + 1.0) / ((double)L->n + 2.0);
    double miss = m->multilabel ? 1.0 - hit : (1.0 - hit) / (double)(C - 1);
    double sum = 0;
    all_probs(m, L, m->train_prior, T, q);
    for (int64_t i = 0; i < L->n; i++) {
        const double *p = q + i * C;
        for (int64_t c = 0; c < C; c++) {
            double pc = fmax(p[c], 1e-300), rest = fmax(1.0 - p[c], 1e-300);
            if (m->multilabel) {
                double t = L->sets[i * C + c] > 0.5f ? hit : miss;
                sum -= t * log(pc) + (1.0 - t) * log(rest);
            } else {
                sum -= (c == L->lab[i] ? hit : miss) * log(pc);
            }
        }
    }
    return sum / (double)L->n;
}

static tf_status_t check_head(const tf_model_t *m, const char *fn)
{
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model has no task head; fine-tune it first", fn);
    return TF_STATUS_OK;
}

tf_status_t tf__model_check_labels(const tf_model_t *m, const tf_loader_t *data, const char *fn)
{
    if (tf_loader_is_multilabel(data) != m->multilabel)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the model is %s, the loader is not; create it "
                "with tf_loader_create_%s", fn, m->multilabel ? "multi-label" : "single-label",
                m->multilabel ? "multilabel" : "labeled");
    if (tf_loader_num_labels(data) != m->num_classes)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the loader has %d labels, the model %d", fn,
                tf_loader_num_labels(data), m->num_classes);
    char buf[16];
    for (int32_t c = 0; c < m->num_classes; c++) {
        const char *got = tf__class_name(data, c, buf);
        if (strcmp(got, m->labels[c]) != 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: label %d is '%s' in the loader but '%s' in the "
                    "model; create the loader with the model's labels", fn, c, got, m->labels[c]);
    }
    return TF_STATUS_OK;
}

const char *tf__class_name(const tf_loader_t *l, int32_t c, char buf[16])
{
    const char *name = tf_loader_label_name(l, c);
    if (name != NULL)
        return name;
    snprintf(buf, 16, "%d", (int)c);
    return buf;
}

tf_status_t tf_model_calibrate(tf_model_t *m, tf_loader_t *data, double *temperature)
{
    logits_t L;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(data);
    TF_CHECK(check_head(m, __func__));
    TF_CHECK(tf__model_check_labels(m, data, __func__));
    TF_CHECK(collect(m, data, 1, __func__, &L));
    double *q = tf__calloc(m->ctx, (size_t)(L.n * m->num_classes), sizeof *q);
    if (q == NULL) {
        logits_free(m->ctx, &L);
        return TF_STATUS_ENOMEM;
    }
    /* The likelihood is convex in 1/T, so a golden-section search on log T finds its minimum. */
    const double g = (sqrt(5.0) - 1.0) / 2.0;
    double a = log(T_MIN), b = log(T_MAX);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = nll(m, &L, exp(x1), q), f2 = nll(m, &L, exp(x2), q);
    while (b - a > 1e-6) {
        if (f1 <= f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = nll(m, &L, exp(x1), q);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = nll(m, &L, exp(x2), q);
        }
    }
    logits_free(m->ctx, &L);
    tf__free(m->ctx, q);
    m->temperature = exp((a + b) / 2.0);
    if (temperature != NULL)
        *temperature = m->temperature;
    tf__log(m->ctx, TF_LOG_INFO, "calibration: temperature %.4f", m->temperature);
    return TF_STATUS_OK;
}

/* ---- prior estimation ---- */

TF__OPTS_LAYOUT(tf__adapt_opts_layout,
                tf_adapt_opts_t,
                TF_ADAPT_OPTS_VERSION,
                TF__OPTS_END(tf_adapt_opts_t, min_prior));

static void adapt_defaults(tf_adapt_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_ADAPT_OPTS_VERSION;
    o->max_iter = 1000;
    o->tol = 1e-6;
    o->min_prior = 1e-4;
}

tf_status_t tf_adapt_opts_init(tf_adapt_opts_t *opts, uint32_t version)
{
    tf_adapt_opts_t d;
    adapt_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__adapt_opts_layout, __func__);
}

/* Clamp a prior into [lo, 1 - lo] (single-label: then renormalise). */
static void clamp_prior(const tf_model_t *m, double *p, double lo)
{
    int64_t C = m->num_classes;
    double sum = 0;
    for (int64_t c = 0; c < C; c++) {
        p[c] = p[c] < lo ? lo : (p[c] > 1.0 - lo ? 1.0 - lo : p[c]);
        sum += p[c];
    }
    for (int64_t c = 0; c < C && !m->multilabel; c++)
        p[c] /= sum;
}

/* One EM step: the posteriors q (decided for the training prior) re-weighted to prior `pi`,
 * averaged into `next`. */
static void em_step(const tf_model_t *m, const double *q, int64_t n, const double *pi, double *next)
{
    int64_t C = m->num_classes;
    const double *tr = m->train_prior;
    for (int64_t c = 0; c < C; c++)
        next[c] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *qi = q + i * C;
        if (m->multilabel) {
            for (int64_t c = 0; c < C; c++) {
                double yes = qi[c] * pi[c] / tr[c], no = (1.0 - qi[c]) * (1.0 - pi[c]) / (1.0 - tr[c]);
                next[c] += yes / (yes + no);
            }
        } else {
            double sum = 0;
            for (int64_t c = 0; c < C; c++)
                sum += qi[c] * pi[c] / tr[c];
            for (int64_t c = 0; c < C; c++)
                next[c] += qi[c] * pi[c] / tr[c] / sum;
        }
    }
    for (int64_t c = 0; c < C; c++)
        next[c] /= (double)n;
}

tf_status_t tf_adapt_prior(tf_model_t *m, tf_loader_t *unlabeled, const tf_adapt_opts_t *opts,
                           int32_t *iterations)
{
    tf_adapt_opts_t o;
    logits_t L;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(unlabeled);
    adapt_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__adapt_opts_layout, __func__));
    if (o.max_iter < 1 || !(o.tol > 0.0) || !isfinite(o.tol) || !(o.min_prior > 0.0 && o.min_prior < 0.1) ||
        o.reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: max_iter (%d) must be >= 1, tol (%g) finite and "
                "> 0, min_prior (%g) in (0, 0.1) and reserved 0",
                __func__, o.max_iter, o.tol, o.min_prior);
    TF_CHECK(check_head(m, __func__));
    if (m->train_prior == NULL)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: the model has no recorded training prior (it "
                "was saved before priors were recorded); fine-tune it again",
                __func__);
    TF_CHECK(collect(m, unlabeled, 0, __func__, &L));
    int64_t C = m->num_classes, n = L.n;
    double *q = tf__calloc(m->ctx, (size_t)(n * C), sizeof *q);
    double *pi = tf__calloc(m->ctx, (size_t)C, sizeof *pi), *next = tf__calloc(m->ctx, (size_t)C, sizeof *next);
    double *keep = m->prior == NULL ? tf__calloc(m->ctx, (size_t)C, sizeof *keep) : m->prior;
    if (q == NULL || pi == NULL || next == NULL || keep == NULL) {
        logits_free(m->ctx, &L);
        tf__free(m->ctx, q);
        tf__free(m->ctx, pi);
        tf__free(m->ctx, next);
        if (keep != m->prior)
            tf__free(m->ctx, keep);
        return TF_STATUS_ENOMEM;
    }
    /* Calibrated posteriors under the training prior, which EM then moves to the new one. */
    all_probs(m, &L, m->train_prior, m->temperature, q);
    logits_free(m->ctx, &L);
    memcpy(pi, m->train_prior, (size_t)C * sizeof *pi);
    int32_t it = 0;
    for (double moved = INFINITY; it < o.max_iter && moved > o.tol; it++) {
        em_step(m, q, n, pi, next);
        clamp_prior(m, next, o.min_prior);
        moved = 0;
        for (int64_t c = 0; c < C; c++) {
            moved = fmax(moved, fabs(next[c] - pi[c]));
            pi[c] = next[c];
        }
    }
    memcpy(keep, pi, (size_t)C * sizeof *keep);
    m->prior = keep;
    tf__free(m->ctx, q);
    tf__free(m->ctx, pi);
    tf__free(m->ctx, next);
    if (iterations != NULL)
        *iterations = it;
    tf__log(m->ctx, TF_LOG_INFO, "prior adaptation: %d EM iterations on %lld sequences", it,
            (long long)n);
    return TF_STATUS_OK;
}

tf_status_t tf_model_prior(const tf_model_t *m, int32_t kind, double *prior, size_t capacity)
{
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(prior);
    if (kind < TF_PRIOR_TRAIN || kind > TF_PRIOR_TARGET)
        TF_FAIL(TF_STATUS_EINVAL, "%s: kind %d is not a tf_prior_kind_t", __func__, kind);
    TF_CHECK(check_head(m, __func__));
    if (m->train_prior == NULL)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: the model has no recorded priors (it was saved "
                "before priors were recorded)",
                __func__);
    if (capacity < (size_t)m->num_classes)
        TF_FAIL(TF_STATUS_EBUFSIZE,
                "%s: prior holds %zu values, the model has %d "
                "classes",
                __func__, capacity, m->num_classes);
    const double *src = kind == TF_PRIOR_TRAIN ? m->train_prior
                        : kind == TF_PRIOR_MODEL || m->prior == NULL ? m->model_prior
                                                                     : m->prior;
    memcpy(prior, src, (size_t)m->num_classes * sizeof *prior);
    return TF_STATUS_OK;
}

tf_status_t tf_model_set_prior(tf_model_t *m, const double *prior, size_t num_classes)
{
    TF_REQUIRE_ARG(m);
    TF_CHECK(check_head(m, __func__));
    if (m->model_prior == NULL)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: the model has no recorded model prior (it "
                "was saved before priors were recorded); fine-tune it again",
                __func__);
    if (prior == NULL) {
        tf__free(m->ctx, m->prior);
        m->prior = NULL;
        return TF_STATUS_OK;
    }
    int64_t C = m->num_classes;
    if (num_classes != (size_t)C)
        TF_FAIL(TF_STATUS_EINVAL, "%s: %zu values for %lld classes", __func__, num_classes,
                (long long)C);
    double sum = 0;
    for (int64_t c = 0; c < C; c++) {
        if (!(prior[c] > 0.0 && prior[c] < 1.0))
            TF_FAIL(TF_STATUS_EINVAL, "%s: value %lld (%g) is outside (0, 1)", __func__,
                    (long long)c, prior[c]);
        sum += prior[c];
    }
    if (!m->multilabel && fabs(sum - 1.0) > 1e-6)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the values sum to %.9g, not 1", __func__, sum);
    if (m->prior == NULL && (m->prior = tf__calloc(m->ctx, (size_t)C, sizeof *m->prior)) == NULL)
        return TF_STATUS_ENOMEM;
    memcpy(m->prior, prior, (size_t)C * sizeof *prior);
    return TF_STATUS_OK;
}

double tf_model_temperature(const tf_model_t *m)
{
    return m != NULL ? m->temperature : 0.0;
}
