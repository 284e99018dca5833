/* SPDX-License-Identifier: MIT */
/* The stacked recurrent module: layers of one or two directions over a cell's kernels (cell.h),
 * dropout between layers, lengths, initial and final states.
 *
 * Working memory for (T, B), rows = T*B, DH = directions*H, one block carved into:
 *   y[l]       rows*DH per layer (layer outputs; dropout applied in place to all but the last)
 *   cache[l,d] the cell's cache_floats per layer and direction
 *   work       max of the cell's work_floats
 *   mask[l]    rows*DH for l < L-1 (dropout scales), only with dropout
 *   h0, c0, hn, cn, dh0, dc0   L*D*B*H each (the c buffers unused by a cell without a cell state)
 *   da, db     rows*DH (gradient ping-pong between layers), dx0 rows*I
 *   xin        rows*I, the input with padded rows zeroed (NaN there must not reach the GEMMs)
 * Memory of a training step = that block + the parameters and gradients (2 x param floats). */
#include "transfer/nn.h"
#include "nn_internal.h"
#include "cell.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct tf__rnn {
    tf_module_t base;
    tf__module_vtable_t vt; /* the module vtable with the cell's kind */
    const tf__cell_ops_t *cell;
    int64_t I, H;
    int32_t L, D;
    double p;
    /* workspace */
    float *ws;
    size_t ws_cap;
    int64_t T, B; /* shape the workspace is carved for (0: none) */
    float **y, **cache, **mask;
    float *work, *h0, *c0, *hn, *cn, *dh0, *dc0, *da, *db, *dx0;
    float *xin; /* copy of the input, padded rows zeroed (the kernel's GEMMs read them) */
    int32_t *len;
    size_t len_cap;
    /* last forward */
    int32_t has_len, has_h0, has_c0, dropped;
    const float *x;
    struct tf_tensor y_view, hn_view, cn_view, dx_view, dh0_view, dc0_view;
} tf__rnn_t;

static int64_t layer_in(const tf__rnn_t *s, int32_t l)
{
    return l == 0 ? s->I : s->D * s->H;
}

static tf__param_t *lp(tf_module_t *m, int32_t l, int32_t d, int k)
{
    tf__rnn_t *s = (tf__rnn_t *)m;
    return &m->own[(l * s->D + d) * TF__CELL_PARAMS + k];
}

static const float *pv(tf__param_t *p)
{
    return (const float *)p->value.data;
}

/* Carve the workspace for (T, B) at `base` (NULL: only count). Returns the floats needed. */
static size_t carve(tf__rnn_t *s, int64_t T, int64_t B, float *base)
{
    size_t rows = (size_t)(T * B), DH = (size_t)(s->D * s->H), st = (size_t)(s->L * s->D) * (size_t)(B * s->H);
    size_t off = 0, maxwork = 0;
#define TAKE(ptr, n)                                                                               \
    do {                                                                                           \
        if (base)                                                                                  \
            (ptr) = base + off;                                                                    \
        off += (n);                                                                                \
    } while (0)
    for (int32_t l = 0; l < s->L; l++) {
        tf__cell_shape_t sh = {layer_in(s, l), s->H, T, B, 1};
        TAKE(s->y[l], rows * DH);
        for (int32_t d = 0; d < s->D; d++)
            TAKE(s->cache[l * s->D + d], s->cell->cache_floats(&sh));
        size_t w = s->cell->work_floats(&sh);
        if (w > maxwork)
            maxwork = w;
        if (s->p > 0.0 && l < s->L - 1)
            TAKE(s->mask[l], rows * DH);
    }
    TAKE(s->work, maxwork);
    TAKE(s->h0, st);
    TAKE(s->c0, st);
    TAKE(s->hn, st);
    TAKE(s->cn, st);
    TAKE(s->dh0, st);
    TAKE(s->dc0, st);
    TAKE(s->da, rows * DH);
    TAKE(s->db, rows * DH);
    TAKE(s->dx0, rows * (size_t)s->I);
    TAKE(s->xin, rows * (size_t)s->I);
#undef TAKE
    return off;
}

static tf_status_t reserve(tf__rnn_t *s, int64_t T, int64_t B)
{
    tf_ctx_t *ctx = s->base.ctx;
    if (s->T == T && s->B == B)
        return TF_STATUS_OK;
    size_t need = carve(s, T, B, NULL);
    if (need > s->ws_cap || s->ws == NULL) {
        float *p = tf__alloc(ctx, need * sizeof(float));
        if (p == NULL)
            return TF_STATUS_ENOMEM;
        tf__free(ctx, s->ws);
        s->ws = p;
        s->ws_cap = need;
    }
    if ((size_t)B > s->len_cap || s->len == NULL) {
        int32_t *l = tf__calloc(ctx, (size_t)B, sizeof *l);
        if (l == NULL) {
            s->T = s->B = 0;
            return TF_STATUS_ENOMEM;
        }
        tf__free(ctx, s->len);
        s->len = l;
        s->len_cap = (size_t)B;
    }
    carve(s, T, B, s->ws);
    s->T = T;
    s->B = B;
    return TF_STATUS_OK;
}

static tf_status_t check_state(const char *fn, const char *name, const tf_tensor_t *t, const tf__rnn_t *s, int64_t B)
{
    if (t == NULL)
        return TF_STATUS_OK;
    return tf__tensor_expect(fn, name, t, TF_DTYPE_F32, 3, (int64_t[]){(int64_t)s->L * s->D, B, s->H});
}

static tf_status_t rnn_forward_states(tf_module_t *m,
                                      const tf_tensor_t *input,
                                      const tf_tensor_t *lengths,
                                      const tf_tensor_t *h0,
                                      const tf_tensor_t *c0,
                                      tf_tensor_t **output,
                                      tf_tensor_t **h_n,
                                      tf_tensor_t **c_n)
{
    tf__rnn_t *s = (tf__rnn_t *)m;
    static const char fn[] = "tf_rnn_forward";
    if (input->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: %s input must be f32 (T, B, I)", fn, s->cell->kind_name);
    if (input->ndim != 3 || input->shape[2] != s->I)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: %s input must be (T, B, %lld); got %u dimensions, last %lld", fn,
                s->cell->kind_name, (long long)s->I, input->ndim, (long long)input->shape[input->ndim - 1]);
    if (c0 != NULL && !s->cell->cell_state)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a %s has no cell state; pass c0 = NULL", fn, s->cell->kind_name);
    int64_t T = input->shape[0], B = input->shape[1];
    TF_CHECK(tf__check_lengths(fn, lengths, T, B));
    TF_CHECK(check_state(fn, "h0", h0, s, B));
    TF_CHECK(check_state(fn, "c0", c0, s, B));
    TF_CHECK(tf__check_floats(fn, (double)T * (double)B * (double)(s->D * s->H + s->I) * (12.0 * s->L * s->D + 8.0)));
    m->has_forward = 0;
    TF_CHECK(reserve(s, T, B));
    size_t st = (size_t)(s->L * s->D) * (size_t)(B * s->H), rows = (size_t)(T * B);
    int64_t DH = s->D * s->H, sB = B * s->H;
    s->has_len = lengths != NULL;
    if (lengths)
        memcpy(s->len, lengths->data, (size_t)B * sizeof(int32_t));
    s->has_h0 = h0 != NULL;
    s->has_c0 = c0 != NULL;
    if (h0)
        memcpy(s->h0, h0->data, st * sizeof(float));
    if (c0)
        memcpy(s->c0, c0->data, st * sizeof(float));
    {
        const float *src = (const float *)input->data;
        size_t row = (size_t)s->I * sizeof(float);
        for (int64_t t = 0; t < T; t++)
            for (int64_t b = 0; b < B; b++) {
                int64_t r = t * B + b;
                if (lengths != NULL && t >= s->len[b])
                    memset(s->xin + r * s->I, 0, row);
                else
                    memcpy(s->xin + r * s->I, src + r * s->I, row);
            }
    }
    s->x = s->xin;
    s->dropped = m->training == TF__MODE_TRAIN && s->p > 0.0 && s->L > 1;
    const int32_t *len = s->has_len ? s->len : NULL;
    float keep = (float)(1.0 - s->p), scale = 1.0f / keep;
    for (int32_t l = 0; l < s->L; l++) {
        tf__cell_shape_t sh = {layer_in(s, l), s->H, T, B, m->ctx->num_threads};
        const float *x = l == 0 ? s->x : s->y[l - 1];
        for (int32_t d = 0; d < s->D; d++) {
            int64_t k = l * s->D + d;
            s->cell->forward(&sh, d, x, sh.input_size, len, pv(lp(m, l, d, 0)), pv(lp(m, l, d, 1)),
                             pv(lp(m, l, d, 2)), pv(lp(m, l, d, 3)), s->has_h0 ? s->h0 + k * sB : NULL,
                             s->has_c0 ? s->c0 + k * sB : NULL, s->y[l] + d * s->H, DH, s->hn + k * sB,
                             s->cn + k * sB, m->training ? s->cache[k] : NULL, s->work);
        }
        if (s->dropped && l < s->L - 1) {
            float *y = s->y[l], *mk = s->mask[l];
            for (size_t i = 0; i < rows * (size_t)DH; i++) {
                mk[i] = tf__rng_uniform(&m->ctx->rng) < keep ? scale : 0.0f;
                y[i] *= mk[i];
            }
        }
    }
    tf__view_set(&s->y_view, m->ctx, s->y[s->L - 1], (int64_t[]){T, B, DH}, 3);
    tf__view_set(&s->hn_view, m->ctx, s->hn, (int64_t[]){(int64_t)s->L * s->D, B, s->H}, 3);
    tf__view_set(&s->cn_view, m->ctx, s->cn, (int64_t[]){(int64_t)s->L * s->D, B, s->H}, 3);
    tf__view_set(&s->dh0_view, m->ctx, s->dh0, (int64_t[]){(int64_t)s->L * s->D, B, s->H}, 3);
    tf__view_set(&s->dc0_view, m->ctx, s->dc0, (int64_t[]){(int64_t)s->L * s->D, B, s->H}, 3);
    tf__view_set(&s->dx_view, m->ctx, s->dx0, (int64_t[]){T, B, s->I}, 3);
    m->has_forward = m->training;
    if (output)
        *output = &s->y_view;
    if (h_n)
        *h_n = &s->hn_view;
    if (c_n)
        *c_n = s->cell->cell_state ? &s->cn_view : NULL;
    return TF_STATUS_OK;
}

static tf_status_t rnn_backward_states(tf_module_t *m,
                                       const tf_tensor_t *grad_output,
                                       const tf_tensor_t *grad_h_n,
                                       const tf_tensor_t *grad_c_n,
                                       tf_tensor_t **grad_input,
                                       tf_tensor_t **grad_h0,
                                       tf_tensor_t **grad_c0)
{
    tf__rnn_t *s = (tf__rnn_t *)m;
    static const char fn[] = "tf_rnn_backward";
    int64_t T = s->T, B = s->B, DH = s->D * s->H, sB = B * s->H;
    if (grad_output)
        TF_CHECK(tf__tensor_expect(fn, "grad_output", grad_output, TF_DTYPE_F32, 3, (int64_t[]){T, B, DH}));
    TF_CHECK(check_state(fn, "grad_h_n", grad_h_n, s, B));
    TF_CHECK(check_state(fn, "grad_c_n", grad_c_n, s, B));
    if (grad_c_n != NULL && !s->cell->cell_state)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a %s has no cell state; pass grad_c_n = NULL", fn, s->cell->kind_name);
    size_t st = (size_t)(s->L * s->D) * (size_t)sB, rows = (size_t)(T * B);
    memset(s->dh0, 0, st * sizeof(float));
    memset(s->dc0, 0, st * sizeof(float));
    const int32_t *len = s->has_len ? s->len : NULL;
    const float *dy = grad_output ? (const float *)grad_output->data : NULL;
    const float *dhn = grad_h_n ? (const float *)grad_h_n->data : NULL;
    const float *dcn = grad_c_n ? (const float *)grad_c_n->data : NULL;
    float *bufs[2] = {s->da, s->db};
    for (int32_t l = s->L - 1; l >= 0; l--) {
        tf__cell_shape_t sh = {layer_in(s, l), s->H, T, B, m->ctx->num_threads};
        const float *x = l == 0 ? s->x : s->y[l - 1];
        float *dx = NULL;
        if (l > 0)
            dx = bufs[l & 1];
        else if (grad_input != NULL)
            dx = s->dx0;
        if (dx)
            memset(dx, 0, rows * (size_t)sh.input_size * sizeof(float));
        for (int32_t d = 0; d < s->D; d++) {
            int64_t k = l * s->D + d;
            s->cell->backward(&sh, d, x, sh.input_size, len, pv(lp(m, l, d, 0)), pv(lp(m, l, d, 1)),
                              s->has_h0 ? s->h0 + k * sB : NULL, s->has_c0 ? s->c0 + k * sB : NULL,
                              dy ? dy + d * s->H : NULL, DH, dhn ? dhn + k * sB : NULL,
                              dcn ? dcn + k * sB : NULL, s->cache[k], s->work, dx, sh.input_size,
                              tf__param_grad(lp(m, l, d, 0)), tf__param_grad(lp(m, l, d, 1)),
                              tf__param_grad(lp(m, l, d, 2)), tf__param_grad(lp(m, l, d, 3)),
                              s->dh0 + k * sB, s->dc0 + k * sB);
        }
        if (l > 0 && s->dropped) {
            const float *mk = s->mask[l - 1];
            for (size_t i = 0; i < rows * (size_t)DH; i++)
                dx[i] *= mk[i];
        }
        dy = dx;
    }
    if (grad_input)
        *grad_input = &s->dx_view;
    if (grad_h0)
        *grad_h0 = &s->dh0_view;
    if (grad_c0)
        *grad_c0 = s->cell->cell_state ? &s->dc0_view : NULL;
    return TF_STATUS_OK;
}

static tf_status_t rnn_forward_vt(tf_module_t *m,
                                  const tf_tensor_t *input,
                                  const tf_tensor_t *lengths,
                                  tf_tensor_t **output)
{
    return rnn_forward_states(m, input, lengths, NULL, NULL, output, NULL, NULL);
}

static tf_status_t rnn_backward_vt(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    return rnn_backward_states(m, grad_output, NULL, NULL, grad_input, NULL, NULL);
}

static void rnn_destroy(tf_module_t *m)
{
    tf__rnn_t *s = (tf__rnn_t *)m;
    tf__free(m->ctx, s->ws);
    tf__free(m->ctx, s->len);
    tf__free(m->ctx, s->y);
    tf__free(m->ctx, s->cache);
    tf__free(m->ctx, s->mask);
}

/* Every cell shares these entries; kind and kind_name are the cell's. */
static const tf__module_vtable_t rnn_vt = {0, NULL, rnn_forward_vt, rnn_backward_vt, NULL, rnn_destroy,
                                           rnn_forward_states, rnn_backward_states};

TF__OPTS_LAYOUT(tf__rnn_opts_layout,
                tf_rnn_opts_t,
                TF_RNN_OPTS_VERSION,
                TF__OPTS_END(tf_rnn_opts_t, name),
                TF__OPTS_END(tf_rnn_opts_t, cell));

static void rnn_defaults(tf_rnn_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_RNN_OPTS_VERSION;
    o->num_layers = 1;
    o->cell = TF_CELL_LSTM;
}

tf_status_t tf_rnn_opts_init(tf_rnn_opts_t *opts, uint32_t version)
{
    tf_rnn_opts_t d;
    rnn_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__rnn_opts_layout, __func__);
}

size_t tf__rnn_param_floats(const tf_rnn_opts_t *o)
{
    size_t D = o->bidirectional ? 2 : 1, H = (size_t)o->hidden_size, n = 0;
    size_t G = (size_t)tf__cell_get(o->cell)->gates;
    for (int32_t l = 0; l < o->num_layers; l++) {
        size_t in = l == 0 ? (size_t)o->input_size : D * H;
        n += D * (G * H * in + G * H * H + 2 * G * H);
    }
    return n;
}

tf_status_t tf__rnn_check_opts(const char *fn, const tf_rnn_opts_t *o)
{
    if (o->input_size < 1 || o->hidden_size < 1 || o->num_layers < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: input_size (%lld), hidden_size (%lld) and num_layers (%d) must be at least 1",
                fn, (long long)o->input_size, (long long)o->hidden_size, o->num_layers);
    if (o->bidirectional != 0 && o->bidirectional != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: bidirectional is %d; use 0 or 1", fn, o->bidirectional);
    if (!(o->dropout >= 0.0 && o->dropout < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: dropout is %g; it must be in [0, 1)", fn, o->dropout);
    if (tf__cell_get(o->cell) == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: cell %d is not a tf_cell_t", fn, o->cell);
    if (o->input_size > (1 << 24) || o->hidden_size > (1 << 24) || o->num_layers > 1024)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: sizes are too large (at most 2^24 features, 1024 layers)", fn);
    double total = 0; /* with 4 gate blocks, the most any cell has */
    for (int32_t l = 0; l < o->num_layers; l++) {
        double in = l == 0 ? (double)o->input_size : 2.0 * (double)o->hidden_size;
        total += 2.0 * 4.0 * (double)o->hidden_size * (in + (double)o->hidden_size + 2.0);
    }
    if (total > 4e18 / 4.0 || total > (double)SIZE_MAX / 8.0)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the parameter count overflows", fn);
    return tf__check_name(fn, o->name);
}

tf_status_t
tf__rnn_new(tf_module_t **out, tf_ctx_t *ctx, const tf_rnn_opts_t *o, float *pbuf, float *gbuf)
{
    const tf__cell_ops_t *cell = tf__cell_get(o->cell);
    tf_status_t st;
    tf__rnn_t *s = tf__calloc(ctx, 1, sizeof *s);
    if (s == NULL)
        return TF_STATUS_ENOMEM;
    tf_module_t *m = &s->base;
    s->vt = rnn_vt;
    s->vt.kind = cell->module_kind;
    s->vt.kind_name = cell->kind_name;
    s->cell = cell;
    tf__module_init(m, &s->vt, ctx);
    s->I = o->input_size;
    s->H = o->hidden_size;
    s->L = o->num_layers;
    s->D = o->bidirectional ? 2 : 1;
    s->p = o->dropout;
    size_t n = tf__rnn_param_floats(o);
    st = TF_STATUS_ENOMEM;
    s->y = tf__calloc(ctx, (size_t)s->L, sizeof *s->y);
    if (s->y == NULL)
        goto fail;
    s->cache = tf__calloc(ctx, (size_t)(s->L * s->D), sizeof *s->cache);
    if (s->cache == NULL)
        goto fail;
    s->mask = tf__calloc(ctx, (size_t)s->L, sizeof *s->mask);
    if (s->mask == NULL)
        goto fail;
    if (pbuf != NULL) {
        m->pbuf = pbuf;
        m->gbuf = gbuf;
        m->nfloats = n;
    } else {
        TF_CHECK_GOTO(st, tf__module_alloc_buffers(m, n), fail);
    }
    TF_CHECK_GOTO(st, tf__module_alloc_params(m, (uint32_t)(TF__CELL_PARAMS * s->L * s->D)), fail);
    size_t off = 0;
    int64_t GH = cell->gates * s->H;
    for (int32_t l = 0; l < s->L; l++)
        for (int32_t d = 0; d < s->D; d++) {
            const int64_t in = layer_in(s, l);
            const int64_t shapes[TF__CELL_PARAMS][2] = {{GH, in}, {GH, s->H}, {GH, 0}, {GH, 0}};
            for (int k = 0; k < TF__CELL_PARAMS; k++) {
                char nm[64];
                uint32_t nd = shapes[k][1] ? 2 : 1;
                tf__cell_param_local(nm, sizeof nm, k, l, d);
                TF_CHECK_GOTO(st, tf__module_set_param(m, (uint32_t)((l * s->D + d) * TF__CELL_PARAMS + k), o->name,
                                                       nm, off, shapes[k], nd),
                              fail);
                off += (size_t)(GH * (nd == 2 ? shapes[k][1] : 1));
            }
        }
    tf__init_uniform(ctx, m->pbuf, n, 1.0f / sqrtf((float)s->H));
    *out = m;
    return TF_STATUS_OK;
fail:
    tf__module_discard(m);
    return st;
}

tf_status_t tf_rnn_create(tf_module_t **out, tf_ctx_t *ctx, const tf_rnn_opts_t *opts)
{
    tf_rnn_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(opts);
    rnn_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__rnn_opts_layout, __func__));
    TF_CHECK(tf__rnn_check_opts(__func__, &o));
    TF_CHECK(tf__rnn_new(out, ctx, &o, NULL, NULL));
    tf__object_created(ctx);
    return TF_STATUS_OK;
}
