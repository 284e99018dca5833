/* SPDX-License-Identifier: MIT */
/* Models from weights saved elsewhere: a plain safetensors file under PyTorch's parameter names,
 * the architecture given by the caller. */
#include "transfer/train.h"
#include "transfer/io.h"
#include "train_internal.h"

#include <string.h>

TF__OPTS_LAYOUT(tf__import_opts_layout,
                tf_import_opts_t,
                TF_IMPORT_OPTS_VERSION,
                TF__OPTS_END(tf_import_opts_t, head_dropout));

static void import_opts_defaults(tf_import_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_IMPORT_OPTS_VERSION;
    o->pooling = TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX;
    o->head_dropout = 0.3;
}

tf_status_t tf_import_opts_init(tf_import_opts_t *opts, uint32_t version)
{
    tf_import_opts_t d;
    import_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__import_opts_layout, __func__);
}

static tf_status_t check_head_opts(const tf_import_opts_t *o)
{
    const char *fn = "tf_model_import";
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", fn);
    if (o->num_labels == 0)
        return TF_STATUS_OK;
    if (o->multi_label != 0 && o->multi_label != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: multi_label is %d, not 0 or 1", fn, o->multi_label);
    if (o->labels == NULL || o->num_labels < 2 - o->multi_label || o->num_labels > (1 << 20))
        TF_FAIL(TF_STATUS_EINVAL, "%s: a task head needs labels and %d to 2^20 of them (num_labels %d)", fn,
                2 - o->multi_label, o->num_labels);
    if (o->pooling == 0 || (o->pooling & ~(uint32_t)(TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX)))
        TF_FAIL(TF_STATUS_EINVAL, "%s: pooling 0x%x is not a non-empty OR of TF_POOL_*", fn, o->pooling);
    if (!(o->head_dropout >= 0.0 && o->head_dropout < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: head_dropout %g is outside [0, 1)", fn, o->head_dropout);
    for (int32_t i = 0; i < o->num_labels; i++) {
        const char *l = o->labels[i];
        if (l == NULL || l[0] == '\0' || !tf__utf8_valid(l, strlen(l)))
            TF_FAIL(TF_STATUS_EINVAL, "%s: label %d is not a non-empty UTF-8 string", fn, i);
        for (int32_t j = 0; j < i; j++)
            if (strcmp(o->labels[j], l) == 0)
                TF_FAIL(TF_STATUS_EINVAL, "%s: label '%s' appears twice", fn, l);
    }
    return TF_STATUS_OK;
}

tf_status_t tf_model_import(tf_model_t **out,
                            tf_ctx_t *ctx,
                            const char *path,
                            const tf_vocab_t *vocab,
                            const tf_model_opts_t *arch,
                            const tf_import_opts_t *opts)
{
    tf_import_opts_t o;
    tf_tensorfile_opts_t fo;
    tf_tensorfile_t *f = NULL;
    tf_model_t *m = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(path);
    TF_REQUIRE_ARG(arch);
    import_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__import_opts_layout, __func__));
    TF_CHECK(check_head_opts(&o));
    TF_CHECK(tf_model_create(&m, ctx, vocab, arch));
    TF_CHECK_GOTO(st, tf_tensorfile_opts_init(&fo, TF_TENSORFILE_OPTS_VERSION), out);
    fo.flags |= TF_TENSORFILE_ALLOW_FOREIGN;
    TF_CHECK_GOTO(st, tf_tensorfile_load(&f, ctx, path, &fo), out);
    tf_tensor_t *head;
    int has_head = tf_tensorfile_get(&head, f, "head.weight") == TF_STATUS_OK;
    if (has_head && o.num_labels == 0)
        TF_FAIL_GOTO(st, out, TF_STATUS_EINVAL,
                     "%s: %s: the file has a task head (head.weight); give its labels in the options",
                     __func__, path);
    if (o.num_labels > 0)
        TF_CHECK_GOTO(st, tf__model_make_head(m, o.num_labels, o.multi_label, o.labels, o.pooling,
                                              o.head_dropout), out);
    TF_CHECK_GOTO(st, tf__model_load_params(m, f, __func__, path, 0), out);
    *out = m;
    m = NULL;
out:
    tf_model_free(m);
    tf_tensorfile_free(f);
    return st;
}
