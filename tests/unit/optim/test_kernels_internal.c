/* SPDX-License-Identifier: MIT */
/* The vector forms of the Adam kernel (AVX2 when the CPU has it, SSE2, scalar tail) give
 * bit-identical results, so a resumed run never depends on the machine's vector width; a step
 * split into blocks over threads gives the bits of one pass over each parameter. */
#include "tf_test.h"
#include "optim/optim_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN 203 /* not a multiple of 4 or 8: exercises every tail */

static void fill(float *x, int n, double a, double b)
{
    for (int i = 0; i < n; i++)
        x[i] = (float)(a * sin(b * (double)i + 0.3));
}

static void run_case(int decoupled, double wd, int ams)
{
    static float p[2][LEN], g[LEN], m[2][LEN], v[2][LEN], vm[2][LEN];
    fill(g, LEN, 0.7, 1.3);
    for (int k = 0; k < 2; k++) {
        fill(p[k], LEN, 1.0, 0.37);
        memset(m[k], 0, sizeof m[k]);
        memset(v[k], 0, sizeof v[k]);
        memset(vm[k], 0, sizeof vm[k]);
    }
    for (int step = 1; step <= 5; step++) {
        for (int k = 0; k < 2; k++)
            tf__adam_update_isa(p[k], g, m[k], v[k], ams ? vm[k] : NULL, LEN, 0.01, 0.9, 0.999,
                                1e-8, wd, decoupled, step, k);
        fill(g, LEN, 0.5 / step, 0.9 + 0.1 * step);
    }
    assert_memory_equal(p[0], p[1], sizeof p[0]);
    assert_memory_equal(m[0], m[1], sizeof m[0]);
    assert_memory_equal(v[0], v[1], sizeof v[0]);
    assert_memory_equal(vm[0], vm[1], sizeof vm[0]);
}

static void test_adam_forms_bit_identical(void **state)
{
    (void)state;
    for (int decoupled = 0; decoupled < 2; decoupled++)
        for (int ams = 0; ams < 2; ams++) {
            run_case(decoupled, 0.0, ams);
            run_case(decoupled, 0.05, ams);
        }
}

/* Sizes over several update blocks (2^15 elements), with tails, a frozen parameter among them
 * and one of a single element. */
#define NP 4
static const int64_t sizes[NP] = {3 * 32768 + 11, 77, 40000, 1};

static void run_threaded(int32_t algorithm, double wd, int ams, double momentum)
{
    tf_ctx_t *ctx;
    tf_ctx_opts_t co;
    assert_ok(tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION));
    co.num_threads = 2;
    assert_ok(tf_ctx_create(&ctx, &co));
    tf_optimizer_opts_t o;
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION));
    o.algorithm = algorithm;
    o.lr = 0.01;
    o.weight_decay = wd;
    o.amsgrad = ams;
    o.momentum = momentum;
    assert_ok(tf_optimizer_create(&opt, ctx, &o));
    tf_tensor_t *p[NP], *g[NP];
    float *ref[NP], *st[NP];
    char name[8];
    for (int k = 0; k < NP; k++) {
        assert_ok(tf_tensor_create(&p[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        assert_ok(tf_tensor_create(&g[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        fill(tf_tensor_data(p[k]), (int)sizes[k], 1.0, 0.37 + k);
        ref[k] = malloc((size_t)sizes[k] * sizeof(float));
        st[k] = calloc((size_t)sizes[k] * 3, sizeof(float));
        assert_non_null(ref[k]);
        assert_non_null(st[k]);
        memcpy(ref[k], tf_tensor_data(p[k]), (size_t)sizes[k] * sizeof(float));
        snprintf(name, sizeof name, "p%d", k);
        assert_ok(tf_optimizer_add_param(opt, name, p[k], g[k]));
    }
    assert_ok(tf_tensor_set_requires_grad(p[1], 0));
    for (int step = 1; step <= 3; step++) {
        for (int k = 0; k < NP; k++) {
            const int64_t n = sizes[k];
            float *gk = tf_tensor_data(g[k]);
            fill(gk, (int)n, 0.5 / step, 0.9 + 0.1 * step + k);
            if (k == 1)
                continue;
            if (algorithm == TF_OPTIMIZER_SGD)
                tf__sgd_update(ref[k], gk, st[k], n, o.lr, momentum, 0.0, wd, 0, step == 1);
            else
                tf__adam_update(ref[k], gk, st[k], st[k] + n, ams ? st[k] + 2 * n : NULL, n, o.lr, o.beta1,
                                o.beta2, o.eps, wd, algorithm == TF_OPTIMIZER_ADAMW, step);
        }
        assert_ok(tf_optimizer_step(opt));
        for (int k = 0; k < NP; k++)
            assert_memory_equal(tf_tensor_data(p[k]), ref[k], (size_t)sizes[k] * sizeof(float));
    }
    for (int k = 0; k < NP; k++) {
        free(ref[k]);
        free(st[k]);
        tf_tensor_free(p[k]);
        tf_tensor_free(g[k]);
    }
    tf_optimizer_free(opt);
    tf_ctx_free(ctx);
}

static void test_threaded_step_matches_one_pass(void **state)
{
    (void)state;
    run_threaded(TF_OPTIMIZER_ADAM, 0.0, 0, 0.0);
    run_threaded(TF_OPTIMIZER_ADAM, 0.05, 1, 0.0);
    run_threaded(TF_OPTIMIZER_ADAMW, 0.05, 0, 0.0);
    run_threaded(TF_OPTIMIZER_SGD, 0.05, 0, 0.9);
    run_threaded(TF_OPTIMIZER_SGD, 0.0, 0, 0.0);
}

/* The norm over blocks on two threads: the same bits as on one, close to one double sum, the
 * frozen gradient left out and untouched, the others scaled by max / (norm + 1e-6). */
static double clip_run(int32_t threads, float *out[NP], double *norm)
{
    tf_ctx_t *ctx;
    tf_ctx_opts_t co;
    assert_ok(tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION));
    co.num_threads = threads;
    assert_ok(tf_ctx_create(&ctx, &co));
    tf_optimizer_t *opt;
    assert_ok(tf_optimizer_create(&opt, ctx, NULL));
    tf_tensor_t *p[NP], *g[NP];
    char name[8];
    double want = 0.0;
    for (int k = 0; k < NP; k++) {
        assert_ok(tf_tensor_create(&p[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        assert_ok(tf_tensor_create(&g[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        float *gk = tf_tensor_data(g[k]);
        fill(gk, (int)sizes[k], 0.3, 0.7 + k);
        for (int64_t i = 0; k != 1 && i < sizes[k]; i++)
            want += (double)gk[i] * gk[i];
        snprintf(name, sizeof name, "p%d", k);
        assert_ok(tf_optimizer_add_param(opt, name, p[k], g[k]));
    }
    assert_ok(tf_tensor_set_requires_grad(p[1], 0));
    assert_ok(tf_optimizer_clip_grad_norm(opt, 1.0, norm));
    for (int k = 0; k < NP; k++) {
        out[k] = malloc((size_t)sizes[k] * sizeof(float));
        assert_non_null(out[k]);
        memcpy(out[k], tf_tensor_data(g[k]), (size_t)sizes[k] * sizeof(float));
        tf_tensor_free(p[k]);
        tf_tensor_free(g[k]);
    }
    tf_optimizer_free(opt);
    tf_ctx_free(ctx);
    return sqrt(want);
}

static void test_threaded_clip_matches_one_sum(void **state)
{
    (void)state;
    float *one[NP], *two[NP];
    double n1, n2;
    const double want = clip_run(1, one, &n1);
    assert_true(clip_run(2, two, &n2) == want);
    assert_true(n1 == n2);
    assert_true(fabs(n2 - want) <= 1e-12 * want);
    assert_true(want > 10.0); /* so the gradients were scaled */
    const float coef = (float)(1.0 / (n2 + 1e-6));
    for (int k = 0; k < NP; k++) {
        float *g = malloc((size_t)sizes[k] * sizeof(float));
        assert_non_null(g);
        fill(g, (int)sizes[k], 0.3, 0.7 + k);
        for (int64_t i = 0; k != 1 && i < sizes[k]; i++)
            g[i] *= coef;
        assert_memory_equal(two[k], g, (size_t)sizes[k] * sizeof(float));
        assert_memory_equal(one[k], g, (size_t)sizes[k] * sizeof(float));
        free(g);
        free(one[k]);
        free(two[k]);
    }
}

static void test_sumsq_matches_double_loop(void **state)
{
    (void)state;
    float x[LEN];
    fill(x, LEN, 3.0, 0.11);
    double want = 0.0;
    for (int i = 0; i < LEN; i++)
        want += (double)x[i] * x[i];
    assert_true(fabs(tf__sumsq_f32(x, LEN) - want) <= 1e-12 * want);
    assert_true(tf__sumsq_f32(x, 0) == 0.0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_forms_bit_identical),
        cmocka_unit_test(test_sumsq_matches_double_loop),
        cmocka_unit_test(test_threaded_step_matches_one_pass),
        cmocka_unit_test(test_threaded_clip_matches_one_sum),
    };
    return TF_TEST_RUN(tests);
}
