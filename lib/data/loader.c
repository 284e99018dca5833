/* SPDX-License-Identifier: MIT */
/* Loaders, the shared part: options, epochs, progress, labels, state blobs and the free
 * function. Each kind is a tf__loader_ops_t with its state (loader_lm.c, loader_seq.c,
 * loader_num.c; the sequence kinds share seqs.c); tf_loader_next and the batch getters are in
 * batch.c. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

TF__OPTS_LAYOUT(tf__loader_opts_layout,
                tf_loader_opts_t,
                TF_LOADER_OPTS_VERSION,
                TF__OPTS_END(tf_loader_opts_t, seed));

static void loader_opts_defaults(tf_loader_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_LOADER_OPTS_VERSION;
    o->batch_size = 32;
    o->bptt = 64;
    o->shuffle = 1;
    o->num_features = 1;
    o->standardize = 1;
    o->valid_fraction = 0.1;
}

tf_status_t tf_loader_opts_init(tf_loader_opts_t *opts, uint32_t version)
{
    tf_loader_opts_t d;
    loader_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__loader_opts_layout, __func__);
}

static int is01(int32_t x)
{
    return x == 0 || x == 1;
}

tf_status_t tf__loader_new(tf_loader_t **out, tf_ctx_t *ctx, const tf__loader_ops_t *ops,
                           const tf_loader_opts_t *opts, const char *fn)
{
    tf_loader_opts_t o;
    loader_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__loader_opts_layout, fn));
    if (o.batch_size < 1 || o.bptt < 1 || o.max_len < 0 || o.bucket < 0 || o.num_features < 1 ||
        o.num_labels < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: batch_size, bptt and num_features must be >= 1; max_len, "
                "bucket and num_labels >= 0", fn);
    if (!is01(o.bptt_random) || !is01(o.shuffle) || !is01(o.drop_last) ||
        !is01(o.skip_bad_lines) || !is01(o.has_label) || !is01(o.next_step) ||
        !is01(o.standardize))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the flag options must be 0 or 1", fn);
    if (o.split < TF_LOADER_SPLIT_ALL || o.split > TF_LOADER_SPLIT_VALID)
        TF_FAIL(TF_STATUS_EINVAL, "%s: split %d is not a tf_loader_split_t", fn, o.split);
    if (!(o.valid_fraction >= 0.0 && o.valid_fraction <= 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: valid_fraction must be in [0, 1]", fn);
    if (o.bptt > (1 << 20) || o.batch_size > (1 << 20))
        TF_FAIL(TF_STATUS_EINVAL, "%s: batch_size and bptt must be at most 2^20", fn);
    tf_loader_t *l = tf__calloc(ctx, 1, sizeof *l);
    if (l == NULL)
        return TF_STATUS_ENOMEM;
    l->ctx = ctx;
    l->ops = ops;
    l->o = o;
    tf__rng_seed(&l->rng, o.seed != 0 ? o.seed : ctx->seed);
    tf__object_created(ctx);
    l->state = tf__calloc(ctx, 1, ops->state_size);
    if (l->state == NULL) {
        tf_loader_free(l);
        return TF_STATUS_ENOMEM;
    }
    if (o.labels != NULL && o.num_labels > 0) {
        tf_status_t st = tf__loader_fixed_labels(l, fn);
        if (st != TF_STATUS_OK) {
            tf_loader_free(l);
            return st;
        }
        l->fixed_labels = 1;
    }
    l->shard_count = 1;
    l->o.labels = NULL; /* the names were copied */
    *out = l;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_fixed_labels(tf_loader_t *l, const char *fn)
{
    for (int32_t i = 0; i < l->o.num_labels; i++) {
        const char *s = l->o.labels[i];
        int32_t id;
        int added;
        if (s == NULL || s[0] == '\0')
            TF_FAIL(TF_STATUS_EINVAL, "%s: labels[%d] is NULL or empty", fn, i);
        size_t n = strlen(s);
        TF_CHECK(tf__strtab_add(&l->labels, l->ctx, s, n, tf__hash_bytes(s, n), &id, &added));
        if (!added)
            TF_FAIL(TF_STATUS_EINVAL, "%s: label '%s' is given twice", fn, s);
    }
    l->num_labels = l->o.num_labels;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_label_id(tf_loader_t *l, const char *s, size_t n, int32_t *id)
{
    /* Label names go into checkpoints as JSON strings: make them valid UTF-8 first. */
    uint64_t bad = 0;
    TF_CHECK(tf__tokenize(&l->scratch, l->ctx, s, n, TF__TOK_BYTES, &bad));
    if (bad > 0) {
        l->invalid_utf8 += bad;
        s = l->scratch.bytes;
        n = l->scratch.len[0];
    }
    uint32_t h = tf__hash_bytes(s, n);
    if (l->fixed_labels) {
        *id = tf__strtab_find(&l->labels, s, n, h);
        return TF_STATUS_OK;
    }
    int added;
    TF_CHECK(tf__strtab_add(&l->labels, l->ctx, s, n, h, id, &added));
    l->num_labels = l->labels.count;
    return TF_STATUS_OK;
}

static int name_less_eq(const tf__strtab_t *t, int32_t a, int32_t b)
{
    uint32_t la = t->len[a], lb = t->len[b];
    int r = memcmp(tf__strtab_str(t, a), tf__strtab_str(t, b), la < lb ? la : lb);
    return r < 0 || (r == 0 && la <= lb);
}

tf_status_t tf__loader_sort_labels(tf_loader_t *l, int32_t *labels, int64_t n)
{
    if (l->fixed_labels || l->labels.count == 0)
        return TF_STATUS_OK;
    int32_t k = l->labels.count;
    tf__strtab_t sorted;
    tf_status_t st = TF_STATUS_OK;
    int32_t *byrank = tf__alloc(l->ctx, (size_t)k * sizeof *byrank);
    int32_t *newid = tf__alloc(l->ctx, (size_t)k * sizeof *newid);
    memset(&sorted, 0, sizeof sorted);
    if (byrank == NULL || newid == NULL) {
        st = TF_STATUS_ENOMEM;
        goto done;
    }
    /* Insertion sort: label sets are small. */
    for (int32_t i = 0; i < k; i++) {
        int32_t j = i;
        while (j > 0 && !name_less_eq(&l->labels, byrank[j - 1], i)) {
            byrank[j] = byrank[j - 1];
            j--;
        }
        byrank[j] = i;
    }
    for (int32_t r = 0; r < k; r++) {
        int32_t old = byrank[r], id;
        int added;
        TF_CHECK_GOTO(st, tf__strtab_add(&sorted, l->ctx, tf__strtab_str(&l->labels, old),
                                         l->labels.len[old], l->labels.hash[old], &id, &added),
                      done);
        newid[old] = id;
    }
    for (int64_t i = 0; i < n; i++)
        labels[i] = newid[labels[i]];
    tf__strtab_free(&l->labels, l->ctx);
    l->labels = sorted;
    memset(&sorted, 0, sizeof sorted);
done:
    tf__strtab_free(&sorted, l->ctx);
    tf__free(l->ctx, byrank);
    tf__free(l->ctx, newid);
    return st;
}

tf_status_t tf__loader_bad_line(tf_loader_t *l, tf_status_t st)
{
    if (st != TF_STATUS_EFORMAT || !l->o.skip_bad_lines)
        return st;
    l->skipped++;
    tf__log(l->ctx, TF_LOG_WARN, "skipped: %s", tf_last_error_message());
    return TF_STATUS_OK;
}

/* ---- epochs ---------------------------------------------------------------------------------- */
void tf__loader_shuffle_plan(tf_loader_t *l)
{
    for (int64_t i = l->nbatches - 1; i > 0; i--) {
        int64_t j = (int64_t)tf__rng_below(&l->rng, (uint64_t)i + 1);
        int64_t s = l->bstart[i];
        int32_t c = l->blen[i];
        l->bstart[i] = l->bstart[j];
        l->blen[i] = l->blen[j];
        l->bstart[j] = s;
        l->blen[j] = c;
    }
}

/* Lay out one epoch from the current RNG state; never allocates (buffers sized at creation). */
static void build_epoch(tf_loader_t *l)
{
    l->rng_epoch_start = l->rng;
    l->pos = 0;
    l->items_read = 0;
    l->nbatches = 0;
    l->ops->plan_epoch(l);
}

tf_status_t tf__loader_finish(tf_loader_t *l, const char *fn)
{
    TF_CHECK(l->ops->prepare(l, fn));
    l->bstart = tf__calloc(l->ctx, (size_t)l->bcap, sizeof *l->bstart);
    l->blen = tf__calloc(l->ctx, (size_t)l->bcap, sizeof *l->blen);
    l->b_len = tf__calloc(l->ctx, (size_t)l->o.batch_size, sizeof *l->b_len);
    if (l->bstart == NULL || l->blen == NULL || l->b_len == NULL)
        return TF_STATUS_ENOMEM;
    if (l->invalid_utf8 > 0)
        tf__log(l->ctx, TF_LOG_WARN, "%s: replaced %llu invalid UTF-8 bytes with U+FFFD", fn,
                (unsigned long long)l->invalid_utf8);
    if (l->skipped > 0)
        tf__log(l->ctx, TF_LOG_WARN, "%s: skipped %lld bad lines", fn, (long long)l->skipped);
    build_epoch(l);
    return TF_STATUS_OK;
}

tf_status_t tf_loader_set_shard(tf_loader_t *l, int32_t index, int32_t count)
{
    TF_REQUIRE_ARG(l);
    if (count < 1 || count > l->o.batch_size || index < 0 || index >= count)
        TF_FAIL(TF_STATUS_EINVAL, "%s: shard %d of %d; give 0 <= index < count <= the batch size (%d)",
                __func__, index, count, l->o.batch_size);
    l->shard_index = index;
    l->shard_count = count;
    return TF_STATUS_OK;
}

tf_status_t tf_loader_reset(tf_loader_t *l)
{
    TF_REQUIRE_ARG(l);
    l->epoch++;
    build_epoch(l);
    return TF_STATUS_OK;
}

void tf_loader_free(tf_loader_t *l)
{
    if (l == NULL)
        return;
    tf_ctx_t *ctx = l->ctx;
    if (l->state != NULL)
        l->ops->free(l);
    tf__free(ctx, l->state);
    tf__free(ctx, l->bstart);
    tf__free(ctx, l->blen);
    tf__strtab_free(&l->labels, ctx);
    tf__toks_free(&l->scratch, ctx);
    tf__free(ctx, l->b_len);
    tf__free(ctx, l);
    tf__object_freed(ctx);
}

/* ---- progress and labels --------------------------------------------------------------------- */
int64_t tf_loader_epoch(const tf_loader_t *l)
{
    return l ? l->epoch : -1;
}
int64_t tf_loader_num_items(const tf_loader_t *l)
{
    return l ? l->nitems_epoch : 0;
}
int64_t tf_loader_items_read(const tf_loader_t *l)
{
    return l ? l->items_read : 0;
}
int64_t tf_loader_num_batches(const tf_loader_t *l)
{
    return l ? l->nbatches : 0;
}
double tf_loader_epoch_fraction(const tf_loader_t *l)
{
    if (l == NULL || l->nbatches == 0)
        return 0.0;
    return (double)l->pos / (double)l->nbatches;
}
int64_t tf_loader_num_sequences(const tf_loader_t *l)
{
    return l ? l->ops->num_sequences(l) : 0;
}
int64_t tf_loader_skipped_lines(const tf_loader_t *l)
{
    return l ? l->skipped : 0;
}
uint64_t tf_loader_invalid_utf8(const tf_loader_t *l)
{
    return l ? l->invalid_utf8 : 0;
}

uint64_t tf_loader_num_tokens(const tf_loader_t *l)
{
    return l ? l->text_tokens : 0;
}

uint64_t tf_loader_unknown_tokens(const tf_loader_t *l)
{
    return l ? l->unknown_tokens : 0;
}
/* The sequences of the loader's kind, or NULL. */
static const tf__seqs_t *seqs_of(const tf_loader_t *l)
{
    return l->ops->seqs != NULL ? l->ops->seqs(l) : NULL;
}

int32_t tf_loader_is_multilabel(const tf_loader_t *l)
{
    const tf__seqs_t *s = l ? seqs_of(l) : NULL;
    return s ? s->multilabel : 0;
}

int32_t tf_loader_num_labels(const tf_loader_t *l)
{
    return l ? l->num_labels : 0;
}
const char *tf_loader_label_name(const tf_loader_t *l, int32_t id)
{
    if (l == NULL || id < 0 || id >= l->labels.count)
        return NULL;
    return tf__strtab_str(&l->labels, id);
}

tf_status_t tf_loader_label_counts(const tf_loader_t *l, int64_t *counts, size_t capacity)
{
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(counts);
    const tf__seqs_t *s = seqs_of(l);
    if (l->num_labels < 1 || s == NULL || (s->labels == NULL && !s->multilabel))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the loader has no labels", __func__);
    if (capacity < (size_t)l->num_labels)
        TF_FAIL(TF_STATUS_EBUFSIZE,
                "%s: counts holds %zu values, the loader "
                "has %d labels",
                __func__, capacity, l->num_labels);
    memset(counts, 0, (size_t)l->num_labels * sizeof *counts);
    if (s->multilabel) {
        for (int64_t k = 0; k < s->lset_off[s->n]; k++)
            counts[s->lset_ids[k]]++;
        return TF_STATUS_OK;
    }
    for (int64_t i = 0; i < s->n; i++)
        if (s->labels[i] >= 0 && s->labels[i] < l->num_labels)
            counts[s->labels[i]]++;
    return TF_STATUS_OK;
}

/* ---- state blobs ----------------------------------------------------------------------------- */
#define STATE_MAGIC 0x534c4654u /* "TFLS" */
#define STATE_VERSION 1u
typedef struct state_blob {
    uint32_t magic, version;
    int32_t kind, batch_size;
    uint64_t data_size;
    int64_t epoch, pos, items_read;
    uint64_t rng_epoch[4], rng[4];
} state_blob_t;

tf_status_t tf_loader_export_state(const tf_loader_t *l, void *buf, size_t capacity,
                                   size_t *len_out)
{
    state_blob_t b;
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(len_out);
    *len_out = sizeof b;
    if (buf == NULL && capacity > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'buf' is NULL", __func__);
    if (buf == NULL)
        return TF_STATUS_OK; /* a size query */
    if (capacity < sizeof b)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: needs %zu bytes; buf has %zu", __func__, sizeof b,
                capacity);
    memset(&b, 0, sizeof b);
    b.magic = STATE_MAGIC;
    b.version = STATE_VERSION;
    b.kind = l->ops->kind;
    b.batch_size = l->o.batch_size;
    b.data_size = (uint64_t)tf_loader_num_sequences(l);
    b.epoch = l->epoch;
    b.pos = l->pos;
    b.items_read = l->items_read;
    memcpy(b.rng_epoch, l->rng_epoch_start.s, sizeof b.rng_epoch);
    memcpy(b.rng, l->rng.s, sizeof b.rng);
    memcpy(buf, &b, sizeof b);
    return TF_STATUS_OK;
}

tf_status_t tf_loader_import_state(tf_loader_t *l, const void *buf, size_t len)
{
    state_blob_t b;
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(buf);
    if (len != sizeof b)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: a state blob has %zu bytes, not %zu", __func__, sizeof b,
                len);
    memcpy(&b, buf, sizeof b);
    if (b.magic != STATE_MAGIC || b.version != STATE_VERSION)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: not a loader state blob", __func__);
    if (b.kind != l->ops->kind || b.batch_size != l->o.batch_size ||
        b.data_size != (uint64_t)tf_loader_num_sequences(l) || b.epoch < 0 || b.pos < 0)
        TF_FAIL(TF_STATUS_EFORMAT,
                "%s: the state is from a loader with "
                "other data or options",
                __func__);
    tf__rng_t saved_start = l->rng_epoch_start;
    int64_t saved_pos = l->pos, saved_items = l->items_read;
    memcpy(l->rng.s, b.rng_epoch, sizeof b.rng_epoch);
    build_epoch(l);
    if (b.pos > l->nbatches || b.items_read < 0 || b.items_read > l->nitems_epoch ||
        memcmp(l->rng.s, b.rng, sizeof b.rng) != 0) {
        /* Rebuild the epoch that was current before: same start state, same layout. */
        l->rng = saved_start;
        build_epoch(l);
        l->pos = saved_pos;
        l->items_read = saved_items;
        TF_FAIL(TF_STATUS_EFORMAT,
                "%s: the state does not match this "
                "loader's data",
                __func__);
    }
    l->epoch = b.epoch;
    l->pos = b.pos;
    l->items_read = b.items_read;
    return TF_STATUS_OK;
}
