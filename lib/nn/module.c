/* SPDX-License-Identifier: MIT */
/* The module base: parameter store (one buffer of values, one of gradients, named views),
 * enumeration, freezing, modes, and the generic forward/backward dispatch. */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <math.h>
#include <string.h>

void tf__module_init(tf_module_t *m, const tf__module_vtable_t *vt, tf_ctx_t *ctx)
{
    memset(m, 0, sizeof *m);
    m->vt = vt;
    m->ctx = ctx;
    m->training = 1;
}

tf_status_t tf__module_alloc_params(tf_module_t *m, uint32_t n)
{
    if (n == 0)
        return TF_STATUS_OK;
    m->own = tf__calloc(m->ctx, n, sizeof *m->own);
    if (m->own == NULL)
        return TF_STATUS_ENOMEM;
    m->nown = n;
    m->params = tf__calloc(m->ctx, n, sizeof *m->params);
    if (m->params == NULL)
        return TF_STATUS_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        m->params[i] = &m->own[i];
    m->nparams = n;
    return TF_STATUS_OK;
}

void tf__view_set(struct tf_tensor *t, tf_ctx_t *ctx, float *data, const int64_t *shape, uint32_t ndim)
{
    int32_t rg = t->ctx != NULL ? t->requires_grad : 1;
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->dtype = TF_DTYPE_F32;
    t->ndim = ndim;
    t->numel = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= shape[i];
    }
    t->nbytes = (size_t)t->numel * sizeof(float);
    t->data = data;
    t->owned = 0;
    t->requires_grad = rg;
}

tf_status_t tf__module_set_param(tf_module_t *m,
                                 uint32_t i,
                                 const char *prefix,
                                 const char *local,
                                 size_t offset,
                                 const int64_t *shape,
                                 uint32_t ndim)
{
    tf__param_t *p = &m->own[i];
    size_t lp = (prefix && prefix[0]) ? strlen(prefix) + 1 : 0, ll = strlen(local);
    p->name = tf__alloc(m->ctx, lp + ll + 1);
    if (p->name == NULL)
        return TF_STATUS_ENOMEM;
    if (lp) {
        memcpy(p->name, prefix, lp - 1);
        p->name[lp - 1] = '.';
    }
    memcpy(p->name + lp, local, ll + 1);
    tf__view_set(&p->value, m->ctx, m->pbuf + offset, shape, ndim);
    tf__view_set(&p->grad, m->ctx, m->gbuf + offset, shape, ndim);
    return TF_STATUS_OK;
}

tf_status_t tf__module_alloc_buffers(tf_module_t *m, size_t nfloats)
{
    m->nfloats = nfloats;
    m->owns_buf = 1;
    m->pbuf = tf__calloc(m->ctx, nfloats, sizeof(float));
    if (m->pbuf == NULL)
        return TF_STATUS_ENOMEM;
    m->gbuf = tf__calloc(m->ctx, nfloats, sizeof(float));
    if (m->gbuf == NULL)
        return TF_STATUS_ENOMEM;
    return TF_STATUS_OK;
}

void tf__module_release(tf_module_t *m)
{
    for (uint32_t i = 0; i < m->nown; i++)
        tf__free(m->ctx, m->own[i].name);
    tf__free(m->ctx, m->own);
    tf__free(m->ctx, m->params);
    if (m->owns_buf) {
        tf__free(m->ctx, m->pbuf);
        tf__free(m->ctx, m->gbuf);
    }
    m->own = NULL;
    m->params = NULL;
    m->nown = m->nparams = 0;
}

void tf__module_param_buffers(tf_module_t *m, float **params, float **grads, size_t *nfloats)
{
    *params = m->pbuf;
    *grads = m->gbuf;
    *nfloats = m->nfloats;
}

tf_status_t tf__buf_reserve(tf_ctx_t *ctx, float **buf, size_t *cap, size_t n)
{
    if (n <= *cap && *buf != NULL)
        return TF_STATUS_OK;
    float *p = tf__calloc(ctx, n ? n : 1, sizeof(float));
    if (p == NULL)
        return TF_STATUS_ENOMEM;
    tf__free(ctx, *buf);
    *buf = p;
    *cap = n;
    return TF_STATUS_OK;
}

void tf__init_uniform(tf_ctx_t *ctx, float *x, size_t n, float bound)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (2.0f * tf__rng_uniform(&ctx->rng) - 1.0f) * bound;
}

void tf__init_normal(tf_ctx_t *ctx, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)tf__rng_normal(&ctx->rng);
}

tf_status_t tf__check_lengths(const char *fn, const tf_tensor_t *lengths, int64_t T, int64_t B)
{
    if (lengths == NULL)
        return TF_STATUS_OK;
    TF_CHECK(tf__tensor_expect(fn, "lengths", lengths, TF_DTYPE_I32, 1, (int64_t[]){B}));
    const int32_t *l = (const int32_t *)lengths->data;
    for (int64_t b = 0; b < B; b++)
        if (l[b] < 1 || l[b] > T)
            TF_FAIL(TF_STATUS_EINVAL, "%s: lengths[%lld] is %d; lengths must be in 1..%lld (T)", fn,
                    (long long)b, l[b], (long long)T);
    return TF_STATUS_OK;
}

tf_status_t tf__check_floats(const char *fn, double floats)
{
    if (!(floats < 0x1p58))
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the working memory for this input (%.3g floats) is too large", fn,
                floats);
    return TF_STATUS_OK;
}

tf_status_t tf__module_expect(const char *fn, const tf_module_t *m, int32_t kind)
{
    if (m == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'm' is NULL", fn);
    if (m->vt->kind != kind)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the module is a %s module", fn, m->vt->kind_name);
    return TF_STATUS_OK;
}

tf_status_t tf__check_name(const char *fn, const char *name)
{
    if (name != NULL && strlen(name) > 256)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the name prefix is longer than 256 characters", fn);
    return TF_STATUS_OK;
}

/* ---- public ---- */

void tf__module_discard(tf_module_t *m)
{
    if (m == NULL)
        return;
    tf_ctx_t *ctx = m->ctx;
    m->vt->destroy(m);
    tf__module_release(m);
    tf__free(ctx, m);
}

void tf_module_free(tf_module_t *m)
{
    if (m == NULL)
        return;
    tf_ctx_t *ctx = m->ctx;
    tf__module_discard(m);
    tf__object_freed(ctx);
}

int32_t tf_module_kind(const tf_module_t *m)
{
    return m ? m->vt->kind : 0;
}

uint32_t tf_module_num_params(const tf_module_t *m)
{
    return m ? m->nparams : 0;
}

int64_t tf_module_param_numel(const tf_module_t *m)
{
    int64_t n = 0;
    if (m == NULL)
        return 0;
    for (uint32_t i = 0; i < m->nparams; i++)
        n += m->params[i]->value.numel;
    return n;
}

tf_status_t tf_module_param_at(const char **name_out,
                               tf_tensor_t **param_out,
                               tf_tensor_t **grad_out,
                               tf_module_t *m,
                               uint32_t index)
{
    TF_REQUIRE_ARG(m);
    if (index >= m->nparams)
        TF_FAIL(TF_STATUS_EINVAL, "%s: index %u is out of range (the %s module has %u parameters)",
                __func__, index, m->vt->kind_name, m->nparams);
    tf__param_t *p = m->params[index];
    if (name_out)
        *name_out = p->name;
    if (param_out)
        *param_out = &p->value;
    if (grad_out)
        *grad_out = &p->grad;
    return TF_STATUS_OK;
}

tf_status_t tf_module_param_find(tf_tensor_t **param_out,
                                 tf_tensor_t **grad_out,
                                 tf_module_t *m,
                                 const char *name)
{
    if (param_out)
        *param_out = NULL;
    if (grad_out)
        *grad_out = NULL;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(name);
    for (uint32_t i = 0; i < m->nparams; i++) {
        tf__param_t *p = m->params[i];
        if (strcmp(p->name, name) == 0) {
            if (param_out)
                *param_out = &p->value;
            if (grad_out)
                *grad_out = &p->grad;
            return TF_STATUS_OK;
        }
    }
    TF_FAIL(TF_STATUS_ENOTFOUND, "%s: the %s module has no parameter named '%s'", __func__,
            m->vt->kind_name, name);
}

tf_status_t tf_module_zero_grad(tf_module_t *m)
{
    TF_REQUIRE_ARG(m);
    for (uint32_t i = 0; i < m->nparams; i++)
        memset(m->params[i]->grad.data, 0, m->params[i]->grad.nbytes);
    return TF_STATUS_OK;
}

tf_status_t tf_module_freeze(tf_module_t *m, const char *prefix, int32_t frozen)
{
    uint32_t hits = 0;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(prefix);
    if (frozen != 0 && frozen != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: frozen is %d; use 0 or 1", __func__, frozen);
    size_t n = strlen(prefix);
    for (uint32_t i = 0; i < m->nparams; i++)
        if (strncmp(m->params[i]->name, prefix, n) == 0)
            hits++;
    if (hits == 0)
        TF_FAIL(TF_STATUS_ENOTFOUND, "%s: no parameter name of the %s module starts with '%s'",
                __func__, m->vt->kind_name, prefix);
    for (uint32_t i = 0; i < m->nparams; i++)
        if (strncmp(m->params[i]->name, prefix, n) == 0)
            m->params[i]->value.requires_grad = !frozen;
    return TF_STATUS_OK;
}

tf_status_t tf_module_set_training(tf_module_t *m, int32_t training)
{
    TF_REQUIRE_ARG(m);
    if (training != 0 && training != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: training is %d; use 0 or 1", __func__, training);
    tf__module_set_mode(m, training);
    return TF_STATUS_OK;
}

void tf__module_set_mode(tf_module_t *m, int32_t mode)
{
    m->training = mode;
    if (m->vt->set_training)
        m->vt->set_training(m, mode);
}

int32_t tf_module_is_training(const tf_module_t *m)
{
    return m ? m->training : 0;
}

tf_status_t tf_module_forward(tf_tensor_t **output,
                              tf_module_t *m,
                              const tf_tensor_t *input,
                              const tf_tensor_t *lengths)
{
    TF_REQUIRE_ARG(output);
    *output = NULL;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(input);
    return m->vt->forward(m, input, lengths, output);
}

tf_status_t
tf_module_backward(tf_tensor_t **grad_input, tf_module_t *m, const tf_tensor_t *grad_output)
{
    if (grad_input)
        *grad_input = NULL;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(grad_output);
    if (!m->has_forward)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: no training-mode forward of this %s module to go back through", __func__,
                m->vt->kind_name);
    return m->vt->backward(m, grad_output, grad_input);
}

tf_status_t tf_rnn_forward(tf_tensor_t **output,
                           tf_tensor_t **h_n,
                           tf_tensor_t **c_n,
                           tf_module_t *m,
                           const tf_tensor_t *input,
                           const tf_tensor_t *lengths,
                           const tf_tensor_t *h0,
                           const tf_tensor_t *c0)
{
    if (output)
        *output = NULL;
    if (h_n)
        *h_n = NULL;
    if (c_n)
        *c_n = NULL;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(input);
    if (m->vt->forward_states == NULL)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the module is a %s module, not a recurrent module or encoder", __func__,
                m->vt->kind_name);
    return m->vt->forward_states(m, input, lengths, h0, c0, output, h_n, c_n);
}

tf_status_t tf_rnn_backward(tf_tensor_t **grad_input,
                            tf_tensor_t **grad_h0,
                            tf_tensor_t **grad_c0,
                            tf_module_t *m,
                            const tf_tensor_t *grad_output,
                            const tf_tensor_t *grad_h_n,
                            const tf_tensor_t *grad_c_n)
{
    if (grad_input)
        *grad_input = NULL;
    if (grad_h0)
        *grad_h0 = NULL;
    if (grad_c0)
        *grad_c0 = NULL;
    TF_REQUIRE_ARG(m);
    if (m->vt->backward_states == NULL)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the module is a %s module, not a recurrent module or encoder", __func__,
                m->vt->kind_name);
    if (!m->has_forward)
        TF_FAIL(TF_STATUS_ESTATE, "%s: no training-mode forward to go back through", __func__);
    return m->vt->backward_states(m, grad_output, grad_h_n, grad_c_n, grad_input, grad_h0, grad_c0);
}
