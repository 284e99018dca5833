/* SPDX-License-Identifier: MIT */
/* Plain reference GRU (one direction of one layer, torch.nn.GRU's equations): step by step, row by
 * row, no BLAS, libm activations, written from the equations to check the fast path (lib/nn/gru.c)
 * against:
 *   r = sig(W_ir x + b_ir + W_hr h + b_hr), z = sig(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h
 * Same contract and cache layout as the fast path (per row r, z, n, W_hn h + b_hn; then (T+1)*B*H
 * hidden states); its work is within the fast path's size.
 *
 * Like lstm_ref.c, the scalar type and names are macros so a test can compile it again in double:
 * GRU_REF_REAL, GRU_REF_NAME(n), GRU_REF_LINKAGE, GRU_REF_EXP, GRU_REF_TANH. */
#ifndef GRU_REF_REAL
#include "cell_ref.h"
#define GRU_REF_REAL float
#define GRU_REF_NAME(n) n
#define GRU_REF_LINKAGE
#define GRU_REF_EXP expf
#define GRU_REF_TANH tanhf
#endif

#include <math.h>
#include <string.h>

typedef GRU_REF_REAL gru_ref_real;

static gru_ref_real GRU_REF_NAME(gru_sigmoid)(gru_ref_real x)
{
    return (gru_ref_real)1 / ((gru_ref_real)1 + GRU_REF_EXP(-x));
}

/* Row j of W (cols wide) times v, plus b[j] (b may be NULL). */
static gru_ref_real GRU_REF_NAME(gru_dot)(const gru_ref_real *w, int64_t cols, int64_t j, const gru_ref_real *v,
                                          const gru_ref_real *b)
{
    gru_ref_real acc = b ? b[j] : 0;
    for (int64_t p = 0; p < cols; p++)
        acc += w[j * cols + p] * v[p];
    return acc;
}

GRU_REF_LINKAGE void GRU_REF_NAME(tf__gru_forward_ref)(const tf__cell_shape_t *s,
                                                       int reverse,
                                                       const gru_ref_real *x,
                                                       int64_t ldx,
                                                       const int32_t *lengths,
                                                       const gru_ref_real *w_ih,
                                                       const gru_ref_real *w_hh,
                                                       const gru_ref_real *b_ih,
                                                       const gru_ref_real *b_hh,
                                                       const gru_ref_real *h0,
                                                       const gru_ref_real *c0,
                                                       gru_ref_real *y,
                                                       int64_t ldy,
                                                       gru_ref_real *h_n,
                                                       gru_ref_real *c_n,
                                                       gru_ref_real *cache,
                                                       gru_ref_real *work)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch, BH = B * H;
    (void)c0;
    (void)c_n;
    gru_ref_real *gates = cache ? cache : work;       /* without a cache: one row at a time */
    gru_ref_real *hs = cache ? cache + T * B * 4 * H : work + 4 * H; /* without: two slots */
    gru_ref_real *h_init = hs + (cache && reverse ? T * BH : 0);
    for (int64_t e = 0; e < BH; e++)
        h_init[e] = h0 ? h0[e] : 0;
    for (int64_t k = 0; k < T; k++) {
        const int64_t t = reverse ? T - 1 - k : k;
        const gru_ref_real *hp;
        gru_ref_real *hn;
        if (cache) {
            hp = hs + (reverse ? t + 1 : t) * BH;
            hn = hs + (reverse ? t : t + 1) * BH;
        } else {
            hp = hs + (k % 2) * BH;
            hn = hs + ((k + 1) % 2) * BH;
        }
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            gru_ref_real *g = cache ? gates + row * 4 * H : gates;
            gru_ref_real *yrow = y ? y + row * ldy : NULL;
            if (lengths != NULL && t >= (int64_t)lengths[b]) {
                for (int64_t j = 0; j < H; j++) {
                    hn[b * H + j] = hp[b * H + j];
                    if (yrow)
                        yrow[j] = 0;
                }
                for (int64_t j = 0; j < 4 * H; j++)
                    g[j] = 0;
                continue;
            }
            const gru_ref_real *xr = x + row * ldx, *h = hp + b * H;
            for (int64_t j = 0; j < H; j++) {
                const gru_ref_real r = GRU_REF_NAME(gru_sigmoid)(GRU_REF_NAME(gru_dot)(w_ih, I, j, xr, b_ih) +
                                                                 GRU_REF_NAME(gru_dot)(w_hh, H, j, h, b_hh));
                const gru_ref_real z = GRU_REF_NAME(gru_sigmoid)(
                    GRU_REF_NAME(gru_dot)(w_ih, I, H + j, xr, b_ih) + GRU_REF_NAME(gru_dot)(w_hh, H, H + j, h, b_hh));
                const gru_ref_real hr = GRU_REF_NAME(gru_dot)(w_hh, H, 2 * H + j, h, b_hh);
                const gru_ref_real n = GRU_REF_TANH(GRU_REF_NAME(gru_dot)(w_ih, I, 2 * H + j, xr, b_ih) + r * hr);
                g[j] = r;
                g[H + j] = z;
                g[2 * H + j] = n;
                g[3 * H + j] = hr;
            }
            for (int64_t j = 0; j < H; j++) {
                const gru_ref_real hv = (1 - g[H + j]) * g[2 * H + j] + g[H + j] * h[j];
                hn[b * H + j] = hv;
                if (yrow)
                    yrow[j] = hv;
            }
        }
    }
    const gru_ref_real *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    for (int64_t e = 0; e < BH && h_n; e++)
        h_n[e] = h_last[e];
}

/* Backward through time, newest step first; each valid row adds its outer products to the weight
 * gradients directly. `work`: dh and dh_new (B*H each), one row's gate gradients (6H). */
GRU_REF_LINKAGE void GRU_REF_NAME(tf__gru_backward_ref)(const tf__cell_shape_t *s,
                                                        int reverse,
                                                        const gru_ref_real *x,
                                                        int64_t ldx,
                                                        const int32_t *lengths,
                                                        const gru_ref_real *w_ih,
                                                        const gru_ref_real *w_hh,
                                                        const gru_ref_real *h0,
                                                        const gru_ref_real *c0,
                                                        const gru_ref_real *dy,
                                                        int64_t lddy,
                                                        const gru_ref_real *dh_n,
                                                        const gru_ref_real *dc_n,
                                                        const gru_ref_real *cache,
                                                        gru_ref_real *work,
                                                        gru_ref_real *dx,
                                                        int64_t lddx,
                                                        gru_ref_real *dw_ih,
                                                        gru_ref_real *dw_hh,
                                                        gru_ref_real *db_ih,
                                                        gru_ref_real *db_hh,
                                                        gru_ref_real *dh0,
                                                        gru_ref_real *dc0)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch, BH = B * H;
    (void)h0;
    (void)c0;
    (void)dc_n;
    (void)dc0;
    const gru_ref_real *gates = cache, *hs = cache + T * B * 4 * H;
    gru_ref_real *dh = work, *dh_new = work + BH, *dgi = work + 2 * BH, *dgh = dgi + 3 * H;
    for (int64_t e = 0; e < BH; e++)
        dh[e] = dh_n ? dh_n[e] : 0;
    for (int64_t k = T - 1; k >= 0; k--) {
        const int64_t t = reverse ? T - 1 - k : k;
        const gru_ref_real *hp = hs + (reverse ? t + 1 : t) * BH;
        memcpy(dh_new, dh, (size_t)BH * sizeof *dh); /* padded rows pass dh through */
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            if (lengths != NULL && t >= (int64_t)lengths[b])
                continue;
            const gru_ref_real *g = gates + row * 4 * H, *h = hp + b * H, *xr = x + row * ldx;
            for (int64_t j = 0; j < H; j++) {
                const gru_ref_real r = g[j], z = g[H + j], n = g[2 * H + j], hr = g[3 * H + j];
                const gru_ref_real dht = dh[b * H + j] + (dy ? dy[row * lddy + j] : 0);
                const gru_ref_real dn = dht * (1 - z) * (1 - n * n);
                dgi[j] = dgh[j] = dn * hr * r * (1 - r);
                dgi[H + j] = dgh[H + j] = dht * (h[j] - n) * z * (1 - z);
                dgi[2 * H + j] = dn;
                dgh[2 * H + j] = dn * r;
                dh_new[b * H + j] = dht * z;
            }
            for (int64_t q = 0; q < 3 * H; q++) {
                for (int64_t p = 0; p < H; p++)
                    dh_new[b * H + p] += dgh[q] * w_hh[q * H + p];
                for (int64_t p = 0; p < I && dx; p++)
                    dx[row * lddx + p] += dgi[q] * w_ih[q * I + p];
                for (int64_t p = 0; p < I && dw_ih; p++)
                    dw_ih[q * I + p] += dgi[q] * xr[p];
                for (int64_t p = 0; p < H && dw_hh; p++)
                    dw_hh[q * H + p] += dgh[q] * h[p];
                if (db_ih)
                    db_ih[q] += dgi[q];
                if (db_hh)
                    db_hh[q] += dgh[q];
            }
        }
        memcpy(dh, dh_new, (size_t)BH * sizeof *dh);
    }
    for (int64_t e = 0; e < BH && dh0; e++)
        dh0[e] += dh[e];
}
