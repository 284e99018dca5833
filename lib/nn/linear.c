/* SPDX-License-Identifier: MIT */
/* Linear: y (N, out) = x (N, in) W^T + b over the rows of any (..., in) input. The weight may be
 * borrowed from an embedding (tied language-model head). */
#include "transfer/nn.h"
#include "nn_internal.h"
#include "../tensor/blas.h"

#include <math.h>
#include <string.h>

typedef struct tf__linear {
    tf_module_t base;
    int64_t in, out;
    tf__param_t *w; /* own[0] or the embedding's weight (tied) */
    tf__param_t *b; /* own bias or NULL */
    const float *x; /* input of the last forward (caller memory) */
    int64_t rows;
    float *y;
    size_t y_cap;
    float *dx;
    size_t dx_cap;
    float *scratch;
    size_t scratch_cap;
    struct tf_tensor y_view, dx_view;
} tf__linear_t;

static void lin_destroy(tf_module_t *m)
{
    tf__linear_t *l = (tf__linear_t *)m;
    tf__free(m->ctx, l->y);
    tf__free(m->ctx, l->dx);
    tf__free(m->ctx, l->scratch);
}

static tf_status_t lin_forward(tf_module_t *m,
                               const tf_tensor_t *input,
                               const tf_tensor_t *lengths,
                               tf_tensor_t **output)
{
    tf__linear_t *l = (tf__linear_t *)m;
    static const char fn[] = "tf_module_forward";
    (void)lengths;
    if (input->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: linear input must be f32", fn);
    if (input->shape[input->ndim - 1] != l->in)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: linear input has %lld features on its last axis, expected %lld",
                fn, (long long)input->shape[input->ndim - 1], (long long)l->in);
    int64_t n = input->numel / l->in;
    TF_CHECK(tf__check_floats(fn, (double)n * (double)(l->out > l->in ? l->out : l->in)));
    TF_CHECK(tf__buf_reserve(m->ctx, &l->y, &l->y_cap, (size_t)(n * l->out)));
    const float *w = (const float *)l->w->value.data;
    /* y = x W^T (+ b). Backward: dW += dy^T x, db += sum_rows dy, dx = dy W. */
    if (l->b != NULL) {
        const float *b = (const float *)l->b->value.data;
        for (int64_t r = 0; r < n; r++)
            memcpy(l->y + r * l->out, b, (size_t)l->out * sizeof(float));
    }
    tf__sgemm(m->ctx->num_threads, 0, 1, n, l->out, l->in, 1.0f, (const float *)input->data, l->in, w, l->in,
              l->b != NULL ? 1.0f : 0.0f, l->y, l->out);
    l->x = (const float *)input->data;
    l->rows = n;
    int64_t shape[TF_TENSOR_MAX_DIMS];
    memcpy(shape, input->shape, input->ndim * sizeof *shape);
    shape[input->ndim - 1] = l->out;
    tf__view_set(&l->y_view, m->ctx, l->y, shape, input->ndim);
    shape[input->ndim - 1] = l->in;
    tf__view_set(&l->dx_view, m->ctx, NULL, shape, input->ndim);
    m->has_forward = m->training;
    *output = &l->y_view;
    return TF_STATUS_OK;
}

static tf_status_t lin_backward(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    tf__linear_t *l = (tf__linear_t *)m;
    TF_CHECK(tf__tensor_expect("tf_module_backward", "grad_output", grad_output, TF_DTYPE_F32,
                               l->y_view.ndim, l->y_view.shape));
    const float *dy = (const float *)grad_output->data;
    if (grad_input != NULL) {
        TF_CHECK(tf__buf_reserve(m->ctx, &l->dx, &l->dx_cap, (size_t)(l->rows * l->in)));
        tf__sgemm(m->ctx->num_threads, 0, 0, l->rows, l->in, l->out, 1.0f, dy, l->out, (const float *)l->w->value.data,
                  l->in, 0.0f, l->dx, l->in);
        l->dx_view.data = l->dx;
        *grad_input = &l->dx_view;
    }
    float *dw = tf__param_grad(l->w);
    if (dw != NULL)
        tf__sgemm(m->ctx->num_threads, 1, 0, l->out, l->in, l->rows, 1.0f, dy, l->out, l->x, l->in, 1.0f, dw, l->in);
    float *db = l->b ? tf__param_grad(l->b) : NULL;
    if (db != NULL)
        for (int64_t r = 0; r < l->rows; r++)
            tf__vec_add(db, dy + r * l->out, l->out);
    return TF_STATUS_OK;
}

static const tf__module_vtable_t lin_vt = {TF_MODULE_LINEAR, "linear", lin_forward, lin_backward, NULL,
                                           lin_destroy, NULL, NULL};

void tf__linear_get_view(tf_module_t *m, tf__linear_view_t *v)
{
    tf__linear_t *l = (tf__linear_t *)m;
    v->in = l->in;
    v->out = l->out;
    v->w = (const float *)l->w->value.data;
    v->b = l->b ? (const float *)l->b->value.data : NULL;
    v->dw = tf__param_grad(l->w);
    v->db = l->b ? tf__param_grad(l->b) : NULL;
}

tf_status_t tf__linear_scratch(tf_module_t *m, size_t n, float **out)
{
    tf__linear_t *l = (tf__linear_t *)m;
    TF_CHECK(tf__buf_reserve(m->ctx, &l->scratch, &l->scratch_cap, n));
    *out = l->scratch;
    return TF_STATUS_OK;
}

TF__OPTS_LAYOUT(tf__linear_opts_layout,
                tf_linear_opts_t,
                TF_LINEAR_OPTS_VERSION,
                TF__OPTS_END(tf_linear_opts_t, name));

static void lin_defaults(tf_linear_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_LINEAR_OPTS_VERSION;
    o->bias = 1;
}

tf_status_t tf_linear_opts_init(tf_linear_opts_t *opts, uint32_t version)
{
    tf_linear_opts_t d;
    lin_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__linear_opts_layout, __func__);
}

size_t tf__linear_param_floats(const tf_linear_opts_t *o)
{
    return (size_t)o->out_features * (size_t)o->in_features + (o->bias ? (size_t)o->out_features : 0);
}

tf_status_t tf__linear_check_opts(const char *fn, const tf_linear_opts_t *o)
{
    if (o->in_features < 1 || o->out_features < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: in_features (%lld) and out_features (%lld) must be at least 1", fn,
                (long long)o->in_features, (long long)o->out_features);
    if (o->bias != 0 && o->bias != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: bias is %d; use 0 or 1", fn, o->bias);
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", fn);
    size_t n;
    if ((uint64_t)o->out_features > SIZE_MAX / 8 ||
        !tf__mul_size((size_t)o->out_features, (size_t)o->in_features, &n) ||
        n > (size_t)INT64_MAX / sizeof(float) / 4)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the weight size overflows", fn);
    return tf__check_name(fn, o->name);
}

/* tied != NULL: borrow that weight and own only the bias. */
static tf_status_t linear_build(tf_module_t **out,
                                tf_ctx_t *ctx,
                                const tf_linear_opts_t *o,
                                float *pbuf,
                                float *gbuf,
                                tf__param_t *tied)
{
    tf_status_t st;
    tf__linear_t *l = tf__calloc(ctx, 1, sizeof *l);
    if (l == NULL)
        return TF_STATUS_ENOMEM;
    tf_module_t *m = &l->base;
    tf__module_init(m, &lin_vt, ctx);
    l->in = o->in_features;
    l->out = o->out_features;
    size_t wn = tied ? 0 : (size_t)(l->in * l->out);
    size_t n = wn + (o->bias ? (size_t)l->out : 0);
    uint32_t np = (tied ? 0u : 1u) + (o->bias ? 1u : 0u);
    if (pbuf != NULL) {
        m->pbuf = pbuf;
        m->gbuf = gbuf;
        m->nfloats = n;
    } else if (n > 0) {
        TF_CHECK_GOTO(st, tf__module_alloc_buffers(m, n), fail);
    }
    TF_CHECK_GOTO(st, tf__module_alloc_params(m, np), fail);
    uint32_t i = 0;
    float bound = 1.0f / sqrtf((float)l->in);
    if (tied) {
        l->w = tied;
    } else {
        TF_CHECK_GOTO(st, tf__module_set_param(m, i, o->name, "weight", 0, (int64_t[]){l->out, l->in}, 2), fail);
        l->w = &m->own[i++];
        tf__init_uniform(ctx, m->pbuf, wn, bound);
    }
    if (o->bias) {
        TF_CHECK_GOTO(st, tf__module_set_param(m, i, o->name, "bias", wn, (int64_t[]){l->out}, 1), fail);
        l->b = &m->own[i];
        tf__init_uniform(ctx, m->pbuf + wn, (size_t)l->out, bound);
    }
    *out = m;
    return TF_STATUS_OK;
fail:
    tf__module_discard(m);
    return st;
}

tf_status_t tf__linear_new(tf_module_t **out,
                           tf_ctx_t *ctx,
                           const tf_linear_opts_t *o,
                           float *pbuf,
                           float *gbuf)
{
    return linear_build(out, ctx, o, pbuf, gbuf, NULL);
}

tf_status_t tf_linear_create(tf_module_t **out, tf_ctx_t *ctx, const tf_linear_opts_t *opts)
{
    tf_linear_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(opts);
    lin_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__linear_opts_layout, __func__));
    TF_CHECK(tf__linear_check_opts(__func__, &o));
    TF_CHECK(linear_build(out, ctx, &o, NULL, NULL, NULL));
    tf__object_created(ctx);
    return TF_STATUS_OK;
}

tf_status_t tf_linear_create_tied(tf_module_t **out,
                                  tf_ctx_t *ctx,
                                  tf_module_t *embedding,
                                  const tf_linear_opts_t *opts)
{
    tf_linear_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(embedding);
    TF_REQUIRE_ARG(opts);
    lin_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__linear_opts_layout, __func__));
    TF_CHECK(tf__linear_check_opts(__func__, &o));
    tf__param_t *w = tf__embedding_weight(embedding);
    if (w == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the %s module has no embedding table to tie to", __func__,
                embedding->vt->kind_name);
    if (w->value.shape[0] != o.out_features || w->value.shape[1] != o.in_features)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the embedding table is (%lld, %lld) but the head maps %lld -> %lld "
                "(out_features must be V and in_features E)",
                __func__, (long long)w->value.shape[0], (long long)w->value.shape[1],
                (long long)o.in_features, (long long)o.out_features);
    TF_CHECK(linear_build(out, ctx, &o, NULL, NULL, w));
    tf__object_created(ctx);
    return TF_STATUS_OK;
}
