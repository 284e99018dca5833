/* SPDX-License-Identifier: MIT */
/* Embedding: a (V, E) table looked up by token ids; backward scatters rows of the output gradient
 * into the table's gradient (never into the padding row). */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <string.h>

typedef struct tf__embedding {
    tf_module_t base;
    int64_t V, E, pad;
    int32_t *ids; /* ids of the last forward, -1 for skipped (padded) positions */
    size_t ids_cap;
    float *out;
    size_t out_cap;
    int64_t rows;
    struct tf_tensor out_view;
} tf__embedding_t;

static void emb_destroy(tf_module_t *m)
{
    tf__embedding_t *e = (tf__embedding_t *)m;
    tf__free(m->ctx, e->ids);
    tf__free(m->ctx, e->out);
}

static tf_status_t emb_forward(tf_module_t *m,
                               const tf_tensor_t *input,
                               const tf_tensor_t *lengths,
                               tf_tensor_t **output)
{
    tf__embedding_t *e = (tf__embedding_t *)m;
    static const char fn[] = "tf_module_forward";
    if (input->dtype != TF_DTYPE_I32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: embedding input must be i32 token ids", fn);
    if (input->ndim > 3)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: embedding input has %u dimensions; at most 3", fn, input->ndim);
    int64_t T = input->shape[0], B = input->ndim >= 2 ? input->shape[1] : 1;
    if (lengths != NULL) {
        if (input->ndim != 2)
            TF_FAIL(TF_STATUS_ESHAPE, "%s: lengths need (T, B) token input", fn);
        TF_CHECK(tf__check_lengths(fn, lengths, T, B));
    }
    const int32_t *in = (const int32_t *)input->data;
    const int32_t *len = lengths ? (const int32_t *)lengths->data : NULL;
    int64_t n = input->numel;
    for (int64_t r = 0; r < n; r++) {
        if (len && r / B >= len[r % B])
            continue;
        if (in[r] < 0 || in[r] >= e->V) {
            if (input->ndim == 2)
                TF_FAIL(TF_STATUS_EINVAL,
                        "%s: token id %d at (t=%lld, b=%lld) is outside the vocabulary [0, %lld)", fn,
                        in[r], (long long)(r / B), (long long)(r % B), (long long)e->V);
            TF_FAIL(TF_STATUS_EINVAL, "%s: token id %d at flat position %lld is outside the vocabulary [0, %lld)",
                    fn, in[r], (long long)r, (long long)e->V);
        }
    }
    TF_CHECK(tf__check_floats(fn, (double)n * (double)(e->E + 1)));
    size_t icap = e->ids_cap;
    if (e->ids == NULL || (size_t)n > icap) {
        int32_t *ids = tf__calloc(m->ctx, (size_t)n, sizeof *ids);
        if (ids == NULL)
            return TF_STATUS_ENOMEM;
        tf__free(m->ctx, e->ids);
        e->ids = ids;
        e->ids_cap = (size_t)n;
    }
    TF_CHECK(tf__buf_reserve(m->ctx, &e->out, &e->out_cap, (size_t)(n * e->E)));
    const float *w = (const float *)m->own[0].value.data;
    size_t row = (size_t)e->E * sizeof(float);
    for (int64_t r = 0; r < n; r++) {
        float *dst = e->out + r * e->E;
        if (len && r / B >= len[r % B]) {
            e->ids[r] = -1;
            memset(dst, 0, row);
        } else {
            e->ids[r] = in[r];
            memcpy(dst, w + (int64_t)in[r] * e->E, row);
        }
    }
    e->rows = n;
    int64_t shape[TF_TENSOR_MAX_DIMS];
    memcpy(shape, input->shape, input->ndim * sizeof *shape);
    shape[input->ndim] = e->E;
    tf__view_set(&e->out_view, m->ctx, e->out, shape, input->ndim + 1);
    m->has_forward = m->training;
    *output = &e->out_view;
    return TF_STATUS_OK;
}

static tf_status_t emb_backward(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    tf__embedding_t *e = (tf__embedding_t *)m;
    TF_CHECK(tf__tensor_expect("tf_module_backward", "grad_output", grad_output, TF_DTYPE_F32,
                               e->out_view.ndim, e->out_view.shape));
    (void)grad_input; /* token ids have no gradient */
    float *dw = tf__param_grad(&m->own[0]);
    if (dw == NULL)
        return TF_STATUS_OK;
    const float *dy = (const float *)grad_output->data;
    for (int64_t r = 0; r < e->rows; r++) {
        int32_t id = e->ids[r];
        if (id < 0 || id == e->pad)
            continue;
        tf__vec_add(dw + (int64_t)id * e->E, dy + r * e->E, e->E);
    }
    return TF_STATUS_OK;
}

static const tf__module_vtable_t emb_vt = {TF_MODULE_EMBEDDING, "embedding", emb_forward, emb_backward,
                                           NULL, emb_destroy, NULL, NULL};

tf__param_t *tf__embedding_weight(tf_module_t *m)
{
    if (m != NULL && m->vt->kind == TF_MODULE_ENCODER)
        m = tf__encoder_embedding(m);
    return (m != NULL && m->vt == &emb_vt) ? &m->own[0] : NULL;
}

TF__OPTS_LAYOUT(tf__embedding_opts_layout,
                tf_embedding_opts_t,
                TF_EMBEDDING_OPTS_VERSION,
                TF__OPTS_END(tf_embedding_opts_t, name));

static void emb_defaults(tf_embedding_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_EMBEDDING_OPTS_VERSION;
    o->padding_idx = TF_NN_INDEX_NONE;
}

tf_status_t tf_embedding_opts_init(tf_embedding_opts_t *opts, uint32_t version)
{
    tf_embedding_opts_t d;
    emb_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__embedding_opts_layout, __func__);
}

size_t tf__embedding_param_floats(const tf_embedding_opts_t *o)
{
    return (size_t)o->num_embeddings * (size_t)o->embedding_dim;
}

tf_status_t tf__embedding_check_opts(const char *fn, const tf_embedding_opts_t *o)
{
    if (o->num_embeddings < 1 || o->embedding_dim < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_embeddings (%lld) and embedding_dim (%lld) must be at least 1",
                fn, (long long)o->num_embeddings, (long long)o->embedding_dim);
    if (o->padding_idx != TF_NN_INDEX_NONE && (o->padding_idx < 0 || o->padding_idx >= o->num_embeddings))
        TF_FAIL(TF_STATUS_EINVAL, "%s: padding_idx %lld is outside [0, %lld) (use TF_NN_INDEX_NONE for none)",
                fn, (long long)o->padding_idx, (long long)o->num_embeddings);
    size_t n;
    if ((uint64_t)o->num_embeddings > SIZE_MAX / sizeof(float) ||
        !tf__mul_size((size_t)o->num_embeddings, (size_t)o->embedding_dim, &n) ||
        n > (size_t)INT64_MAX / sizeof(float) / 4)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the table size overflows", fn);
    return tf__check_name(fn, o->name);
}

tf_status_t tf__embedding_new(tf_module_t **out,
                              tf_ctx_t *ctx,
                              const tf_embedding_opts_t *o,
                              float *pbuf,
                              float *gbuf)
{
    tf_status_t st;
    tf__embedding_t *e = tf__calloc(ctx, 1, sizeof *e);
    if (e == NULL)
        return TF_STATUS_ENOMEM;
    tf_module_t *m = &e->base;
    tf__module_init(m, &emb_vt, ctx);
    e->V = o->num_embeddings;
    e->E = o->embedding_dim;
    e->pad = o->padding_idx;
    size_t n = tf__embedding_param_floats(o);
    if (pbuf != NULL) {
        m->pbuf = pbuf;
        m->gbuf = gbuf;
        m->nfloats = n;
    } else {
        TF_CHECK_GOTO(st, tf__module_alloc_buffers(m, n), fail);
    }
    TF_CHECK_GOTO(st, tf__module_alloc_params(m, 1), fail);
    TF_CHECK_GOTO(st, tf__module_set_param(m, 0, o->name, "weight", 0, (int64_t[]){e->V, e->E}, 2), fail);
    tf__init_normal(ctx, m->pbuf, n);
    if (e->pad >= 0)
        memset(m->pbuf + e->pad * e->E, 0, (size_t)e->E * sizeof(float));
    *out = m;
    return TF_STATUS_OK;
fail:
    tf__module_discard(m);
    return st;
}

tf_status_t tf_embedding_create(tf_module_t **out, tf_ctx_t *ctx, const tf_embedding_opts_t *opts)
{
    tf_embedding_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(opts);
    emb_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__embedding_opts_layout, __func__));
    TF_CHECK(tf__embedding_check_opts(__func__, &o));
    TF_CHECK(tf__embedding_new(out, ctx, &o, NULL, NULL));
    tf__object_created(ctx);
    return TF_STATUS_OK;
}
