/* SPDX-License-Identifier: MIT */
/* The one training loop of every phase: epochs of batches, the divergence guard, gradient
 * clipping, progress, stopping and resuming. A phase brings its own steps (tf__phase_ops_t). */
#include "transfer/train.h"
#include "train_internal.h"
#include "dist.h"

#include <string.h>

tf_status_t tf__train_loop(tf_model_t *m, const tf__loop_t *l, tf_train_report_t *report)
{
    const tf__phase_ops_t *ops = l->ops;
    tf__clock_t clk;
    tf_status_t st = TF_STATUS_OK;
    int64_t done_here = 0;
    tf__clock_start(&clk);
    tf__model_set_training(m, 1);
    tf__model_zero_grad(m);
    for (;;) {
        int64_t step = tf_optimizer_num_steps(m->ph.opt);
        if ((l->stop_at_total && step >= l->total) || (l->epochs > 0 && m->ph.epoch >= l->epochs)) {
            m->ph.finished = 1;
            break;
        }
        if (l->stop_after_steps > 0 && done_here >= l->stop_after_steps)
            break;
        if (ops->before_batch != NULL)
            ops->before_batch(l->self, m);
        tf_batch_t *b;
        tf_status_t got = tf_loader_next(&b, l->train);
        if (got != TF_STATUS_OK && m->dist == NULL)
            TF_CHECK_GOTO(st, got, out);
        if (got == TF_STATUS_OK && b == NULL) { /* end of an epoch (on every rank at once) */
            int stop = 0;
            m->ph.epoch++;
            if (ops->end_epoch != NULL)
                TF_CHECK_GOTO(st, ops->end_epoch(l->self, m, &stop), out);
            TF_CHECK_GOTO(st, tf_loader_reset(l->train), out);
            tf__model_set_training(m, 1);
            if (stop || (l->epochs > 0 && m->ph.epoch >= l->epochs)) {
                m->ph.finished = 1;
                break;
            }
            m->ph.epoch_loss_sum = 0;
            m->ph.epoch_loss_n = 0;
            continue;
        }
        double loss = 0, items = 0, weight = 0;
        if (m->dist == NULL) {
            TF_CHECK_GOTO(st, ops->batch(l->self, m, b, &loss, &items, &weight), out);
        } else {
            /* Every rank takes part in the step's sums, also one whose batch failed or whose
             * shard is empty; the step's agreement then stops all ranks or none. */
            if (got == TF_STATUS_OK && tf_batch_size(b) > 0)
                got = ops->batch(l->self, m, b, &loss, &items, &weight);
            TF_CHECK_GOTO(st, tf__dist_step(m, got, weight, &loss, &items, ops->fn), out);
        }
        TF_CHECK_GOTO(st, tf__guard_loss(m, loss, step, ops->fn), out);
        TF_CHECK_GOTO(st, tf__clip_and_step(m, l->clip, step, loss, ops->fn), out);
        done_here++;
        step++;
        m->ph.epoch_loss_sum += loss;
        m->ph.epoch_loss_n++;
        clk.loss_sum += loss;
        clk.loss_n++;
        clk.items += items;
        if (ops->after_step != NULL)
            TF_CHECK_GOTO(st, ops->after_step(l->self, m, step), out);
        if (step % l->progress_every == 0 || step == l->total)
            TF_CHECK_GOTO(st,
                          tf__report_progress(m, &clk, ops->phase, step,
                                              tf_loader_epoch_fraction(l->train), l->progress,
                                              l->progress_payload),
                          out);
    }
    if (m->ph.finished && ops->finish != NULL)
        st = ops->finish(l->self, m);
out:
    tf__model_set_training(m, 1);
    tf__fill_report(m, report, &clk);
    return st;
}

int tf__phase_enter(tf_model_t *m, int32_t phase, uint64_t fingerprint, int64_t total)
{
    int fresh = m->ph.phase != phase || m->ph.fingerprint != fingerprint || m->ph.finished;
    if (fresh) {
        tf__phase_reset(m);
        m->ph.phase = phase;
        m->ph.fingerprint = fingerprint;
    }
    m->ph.total_steps = total;
    return fresh;
}

tf_status_t
tf__phase_optimizer(tf_model_t *m,
                    const tf_optimizer_opts_t *oo,
                    tf_status_t (*attach)(tf_model_t *m, tf_optimizer_t *opt, const void *arg),
                    const void *arg)
{
    if (m->ph.opt != NULL)
        return TF_STATUS_OK; /* a continued phase keeps its optimizer */
    tf_optimizer_t *opt;
    tf_optimizer_opts_t own = *oo;
    own.max_grad_norm = 0.0; /* the loop clips: it must see the norm before the update */
    TF_CHECK(tf_optimizer_create(&opt, m->ctx, &own));
    tf_status_t st = attach(m, opt, arg);
    if (st != TF_STATUS_OK) {
        tf_optimizer_free(opt);
        return st;
    }
    return tf__phase_install_optimizer(m, opt);
}

tf_status_t tf__resolve_optim(const tf_optimizer_opts_t *given,
                              const tf_optimizer_opts_t *defaults,
                              int64_t total,
                              double clip_norm,
                              tf_optimizer_opts_t *out,
                              const char *what)
{
    *out = *defaults;
    if (given != NULL) {
        /* A nested struct has its own size and version, checked like any options struct. */
        tf_optimizer_opts_init(out, TF_OPTIMIZER_OPTS_VERSION);
        TF_CHECK(tf__opts_read(out, given, &tf__optimizer_opts_layout, what));
    }
    if (out->total_steps == 0)
        out->total_steps = total;
    if (out->max_grad_norm == 0.0)
        out->max_grad_norm = clip_norm;
    return TF_STATUS_OK;
}
