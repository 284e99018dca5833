/* SPDX-License-Identifier: MIT */
/* Prediction time of several classifiers on the same texts, measured in turns (model 1, model 2,
 * ..., then again) so that a busy machine slows every model alike; for comparing a distilled
 * student with its teacher.
 *
 *   bench_models [--threads N] [--batch B] [--rounds R] TEXTS MODEL...
 *
 * TEXTS: one text per line, or `label<TAB>text` lines (the text is used). Each model is loaded
 * as a predictor (tf_predictor_load); a round predicts every text once per model, in batches of
 * up to B (1: one text per call). Prints, per model, the median over the rounds:
 *   model=PATH params=N batch=B texts_s=X seconds=X ratio=X
 * where ratio is the model's median time over the first model's. */
#include "transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_models: %s: %s\n", what, tf_last_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    int threads = 1, batch = 64, rounds = 5, a = 1;
    for (; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
        if (strcmp(argv[a], "--threads") == 0)
            threads = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--batch") == 0)
            batch = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--rounds") == 0)
            rounds = atoi(argv[a + 1]);
        else
            break;
    }
    if (argc - a < 2 || batch < 1 || rounds < 1 || threads < 0) {
        fprintf(stderr, "usage: bench_models [--threads N] [--batch B] [--rounds R] TEXTS MODEL...\n");
        return 2;
    }
    FILE *f = fopen(argv[a], "rb");
    if (f == NULL) {
        perror(argv[a]);
        return 1;
    }
    size_t n = 0, cap = 0;
    char **texts = NULL, line[1 << 16];
    while (fgets(line, sizeof line, f) != NULL) {
        char *t = strchr(line, '\t');
        t = t != NULL ? t + 1 : line;
        t[strcspn(t, "\r\n")] = '\0';
        if (*t == '\0')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            texts = realloc(texts, cap * sizeof *texts);
        }
        texts[n++] = strdup(t);
    }
    fclose(f);
    int nm = argc - a - 1;
    tf_ctx_opts_t co;
    tf_ctx_t *ctx;
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = threads;
    if (tf_ctx_create(&ctx, &co) != TF_STATUS_OK)
        return fail("context");
    tf_predictor_t **p = calloc((size_t)nm, sizeof *p);
    int64_t *params = calloc((size_t)nm, sizeof *params);
    double *t = calloc((size_t)(nm * rounds), sizeof *t);
    tf_predictor_opts_t po;
    tf_predictor_opts_init(&po, TF_PREDICTOR_OPTS_VERSION);
    po.max_batch = batch;
    for (int m = 0; m < nm; m++) {
        tf_model_t *model;
        if (tf_model_load(&model, ctx, argv[a + 1 + m], 0) != TF_STATUS_OK)
            return fail(argv[a + 1 + m]);
        params[m] = tf_model_num_params(model);
        tf_model_free(model);
        if (tf_predictor_load(&p[m], ctx, argv[a + 1 + m], &po) != TF_STATUS_OK)
            return fail(argv[a + 1 + m]);
    }
    float *probs = malloc(n * 64 * sizeof *probs);
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < nm; m++) {
            size_t C = (size_t)tf_predictor_num_classes(p[m]), step = (size_t)batch;
            double t0 = now();
            for (size_t i = 0; i < n; i += step) {
                size_t k = n - i < step ? n - i : step;
                if (tf_predict_texts(p[m], (const char *const *)texts + i, NULL, k, probs + i * C,
                                     (n - i) * C) != TF_STATUS_OK)
                    return fail(argv[a + 1 + m]);
            }
            t[m * rounds + r] = now() - t0;
        }
    double first = 0;
    for (int m = 0; m < nm; m++) {
        qsort(t + m * rounds, (size_t)rounds, sizeof *t, cmp_double);
        double med = t[m * rounds + rounds / 2];
        if (m == 0)
            first = med;
        printf("model=%s params=%lld batch=%d texts_s=%.1f seconds=%.3f ratio=%.3f\n",
               argv[a + 1 + m], (long long)params[m], batch, (double)n / med, med, med / first);
        tf_predictor_free(p[m]);
    }
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(probs);
    free(t);
    free(params);
    free(p);
    tf_ctx_free(ctx);
    return 0;
}
