/* The next batch (filled by the loader's kind, time-major) and the batch getters. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

void tf__batch_view(struct tf_tensor *t, tf_ctx_t *ctx, int32_t dtype, void *data, uint32_t ndim,
                    int64_t d0, int64_t d1, int64_t d2)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->dtype = dtype;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->shape[2] = d2;
    t->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
    t->nbytes = (size_t)t->numel * 4;
    t->data = data;
    t->owned = 0;
    t->requires_grad = 0;
}

tf_status_t tf_loader_next(tf_batch_t **batch, tf_loader_t *l)
{
    TF_REQUIRE_ARG(batch);
    *batch = NULL;
    TF_REQUIRE_ARG(l);
    if (l->pos >= l->nbatches)
        return TF_STATUS_OK;
    TF_CHECK(l->ops->fill(l, l->bstart[l->pos], l->blen[l->pos]));
    l->pos++;
    *batch = &l->batch;
    return TF_STATUS_OK;
}

int32_t tf_batch_size(const tf_batch_t *b)
{
    return b ? b->B : 0;
}
int32_t tf_batch_steps(const tf_batch_t *b)
{
    return b ? b->T : 0;
}
tf_tensor_t *tf_batch_tokens(tf_batch_t *b)
{
    return b && b->has_tokens ? &b->tokens : NULL;
}
tf_tensor_t *tf_batch_targets(tf_batch_t *b)
{
    return b && b->has_targets ? &b->targets : NULL;
}
tf_tensor_t *tf_batch_lengths(tf_batch_t *b)
{
    return b ? &b->lengths : NULL;
}
tf_tensor_t *tf_batch_labels(tf_batch_t *b)
{
    return b && b->has_labels ? &b->labels : NULL;
}
tf_tensor_t *tf_batch_label_sets(tf_batch_t *b)
{
    return b && b->has_label_sets ? &b->label_sets : NULL;
}

tf_tensor_t *tf_batch_features(tf_batch_t *b)
{
    return b && b->has_features ? &b->features : NULL;
}
tf_tensor_t *tf_batch_feature_targets(tf_batch_t *b)
{
    return b && b->has_ftargets ? &b->ftargets : NULL;
}
