/* SPDX-License-Identifier: MIT */
/* The language-model loader: text files streamed through the tokeniser into one int32 array,
 * cut into batch_size streams read in windows of about bptt steps. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

typedef struct lm_state {
    int32_t *ids; /* the token stream */
    size_t nids, ids_cap;
    int64_t stream_len; /* tokens per stream: nids / batch_size */
    int32_t *b_tok, *b_tgt; /* batch buffers */
    size_t b_tok_cap, b_tgt_cap;
} lm_state_t;

static lm_state_t *lm(const tf_loader_t *l)
{
    return l->state;
}

static int64_t lm_num_sequences(const tf_loader_t *l)
{
    return (int64_t)lm(l)->nids;
}

static int32_t lm_min_window(const tf_loader_t *l)
{
    return l->o.bptt_random ? (l->o.bptt < 5 ? l->o.bptt : 5) : l->o.bptt;
}

static tf_status_t lm_prepare(tf_loader_t *l, const char *fn)
{
    (void)fn;
    int64_t minw = lm_min_window(l);
    l->bcap = (lm(l)->stream_len - 1 + minw - 1) / minw + 1;
    return TF_STATUS_OK;
}

static int32_t lm_window_len(tf_loader_t *l)
{
    if (!l->o.bptt_random)
        return l->o.bptt;
    double base = tf__rng_uniform(&l->rng) < 0.95f ? l->o.bptt : l->o.bptt / 2.0;
    double x = base + 5.0 * tf__rng_normal(&l->rng) + 0.5;
    int32_t lo = lm_min_window(l), hi = l->o.bptt + 20;
    if (!(x >= lo))
        return lo;
    return x > hi ? hi : (int32_t)x;
}

/* Windows of the streams one after the other, then (shuffle) in random order. */
static void lm_plan_epoch(tf_loader_t *l)
{
    int64_t last = lm(l)->stream_len - 1;
    for (int64_t s = 0; s < last && l->nbatches < l->bcap;) {
        int32_t len = lm_window_len(l);
        if (len > last - s)
            len = (int32_t)(last - s);
        l->bstart[l->nbatches] = s;
        l->blen[l->nbatches++] = len;
        s += len;
    }
    if (l->o.shuffle)
        tf__loader_shuffle_plan(l);
    l->nitems_epoch = l->nbatches;
}

/* The window [start, start + T) of every stream of the shard, and its targets one step later. */
static tf_status_t lm_fill(tf_loader_t *l, int64_t start, int32_t T)
{
    lm_state_t *m = lm(l);
    int64_t lo, hi;
    tf__shard_range(l->o.batch_size, l->shard_index, l->shard_count, &lo, &hi);
    int32_t B = (int32_t)(hi - lo);
    size_t need = (size_t)T * (size_t)B;
    TF_CHECK(tf__grow_i32(l->ctx, &m->b_tok, &m->b_tok_cap, need));
    TF_CHECK(tf__grow_i32(l->ctx, &m->b_tgt, &m->b_tgt_cap, need));
    for (int32_t b = 0; b < B; b++) {
        const int32_t *src = m->ids + (size_t)(lo + b) * (size_t)m->stream_len + (size_t)start;
        for (int32_t t = 0; t < T; t++) {
            m->b_tok[(size_t)t * B + b] = src[t];
            m->b_tgt[(size_t)t * B + b] = src[t + 1];
        }
        l->b_len[b] = T;
    }
    tf_batch_t *bt = &l->batch;
    memset(bt, 0, sizeof *bt);
    bt->T = T;
    bt->B = B;
    bt->has_tokens = bt->has_targets = 1;
    tf__batch_view(&bt->tokens, l->ctx, TF_DTYPE_I32, m->b_tok, 2, T, B, 0);
    tf__batch_view(&bt->targets, l->ctx, TF_DTYPE_I32, m->b_tgt, 2, T, B, 0);
    tf__batch_view(&bt->lengths, l->ctx, TF_DTYPE_I32, l->b_len, 1, B, 0, 0);
    l->items_read += 1;
    return TF_STATUS_OK;
}

static void lm_free(tf_loader_t *l)
{
    lm_state_t *m = lm(l);
    tf__free(l->ctx, m->ids);
    tf__free(l->ctx, m->b_tok);
    tf__free(l->ctx, m->b_tgt);
}

static const tf__loader_ops_t lm_ops = {
    .kind = TF__LOADER_LM,
    .state_size = sizeof(lm_state_t),
    .num_sequences = lm_num_sequences,
    .prepare = lm_prepare,
    .plan_epoch = lm_plan_epoch,
    .fill = lm_fill,
    .seqs = NULL,
    .free = lm_free,
};

/* Append the ids of one file: encoded with `vocab`, or (vocab NULL) counted by `c`, which
 * gives provisional ids remapped once the vocabulary is known. */
static tf_status_t read_file(tf_loader_t *l, tf_vocab_t *vocab, tf__counter_t *c,
                             tf__lines_t *lr)
{
    lm_state_t *m = lm(l);
    for (;;) {
        const char *line;
        size_t len;
        tf_status_t st = tf__lines_next(lr, &line, &len);
        if (st != TF_STATUS_OK) {
            TF_CHECK(tf__loader_bad_line(l, st));
            continue;
        }
        if (line == NULL)
            return TF_STATUS_OK;
        if (!tf__line_in_split(line, len, l->o.valid_fraction, l->o.split))
            continue;
        size_t before = m->nids;
        if (vocab != NULL) {
            TF_CHECK(tf__vocab_encode_append(vocab, l->ctx, line, len, &m->ids, &m->nids, &m->ids_cap,
                                             &l->invalid_utf8, &l->unknown_tokens));
        } else {
            uint64_t before_bad = c->invalid;
            TF_CHECK(tf__counter_text(c, line, len, &m->ids, &m->nids, &m->ids_cap));
            l->invalid_utf8 += c->invalid - before_bad;
        }
        if (m->nids == before)
            continue; /* blank line */
        l->text_tokens += m->nids - before;
        TF_CHECK(tf__grow_i32(l->ctx, &m->ids, &m->ids_cap, m->nids + 1));
        m->ids[m->nids++] = vocab != NULL ? TF_VOCAB_EOS : -1; /* -1: remapped to EOS */
    }
}

/* Words through the one pass: each provisional id (a counted token) becomes its vocabulary id
 * (UNK when it did not make it into the vocabulary). */
static tf_status_t map_words(tf_loader_t *l, const tf_vocab_t *v, const tf__counter_t *c)
{
    lm_state_t *m = lm(l);
    size_t n = (size_t)c->tab.count;
    int32_t *map = tf__alloc(l->ctx, (n ? n : 1) * sizeof *map);
    if (map == NULL)
        return TF_STATUS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int32_t id = tf__strtab_find(&v->tab, tf__strtab_str(&c->tab, (int32_t)i), c->tab.len[i],
                                     c->tab.hash[i]);
        map[i] = id < 0 ? TF_VOCAB_UNK : id;
    }
    for (size_t i = 0; i < m->nids; i++) {
        m->ids[i] = m->ids[i] < 0 ? TF_VOCAB_EOS : map[m->ids[i]];
        l->unknown_tokens += m->ids[i] == TF_VOCAB_UNK;
    }
    tf__free(l->ctx, map);
    return TF_STATUS_OK;
}

/* BPE through the one pass: each provisional id (a counted pre-token) becomes its pieces, each
 * distinct pre-token encoded once. */
static tf_status_t expand_pieces(tf_loader_t *l, const tf_vocab_t *v, const tf__counter_t *c)
{
    lm_state_t *m = lm(l);
    int32_t *pieces = NULL, *ids = NULL;
    size_t npieces = 0, pcap = 0, n = (size_t)c->tab.count, total = 0, cap = 0;
    size_t *start = tf__alloc(l->ctx, (n + 1) * sizeof *start);
    tf_status_t st = TF_STATUS_OK;
    if (start == NULL)
        return TF_STATUS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        start[i] = npieces;
        TF_CHECK_GOTO(st, tf__bpe_encode(v, l->ctx, tf__strtab_str(&c->tab, (int32_t)i),
                                         c->tab.len[i], &pieces, &npieces, &pcap), done);
    }
    start[n] = npieces;
    for (size_t i = 0; i < m->nids; i++)
        total += m->ids[i] < 0 ? 1 : start[m->ids[i] + 1] - start[m->ids[i]];
    TF_CHECK_GOTO(st, tf__grow_i32(l->ctx, &ids, &cap, total), done);
    l->text_tokens = 0;
    total = 0;
    for (size_t i = 0; i < m->nids; i++) {
        int32_t id = m->ids[i];
        if (id < 0) {
            ids[total++] = TF_VOCAB_EOS;
            continue;
        }
        size_t k = start[id + 1] - start[id];
        memcpy(ids + total, pieces + start[id], k * sizeof *ids);
        total += k;
        l->text_tokens += k;
    }
    tf__free(l->ctx, m->ids);
    m->ids = ids;
    m->nids = total;
    m->ids_cap = cap;
    ids = NULL;
done:
    tf__free(l->ctx, ids);
    tf__free(l->ctx, pieces);
    tf__free(l->ctx, start);
    return st;
}

static tf_status_t create(tf_loader_t **out, tf_vocab_t **vocab_out, tf_ctx_t *ctx,
                         tf_vocab_t *vocab, const char *const *paths, uint32_t num_paths,
                         const tf_vocab_opts_t *vopts, const tf_loader_opts_t *opts,
                         const char *fn)
{
    tf_loader_t *l = NULL;
    tf_vocab_t *built = NULL;
    tf__counter_t c;
    tf_vocab_opts_t vo;
    tf_status_t st = TF_STATUS_OK;
    memset(&c, 0, sizeof c);
    TF_REQUIRE_ARG(out);
    *out = NULL;
    if (vocab_out != NULL)
        *vocab_out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(paths);
    if (num_paths == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: no files given", fn);
    for (uint32_t p = 0; p < num_paths; p++)
        if (paths[p] == NULL)
            TF_FAIL(TF_STATUS_EINVAL, "%s: paths[%u] is NULL", fn, p);
    if (vocab_out != NULL) {
        TF_CHECK(tf__vocab_read_opts(&vo, vopts, fn));
        if (vo.kind == TF_VOCAB_KIND_BYTE) {
            TF_CHECK(tf__vocab_new(&built, ctx, vo.kind, vo.lowercase, vo.split_punct, 1));
            vocab = built;
        }
        c.ctx = ctx;
        c.flags = tf__vocab_build_flags(&vo);
    }
    TF_CHECK_GOTO(st, tf__loader_new(&l, ctx, &lm_ops, opts, fn), fail);
    for (uint32_t p = 0; p < num_paths; p++) {
        tf__lines_t lr;
        TF_CHECK_GOTO(st, tf__lines_open_file(&lr, ctx, paths[p], fn), fail);
        st = read_file(l, vocab, &c, &lr);
        tf__lines_close(&lr);
        if (st != TF_STATUS_OK)
            goto fail;
    }
    if (vocab == NULL) {
        /* One pass built the counts and provisional ids: make the vocabulary, then map. */
        TF_CHECK_GOTO(st, tf__counter_finish(&c, &vo, &built, fn), fail);
        if (vo.kind == TF_VOCAB_KIND_BPE)
            TF_CHECK_GOTO(st, expand_pieces(l, built, &c), fail);
        else
            TF_CHECK_GOTO(st, map_words(l, built, &c), fail);
    }
    int64_t B = l->o.batch_size;
    lm_state_t *m = lm(l);
    m->stream_len = (int64_t)m->nids / B;
    if (m->stream_len < 2)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                     "%s: %s%s has %zu tokens; %lld streams need at least %lld", fn, paths[0],
                     num_paths > 1 ? " (and the other files)" : "", m->nids, (long long)B,
                     (long long)(2 * B));
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    tf__counter_free(&c);
    *out = l;
    if (vocab_out != NULL)
        *vocab_out = built;
    return TF_STATUS_OK;
fail:
    tf__counter_free(&c);
    tf_vocab_free(built);
    tf_loader_free(l);
    return st;
}

tf_status_t tf_loader_create_lm(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                const char *const *paths, uint32_t num_paths,
                                const tf_loader_opts_t *opts)
{
    if (vocab == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'vocab' is NULL", __func__);
    return create(out, NULL, ctx, vocab, paths, num_paths, NULL, opts, "tf_loader_create_lm");
}

tf_status_t tf_loader_create_lm_vocab(tf_loader_t **out, tf_vocab_t **vocab_out, tf_ctx_t *ctx,
                                      const char *const *paths, uint32_t num_paths,
                                      const tf_vocab_opts_t *vocab_opts,
                                      const tf_loader_opts_t *opts)
{
    if (vocab_out == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'vocab_out' is NULL", __func__);
    return create(out, vocab_out, ctx, NULL, paths, num_paths, vocab_opts, opts,
                  "tf_loader_create_lm_vocab");
}
