/* SPDX-License-Identifier: MIT */
/* The predictor handle: a copy of a fine-tuned model's prediction weights, decisions and
 * vocabulary, and a pool of workspaces, one per call in flight.
 *
 * Everything a call writes is its workspace. The pool, the tokeniser (the vocabulary keeps
 * scratch of its own) and every allocation are behind one lock, so the predictor's context,
 * whose allocator hooks must not run on two threads at once, is only ever used under it; the
 * forward pass itself runs unlocked. */
#include "predict_internal.h"
#include "../data/data_internal.h"
#include "../tensor/blas.h"
#include "../tensor/quant.h"
#include "gemm_i8.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

struct tf_predictor {
    tf_ctx_t *ctx; /* its own: same allocator and thread count as the model's */
    tf__pred_net_t net;
    tf_vocab_t *vocab; /* token models */
    float *weights;    /* every weight, one block the net points into */
    size_t weight_floats;
    size_t vocab_bytes; /* serialized size, a measure of its tables */
    const float **w;
    float **packed; /* per layer and direction, into `weights` */
    int8_t *q8_block; /* int8 recurrent weights (tf__pred_net_t::q8), or NULL */
    size_t q8_bytes;
    const int8_t **q8;
    const float **q8_scale; /* into `weights` */
    float *table;   /* the input table of the first layer (D x V x 4H), or NULL */
    const float **tables;
    double *offsets;
    pthread_mutex_t lock;
    tf__pred_ws_t **pool; /* idle workspaces */
    size_t idle, pool_cap, made;
    atomic_size_t ws_bytes; /* of every workspace, idle or in use */
};

TF__OPTS_LAYOUT(tf__predictor_opts_layout,
                tf_predictor_opts_t,
                TF_PREDICTOR_OPTS_VERSION,
                TF__OPTS_END(tf_predictor_opts_t, reserved),
                TF__OPTS_END(tf_predictor_opts_t, int8_weights));

static void opts_defaults(tf_predictor_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_PREDICTOR_OPTS_VERSION;
    o->max_batch = 64;
    o->dtype = TF_DTYPE_F32;
    o->input_table = -1;
    o->int8_weights = TF_PREDICT_INT8_AUTO;
}

tf_status_t tf_predictor_opts_init(tf_predictor_opts_t *opts, uint32_t version)
{
    tf_predictor_opts_t d;
    opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__predictor_opts_layout, __func__);
}

void tf_predictor_free(tf_predictor_t *p)
{
    if (p == NULL)
        return;
    tf_ctx_t *ctx = p->ctx;
    for (size_t i = 0; i < p->idle; i++) {
        tf__pred_ws_free(p->pool[i], ctx);
        tf__free(ctx, p->pool[i]);
    }
    tf__free(ctx, p->pool);
    tf_vocab_free(p->vocab);
    tf__free(ctx, p->weights);
    tf__free(ctx, p->w);
    tf__free(ctx, p->packed);
    tf__free(ctx, p->q8_block);
    tf__free(ctx, p->q8);
    tf__free(ctx, p->q8_scale);
    tf__free(ctx, p->table);
    tf__free(ctx, p->tables);
    tf__free(ctx, p->offsets);
    pthread_mutex_destroy(&p->lock);
    tf__free(ctx, p);
    tf_ctx_free(ctx);
}

/* Copy n floats to the block at *at and point *dst there. */
static void take(float **at, const float **dst, const float *src, int64_t n)
{
    if (src == NULL) {
        *dst = NULL;
        return;
    }
    memcpy(*at, src, (size_t)n * sizeof(float));
    *dst = *at;
    *at += n;
}

/* Quantise the f32 rows x cols matrix w by rows as tf_model_export does into q and scale.
 * Returns -1 when w holds a NaN or an infinity, 1 when w is exactly q * scale (as after loading an
 * int8 export), else 0. Requantising a dequantised row gives the same q, but its scale
 * (max |x| / 127 again) can be one unit in the last place away from the original: the
 * neighbours are tried, so the original scale is recovered. */
static int quantize_exact(const float *w, int64_t rows, int64_t cols, int8_t *q, float *scale)
{
    if (tf__quantize_rows_i8(w, rows, cols, q, scale) >= 0)
        return -1;
    int exact = 1;
    for (int64_t r = 0; r < rows && exact; r++) {
        const float c[3] = {scale[r], nextafterf(scale[r], 0.0f), nextafterf(scale[r], FLT_MAX)};
        int hit = -1;
        for (int i = 0; i < 3 && hit < 0; i++) {
            int64_t j = 0;
            while (j < cols && (float)q[r * cols + j] * c[i] == w[r * cols + j])
                j++;
            hit = j == cols ? i : -1;
        }
        if (hit < 0)
            exact = 0;
        else
            scale[r] = c[hit];
    }
    return exact;
}

/* Whether every LSTM W_ih and W_hh of the net `v` is exactly int8 with row scales; q, scale:
 * scratch of 4H * max(I, H) bytes and 4H floats. */
static int all_int8(const tf__pred_net_t *v, int8_t *q, float *scale)
{
    const int64_t G4 = 4 * v->H, DH = v->D * v->H;
    for (int32_t i = 0; i < v->L * v->D; i++)
        if (quantize_exact(v->w[4 * i], G4, i < v->D ? v->E : DH, q, scale) != 1 ||
            quantize_exact(v->w[4 * i + 1], G4, v->H, q, scale) != 1)
            return 0;
    return 1;
}

/* Quantise (quantize_exact) and pack w; -1 when it is not finite. */
static int pack_i8(const float *w, int64_t rows, int64_t cols, int8_t *q, float *scale, int8_t *dst, float *dst_scale)
{
    if (quantize_exact(w, rows, cols, q, scale) < 0)
        return -1;
    tf__i8_pack(rows, cols, q, scale, dst, dst_scale);
    return 0;
}

/* The int8 W_hh and W_ih of layer-direction i (input width I) from its f32 weights w (w_ih,
 * w_hh), and with net.q8_blocks W_hh by blocks after them; q: scratch of 4H * max(I, H) bytes,
 * scale of 4H floats; tmp, tmp_scale: tf__pred_lstm_i8_blocks_pack's scratch, or NULL. */
static tf_status_t quantize_lstm(tf_predictor_t *p, int32_t i, int64_t I, const float *const *w, int8_t *q,
                                 float *scale, int8_t *tmp, float *tmp_scale)
{
    const int64_t G4 = 4 * p->net.H, H = p->net.H;
    const size_t hh = tf__i8_packed_bytes(G4, H), ih = tf__i8_packed_bytes(G4, I);
    int8_t *dst = (int8_t *)p->q8[i];
    float *ds = (float *)p->q8_scale[i];
    const int bad = pack_i8(w[1], G4, H, q, scale, dst, ds) != 0;
    if (!bad && p->net.q8_blocks) /* from W_hh's q and scale, before W_ih's replace them */
        tf__pred_lstm_i8_blocks_pack(H, q, scale, tmp, tmp_scale, dst + hh + ih, ds + 2 * tf__i8_scale_floats(G4));
    if (bad || pack_i8(w[0], G4, I, q, scale, dst + hh, ds + tf__i8_scale_floats(G4)) != 0)
        TF_FAIL(TF_STATUS_EINVAL, "tf_predictor_create: a recurrent weight of layer %d is not finite; int8 "
                "weights need finite ones", i / p->net.D);
    return TF_STATUS_OK;
}

/* The predictor's copy of the net `v` viewing the model; with int8, its LSTM's W_ih and W_hh as
 * int8 panels in place of the f32 weights and their packed copies; with emb8, the embedding as int8
 * rows. */
static tf_status_t copy_net(tf_predictor_t *p, const tf__pred_net_t *v, int int8, int emb8)
{
    tf_ctx_t *ctx = p->ctx;
    const int64_t G = v->cell->gates, H = v->H, DH = v->D * H, LD = v->L * v->D;
    size_t n = (size_t)((emb8 ? v->V : v->V * v->E) + v->E * v->F + v->E + v->K * v->P + v->K +
                        (v->in_mean ? 2 * v->F : 0));
    for (int32_t l = 0; l < v->L; l++)
        n += (size_t)(v->D * G * H * (int8 ? 2 : (l == 0 ? v->E : DH) + H + 2));
    const int fast = tf__pred_fast(v) && !int8;
    const size_t hh = fast ? tf__pred_lstm_packed_floats(H, H) : 0, s1 = fast ? tf__pred_step1_floats(H) : 0;
    for (int32_t l = 0; fast && l < v->L; l++)
        n += (size_t)v->D * (hh + tf__pred_lstm_packed_floats(l == 0 ? v->E : DH, H) + s1);
    if (emb8)
        p->q8_bytes = (size_t)(v->V * v->E);
    /* int8 one-row steps split over the threads read W_hh by blocks of units as well */
    const int blocks8 = int8 && tf__pred_lstm_parts(H, v->threads, 1) > 1;
    const size_t blk = blocks8 ? tf__pred_lstm_i8_blocks_bytes(H) : 0;
    const size_t blk_scale = blocks8 ? tf__pred_lstm_i8_blocks_scale_floats(H) : 0;
    if (int8) {
        n += (size_t)LD * (2 * tf__i8_scale_floats(4 * H) + blk_scale);
        for (int32_t l = 0; l < v->L; l++)
            p->q8_bytes += (size_t)v->D * (tf__i8_packed_bytes(4 * H, H) + tf__i8_packed_bytes(4 * H, l == 0 ? v->E : DH) +
                                           blk);
        p->q8 = tf__calloc(ctx, (size_t)LD, sizeof *p->q8);
        p->q8_scale = tf__calloc(ctx, (size_t)LD, sizeof *p->q8_scale);
        if (p->q8 == NULL || p->q8_scale == NULL)
            return TF_STATUS_ENOMEM;
    }
    if (p->q8_bytes > 0 && (p->q8_block = tf__alloc(ctx, p->q8_bytes)) == NULL)
        return TF_STATUS_ENOMEM;
    p->net = *v;
    p->net.q8_blocks = blocks8;
    p->weight_floats = n;
    p->weights = tf__alloc(ctx, n * sizeof(float));
    p->w = tf__calloc(ctx, (size_t)(4 * v->L * v->D), sizeof *p->w);
    p->offsets = tf__calloc(ctx, (size_t)v->K, sizeof *p->offsets);
    p->packed = tf__calloc(ctx, (size_t)(v->L * v->D), sizeof *p->packed);
    if (p->weights == NULL || p->w == NULL || p->offsets == NULL || p->packed == NULL)
        return TF_STATUS_ENOMEM;
    float *at = p->weights;
    tf__pred_net_t *net = &p->net;
    take(&at, &net->emb, emb8 ? NULL : v->emb, v->V * v->E);
    if (emb8) { /* the first V*E bytes of the int8 block, the scales first in `weights` */
        net->emb_q = p->q8_block;
        net->emb_scale = at;
        if (quantize_exact(v->emb, v->V, v->E, p->q8_block, at) < 0)
            TF_FAIL(TF_STATUS_EINVAL, "tf_predictor_create: an embedding weight is not finite; int8 weights "
                    "need finite ones");
        at += v->V;
    }
    take(&at, &net->proj_w, v->proj_w, v->E * v->F);
    take(&at, &net->proj_b, v->proj_b, v->E);
    take(&at, &net->in_mean, v->in_mean, v->F);
    take(&at, &net->in_std, v->in_std, v->F);
    for (int32_t l = 0; l < v->L; l++)
        for (int32_t d = 0; d < v->D; d++) {
            const int64_t i = 4 * (l * v->D + d), I = l == 0 ? v->E : DH;
            take(&at, &p->w[i], int8 ? NULL : v->w[i], G * H * I);
            take(&at, &p->w[i + 1], int8 ? NULL : v->w[i + 1], G * H * H);
            take(&at, &p->w[i + 2], v->w[i + 2], G * H);
            take(&at, &p->w[i + 3], v->w[i + 3], G * H);
        }
    take(&at, &net->head_w, v->head_w, v->K * v->P);
    take(&at, &net->head_b, v->head_b, v->K);
    memcpy(p->offsets, v->offsets, (size_t)v->K * sizeof *p->offsets);
    for (int32_t i = 0; fast && i < v->L * v->D; i++) {
        const int64_t I = i < v->D ? v->E : DH;
        p->packed[i] = at;
        net->pw = tf__pred_lstm_pack(H, H, p->w[4 * i + 1], at);
        tf__pred_lstm_pack(I, H, p->w[4 * i], at + hh);
        at += hh + tf__pred_lstm_packed_floats(I, H);
        tf__pred_step1_pack(H, p->w[4 * i + 1], at);
        at += s1;
    }
    net->packed = fast ? p->packed : NULL;
    if (int8) {
        int8_t *qat = p->q8_block + (emb8 ? v->V * v->E : 0);
        for (int32_t i = 0; i < LD; i++) {
            const int64_t I = i < v->D ? v->E : DH;
            p->q8[i] = qat;
            qat += tf__i8_packed_bytes(4 * H, H) + tf__i8_packed_bytes(4 * H, I) + blk;
            p->q8_scale[i] = at;
            at += 2 * tf__i8_scale_floats(4 * H) + blk_scale;
        }
        const int64_t Imax = v->L > 1 && DH > v->E ? DH : v->E;
        int8_t *q = tf__alloc(ctx, (size_t)(4 * H * (Imax > H ? Imax : H)));
        float *scale = tf__alloc(ctx, (size_t)(4 * H) * sizeof(float));
        int8_t *tmp = blocks8 ? tf__alloc(ctx, blk_scale / 2 * (size_t)H) : NULL;
        float *tmp_scale = blocks8 ? tf__alloc(ctx, blk_scale / 2 * sizeof(float)) : NULL;
        tf_status_t st = q && scale && (!blocks8 || (tmp && tmp_scale)) ? TF_STATUS_OK : TF_STATUS_ENOMEM;
        for (int32_t i = 0; st == TF_STATUS_OK && i < LD; i++)
            st = quantize_lstm(p, i, i < v->D ? v->E : DH, v->w + 4 * i, q, scale, tmp, tmp_scale);
        tf__free(ctx, q);
        tf__free(ctx, scale);
        tf__free(ctx, tmp);
        tf__free(ctx, tmp_scale);
        TF_CHECK(st);
        net->q8 = p->q8;
        net->q8_scale = p->q8_scale;
    }
    net->w = p->w;
    net->offsets = p->offsets;
    return TF_STATUS_OK;
}

/* Every word's projection by each first-layer direction's W_ih, from the f32 weights of the net
 * `v` viewing the model: row i of table d is emb[i] W_ih^T. */
static tf_status_t make_table(tf_predictor_t *p, const tf__pred_net_t *v)
{
    tf__pred_net_t *net = &p->net;
    const int64_t G4 = 4 * net->H, per = net->V * G4;
    if ((double)per * net->D > (double)(SIZE_MAX / sizeof(float)))
        TF_FAIL(TF_STATUS_EOVERFLOW, "tf_predictor_create: the input table of %lld words is too large",
                (long long)net->V);
    p->table = tf__alloc(p->ctx, (size_t)(per * net->D) * sizeof(float));
    p->tables = tf__calloc(p->ctx, (size_t)net->D, sizeof *p->tables);
    if (p->table == NULL || p->tables == NULL)
        return TF_STATUS_ENOMEM;
    tf__advise_huge_pages(p->table, (size_t)(per * net->D) * sizeof(float)); /* one random row a token */
    for (int32_t d = 0; d < net->D; d++) {
        tf__sgemm(net->threads, 0, 1, net->V, G4, net->E, 1.0f, v->emb, net->E, v->w[4 * d], net->E, 0.0f,
                  p->table + d * per, G4);
        p->tables[d] = p->table + d * per;
    }
    p->weight_floats += (size_t)(per * net->D);
    net->tables = p->tables;
    return TF_STATUS_OK;
}

/* TF_PREDICT_INT8_AUTO where int8 pays: int8 when the recurrent weights are exactly int8, and
 * then an int8 embedding when it is exactly int8 too. */
static tf_status_t auto_int8(tf_predictor_t *p, const tf__pred_net_t *v, int *int8, int *emb8)
{
    const int64_t DH = v->D * v->H, Imax = v->L > 1 && DH > v->E ? DH : v->E;
    int64_t qn = 4 * v->H * (Imax > v->H ? Imax : v->H), sn = 4 * v->H;
    if (v->tokens && v->V * v->E > qn)
        qn = v->V * v->E;
    if (v->tokens && v->V > sn)
        sn = v->V;
    int8_t *q = tf__alloc(p->ctx, (size_t)qn);
    float *scale = tf__alloc(p->ctx, (size_t)sn * sizeof(float));
    tf_status_t st = q && scale ? TF_STATUS_OK : TF_STATUS_ENOMEM;
    if (st == TF_STATUS_OK) {
        *int8 = all_int8(v, q, scale);
        *emb8 = *int8 && v->tokens && quantize_exact(v->emb, v->V, v->E, q, scale) == 1;
    }
    tf__free(p->ctx, q);
    tf__free(p->ctx, scale);
    return st;
}

tf_status_t tf_predictor_create(tf_predictor_t **out, tf_model_t *model, const tf_predictor_opts_t *opts)
{
    tf_predictor_opts_t o;
    tf__pred_net_t view;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(model);
    opts_defaults(&o);
    if (opts != NULL)
        TF_CHECK(tf__opts_read(&o, opts, &tf__predictor_opts_layout, __func__));
    if (o.num_threads < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_threads is %d; use 0 (the context's) or more", __func__,
                o.num_threads);
    if (o.max_batch < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_batch is %d; use 1 or more", __func__, o.max_batch);
    if (o.dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EINVAL, "%s: dtype %d is not supported; use TF_DTYPE_F32", __func__, o.dtype);
    if (o.reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", __func__);
    if (o.int8_weights < TF_PREDICT_INT8_AUTO || o.int8_weights > TF_PREDICT_INT8_RESIDENT)
        TF_FAIL(TF_STATUS_EINVAL, "%s: int8_weights is %d; use TF_PREDICT_INT8_AUTO, _DEQUANTIZE or _RESIDENT",
                __func__, o.int8_weights);
    if (o.int8_weights == TF_PREDICT_INT8_RESIDENT && model->cfg.cell != TF_CELL_LSTM)
        TF_FAIL(TF_STATUS_EINVAL, "%s: int8_weights TF_PREDICT_INT8_RESIDENT needs a model with LSTM layers",
                __func__);
    if (o.input_table < -1 || o.input_table > 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: input_table is %d; use -1 (automatic), 0 or 1", __func__, o.input_table);
    const int table_fits = model->cfg.input == TF_MODEL_INPUT_TOKENS && model->cfg.cell == TF_CELL_LSTM;
    if (o.input_table == 1 && !table_fits)
        TF_FAIL(TF_STATUS_EINVAL, "%s: input_table needs a token model with LSTM layers", __func__);
    if (o.input_table == -1) /* 4*V*4*H*D bytes */
        o.input_table = table_fits && 16.0 * tf_vocab_size(model->vocab) * model->cfg.hidden_size *
                                              tf__model_dirs(model) <=
                                          (double)TF_PREDICTOR_TABLE_AUTO_BYTES;
    const int32_t LD = model->cfg.num_layers * tf__model_dirs(model);
    const int64_t K = model->head ? tf__head_width(model) : 1;
    const float **w = tf__calloc(model->ctx, (size_t)(4 * LD), sizeof *w);
    double *offsets = tf__calloc(model->ctx, (size_t)K, sizeof *offsets);
    tf_status_t st = w && offsets ? TF_STATUS_OK : TF_STATUS_ENOMEM;
    if (st == TF_STATUS_OK)
        st = tf__pred_net_of_model(&view, model, __func__, offsets, w);
    tf_ctx_opts_t co;
    tf_predictor_t *p = NULL;
    if (st == TF_STATUS_OK) {
        tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
        co.allocator = &model->ctx->allocator;
        co.num_threads = o.num_threads > 0 ? o.num_threads : model->ctx->num_threads;
        tf_ctx_t *ctx = NULL;
        st = tf_ctx_create(&ctx, &co);
        if (st == TF_STATUS_OK) {
            p = tf__calloc(ctx, 1, sizeof *p);
            if (p == NULL) {
                tf_ctx_free(ctx);
                st = TF_STATUS_ENOMEM;
            } else {
                p->ctx = ctx;
                pthread_mutex_init(&p->lock, NULL);
            }
        }
    }
    if (st == TF_STATUS_OK) {
        view.threads = p->ctx->num_threads;
        view.max_batch = o.max_batch;
        int int8 = o.int8_weights == TF_PREDICT_INT8_RESIDENT, emb8 = int8 && view.tokens;
        if (o.int8_weights == TF_PREDICT_INT8_AUTO && tf__pred_fast(&view) && tf__i8_pays(o.max_batch))
            st = auto_int8(p, &view, &int8, &emb8);
        if (st == TF_STATUS_OK)
            st = copy_net(p, &view, int8, emb8);
    }
    if (st == TF_STATUS_OK && o.input_table)
        st = make_table(p, &view);
    if (st == TF_STATUS_OK && model->vocab != NULL)
        st = tf__vocab_copy(p->ctx, model->vocab, &p->vocab);
    if (st == TF_STATUS_OK && p->vocab != NULL)
        st = tf_vocab_serialize(p->vocab, NULL, 0, &p->vocab_bytes);
    tf__free(model->ctx, w);
    tf__free(model->ctx, offsets);
    if (st != TF_STATUS_OK) {
        tf_predictor_free(p);
        return st;
    }
    *out = p;
    return TF_STATUS_OK;
}

tf_status_t tf_predictor_load(tf_predictor_t **out, tf_ctx_t *ctx, const char *path, const tf_predictor_opts_t *opts)
{
    tf_model_t *m;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_CHECK(tf_model_load(&m, ctx, path, 0));
    tf_status_t st = tf_predictor_create(out, m, opts);
    tf_model_free(m);
    return st;
}

int32_t tf_predictor_num_classes(const tf_predictor_t *p)
{
    return p ? (int32_t)p->net.C : 0;
}

int32_t tf_predictor_multilabel(const tf_predictor_t *p)
{
    return p ? p->net.kind == TF__DECIDE_MULTILABEL : 0;
}

int32_t tf_predictor_num_features(const tf_predictor_t *p)
{
    return p && !p->net.tokens ? (int32_t)p->net.F : 0;
}

size_t tf_predictor_resident_bytes(const tf_predictor_t *p)
{
    if (p == NULL)
        return 0;
    return sizeof *p + p->weight_floats * sizeof(float) + p->q8_bytes + p->vocab_bytes + atomic_load(&p->ws_bytes);
}

/* ---- a call: a workspace from the pool, inputs tokenised and checked, the forward pass ---- */

/* Take an idle workspace (or a new one) and, for texts, tokenise them into it; then grow it for
 * the call. Everything under the lock. */
static tf_status_t begin(tf_predictor_t *p, const char *fn, tf__pred_ws_t **out, tf__pred_in_t *in,
                         const char *const *texts, const size_t *lens, int64_t **tok_lens,
                         const int32_t ***tok_ptrs)
{
    tf_ctx_t *ctx = p->ctx;
    tf_status_t st = TF_STATUS_OK;
    tf__pred_ws_t *ws;
    pthread_mutex_lock(&p->lock);
    if (p->idle > 0) {
        ws = p->pool[--p->idle];
    } else {
        ws = tf__calloc(ctx, 1, sizeof *ws);
        if (ws == NULL) {
            pthread_mutex_unlock(&p->lock);
            return TF_STATUS_ENOMEM;
        }
        p->made++;
    }
    const size_t had = tf__pred_ws_bytes(ws);
    if (texts != NULL) {
        /* The ids of every text, then per text its count and a pointer into them. */
        size_t total = 0;
        int64_t *L = NULL;
        void *q = ws->idx;
        st = tf__grow_bytes(ctx, &q, &ws->idx_cap, 2 * in->n + 2 * in->n, sizeof(int64_t));
        ws->idx = q;
        if (st == TF_STATUS_OK) {
            L = ws->idx + 2 * in->n; /* after the sort's room; pointers stored in the last N */
            for (size_t i = 0; i < in->n && st == TF_STATUS_OK; i++) {
                /* A NULL text of length 0 reads as empty (and fails as one without tokens). */
                const char *s = texts[i] ? texts[i] : "";
                const size_t len = lens ? lens[i] : strlen(s);
                const size_t at = total;
                st = tf__vocab_encode_append(p->vocab, ctx, s, len, &ws->ids, &total, &ws->ids_cap,
                                             NULL, NULL);
                L[i] = (int64_t)(total - at);
                if (st == TF_STATUS_OK && L[i] == 0) {
                    tf__error(TF_STATUS_EINVAL, "%s: text %zu has no tokens", fn, i);
                    st = TF_STATUS_EINVAL;
                }
            }
        }
        if (st == TF_STATUS_OK) {
            const int32_t **ptrs = (const int32_t **)(L + in->n);
            size_t at = 0;
            for (size_t i = 0; i < in->n; i++) {
                ptrs[i] = ws->ids + at;
                at += (size_t)L[i];
            }
            *tok_lens = L;
            *tok_ptrs = ptrs;
            in->lens = L;
            in->ids = ptrs;
        }
    }
    if (st == TF_STATUS_OK)
        st = tf__pred_check(&p->net, fn, in);
    if (st == TF_STATUS_OK)
        st = tf__pred_ws_reserve(ws, ctx, &p->net, in);
    atomic_fetch_add(&p->ws_bytes, tf__pred_ws_bytes(ws) - had);
    pthread_mutex_unlock(&p->lock);
    *out = ws;
    return st;
}

/* Put the workspace back in the pool. */
static void end(tf_predictor_t *p, tf__pred_ws_t *ws)
{
    pthread_mutex_lock(&p->lock);
    if (p->idle == p->pool_cap) {
        /* Room for every workspace ever made, so returning one never fails. */
        void *q = p->pool;
        if (tf__grow_bytes(p->ctx, &q, &p->pool_cap, p->made, sizeof *p->pool) != TF_STATUS_OK) {
            atomic_fetch_sub(&p->ws_bytes, tf__pred_ws_bytes(ws));
            tf__pred_ws_free(ws, p->ctx);
            tf__free(p->ctx, ws);
            pthread_mutex_unlock(&p->lock);
            return;
        }
        p->pool = q;
    }
    p->pool[p->idle++] = ws;
    pthread_mutex_unlock(&p->lock);
}

static tf_status_t predict(const tf_predictor_t *cp, const char *fn, int32_t tokens, tf__pred_in_t *in,
                           const char *const *texts, const size_t *lens, float *probs, size_t capacity)
{
    tf_predictor_t *p = (tf_predictor_t *)cp; /* the pool and lock change; the net never does */
    int64_t *tok_lens = NULL;
    const int32_t **tok_ptrs = NULL;
    if (p->net.tokens != tokens)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a %s model takes %s", fn, tokens ? "numeric" : "token",
                tokens ? "tf_predict_features_batch" : "tf_predict_texts or tf_predict_ids_batch");
    if (in->n == 0)
        return TF_STATUS_OK;
    TF_REQUIRE_ARG(probs);
    if ((double)in->n * (double)p->net.C > (double)capacity)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: probs holds %zu values; %zu inputs of %lld classes need %zu", fn,
                capacity, in->n, (long long)p->net.C, in->n * (size_t)p->net.C);
    tf__pred_ws_t *ws = NULL;
    tf_status_t st = begin(p, fn, &ws, in, texts, lens, &tok_lens, &tok_ptrs);
    if (st == TF_STATUS_OK)
        tf__pred_run(&p->net, ws, in, probs);
    if (ws != NULL)
        end(p, ws);
    return st;
}

tf_status_t tf_predict_texts(const tf_predictor_t *p, const char *const *texts, const size_t *lens, size_t n,
                             float *probs, size_t capacity)
{
    TF_REQUIRE_ARG(p);
    if (n > 0)
        TF_REQUIRE_ARG(texts);
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL && (lens == NULL || lens[i] > 0))
            TF_FAIL(TF_STATUS_EINVAL, "%s: text %zu is NULL", __func__, i);
    tf__pred_in_t in = {n, NULL, NULL, NULL};
    return predict(p, __func__, 1, &in, texts, lens, probs, capacity);
}

tf_status_t tf_predict_ids_batch(const tf_predictor_t *p, const int32_t *const *ids, const int64_t *lens, size_t n,
                                 float *probs, size_t capacity)
{
    TF_REQUIRE_ARG(p);
    if (n > 0) {
        TF_REQUIRE_ARG(ids);
        TF_REQUIRE_ARG(lens);
    }
    tf__pred_in_t in = {n, ids, NULL, lens};
    return predict(p, __func__, 1, &in, NULL, NULL, probs, capacity);
}

tf_status_t tf_predict_features_batch(const tf_predictor_t *p, const float *const *x, const int64_t *steps,
                                      size_t n, float *probs, size_t capacity)
{
    TF_REQUIRE_ARG(p);
    if (n > 0) {
        TF_REQUIRE_ARG(x);
        TF_REQUIRE_ARG(steps);
    }
    tf__pred_in_t in = {n, NULL, x, steps};
    return predict(p, __func__, 0, &in, NULL, NULL, probs, capacity);
}

/* ---- decisions on probabilities ---- */

/* Size query or buffer check shared by the two: `need` elements into `buf` of `capacity`. */
static tf_status_t out_size(const char *fn, const void *buf, size_t capacity, size_t need, size_t *len_out)
{
    if (len_out != NULL)
        *len_out = need;
    if (buf == NULL && capacity == 0)
        return TF_STATUS_OK;
    TF_REQUIRE_ARG(buf);
    if (capacity < need)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: the buffer holds %zu values; %zu are needed", fn, capacity, need);
    return TF_STATUS_OK;
}

tf_status_t tf_predict_top_k(const tf_predictor_t *p, const float *probs, size_t n, int32_t k, int32_t *classes,
                             float *scores, size_t capacity, size_t *len_out)
{
    TF_REQUIRE_ARG(p);
    if (n > 0)
        TF_REQUIRE_ARG(probs);
    const int64_t C = p->net.C;
    if (k < 1 || k > C)
        TF_FAIL(TF_STATUS_EINVAL, "%s: k is %d; use 1 to %lld (the classes)", __func__, k, (long long)C);
    if ((double)n * k > (double)SIZE_MAX)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: n x k overflows", __func__);
    TF_CHECK(out_size(__func__, classes, capacity, n * (size_t)k, len_out));
    if (classes == NULL)
        return TF_STATUS_OK;
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * (size_t)C;
        int32_t *top = classes + i * (size_t)k;
        /* Insertion into the k best so far: k is small beside C in use. */
        int32_t have = 0;
        for (int32_t c = 0; c < (int32_t)C; c++) {
            int32_t at = have < k ? have : k;
            while (at > 0 && row[c] > row[top[at - 1]])
                at--;
            if (at >= k)
                continue;
            const int32_t last = have < k ? have : k - 1;
            memmove(top + at + 1, top + at, (size_t)(last - at) * sizeof *top);
            top[at] = c;
            have += have < k;
        }
        if (scores != NULL)
            for (int32_t j = 0; j < k; j++)
                scores[i * (size_t)k + (size_t)j] = row[top[j]];
    }
    return TF_STATUS_OK;
}

tf_status_t tf_predict_label_sets(const tf_predictor_t *p, const float *probs, size_t n, const float *thresholds,
                                  uint8_t *sets, size_t capacity, size_t *len_out)
{
    TF_REQUIRE_ARG(p);
    if (n > 0)
        TF_REQUIRE_ARG(probs);
    const int64_t C = p->net.C;
    if (p->net.kind != TF__DECIDE_MULTILABEL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a single-label predictor; use tf_predict_top_k", __func__);
    for (int64_t c = 0; thresholds != NULL && c < C; c++)
        if (!(thresholds[c] >= 0.0f && thresholds[c] <= 1.0f))
            TF_FAIL(TF_STATUS_EINVAL, "%s: threshold %lld is %g; use a value in [0, 1]", __func__, (long long)c,
                    (double)thresholds[c]);
    TF_CHECK(out_size(__func__, sets, capacity, n * (size_t)C, len_out));
    if (sets == NULL)
        return TF_STATUS_OK;
    for (size_t i = 0; i < n; i++)
        for (int64_t c = 0; c < C; c++)
            sets[i * (size_t)C + (size_t)c] = probs[i * (size_t)C + (size_t)c] >= (thresholds ? thresholds[c] : 0.5f);
    return TF_STATUS_OK;
}
