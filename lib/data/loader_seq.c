/* SPDX-License-Identifier: MIT */
/* Token-sequence loaders: labelled TSV text, and caller arrays (flat + offsets, or padded). */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

typedef struct seq_state {
    tf__seqs_t seqs;
    const int32_t *ids; /* flat (seqs.off) or rows of `stride` ids (seqs.len) */
    int32_t stride;
    int32_t *own_ids; /* read from a file */
    size_t nids, own_ids_cap;
    int32_t *b_tok; /* batch buffer */
    size_t b_tok_cap;
} seq_state_t;

static seq_state_t *seq(const tf_loader_t *l)
{
    return l->state;
}

static tf__seqs_t *seq_seqs(const tf_loader_t *l)
{
    return &seq(l)->seqs;
}

/* Token sequences padded with TF_VOCAB_PAD, with their lengths and labels (or label sets). */
static tf_status_t seq_fill(tf_loader_t *l, int64_t start, int32_t B)
{
    seq_state_t *q = seq(l);
    const int64_t *items = q->seqs.order + start;
    int64_t T;
    TF_CHECK(tf__seqs_fill(l, &q->seqs, items, B, 0, &T));
    TF_CHECK(tf__grow_i32(l->ctx, &q->b_tok, &q->b_tok_cap, (size_t)T * (size_t)B));
    for (int32_t b = 0; b < B; b++) {
        int64_t i = items[b];
        const int32_t *src = q->seqs.off ? q->ids + q->seqs.off[i]
                                         : q->ids + (size_t)i * (size_t)q->stride;
        int32_t len = l->b_len[b];
        for (int32_t t = 0; t < len; t++)
            q->b_tok[(size_t)t * B + b] = src[t];
        for (int64_t t = len; t < T; t++)
            q->b_tok[(size_t)t * B + b] = TF_VOCAB_PAD;
    }
    l->batch.has_tokens = 1;
    tf__batch_view(&l->batch.tokens, l->ctx, TF_DTYPE_I32, q->b_tok, 2, T, B, 0);
    l->items_read += B;
    return TF_STATUS_OK;
}

static void seq_free(tf_loader_t *l)
{
    tf__seqs_free(l->ctx, &seq(l)->seqs);
    tf__free(l->ctx, seq(l)->own_ids);
    tf__free(l->ctx, seq(l)->b_tok);
}

static const tf__loader_ops_t seq_ops = {
    .kind = TF__LOADER_SEQ,
    .state_size = sizeof(seq_state_t),
    .num_sequences = tf__seqs_num_sequences,
    .prepare = tf__seqs_prepare,
    .plan_epoch = tf__seqs_plan_epoch,
    .fill = seq_fill,
    .seqs = seq_seqs,
    .free = seq_free,
};

/* The id of label name s[0..n) of a data line; EFORMAT (with file:line) for a name outside
 * fixed labels. */
static tf_status_t line_label_id(tf_loader_t *l, const tf__lines_t *lr, const char *s, size_t n,
                                 int32_t *id)
{
    TF_CHECK(tf__loader_label_id(l, s, n, id));
    if (*id < 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: label '%.*s' is not one of the %d known labels",
                lr->fn, lr->name, (long long)lr->lineno, (int)(n > 64 ? 64 : n), s, l->num_labels);
    return TF_STATUS_OK;
}

/* The next name of a multi-label field s[0..n) from *pos: [*a, *b), spaces around it trimmed.
 * Names are comma-separated; an empty field has none. 0 after the last. */
static int next_name(const char *s, size_t n, size_t *pos, size_t *a, size_t *b)
{
    if (n == 0 || *pos > n)
        return 0;
    size_t j = *pos;
    while (j < n && s[j] != ',')
        j++;
    *a = *pos;
    *b = j;
    while (*a < *b && s[*a] == ' ')
        (*a)++;
    while (*b > *a && s[*b - 1] == ' ')
        (*b)--;
    *pos = j + 1;
    return 1;
}

/* A multi-label field: every name is checked before any is added, so a bad line never adds
 * a label without examples. Each distinct id of the line goes to lset_ids. */
static tf_status_t parse_label_set(tf_loader_t *l, tf__lines_t *lr, const char *s, size_t n)
{
    tf__seqs_t *q = seq_seqs(l);
    size_t pos = 0, a, b;
    while (next_name(s, n, &pos, &a, &b))
        if (a == b)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: empty label name in the set '%.*s'", lr->fn,
                    lr->name, (long long)lr->lineno, (int)(n > 64 ? 64 : n), s);
    for (pos = 0; next_name(s, n, &pos, &a, &b);) {
        int32_t id;
        int seen = 0;
        TF_CHECK(line_label_id(l, lr, s + a, b - a, &id));
        for (size_t k = (size_t)q->lset_off[q->n]; k < q->nlset && !seen; k++)
            seen = q->lset_ids[k] == id;
        if (!seen) {
            TF_CHECK(tf__grow_i32(l->ctx, &q->lset_ids, &q->lset_cap, q->nlset + 1));
            q->lset_ids[q->nlset++] = id;
        }
    }
    return TF_STATUS_OK;
}

/* One TSV line: label<TAB>text (or labels<TAB>text). EFORMAT (with file:line) for a bad line. */
static tf_status_t parse_line(tf_loader_t *l, tf_vocab_t *vocab, tf__lines_t *lr,
                              const char *line, size_t len)
{
    seq_state_t *q = seq(l);
    int32_t multilabel = q->seqs.multilabel;
    const char *tab = memchr(line, '\t', len);
    const char *fn = lr->fn;
    long long ln = (long long)lr->lineno;
    if (tab == NULL)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: no tab; expected %s<TAB>text", fn, lr->name, ln,
                multilabel ? "labels" : "label");
    size_t llen = (size_t)(tab - line);
    if (llen == 0 && !multilabel)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: empty label", fn, lr->name, ln);
    size_t before = q->nids;
    uint64_t bad = 0, unk = 0;
    TF_CHECK(tf__vocab_encode_append(vocab, l->ctx, tab + 1, len - llen - 1, &q->own_ids, &q->nids,
                                     &q->own_ids_cap, &bad, &unk));
    if (q->nids == before)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: empty text", fn, lr->name, ln);
    /* The labels last, so a bad line never adds a label without examples. */
    int32_t label = 0;
    if (multilabel)
        TF_CHECK(parse_label_set(l, lr, line, llen));
    else
        TF_CHECK(line_label_id(l, lr, line, llen, &label));
    l->invalid_utf8 += bad;
    l->unknown_tokens += unk;
    l->text_tokens += q->nids - before;
    return tf__seqs_add(l, &q->seqs, label, (int64_t)q->nids);
}

tf_status_t tf__loader_labeled_from(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                    tf__lines_t *lr, const tf_loader_opts_t *opts,
                                    int32_t multilabel, const char *fn)
{
    tf_loader_t *l = NULL;
    tf_status_t st;
    *out = NULL;
    TF_CHECK(tf__loader_new(&l, ctx, &seq_ops, opts, fn));
    seq_state_t *q = seq(l);
    q->seqs.multilabel = multilabel;
    TF_CHECK_GOTO(st, tf__seqs_own_begin(l, &q->seqs, fn), fail);
    if (multilabel) {
        void *p = NULL;
        TF_CHECK_GOTO(st, tf__grow_bytes(ctx, &p, &q->seqs.lset_off_cap, 16, sizeof(int64_t)),
                      fail);
        q->seqs.lset_off = p;
        q->seqs.lset_off[0] = 0;
    }
    for (;;) {
        const char *line;
        size_t len;
        st = tf__lines_next(lr, &line, &len);
        if (st == TF_STATUS_OK && line == NULL)
            break;
        if (st == TF_STATUS_OK && len == 0)
            continue; /* blank line */
        if (st == TF_STATUS_OK && !tf__line_in_split(line, len, l->o.valid_fraction, l->o.split))
            continue;
        if (st == TF_STATUS_OK) {
            size_t nids = q->nids, nlset = q->seqs.nlset;
            uint64_t bad = l->invalid_utf8, unk = l->unknown_tokens, ntok = l->text_tokens;
            st = parse_line(l, vocab, lr, line, len);
            if (st != TF_STATUS_OK) {
                q->nids = nids; /* drop a half-added sequence */
                q->seqs.nlset = nlset;
                l->invalid_utf8 = bad;
                l->unknown_tokens = unk;
                l->text_tokens = ntok;
            }
        }
        if (st != TF_STATUS_OK)
            TF_CHECK_GOTO(st, tf__loader_bad_line(l, st), fail);
    }
    if (q->seqs.n == 0)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: %s: no labelled lines", fn, lr->name);
    TF_CHECK_GOTO(st, multilabel
                          ? tf__loader_sort_labels(l, q->seqs.lset_ids, (int64_t)q->seqs.nlset)
                          : tf__loader_sort_labels(l, q->seqs.own_labels, q->seqs.n), fail);
    q->ids = q->own_ids;
    q->seqs.off = q->seqs.own_off;
    q->seqs.labels = multilabel ? NULL : q->seqs.own_labels;
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

static tf_status_t create_labeled(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                  const char *path, const tf_loader_opts_t *opts,
                                  int32_t multilabel, const char *fn)
{
    tf__lines_t lr;
    if (out != NULL)
        *out = NULL;
    if (out == NULL || ctx == NULL || vocab == NULL || path == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument '%s' is NULL", fn,
                out == NULL ? "out" : ctx == NULL ? "ctx" : vocab == NULL ? "vocab" : "path");
    TF_CHECK(tf__lines_open_file(&lr, ctx, path, fn));
    tf_status_t st = tf__loader_labeled_from(out, ctx, vocab, &lr, opts, multilabel, fn);
    tf__lines_close(&lr);
    return st;
}

tf_status_t tf_loader_create_labeled(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                     const char *path, const tf_loader_opts_t *opts)
{
    return create_labeled(out, ctx, vocab, path, opts, 0, __func__);
}

tf_status_t tf_loader_create_multilabel(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                        const char *path, const tf_loader_opts_t *opts)
{
    return create_labeled(out, ctx, vocab, path, opts, 1, __func__);
}

/* Shared checks of caller token arrays; the loader keeps pointers to them. */
static tf_status_t check_labels(tf_loader_t *l, const int32_t *labels, int64_t n, const char *fn)
{
    if (labels == NULL)
        return TF_STATUS_OK;
    int32_t mx = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || (l->o.num_labels > 0 && labels[i] >= l->o.num_labels))
            TF_FAIL(TF_STATUS_EINVAL, "%s: labels[%lld] = %d is outside [0, %d)", fn,
                    (long long)i, labels[i], l->o.num_labels > 0 ? l->o.num_labels : INT32_MAX);
        if (labels[i] > mx)
            mx = labels[i];
    }
    l->num_labels = l->o.num_labels > 0 ? l->o.num_labels : mx + 1;
    seq(l)->seqs.labels = labels;
    return TF_STATUS_OK;
}

static tf_status_t check_ids(const int32_t *ids, int64_t n, int64_t seq, const char *fn)
{
    for (int64_t t = 0; t < n; t++)
        if (ids[t] < 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: sequence %lld has a negative id %d", fn,
                    (long long)seq, ids[t]);
    return TF_STATUS_OK;
}

tf_status_t tf_loader_create_tokens(tf_loader_t **out, tf_ctx_t *ctx, const int32_t *ids,
                                    const int64_t *offsets, int64_t num_seqs,
                                    const int32_t *labels, const tf_loader_opts_t *opts)
{
    const char *fn = __func__;
    tf_loader_t *l = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(ids);
    TF_REQUIRE_ARG(offsets);
    if (num_seqs < 1 || offsets[0] != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: need num_seqs >= 1 and offsets[0] == 0", fn);
    for (int64_t i = 0; i < num_seqs; i++) {
        if (offsets[i + 1] <= offsets[i] || offsets[i + 1] - offsets[i] > INT32_MAX)
            TF_FAIL(TF_STATUS_EINVAL, "%s: sequence %lld is empty, longer than 2^31-1 tokens, or "
                    "its offsets decrease", fn, (long long)i);
        TF_CHECK(check_ids(ids + offsets[i], offsets[i + 1] - offsets[i], i, fn));
    }
    TF_CHECK(tf__loader_new(&l, ctx, &seq_ops, opts, fn));
    seq(l)->ids = ids;
    seq(l)->seqs.off = offsets;
    seq(l)->seqs.n = num_seqs;
    TF_CHECK_GOTO(st, check_labels(l, labels, num_seqs, fn), fail);
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

tf_status_t tf_loader_create_tokens_padded(tf_loader_t **out, tf_ctx_t *ctx, const int32_t *ids,
                                           int32_t stride, const int32_t *lengths,
                                           int64_t num_seqs, const int32_t *labels,
                                           const tf_loader_opts_t *opts)
{
    const char *fn = __func__;
    tf_loader_t *l = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(ids);
    TF_REQUIRE_ARG(lengths);
    if (num_seqs < 1 || stride < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: need num_seqs >= 1 and stride >= 1", fn);
    for (int64_t i = 0; i < num_seqs; i++) {
        if (lengths[i] < 1 || lengths[i] > stride)
            TF_FAIL(TF_STATUS_EINVAL, "%s: lengths[%lld] = %d is outside [1, %d]", fn,
                    (long long)i, lengths[i], stride);
        TF_CHECK(check_ids(ids + (size_t)i * (size_t)stride, lengths[i], i, fn));
    }
    TF_CHECK(tf__loader_new(&l, ctx, &seq_ops, opts, fn));
    seq(l)->ids = ids;
    seq(l)->stride = stride;
    seq(l)->seqs.len = lengths;
    seq(l)->seqs.n = num_seqs;
    TF_CHECK_GOTO(st, check_labels(l, labels, num_seqs, fn), fail);
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}
