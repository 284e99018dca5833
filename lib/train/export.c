/* SPDX-License-Identifier: MIT */
/* Inference export: a classifier without its language-model head, the large matrices in F16 or
 * int8 with per-row scales (docs/checkpoints.md). */
#include "transfer/train.h"
#include "transfer/io.h"
#include "train_internal.h"

#include "../io/io_internal.h"
#include "../tensor/quant.h"

#include <stdio.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__export_opts_layout,
                tf_export_opts_t,
                TF_EXPORT_OPTS_VERSION,
                TF__OPTS_END(tf_export_opts_t, min_elements));

static void export_opts_defaults(tf_export_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_EXPORT_OPTS_VERSION;
    o->dtype = TF_EXPORT_DTYPE_F32;
    o->min_elements = TF_EXPORT_MIN_ELEMENTS;
}

tf_status_t tf_export_opts_init(tf_export_opts_t *opts, uint32_t version)
{
    tf_export_opts_t d;
    export_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__export_opts_layout, __func__);
}

/* What the writer borrows until the save: one buffer (and an int8 scale tensor) per parameter. */
typedef struct export_bufs {
    tf_ctx_t *ctx;
    void **data;
    tf_tensor_t **scales;
    uint32_t n;
} export_bufs_t;

/* One parameter into the writer: as it is, or in the export dtype when it is a large matrix. */
static tf_status_t
add_param(tf_tensorfile_writer_t *w, const tf_export_opts_t *o, const char *name, tf_tensor_t *p,
          export_bufs_t *b)
{
    const char *fn = "tf_model_export";
    const uint32_t nd = tf_tensor_ndim(p);
    const int64_t numel = tf_tensor_numel(p);
    int64_t shape[TF_TENSOR_MAX_DIMS];
    for (uint32_t d = 0; d < nd; d++)
        shape[d] = tf_tensor_dim(p, d);
    if (o->dtype == TF_EXPORT_DTYPE_F32 || nd < 2 || numel < o->min_elements)
        return tf_tensorfile_writer_add_tensor(w, name, p);
    const float *x = tf_tensor_data(p);
    const uint32_t k = b->n++;
    const size_t elem = o->dtype == TF_EXPORT_DTYPE_F16 ? 2 : 1;
    b->data[k] = tf__alloc(b->ctx, (size_t)numel * elem);
    if (b->data[k] == NULL)
        return TF_STATUS_ENOMEM;
    if (o->dtype == TF_EXPORT_DTYPE_F16) {
        int64_t bad = tf__f32_to_f16_n(x, b->data[k], (size_t)numel);
        if (bad >= 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: tensor '%s' element %lld (%g) is outside the f16 range "
                    "(|x| < 65520); export it as f32 or int8", fn, name, (long long)bad,
                    (double)x[bad]);
        return tf__tensorfile_writer_add_raw(w, name, "F16", 2, shape, nd, b->data[k]);
    }
    const int64_t rows = shape[0];
    TF_CHECK(tf_tensor_create(&b->scales[k], b->ctx, TF_DTYPE_F32, &rows, 1));
    int64_t bad = tf__quantize_rows_i8(x, rows, numel / rows, b->data[k],
                                       tf_tensor_data(b->scales[k]));
    if (bad >= 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: tensor '%s' row %lld is not finite", fn, name,
                (long long)bad);
    char scale_name[256];
    if ((size_t)snprintf(scale_name, sizeof scale_name, "%s.scale", name) >= sizeof scale_name)
        TF_FAIL(TF_STATUS_EINVAL, "%s: tensor name '%s' is too long", fn, name);
    TF_CHECK(tf__tensorfile_writer_add_raw(w, name, "I8", 1, shape, nd, b->data[k]));
    return tf_tensorfile_writer_add_tensor(w, scale_name, b->scales[k]);
}

tf_status_t tf_model_export(tf_model_t *m, const char *path, const tf_export_opts_t *opts)
{
    static const char *const names[] = {"f32", "f16", "int8"};
    tf_export_opts_t o;
    tf_tensorfile_writer_t *w = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(path);
    export_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__export_opts_layout, __func__));
    if (o.dtype < TF_EXPORT_DTYPE_F32 || o.dtype > TF_EXPORT_DTYPE_INT8)
        TF_FAIL(TF_STATUS_EINVAL, "%s: dtype %u is not a TF_EXPORT_DTYPE_* value", __func__,
                o.dtype);
    if (o.reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: opts.reserved must be 0", __func__);
    if (o.min_elements < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: min_elements is %lld; use 1 or more", __func__,
                (long long)o.min_elements);
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the model has no task head; export is for classifiers "
                "(fine-tune it first)", __func__);
    /* The backbone and the task head: the language-model head stays behind. */
    tf_module_t *const mods[2] = {m->encoder, m->head};
    uint32_t total = tf_module_num_params(mods[0]) + tf_module_num_params(mods[1]);
    export_bufs_t b = {m->ctx, NULL, NULL, 0};
    b.data = tf__calloc(m->ctx, total, sizeof *b.data);
    b.scales = tf__calloc(m->ctx, total, sizeof *b.scales);
    if (b.data == NULL || b.scales == NULL) {
        st = TF_STATUS_ENOMEM;
        goto out;
    }
    TF_CHECK_GOTO(st, tf_tensorfile_writer_create(&w, m->ctx, NULL), out);
    for (uint32_t i = 0; i < 2; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            const char *name;
            tf_tensor_t *p;
            TF_CHECK_GOTO(st, tf_module_param_at(&name, &p, NULL, mods[i], j), out);
            TF_CHECK_GOTO(st, add_param(w, &o, name, p, &b), out);
        }
    TF_CHECK_GOTO(st, tf__model_add_meta(m, w, names[o.dtype - TF_EXPORT_DTYPE_F32]), out);
    st = tf_tensorfile_writer_save(w, path);
out:
    tf_tensorfile_writer_free(w);
    for (uint32_t k = 0; k < b.n; k++) {
        tf__free(m->ctx, b.data[k]);
        tf_tensor_free(b.scales[k]);
    }
    tf__free(m->ctx, b.data);
    tf__free(m->ctx, b.scales);
    return st;
}
