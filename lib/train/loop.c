/* SPDX-License-Identifier: MIT */
/* What the two trainers share: the phase state, progress reports, the divergence guard and the
 * report structs. */
#include "transfer/train.h"
#include "train_internal.h"
#include "dist.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

double tf__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tf__clock_start(tf__clock_t *clk)
{
    memset(clk, 0, sizeof *clk);
    clk->start = clk->mark = tf__now();
}

uint64_t tf__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (h == 0)
        h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void tf__phase_reset(tf_model_t *m)
{
    tf_optimizer_free(m->ph.opt);
    tf__free(m->ctx, m->ph.best);
    tf__free(m->ctx, m->ph.pending_opt);
    tf__free(m->ctx, m->ph.last_good);
    memset(&m->ph, 0, sizeof m->ph);
    m->ph.best_epoch = -1;
    m->ph.best_metric = NAN;
    m->ph.last_valid_loss = NAN;
    m->ph.last_valid_metric = NAN;
}

tf_status_t tf__report_progress(tf_model_t *m,
                                tf__clock_t *clk,
                                int32_t phase,
                                int64_t step,
                                double epoch_fraction,
                                tf_progress_cb cb,
                                void *payload)
{
    tf_progress_t p;
    double now = tf__now();
    double dt = now - clk->mark;
    memset(&p, 0, sizeof p);
    p.struct_size = (uint32_t)sizeof p;
    p.version = 1;
    p.phase = phase;
    p.epoch = m->ph.epoch;
    p.step = step;
    p.total_steps = m->ph.total_steps;
    p.epoch_fraction = epoch_fraction;
    p.loss = clk->loss_n ? clk->loss_sum / (double)clk->loss_n : NAN;
    p.lr = tf_optimizer_lr(m->ph.opt);
    p.items_per_s = dt > 0 ? (clk->items - clk->items_mark) / dt : 0.0;
    double rate = (now - clk->start) > 0 ? clk->items / (now - clk->start) : 0.0;
    p.eta_s = NAN;
    if (rate > 0 && step > 0) {
        double steps_left = (double)(m->ph.total_steps - step);
        double secs_per_step = (now - clk->start) / (double)step;
        p.eta_s = steps_left > 0 ? steps_left * secs_per_step : 0.0;
    }
    p.valid_metric = m->ph.last_valid_metric;
    tf__log(m->ctx, TF_LOG_INFO, "%s step %lld/%lld loss %.4f lr %.3g %.0f items/s",
            phase == TF_TRAIN_PHASE_PRETRAIN ? "pretrain" : "finetune", (long long)step,
            (long long)m->ph.total_steps, p.loss, p.lr, p.items_per_s);
    clk->mark = now;
    clk->items_mark = clk->items;
    clk->loss_sum = 0;
    clk->loss_n = 0;
    const char *fn = phase == TF_TRAIN_PHASE_PRETRAIN ? "tf_pretrain" : "tf_finetune";
    tf_status_t st = TF_STATUS_OK;
    if (cb != NULL && cb(&p, payload) != 0)
        st = tf__error(TF_STATUS_ECANCELED, "%s: stopped by the progress callback at step %lld", fn,
                       (long long)step);
    /* A callback that stops one rank stops every rank, at the same step. */
    return m->dist != NULL ? tf__dist_agree(m, st, fn) : st;
}

tf_status_t tf__diverged(const char *fn, int64_t step, double loss, double grad_norm)
{
    TF_FAIL(TF_STATUS_EDIVERGED,
            "%s: training diverged at step %lld (loss %g, gradient norm %g); the weights of the "
            "previous step are kept. Try a lower learning rate or gradient clipping",
            fn, (long long)step, loss, grad_norm);
}

void tf__fill_report(tf_model_t *m, tf_train_report_t *report, const tf__clock_t *clk)
{
    tf_train_report_t r;
    size_t bytes;
    /* The training calls checked the report on entry. */
    if (report == NULL ||
        tf__results_size(report, &tf__train_report_layout, "", &bytes) != TF_STATUS_OK)
        return;
    memset(&r, 0, sizeof r);
    r.struct_size = report->struct_size;
    r.version = report->version;
    r.steps = tf_optimizer_num_steps(m->ph.opt);
    r.epochs = m->ph.epoch;
    r.best_epoch = m->ph.best_epoch;
    r.train_loss = m->ph.epoch_loss_n ? m->ph.epoch_loss_sum / (double)m->ph.epoch_loss_n : NAN;
    r.valid_loss = m->ph.last_valid_loss;
    r.valid_metric = m->ph.last_valid_metric;
    r.best_metric = m->ph.best_metric;
    r.seconds = tf__now() - clk->start;
    r.items_per_s = r.seconds > 0 ? clk->items / r.seconds : 0.0;
    memcpy(report, &r, bytes);
}

TF__OPTS_LAYOUT(tf__train_report_layout,
                tf_train_report_t,
                TF_TRAIN_REPORT_VERSION,
                TF__OPTS_END(tf_train_report_t, items_per_s));
TF__OPTS_LAYOUT(tf__metrics_layout,
                tf_metrics_t,
                TF_METRICS_VERSION,
                TF__OPTS_END(tf_metrics_t, macro_f1));

tf_status_t tf__report_check(const tf_train_report_t *report, const char *fn)
{
    size_t bytes;
    return report == NULL ? TF_STATUS_OK
                          : tf__results_size(report, &tf__train_report_layout, fn, &bytes);
}

tf_status_t tf_train_report_init(tf_train_report_t *report, uint32_t version)
{
    tf_train_report_t d;
    memset(&d, 0, sizeof d);
    d.best_epoch = -1;
    d.valid_loss = d.valid_metric = d.best_metric = NAN;
    d.train_loss = NAN;
    return tf__opts_init(report, version, &d, &tf__train_report_layout, __func__);
}

tf_status_t tf_metrics_init(tf_metrics_t *metrics, uint32_t version)
{
    tf_metrics_t d;
    memset(&d, 0, sizeof d);
    return tf__opts_init(metrics, version, &d, &tf__metrics_layout, __func__);
}

tf_status_t tf__guard_loss(tf_model_t *m, double loss, int64_t step, const char *fn)
{
    if (isfinite(loss))
        return TF_STATUS_OK;
    /* The current weights gave a non-finite loss: go back to the ones before the last update. */
    if (m->ph.last_good != NULL)
        tf__model_restore(m, m->ph.last_good);
    tf__model_zero_grad(m);
    return tf__diverged(fn, step, loss, NAN);
}

tf_status_t tf__clip_and_step(tf_model_t *m, double clip, int64_t step, double loss, const char *fn)
{
    double norm;
    /* Without clipping, an infinite bound still measures the norm and never scales. */
    TF_CHECK(tf_optimizer_clip_grad_norm(m->ph.opt, clip > 0.0 ? clip : DBL_MAX, &norm));
    if (!isfinite(norm)) {
        tf__model_zero_grad(m);
        return tf__diverged(fn, step, loss, norm);
    }
    /* Keep the weights that gave a finite loss, in case the update makes them diverge. */
    size_t n = tf__model_param_floats(m);
    if (m->ph.last_good == NULL) {
        m->ph.last_good = tf__alloc(m->ctx, n * sizeof(float));
        if (m->ph.last_good == NULL)
            return TF_STATUS_ENOMEM;
    }
    tf__model_snapshot(m, m->ph.last_good);
    TF_CHECK(tf_optimizer_step(m->ph.opt));
    tf__model_zero_grad(m);
    return TF_STATUS_OK;
}

tf_status_t tf__phase_install_optimizer(tf_model_t *m, tf_optimizer_t *opt)
{
    if (m->ph.pending_opt != NULL) {
        tf_status_t st = tf_optimizer_state_load(opt, m->ph.pending_opt, m->ph.pending_opt_size);
        if (st != TF_STATUS_OK) {
            tf_optimizer_free(opt);
            return st;
        }
        tf__free(m->ctx, m->ph.pending_opt);
        m->ph.pending_opt = NULL;
    }
    m->ph.opt = opt;
    return TF_STATUS_OK;
}
