/* SPDX-License-Identifier: MIT */
/* The GRU cell (torch.nn.GRU), one direction of one layer, forward and backward over all steps, on
 * the contract of cell.h:
 *
 *   gate order r, z, n: w_ih (3H, I), w_hh (3H, H), b_ih (3H), b_hh (3H)
 *   r = sig(x W_ir^T + b_ir + h W_hr^T + b_hr),  z = sig(.. z ..)
 *   n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),  h' = (1 - z) * n + z * h
 *
 * Fast path, as the LSTM's: the input projection of all T*B rows is one GEMM straight into the
 * cache; each step's recurrent product h W_hh^T (M = B) goes through the shared per-step GEMM
 * (step_gemm.h over W_hh packed once per call for small batches, tf__sgemm otherwise),
 * then vectorised activations over the row. Backward: newest step first, the gate gradients of a
 * step, then dh = dGh W_hh + dh' * z; after the loop the weight and input gradients are one GEMM
 * each over all steps. The reference (tests/support/ref/gru_ref.c) checks it.
 *
 * Cache (floats): per row t*B + b, 4H: activated r, z, n and hn = h W_hn^T + b_hn (the recurrent
 * part of n, needed for dr); then the hidden states, (T+1)*B*H, slots ordered as the LSTM's.
 * Work: forward: the bias (4H: r and z sums, b_in, b_hn), one step's product gh (B*3H), and
 *   without a cache the gates (T*B*4H) and two h slots (2*B*H); backward: the gate gradients of
 *   the input side dGi and of the recurrent side dGh (T*B*3H each; they differ in n: dGh_n =
 *   dGi_n * r), dh in two slots (2*B*H), the bias sums (3H); then, for small batches, W_hh packed
 *   for either direction's per-step product. */
#include "cell.h"
#include "lstm_kernel.h"
#include "step_gemm.h"
#include "transfer/nn.h"
#include "../tensor/blas.h"

#include <string.h>

static size_t gru_cache_floats(const tf__cell_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    return 4 * H * T * B + H * (T + 1) * B;
}

/* Offset of the packed weights in the work: after the larger of the two directions' layouts. */
static size_t packed_offset(const tf__cell_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    const size_t fwd = 4 * H + 3 * B * H + 4 * H * T * B + 2 * B * H;
    const size_t bwd = 6 * H * T * B + 2 * B * H + 3 * H;
    return fwd > bwd ? fwd : bwd;
}

static size_t packed_size(const tf__cell_shape_t *s)
{
    const int64_t H = s->hidden_size;
    if (!tf__cell_use_packed(s->batch, H))
        return 0;
    const size_t f = tf__step_gemm_packed_floats_max(H, 3 * H),
                 b = tf__step_gemm_packed_floats_max(3 * H, H);
    return f > b ? f : b;
}

static size_t gru_work_floats(const tf__cell_shape_t *s)
{
    return packed_offset(s) + packed_size(s);
}

/* One valid row of a forward step: g holds x W_ih^T (r, z, n) and gets the activated gates and hn;
 * gh is the row's h W_hh^T. */
static void fwd_row(int64_t H, float *g, const float *gh, const float *bias, const float *hp, float *hn, float *y)
{
    const float *brz = bias, *b_in = bias + 2 * H, *b_hn = bias + 3 * H;
    for (int64_t j = 0; j < 2 * H; j++)
        g[j] += brz[j] + gh[j];
    tf__lstm_sigmoid_n(g, g, 2 * H);
    float *n = g + 2 * H, *hr = g + 3 * H;
    for (int64_t j = 0; j < H; j++) {
        hr[j] = gh[2 * H + j] + b_hn[j];
        n[j] += b_in[j] + g[j] * hr[j];
    }
    tf__lstm_tanh_n(n, n, H);
    const float *z = g + H;
    for (int64_t j = 0; j < H; j++) {
        const float h = n[j] + z[j] * (hp[j] - n[j]);
        hn[j] = h;
        if (y)
            y[j] = h;
    }
}

static void gru_forward(const tf__cell_shape_t *s,
                        int reverse,
                        const float *x,
                        int64_t ldx,
                        const int32_t *lengths,
                        const float *w_ih,
                        const float *w_hh,
                        const float *b_ih,
                        const float *b_hh,
                        const float *h0,
                        const float *c0,
                        float *y,
                        int64_t ldy,
                        float *h_n,
                        float *c_n,
                        float *cache,
                        float *work)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H, H3 = 3 * H, H4 = 4 * H, TB = T * B;
    (void)c0;
    (void)c_n;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    float *bias = work, *gh = work + H4;
    float *gates, *hs;
    if (cache) {
        gates = cache;
        hs = cache + TB * H4;
    } else {
        gates = gh + B * H3;
        hs = gates + TB * H4; /* two slots used in turn */
    }
    for (int64_t j = 0; j < H3; j++)
        bias[j] = (b_ih ? b_ih[j] : 0.0f) + (j < 2 * H && b_hh ? b_hh[j] : 0.0f);
    for (int64_t j = 0; j < H; j++)
        bias[H3 + j] = b_hh ? b_hh[2 * H + j] : 0.0f;
    float *packed = packed_size(s) ? work + packed_offset(s) : NULL;
    tf__step_gemm_t gemm = {0};
    if (packed) {
        tf__step_gemm_plan(&gemm, B, H3, H, H, H3, 0);
        tf__step_gemm_pack(&gemm, packed, w_hh, 1);
    }

    float *h_init = hs + (cache && reverse ? T * BH : 0);
    if (h0)
        memcpy(h_init, h0, (size_t)BH * sizeof(float));
    else
        memset(h_init, 0, (size_t)BH * sizeof(float));
    if (I > 0)
        tf__sgemm(s->threads, 0, 1, TB, H3, I, 1.0f, x, ldx, w_ih, I, 0.0f, gates, H4);
    else
        for (int64_t r = 0; r < TB; r++)
            memset(gates + r * H4, 0, (size_t)H3 * sizeof(float));

    for (int64_t k = 0; k < T; k++) {
        const int64_t t = reverse ? T - 1 - k : k;
        const float *hp;
        float *hn;
        if (cache) {
            hp = hs + (reverse ? t + 1 : t) * BH;
            hn = hs + (reverse ? t : t + 1) * BH;
        } else {
            hp = hs + (k % 2) * BH;
            hn = hs + ((k + 1) % 2) * BH;
        }
        if (k == 0 && h0 == NULL)
            memset(gh, 0, (size_t)(B * H3) * sizeof(float)); /* h = 0 */
        else if (packed)
            tf__step_gemm_run(&gemm, hp, packed, 0, H3, gh);
        else
            tf__sgemm(s->threads, 0, 1, B, H3, H, 1.0f, hp, H, w_hh, H, 0.0f, gh, H3);
        for (int64_t b = 0; b < B; b++) {
            float *g = gates + (t * B + b) * H4;
            float *yrow = y ? y + (t * B + b) * ldy : NULL;
            if (lengths && t >= (int64_t)lengths[b]) {
                memcpy(hn + b * H, hp + b * H, (size_t)H * sizeof(float));
                memset(g, 0, (size_t)H4 * sizeof(float));
                if (yrow)
                    memset(yrow, 0, (size_t)H * sizeof(float));
                continue;
            }
            fwd_row(H, g, gh + b * H3, bias, hp + b * H, hn + b * H, yrow);
        }
    }
    const float *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    if (h_n)
        memcpy(h_n, h_last, (size_t)BH * sizeof(float));
}

/* One valid row of a backward step: the gate gradients from the cached gates, h_prev and the
 * incoming dh (carried plus dy). */
static void bwd_row(int64_t H, const float *g, const float *hp, const float *dh, const float *dy, float *dgi, float *dgh)
{
    const float *r = g, *z = g + H, *n = g + 2 * H, *hr = g + 3 * H;
    for (int64_t j = 0; j < H; j++) {
        const float dht = dh[j] + (dy ? dy[j] : 0.0f);
        const float dn = dht * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
        const float dz = dht * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
        const float dr = dn * hr[j] * r[j] * (1.0f - r[j]);
        dgi[j] = dgh[j] = dr;
        dgi[H + j] = dgh[H + j] = dz;
        dgi[2 * H + j] = dn;
        dgh[2 * H + j] = dn * r[j];
    }
}

static void gru_backward(const tf__cell_shape_t *s,
                         int reverse,
                         const float *x,
                         int64_t ldx,
                         const int32_t *lengths,
                         const float *w_ih,
                         const float *w_hh,
                         const float *h0,
                         const float *c0,
                         const float *dy,
                         int64_t lddy,
                         const float *dh_n,
                         const float *dc_n,
                         const float *cache,
                         float *work,
                         float *dx,
                         int64_t lddx,
                         float *dw_ih,
                         float *dw_hh,
                         float *db_ih,
                         float *db_hh,
                         float *dh0,
                         float *dc0)
{
    const int64_t H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H, H3 = 3 * H, H4 = 4 * H, TB = T * B;
    (void)h0;
    (void)c0;
    (void)dc_n;
    (void)dc0;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    const float *gates = cache, *hs = cache + TB * H4;
    float *dGi = work, *dGh = dGi + TB * H3, *dhs[2] = {dGh + TB * H3, dGh + TB * H3 + BH};
    float *dbias = dhs[1] + BH;
    if (dh_n)
        memcpy(dhs[0], dh_n, (size_t)BH * sizeof(float));
    else
        memset(dhs[0], 0, (size_t)BH * sizeof(float));
    float *packed = packed_size(s) ? work + packed_offset(s) : NULL;
    tf__step_gemm_t gemm = {0};
    if (packed) {
        tf__step_gemm_plan(&gemm, B, H, H3, H3, H, 0);
        tf__step_gemm_pack(&gemm, packed, w_hh, 0);
    }

    for (int64_t stage = 0; stage < T; stage++) {
        const int64_t k = T - 1 - stage, t = reverse ? T - 1 - k : k;
        const float *hp = hs + (reverse ? t + 1 : t) * BH;
        const float *dh = dhs[stage % 2];
        float *dh_prev = dhs[(stage + 1) % 2];
        const float *dyt = dy ? dy + t * B * lddy : NULL;
        float *dgi = dGi + t * B * H3, *dgh = dGh + t * B * H3;
        for (int64_t b = 0; b < B; b++) {
            if (lengths && t >= (int64_t)lengths[b]) {
                memset(dgi + b * H3, 0, (size_t)H3 * sizeof(float));
                memset(dgh + b * H3, 0, (size_t)H3 * sizeof(float));
                continue;
            }
            bwd_row(H, gates + (t * B + b) * H4, hp + b * H, dh + b * H, dyt ? dyt + b * lddy : NULL,
                    dgi + b * H3, dgh + b * H3);
        }
        if (stage == T - 1 && dh0 == NULL)
            break;
        if (packed)
            tf__step_gemm_run(&gemm, dgh, packed, 0, H, dh_prev);
        else
            tf__sgemm(s->threads, 0, 0, B, H, H3, 1.0f, dgh, H3, w_hh, H, 0.0f, dh_prev, H);
        for (int64_t b = 0; b < B; b++) {
            float *o = dh_prev + b * H;
            const float *i = dh + b * H;
            if (lengths && t >= (int64_t)lengths[b]) {
                memcpy(o, i, (size_t)H * sizeof(float)); /* padded: the gradient passes through */
                continue;
            }
            const float *z = gates + (t * B + b) * H4 + H, *dyr = dyt ? dyt + b * lddy : NULL;
            for (int64_t j = 0; j < H; j++)
                o[j] += (i[j] + (dyr ? dyr[j] : 0.0f)) * z[j];
        }
    }
    if (dh0) {
        const float *dh_last = dhs[T % 2];
        for (int64_t e = 0; e < BH; e++)
            dh0[e] += dh_last[e];
    }
    if (db_ih) {
        memset(dbias, 0, (size_t)H3 * sizeof(float));
        tf__cell_column_sums(dbias, dGi, TB, H3, s->threads);
        for (int64_t j = 0; j < H3; j++)
            db_ih[j] += dbias[j];
    }
    if (db_hh) {
        memset(dbias, 0, (size_t)H3 * sizeof(float));
        tf__cell_column_sums(dbias, dGh, TB, H3, s->threads);
        for (int64_t j = 0; j < H3; j++)
            db_hh[j] += dbias[j];
    }
    tf__cell_weight_grads(s, H3, dGi, dGh, x, ldx, hs + (reverse ? BH : 0), w_ih, dx, lddx, dw_ih, dw_hh);
}

/* The GRU's entry in the cell table (cell.c). */
const tf__cell_ops_t tf__gru_cell = {"gru", "GRU", TF_MODULE_GRU, 3, 0, gru_cache_floats,
                                     gru_work_floats, gru_forward, gru_backward};
