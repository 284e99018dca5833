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
 * step (their sums over rows are the bias gradients), then dh = dGh W_hh + dh' * z; after the loop
 * the weight and input gradients are one GEMM each over all steps. With packed weights and a big
 * enough step, each step is split into blocks of hidden units run by a step team, as the LSTM's
 * (tf__cell_split_steps; the forward then packs W_hh^T gate by gate so that a block's columns are
 * whole panels of each gate, which pads every gate to whole panels: split_pays). The reference (tests/support/ref/gru_ref.c) checks it.
 *
 * Cache (floats): per row t*B + b, 4H: activated r, z, n and hn = h W_hn^T + b_hn (the recurrent
 * part of n, needed for dr); then the hidden states, (T+1)*B*H, slots ordered as the LSTM's.
 * Work: forward: the bias (4H: r and z sums, b_in, b_hn), one step's product gh (B*3H), and
 *   without a cache the gates (T*B*4H) and two h slots (2*B*H); backward: the gate gradients of
 *   the input side dGi and of the recurrent side dGh (T*B*3H each; they differ in n: dGh_n =
 *   dGi_n * r), dh in two slots (2*B*H), the bias sums of each side (2 * 3H); then, for small
 *   batches, W_hh packed for either direction's per-step product. */
#include "cell.h"
#include "lstm_kernel.h"
#include "step_gemm.h"
#include "transfer/nn.h"
#include "../tensor/blas.h"
#include "../core/team.h"

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
    const size_t bwd = 6 * H * T * B + 2 * B * H + 6 * H;
    return fwd > bwd ? fwd : bwd;
}

static size_t packed_size(const tf__cell_shape_t *s)
{
    const int64_t H = s->hidden_size;
    if (!tf__cell_use_packed(s->batch, H))
        return 0;
    /* The forward's three H x H blocks of W_hh^T or the backward's 3H x H W_hh: the same size. */
    return 3 * tf__step_gemm_packed_floats_max(H, H);
}

static size_t gru_work_floats(const tf__cell_shape_t *s)
{
    return packed_offset(s) + packed_size(s);
}

/* Hidden units j0..j1-1 of one valid row of a forward step: g holds x W_ih^T (r, z, n) and gets
 * the activated gates and hn; gh is the row's h W_hh^T. */
static void fwd_row(int64_t H, float *g, const float *gh, const float *bias, const float *hp, float *hn,
                    float *y, int64_t j0, int64_t j1)
{
    const int64_t w = j1 - j0;
    float *r = g, *z = g + H, *n = g + 2 * H, *hr = g + 3 * H;
    for (int64_t j = j0; j < j1; j++) {
        r[j] += bias[j] + gh[j];
        z[j] += bias[H + j] + gh[H + j];
    }
    tf__lstm_sigmoid_n(r + j0, r + j0, w);
    tf__lstm_sigmoid_n(z + j0, z + j0, w);
    const float *b_in = bias + 2 * H, *b_hn = bias + 3 * H;
    for (int64_t j = j0; j < j1; j++) {
        hr[j] = gh[2 * H + j] + b_hn[j];
        n[j] += b_in[j] + r[j] * hr[j];
    }
    tf__lstm_tanh_n(n + j0, n + j0, w);
    for (int64_t j = j0; j < j1; j++) {
        const float h = n[j] + z[j] * (hp[j] - n[j]);
        hn[j] = h;
        if (y)
            y[j] = h;
    }
}

typedef struct fwd_job {
    int64_t H, B, T;
    int reverse, has_h0, cached;
    const int32_t *lengths;
    float *gates, *hs, *gh, *y;
    const float *bias, *packed, *w_hh;
    int64_t ldy, unit_block;
    int32_t gemm_threads; /* of the per-step product: 1 when the steps are split over a team */
    int gated;            /* W_hh^T packed gate by gate (split steps), else whole */
    tf__step_gemm_t gemm; /* of one gate's H x H block or of the whole, when packed */
} fwd_job_t;

/* Step k of the forward loop for the hidden units of block `blk`: their columns of the recurrent
 * product of each gate, then their part of every row. */
static void fwd_chunk(void *arg, int64_t k, int64_t blk)
{
    const fwd_job_t *J = arg;
    const int64_t H = J->H, B = J->B, BH = B * H, H3 = 3 * H, H4 = 4 * H;
    const int64_t t = J->reverse ? J->T - 1 - k : k;
    const int64_t j0 = blk * J->unit_block, j1 = j0 + J->unit_block < H ? j0 + J->unit_block : H;
    const size_t w = (size_t)(j1 - j0) * sizeof(float);
    const float *hp;
    float *hn;
    if (J->cached) {
        hp = J->hs + (J->reverse ? t + 1 : t) * BH;
        hn = J->hs + (J->reverse ? t : t + 1) * BH;
    } else {
        hp = J->hs + (k % 2) * BH;
        hn = J->hs + ((k + 1) % 2) * BH;
    }
    float *gh = J->gh;
    if (k == 0 && !J->has_h0) {
        for (int64_t b = 0; b < B; b++) /* h = 0 */
            for (int64_t q = 0; q < 3; q++)
                memset(gh + b * H3 + q * H + j0, 0, w);
    } else if (J->packed) {
        if (J->gated)
            tf__cell_run_gates(&J->gemm, 3, hp, J->packed, j0, j1, gh);
        else
            tf__step_gemm_run(&J->gemm, hp, J->packed, 0, H3, gh); /* one block: all of W_hh^T */
    } else {
        tf__sgemm(J->gemm_threads, 0, 1, B, H3, H, 1.0f, hp, H, J->w_hh, H, 0.0f, gh, H3);
    }
    for (int64_t b = 0; b < B; b++) {
        float *g = J->gates + (t * B + b) * H4;
        float *yrow = J->y ? J->y + (t * B + b) * J->ldy : NULL;
        if (J->lengths && t >= (int64_t)J->lengths[b]) {
            memcpy(hn + b * H + j0, hp + b * H + j0, w);
            for (int64_t q = 0; q < 4; q++)
                memset(g + q * H + j0, 0, w);
            if (yrow)
                memset(yrow + j0, 0, w);
            continue;
        }
        fwd_row(H, g, gh + b * H3, J->bias, hp + b * H, hn + b * H, yrow, j0, j1);
    }
}

/* Whether a split can pay: packed gate by gate, each gate's H columns are padded to whole panels of
 * pw, which must add at most 1/8 to the product (H = 200 with panels of 64 adds 28%, and its split
 * measured slower than one thread; H = 256 and 512 gained). */
static int split_pays(int64_t H, int64_t pw)
{
    return pw > 0 && 8 * ((H + pw - 1) / pw * pw) <= 9 * H;
}

/* The split of a call's time loop, from a plan of the forward's whole product (for its pw). */
static tf__cell_split_t gru_split(const tf__cell_shape_t *s, const tf__step_gemm_t *whole)
{
    return tf__cell_split_steps(s, 3, split_pays(s->hidden_size, whole->pw) ? whole->pw : 0);
}

int64_t tf__gru_time_loop_blocks(const tf__cell_shape_t *s)
{
    if (!tf__cell_use_packed(s->batch, s->hidden_size))
        return 1;
    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, s->batch, 3 * s->hidden_size, s->hidden_size, s->hidden_size,
                       3 * s->hidden_size, 0);
    return gru_split(s, &g).blocks;
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
    /* W_hh^T packed whole, or gate by gate when the steps are split. */
    float *packed = packed_size(s) ? work + packed_offset(s) : NULL;
    tf__step_gemm_t gemm = {0};
    tf__cell_split_t sp = {1, H, 1};
    if (packed) {
        tf__step_gemm_plan(&gemm, B, H3, H, H, H3, 0);
        sp = gru_split(s, &gemm);
        if (sp.threads > 1)
            tf__cell_pack_gates(&gemm, 3, B, H, 0, TF__STEP_XSMM_PANEL, w_hh, packed);
        else
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

    fwd_job_t job = {H,      B,     T,    reverse,       h0 != NULL,
                     cache != NULL, lengths, gates, hs, gh, y, bias, packed, w_hh, ldy, sp.unit_block,
                     sp.threads > 1 ? 1 : s->threads, sp.threads > 1, gemm};
    tf__team_run_steps(sp.threads, T, sp.blocks, fwd_chunk, &job);
    const float *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    if (h_n)
        memcpy(h_n, h_last, (size_t)BH * sizeof(float));
}

/* Hidden units j0..j1-1 of one valid row of a backward step: the gate gradients from the cached
 * gates, h_prev and the incoming dh (carried plus dy), and their running sums dbi, dbh (3H each,
 * the bias gradients; NULL when not wanted). */
static void bwd_row(int64_t H, const float *g, const float *hp, const float *dh, const float *dy,
                    float *dgi, float *dgh, float *dbi, float *dbh, int64_t j0, int64_t j1)
{
    const float *r = g, *z = g + H, *n = g + 2 * H, *hr = g + 3 * H;
    for (int64_t j = j0; j < j1; j++) {
        const float dht = dh[j] + (dy ? dy[j] : 0.0f);
        const float dn = dht * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
        const float dz = dht * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
        const float dr = dn * hr[j] * r[j] * (1.0f - r[j]);
        dgi[j] = dgh[j] = dr;
        dgi[H + j] = dgh[H + j] = dz;
        dgi[2 * H + j] = dn;
        dgh[2 * H + j] = dn * r[j];
    }
    if (dbi)
        for (int64_t j = j0; j < j1; j++) {
            dbi[j] += dgi[j];
            dbi[H + j] += dgi[H + j];
            dbi[2 * H + j] += dgi[2 * H + j];
        }
    if (dbh)
        for (int64_t j = j0; j < j1; j++) {
            dbh[j] += dgh[j];
            dbh[H + j] += dgh[H + j];
            dbh[2 * H + j] += dgh[2 * H + j];
        }
}

typedef struct bwd_job {
    int64_t H, B, T;
    int reverse;
    const int32_t *lengths;
    const float *gates, *hs, *packed, *w_hh, *dy;
    int64_t lddy, unit_block;
    float *dGi, *dGh, *dbi, *dbh;
    float *dh[2]; /* stage s reads dh[s % 2] (carried into its step), writes dh[(s + 1) % 2] */
    int32_t gemm_threads; /* of the per-step product: 1 when the steps are split over a team */
    tf__step_gemm_t gemm; /* dh = dGh W_hh, when packed */
} bwd_job_t;

/* Stage s of the backward loop (newest step first) for the hidden units of block `blk`: the
 * carried dh of those units from the previous stage's gate gradients (dh = dGh W_hh + dh' * z;
 * padded rows pass it through), then the gate gradients of step T-1-s. The extra stage s = T only
 * computes dh (for dh0). */
static void bwd_chunk(void *arg, int64_t stage, int64_t blk)
{
    const bwd_job_t *J = arg;
    const int64_t H = J->H, B = J->B, T = J->T, H3 = 3 * H, H4 = 4 * H;
    const int64_t j0 = blk * J->unit_block, j1 = j0 + J->unit_block < H ? j0 + J->unit_block : H;
    float *dh = J->dh[stage % 2];
    if (stage > 0) {
        const int64_t kp = T - stage, tp = J->reverse ? T - 1 - kp : kp; /* the previous stage's step */
        const float *dgh = J->dGh + tp * B * H3, *dh_in = J->dh[(stage - 1) % 2];
        const float *dyt = J->dy ? J->dy + tp * B * J->lddy : NULL;
        if (J->packed)
            tf__step_gemm_run(&J->gemm, dgh, J->packed, j0, j1, dh);
        else
            tf__sgemm(J->gemm_threads, 0, 0, B, H, H3, 1.0f, dgh, H3, J->w_hh, H, 0.0f, dh, H);
        for (int64_t b = 0; b < B; b++) {
            float *o = dh + b * H;
            const float *i = dh_in + b * H;
            if (J->lengths && tp >= (int64_t)J->lengths[b]) {
                /* padded: the gradient passes through */
                memcpy(o + j0, i + j0, (size_t)(j1 - j0) * sizeof(float));
                continue;
            }
            const float *z = J->gates + (tp * B + b) * H4 + H, *dyr = dyt ? dyt + b * J->lddy : NULL;
            for (int64_t j = j0; j < j1; j++)
                o[j] += (i[j] + (dyr ? dyr[j] : 0.0f)) * z[j];
        }
    }
    if (stage == T)
        return;
    const int64_t k = T - 1 - stage, t = J->reverse ? T - 1 - k : k;
    const float *hp = J->hs + (J->reverse ? t + 1 : t) * B * H;
    const float *dyt = J->dy ? J->dy + t * B * J->lddy : NULL;
    float *dgi = J->dGi + t * B * H3, *dgh = J->dGh + t * B * H3;
    for (int64_t b = 0; b < B; b++) {
        if (J->lengths && t >= (int64_t)J->lengths[b]) {
            for (int64_t q = 0; q < 3; q++) {
                memset(dgi + b * H3 + q * H + j0, 0, (size_t)(j1 - j0) * sizeof(float));
                memset(dgh + b * H3 + q * H + j0, 0, (size_t)(j1 - j0) * sizeof(float));
            }
            continue;
        }
        bwd_row(H, J->gates + (t * B + b) * H4, hp + b * H, dh + b * H, dyt ? dyt + b * J->lddy : NULL,
                dgi + b * H3, dgh + b * H3, J->dbi, J->dbh, j0, j1);
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
    /* The bias gradients of each side, summed by the gate-gradient pass. */
    float *dbi = db_ih ? dhs[1] + BH : NULL, *dbh = db_hh ? dhs[1] + BH + H3 : NULL;
    if (dbi)
        memset(dbi, 0, (size_t)H3 * sizeof(float));
    if (dbh)
        memset(dbh, 0, (size_t)H3 * sizeof(float));
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

    const tf__cell_split_t sp = packed ? gru_split(s, &gemm) : (tf__cell_split_t){1, H, 1};
    bwd_job_t job = {H,   B,   T,   reverse, lengths, gates, hs, packed, w_hh, dy, lddy, sp.unit_block,
                     dGi, dGh, dbi, dbh,     {dhs[0], dhs[1]}, sp.threads > 1 ? 1 : s->threads, gemm};
    const int64_t stages = T + (dh0 != NULL); /* dh0 needs one more dh = dGh W_hh + dh' * z */
    tf__team_run_steps(sp.threads, stages, sp.blocks, bwd_chunk, &job);
    if (dh0) {
        const float *dh_last = dhs[T % 2];
        for (int64_t e = 0; e < BH; e++)
            dh0[e] += dh_last[e];
    }
    if (dbi)
        for (int64_t j = 0; j < H3; j++)
            db_ih[j] += dbi[j];
    if (dbh)
        for (int64_t j = 0; j < H3; j++)
            db_hh[j] += dbh[j];
    tf__cell_weight_grads(s, H3, dGi, dGh, x, ldx, hs + (reverse ? BH : 0), w_ih, dx, lddx, dw_ih, dw_hh);
}

/* The GRU's entry in the cell table (cell.c). */
const tf__cell_ops_t tf__gru_cell = {"gru", "GRU", TF_MODULE_GRU, 3, 0, gru_cache_floats,
                                     gru_work_floats, gru_forward, gru_backward};
