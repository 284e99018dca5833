/* SPDX-License-Identifier: MIT */
/* The next batch (filled by the loader's kind, time-major) and the batch getters. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

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
