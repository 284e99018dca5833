/* tftrain: progress on stderr, a bar on a terminal and plain periodic lines otherwise. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

/* Plain lines (not a terminal): at most one every this many seconds, plus the first and last. */
#define TT_PLAIN_EVERY_S 5.0

double tt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tt_progress_init(tt_progress_t *p, const char *what)
{
    p->what = what;
    p->tty = isatty(STDERR_FILENO);
    p->last_print = -1.0;
    p->drawn = 0;
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

int32_t tt_progress_cb(const tf_progress_t *pr, void *payload)
{
    tt_progress_t *p = (tt_progress_t *)payload;
    const int pretrain = pr->phase == TF_TRAIN_PHASE_PRETRAIN;
    const char *unit = pretrain ? "tok/s" : "seq/s";
    const char *vname = pretrain ? "valid_ppl" : "valid_metric";
    double frac = pr->total_steps > 0 ? (double)pr->step / (double)pr->total_steps : 0.0;
    char eta[32], valid[48] = "";
    double now = tt_now();

    if (frac > 1.0)
        frac = 1.0;
    format_eta(eta, sizeof eta, pr->eta_s);
    if (isfinite(pr->valid_metric))
        snprintf(valid, sizeof valid, " %s %.4g", vname, pr->valid_metric);
    if (p->tty) {
        char bar[25];
        int i, fill = (int)(frac * 24.0 + 0.5);
        for (i = 0; i < 24; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[24] = '\0';
        fprintf(stderr,
                "\r%s [%s] %3.0f%% step %lld/%lld ep %d loss %.4f lr %.2e %.0f %s ETA %s%s\033[K",
                p->what, bar, 100.0 * frac, (long long)pr->step, (long long)pr->total_steps,
                pr->epoch, pr->loss, pr->lr, pr->items_per_s, unit, eta, valid);
        fflush(stderr);
        p->drawn = 1;
    } else if (p->last_print < 0 || now - p->last_print >= TT_PLAIN_EVERY_S ||
               pr->step >= pr->total_steps) {
        fprintf(stderr,
                "tftrain %s: step %lld/%lld (%.0f%%) epoch %d loss %.4f lr %.3g %s %.0f eta %s%s\n",
                p->what, (long long)pr->step, (long long)pr->total_steps, 100.0 * frac, pr->epoch,
                pr->loss, pr->lr, unit, pr->items_per_s, eta, valid);
        p->last_print = now;
    }
    return tt_interrupted() ? 1 : 0;
}

void tt_progress_done(tt_progress_t *p)
{
    if (p->tty && p->drawn) {
        fputc('\n', stderr);
        p->drawn = 0;
    }
}
