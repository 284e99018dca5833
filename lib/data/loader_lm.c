/* The language-model loader: text files streamed through the tokeniser into one int32 array. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

/* Append the ids of one file: encoded with `vocab`, or (vocab NULL) counted by `c`, which
 * gives provisional ids remapped once the vocabulary is known. */
static tf_status_t read_file(tf_loader_t *l, tf_vocab_t *vocab, tf__counter_t *c,
                             tf__lines_t *lr)
{
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
        size_t before = l->nids;
        if (vocab != NULL) {
            TF_CHECK(tf__vocab_encode_append(vocab, l->ctx, line, len, &l->ids, &l->nids, &l->ids_cap,
                                             &l->invalid_utf8, &l->unknown_tokens));
        } else {
            uint64_t before_bad = c->invalid;
            TF_CHECK(tf__counter_text(c, line, len, &l->ids, &l->nids, &l->ids_cap));
            l->invalid_utf8 += c->invalid - before_bad;
        }
        if (l->nids == before)
            continue; /* blank line */
        l->text_tokens += l->nids - before;
        TF_CHECK(tf__grow_i32(l->ctx, &l->ids, &l->ids_cap, l->nids + 1));
        l->ids[l->nids++] = vocab != NULL ? TF_VOCAB_EOS : -1; /* -1: remapped to EOS */
    }
}

/* Words through the one pass: each provisional id (a counted token) becomes its vocabulary id
 * (UNK when it did not make it into the vocabulary). */
static tf_status_t map_words(tf_loader_t *l, const tf_vocab_t *v, const tf__counter_t *c)
{
    size_t n = (size_t)c->tab.count;
    int32_t *map = tf__alloc(l->ctx, (n ? n : 1) * sizeof *map);
    if (map == NULL)
        return TF_STATUS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int32_t id = tf__strtab_find(&v->tab, tf__strtab_str(&c->tab, (int32_t)i), c->tab.len[i],
                                     c->tab.hash[i]);
        map[i] = id < 0 ? TF_VOCAB_UNK : id;
    }
    for (size_t i = 0; i < l->nids; i++) {
        l->ids[i] = l->ids[i] < 0 ? TF_VOCAB_EOS : map[l->ids[i]];
        l->unknown_tokens += l->ids[i] == TF_VOCAB_UNK;
    }
    tf__free(l->ctx, map);
    return TF_STATUS_OK;
}

/* BPE through the one pass: each provisional id (a counted pre-token) becomes its pieces, each
 * distinct pre-token encoded once. */
static tf_status_t expand_pieces(tf_loader_t *l, const tf_vocab_t *v, const tf__counter_t *c)
{
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
    for (size_t i = 0; i < l->nids; i++)
        total += l->ids[i] < 0 ? 1 : start[l->ids[i] + 1] - start[l->ids[i]];
    TF_CHECK_GOTO(st, tf__grow_i32(l->ctx, &ids, &cap, total), done);
    l->text_tokens = 0;
    total = 0;
    for (size_t i = 0; i < l->nids; i++) {
        int32_t id = l->ids[i];
        if (id < 0) {
            ids[total++] = TF_VOCAB_EOS;
            continue;
        }
        size_t k = start[id + 1] - start[id];
        memcpy(ids + total, pieces + start[id], k * sizeof *ids);
        total += k;
        l->text_tokens += k;
    }
    tf__free(l->ctx, l->ids);
    l->ids = ids;
    l->nids = total;
    l->ids_cap = cap;
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
    TF_CHECK_GOTO(st, tf__loader_new(&l, ctx, TF__LOADER_LM, opts, fn), fail);
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
    l->stream_len = (int64_t)l->nids / B;
    if (l->stream_len < 2) {
        st = tf__error(TF_STATUS_EFORMAT, "%s: %s%s has %zu tokens; %lld streams need at least "
                       "%lld", fn, paths[0], num_paths > 1 ? " (and the other files)" : "",
                       l->nids, (long long)B, (long long)(2 * B));
        goto fail;
    }
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
        TF_FAIL(TF_STATUS_EINVAL, "tf_loader_create_lm: argument 'vocab' is NULL");
    return create(out, NULL, ctx, vocab, paths, num_paths, NULL, opts, "tf_loader_create_lm");
}

tf_status_t tf_loader_create_lm_vocab(tf_loader_t **out, tf_vocab_t **vocab_out, tf_ctx_t *ctx,
                                      const char *const *paths, uint32_t num_paths,
                                      const tf_vocab_opts_t *vocab_opts,
                                      const tf_loader_opts_t *opts)
{
    if (vocab_out == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "tf_loader_create_lm_vocab: argument 'vocab_out' is NULL");
    return create(out, vocab_out, ctx, NULL, paths, num_paths, vocab_opts, opts,
                  "tf_loader_create_lm_vocab");
}
