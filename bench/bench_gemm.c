/* SPDX-License-Identifier: MIT */
/* The GEMMs tf__sgemm runs over all steps of an LSTM layer and over the LM head's vocabulary, on
 * the BLAS and on oneDNN's sgemm (lib/tensor/gemm_dnnl.h), one and two threads, alternated round
 * by round so a busy machine slows both alike.
 *
 * Usage: bench_gemm [--rounds R] [--threads 1|2|0 (both)] [--cpu] [--gemm TA,TB,M,N,K ...]
 * --cpu: time by the process's CPU time divided by the threads (a rate per busy core, steadier
 * than wall time on a machine other work shares).
 * Without --gemm: for each layer shape (I,H,T,B) the input projection x W_ih^T (NT: T*B, 4H, I),
 * dX = dG W_ih (NN: T*B, I, 4H), dW_ih = dG^T X (TN: 4H, I, T*B) and dW_hh = dG^T H (TN: 4H, H, T*B),
 * then the seed LM head's chunk of 419 rows: logits (NT: 419, 10000, 200), input gradient (NN: 419,
 * 200, 10000), weight gradient (TN: 10000, 200, 419). One line per GEMM and thread count:
 *   name form M N K threads blas_gflops dnnl_gflops ratio auto
 * (the best round of each; ratio = dnnl / blas; auto: the backend tf__sgemm picks for it). */
#include "tensor/blas.h"
#include "tensor/gemm_dnnl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cpu_time;

static double now(void)
{
    struct timespec ts;
    clock_gettime(cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct gemm {
    char name[32];
    int ta, tb;
    int64_t m, n, k;
} gemm_t;

/* Seconds of one product on `threads` threads with the backend forced. */
static double run(const gemm_t *g, int threads, int backend, const float *a, const float *b, float *c)
{
    const int64_t lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
    tf__sgemm_force(backend);
    const double t0 = now();
    tf__sgemm(threads, g->ta, g->tb, g->m, g->n, g->k, 1.0f, a, lda, b, ldb, 1.0f, c, g->n);
    return (now() - t0) / (cpu_time ? threads : 1);
}

static void measure(const gemm_t *g, int threads, int rounds)
{
    const size_t asz = (size_t)(g->m * g->k), bsz = (size_t)(g->k * g->n), csz = (size_t)(g->m * g->n);
    float *a = malloc(asz * sizeof(float)), *b = malloc(bsz * sizeof(float)), *c = malloc(csz * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < asz; i++)
        a[i] = (float)(i % 13) * 0.01f - 0.06f;
    for (size_t i = 0; i < bsz; i++)
        b[i] = (float)(i % 7) * 0.01f - 0.03f;
    memset(c, 0, csz * sizeof(float));
    const double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    /* Enough products per round for about 0.1 s at 100 GFLOP/s, at least 2. */
    int reps = (int)(1e10 / flops);
    reps = reps < 2 ? 2 : reps;
    double best[2] = {1e30, 1e30};
    run(g, threads, TF__GEMM_BLAS, a, b, c); /* warm-up: pages, kernels dispatched */
    run(g, threads, TF__GEMM_DNNL, a, b, c);
    for (int r = 0; r < rounds; r++)
        for (int which = 0; which < 2; which++) {
            double t = 0.0;
            for (int i = 0; i < reps; i++)
                t += run(g, threads, which ? TF__GEMM_DNNL : TF__GEMM_BLAS, a, b, c);
            t /= reps;
            best[which] = t < best[which] ? t : best[which];
        }
    tf__sgemm_force(TF__GEMM_AUTO);
    const char *forms[4] = {"NN", "NT", "TN", "TT"};
    printf("%-16s %s %6lld %6lld %6lld %d %7.1f %7.1f %6.3f %s\n", g->name, forms[g->ta * 2 + g->tb],
           (long long)g->m, (long long)g->n, (long long)g->k, threads, flops / best[0] * 1e-9,
           flops / best[1] * 1e-9, best[0] / best[1],
           tf__dnnl_available() && tf__sgemm_dnnl_pays(g->ta, g->tb, g->m, g->n, g->k) ? "dnnl" : "blas");
    fflush(stdout);
    free(a);
    free(b);
    free(c);
}

int main(int argc, char **argv)
{
    int rounds = 5, threads = 0;
    gemm_t list[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cpu") == 0)
            cpu_time = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gemm") == 0 && i + 1 < argc && n < 64) {
            gemm_t g = {"custom", 0, 0, 0, 0, 0};
            long long m, nn, k;
            if (sscanf(argv[++i], "%d,%d,%lld,%lld,%lld", &g.ta, &g.tb, &m, &nn, &k) != 5 || m < 1 || nn < 1 ||
                k < 1) {
                fprintf(stderr, "bench_gemm: --gemm wants TA,TB,M,N,K\n");
                return 2;
            }
            g.m = m, g.n = nn, g.k = k;
            list[n++] = g;
        } else {
            fprintf(stderr, "usage: bench_gemm [--rounds R] [--threads 1|2|0] [--cpu] [--gemm TA,TB,M,N,K ...]\n");
            return 2;
        }
    }
    if (rounds < 1 || threads < 0) {
        fprintf(stderr, "bench_gemm: --rounds >= 1, --threads >= 0\n");
        return 2;
    }
    if (n == 0) {
        static const int shapes[][4] = {{100, 200, 64, 32},  {256, 512, 64, 32},  {512, 512, 64, 64},
                                        {1024, 1024, 64, 64}, {256, 256, 35, 20}, {300, 600, 50, 48}};
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t I = shapes[s][0], H = shapes[s][1], TB = (int64_t)shapes[s][2] * shapes[s][3];
            const gemm_t g[4] = {{"", 0, 1, TB, 4 * H, I}, {"", 0, 0, TB, I, 4 * H}, {"", 1, 0, 4 * H, I, TB},
                                 {"", 1, 0, 4 * H, H, TB}};
            const char *what[4] = {"xW", "dX", "dWih", "dWhh"};
            for (int j = 0; j < 4; j++) {
                list[n] = g[j];
                snprintf(list[n].name, sizeof list[n].name, "%s:%d,%d", what[j], shapes[s][0], shapes[s][1]);
                n++;
            }
        }
        const gemm_t head[3] = {{"lm:logits", 0, 1, 419, 10000, 200},
                                {"lm:dX", 0, 0, 419, 200, 10000},
                                {"lm:dW", 1, 0, 10000, 200, 419}};
        for (int j = 0; j < 3; j++)
            list[n++] = head[j];
    }
    printf("# oneDNN %s\n", tf__dnnl_available() ? "available" : "not available");
    printf("# name            form     M      N      K thr blas_GF dnnl_GF  ratio auto\n");
    for (int i = 0; i < n; i++)
        for (int t = 1; t <= 2; t++)
            if (threads == 0 || threads == t)
                measure(&list[i], t, rounds);
    return 0;
}
