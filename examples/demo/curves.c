/* SPDX-License-Identifier: MIT */
/* The demo's loss curves as CSV and as a hand-written SVG plot (two panels, axes, legend). */
#include "curves.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const phase_names[] = {"pretrain", "finetune"};
static const char *const run_names[] = {"pretrained", "scratch"};

int demo_curves_add(demo_curves_t *c, int phase, int run, int seed, int64_t step, double loss,
                    double lr)
{
    demo_point_t *p;
    if (!isfinite(loss))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        demo_point_t *pts = (demo_point_t *)realloc(c->pts, cap * sizeof *pts);
        if (pts == NULL)
            return -1;
        c->pts = pts;
        c->cap = cap;
    }
    p = &c->pts[c->n++];
    p->phase = phase;
    p->run = run;
    p->seed = seed;
    p->step = step;
    p->loss = loss;
    p->lr = lr;
    return 0;
}

void demo_curves_free(demo_curves_t *c)
{
    free(c->pts);
    c->pts = NULL;
    c->n = c->cap = 0;
}

int demo_curves_write_csv(const demo_curves_t *c, const char *path)
{
    size_t i;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "phase,run,seed,step,loss,lr\n");
    for (i = 0; i < c->n; i++) {
        const demo_point_t *p = &c->pts[i];
        char seed[16] = "";
        if (p->seed > 0)
            snprintf(seed, sizeof seed, "%d", p->seed);
        fprintf(f, "%s,%s,%s,%lld,%.6f,%.6g\n", phase_names[p->phase], run_names[p->run], seed,
                (long long)p->step, p->loss, p->lr);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- SVG ------------------------------------------------------------------------------------ */

typedef struct panel {
    double x, y, w, h;           /* plot area in pixels */
    double x0, x1, y0, y1;       /* data range */
    double xstep, ystep;         /* tick spacing */
} panel_t;

/* A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about `n` ticks over `range`. */
static double nice_step(double range, int n)
{
    double raw = range / n, mag, f;
    if (!(raw > 0))
        return 1.0;
    mag = pow(10.0, floor(log10(raw)));
    f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static double px(const panel_t *p, double v)
{
    return p->x + (v - p->x0) / (p->x1 - p->x0) * p->w;
}

static double py(const panel_t *p, double v)
{
    return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h;
}

/* Fit the panel's ranges to the points of `phase`. */
static int fit(panel_t *p, const demo_curves_t *c, int phase)
{
    size_t i;
    int any = 0;
    double xmax = 1, ymin = 0, ymax = 0, lo;
    for (i = 0; i < c->n; i++) {
        const demo_point_t *q = &c->pts[i];
        if (q->phase != phase)
            continue;
        if (!any || q->loss < ymin)
            ymin = q->loss;
        if (!any || q->loss > ymax)
            ymax = q->loss;
        if ((double)q->step > xmax)
            xmax = (double)q->step;
        any = 1;
    }
    if (!any)
        ymin = 0, ymax = 1;
    p->xstep = nice_step(xmax, 6);
    p->x0 = 0;
    p->x1 = ceil(xmax / p->xstep) * p->xstep;
    lo = ymin >= 0 && ymin < 0.5 * ymax ? 0 : ymin;
    p->ystep = nice_step(ymax - lo, 6);
    p->y0 = floor(lo / p->ystep) * p->ystep;
    p->y1 = ceil(ymax / p->ystep) * p->ystep;
    if (p->y1 <= p->y0)
        p->y1 = p->y0 + p->ystep;
    return any;
}

static void axes(FILE *f, const panel_t *p, const char *title, const char *ylabel)
{
    double v;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='white' "
               "stroke='#333'/>\n", p->x, p->y, p->w, p->h);
    for (v = p->x0; v <= p->x1 + 1e-9 * p->xstep; v += p->xstep) {
        double x = px(p, v);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e4e4e4'/>\n", x, p->y,
                x, p->y + p->h);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", x,
                p->y + p->h, x, p->y + p->h + 5);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>%g</text>\n", x,
                p->y + p->h + 19, v);
    }
    for (v = p->y0; v <= p->y1 + 1e-9 * p->ystep; v += p->ystep) {
        double y = py(p, v);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e4e4e4'/>\n", p->x, y,
                p->x + p->w, y);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", p->x - 5, y,
                p->x, y);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end'>%g</text>\n", p->x - 8, y + 4,
                fabs(v) < 1e-12 ? 0.0 : v);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle' font-weight='bold' "
               "font-size='15'>%s</text>\n", p->x + p->w / 2, p->y - 12, title);
    fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle'>optimizer step</text>\n",
            p->x + p->w / 2, p->y + p->h + 40);
    fprintf(f, "<text transform='translate(%.1f,%.1f) rotate(-90)' text-anchor='middle'>%s"
               "</text>\n", p->x - 48, p->y + p->h / 2, ylabel);
}

/* The largest seed recorded for a run of a phase (0 when none). */
static int max_seed(const demo_curves_t *c, int phase, int run)
{
    size_t i;
    int m = 0;
    for (i = 0; i < c->n; i++)
        if (c->pts[i].phase == phase && c->pts[i].run == run && c->pts[i].seed > m)
            m = c->pts[i].seed;
    return m;
}

/* One polyline per seed of the run: the first seed solid and drawn last (on top), the others
 * lighter. */
static void line(FILE *f, const panel_t *p, const demo_curves_t *c, int phase, int run,
                 const char *color)
{
    int seed, last = max_seed(c, phase, run);
    for (seed = last; seed >= 0; seed--) {
        size_t i;
        int first = 1;
        for (i = 0; i < c->n; i++) {
            const demo_point_t *q = &c->pts[i];
            if (q->phase != phase || q->run != run || q->seed != seed)
                continue;
            if (first)
                fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%s' "
                           "stroke-opacity='%s' points='", color, seed <= 1 ? "2" : "1.2",
                        seed <= 1 ? "1" : "0.5");
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", px(p, (double)q->step), py(p, q->loss));
            first = 0;
        }
        if (!first)
            fprintf(f, "'/>\n");
    }
}

static void legend(FILE *f, const panel_t *p, int row, const char *color, const char *text)
{
    double x = p->x + p->w - 230, y = p->y + 12 + 22 * row;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='222' height='22' fill='white' opacity='0.85'/>\n",
            x - 4, y - 4);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='3'/>\n",
            x, y + 7, x + 28, y + 7, color);
    fprintf(f, "<text x='%.1f' y='%.1f'>%s</text>\n", x + 36, y + 12, text);
}

int demo_curves_write_svg(const demo_curves_t *c, const char *path)
{
    const char *blue = "#1f77b4", *orange = "#ff7f0e";
    panel_t left = {80, 60, 380, 300, 0, 1, 0, 1, 1, 1};
    panel_t right = {580, 60, 380, 300, 0, 1, 0, 1, 1, 1};
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fit(&left, c, DEMO_PHASE_PRETRAIN);
    fit(&right, c, DEMO_PHASE_FINETUNE);
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
               "<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='450' "
               "viewBox='0 0 1000 450' font-family='sans-serif' font-size='12'>\n"
               "<rect width='1000' height='450' fill='#fafafa'/>\n");
    axes(f, &left, "1. Pre-training: language model", "training loss (cross-entropy, nats)");
    line(f, &left, c, DEMO_PHASE_PRETRAIN, DEMO_RUN_PRETRAINED, blue);
    legend(f, &left, 0, blue, "next-word loss, unlabelled text");
    axes(f, &right, "2. Fine-tuning: spam classifier", "training loss (cross-entropy, nats)");
    line(f, &right, c, DEMO_PHASE_FINETUNE, DEMO_RUN_SCRATCH, orange);
    line(f, &right, c, DEMO_PHASE_FINETUNE, DEMO_RUN_PRETRAINED, blue);
    legend(f, &right, 0, blue, "pre-trained + fine-tuned");
    legend(f, &right, 1, orange, "from scratch");
    legend(f, &right, 2, "#888", "light lines: other seeds");
    fprintf(f, "<text x='500' y='424' text-anchor='middle' fill='#555'>Training loss per "
               "optimizer step (fine-tuning: per batch of labelled e-mails, one line per seed; a "
               "low training loss can be memorisation).</text>\n"
               "<text x='500' y='439' text-anchor='middle' fill='#555'>Held-out accuracy and "
               "macro-F1 of every run are in the table the demo prints.</text>\n");
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}
