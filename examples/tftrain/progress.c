/* SPDX-License-Identifier: MIT */
/* tftrain: progress on stderr, a bar on a terminal and a table of one row per epoch otherwise. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tt_progress_init(tt_progress_t *p, const char *what, int64_t save_every)
{
    p->what = what;
    p->valid_name = strcmp(what, "pretrain") == 0 ? "valid_ppl" : "valid_metric";
    p->tty = isatty(STDERR_FILENO);
    p->drawn = 0;
    p->last_draw = -1.0;
    p->header = 0;
    p->epoch = -1;
    p->last_step = -1;
    p->loss_sum = 0.0;
    p->loss_n = 0;
    p->epoch_start = tt_now();
    p->save_every = save_every;
    p->save_due = 0;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int64_t tt_progress_every(const tt_progress_t *p, int64_t dflt)
{
    int64_t every = p->tty ? dflt : 1;
    return p->save_every > 0 ? gcd64(every, p->save_every) : every;
}

static void format_eta(char *buf, size_t cap, double s)
{
    long t;
    if (!isfinite(s) || s < 0) {
        snprintf(buf, cap, "--:--");
        return;
    }
    t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* One row of the table: epoch, its mean training loss, the validation after it, its time. */
static void print_row(tt_progress_t *p, double valid)
{
    char t[32];
    if (tt_dist_rank() > 0)
        return; /* rank 0 reports for the job */
    if (!p->header) {
        fprintf(stderr, "%5s  %10s  %12s  %7s\n", "epoch", "train_loss", p->valid_name, "time");
        p->header = 1;
    }
    format_eta(t, sizeof t, tt_now() - p->epoch_start);
    fprintf(stderr, "%5d  %10.4f  %12.4f  %7s\n", (int)p->epoch,
            p->loss_n > 0 ? p->loss_sum / (double)p->loss_n : NAN, valid, t);
    fflush(stderr);
}

/* Off a terminal: add the steps since the previous callback to the running epoch, closing the
 * row of the one before when a new epoch has begun. */
static void table_step(tt_progress_t *p, const tf_progress_t *pr)
{
    int64_t n = p->last_step >= 0 && pr->step > p->last_step ? pr->step - p->last_step : 1;
    if (p->epoch >= 0 && pr->epoch != p->epoch) {
        print_row(p, pr->valid_metric);
        p->loss_sum = 0.0;
        p->loss_n = 0;
        p->epoch_start = tt_now();
    }
    p->epoch = pr->epoch;
    p->last_step = pr->step;
    p->loss_sum += pr->loss * (double)n;
    p->loss_n += n;
}

void tt_progress_finish(tt_progress_t *p, const tf_train_report_t *report)
{
    if (!p->tty && p->loss_n > 0)
        print_row(p, report->valid_metric);
}

/* The bar on the current line of the terminal. */
static void draw_bar(tt_progress_t *p, const tf_progress_t *pr)
{
    if (tt_dist_rank() > 0)
        return;
    const int pretrain = pr->phase == TF_TRAIN_PHASE_PRETRAIN;
    const char *unit = pretrain ? "tok/s" : "seq/s";
    double frac = pr->total_steps > 0 ? (double)pr->step / (double)pr->total_steps : 0.0;
    char eta[32], valid[48] = "", bar[25];
    int i, fill;

    if (frac > 1.0)
        frac = 1.0;
    format_eta(eta, sizeof eta, pr->eta_s);
    if (isfinite(pr->valid_metric))
        snprintf(valid, sizeof valid, " %s %.4g", p->valid_name, pr->valid_metric);
    fill = (int)(frac * 24.0 + 0.5);
    for (i = 0; i < 24; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[24] = '\0';
    fprintf(stderr, "\r%s [%s] %3.0f%% step %lld/%lld ep %d loss %.4f lr %.2e %.0f %s ETA %s%s\033[K",
            p->what, bar, 100.0 * frac, (long long)pr->step, (long long)pr->total_steps, pr->epoch,
            pr->loss, pr->lr, pr->items_per_s, unit, eta, valid);
    fflush(stderr);
    p->drawn = 1;
}

int32_t tt_progress_cb(const tf_progress_t *pr, void *payload)
{
    tt_progress_t *p = (tt_progress_t *)payload;
    if (p->tty) {
        /* Called every step when checkpoints need it: redraw at most ten times a second. */
        double now = tt_now();
        if (!p->drawn || now - p->last_draw >= 0.1 || pr->step >= pr->total_steps) {
            draw_bar(p, pr);
            p->last_draw = now;
        }
    } else {
        table_step(p, pr);
    }
    if (p->save_every > 0 && pr->step % p->save_every == 0)
        p->save_due = 1;
    return tt_interrupted() || p->save_due ? 1 : 0;
}

void tt_progress_done(tt_progress_t *p)
{
    if (p->tty && p->drawn) {
        fputc('\n', stderr);
        p->drawn = 0;
    }
}
