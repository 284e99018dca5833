/* SPDX-License-Identifier: MIT */
/* The GRU cell's kernels (lib/nn/gru.c, reached through the cell table) and its reference
 * (tests/support/ref/gru_ref.c).
 *
 * Independent checks:
 *  - the reference compiled again in double precision has its gradients checked by central finite
 *    differences of L = sum(y * R) + sum(h_n * R2) along random directions of each input;
 *  - the fast path and the float reference against the double reference on shapes that take both
 *    per-step products (packed small batches, sgemm above 64 rows), both directions, lengths,
 *    initial states, no bias and strided rows;
 *  - inference without a cache gives the same outputs; backward accumulates;
 *  - a time loop split over threads gives the bits of one thread (and matches the reference);
 *  - PyTorch's torch.nn.GRU: tests/unit/nn/test_parity.c (fixtures from gen_gru_fixtures.py). */
#include "tf_test.h"
#include "each_kernel.h"
#include "cell_ref.h"
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The reference in double: tf__gru_forward_ref_f64 / tf__gru_backward_ref_f64. */
#define GRU_REF_REAL double
#define GRU_REF_NAME(n) n##_f64
#define GRU_REF_LINKAGE static
#define GRU_REF_EXP exp
#define GRU_REF_TANH tanh
#include "gru_ref.c"

enum { IX, IWIH, IWHH, IBIH, IBHH, IH0, IDY, IDHN, NIN };
enum { OY, OHN, ODX, ODWIH, ODWHH, ODBIH, ODBHH, ODH0, NOUT };
static const char *const out_names[NOUT] = {"y", "h_n", "dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"};

typedef struct gcase {
    int64_t I, H, T, B;
    int reverse, with_lengths, with_state, with_bias, strided;
    uint64_t seed;
} gcase_t;

typedef struct problem {
    gcase_t c;
    tf__cell_shape_t s;
    int64_t ldx, ldy; /* x/dx rows are ldx wide, y/dy rows ldy wide (strided: wider than I, H) */
    int32_t *lengths;
    double *in[NIN];
    size_t n_in[NIN], n_out[NOUT];
} problem_t;

static size_t out_size(const problem_t *p, int k)
{
    const size_t I = (size_t)p->c.I, H = (size_t)p->c.H, T = (size_t)p->c.T, B = (size_t)p->c.B;
    const size_t sizes[NOUT] = {T * B * (size_t)p->ldy, B * H, T * B * (size_t)p->ldx, 3 * H * I,
                                3 * H * H,             3 * H, 3 * H,                B * H};
    return sizes[k];
}

static void problem_init(problem_t *p, gcase_t c)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    p->s = (tf__cell_shape_t){c.I, c.H, c.T, c.B, 1};
    p->ldx = c.strided ? c.I + 3 : c.I;
    p->ldy = c.strided ? 2 * c.H : c.H;
    tf__rng_t rng;
    tf__rng_seed(&rng, c.seed);
    const size_t I = (size_t)c.I, H = (size_t)c.H, T = (size_t)c.T, B = (size_t)c.B;
    const size_t n[NIN] = {T * B * (size_t)p->ldx, 3 * H * I, 3 * H * H, 3 * H, 3 * H, B * H,
                           T * B * (size_t)p->ldy, B * H};
    for (int k = 0; k < NIN; k++) {
        p->n_in[k] = n[k];
        p->in[k] = malloc(n[k] * sizeof(double));
        for (size_t i = 0; i < n[k]; i++)
            p->in[k][i] = 2.0 * tf__rng_uniform(&rng) - 1.0;
    }
    for (int k = 0; k < NOUT; k++)
        p->n_out[k] = out_size(p, k);
    if (c.with_lengths) {
        p->lengths = malloc(B * sizeof(int32_t));
        for (size_t b = 0; b < B; b++)
            p->lengths[b] = 1 + (int32_t)(tf__rng_uniform(&rng) * (double)c.T) % (int32_t)c.T;
        p->lengths[0] = (int32_t)c.T;
        if (B > 1)
            p->lengths[1] = 1;
    }
}

static void problem_free(problem_t *p)
{
    for (int k = 0; k < NIN; k++)
        free(p->in[k]);
    free(p->lengths);
}

/* Forward and backward in double through the reference; out[k] are allocated. */
static double run_ref(const problem_t *p, double **out)
{
    const gcase_t *c = &p->c;
    for (int k = 0; k < NOUT; k++)
        out[k] = calloc(p->n_out[k], sizeof(double));
    const size_t nc = tf__cell_get(TF_CELL_GRU)->cache_floats(&p->s);
    const size_t nw = tf__cell_get(TF_CELL_GRU)->work_floats(&p->s);
    double *cache = calloc(nc, sizeof(double)), *work = calloc(nw, sizeof(double));
    double *const *in = p->in;
    tf__gru_forward_ref_f64(&p->s, c->reverse, in[IX], p->ldx, p->lengths, in[IWIH], in[IWHH],
                            c->with_bias ? in[IBIH] : NULL, c->with_bias ? in[IBHH] : NULL,
                            c->with_state ? in[IH0] : NULL, NULL, out[OY], p->ldy, out[OHN], NULL, cache, work);
    double loss = 0;
    for (size_t i = 0; i < p->n_out[OY]; i++)
        loss += out[OY][i] * in[IDY][i];
    for (size_t i = 0; i < p->n_out[OHN]; i++)
        loss += out[OHN][i] * in[IDHN][i];
    tf__gru_backward_ref_f64(&p->s, c->reverse, in[IX], p->ldx, p->lengths, in[IWIH], in[IWHH],
                             c->with_state ? in[IH0] : NULL, NULL, in[IDY], p->ldy, in[IDHN], NULL, cache, work,
                             out[ODX], p->ldx, out[ODWIH], out[ODWHH], c->with_bias ? out[ODBIH] : NULL,
                             c->with_bias ? out[ODBHH] : NULL, c->with_state ? out[ODH0] : NULL, NULL);
    free(cache);
    free(work);
    return loss;
}

static float *to_f32(const double *d, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
    return f;
}

/* Forward and backward in float through `fwd`/`bwd`; out[k] are allocated (double). */
static void run_f32(const problem_t *p, tf__cell_forward_fn *fwd, tf__cell_backward_fn *bwd, double **out)
{
    const gcase_t *c = &p->c;
    float *in[NIN], *o[NOUT];
    for (int k = 0; k < NIN; k++)
        in[k] = to_f32(p->in[k], p->n_in[k]);
    for (int k = 0; k < NOUT; k++)
        o[k] = calloc(p->n_out[k], sizeof(float));
    const size_t nc = tf__cell_get(TF_CELL_GRU)->cache_floats(&p->s);
    const size_t nw = tf__cell_get(TF_CELL_GRU)->work_floats(&p->s);
    float *cache = malloc(nc * sizeof(float)), *work = malloc(nw * sizeof(float));
    for (size_t i = 0; i < nc; i++)
        cache[i] = NAN; /* the kernels must write what they read */
    for (size_t i = 0; i < nw; i++)
        work[i] = NAN;
    fwd(&p->s, c->reverse, in[IX], p->ldx, p->lengths, in[IWIH], in[IWHH], c->with_bias ? in[IBIH] : NULL,
        c->with_bias ? in[IBHH] : NULL, c->with_state ? in[IH0] : NULL, NULL, o[OY], p->ldy, o[OHN], NULL, cache,
        work);
    bwd(&p->s, c->reverse, in[IX], p->ldx, p->lengths, in[IWIH], in[IWHH], c->with_state ? in[IH0] : NULL, NULL,
        in[IDY], p->ldy, in[IDHN], NULL, cache, work, o[ODX], p->ldx, o[ODWIH], o[ODWHH],
        c->with_bias ? o[ODBIH] : NULL, c->with_bias ? o[ODBHH] : NULL, c->with_state ? o[ODH0] : NULL, NULL);
    for (int k = 0; k < NOUT; k++) {
        out[k] = malloc(p->n_out[k] * sizeof(double));
        for (size_t i = 0; i < p->n_out[k]; i++)
            out[k][i] = o[k][i];
        free(o[k]);
    }
    for (int k = 0; k < NIN; k++)
        free(in[k]);
    free(cache);
    free(work);
}

/* Strided outputs: columns outside a row's valid width are not written (they stay 0). */
static void compare(const char *what, const problem_t *p, double **got, double **want, double tol)
{
    for (int k = 0; k < NOUT; k++) {
        double scale = 1.0;
        for (size_t i = 0; i < p->n_out[k]; i++)
            scale = fmax(scale, fabs(want[k][i]));
        for (size_t i = 0; i < p->n_out[k]; i++)
            if (!(fabs(got[k][i] - want[k][i]) <= tol * scale)) {
                print_error("%s: %s[%zu] = %.9g, reference %.9g\n", what, out_names[k], i, got[k][i], want[k][i]);
                fail();
            }
    }
}

static void free_outs(double **o)
{
    for (int k = 0; k < NOUT; k++)
        free(o[k]);
}

static const gcase_t cases[] = {
    {3, 5, 6, 4, 0, 0, 0, 1, 0, 1},  {3, 5, 6, 4, 1, 1, 1, 1, 0, 2},  {4, 17, 5, 3, 0, 1, 1, 0, 1, 3},
    {4, 17, 5, 3, 1, 1, 1, 1, 1, 4}, {2, 9, 4, 70, 0, 1, 1, 1, 0, 5}, {2, 9, 4, 70, 1, 1, 0, 1, 1, 6},
    {5, 33, 3, 1, 1, 0, 1, 1, 0, 7},
};

static void test_reference_gradients_finite_differences(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        if (cases[ci].B > 8)
            continue; /* the reference is slow on wide batches and adds nothing there */
        problem_t p;
        problem_init(&p, cases[ci]);
        double *g[NOUT];
        run_ref(&p, g);
        const int grad_of[] = {IX, IWIH, IWHH, IBIH, IBHH, IH0};
        const int grad_out[] = {ODX, ODWIH, ODWHH, ODBIH, ODBHH, ODH0};
        tf__rng_t rng;
        tf__rng_seed(&rng, 99 + ci);
        for (int q = 0; q < 6; q++) {
            if ((grad_of[q] == IBIH || grad_of[q] == IBHH) && !p.c.with_bias)
                continue;
            if (grad_of[q] == IH0 && !p.c.with_state)
                continue;
            double *v = p.in[grad_of[q]];
            size_t n = p.n_in[grad_of[q]];
            double *dir = malloc(n * sizeof(double)), *keep = malloc(n * sizeof(double)), ana = 0;
            memcpy(keep, v, n * sizeof(double));
            for (size_t i = 0; i < n; i++) {
                dir[i] = 2.0 * tf__rng_uniform(&rng) - 1.0;
                ana += dir[i] * g[grad_out[q]][i];
            }
            const double eps = 1e-5;
            double *tmp[NOUT];
            for (size_t i = 0; i < n; i++)
                v[i] = keep[i] + eps * dir[i];
            double lp = run_ref(&p, tmp);
            free_outs(tmp);
            for (size_t i = 0; i < n; i++)
                v[i] = keep[i] - eps * dir[i];
            double lm = run_ref(&p, tmp);
            free_outs(tmp);
            memcpy(v, keep, n * sizeof(double));
            double num = (lp - lm) / (2 * eps);
            if (!(fabs(num - ana) <= 1e-7 * fmax(1.0, fabs(num)))) {
                print_error("case %zu, %s: analytic %.12g, finite difference %.12g\n", ci, out_names[grad_out[q]],
                            ana, num);
                fail();
            }
            free(dir);
            free(keep);
        }
        free_outs(g);
        problem_free(&p);
    }
}

static void test_fast_path_and_float_reference_match_double_reference(void **state)
{
    (void)state;
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        problem_t p;
        problem_init(&p, cases[ci]);
        double *want[NOUT], *fast[NOUT], *ref[NOUT];
        run_ref(&p, want);
        run_f32(&p, gru->forward, gru->backward, fast);
        run_f32(&p, tf__gru_forward_ref, tf__gru_backward_ref, ref);
        compare("fast path", &p, fast, want, 2e-5);
        compare("float reference", &p, ref, want, 2e-5);
        free_outs(want);
        free_outs(fast);
        free_outs(ref);
        problem_free(&p);
    }
}

/* Without a cache (inference) the forward gives the same y and h_n, bit for bit. */
static void test_inference_without_cache(void **state)
{
    (void)state;
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        problem_t p;
        problem_init(&p, cases[ci]);
        const gcase_t *c = &p.c;
        float *in[NIN];
        for (int k = 0; k < NIN; k++)
            in[k] = to_f32(p.in[k], p.n_in[k]);
        float *y[2], *hn[2];
        float *cache = malloc(gru->cache_floats(&p.s) * sizeof(float));
        float *work = malloc(gru->work_floats(&p.s) * sizeof(float));
        for (int run = 0; run < 2; run++) {
            y[run] = calloc(p.n_out[OY], sizeof(float));
            hn[run] = calloc(p.n_out[OHN], sizeof(float));
            gru->forward(&p.s, c->reverse, in[IX], p.ldx, p.lengths, in[IWIH], in[IWHH],
                         c->with_bias ? in[IBIH] : NULL, c->with_bias ? in[IBHH] : NULL,
                         c->with_state ? in[IH0] : NULL, NULL, y[run], p.ldy, hn[run], NULL, run ? NULL : cache, work);
        }
        assert_memory_equal(y[0], y[1], p.n_out[OY] * sizeof(float));
        assert_memory_equal(hn[0], hn[1], p.n_out[OHN] * sizeof(float));
        for (int run = 0; run < 2; run++) {
            free(y[run]);
            free(hn[run]);
        }
        for (int k = 0; k < NIN; k++)
            free(in[k]);
        free(cache);
        free(work);
        problem_free(&p);
    }
}

/* A padded row's outputs are zero and its final state is its state after its last valid step:
 * each sequence of a batch with lengths equals the same sequence run alone, truncated. */
static void test_lengths_equal_truncated_sequences(void **state)
{
    (void)state;
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    problem_t p;
    problem_init(&p, (gcase_t){3, 6, 5, 4, 1, 1, 1, 1, 0, 11});
    const int64_t H = p.c.H, B = p.c.B, I = p.c.I;
    float *in[NIN];
    for (int k = 0; k < NIN; k++)
        in[k] = to_f32(p.in[k], p.n_in[k]);
    float *y = calloc(p.n_out[OY], sizeof(float)), *hn = calloc(p.n_out[OHN], sizeof(float));
    float *work = malloc(gru->work_floats(&p.s) * sizeof(float));
    gru->forward(&p.s, 1, in[IX], I, p.lengths, in[IWIH], in[IWHH], in[IBIH], in[IBHH], in[IH0], NULL, y, H, hn,
                 NULL, NULL, work);
    for (int64_t b = 0; b < B; b++) {
        const int64_t T1 = p.lengths[b];
        tf__cell_shape_t s1 = {I, H, T1, 1, 1};
        float *x1 = malloc((size_t)(T1 * I) * sizeof(float)), *y1 = malloc((size_t)(T1 * H) * sizeof(float));
        float h1[64], *w1 = malloc(gru->work_floats(&s1) * sizeof(float));
        for (int64_t t = 0; t < T1; t++)
            memcpy(x1 + t * I, in[IX] + (t * B + b) * I, (size_t)I * sizeof(float));
        gru->forward(&s1, 1, x1, I, NULL, in[IWIH], in[IWHH], in[IBIH], in[IBHH], in[IH0] + b * H, NULL, y1, H, h1,
                     NULL, NULL, w1);
        for (int64_t t = 0; t < p.c.T; t++)
            for (int64_t j = 0; j < H; j++) {
                float want = t < T1 ? y1[t * H + j] : 0.0f;
                assert_float_equal(y[(t * B + b) * H + j], want, 1e-6);
            }
        for (int64_t j = 0; j < H; j++)
            assert_float_equal(hn[b * H + j], h1[j], 1e-6);
        free(x1);
        free(y1);
        free(w1);
    }
    for (int k = 0; k < NIN; k++)
        free(in[k]);
    free(y);
    free(hn);
    free(work);
    problem_free(&p);
}

/* Backward adds to the gradients it is given: two backward passes give twice one. */
static void test_backward_accumulates(void **state)
{
    (void)state;
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    problem_t p;
    problem_init(&p, cases[1]);
    double *once[NOUT];
    run_f32(&p, gru->forward, gru->backward, once);
    /* Run the backward a second time on the same cache and gradients. */
    float *in[NIN], *o[NOUT];
    for (int k = 0; k < NIN; k++)
        in[k] = to_f32(p.in[k], p.n_in[k]);
    for (int k = 0; k < NOUT; k++)
        o[k] = calloc(p.n_out[k], sizeof(float));
    float *cache = malloc(gru->cache_floats(&p.s) * sizeof(float));
    float *work = malloc(gru->work_floats(&p.s) * sizeof(float));
    gru->forward(&p.s, 1, in[IX], p.ldx, p.lengths, in[IWIH], in[IWHH], in[IBIH], in[IBHH], in[IH0], NULL, o[OY],
                 p.ldy, o[OHN], NULL, cache, work);
    for (int r = 0; r < 2; r++)
        gru->backward(&p.s, 1, in[IX], p.ldx, p.lengths, in[IWIH], in[IWHH], in[IH0], NULL, in[IDY], p.ldy,
                      in[IDHN], NULL, cache, work, o[ODX], p.ldx, o[ODWIH], o[ODWHH], o[ODBIH], o[ODBHH], o[ODH0],
                      NULL);
    for (int k = ODX; k < NOUT; k++)
        for (size_t i = 0; i < p.n_out[k]; i++)
            assert_float_equal(o[k][i], 2.0 * once[k][i], 1e-6 * (1.0 + fabs(once[k][i])));
    for (int k = 0; k < NIN; k++)
        free(in[k]);
    for (int k = 0; k < NOUT; k++)
        free(o[k]);
    free(cache);
    free(work);
    free_outs(once);
    problem_free(&p);
}

/* Split over threads (blocks of hidden units handed out by a step team), the time loop gives the
 * same bits as on one thread; the products over all steps (dx, dW), which the GEMM splits by the
 * same thread count, agree to 1e-6 (OpenBLAS rounds a split product differently). The split run
 * matches the double reference. */
/* A hidden size that gate-by-gate panels would pad by more than 1/8 is not split (H = 200 in
 * panels of libxsmm's 64 columns; the portable kernel's 16 pad it by 4%). */
static void test_padded_gates_are_not_split(void **state)
{
    (void)state;
    const tf__cell_shape_t s = {100, 200, 64, 32, 2};
    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, 32, 600, 200, 200, 600, 0);
    if (g.pw == TF__STEP_XSMM_PANEL)
        assert_int_equal(tf__gru_time_loop_blocks(&s), 1);
    else
        assert_true(tf__gru_time_loop_blocks(&s) > 1);
}

static void test_threads_give_identical_results(void **state)
{
    (void)state;
    const tf__cell_ops_t *gru = tf__cell_get(TF_CELL_GRU);
    const gcase_t split_cases[] = {
        {24, 256, 3, 32, 0, 0, 0, 1, 0, 21},
        {20, 190, 4, 24, 1, 1, 1, 1, 1, 22}, /* a partial last panel; reverse; lengths; strided */
        {10, 128, 3, 30, 0, 1, 1, 0, 0, 23}, /* no bias */
    };
    for (size_t ci = 0; ci < sizeof split_cases / sizeof split_cases[0]; ci++) {
        problem_t p;
        problem_init(&p, split_cases[ci]);
        assert_int_equal(tf__gru_time_loop_blocks(&p.s), 1);
        double *one[NOUT];
        run_f32(&p, gru->forward, gru->backward, one);
        const int32_t counts[3] = {2, 3, 5};
        for (int n = 0; n < 3; n++) {
            p.s.threads = counts[n];
            assert_true(tf__gru_time_loop_blocks(&p.s) > 1);
            double *many[NOUT];
            run_f32(&p, gru->forward, gru->backward, many);
            for (int k = 0; k < NOUT; k++) {
                const int gemm = k == ODX || k == ODWIH || k == ODWHH;
                for (size_t i = 0; i < p.n_out[k]; i++)
                    if (gemm ? !(fabs(many[k][i] - one[k][i]) <= 1e-6 * fmax(1.0, fabs(one[k][i])))
                             : memcmp(&many[k][i], &one[k][i], sizeof(double)) != 0)
                        fail_msg("threads=%d (H=%lld B=%lld): %s[%zu] = %.9g, one thread %.9g",
                                 counts[n], (long long)p.c.H, (long long)p.c.B, out_names[k], i,
                                 many[k][i], one[k][i]);
            }
            if (counts[n] == 2) {
                double *want[NOUT];
                run_ref(&p, want);
                compare("two threads", &p, many, want, 2e-5);
                free_outs(want);
            }
            free_outs(many);
        }
        free_outs(one);
        problem_free(&p);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_gradients_finite_differences),
        cmocka_unit_test(test_fast_path_and_float_reference_match_double_reference),
        cmocka_unit_test(test_inference_without_cache),
        cmocka_unit_test(test_lengths_equal_truncated_sequences),
        cmocka_unit_test(test_backward_accumulates),
        cmocka_unit_test(test_threads_give_identical_results),
        cmocka_unit_test(test_padded_gates_are_not_split),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
