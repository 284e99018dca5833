/* Filling batches (time-major) and the batch getters. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

static void set_view(struct tf_tensor *t, tf_ctx_t *ctx, int32_t dtype, void *data, uint32_t ndim,
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

static tf_status_t grow_f32(tf_ctx_t *ctx, float **p, size_t *cap, size_t need)
{
    void *q = *p;
    tf_status_t st = tf__grow_bytes(ctx, &q, cap, need, sizeof(float));
    *p = q;
    return st;
}

static tf_status_t fill_lm(tf_loader_t *l, int64_t start, int32_t T)
{
    int32_t B = l->o.batch_size;
    size_t need = (size_t)T * (size_t)B;
    TF_CHECK(tf__grow_i32(l->ctx, &l->b_tok, &l->b_tok_cap, need));
    TF_CHECK(tf__grow_i32(l->ctx, &l->b_tgt, &l->b_tgt_cap, need));
    for (int32_t b = 0; b < B; b++) {
        const int32_t *src = l->ids + (size_t)b * (size_t)l->stream_len + (size_t)start;
        for (int32_t t = 0; t < T; t++) {
            l->b_tok[(size_t)t * B + b] = src[t];
            l->b_tgt[(size_t)t * B + b] = src[t + 1];
        }
        l->b_len[b] = T;
    }
    tf_batch_t *bt = &l->batch;
    memset(bt, 0, sizeof *bt);
    bt->T = T;
    bt->B = B;
    bt->has_tokens = bt->has_targets = 1;
    set_view(&bt->tokens, l->ctx, TF_DTYPE_I32, l->b_tok, 2, T, B, 0);
    set_view(&bt->targets, l->ctx, TF_DTYPE_I32, l->b_tgt, 2, T, B, 0);
    set_view(&bt->lengths, l->ctx, TF_DTYPE_I32, l->b_len, 1, B, 0, 0);
    l->items_read += 1;
    return TF_STATUS_OK;
}

static int64_t clip_len(const tf_loader_t *l, int64_t len)
{
    if (l->kind == TF__LOADER_NUM && l->o.next_step)
        len -= 1;
    if (l->o.max_len > 0 && len > l->o.max_len)
        len = l->o.max_len;
    return len;
}

static tf_status_t fill_seq(tf_loader_t *l, const int64_t *items, int32_t B)
{
    int64_t T = 1;
    for (int32_t b = 0; b < B; b++) {
        int64_t len = clip_len(l, tf__seq_length(l, items[b]));
        l->b_len[b] = (int32_t)len;
        if (len > T)
            T = len;
        l->b_lab[b] = l->seq_labels ? l->seq_labels[items[b]] : 0;
    }
    size_t need = (size_t)T * (size_t)B;
    tf_batch_t *bt = &l->batch;
    memset(bt, 0, sizeof *bt);
    bt->T = (int32_t)T;
    bt->B = B;
    if (l->kind == TF__LOADER_SEQ) {
        TF_CHECK(tf__grow_i32(l->ctx, &l->b_tok, &l->b_tok_cap, need));
        for (int32_t b = 0; b < B; b++) {
            int64_t i = items[b];
            const int32_t *src = l->seq_off ? l->seq_ids + l->seq_off[i]
                                            : l->seq_ids + (size_t)i * (size_t)l->stride;
            int32_t len = l->b_len[b];
            for (int32_t t = 0; t < len; t++)
                l->b_tok[(size_t)t * B + b] = src[t];
            for (int64_t t = len; t < T; t++)
                l->b_tok[(size_t)t * B + b] = TF_VOCAB_PAD;
        }
        bt->has_tokens = 1;
        set_view(&bt->tokens, l->ctx, TF_DTYPE_I32, l->b_tok, 2, T, B, 0);
    } else {
        int32_t F = l->F;
        TF_CHECK(grow_f32(l->ctx, &l->b_feat, &l->b_feat_cap, need * (size_t)F));
        if (l->o.next_step)
            TF_CHECK(grow_f32(l->ctx, &l->b_ftgt, &l->b_ftgt_cap, need * (size_t)F));
        memset(l->b_feat, 0, need * (size_t)F * sizeof(float));
        if (l->o.next_step)
            memset(l->b_ftgt, 0, need * (size_t)F * sizeof(float));
        for (int32_t b = 0; b < B; b++) {
            const float *src = l->vals + (size_t)l->seq_off[items[b]] * (size_t)F;
            for (int32_t t = 0; t < l->b_len[b]; t++)
                for (int32_t f = 0; f < F; f++) {
                    size_t d = ((size_t)t * B + b) * (size_t)F + (size_t)f;
                    l->b_feat[d] = (src[(size_t)t * F + f] - l->mean[f]) / l->std[f];
                    if (l->o.next_step)
                        l->b_ftgt[d] = (src[(size_t)(t + 1) * F + f] - l->mean[f]) / l->std[f];
                }
        }
        bt->F = F;
        bt->has_features = 1;
        set_view(&bt->features, l->ctx, TF_DTYPE_F32, l->b_feat, 3, T, B, F);
        if (l->o.next_step) {
            bt->has_ftargets = 1;
            set_view(&bt->ftargets, l->ctx, TF_DTYPE_F32, l->b_ftgt, 3, T, B, F);
        }
    }
    set_view(&bt->lengths, l->ctx, TF_DTYPE_I32, l->b_len, 1, B, 0, 0);
    if (l->seq_labels != NULL) {
        bt->has_labels = 1;
        set_view(&bt->labels, l->ctx, TF_DTYPE_I32, l->b_lab, 1, B, 0, 0);
    }
    if (l->multilabel) { /* multi-hot rows; a loader with no label names gives (B, 0) */
        int32_t C = l->num_labels;
        TF_CHECK(grow_f32(l->ctx, &l->b_lset, &l->b_lset_cap, (size_t)B * (size_t)C + 1));
        memset(l->b_lset, 0, (size_t)B * (size_t)C * sizeof(float));
        for (int32_t b = 0; b < B; b++)
            for (int64_t k = l->lset_off[items[b]]; k < l->lset_off[items[b] + 1]; k++)
                l->b_lset[(size_t)b * (size_t)C + (size_t)l->lset_ids[k]] = 1.0f;
        bt->has_label_sets = 1;
        set_view(&bt->label_sets, l->ctx, TF_DTYPE_F32, l->b_lset, 2, B, C, 0);
    }
    l->items_read += B;
    return TF_STATUS_OK;
}

tf_status_t tf_loader_next(tf_batch_t **batch, tf_loader_t *l)
{
    TF_REQUIRE_ARG(batch);
    *batch = NULL;
    TF_REQUIRE_ARG(l);
    if (l->pos >= l->nbatches)
        return TF_STATUS_OK;
    int64_t k = l->pos;
    if (l->kind == TF__LOADER_LM)
        TF_CHECK(fill_lm(l, l->bstart[k], l->blen[k]));
    else
        TF_CHECK(fill_seq(l, l->order + l->bstart[k], l->blen[k]));
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
