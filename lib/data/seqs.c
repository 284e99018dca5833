/* SPDX-License-Identifier: MIT */
/* What the sequence kinds (labelled text, token arrays, numeric) share: owned offsets and labels,
 * the epoch's layout (shuffle, buckets of similar lengths, batches) and the lengths and labels of
 * a batch. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

tf_status_t tf__seqs_own_begin(tf_loader_t *l, tf__seqs_t *s, const char *fn)
{
    if (l->o.num_labels > 0 && !l->fixed_labels)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_labels is set but labels is NULL", fn);
    s->own_off = tf__alloc(l->ctx, 16 * sizeof *s->own_off);
    s->own_labels = tf__alloc(l->ctx, 16 * sizeof *s->own_labels);
    if (s->own_off == NULL || s->own_labels == NULL)
        return TF_STATUS_ENOMEM;
    s->own_cap = 16;
    s->own_off[0] = 0;
    return TF_STATUS_OK;
}

tf_status_t tf__seqs_add(tf_loader_t *l, tf__seqs_t *s, int32_t label, int64_t end)
{
    void *p = s->own_off;
    size_t cap = s->own_cap;
    TF_CHECK(tf__grow_bytes(l->ctx, &p, &cap, (size_t)s->n + 2, sizeof(int64_t)));
    s->own_off = p;
    if (cap != s->own_cap) {
        size_t lcap = s->own_cap;
        TF_CHECK(tf__grow_i32(l->ctx, &s->own_labels, &lcap, cap));
        s->own_cap = cap;
    }
    if (s->multilabel) {
        p = s->lset_off;
        TF_CHECK(tf__grow_bytes(l->ctx, &p, &s->lset_off_cap, (size_t)s->n + 2, sizeof(int64_t)));
        s->lset_off = p;
        s->lset_off[s->n + 1] = (int64_t)s->nlset;
    }
    s->own_labels[s->n] = label;
    s->n++;
    s->own_off[s->n] = end;
    return TF_STATUS_OK;
}

int64_t tf__seqs_num_sequences(const tf_loader_t *l)
{
    return l->ops->seqs(l)->n;
}

tf_status_t tf__seqs_prepare(tf_loader_t *l, const char *fn)
{
    tf__seqs_t *s = l->ops->seqs(l);
    size_t n;
    l->bcap = s->n;
    if (!tf__mul_size((size_t)s->n, 2 * sizeof(int64_t), &n))
        TF_FAIL(TF_STATUS_ENOMEM, "%s: too many sequences", fn);
    s->order = tf__alloc(l->ctx, n);
    s->b_lab = tf__calloc(l->ctx, (size_t)l->o.batch_size, sizeof *s->b_lab);
    if (s->order == NULL || s->b_lab == NULL)
        return TF_STATUS_ENOMEM;
    return TF_STATUS_OK;
}

/* Merge sort of a[0, n) by length (longest first), stable. */
static void sort_by_len(const tf__seqs_t *s, int64_t *a, int64_t *tmp, int64_t n)
{
    if (n < 2)
        return;
    int64_t h = n / 2, i = 0, j = h, k = 0;
    sort_by_len(s, a, tmp, h);
    sort_by_len(s, a + h, tmp, n - h);
    while (i < h && j < n)
        tmp[k++] = tf__seqs_len(s, a[i]) >= tf__seqs_len(s, a[j]) ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

void tf__seqs_plan_epoch(tf_loader_t *l)
{
    tf__seqs_t *s = l->ops->seqs(l);
    int64_t n = s->n, B = l->o.batch_size;
    int64_t *order = s->order;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    if (l->o.shuffle)
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)tf__rng_below(&l->rng, (uint64_t)i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    if (l->o.bucket > 0) {
        int64_t pool = B * l->o.bucket;
        int64_t *tmp = order + n; /* order has room for 2n */
        for (int64_t k = 0; k < n; k += pool)
            sort_by_len(s, order + k, tmp, n - k < pool ? n - k : pool);
    }
    int64_t items = 0;
    for (int64_t k = 0; k < n; k += B) {
        int32_t c = (int32_t)(n - k < B ? n - k : B);
        if (c < B && l->o.drop_last)
            break;
        l->bstart[l->nbatches] = k;
        l->blen[l->nbatches++] = c;
        items += c;
    }
    if (l->o.bucket > 0 && l->o.shuffle)
        tf__loader_shuffle_plan(l);
    l->nitems_epoch = items;
}

tf_status_t tf__seqs_fill(tf_loader_t *l, tf__seqs_t *s, const int64_t *items, int32_t B,
                          int32_t trim, int64_t *T_out)
{
    int64_t T = 1;
    for (int32_t b = 0; b < B; b++) {
        int64_t len = tf__seqs_len(s, items[b]) - trim;
        if (l->o.max_len > 0 && len > l->o.max_len)
            len = l->o.max_len;
        l->b_len[b] = (int32_t)len;
        if (len > T)
            T = len;
        s->b_lab[b] = s->labels ? s->labels[items[b]] : 0;
    }
    tf_batch_t *bt = &l->batch;
    memset(bt, 0, sizeof *bt);
    bt->T = (int32_t)T;
    bt->B = B;
    tf__batch_view(&bt->lengths, l->ctx, TF_DTYPE_I32, l->b_len, 1, B, 0, 0);
    if (s->labels != NULL) {
        bt->has_labels = 1;
        tf__batch_view(&bt->labels, l->ctx, TF_DTYPE_I32, s->b_lab, 1, B, 0, 0);
    }
    if (s->multilabel) { /* multi-hot rows; a loader with no label names gives (B, 0) */
        int32_t C = l->num_labels;
        void *p = s->b_lset;
        TF_CHECK(tf__grow_bytes(l->ctx, &p, &s->b_lset_cap, (size_t)B * (size_t)C + 1,
                                sizeof(float)));
        s->b_lset = p;
        memset(s->b_lset, 0, (size_t)B * (size_t)C * sizeof(float));
        for (int32_t b = 0; b < B; b++)
            for (int64_t k = s->lset_off[items[b]]; k < s->lset_off[items[b] + 1]; k++)
                s->b_lset[(size_t)b * (size_t)C + (size_t)s->lset_ids[k]] = 1.0f;
        bt->has_label_sets = 1;
        tf__batch_view(&bt->label_sets, l->ctx, TF_DTYPE_F32, s->b_lset, 2, B, C, 0);
    }
    *T_out = T;
    return TF_STATUS_OK;
}

void tf__seqs_free(tf_ctx_t *ctx, tf__seqs_t *s)
{
    tf__free(ctx, s->lset_ids);
    tf__free(ctx, s->lset_off);
    tf__free(ctx, s->own_off);
    tf__free(ctx, s->own_labels);
    tf__free(ctx, s->order);
    tf__free(ctx, s->b_lab);
    tf__free(ctx, s->b_lset);
}
