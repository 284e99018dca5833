/* SPDX-License-Identifier: MIT */
/* Learning-rate schedules: a multiplier of the base rate as a function of the 0-based step. */
#include "transfer/optim.h"
#include "optim_internal.h"

#include <math.h>

#define TF__PI 3.14159265358979323846

static int finite_in(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

tf_status_t tf__optim_schedule_check(const char *fn, const tf_optimizer_opts_t *o)
{
    switch (o->schedule) {
    case TF_OPTIMIZER_SCHED_CONSTANT:
        return TF_STATUS_OK;
    case TF_OPTIMIZER_SCHED_WARMUP_COSINE:
    case TF_OPTIMIZER_SCHED_WARMUP_LINEAR:
    case TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR:
    case TF_OPTIMIZER_SCHED_ONE_CYCLE:
        break;
    default:
        TF_FAIL(TF_STATUS_EINVAL, "%s: schedule %d is not a tf_optimizer_schedule_t", fn,
                o->schedule);
    }
    if (o->total_steps < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: total_steps is %lld; schedule %d needs at least 1", fn,
                (long long)o->total_steps, o->schedule);
    if (o->schedule == TF_OPTIMIZER_SCHED_WARMUP_COSINE ||
        o->schedule == TF_OPTIMIZER_SCHED_WARMUP_LINEAR) {
        if (o->warmup_steps < 0 || o->warmup_steps > o->total_steps)
            TF_FAIL(TF_STATUS_EINVAL, "%s: warmup_steps %lld is outside 0..total_steps (%lld)", fn,
                    (long long)o->warmup_steps, (long long)o->total_steps);
        if (!finite_in(o->min_lr_ratio, 0.0, 1.0))
            TF_FAIL(TF_STATUS_EINVAL, "%s: min_lr_ratio %g is outside [0, 1]", fn, o->min_lr_ratio);
    } else if (o->schedule == TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR) {
        if (!finite_in(o->cut_frac, 0.0, 1.0) || o->cut_frac == 0.0 || o->cut_frac == 1.0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: cut_frac %g is outside (0, 1)", fn, o->cut_frac);
        if (!finite_in(o->ratio, 1.0, HUGE_VAL))
            TF_FAIL(TF_STATUS_EINVAL, "%s: ratio %g must be finite and >= 1", fn, o->ratio);
        if ((double)o->total_steps * o->cut_frac < 1.0)
            TF_FAIL(TF_STATUS_EINVAL,
                    "%s: total_steps %lld * cut_frac %g is below 1 step of rising rate", fn,
                    (long long)o->total_steps, o->cut_frac);
    } else {
        if (!finite_in(o->pct_start, 0.0, 1.0) || o->pct_start == 0.0 || o->pct_start == 1.0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: pct_start %g is outside (0, 1)", fn, o->pct_start);
        if (!finite_in(o->div_factor, 0.0, HUGE_VAL) || o->div_factor == 0.0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: div_factor %g must be finite and > 0", fn,
                    o->div_factor);
        if (!finite_in(o->final_div_factor, 0.0, HUGE_VAL) || o->final_div_factor == 0.0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: final_div_factor %g must be finite and > 0", fn,
                    o->final_div_factor);
        /* torch: both phase ends must be distinct steps. */
        double end1 = o->pct_start * (double)o->total_steps - 1.0;
        if (end1 <= 0.0 || end1 >= (double)o->total_steps - 1.0)
            TF_FAIL(TF_STATUS_EINVAL,
                    "%s: pct_start %g with total_steps %lld leaves an empty one-cycle phase", fn,
                    o->pct_start, (long long)o->total_steps);
    }
    return TF_STATUS_OK;
}

/* torch.optim.lr_scheduler.OneCycleLR._annealing_cos */
static double anneal_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(TF__PI * pct) + 1.0);
}

double tf__optim_schedule_mult(const tf_optimizer_opts_t *o, int64_t t)
{
    const double T = (double)o->total_steps, s = (double)t;
    switch (o->schedule) {
    case TF_OPTIMIZER_SCHED_WARMUP_COSINE:
    case TF_OPTIMIZER_SCHED_WARMUP_LINEAR: {
        const double W = (double)o->warmup_steps, floor_ = o->min_lr_ratio;
        if (t < o->warmup_steps)
            return s / W;
        double p = o->total_steps > o->warmup_steps ? (s - W) / (T - W) : 1.0;
        if (p > 1.0)
            p = 1.0;
        if (o->schedule == TF_OPTIMIZER_SCHED_WARMUP_COSINE)
            return floor_ + (1.0 - floor_) * 0.5 * (1.0 + cos(TF__PI * p));
        return floor_ + (1.0 - floor_) * (1.0 - p);
    }
    case TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR: {
        const double cut = floor(T * o->cut_frac);
        double p = s < cut ? s / cut : 1.0 - (s - cut) / (cut * (1.0 / o->cut_frac - 1.0));
        if (p < 0.0)
            p = 0.0;
        return (1.0 + p * (o->ratio - 1.0)) / o->ratio;
    }
    case TF_OPTIMIZER_SCHED_ONE_CYCLE: {
        const double initial = 1.0 / o->div_factor;
        const double min_ = initial / o->final_div_factor;
        const double end1 = o->pct_start * T - 1.0, end2 = T - 1.0;
        if (s <= end1)
            return anneal_cos(initial, 1.0, s / end1);
        double pct = (s - end1) / (end2 - end1);
        if (pct > 1.0)
            pct = 1.0;
        return anneal_cos(1.0, min_, pct);
    }
    default:
        return 1.0;
    }
}
