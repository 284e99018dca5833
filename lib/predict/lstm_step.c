/* SPDX-License-Identifier: MIT */
/* The vector kernels of the prediction LSTM (lstm_infer.c): a whole step of one row fused into one
 * pass, and the gate pass of many rows.
 *
 * At one row a step is a matrix-vector product whose 4H x H weights come from L2 at its bandwidth,
 * plus the gates. Here W_hh is packed in blocks of 16 hidden units: row k of block j holds the
 * weights from h[k] to gates i, f, g, o of units 16j..16j+15 (64 floats), so a block's product ends
 * in four vectors that are exactly its units' four gates. Each block's gates, c and h are computed
 * as soon as its product is done, and that arithmetic overlaps the loads of the next block.
 *
 * Each kernel is compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2) and baseline x86-64; the best
 * level the CPU has is used unless the tests force one (tf__pred_step_force). */
#include "predict_internal.h"
#include "../nn/vec16.h"

#include <stdatomic.h>

#if defined(__GNUC__) && !defined(__clang__)
/* ISO C mode turns contraction off in GCC; the products are written for fused multiply-adds. */
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#define U TF__PRED_UNITS
_Static_assert(U == TF__V16, "a block's gate is one vector");

/* Blocks of U units, the last one narrower when H is not a multiple of U: with at most U/2 units
 * it is packed U/2 wide (a row of two vectors), so little of what each step reads is padding. */
#define HALF (U / 2)
size_t tf__pred_step1_floats(int64_t H)
{
    const int64_t rest = H % U;
    return (size_t)(H / U * 4 * U + (rest == 0 ? 0 : rest <= HALF ? 4 * HALF : 4 * U)) * (size_t)H;
}

void tf__pred_step1_pack(int64_t H, const float *w_hh, float *dst)
{
    for (int64_t j0 = 0; j0 < H; j0 += U) {
        const int64_t w = H - j0 <= HALF ? HALF : U;
        for (int64_t k = 0; k < H; k++)
            for (int64_t q = 0; q < 4; q++)
                for (int64_t u = 0; u < w; u++)
                    *dst++ = j0 + u < H ? w_hh[(q * H + j0 + u) * H + k] : 0.0f;
    }
}

/* Gates (pre-activations zi..zo) to the n units' new c (from cp) and h. */
TF__V16_INLINE void finish(tf__v16 zi, tf__v16 zf, tf__v16 zg, tf__v16 zo, const float *cp, float *c, float *h,
                           int64_t n)
{
    const tf__v16 cv = n == U ? tf__v16_load(cp) : tf__v16_load_n(cp, n);
    const tf__v16 cn = tf__v16_sigmoid(zf) * cv + tf__v16_sigmoid(zi) * tf__v16_tanh(zg);
    const tf__v16 hn = tf__v16_sigmoid(zo) * tf__v16_tanh(cn);
    if (n == U) {
        tf__v16_store(c, cn);
        tf__v16_store(h, hn);
    } else {
        tf__v16_store_n(c, cn, n);
        tf__v16_store_n(h, hn, n);
    }
}

/* Gate q's n units at p + q*H plus the bias. */
TF__V16_INLINE tf__v16 gate_in(const float *p, const float *bias, int64_t q, int64_t H, int64_t n)
{
    if (n == U)
        return tf__v16_load(p + q * H) + tf__v16_load(bias + q * H);
    return tf__v16_load_n(p + q * H, n) + tf__v16_load_n(bias + q * H, n);
}

/* The last block when it is packed HALF wide: a row is [i f | g o] of HALF units each. */
TF__V16_INLINE void step1_half(int64_t H, const float *w, const float *gx, const float *bias, const float *h,
                               float *hn, float *c, int64_t n)
{
    tf__v16 a0 = tf__v16_splat(0.0f), a1 = a0, b0 = a0, b1 = a0;
    int64_t k = 0;
    for (; k + 2 <= H; k += 2) {
        const float *r = w + k * 4 * HALF;
        const tf__v16 x0 = tf__v16_splat(h[k]), x1 = tf__v16_splat(h[k + 1]);
        a0 += tf__v16_load(r) * x0;
        a1 += tf__v16_load(r + U) * x0;
        b0 += tf__v16_load(r + 2 * U) * x1;
        b1 += tf__v16_load(r + 3 * U) * x1;
    }
    if (k < H) {
        const tf__v16 x0 = tf__v16_splat(h[k]);
        a0 += tf__v16_load(w + k * 4 * HALF) * x0;
        a1 += tf__v16_load(w + k * 4 * HALF + U) * x0;
    }
    float z[4 * HALF];
    tf__v16_store(z, a0 + b0);
    tf__v16_store(z + U, a1 + b1);
    finish(tf__v16_load_n(z, n) + gate_in(gx, bias, 0, H, n), tf__v16_load_n(z + HALF, n) + gate_in(gx, bias, 1, H, n),
           tf__v16_load_n(z + 2 * HALF, n) + gate_in(gx, bias, 2, H, n),
           tf__v16_load_n(z + 3 * HALF, n) + gate_in(gx, bias, 3, H, n), c, c, hn, n);
}

/* With `split`, even and odd k go to separate accumulators: eight independent chains of
 * multiply-adds, for the CPUs with two vector FMA units and registers to spare (AVX-512). */
TF__V16_INLINE void step1_body(int64_t H, const float *wp, const float *gx, const float *gx_next, const float *bias,
                               const float *h, float *hn, float *c, int64_t blk0, int64_t blk1, int split)
{
    for (int64_t j = blk0; j < blk1; j++) {
        const int64_t j0 = j * U, n = H - j0 < U ? H - j0 : U;
        const float *w = wp + j * H * 4 * U;
        /* The next step's input for these units, a few lines per block: all at once, the misses
         * (a table row is far from the last) would fill the queue of loads in flight and stall. */
        if (gx_next)
            for (int64_t q = 0; q < 4; q++) {
                TF__PRED_PREFETCH(gx_next + q * H + j0);
                TF__PRED_PREFETCH(gx_next + q * H + j0 + n - 1);
            }
        if (n <= HALF) {
            step1_half(H, w, gx + j0, bias + j0, h, hn + j0, c + j0, n);
            continue;
        }
        tf__v16 a0 = tf__v16_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int64_t k = 0;
        if (split)
            for (; k + 2 <= H; k += 2) {
                const float *r = w + k * 4 * U;
                const tf__v16 x0 = tf__v16_splat(h[k]), x1 = tf__v16_splat(h[k + 1]);
                a0 += tf__v16_load(r) * x0;
                a1 += tf__v16_load(r + U) * x0;
                a2 += tf__v16_load(r + 2 * U) * x0;
                a3 += tf__v16_load(r + 3 * U) * x0;
                b0 += tf__v16_load(r + 4 * U) * x1;
                b1 += tf__v16_load(r + 5 * U) * x1;
                b2 += tf__v16_load(r + 6 * U) * x1;
                b3 += tf__v16_load(r + 7 * U) * x1;
            }
        for (; k < H; k++) {
            const float *r = w + k * 4 * U;
            const tf__v16 x0 = tf__v16_splat(h[k]);
            a0 += tf__v16_load(r) * x0;
            a1 += tf__v16_load(r + U) * x0;
            a2 += tf__v16_load(r + 2 * U) * x0;
            a3 += tf__v16_load(r + 3 * U) * x0;
        }
        finish(a0 + b0 + gate_in(gx + j0, bias + j0, 0, H, n), a1 + b1 + gate_in(gx + j0, bias + j0, 1, H, n),
               a2 + b2 + gate_in(gx + j0, bias + j0, 2, H, n), a3 + b3 + gate_in(gx + j0, bias + j0, 3, H, n),
               c + j0, c + j0, hn + j0, n);
    }
}

TF__V16_INLINE void gates_body(int64_t H, int64_t m, const float *g, int64_t ldg, const float *table,
                               const int32_t *tok, const float *bias, float *c, float *h)
{
    for (int64_t b = 0; b < m; b++) {
        const float *gr = g + b * ldg, *xr = table ? table + (int64_t)tok[b] * 4 * H : NULL;
        /* The next row's table row is fetched during this row (they are far apart in memory). */
        const float *xn = table && b + 1 < m ? table + (int64_t)tok[b + 1] * 4 * H : NULL;
        float *cr = c + b * H, *hr = h + b * H;
        for (int64_t j0 = 0; j0 < H; j0 += U) {
            const int64_t n = H - j0 < U ? H - j0 : U;
            tf__v16 z[4];
            for (int64_t q = 0; q < 4; q++) {
                z[q] = gate_in(gr + j0, bias + j0, q, H, n);
                if (xr)
                    z[q] += n == U ? tf__v16_load(xr + j0 + q * H) : tf__v16_load_n(xr + j0 + q * H, n);
                if (xn)
                    TF__PRED_PREFETCH(xn + j0 + q * H);
            }
            finish(z[0], z[1], z[2], z[3], cr + j0, cr + j0, hr + j0, n);
        }
    }
}

#define STEP1_ARGS                                                                                 \
    int64_t H, const float *wp, const float *gx, const float *gx_next, const float *bias, const float *h,     \
        float *hn, float *c, int64_t blk0, int64_t blk1
#define GATES_ARGS                                                                                 \
    int64_t H, int64_t m, const float *g, int64_t ldg, const float *table, const int32_t *tok, const float *bias, \
        float *c, float *h

static void step1_base(STEP1_ARGS)
{
    step1_body(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 0);
}

static void gates_base(GATES_ARGS)
{
    gates_body(H, m, g, ldg, table, tok, bias, c, h);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TF__STEP_LEVELS 1
__attribute__((target("arch=x86-64-v3"))) static void step1_v3(STEP1_ARGS)
{
    step1_body(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 0);
}

__attribute__((target("arch=x86-64-v4"))) static void step1_v4(STEP1_ARGS)
{
    step1_body(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 1);
}

__attribute__((target("arch=x86-64-v3"))) static void gates_v3(GATES_ARGS)
{
    gates_body(H, m, g, ldg, table, tok, bias, c, h);
}

__attribute__((target("arch=x86-64-v4"))) static void gates_v4(GATES_ARGS)
{
    gates_body(H, m, g, ldg, table, tok, bias, c, h);
}
#endif

static atomic_int forced = -1;

int tf__pred_step_best(void)
{
#if defined(TF__STEP_LEVELS)
    if (__builtin_cpu_supports("x86-64-v4"))
        return 4;
    if (__builtin_cpu_supports("x86-64-v3"))
        return 3;
#endif
    return 0;
}

void tf__pred_step_force(int level)
{
    atomic_store(&forced, level);
}

#if defined(TF__STEP_LEVELS)
/* The level in use: the forced one where the CPU has it, else the best. */
static int level(void)
{
    const int f = atomic_load_explicit(&forced, memory_order_relaxed), best = tf__pred_step_best();
    return f >= 0 && f <= best ? f : best;
}
#endif

void tf__pred_step1(STEP1_ARGS)
{
#if defined(TF__STEP_LEVELS)
    switch (level()) {
    case 4:
        step1_v4(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
        return;
    case 3:
        step1_v3(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
        return;
    default:
        break;
    }
#endif
    step1_base(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
}

void tf__pred_gates(GATES_ARGS)
{
#if defined(TF__STEP_LEVELS)
    switch (level()) {
    case 4:
        gates_v4(H, m, g, ldg, table, tok, bias, c, h);
        return;
    case 3:
        gates_v3(H, m, g, ldg, table, tok, bias, c, h);
        return;
    default:
        break;
    }
#endif
    gates_base(H, m, g, ldg, table, tok, bias, c, h);
}
