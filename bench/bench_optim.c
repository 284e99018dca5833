/* SPDX-License-Identifier: MIT */
/* AdamW step over 10M parameters against memcpy bandwidth, measured in the same run.
 *
 *   bench_optim [params_millions] [reps]
 *
 * adamw_gb_s counts 28 bytes per parameter and step (read p, g, m, v; write p, m, v).
 * memcpy_gb_s copies a buffer of 16 bytes per parameter (the size of p, g, m and v together) and
 * counts it twice (read + write). Each figure is the best of `reps` runs. */
#include "transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what, tf_status_t st)
{
    fprintf(stderr, "%s: %s: %s\n", what, tf_status_str(st), tf_last_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    double millions = argc > 1 ? atof(argv[1]) : 10.0;
    int reps = argc > 2 ? atoi(argv[2]) : 10;
    if (millions <= 0 || reps < 1) {
        fprintf(stderr, "usage: bench_optim [params_millions>0] [reps>=1]\n");
        return 2;
    }
    const int64_t n = (int64_t)(millions * 1e6);
    tf_ctx_t *ctx;
    tf_tensor_t *p, *g;
    tf_optimizer_t *opt;
    tf_optimizer_opts_t o;
    tf_status_t st;
    if ((st = tf_ctx_create(&ctx, NULL)) != TF_STATUS_OK)
        return fail("tf_ctx_create", st);
    if ((st = tf_tensor_create(&p, ctx, TF_DTYPE_F32, &n, 1)) != TF_STATUS_OK ||
        (st = tf_tensor_create(&g, ctx, TF_DTYPE_F32, &n, 1)) != TF_STATUS_OK)
        return fail("tf_tensor_create", st);
    float *pd = tf_tensor_data(p), *gd = tf_tensor_data(g);
    for (int64_t i = 0; i < n; i++) {
        pd[i] = (float)(i % 1000) * 1e-3f;
        gd[i] = (float)((i * 7) % 1000) * 1e-4f - 0.05f;
    }
    tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION);
    o.algorithm = TF_OPTIMIZER_ADAMW;
    o.lr = 1e-3;
    o.weight_decay = 0.01;
    if ((st = tf_optimizer_create(&opt, ctx, &o)) != TF_STATUS_OK)
        return fail("tf_optimizer_create", st);
    if ((st = tf_optimizer_add_param(opt, "w", p, g)) != TF_STATUS_OK)
        return fail("tf_optimizer_add_param", st);

    size_t copy_bytes = (size_t)n * 16u;
    unsigned char *src = malloc(copy_bytes), *dst = malloc(copy_bytes);
    if (src == NULL || dst == NULL) {
        fprintf(stderr, "out of memory for the memcpy buffers\n");
        return 1;
    }
    memset(src, 1, copy_bytes);
    memset(dst, 0, copy_bytes);
    tf_optimizer_step(opt); /* touch the moments once */

    /* Interleaved, so both figures see the same machine load. */
    double best_adamw = 1e30, best_copy = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        st = tf_optimizer_step(opt);
        double t = now_s() - t0;
        if (st != TF_STATUS_OK)
            return fail("tf_optimizer_step", st);
        if (t < best_adamw)
            best_adamw = t;
        t0 = now_s();
        memcpy(dst, src, copy_bytes);
        t = now_s() - t0;
        if (t < best_copy)
            best_copy = t;
        src[(size_t)r % copy_bytes] ^= dst[((size_t)r * 31u) % copy_bytes]; /* keep it observable */
    }

    double adamw_gb_s = 28.0 * (double)n / best_adamw / 1e9;
    double memcpy_gb_s = 2.0 * (double)copy_bytes / best_copy / 1e9;
    printf("params=%lld reps=%d adamw_step_ms=%.3f adamw_gb_s=%.2f memcpy_gb_s=%.2f ratio=%.2f\n",
           (long long)n, reps, best_adamw * 1e3, adamw_gb_s, memcpy_gb_s, adamw_gb_s / memcpy_gb_s);
    free(src);
    free(dst);
    tf_optimizer_free(opt);
    tf_tensor_free(p);
    tf_tensor_free(g);
    tf_ctx_free(ctx);
    return 0;
}
