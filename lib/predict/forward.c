/* SPDX-License-Identifier: MIT */
/* The forward pass of prediction: inputs sorted by length into batches, the embedding (or input
 * projection), the recurrent layers through the cell's kernel without a cache, pooling, the task
 * head and the decisions, every result written back in input order. Reads the net only, so any
 * number of calls may run at once, each on its own workspace. */
#include "predict_internal.h"
#include "../tensor/blas.h"
#include "../core/team.h"
#include "gemm_i8.h"
#include "../tensor/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tf_status_t tf__pred_net_of_model(tf__pred_net_t *net, tf_model_t *m, const char *fn, double *offsets,
                                  const float **w)
{
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model has no task head; fine-tune it first", fn);
    memset(net, 0, sizeof *net);
    const tf_model_opts_t *c = &m->cfg;
    net->tokens = c->input == TF_MODEL_INPUT_TOKENS;
    net->V = net->tokens ? tf_vocab_size(m->vocab) : 0;
    net->E = c->embedding_dim;
    net->F = net->tokens ? 0 : c->num_features;
    net->H = c->hidden_size;
    net->L = c->num_layers;
    net->D = tf__model_dirs(m);
    net->cell = tf__cell_get(c->cell);
    tf__param_t *const *ep = m->encoder->params;
    uint32_t k = 0;
    if (net->tokens) {
        net->emb = (const float *)ep[k++]->value.data;
    } else {
        net->proj_w = (const float *)ep[k++]->value.data;
        net->proj_b = (const float *)ep[k++]->value.data;
        net->in_mean = m->in_mean;
        net->in_std = m->in_std;
    }
    for (int32_t i = 0; i < 4 * net->L * net->D; i++)
        w[i] = (const float *)ep[k++]->value.data;
    net->w = w;
    net->pool_modes = m->pool_modes;
    net->K = tf__head_width(m);
    net->C = m->num_classes;
    tf__param_t *const *hp = m->head->params;
    net->P = hp[0]->value.shape[1];
    net->head_w = (const float *)hp[0]->value.data;
    net->head_b = m->head->nparams > 1 ? (const float *)hp[1]->value.data : NULL;
    tf__decision_export(m, &net->temperature, offsets, &net->kind);
    net->offsets = offsets;
    net->threads = tf_ctx_num_threads(m->ctx);
    net->max_batch = 64;
    return TF_STATUS_OK;
}

int tf__pred_fast(const tf__pred_net_t *net)
{
    return net->cell == tf__cell_get(TF_CELL_LSTM);
}

/* The workspace of one batch worker carved for (T, B); base NULL only counts. */
typedef struct carve {
    float *xin, *x0, *y[2], *work, *packed, *q_work, *pooled, *logits;
    int32_t *tok; /* with an input table: the token id of each row, -1 when padded */
} carve_t;

static size_t carve(const tf__pred_net_t *net, int64_t T, int64_t B, float *base, carve_t *c)
{
    const size_t rows = (size_t)(T * B), DH = (size_t)(net->D * net->H);
    size_t off = 0, work = 0;
#define TAKE(ptr, n)                                                                               \
    do {                                                                                           \
        if (base)                                                                                  \
            (ptr) = base + off;                                                                    \
        off += (n);                                                                                \
    } while (0)
    for (int32_t l = 0; l < net->L; l++) {
        tf__cell_shape_t sh = {l == 0 ? net->E : (int64_t)DH, net->H, T, B, net->threads};
        size_t w = tf__pred_fast(net) ? tf__pred_lstm_work_floats(net->H, T, B) : net->cell->work_floats(&sh);
        work = w > work ? w : work;
    }
    TAKE(c->xin, rows * (size_t)net->F);
    TAKE(c->x0, net->tables ? 0 : rows * (size_t)net->E);
    float *tok = NULL;
    TAKE(tok, net->tables ? rows : 0); /* int32 ids in float-sized slots */
    c->tok = (int32_t *)tok;
    TAKE(c->y[0], rows * DH);
    TAKE(c->y[1], net->L > 1 ? rows * DH : 0);
    TAKE(c->work, work);
    /* Without packed weights in the net (a model's own predictions), each layer packs its own. */
    const int64_t Imax = net->L > 1 && (int64_t)DH > net->E ? (int64_t)DH : net->E;
    TAKE(c->packed, tf__pred_fast(net) && net->packed == NULL && net->q8 == NULL
                        ? tf__pred_lstm_packed_floats(net->H, net->H) + tf__pred_lstm_packed_floats(Imax, net->H) +
                              tf__pred_step1_floats(net->H)
                        : 0);
    TAKE(c->q_work, net->q8 ? tf__i8_work_floats(Imax > net->H ? Imax : net->H) : 0);
    TAKE(c->pooled, (size_t)B * (size_t)net->P);
    TAKE(c->logits, (size_t)B * (size_t)net->K);
#undef TAKE
    return off;
}

/* How a call of n inputs is cut: batches of *bsize run by *workers threads at once, each batch on
 * one thread; with fewer batches than threads, the threads share each batch's products. */
static void plan_call(const tf__pred_net_t *net, size_t n, int64_t *bsize, int32_t *workers)
{
    int64_t b = net->max_batch;
    if (net->threads > 1 && n > 1) {
        const int64_t even = ((int64_t)n + net->threads - 1) / net->threads;
        b = even < b ? even : b;
    }
    const int64_t batches = ((int64_t)n + b - 1) / b;
    *bsize = b;
    *workers = batches < net->threads ? (int32_t)batches : net->threads;
    if (*workers < 1)
        *workers = 1;
}

size_t tf__pred_ws_floats(const tf__pred_net_t *net, int64_t T, int64_t B)
{
    carve_t c;
    return carve(net, T, B, NULL, &c);
}

tf_status_t tf__pred_check(const tf__pred_net_t *net, const char *fn, const tf__pred_in_t *in)
{
    for (size_t i = 0; i < in->n; i++) {
        const int64_t T = in->lens[i];
        if (T < 1)
            TF_FAIL(TF_STATUS_EINVAL, "%s: input %zu has %lld steps; give at least 1", fn, i, (long long)T);
        if (net->tokens) {
            if (in->ids[i] == NULL)
                TF_FAIL(TF_STATUS_EINVAL, "%s: ids of input %zu is NULL", fn, i);
            for (int64_t t = 0; t < T; t++)
                if (in->ids[i][t] < 0 || in->ids[i][t] >= net->V)
                    TF_FAIL(TF_STATUS_EINVAL, "%s: token id %d at position %lld of input %zu is outside the vocabulary [0, %lld)",
                            fn, in->ids[i][t], (long long)t, i, (long long)net->V);
        } else {
            if (in->x[i] == NULL)
                TF_FAIL(TF_STATUS_EINVAL, "%s: values of input %zu is NULL", fn, i);
            if ((double)T * (double)net->F > (double)(SIZE_MAX / sizeof(float)))
                TF_FAIL(TF_STATUS_EOVERFLOW, "%s: input %zu is too long", fn, i);
            for (int64_t v = 0; v < T * net->F; v++)
                if (!isfinite(in->x[i][v]))
                    TF_FAIL(TF_STATUS_EINVAL, "%s: value %lld of input %zu is not finite", fn, (long long)v, i);
        }
    }
    return TF_STATUS_OK;
}

/* An input's position in the sorted order: longest first, then by index (deterministic). */
typedef struct ranked {
    int64_t len, i;
} ranked_t;

static int by_length(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

tf_status_t tf__pred_ws_reserve(tf__pred_ws_t *ws, tf_ctx_t *ctx, const tf__pred_net_t *net,
                                const tf__pred_in_t *in)
{
    int64_t T = 0, B;
    int32_t workers;
    for (size_t i = 0; i < in->n; i++)
        T = in->lens[i] > T ? in->lens[i] : T;
    plan_call(net, in->n, &B, &workers);
    TF_CHECK(tf__check_floats("prediction", (double)workers * (double)T * (double)B *
                                                (double)(net->E + net->F + 2 * net->D * net->H + 4 * net->H)));
    void *p = ws->buf;
    TF_CHECK(tf__grow_bytes(ctx, &p, &ws->cap, (size_t)workers * tf__pred_ws_floats(net, T, B), sizeof(float)));
    ws->buf = p;
    p = ws->idx;
    TF_CHECK(tf__grow_bytes(ctx, &p, &ws->idx_cap, 2 * in->n, sizeof(int64_t)));
    ws->idx = p;
    return tf__grow_i32(ctx, &ws->len, &ws->len_cap, (size_t)(workers * B));
}

void tf__pred_ws_free(tf__pred_ws_t *ws, tf_ctx_t *ctx)
{
    tf__free(ctx, ws->buf);
    tf__free(ctx, ws->ids);
    tf__free(ctx, ws->idx);
    tf__free(ctx, ws->len);
    memset(ws, 0, sizeof *ws);
}

size_t tf__pred_ws_bytes(const tf__pred_ws_t *ws)
{
    return ws->cap * sizeof(float) + ws->ids_cap * sizeof(int32_t) + ws->idx_cap * sizeof(int64_t) +
           ws->len_cap * sizeof(int32_t);
}

/* The recurrent input rows of a batch (time-major, row t*B + b): embedding rows or projected
 * features, zeros (tokens) or the bias (numeric) at padded steps. */
static void batch_input(const tf__pred_net_t *net, const tf__pred_in_t *in, const ranked_t *r, int64_t T,
                        int64_t B, const carve_t *c, int32_t threads)
{
    const int64_t E = net->E, F = net->F;
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = t * B + b;
            const int valid = t < r[b].len;
            if (net->tables) {
                c->tok[row] = valid ? in->ids[r[b].i][t] : -1;
            } else if (net->tokens) {
                if (valid && net->emb_q) /* the row dequantised, as the reader widens it */
                    tf__dequantize_rows_i8(net->emb_q + (int64_t)in->ids[r[b].i][t] * E,
                                           net->emb_scale + in->ids[r[b].i][t], 1, E, c->x0 + row * E);
                else if (valid)
                    memcpy(c->x0 + row * E, net->emb + (int64_t)in->ids[r[b].i][t] * E, (size_t)E * sizeof(float));
                else
                    memset(c->x0 + row * E, 0, (size_t)E * sizeof(float));
            } else {
                if (valid && net->in_mean) /* the model's standardisation */
                    for (int64_t f = 0; f < F; f++)
                        c->xin[row * F + f] = (in->x[r[b].i][t * F + f] - net->in_mean[f]) / net->in_std[f];
                else if (valid)
                    memcpy(c->xin + row * F, in->x[r[b].i] + t * F, (size_t)F * sizeof(float));
                else
                    memset(c->xin + row * F, 0, (size_t)F * sizeof(float));
                memcpy(c->x0 + row * E, net->proj_b, (size_t)E * sizeof(float));
            }
        }
    if (!net->tokens)
        tf__sgemm(threads, 0, 1, T * B, E, F, 1.0f, c->xin, F, net->proj_w, F, 1.0f, c->x0, E);
}

/* One batch of B inputs (sorted, longest first) into their rows of probs, on the worker's part
 * of the workspace (buf, len) with `threads` threads for its products. */
static void run_batch(const tf__pred_net_t *net, float *buf, int32_t *len, const tf__pred_in_t *in,
                      const ranked_t *r, int64_t B, float *probs, int32_t threads)
{
    const int64_t T = r[0].len, H = net->H, DH = net->D * H;
    carve_t c;
    carve(net, T, B, buf, &c);
    for (int64_t b = 0; b < B; b++)
        len[b] = (int32_t)r[b].len;
    batch_input(net, in, r, T, B, &c, threads);
    const float *x = c.x0;
    float *y = c.y[0];
    for (int32_t l = 0; l < net->L; l++) {
        y = c.y[l % 2];
        const int64_t I = l == 0 ? net->E : DH;
        const tf__cell_shape_t sh = {I, H, T, B, threads};
        for (int32_t d = 0; d < net->D; d++) {
            const float *const *w = net->w + 4 * (l * net->D + d);
            if (tf__pred_fast(net)) {
                tf__pred_lstm_t s = {I, H, T, B, w[0], w[1], w[2], w[3], NULL, NULL, net->pw, threads, NULL, NULL,
                                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
                if (l == 0 && net->tables) {
                    s.table = net->tables[d];
                    s.tok = c.tok;
                }
                if (net->q8) {
                    const int64_t i = l * net->D + d;
                    s.q_hh = net->q8[i];
                    s.q_ih = s.q_hh + tf__i8_packed_bytes(4 * H, H);
                    s.s_hh = net->q8_scale[i];
                    s.s_ih = s.s_hh + tf__i8_scale_floats(4 * H);
                    s.q_work = c.q_work;
                    if (net->q8_blocks) {
                        s.q_blk = s.q_ih + tf__i8_packed_bytes(4 * H, I);
                        s.s_blk = s.s_ih + tf__i8_scale_floats(4 * H);
                    }
                } else if (net->packed) {
                    s.packed = net->packed[l * net->D + d];
                    s.packed_ih = s.packed + tf__pred_lstm_packed_floats(H, H);
                    s.step1 = s.packed_ih + tf__pred_lstm_packed_floats(I, H);
                } else {
                    s.pw = tf__pred_lstm_pack(H, H, w[1], c.packed);
                    s.packed = c.packed;
                    s.packed_ih = c.packed + tf__pred_lstm_packed_floats(H, H);
                    tf__pred_lstm_pack(I, H, w[0], (float *)s.packed_ih);
                    s.step1 = s.packed_ih + tf__pred_lstm_packed_floats(I, H);
                    tf__pred_step1_pack(H, w[1], (float *)s.step1);
                }
                tf__pred_lstm_forward(&s, d, x, I, len, y + d * H, DH, c.work);
            } else {
                net->cell->forward(&sh, d, x, I, len, w[0], w[1], w[2], w[3], NULL, NULL, y + d * H, DH, NULL,
                                   NULL, NULL, c.work);
            }
        }
        x = y;
    }
    /* Pooling reads views of the workspace; its checks cannot fail on shapes made here. */
    struct tf_tensor yv, lv, pv;
    const int64_t ys[3] = {T, B, DH}, ls[1] = {B}, ps[2] = {B, net->P};
    memset(&yv, 0, sizeof yv);
    memset(&lv, 0, sizeof lv);
    memset(&pv, 0, sizeof pv);
    tf__view_set(&yv, NULL, y, ys, 3);
    tf__view_set(&lv, NULL, (float *)len, ls, 1);
    lv.dtype = TF_DTYPE_I32;
    tf__view_set(&pv, NULL, c.pooled, ps, 2);
    (void)tf_pool_forward(&yv, &lv, net->pool_modes, net->D, &pv);
    /* The head as tf_linear: the bias first, then the product added to it. */
    for (int64_t b = 0; b < B; b++) {
        if (net->head_b)
            memcpy(c.logits + b * net->K, net->head_b, (size_t)net->K * sizeof(float));
        else
            memset(c.logits + b * net->K, 0, (size_t)net->K * sizeof(float));
    }
    tf__sgemm(threads, 0, 1, B, net->K, net->P, 1.0f, c.pooled, net->P, net->head_w, net->P, 1.0f, c.logits,
              net->K);
    for (int64_t b = 0; b < B; b++)
        tf__decision_row(net->kind, net->C, net->temperature, net->offsets, c.logits + b * net->K,
                         probs + r[b].i * net->C);
}

typedef struct call {
    const tf__pred_net_t *net;
    tf__pred_ws_t *ws;
    const tf__pred_in_t *in;
    const ranked_t *r;
    float *probs;
    int64_t bsize;
    size_t region; /* floats of one worker's workspace */
    int32_t workers, threads;
} call_t;

/* Worker w: batches w, w + workers, ... (longest first, so the shares stay close). */
static void worker(void *arg, int64_t step, int64_t w)
{
    const call_t *C_ = arg;
    const size_t n = C_->in->n, bs = (size_t)C_->bsize;
    (void)step;
    for (size_t b0 = (size_t)w * bs; b0 < n; b0 += (size_t)C_->workers * bs) {
        const size_t B = n - b0 < bs ? n - b0 : bs;
        run_batch(C_->net, C_->ws->buf + (size_t)w * C_->region, C_->ws->len + w * C_->bsize, C_->in, C_->r + b0,
                  (int64_t)B, C_->probs, C_->threads);
    }
}

void tf__pred_run(const tf__pred_net_t *net, tf__pred_ws_t *ws, const tf__pred_in_t *in, float *probs)
{
    ranked_t *r = (ranked_t *)ws->idx;
    for (size_t i = 0; i < in->n; i++)
        r[i] = (ranked_t){in->lens[i], (int64_t)i};
    qsort(r, in->n, sizeof *r, by_length);
    call_t c = {net, ws, in, r, probs, 0, 0, 1, 1};
    plan_call(net, in->n, &c.bsize, &c.workers);
    c.region = in->n ? tf__pred_ws_floats(net, r[0].len, c.bsize) : 0;
    c.threads = c.workers > 1 ? 1 : net->threads;
    tf__team_for(c.workers, c.workers, worker, &c);
}
