/* SPDX-License-Identifier: MIT */
/* The demo's loss curves: recorded from the progress callback, written as CSV and SVG. */
#ifndef DEMO_CURVES_H
#define DEMO_CURVES_H

#include <stddef.h>
#include <stdint.h>

enum { DEMO_PHASE_PRETRAIN = 0, DEMO_PHASE_FINETUNE = 1 };
enum { DEMO_RUN_PRETRAINED = 0, DEMO_RUN_SCRATCH = 1 };

typedef struct demo_point {
    int phase, run;
    int seed; /* fine-tuning seed; 0 for the pre-training */
    int64_t step;
    double loss, lr;
} demo_point_t;

typedef struct demo_curves {
    demo_point_t *pts;
    size_t n, cap;
} demo_curves_t;

/* Append a point; returns 0, or -1 when out of memory. */
int demo_curves_add(demo_curves_t *c, int phase, int run, int seed, int64_t step, double loss,
                    double lr);
void demo_curves_free(demo_curves_t *c);

/* `phase,run,seed,step,loss,lr` with a header line (seed empty for the pre-training); returns 0
 * or -1 (errno set). */
int demo_curves_write_csv(const demo_curves_t *c, const char *path);

/* Two panels: the pre-training loss, and the fine-tuning losses of both runs, one line per seed.
 * Returns 0 or -1. */
int demo_curves_write_svg(const demo_curves_t *c, const char *path);

#endif
