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
    int64_t start = l->bstart[l->pos];
    int32_t len = l->blen[l->pos];
    if (l->ops->seqs != NULL && l->shard_count > 1) {
        /* A sequence kind's batch is a run of its order: the shard is a part of that run (the
         * language-model kind shards its streams itself). The position counts whole batches. */
        int64_t lo, hi, before = l->items_read;
        tf__shard_range(len, l->shard_index, l->shard_count, &lo, &hi);
        TF_CHECK(l->ops->fill(l, start + lo, (int32_t)(hi - lo)));
        l->items_read = before + len;
    } else {
        TF_CHECK(l->ops->fill(l, start, len));
    }
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
