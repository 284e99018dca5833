/* SPDX-License-Identifier: MIT */
/* Plain reference LSTM (one direction of one layer): step by step, row by row, no BLAS, libm
 * activations. It follows the contract of lstm_kernel.h and the same cache layout as the fast path
 * (see lstm_kernel.c), and exists to be read and to check the fast path against.
 *
 * The scalar type and the names are macros so the tests can compile this file a second time in
 * double precision (for finite differences): they define LSTM_REF_REAL double, LSTM_REF_NAME(n)
 * n##_f64 and LSTM_REF_LINKAGE static, then #include this file. The library build uses float and
 * the names of cell_ref.h (the float build is the tests' support library, never libtransfer). */
#ifndef LSTM_REF_REAL
#include "cell_ref.h"
#define LSTM_REF_REAL float
#define LSTM_REF_NAME(n) n
#define LSTM_REF_LINKAGE
#define LSTM_REF_EXP expf
#define LSTM_REF_TANH tanhf
#endif

#include <math.h>
#include <string.h>

typedef LSTM_REF_REAL lstm_ref_real;

static lstm_ref_real LSTM_REF_NAME(ref_sigmoid)(lstm_ref_real x)
{
    return (lstm_ref_real)1 / ((lstm_ref_real)1 + LSTM_REF_EXP(-x));
}

/* Time index processed at position k of the direction's order. */
static int64_t LSTM_REF_NAME(ref_time)(int64_t k, int64_t T, int reverse)
{
    return reverse ? T - 1 - k : k;
}

static int LSTM_REF_NAME(ref_valid)(const int32_t *lengths, int64_t t, int64_t b)
{
    return lengths == NULL || t < (int64_t)lengths[b];
}

/* Cache layout (shared with the fast path):
 *   gates: T*B*4H activated gates i, f, g, o of row t*B + b (zero at padded steps),
 *   hs:    (T+1)*B*H hidden states, cs: (T+1)*B*H cell states. Slot s holds the state between
 *          steps: forward uses slot t as the input of step t and slot t+1 as its output, reverse
 *          slot t+1 as input and slot t as output; so h0/c0 sit in slot 0 (forward) or T (reverse).
 * Without a cache (inference) the reference keeps only the current state, in `work`. */
LSTM_REF_LINKAGE void LSTM_REF_NAME(tf__lstm_forward_ref)(const tf__lstm_shape_t *s,
                                                          int reverse,
                                                          const lstm_ref_real *x,
                                                          int64_t ldx,
                                                          const int32_t *lengths,
                                                          const lstm_ref_real *w_ih,
                                                          const lstm_ref_real *w_hh,
                                                          const lstm_ref_real *b_ih,
                                                          const lstm_ref_real *b_hh,
                                                          const lstm_ref_real *h0,
                                                          const lstm_ref_real *c0,
                                                          lstm_ref_real *y,
                                                          int64_t ldy,
                                                          lstm_ref_real *h_n,
                                                          lstm_ref_real *c_n,
                                                          lstm_ref_real *cache,
                                                          lstm_ref_real *work)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H;
    lstm_ref_real *gates, *hs, *cs;
    if (cache) {
        gates = cache;
        hs = gates + T * B * 4 * H;
        cs = hs + (T + 1) * BH;
    } else {
        gates = work; /* only one row of gates is needed at a time */
        hs = work + 4 * H;
        cs = hs + 2 * BH; /* h: two slots used in turn; c: one, updated in place */
    }
    /* The initial state. */
    lstm_ref_real *h_init = hs + (cache && reverse ? T * BH : 0);
    lstm_ref_real *c_init = cs + (cache && reverse ? T * BH : 0);
    for (int64_t e = 0; e < BH; e++) {
        h_init[e] = h0 ? h0[e] : 0;
        c_init[e] = c0 ? c0[e] : 0;
    }
    for (int64_t k = 0; k < T; k++) {
        const int64_t t = LSTM_REF_NAME(ref_time)(k, T, reverse);
        const lstm_ref_real *hp, *cp;
        lstm_ref_real *hn, *cn;
        if (cache) {
            const int64_t in = reverse ? t + 1 : t, out = reverse ? t : t + 1;
            hp = hs + in * BH;
            cp = cs + in * BH;
            hn = hs + out * BH;
            cn = cs + out * BH;
        } else {
            hp = hs + (k % 2) * BH;
            hn = hs + ((k + 1) % 2) * BH;
            cp = cs;
            cn = cs;
        }
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            lstm_ref_real *g = cache ? gates + row * 4 * H : gates;
            lstm_ref_real *yrow = y ? y + row * ldy : NULL;
            if (!LSTM_REF_NAME(ref_valid)(lengths, t, b)) {
                /* Padded step: the state carries over, the output is zero. */
                for (int64_t j = 0; j < H; j++) {
                    hn[b * H + j] = hp[b * H + j];
                    cn[b * H + j] = cp[b * H + j];
                    if (yrow)
                        yrow[j] = 0;
                }
                for (int64_t j = 0; j < 4 * H; j++)
                    g[j] = 0;
                continue;
            }
            /* Pre-activations: W_ih x + b_ih + W_hh h + b_hh. */
            for (int64_t j = 0; j < 4 * H; j++) {
                lstm_ref_real z = (b_ih ? b_ih[j] : 0) + (b_hh ? b_hh[j] : 0);
                for (int64_t p = 0; p < I; p++)
                    z += w_ih[j * I + p] * x[row * ldx + p];
                for (int64_t p = 0; p < H; p++)
                    z += w_hh[j * H + p] * hp[b * H + p];
                g[j] = z;
            }
            for (int64_t j = 0; j < H; j++) {
                const lstm_ref_real gi = LSTM_REF_NAME(ref_sigmoid)(g[j]);
                const lstm_ref_real gf = LSTM_REF_NAME(ref_sigmoid)(g[H + j]);
                const lstm_ref_real gg = LSTM_REF_TANH(g[2 * H + j]);
                const lstm_ref_real go = LSTM_REF_NAME(ref_sigmoid)(g[3 * H + j]);
                const lstm_ref_real c = gf * cp[b * H + j] + gi * gg;
                const lstm_ref_real h = go * LSTM_REF_TANH(c);
                g[j] = gi;
                g[H + j] = gf;
                g[2 * H + j] = gg;
                g[3 * H + j] = go;
                cn[b * H + j] = c;
                hn[b * H + j] = h;
                if (yrow)
                    yrow[j] = h;
            }
        }
    }
    const lstm_ref_real *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    const lstm_ref_real *c_last = cache ? cs + (reverse ? 0 : T * BH) : cs;
    for (int64_t e = 0; e < BH; e++) {
        if (h_n)
            h_n[e] = h_last[e];
        if (c_n)
            c_n[e] = c_last[e];
    }
}

/* Backward through time, newest step first. `work` holds the gate gradients of every step
 * (T*B*4H, time-major like the cache) and the carried dh and dc (B*H each). */
LSTM_REF_LINKAGE void LSTM_REF_NAME(tf__lstm_backward_ref)(const tf__lstm_shape_t *s,
                                                           int reverse,
                                                           const lstm_ref_real *x,
                                                           int64_t ldx,
                                                           const int32_t *lengths,
                                                           const lstm_ref_real *w_ih,
                                                           const lstm_ref_real *w_hh,
                                                           const lstm_ref_real *h0,
                                                           const lstm_ref_real *c0,
                                                           const lstm_ref_real *dy,
                                                           int64_t lddy,
                                                           const lstm_ref_real *dh_n,
                                                           const lstm_ref_real *dc_n,
                                                           const lstm_ref_real *cache,
                                                           lstm_ref_real *work,
                                                           lstm_ref_real *dx,
                                                           int64_t lddx,
                                                           lstm_ref_real *dw_ih,
                                                           lstm_ref_real *dw_hh,
                                                           lstm_ref_real *db_ih,
                                                           lstm_ref_real *db_hh,
                                                           lstm_ref_real *dh0,
                                                           lstm_ref_real *dc0)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H, G4 = 4 * H;
    const lstm_ref_real *gates = cache;
    const lstm_ref_real *hs = gates + T * B * G4;
    const lstm_ref_real *cs = hs + (T + 1) * BH;
    lstm_ref_real *dG = work;
    lstm_ref_real *dh = dG + T * B * G4; /* gradient w.r.t. the state entering the next step */
    lstm_ref_real *dc = dh + BH;
    lstm_ref_real *dh_new = dc + BH;
    (void)h0;
    (void)c0;
    for (int64_t e = 0; e < BH; e++) {
        dh[e] = dh_n ? dh_n[e] : 0;
        dc[e] = dc_n ? dc_n[e] : 0;
    }
    for (int64_t k = T - 1; k >= 0; k--) {
        const int64_t t = LSTM_REF_NAME(ref_time)(k, T, reverse);
        const int64_t in = reverse ? t + 1 : t, out = reverse ? t : t + 1;
        const lstm_ref_real *cp = cs + in * BH;
        const lstm_ref_real *cn = cs + out * BH;
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            lstm_ref_real *d = dG + row * G4;
            if (!LSTM_REF_NAME(ref_valid)(lengths, t, b)) {
                for (int64_t j = 0; j < G4; j++)
                    d[j] = 0;
                continue; /* dh, dc pass through unchanged */
            }
            const lstm_ref_real *g = gates + row * G4;
            for (int64_t j = 0; j < H; j++) {
                const lstm_ref_real gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
                const lstm_ref_real tc = LSTM_REF_TANH(cn[b * H + j]);
                const lstm_ref_real dht = dh[b * H + j] + (dy ? dy[row * lddy + j] : 0);
                const lstm_ref_real dct = dc[b * H + j] + dht * go * (1 - tc * tc);
                d[j] = dct * gg * gi * (1 - gi);
                d[H + j] = dct * cp[b * H + j] * gf * (1 - gf);
                d[2 * H + j] = dct * gi * (1 - gg * gg);
                d[3 * H + j] = dht * tc * go * (1 - go);
                dc[b * H + j] = dct * gf;
            }
            /* dh for the previous step: dG W_hh. */
            for (int64_t p = 0; p < H; p++) {
                lstm_ref_real acc = 0;
                for (int64_t j = 0; j < G4; j++)
                    acc += d[j] * w_hh[j * H + p];
                dh_new[b * H + p] = acc;
            }
            for (int64_t p = 0; p < H; p++)
                dh[b * H + p] = dh_new[b * H + p];
        }
    }
    for (int64_t e = 0; e < BH; e++) {
        if (dh0)
            dh0[e] += dh[e];
        if (dc0)
            dc0[e] += dc[e];
    }
    /* Parameter and input gradients, summed over every row. The input of step t is row t of x
     * and the hidden state in slot `in`. */
    for (int64_t t = 0; t < T; t++) {
        const int64_t in = reverse ? t + 1 : t;
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            const lstm_ref_real *d = dG + row * G4;
            const lstm_ref_real *hp = hs + in * BH + b * H;
            for (int64_t j = 0; j < G4; j++) {
                if (db_ih)
                    db_ih[j] += d[j];
                if (db_hh)
                    db_hh[j] += d[j];
                if (dw_ih)
                    for (int64_t p = 0; p < I; p++)
                        dw_ih[j * I + p] += d[j] * x[row * ldx + p];
                if (dw_hh)
                    for (int64_t p = 0; p < H; p++)
                        dw_hh[j * H + p] += d[j] * hp[p];
            }
            if (dx)
                for (int64_t p = 0; p < I; p++) {
                    lstm_ref_real acc = 0;
                    for (int64_t j = 0; j < G4; j++)
                        acc += d[j] * w_ih[j * I + p];
                    dx[row * lddx + p] += acc;
                }
        }
    }
}
