/* SPDX-License-Identifier: MIT */
/* The encoder: an embedding (token input) or a linear projection (numeric input) followed by an
 * recurrent stack of the chosen cell, all parameters in one buffer owned by the encoder. */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <stddef.h>
#include <string.h>

typedef struct tf__encoder {
    tf_module_t base;
    tf_module_t *in;   /* embedding or projection */
    tf_module_t *rnn; /* parameters named after the cell ("lstm.*") */
    int32_t numeric;
    int64_t F;
    float *xin; /* numeric input with padded rows zeroed (the projection's GEMMs read them) */
    size_t xin_cap;
    struct tf_tensor xin_view;
} tf__encoder_t;

static void enc_destroy(tf_module_t *m)
{
    tf__encoder_t *e = (tf__encoder_t *)m;
    tf__module_discard(e->in);
    tf__module_discard(e->rnn);
    tf__free(m->ctx, e->xin);
}

static void enc_set_training(tf_module_t *m, int32_t training)
{
    tf__encoder_t *e = (tf__encoder_t *)m;
    e->in->training = training;
    e->rnn->training = training;
}

tf_module_t *tf__encoder_embedding(tf_module_t *m)
{
    tf__encoder_t *e = (tf__encoder_t *)m;
    return e->numeric ? NULL : e->in;
}

tf_module_t *tf__encoder_rnn(tf_module_t *m)
{
    return ((tf__encoder_t *)m)->rnn;
}

static tf_status_t encoder_forward_states(tf_module_t *m,
                                          const tf_tensor_t *input,
                                          const tf_tensor_t *lengths,
                                          const tf_tensor_t *h0,
                                          const tf_tensor_t *c0,
                                          tf_tensor_t **output,
                                          tf_tensor_t **h_n,
                                          tf_tensor_t **c_n)
{
    tf__encoder_t *e = (tf__encoder_t *)m;
    static const char fn[] = "tf_rnn_forward";
    tf_tensor_t *x = NULL;
    if (e->numeric) {
        if (input->dtype != TF_DTYPE_F32)
            TF_FAIL(TF_STATUS_EDTYPE, "%s: this encoder reads numeric f32 (T, B, F) input", fn);
        if (input->ndim != 3 || input->shape[2] != e->F)
            TF_FAIL(TF_STATUS_ESHAPE, "%s: encoder input must be (T, B, %lld)", fn, (long long)e->F);
        TF_CHECK(tf__check_lengths(fn, lengths, input->shape[0], input->shape[1]));
    } else {
        if (input->dtype != TF_DTYPE_I32)
            TF_FAIL(TF_STATUS_EDTYPE, "%s: this encoder reads i32 token ids (T, B)", fn);
        if (input->ndim != 2)
            TF_FAIL(TF_STATUS_ESHAPE, "%s: encoder token input must be (T, B); got %u dimensions", fn,
                    input->ndim);
    }
    m->has_forward = 0;
    if (e->numeric && lengths != NULL) {
        int64_t T = input->shape[0], B = input->shape[1];
        const int32_t *len = (const int32_t *)lengths->data;
        const float *src = (const float *)input->data;
        TF_CHECK(tf__buf_reserve(m->ctx, &e->xin, &e->xin_cap, (size_t)input->numel));
        for (int64_t r = 0; r < T * B; r++) {
            if (r / B >= len[r % B])
                memset(e->xin + r * e->F, 0, (size_t)e->F * sizeof(float));
            else
                memcpy(e->xin + r * e->F, src + r * e->F, (size_t)e->F * sizeof(float));
        }
        tf__view_set(&e->xin_view, m->ctx, e->xin, input->shape, 3);
        input = &e->xin_view;
    }
    TF_CHECK(e->in->vt->forward(e->in, input, e->numeric ? NULL : lengths, &x));
    TF_CHECK(e->rnn->vt->forward_states(e->rnn, x, lengths, h0, c0, output, h_n, c_n));
    m->has_forward = m->training;
    return TF_STATUS_OK;
}

static tf_status_t encoder_backward_states(tf_module_t *m,
                                           const tf_tensor_t *grad_output,
                                           const tf_tensor_t *grad_h_n,
                                           const tf_tensor_t *grad_c_n,
                                           tf_tensor_t **grad_input,
                                           tf_tensor_t **grad_h0,
                                           tf_tensor_t **grad_c0)
{
    tf__encoder_t *e = (tf__encoder_t *)m;
    int need = grad_input != NULL && e->numeric;
    for (uint32_t i = 0; i < e->in->nparams; i++)
        need |= e->in->params[i]->value.requires_grad;
    tf_tensor_t *dx = NULL;
    TF_CHECK(e->rnn->vt->backward_states(e->rnn, grad_output, grad_h_n, grad_c_n, need ? &dx : NULL,
                                          grad_h0, grad_c0));
    if (need)
        TF_CHECK(e->in->vt->backward(e->in, dx, e->numeric ? grad_input : NULL));
    return TF_STATUS_OK;
}

static tf_status_t enc_forward_vt(tf_module_t *m,
                                  const tf_tensor_t *input,
                                  const tf_tensor_t *lengths,
                                  tf_tensor_t **output)
{
    return encoder_forward_states(m, input, lengths, NULL, NULL, output, NULL, NULL);
}

static tf_status_t enc_backward_vt(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    return encoder_backward_states(m, grad_output, NULL, NULL, grad_input, NULL, NULL);
}

static const tf__module_vtable_t enc_vt = {TF_MODULE_ENCODER, "encoder", enc_forward_vt, enc_backward_vt,
                                           enc_set_training, enc_destroy, encoder_forward_states,
                                           encoder_backward_states};

TF__OPTS_LAYOUT(tf__encoder_opts_layout,
                tf_encoder_opts_t,
                TF_ENCODER_OPTS_VERSION,
                TF__OPTS_END(tf_encoder_opts_t, dropout),
                TF__OPTS_END(tf_encoder_opts_t, cell));

static void enc_defaults(tf_encoder_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_ENCODER_OPTS_VERSION;
    o->embedding_dim = 100;
    o->padding_idx = TF_NN_INDEX_NONE;
    o->hidden_size = 200;
    o->num_layers = 1;
    o->cell = TF_CELL_LSTM;
}

tf_status_t tf_encoder_opts_init(tf_encoder_opts_t *opts, uint32_t version)
{
    tf_encoder_opts_t d;
    enc_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__encoder_opts_layout, __func__);
}

tf_status_t tf_encoder_create(tf_module_t **out, tf_ctx_t *ctx, const tf_encoder_opts_t *opts)
{
    tf_encoder_opts_t o;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(opts);
    enc_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__encoder_opts_layout, __func__));
    if (o.input_features < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: input_features is %lld; use 0 (tokens) or more", __func__,
                (long long)o.input_features);
    int32_t numeric = o.input_features > 0;
    tf_embedding_opts_t eo;
    tf_linear_opts_t po;
    tf_rnn_opts_t lo;
    memset(&eo, 0, sizeof eo);
    memset(&po, 0, sizeof po);
    memset(&lo, 0, sizeof lo);
    eo.num_embeddings = o.vocab_size;
    eo.embedding_dim = o.embedding_dim;
    eo.padding_idx = o.padding_idx;
    eo.name = "embedding";
    po.in_features = o.input_features;
    po.out_features = o.embedding_dim;
    po.bias = 1;
    po.name = "proj";
    lo.input_size = o.embedding_dim;
    lo.hidden_size = o.hidden_size;
    lo.num_layers = o.num_layers;
    lo.bidirectional = o.bidirectional;
    lo.dropout = o.dropout;
    lo.cell = o.cell;
    lo.name = tf__cell_get(o.cell) ? tf__cell_get(o.cell)->name : NULL;
    if (numeric)
        TF_CHECK(tf__linear_check_opts("tf_encoder_create", &po));
    else
        TF_CHECK(tf__embedding_check_opts("tf_encoder_create", &eo));
    TF_CHECK(tf__rnn_check_opts("tf_encoder_create", &lo));
    size_t n_in = numeric ? tf__linear_param_floats(&po) : tf__embedding_param_floats(&eo);
    size_t n_rnn = tf__rnn_param_floats(&lo);

    tf__encoder_t *e = tf__calloc(ctx, 1, sizeof *e);
    if (e == NULL)
        return TF_STATUS_ENOMEM;
    tf_module_t *m = &e->base;
    tf__module_init(m, &enc_vt, ctx);
    e->numeric = numeric;
    e->F = o.input_features;
    TF_CHECK_GOTO(st, tf__module_alloc_buffers(m, n_in + n_rnn), fail);
    if (numeric)
        TF_CHECK_GOTO(st, tf__linear_new(&e->in, ctx, &po, m->pbuf, m->gbuf), fail);
    else
        TF_CHECK_GOTO(st, tf__embedding_new(&e->in, ctx, &eo, m->pbuf, m->gbuf), fail);
    TF_CHECK_GOTO(st, tf__rnn_new(&e->rnn, ctx, &lo, m->pbuf + n_in, m->gbuf + n_in), fail);
    uint32_t np = e->in->nparams + e->rnn->nparams;
    st = TF_STATUS_ENOMEM;
    m->params = tf__calloc(ctx, np, sizeof *m->params);
    if (m->params == NULL)
        goto fail;
    m->nparams = np;
    for (uint32_t i = 0; i < e->in->nparams; i++)
        m->params[i] = e->in->params[i];
    for (uint32_t i = 0; i < e->rnn->nparams; i++)
        m->params[e->in->nparams + i] = e->rnn->params[i];
    *out = m;
    tf__object_created(ctx);
    return TF_STATUS_OK;
fail:
    tf__module_discard(m);
    return st;
}
