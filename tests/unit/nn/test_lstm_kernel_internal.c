/* SPDX-License-Identifier: MIT */
/* The LSTM kernel (lib/nn/lstm_kernel.c) and its reference (tests/support/ref/lstm_ref.c).
 *
 * Independent checks:
 *  - the reference is compiled a second time in double precision (below) and its gradients are
 *    checked by central finite differences along random directions of the scalar loss
 *    L = sum(y * R) + sum(h_n * R2) + sum(c_n * R3) w.r.t. x, all weights and biases, h0 and c0;
 *  - packed-sequence semantics: a batch with lengths equals each sequence run alone, truncated;
 *  - both float paths (fast and reference) against the double reference on many random shapes;
 *  - PyTorch fixtures (tests/reference/gen_lstm_kernel_fixtures.py): test_lstm_kernel_torch_internal;
 *  - the fast activations against libm in double.
 * Double precision FD (rather than FD of the float path) keeps the check sharp: with eps = 1e-5 the
 * truncation error is ~1e-10 and rounding ~1e-11, so a 1e-7 relative tolerance catches any
 * wrong term. */
#include "tf_test.h"
#include "each_kernel.h"
#include "cell_ref.h"
#include "core/rng.h"

#include <math.h>
#include <string.h>

/* The reference in double: tf__lstm_forward_ref_f64 / tf__lstm_backward_ref_f64. */
#define LSTM_REF_REAL double
#define LSTM_REF_NAME(n) n##_f64
#define LSTM_REF_LINKAGE static
#define LSTM_REF_EXP exp
#define LSTM_REF_TANH tanh
#include "lstm_ref.c"

typedef void (*fwd_fn)(const tf__lstm_shape_t *, int, const float *, int64_t, const int32_t *,
                       const float *, const float *, const float *, const float *, const float *,
                       const float *, float *, int64_t, float *, float *, float *, float *);
typedef void (*bwd_fn)(const tf__lstm_shape_t *, int, const float *, int64_t, const int32_t *,
                       const float *, const float *, const float *, const float *, const float *,
                       int64_t, const float *, const float *, const float *, float *, float *,
                       int64_t, float *, float *, float *, float *, float *, float *);

/* ---- a problem: shapes, options, inputs ------------------------------------------------------ */

enum { IX, IWIH, IWHH, IBIH, IBHH, IH0, IC0, IDY, IDHN, IDCN, NIN };
enum { OY, OHN, OCN, ODX, ODWIH, ODWHH, ODBIH, ODBHH, ODH0, ODC0, NOUT };
static const char *const out_names[NOUT] = {"y",     "h_n",   "c_n",   "dx",  "dw_ih",
                                            "dw_hh", "db_ih", "db_hh", "dh0", "dc0"};
static const char *const in_names[NIN] = {"x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"};

typedef struct lstm_case {
    int64_t I, H, T, B;
    int reverse;
    int with_lengths; /* random lengths in 1..T, unsorted, including 1 and T when B >= 2 */
    int with_state;   /* h0, c0 given (else NULL) */
    int with_bias;    /* b_ih, b_hh given (else NULL) */
    int strided;      /* x/dx and y/dy are halves of wider rows, gaps poisoned */
    uint64_t seed;
} lstm_case_t;

typedef struct problem {
    lstm_case_t c;
    tf__lstm_shape_t s;
    int64_t ldx, ldy, xoff, yoff; /* row strides and column offsets of x/dx and y/dy */
    int32_t *lengths;
    double *in[NIN];
    size_t in_n[NIN];
    size_t out_n[NOUT];
} problem_t;

typedef struct result_d {
    double *o[NOUT];
} result_d;

typedef struct result_f {
    float *o[NOUT];
} result_f;

static double *dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static void problem_init(problem_t *p, const lstm_case_t *c)
{
    memset(p, 0, sizeof *p);
    p->c = *c;
    const int64_t I = c->I, H = c->H, T = c->T, B = c->B;
    p->s = (tf__lstm_shape_t){I, H, T, B, 1};
    p->ldx = c->strided ? 2 * I + 3 : I;
    p->xoff = c->strided ? I + 1 : 0;
    p->ldy = c->strided ? 2 * H + 1 : H;
    p->yoff = c->strided ? H : 0;
    tf__rng_t rng;
    tf__rng_seed(&rng, c->seed);
    p->in_n[IX] = (size_t)(T * B * p->ldx);
    p->in_n[IWIH] = (size_t)(4 * H * I);
    p->in_n[IWHH] = (size_t)(4 * H * H);
    p->in_n[IBIH] = p->in_n[IBHH] = (size_t)(4 * H);
    p->in_n[IH0] = p->in_n[IC0] = p->in_n[IDHN] = p->in_n[IDCN] = (size_t)(B * H);
    p->in_n[IDY] = (size_t)(T * B * p->ldy);
    const double scale[NIN] = {1.0, 0.6, 0.6, 0.5, 0.5, 0.8, 1.5, 1.0, 1.0, 1.0};
    for (int k = 0; k < NIN; k++) {
        p->in[k] = dalloc(p->in_n[k]);
        for (size_t e = 0; e < p->in_n[k]; e++)
            p->in[k][e] = scale[k] * (2.0 * tf__rng_uniform(&rng) - 1.0);
    }
    /* Poison the gaps of strided buffers: any read of them shows up as NaN. */
    for (int64_t r = 0; r < T * B; r++) {
        for (int64_t j = 0; j < p->ldx; j++)
            if (j < p->xoff || j >= p->xoff + I)
                p->in[IX][r * p->ldx + j] = NAN;
        for (int64_t j = 0; j < p->ldy; j++)
            if (j < p->yoff || j >= p->yoff + H)
                p->in[IDY][r * p->ldy + j] = NAN;
    }
    if (c->with_lengths) {
        p->lengths = calloc((size_t)B, sizeof(int32_t));
        assert_non_null(p->lengths);
        for (int64_t b = 0; b < B; b++)
            p->lengths[b] = (int32_t)(1 + tf__rng_below(&rng, (uint64_t)T));
        if (B >= 2) {
            p->lengths[0] = 1;
            p->lengths[B / 2 + (B > 2)] = (int32_t)T;
        }
    }
    p->out_n[OY] = p->in_n[IDY];
    p->out_n[OHN] = p->out_n[OCN] = p->out_n[ODH0] = p->out_n[ODC0] = (size_t)(B * H);
    p->out_n[ODX] = p->in_n[IX];
    p->out_n[ODWIH] = p->in_n[IWIH];
    p->out_n[ODWHH] = p->in_n[IWHH];
    p->out_n[ODBIH] = p->out_n[ODBHH] = p->in_n[IBIH];
}

static void problem_free(problem_t *p)
{
    for (int k = 0; k < NIN; k++)
        free(p->in[k]);
    free(p->lengths);
}

static void result_d_init(result_d *r, const problem_t *p)
{
    for (int k = 0; k < NOUT; k++)
        r->o[k] = dalloc(p->out_n[k]);
}

static void result_d_free(result_d *r)
{
    for (int k = 0; k < NOUT; k++)
        free(r->o[k]);
}

static void result_f_init(result_f *r, const problem_t *p, float fill)
{
    for (int k = 0; k < NOUT; k++) {
        r->o[k] = falloc(p->out_n[k]);
        for (size_t e = 0; e < p->out_n[k]; e++)
            r->o[k][e] = fill;
    }
}

static void result_f_free(result_f *r)
{
    for (int k = 0; k < NOUT; k++)
        free(r->o[k]);
}

/* ---- running the double reference ----------------------------------------------------------- */

static double forward_d(const problem_t *p, result_d *r)
{
    const int64_t H = p->c.H;
    double *cache = dalloc(tf__lstm_cache_floats(&p->s));
    double *work = dalloc(tf__lstm_work_floats(&p->s));
    tf__lstm_forward_ref_f64(&p->s, p->c.reverse, p->in[IX] + p->xoff, p->ldx, p->lengths,
                             p->in[IWIH], p->in[IWHH], p->c.with_bias ? p->in[IBIH] : NULL,
                             p->c.with_bias ? p->in[IBHH] : NULL,
                             p->c.with_state ? p->in[IH0] : NULL,
                             p->c.with_state ? p->in[IC0] : NULL, r->o[OY] + p->yoff, p->ldy,
                             r->o[OHN], r->o[OCN], cache, work);
    double loss = 0;
    for (int64_t row = 0; row < p->c.T * p->c.B; row++)
        for (int64_t j = 0; j < H; j++)
            loss += r->o[OY][row * p->ldy + p->yoff + j] * p->in[IDY][row * p->ldy + p->yoff + j];
    for (int64_t e = 0; e < p->c.B * H; e++)
        loss += r->o[OHN][e] * p->in[IDHN][e] + r->o[OCN][e] * p->in[IDCN][e];
    free(cache);
    free(work);
    return loss;
}

static double loss_d(const problem_t *p)
{
    result_d r;
    result_d_init(&r, p);
    double loss = forward_d(p, &r);
    result_d_free(&r);
    return loss;
}

/* Forward and backward of the double reference; gradients start at zero. */
static void run_d(const problem_t *p, result_d *r)
{
    double *cache = dalloc(tf__lstm_cache_floats(&p->s));
    double *work = dalloc(tf__lstm_work_floats(&p->s));
    const int st = p->c.with_state, bi = p->c.with_bias;
    tf__lstm_forward_ref_f64(&p->s, p->c.reverse, p->in[IX] + p->xoff, p->ldx, p->lengths,
                             p->in[IWIH], p->in[IWHH], bi ? p->in[IBIH] : NULL,
                             bi ? p->in[IBHH] : NULL, st ? p->in[IH0] : NULL,
                             st ? p->in[IC0] : NULL, r->o[OY] + p->yoff, p->ldy, r->o[OHN],
                             r->o[OCN], cache, work);
    tf__lstm_backward_ref_f64(&p->s, p->c.reverse, p->in[IX] + p->xoff, p->ldx, p->lengths,
                              p->in[IWIH], p->in[IWHH], st ? p->in[IH0] : NULL,
                              st ? p->in[IC0] : NULL, p->in[IDY] + p->yoff, p->ldy, p->in[IDHN],
                              p->in[IDCN], cache, work, r->o[ODX] + p->xoff, p->ldx, r->o[ODWIH],
                              r->o[ODWHH], r->o[ODBIH], r->o[ODBHH], r->o[ODH0], r->o[ODC0]);
    free(cache);
    free(work);
}

/* ---- running a float path ------------------------------------------------------------------- */

typedef struct fin {
    float *in[NIN];
} fin_t;

static void fin_init(fin_t *f, const problem_t *p)
{
    for (int k = 0; k < NIN; k++) {
        f->in[k] = falloc(p->in_n[k]);
        for (size_t e = 0; e < p->in_n[k]; e++)
            f->in[k][e] = (float)p->in[k][e];
    }
}

static void fin_free(fin_t *f)
{
    for (int k = 0; k < NIN; k++)
        free(f->in[k]);
}

/* Which gradient outputs to request (1) or pass as NULL (0). */
typedef struct want {
    int dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0, inference;
} want_t;

static const want_t WANT_ALL = {1, 1, 1, 1, 1, 1, 1, 0};

/* Forward then backward, accumulating into r (which the caller initialised). With
 * want.inference the forward runs without a cache (no backward). */
static void run_f(const problem_t *p, const fin_t *f, fwd_fn fwd, bwd_fn bwd, want_t w, result_f *r)
{
    const size_t ncache = tf__lstm_cache_floats(&p->s), nwork = tf__lstm_work_floats(&p->s);
    /* Guard floats after each buffer catch writes past the sizes the kernel declared. */
    float *cache = falloc(ncache + 16), *work = falloc(nwork + 16);
    for (int e = 0; e < 16; e++)
        cache[ncache + (size_t)e] = work[nwork + (size_t)e] = 12345.0f;
    const int st = p->c.with_state, bi = p->c.with_bias;
    fwd(&p->s, p->c.reverse, f->in[IX] + p->xoff, p->ldx, p->lengths, f->in[IWIH], f->in[IWHH],
        bi ? f->in[IBIH] : NULL, bi ? f->in[IBHH] : NULL, st ? f->in[IH0] : NULL,
        st ? f->in[IC0] : NULL, r->o[OY] + p->yoff, p->ldy, r->o[OHN], r->o[OCN],
        w.inference ? NULL : cache, work);
    if (!w.inference)
        bwd(&p->s, p->c.reverse, f->in[IX] + p->xoff, p->ldx, p->lengths, f->in[IWIH],
            f->in[IWHH], st ? f->in[IH0] : NULL, st ? f->in[IC0] : NULL, f->in[IDY] + p->yoff,
            p->ldy, f->in[IDHN], f->in[IDCN], cache, work, w.dx ? r->o[ODX] + p->xoff : NULL,
            p->ldx, w.dw_ih ? r->o[ODWIH] : NULL, w.dw_hh ? r->o[ODWHH] : NULL,
            w.db_ih ? r->o[ODBIH] : NULL, w.db_hh ? r->o[ODBHH] : NULL, w.dh0 ? r->o[ODH0] : NULL,
            w.dc0 ? r->o[ODC0] : NULL);
    for (int e = 0; e < 16; e++) {
        assert_true(cache[ncache + (size_t)e] == 12345.0f);
        assert_true(work[nwork + (size_t)e] == 12345.0f);
    }
    free(cache);
    free(work);
}

/* Elements of output k that the kernel owns (strided gaps excluded). */
static int owned(const problem_t *p, int k, size_t e)
{
    if (k == OY) {
        int64_t j = (int64_t)e % p->ldy;
        return j >= p->yoff && j < p->yoff + p->c.H;
    }
    if (k == ODX) {
        int64_t j = (int64_t)e % p->ldx;
        return j >= p->xoff && j < p->xoff + p->c.I;
    }
    return 1;
}

/* Compare a float result (gradients accumulated onto `base`) with the double one:
 * |got - base - want| <= rtol * |want| + atol * max|want| over the tensor. Gaps of strided buffers
 * must still hold `base`. */
static void compare(const char *what,
                    const problem_t *p,
                    const result_f *got,
                    const result_d *want,
                    float base,
                    double rtol,
                    double atol)
{
    for (int k = 0; k < NOUT; k++) {
        double maxw = 0;
        for (size_t e = 0; e < p->out_n[k]; e++)
            if (owned(p, k, e))
                maxw = fmax(maxw, fabs(want->o[k][e]));
        for (size_t e = 0; e < p->out_n[k]; e++) {
            double g = got->o[k][e], w = want->o[k][e];
            if (!owned(p, k, e)) {
                if (got->o[k][e] != base)
                    fail_msg("%s: %s[%zu] outside the kernel's columns changed to %g", what,
                             out_names[k], e, g);
                continue;
            }
            if (k >= ODX)
                g -= base;
            if (!(fabs(g - w) <= rtol * fabs(w) + atol * maxw))
                fail_msg("%s (I=%lld H=%lld T=%lld B=%lld rev=%d len=%d state=%d bias=%d): "
                         "%s[%zu] = %.9g, reference %.9g",
                         what, (long long)p->c.I, (long long)p->c.H, (long long)p->c.T,
                         (long long)p->c.B, p->c.reverse, p->c.with_lengths, p->c.with_state,
                         p->c.with_bias, out_names[k], e, g, w);
        }
    }
}

/* ---- finite differences on the double reference ---------------------------------------------- */

static void gradcheck(const lstm_case_t *c)
{
    problem_t p;
    problem_init(&p, c);
    result_d g;
    result_d_init(&g, &p);
    run_d(&p, &g);
    const int grad_of[7] = {ODX, ODWIH, ODWHH, ODBIH, ODBHH, ODH0, ODC0};
    tf__rng_t rng;
    tf__rng_seed(&rng, c->seed ^ 0x5eedu);
    const double eps = 1e-5;
    for (int k = IX; k <= IC0; k++) {
        if ((k == IBIH || k == IBHH) && !c->with_bias)
            continue;
        if ((k == IH0 || k == IC0) && !c->with_state)
            continue;
        for (int rep = 0; rep < 2; rep++) {
            double *v = dalloc(p.in_n[k]);
            double analytic = 0, scale = 0;
            for (size_t e = 0; e < p.in_n[k]; e++) {
                if (k == IX && !owned(&p, ODX, e))
                    continue; /* the gaps of x stay untouched (NaN) */
                v[e] = 2.0 * tf__rng_uniform(&rng) - 1.0;
                analytic += g.o[grad_of[k]][e] * v[e];
                scale += fabs(g.o[grad_of[k]][e] * v[e]);
            }
            for (size_t e = 0; e < p.in_n[k]; e++)
                p.in[k][e] += eps * v[e];
            const double lp = loss_d(&p);
            for (size_t e = 0; e < p.in_n[k]; e++)
                p.in[k][e] -= 2 * eps * v[e];
            const double lm = loss_d(&p);
            for (size_t e = 0; e < p.in_n[k]; e++)
                p.in[k][e] += eps * v[e];
            const double fd = (lp - lm) / (2 * eps);
            if (!(fabs(fd - analytic) <= 1e-7 * (1.0 + scale)))
                fail_msg("gradient of %s (rev=%d len=%d state=%d bias=%d): finite difference "
                         "%.12g, analytic %.12g",
                         in_names[k], c->reverse, c->with_lengths, c->with_state, c->with_bias,
                         fd, analytic);
            free(v);
        }
    }
    /* Padded steps get no gradient. */
    if (p.lengths)
        for (int64_t t = 0; t < c->T; t++)
            for (int64_t b = 0; b < c->B; b++)
                if (t >= p.lengths[b])
                    for (int64_t j = 0; j < c->I; j++)
                        assert_true(g.o[ODX][(t * c->B + b) * p.ldx + p.xoff + j] == 0.0);
    result_d_free(&g);
    problem_free(&p);
}

static void test_gradcheck_forward(void **state)
{
    (void)state;
    const lstm_case_t c = {3, 5, 4, 3, 0, 0, 1, 1, 0, 11};
    gradcheck(&c);
}

static void test_gradcheck_reverse(void **state)
{
    (void)state;
    const lstm_case_t c = {3, 5, 4, 3, 1, 0, 1, 1, 0, 12};
    gradcheck(&c);
}

static void test_gradcheck_lengths_forward(void **state)
{
    (void)state;
    const lstm_case_t c = {4, 3, 5, 4, 0, 1, 1, 1, 0, 13};
    gradcheck(&c);
}

static void test_gradcheck_lengths_reverse(void **state)
{
    (void)state;
    const lstm_case_t c = {4, 3, 5, 4, 1, 1, 1, 1, 0, 14};
    gradcheck(&c);
}

static void test_gradcheck_no_state_no_bias(void **state)
{
    (void)state;
    const lstm_case_t fwd = {2, 4, 3, 3, 0, 1, 0, 0, 0, 15};
    const lstm_case_t rev = {2, 4, 3, 3, 1, 1, 0, 0, 0, 16};
    gradcheck(&fwd);
    gradcheck(&rev);
}

static void test_gradcheck_strided_halves(void **state)
{
    (void)state;
    const lstm_case_t fwd = {3, 4, 4, 3, 0, 1, 1, 1, 1, 17};
    const lstm_case_t rev = {3, 4, 4, 3, 1, 1, 1, 1, 1, 18};
    gradcheck(&fwd);
    gradcheck(&rev);
}

static void test_gradcheck_single_step_single_row(void **state)
{
    (void)state;
    const lstm_case_t fwd = {2, 3, 1, 1, 0, 0, 1, 1, 0, 19};
    const lstm_case_t rev = {2, 3, 1, 1, 1, 1, 1, 1, 0, 20};
    gradcheck(&fwd);
    gradcheck(&rev);
}

/* ---- packed-sequence semantics ---------------------------------------------------------------- */

/* A batch with lengths equals each sequence run alone over its own length (outputs, final state,
 * and gradients: per-sequence input gradients, weight gradients summed). */
static void check_lengths_split(int reverse)
{
    const lstm_case_t c = {3, 4, 6, 5, reverse, 1, 1, 1, 0, 21u + (uint64_t)reverse};
    problem_t p;
    problem_init(&p, &c);
    result_d full;
    result_d_init(&full, &p);
    run_d(&p, &full);
    const int64_t I = c.I, H = c.H, B = c.B;
    double *sum_w[4];
    for (int k = 0; k < 4; k++)
        sum_w[k] = dalloc(p.out_n[ODWIH + k]);
    for (int64_t b = 0; b < B; b++) {
        const int64_t len = p.lengths[b];
        lstm_case_t cb = c;
        cb.T = len;
        cb.B = 1;
        cb.with_lengths = 0;
        problem_t q;
        problem_init(&q, &cb);
        for (int64_t t = 0; t < len; t++) {
            memcpy(q.in[IX] + t * I, p.in[IX] + (t * B + b) * I, (size_t)I * sizeof(double));
            memcpy(q.in[IDY] + t * H, p.in[IDY] + (t * B + b) * H, (size_t)H * sizeof(double));
        }
        for (int k = IWIH; k <= IBHH; k++)
            memcpy(q.in[k], p.in[k], p.in_n[k] * sizeof(double));
        const int per_row[4] = {IH0, IC0, IDHN, IDCN};
        for (int k = 0; k < 4; k++)
            memcpy(q.in[per_row[k]], p.in[per_row[k]] + b * H, (size_t)H * sizeof(double));
        result_d one;
        result_d_init(&one, &q);
        run_d(&q, &one);
        for (int64_t t = 0; t < c.T; t++)
            for (int64_t j = 0; j < H; j++) {
                const double want = t < len ? one.o[OY][t * H + j] : 0.0;
                assert_true(fabs(full.o[OY][(t * B + b) * H + j] - want) <= 1e-12);
            }
        for (int64_t j = 0; j < H; j++) {
            assert_true(fabs(full.o[OHN][b * H + j] - one.o[OHN][j]) <= 1e-12);
            assert_true(fabs(full.o[OCN][b * H + j] - one.o[OCN][j]) <= 1e-12);
            assert_true(fabs(full.o[ODH0][b * H + j] - one.o[ODH0][j]) <= 1e-12);
            assert_true(fabs(full.o[ODC0][b * H + j] - one.o[ODC0][j]) <= 1e-12);
        }
        for (int64_t t = 0; t < len; t++)
            for (int64_t j = 0; j < I; j++)
                assert_true(fabs(full.o[ODX][(t * B + b) * I + j] - one.o[ODX][t * I + j]) <=
                            1e-12);
        for (int k = 0; k < 4; k++)
            for (size_t e = 0; e < p.out_n[ODWIH + k]; e++)
                sum_w[k][e] += one.o[ODWIH + k][e];
        result_d_free(&one);
        problem_free(&q);
    }
    for (int k = 0; k < 4; k++) {
        for (size_t e = 0; e < p.out_n[ODWIH + k]; e++)
            assert_true(fabs(full.o[ODWIH + k][e] - sum_w[k][e]) <= 1e-11);
        free(sum_w[k]);
    }
    result_d_free(&full);
    problem_free(&p);
}

static void test_lengths_equal_separate_sequences_forward(void **state)
{
    (void)state;
    check_lengths_split(0);
}

static void test_lengths_equal_separate_sequences_reverse(void **state)
{
    (void)state;
    check_lengths_split(1);
}

/* ---- float paths against the double reference ------------------------------------------------ */

static void check_float_paths(const lstm_case_t *c)
{
    problem_t p;
    problem_init(&p, c);
    result_d want;
    result_d_init(&want, &p);
    run_d(&p, &want);
    fin_t f;
    fin_init(&f, &p);
    result_f fast, ref;
    result_f_init(&fast, &p, 0.0f);
    result_f_init(&ref, &p, 0.0f);
    run_f(&p, &f, tf__lstm_forward, tf__lstm_backward, WANT_ALL, &fast);
    run_f(&p, &f, tf__lstm_forward_ref, tf__lstm_backward_ref, WANT_ALL, &ref);
    /* Float against double: rounding of sums over up to T*B*max(I,4H) terms. */
    compare("fast", &p, &fast, &want, 0.0f, 2e-4, 2e-5);
    compare("reference (float)", &p, &ref, &want, 0.0f, 2e-4, 2e-5);
    result_f_free(&fast);
    result_f_free(&ref);
    fin_free(&f);
    result_d_free(&want);
    problem_free(&p);
}

static void test_fast_and_reference_match_double_on_random_shapes(void **state)
{
    (void)state;
    tf__rng_t rng;
    tf__rng_seed(&rng, 2024);
    const int64_t hs[] = {1, 2, 7, 8, 15, 16, 17, 31, 33, 40};
    for (int n = 0; n < 60; n++) {
        lstm_case_t c;
        c.I = 1 + (int64_t)tf__rng_below(&rng, 24);
        c.H = hs[tf__rng_below(&rng, sizeof hs / sizeof hs[0])];
        c.T = 1 + (int64_t)tf__rng_below(&rng, 6);
        c.B = 1 + (int64_t)tf__rng_below(&rng, 12); /* both sides of the small-batch path */
        c.reverse = (int)tf__rng_below(&rng, 2);
        c.with_lengths = (int)tf__rng_below(&rng, 2);
        c.with_state = (int)tf__rng_below(&rng, 2);
        c.with_bias = (int)tf__rng_below(&rng, 2);
        c.strided = (int)tf__rng_below(&rng, 2);
        c.seed = 1000u + (uint64_t)n;
        check_float_paths(&c);
    }
}

static void test_fast_matches_double_on_larger_shapes(void **state)
{
    (void)state;
    const lstm_case_t cases[] = {
        {50, 67, 9, 7, 0, 1, 1, 1, 0, 31},
        {50, 67, 9, 7, 1, 1, 1, 1, 1, 32},
        {64, 48, 12, 16, 0, 0, 1, 1, 0, 33},
        {20, 33, 5, 9, 1, 1, 1, 1, 1, 35},
        {20, 33, 5, 8, 0, 1, 1, 1, 1, 36},
        {8, 7, 3, 65, 1, 1, 1, 1, 1, 37},   /* B > 64: OpenBLAS for the per-step products */
        {8, 33, 2, 70, 0, 1, 1, 1, 0, 38},  /* B > 64: OpenBLAS */
        {8, 520, 2, 9, 1, 1, 1, 1, 1, 39},  /* wide and packed */
        {8, 260, 2, 9, 1, 1, 1, 1, 1, 41},
        {16, 129, 3, 1, 1, 0, 0, 1, 0, 34},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_float_paths(&cases[k]);
}

/* ---- the time loop on several threads ------------------------------------------------------- */

/* The time loop's results must match bit for bit. The products over all steps at once (dx and the
 * weight gradients) are split by the GEMM for the same thread count, and a product split into other
 * blocks may round differently (context.h says so: OpenBLAS's AVX2 kernels do, its AVX-512 ones
 * happen not to), so those match to a few units in the last place instead. */
static int gemm_output(int k)
{
    return k == ODX || k == ODWIH || k == ODWHH;
}

static void expect_same_bits(const problem_t *p, const result_f *a, const result_f *b, int threads)
{
    for (int k = 0; k < NOUT; k++)
        for (size_t e = 0; e < p->out_n[k]; e++)
            if (gemm_output(k) ? fabsf(a->o[k][e] - b->o[k][e]) > 1e-6f * fmaxf(1.0f, fabsf(a->o[k][e]))
                               : memcmp(&a->o[k][e], &b->o[k][e], sizeof(float)) != 0)
                fail_msg("threads=%d (H=%lld B=%lld): %s[%zu] = %.9g, one thread %.9g", threads,
                         (long long)p->c.H, (long long)p->c.B, out_names[k], e,
                         (double)b->o[k][e], (double)a->o[k][e]);
}

/* Split over threads (blocks of hidden units handed out by a step team), the time loop gives the
 * same bits as on one thread (expect_same_bits): for training with and without dh0, and for inference; and the
 * split run matches the double reference. */
static void test_threads_give_identical_results(void **state)
{
    (void)state;
    const lstm_case_t cases[] = {
        {24, 96, 5, 16, 0, 1, 1, 1, 0, 51},  /* whole panels of 16 units */
        {24, 100, 4, 24, 1, 1, 1, 1, 1, 52}, /* a partial last panel; reverse; strided */
        {30, 200, 3, 32, 0, 0, 0, 1, 0, 53}, /* the seed configuration's layer */
        {10, 130, 3, 9, 1, 1, 1, 0, 0, 54},
    };
    const want_t no_dh0 = {1, 1, 1, 1, 1, 0, 1, 0}, inference = {0, 0, 0, 0, 0, 0, 0, 1};
    const want_t wants[3] = {WANT_ALL, no_dh0, inference};
    for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++) {
        problem_t p;
        problem_init(&p, &cases[n]);
        fin_t f;
        fin_init(&f, &p);
        for (int w = 0; w < 3; w++) {
            result_f one;
            result_f_init(&one, &p, 0.0f);
            p.s.threads = 1;
            assert_int_equal(tf__lstm_time_loop_blocks(&p.s), 1);
            run_f(&p, &f, tf__lstm_forward, tf__lstm_backward, wants[w], &one);
            const int32_t counts[3] = {2, 3, 5};
            for (int c = 0; c < 3; c++) {
                p.s.threads = counts[c];
                assert_true(tf__lstm_time_loop_blocks(&p.s) > 1);
                result_f many;
                result_f_init(&many, &p, 0.0f);
                run_f(&p, &f, tf__lstm_forward, tf__lstm_backward, wants[w], &many);
                expect_same_bits(&p, &one, &many, counts[c]);
                result_f_free(&many);
            }
            result_f_free(&one);
        }
        result_d want;
        result_d_init(&want, &p);
        run_d(&p, &want);
        result_f two;
        result_f_init(&two, &p, 0.0f);
        p.s.threads = 2;
        run_f(&p, &f, tf__lstm_forward, tf__lstm_backward, WANT_ALL, &two);
        compare("two threads", &p, &two, &want, 0.0f, 2e-4, 2e-5);
        result_f_free(&two);
        result_d_free(&want);
        fin_free(&f);
        problem_free(&p);
    }
}

/* Tiny steps (B = 1, H = 64: one panel, 32 K flops) run whole; B = 1 at H = 128 is split. */
static void test_small_steps_are_not_split(void **state)
{
    (void)state;
    const tf__lstm_shape_t small = {64, 64, 256, 1, 2}, b1 = {128, 128, 256, 1, 2},
                           big = {100, 200, 64, 32, 2};
    assert_int_equal(tf__lstm_time_loop_blocks(&small), 1);
    assert_true(tf__lstm_time_loop_blocks(&b1) > 1);
    assert_true(tf__lstm_time_loop_blocks(&big) > 1);
}

/* A split step's blocks are whole panels: at H = 200 on 2 threads, 7 blocks of 32 units, so the
 * two threads get 104 and 96 (libxsmm's panels are narrowed from 64 there, which would give blocks
 * of 64, 64, 64 and 8, and 128 units to one thread; the portable kernel's panels of 16 give the
 * same 7). */
static void test_split_blocks_are_even(void **state)
{
    (void)state;
    const tf__lstm_shape_t h200 = {100, 200, 64, 32, 2};
    assert_int_equal(tf__lstm_time_loop_blocks(&h200), 7);
}

/* ---- contract details ------------------------------------------------------------------------- */

/* NULL gradient outputs skip their work and leave every other result bit for bit unchanged. */
static void check_null_outputs(fwd_fn fwd, bwd_fn bwd, int reverse)
{
    const lstm_case_t c = {6, 9, 5, 4, reverse, 1, 1, 1, 1, 40u + (uint64_t)reverse};
    problem_t p;
    problem_init(&p, &c);
    fin_t f;
    fin_init(&f, &p);
    result_f all;
    result_f_init(&all, &p, 0.0f);
    run_f(&p, &f, fwd, bwd, WANT_ALL, &all);
    const want_t subsets[] = {
        {1, 0, 0, 0, 0, 1, 1, 0}, /* frozen weights */
        {0, 1, 1, 1, 1, 0, 0, 0}, /* first layer: no dx, no state gradient */
        {1, 1, 0, 1, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (size_t n = 0; n < sizeof subsets / sizeof subsets[0]; n++) {
        const want_t w = subsets[n];
        const int asked[NOUT] = {1, 1, 1, w.dx, w.dw_ih, w.dw_hh, w.db_ih, w.db_hh, w.dh0, w.dc0};
        result_f some;
        result_f_init(&some, &p, 0.0f);
        run_f(&p, &f, fwd, bwd, w, &some);
        for (int k = 0; k < NOUT; k++)
            for (size_t e = 0; e < p.out_n[k]; e++) {
                const float want = asked[k] ? all.o[k][e] : 0.0f;
                if (memcmp(&some.o[k][e], &want, sizeof want) != 0)
                    fail_msg("subset %zu: %s[%zu] = %.9g, want %.9g", n, out_names[k], e,
                             (double)some.o[k][e], (double)want);
            }
        result_f_free(&some);
    }
    result_f_free(&all);
    fin_free(&f);
    problem_free(&p);
}

static void test_null_gradient_outputs_leave_others_unchanged(void **state)
{
    (void)state;
    check_null_outputs(tf__lstm_forward, tf__lstm_backward, 0);
    check_null_outputs(tf__lstm_forward, tf__lstm_backward, 1);
    check_null_outputs(tf__lstm_forward_ref, tf__lstm_backward_ref, 0);
    check_null_outputs(tf__lstm_forward_ref, tf__lstm_backward_ref, 1);
}

/* Gradients are added to what the buffers hold; the strided gaps of y and dx are not touched. */
static void check_accumulates(fwd_fn fwd, bwd_fn bwd)
{
    const lstm_case_t c = {5, 7, 4, 3, 1, 1, 1, 1, 1, 50};
    problem_t p;
    problem_init(&p, &c);
    result_d want;
    result_d_init(&want, &p);
    run_d(&p, &want);
    fin_t f;
    fin_init(&f, &p);
    result_f got;
    result_f_init(&got, &p, 0.75f);
    run_f(&p, &f, fwd, bwd, WANT_ALL, &got);
    compare("accumulate", &p, &got, &want, 0.75f, 2e-4, 2e-5);
    result_f_free(&got);
    fin_free(&f);
    result_d_free(&want);
    problem_free(&p);
}

static void test_gradients_accumulate(void **state)
{
    (void)state;
    check_accumulates(tf__lstm_forward, tf__lstm_backward);
    check_accumulates(tf__lstm_forward_ref, tf__lstm_backward_ref);
}

/* Without a cache (inference) the forward gives the same outputs bit for bit. */
static void check_inference(fwd_fn fwd, int reverse, int with_lengths)
{
    const lstm_case_t c = {5, 19, 7, 3, reverse, with_lengths, 1, 1, 1, 60u + (uint64_t)reverse};
    problem_t p;
    problem_init(&p, &c);
    fin_t f;
    fin_init(&f, &p);
    result_f train, infer;
    result_f_init(&train, &p, 0.0f);
    result_f_init(&infer, &p, 0.0f);
    want_t w = WANT_ALL;
    run_f(&p, &f, fwd, tf__lstm_backward, w, &train);
    w.inference = 1;
    run_f(&p, &f, fwd, tf__lstm_backward, w, &infer);
    for (int k = OY; k <= OCN; k++)
        assert_memory_equal(train.o[k], infer.o[k], p.out_n[k] * sizeof(float));
    result_f_free(&train);
    result_f_free(&infer);
    fin_free(&f);
    problem_free(&p);
}

static void test_inference_without_cache_matches_training_forward(void **state)
{
    (void)state;
    for (int rev = 0; rev < 2; rev++)
        for (int len = 0; len < 2; len++) {
            check_inference(tf__lstm_forward, rev, len);
            check_inference(tf__lstm_forward_ref, rev, len);
        }
}

/* y may be NULL (only the final state wanted): h_n and c_n are unchanged. */
static void check_no_output(fwd_fn fwd, int64_t B)
{
    const lstm_case_t c = {4, 13, 5, B, 1, 1, 1, 1, 0, 70u + (uint64_t)B};
    problem_t p;
    problem_init(&p, &c);
    fin_t f;
    fin_init(&f, &p);
    result_f full, last;
    result_f_init(&full, &p, 0.0f);
    result_f_init(&last, &p, 0.0f);
    float *work = falloc(tf__lstm_work_floats(&p.s));
    fwd(&p.s, 1, f.in[IX], p.ldx, p.lengths, f.in[IWIH], f.in[IWHH], f.in[IBIH], f.in[IBHH],
        f.in[IH0], f.in[IC0], full.o[OY], p.ldy, full.o[OHN], full.o[OCN], NULL, work);
    fwd(&p.s, 1, f.in[IX], p.ldx, p.lengths, f.in[IWIH], f.in[IWHH], f.in[IBIH], f.in[IBHH],
        f.in[IH0], f.in[IC0], NULL, p.ldy, last.o[OHN], last.o[OCN], NULL, work);
    assert_memory_equal(full.o[OHN], last.o[OHN], p.out_n[OHN] * sizeof(float));
    assert_memory_equal(full.o[OCN], last.o[OCN], p.out_n[OCN] * sizeof(float));
    free(work);
    result_f_free(&full);
    result_f_free(&last);
    fin_free(&f);
    problem_free(&p);
}

static void test_forward_without_output_sequence(void **state)
{
    (void)state;
    check_no_output(tf__lstm_forward, 3);
    check_no_output(tf__lstm_forward, 11);
    check_no_output(tf__lstm_forward_ref, 3);
}

static void test_workspace_formulas(void **state)
{
    (void)state;
    const tf__lstm_shape_t s = {100, 200, 64, 32, 1};
    const size_t H = 200, T = 64, B = 32;
    assert_int_equal(tf__lstm_cache_floats(&s), 4 * H * T * B + 2 * H * (T + 1) * B);
    /* Batches up to 64 add W_hh packed in panels of 16 columns, or of 64 when libxsmm's kernels
     * (which the dispatcher may pick at run time) are built in. */
#if defined(TF_HAVE_XSMM)
    const size_t H_padded = 256, wide_padded = 576;
#else
    const size_t H_padded = 208, wide_padded = 528;
#endif
    const size_t packed = 4 * H * H_padded;
    assert_int_equal(tf__lstm_work_floats(&s), 4 * H * T * B + 3 * H * B + 4 * H + packed);
    const tf__lstm_shape_t b8 = {100, 200, 64, 8, 1}, b64 = {100, 200, 64, 64, 1}, b65 = {100, 200, 64, 65, 1};
    assert_int_equal(tf__lstm_work_floats(&b8), 4 * H * T * 8 + 3 * H * 8 + 4 * H + packed);
    assert_int_equal(tf__lstm_work_floats(&b64), 4 * H * T * 64 + 3 * H * 64 + 4 * H + packed);
    assert_int_equal(tf__lstm_work_floats(&b65), 4 * H * T * 65 + 3 * H * 65 + 4 * H);
    const tf__lstm_shape_t wide = {100, 513, 64, 9, 1}, wide65 = {100, 513, 64, 65, 1};
    assert_int_equal(tf__lstm_work_floats(&wide), 4 * 513 * T * 9 + 3 * 513 * 9 + 4 * 513 + 4 * 513 * wide_padded);
    assert_int_equal(tf__lstm_work_floats(&wide65), 4 * 513 * T * 65 + 3 * 513 * 65 + 4 * 513);
}

/* ---- activations ------------------------------------------------------------------------------ */

static void check_activation(const char *name,
                             void (*fn)(float *, const float *, int64_t),
                             double (*want_fn)(double))
{
    enum { N = 80013 };
    float *in = falloc(N), *out = falloc(N);
    for (int e = 0; e < 80000; e++)
        in[e] = -40.0f + 80.0f * (float)e / 80000.0f;
    const float special[13] = {0.0f,   -0.0f,  1e-30f, -1e-30f, 1e-8f,   -3e-6f, 0.6249f,
                               0.625f, -0.625f, 88.5f, -88.5f,  1000.0f, -1e4f};
    for (int e = 0; e < 13; e++)
        in[80000 + e] = special[e];
    /* Odd lengths exercise the tails. */
    fn(out, in, 80000);
    fn(out + 80000, in + 80000, 13);
    double worst = 0;
    for (int e = 0; e < N; e++) {
        const double w = want_fn((double)in[e]);
        const double err = fabs((double)out[e] - w);
        /* Relative to the value; below 1e-30 (sigmoid far in its tail, where the kernel clamps
         * the exponent to stay in normal floats) an absolute floor of 1e-37. */
        const double rel = fabs(w) > 1e-30 ? err / fabs(w) : 0.0;
        if (rel > worst)
            worst = rel;
        if (!(err <= 4.0e-7 * fabs(w) + 1e-37))
            fail_msg("%s(%.9g) = %.9g, libm (double) %.9g", name, (double)in[e], (double)out[e],
                     w);
    }
    print_message("%s: worst relative error %.3g over %d inputs\n", name, worst, N);
    free(in);
    free(out);
}

static double sigmoid_d(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static void test_activations_match_libm(void **state)
{
    (void)state;
    check_activation("sigmoid", tf__lstm_sigmoid_n, sigmoid_d);
    check_activation("tanh", tf__lstm_tanh_n, tanh);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_forward),
        cmocka_unit_test(test_gradcheck_reverse),
        cmocka_unit_test(test_gradcheck_lengths_forward),
        cmocka_unit_test(test_gradcheck_lengths_reverse),
        cmocka_unit_test(test_gradcheck_no_state_no_bias),
        cmocka_unit_test(test_gradcheck_strided_halves),
        cmocka_unit_test(test_gradcheck_single_step_single_row),
        cmocka_unit_test(test_lengths_equal_separate_sequences_forward),
        cmocka_unit_test(test_lengths_equal_separate_sequences_reverse),
        cmocka_unit_test(test_fast_and_reference_match_double_on_random_shapes),
        cmocka_unit_test(test_fast_matches_double_on_larger_shapes),
        cmocka_unit_test(test_threads_give_identical_results),
        cmocka_unit_test(test_small_steps_are_not_split),
        cmocka_unit_test(test_split_blocks_are_even),
        cmocka_unit_test(test_null_gradient_outputs_leave_others_unchanged),
        cmocka_unit_test(test_gradients_accumulate),
        cmocka_unit_test(test_inference_without_cache_matches_training_forward),
        cmocka_unit_test(test_forward_without_output_sequence),
        cmocka_unit_test(test_workspace_formulas),
        cmocka_unit_test(test_activations_match_libm),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
