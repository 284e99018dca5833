/* SPDX-License-Identifier: MIT */
/* The products of a prediction step on int8 weights (lib/predict/gemm_i8.h) against the f32 step
 * kernel the predictor runs otherwise (lib/nn/step_gemm.h, weights packed once), one thread, for
 * each row count M: C (M x N) += A (M x K) W^T. Defaults: the recurrent product of the bench_predict
 * classifier (K = 200, N = 800); the input projection is K = 100.
 *
 * Usage: bench_gemm_i8 [K] [N] [M,...] [version]   (version: gemm_i8.h's TF__I8_*, 0 = the CPU's)
 * Prints one line per M: microseconds per product of the f32 kernel, the mixed int8 kernel, the
 * dequantised int8 panels and the integer products (plain C without VNNI; the fastest of five
 * rounds each). */
#include "predict/gemm_i8.h"
#include "nn/step_gemm.h"
#include "tensor/quant.h"

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

enum { F32, MIXED, PANELS, INT };

/* Microseconds per product, the best of five rounds of `reps`. */
static double time_it(int how, int64_t M, int64_t N, int64_t K, const float *A, const float *Pf, const int8_t *P,
                      const float *ps, float *C, float *work, int reps)
{
    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, M, N, K, K, N, 1);
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        const double t0 = now();
        for (int r = 0; r < reps; r++) {
            if (how == F32)
                tf__step_gemm_run(&g, A, Pf, 0, N, C);
            else if (how == MIXED)
                tf__i8_gemm_mixed(M, N, K, A, K, P, ps, 1, C, N);
            else if (how == PANELS)
                tf__i8_gemm_panels(M, N, K, A, K, P, ps, 1, C, N, work);
            else
                tf__i8_gemm_int(M, N, K, A, K, P, ps, 1, C, N, work);
        }
        const double t = (now() - t0) / reps * 1e6;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    const int64_t K = argc > 1 ? atoll(argv[1]) : 200, N = argc > 2 ? atoll(argv[2]) : 800;
    int64_t Ms[16] = {1, 2, 3, 4, 6, 8, 16, 32, 64}, nm = 9;
    if (argc > 3) {
        nm = 0;
        for (const char *s = argv[3]; s && *s && nm < 16; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
            Ms[nm++] = atoll(s);
    }
    if (K < 1 || N < 1)
        return 1;
    if (argc > 4 && tf__i8_force(atoi(argv[4])) != 0) {
        fprintf(stderr, "bench_gemm_i8: this CPU cannot run version %s\n", argv[4]);
        return 1;
    }
    int64_t Mmax = 1;
    for (int64_t i = 0; i < nm; i++)
        Mmax = Ms[i] > Mmax ? Ms[i] : Mmax;
    float *w = malloc(sizeof(float) * (size_t)(N * K)), *wd = malloc(sizeof(float) * (size_t)(N * K));
    int8_t *q = malloc((size_t)(N * K)), *P = malloc(tf__i8_packed_bytes(N, K));
    float *scale = malloc(sizeof(float) * (size_t)N), *ps = malloc(sizeof(float) * tf__i8_scale_floats(N));
    float *Pf = malloc(sizeof(float) * tf__step_gemm_packed_floats_max(K, N));
    float *A = malloc(sizeof(float) * (size_t)(Mmax * K)), *C = calloc((size_t)(Mmax * N), sizeof(float));
    float *work = malloc(sizeof(float) * tf__i8_work_floats(K));
    if (!w || !wd || !q || !P || !scale || !ps || !Pf || !A || !C || !work)
        return 1;
    uint32_t s = 1;
    for (int64_t i = 0; i < N * K; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (int64_t i = 0; i < Mmax * K; i++)
        A[i] = 0.01f * (float)(i % 7);
    tf__quantize_rows_i8(w, N, K, q, scale);
    tf__dequantize_rows_i8(q, scale, N, K, wd);
    tf__i8_pack(N, K, q, scale, P, ps);
    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, 1, N, K, K, N, 1);
    tf__step_gemm_pack(&g, Pf, wd, 1);
    printf("K=%lld N=%lld: f32 weights %zu bytes, int8 %zu bytes\n", (long long)K, (long long)N,
           tf__step_gemm_packed_floats(&g) * sizeof(float), tf__i8_packed_bytes(N, K) + N * sizeof(float));
    for (int64_t i = 0; i < nm; i++) {
        const int64_t M = Ms[i];
        const int reps = (int)(20000 / M / (K * N / 20000 + 1)) + 1;
        const double f = time_it(F32, M, N, K, A, Pf, P, ps, C, work, reps);
        const double mx = time_it(MIXED, M, N, K, A, Pf, P, ps, C, work, reps);
        const double pn = time_it(PANELS, M, N, K, A, Pf, P, ps, C, work, reps);
        const double in = time_it(INT, M, N, K, A, Pf, P, ps, C, work, reps);
        printf("M=%-5lld f32_us=%.2f mixed_us=%.2f panels_us=%.2f int_us=%.2f\n", (long long)M, f, mx, pn, in);
    }
    free(w);
    free(wd);
    free(q);
    free(P);
    free(scale);
    free(ps);
    free(Pf);
    free(A);
    free(C);
    free(work);
    return 0;
}
