/* SPDX-License-Identifier: MIT */
/* Inverted dropout: in training mode y = x * mask / (1 - p) with mask ~ Bernoulli(1 - p) drawn from
 * the context's generator; in evaluation mode y = x. */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <string.h>

typedef struct tf__dropout {
    tf_module_t base;
    double p;
    float *mask; /* scale per element: 0 or 1/(1-p); unused in evaluation mode */
    size_t mask_cap;
    float *y;
    size_t y_cap;
    float *dx;
    size_t dx_cap;
    int64_t n;
    int32_t active; /* the last forward applied a mask */
    struct tf_tensor y_view, dx_view;
} tf__dropout_t;

static void drop_destroy(tf_module_t *m)
{
    tf__dropout_t *d = (tf__dropout_t *)m;
    tf__free(m->ctx, d->mask);
    tf__free(m->ctx, d->y);
    tf__free(m->ctx, d->dx);
}

static tf_status_t drop_forward(tf_module_t *m,
                                const tf_tensor_t *input,
                                const tf_tensor_t *lengths,
                                tf_tensor_t **output)
{
    tf__dropout_t *d = (tf__dropout_t *)m;
    (void)lengths;
    if (input->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "tf_module_forward: dropout input must be f32");
    size_t n = (size_t)input->numel;
    int32_t active = m->training == TF__MODE_TRAIN && d->p > 0.0;
    TF_CHECK(tf__buf_reserve(m->ctx, &d->y, &d->y_cap, n));
    if (active)
        TF_CHECK(tf__buf_reserve(m->ctx, &d->mask, &d->mask_cap, n));
    const float *x = (const float *)input->data;
    if (active) {
        float keep = (float)(1.0 - d->p), scale = 1.0f / keep;
        for (size_t i = 0; i < n; i++) {
            d->mask[i] = tf__rng_uniform(&m->ctx->rng) < keep ? scale : 0.0f;
            d->y[i] = x[i] * d->mask[i];
        }
    } else {
        memcpy(d->y, x, n * sizeof(float));
    }
    d->active = active;
    d->n = (int64_t)n;
    tf__view_set(&d->y_view, m->ctx, d->y, input->shape, input->ndim);
    tf__view_set(&d->dx_view, m->ctx, NULL, input->shape, input->ndim);
    m->has_forward = m->training;
    *output = &d->y_view;
    return TF_STATUS_OK;
}

static tf_status_t drop_backward(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    tf__dropout_t *d = (tf__dropout_t *)m;
    TF_CHECK(tf__tensor_expect("tf_module_backward", "grad_output", grad_output, TF_DTYPE_F32,
                               d->y_view.ndim, d->y_view.shape));
    if (grad_input == NULL)
        return TF_STATUS_OK;
    TF_CHECK(tf__buf_reserve(m->ctx, &d->dx, &d->dx_cap, (size_t)d->n));
    const float *dy = (const float *)grad_output->data;
    if (d->active)
        for (int64_t i = 0; i < d->n; i++)
            d->dx[i] = dy[i] * d->mask[i];
    else
        memcpy(d->dx, dy, (size_t)d->n * sizeof(float));
    d->dx_view.data = d->dx;
    *grad_input = &d->dx_view;
    return TF_STATUS_OK;
}

static const tf__module_vtable_t drop_vt = {TF_MODULE_DROPOUT, "dropout", drop_forward, drop_backward,
                                            NULL, drop_destroy, NULL, NULL};

TF__OPTS_LAYOUT(tf__dropout_opts_layout,
                tf_dropout_opts_t,
                TF_DROPOUT_OPTS_VERSION,
                TF__OPTS_END(tf_dropout_opts_t, p));

static void drop_defaults(tf_dropout_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_DROPOUT_OPTS_VERSION;
    o->p = 0.5;
}

tf_status_t tf_dropout_opts_init(tf_dropout_opts_t *opts, uint32_t version)
{
    tf_dropout_opts_t d;
    drop_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__dropout_opts_layout, __func__);
}

tf_status_t tf_dropout_create(tf_module_t **out, tf_ctx_t *ctx, const tf_dropout_opts_t *opts)
{
    tf_dropout_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    drop_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__dropout_opts_layout, __func__));
    if (!(o.p >= 0.0 && o.p < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: p is %g; it must be in [0, 1)", __func__, o.p);
    tf__dropout_t *d = tf__calloc(ctx, 1, sizeof *d);
    if (d == NULL)
        return TF_STATUS_ENOMEM;
    tf__module_init(&d->base, &drop_vt, ctx);
    d->p = o.p;
    *out = &d->base;
    tf__object_created(ctx);
    return TF_STATUS_OK;
}
