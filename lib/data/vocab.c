/* SPDX-License-Identifier: MIT */
/* Vocabularies: building by counting tokens over files or strings, lookup, encode, decode. */
#include "transfer/data.h"
#include "data_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const special_names[TF_VOCAB_NUM_SPECIALS] = {"<pad>", "<unk>", "<bos>",
                                                                  "<eos>"};

TF__OPTS_LAYOUT(tf__vocab_opts_layout,
                tf_vocab_opts_t,
                TF_VOCAB_OPTS_VERSION,
                TF__OPTS_END(tf_vocab_opts_t, max_size));

static void vocab_opts_defaults(tf_vocab_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_VOCAB_OPTS_VERSION;
    o->kind = TF_VOCAB_KIND_WORD;
    o->lowercase = 0;
    o->split_punct = 1;
    o->min_count = 1;
    o->max_size = 0;
}

tf_status_t tf_vocab_opts_init(tf_vocab_opts_t *opts, uint32_t version)
{
    tf_vocab_opts_t d;
    vocab_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__vocab_opts_layout, __func__);
}

tf_status_t tf__vocab_read_opts(tf_vocab_opts_t *o, const tf_vocab_opts_t *opts, const char *fn)
{
    vocab_opts_defaults(o);
    TF_CHECK(tf__opts_read(o, opts, &tf__vocab_opts_layout, fn));
    if (o->kind != TF_VOCAB_KIND_WORD && o->kind != TF_VOCAB_KIND_BYTE &&
        o->kind != TF_VOCAB_KIND_BPE)
        TF_FAIL(TF_STATUS_EINVAL, "%s: kind %d is not a tf_vocab_kind_t", fn, o->kind);
    if ((o->lowercase != 0 && o->lowercase != 1) || (o->split_punct != 0 && o->split_punct != 1))
        TF_FAIL(TF_STATUS_EINVAL, "%s: lowercase and split_punct must be 0 or 1", fn);
    if (o->min_count < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: min_count is %d; use 1 or more", fn, o->min_count);
    if (o->max_size != 0 && o->max_size < TF_VOCAB_NUM_SPECIALS)
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_size %d is below the %d special tokens; use 0 for no "
                "limit", fn, o->max_size, TF_VOCAB_NUM_SPECIALS);
    if (o->kind == TF_VOCAB_KIND_BPE && o->max_size != 0 && o->max_size < TF_VOCAB_NUM_SPECIALS + 256)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a BPE vocabulary has at least %d tokens (the specials and "
                "the bytes); max_size is %d", fn, TF_VOCAB_NUM_SPECIALS + 256, o->max_size);
    return TF_STATUS_OK;
}

tf_status_t tf__vocab_new(tf_vocab_t **out, tf_ctx_t *ctx, int32_t kind, int32_t lowercase,
                          int32_t split_punct, int32_t unicode)
{
    tf_vocab_t *v = tf__calloc(ctx, 1, sizeof *v);
    tf_status_t st;
    int32_t id;
    int added;
    if (v == NULL)
        return TF_STATUS_ENOMEM;
    v->ctx = ctx;
    v->kind = kind;
    v->lowercase = lowercase;
    v->split_punct = split_punct;
    v->unicode = unicode;
    for (int i = 0; i < TF_VOCAB_NUM_SPECIALS; i++) {
        const char *s = special_names[i];
        TF_CHECK_GOTO(st, tf__strtab_add(&v->tab, ctx, s, strlen(s), tf__hash_bytes(s, strlen(s)),
                                         &id, &added), fail);
    }
    if (kind != TF_VOCAB_KIND_WORD)
        for (int b = 0; b < 256; b++) {
            char c = (char)b;
            TF_CHECK_GOTO(st, tf__strtab_add(&v->tab, ctx, &c, 1, tf__hash_bytes(&c, 1), &id,
                                             &added), fail);
        }
    tf__object_created(ctx);
    *out = v;
    return TF_STATUS_OK;
fail:
    tf__strtab_free(&v->tab, ctx);
    tf__free(ctx, v);
    return st;
}

void tf_vocab_free(tf_vocab_t *v)
{
    if (v == NULL)
        return;
    tf_ctx_t *ctx = v->ctx;
    tf__strtab_free(&v->tab, ctx);
    tf__strtab_free(&v->merge_tab, ctx);
    tf__free(ctx, v->merge_out);
    tf__toks_free(&v->scratch, ctx);
    tf__free(ctx, v);
    tf__object_freed(ctx);
}

uint32_t tf__vocab_tok_flags(const tf_vocab_t *v)
{
    return (v->lowercase ? TF__TOK_LOWER : 0u) | (v->split_punct ? TF__TOK_PUNCT : 0u) |
           (v->kind == TF_VOCAB_KIND_BYTE ? TF__TOK_BYTES : 0u) |
           (v->kind == TF_VOCAB_KIND_BPE ? TF__TOK_SPACE : 0u) |
           (v->unicode ? TF__TOK_UNICODE : 0u);
}

uint32_t tf__vocab_build_flags(const tf_vocab_opts_t *o)
{
    return (o->lowercase ? TF__TOK_LOWER : 0u) | (o->split_punct ? TF__TOK_PUNCT : 0u) |
           (o->kind == TF_VOCAB_KIND_BPE ? TF__TOK_SPACE : 0u) | TF__TOK_UNICODE;
}

/* ---- building -------------------------------------------------------------------------------- */
tf_status_t tf__counter_text(tf__counter_t *c, const char *s, size_t n, int32_t **ids,
                             size_t *num, size_t *cap)
{
    TF_CHECK(tf__tokenize(&c->tk, c->ctx, s, n, c->flags, &c->invalid));
    if (ids != NULL)
        TF_CHECK(tf__grow_i32(c->ctx, ids, cap, *num + c->tk.n));
    for (size_t i = 0; i < c->tk.n; i++) {
        const char *tok = c->tk.bytes + c->tk.off[i];
        int32_t id = tf__strtab_find_key(&c->tab, tok, c->tk.len[i], c->tk.hash[i], c->tk.key[i]);
        int added = 0;
        if (id < 0)
            TF_CHECK(tf__strtab_add(&c->tab, c->ctx, tok, c->tk.len[i], c->tk.hash[i], &id, &added));
        if (added) {
            void *p = c->counts;
            TF_CHECK(tf__grow_bytes(c->ctx, &p, &c->counts_cap, (size_t)id + 1, sizeof(int64_t)));
            c->counts = p;
            c->counts[id] = 0;
        }
        c->counts[id]++;
        if (ids != NULL)
            (*ids)[(*num)++] = id;
    }
    return TF_STATUS_OK;
}

/* Merge sort by count (descending), then bytes: deterministic for any input order. */
static void sort_ids(const tf__counter_t *c, int32_t *a, int32_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_ids(c, a, tmp, h);
    sort_ids(c, a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int32_t x = a[i], y = a[j];
        int64_t cx = c->counts[x], cy = c->counts[y];
        int le;
        if (cx != cy)
            le = cx > cy;
        else {
            uint32_t lx = c->tab.len[x], ly = c->tab.len[y];
            int r = memcmp(tf__strtab_str(&c->tab, x), tf__strtab_str(&c->tab, y),
                           lx < ly ? lx : ly);
            le = r < 0 || (r == 0 && lx <= ly);
        }
        tmp[k++] = le ? a[i++] : a[j++];
    }
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

tf_status_t tf__counter_finish(tf__counter_t *c, const tf_vocab_opts_t *o, tf_vocab_t **out,
                              const char *fn)
{
    tf_status_t st;
    tf_vocab_t *v = NULL;
    int32_t *ids = NULL, *tmp = NULL;
    size_t n = (size_t)c->tab.count;
    if (o->kind != TF_VOCAB_KIND_BYTE && n == 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: the input has no tokens", fn);
    TF_CHECK(tf__vocab_new(&v, c->ctx, o->kind, o->lowercase, o->split_punct, 1));
    v->invalid_utf8 = c->invalid;
    if (o->kind == TF_VOCAB_KIND_BPE)
        TF_CHECK_GOTO(st, tf__bpe_train(v, c, o), fail);
    if (o->kind == TF_VOCAB_KIND_WORD) {
        ids = tf__alloc(c->ctx, (n ? n : 1) * sizeof *ids);
        tmp = tf__alloc(c->ctx, (n ? n : 1) * sizeof *tmp);
        if (ids == NULL || tmp == NULL) {
            st = TF_STATUS_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)i;
        sort_ids(c, ids, tmp, n);
        for (size_t i = 0; i < n; i++) {
            int32_t id = ids[i], nid;
            int added;
            if (c->counts[id] < o->min_count)
                break;
            if (o->max_size > 0 && v->tab.count >= o->max_size)
                break;
            /* A token spelled like a special maps to that special. */
            TF_CHECK_GOTO(st, tf__strtab_add(&v->tab, c->ctx, tf__strtab_str(&c->tab, id),
                                             c->tab.len[id], c->tab.hash[id], &nid, &added), fail);
        }
    }
    if (c->invalid > 0)
        tf__log(c->ctx, TF_LOG_WARN, "%s: replaced %llu invalid UTF-8 bytes with U+FFFD", fn,
                (unsigned long long)c->invalid);
    tf__free(c->ctx, ids);
    tf__free(c->ctx, tmp);
    *out = v;
    return TF_STATUS_OK;
fail:
    tf__free(c->ctx, ids);
    tf__free(c->ctx, tmp);
    tf_vocab_free(v);
    return st;
}

void tf__counter_free(tf__counter_t *c)
{
    tf__strtab_free(&c->tab, c->ctx);
    tf__free(c->ctx, c->counts);
    tf__toks_free(&c->tk, c->ctx);
}

tf_status_t tf__counter_files(tf__counter_t *c, const char *const *paths, uint32_t num_paths,
                              int32_t count, const char *fn)
{
    tf_status_t st = TF_STATUS_OK;
    for (uint32_t p = 0; p < num_paths; p++) {
        tf__lines_t lr;
        if (paths[p] == NULL)
            TF_FAIL(TF_STATUS_EINVAL, "%s: paths[%u] is NULL", fn, p);
        TF_CHECK(tf__lines_open_file(&lr, c->ctx, paths[p], fn));
        for (;;) {
            const char *line;
            size_t len;
            st = tf__lines_next(&lr, &line, &len);
            if (st != TF_STATUS_OK || line == NULL)
                break;
            if (count && (st = tf__counter_text(c, line, len, NULL, NULL, NULL)) != TF_STATUS_OK)
                break;
        }
        tf__lines_close(&lr);
        if (st != TF_STATUS_OK)
            return st;
    }
    return TF_STATUS_OK;
}

tf_status_t tf_vocab_build_files(tf_vocab_t **out, tf_ctx_t *ctx, const char *const *paths,
                                 uint32_t num_paths, const tf_vocab_opts_t *opts)
{
    const char *fn = __func__;
    tf_vocab_opts_t o;
    tf__counter_t c;
    tf_status_t st = TF_STATUS_OK;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_CHECK(tf__vocab_read_opts(&o, opts, fn));
    if (num_paths > 0 && paths == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'paths' is NULL", fn);
    if (num_paths == 0 && o.kind != TF_VOCAB_KIND_BYTE)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a word or BPE vocabulary needs at least one file", fn);
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.flags = tf__vocab_build_flags(&o);
    st = tf__counter_files(&c, paths, num_paths, o.kind != TF_VOCAB_KIND_BYTE, fn);
    if (st == TF_STATUS_OK)
        st = tf__counter_finish(&c, &o, out, fn);
    tf__counter_free(&c);
    return st;
}

tf_status_t tf_vocab_build_texts(tf_vocab_t **out, tf_ctx_t *ctx, const char *const *texts,
                                 const size_t *lengths, uint32_t num_texts,
                                 const tf_vocab_opts_t *opts)
{
    const char *fn = __func__;
    tf_vocab_opts_t o;
    tf__counter_t c;
    tf_status_t st = TF_STATUS_OK;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_CHECK(tf__vocab_read_opts(&o, opts, fn));
    if (num_texts > 0 && texts == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'texts' is NULL", fn);
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.flags = tf__vocab_build_flags(&o);
    for (uint32_t i = 0; i < num_texts && o.kind != TF_VOCAB_KIND_BYTE; i++) {
        if (texts[i] == NULL)
            TF_FAIL_GOTO(st, done, TF_STATUS_EINVAL, "%s: texts[%u] is NULL", fn, i);
        TF_CHECK_GOTO(st, tf__counter_text(&c, texts[i], lengths ? lengths[i] : strlen(texts[i]), NULL, NULL, NULL), done);
    }
    st = tf__counter_finish(&c, &o, out, fn);
done:
    tf__counter_free(&c);
    return st;
}

/* ---- queries --------------------------------------------------------------------------------- */
int32_t tf_vocab_size(const tf_vocab_t *v)
{
    return v ? v->tab.count : 0;
}

int32_t tf_vocab_kind(const tf_vocab_t *v)
{
    return v ? v->kind : 0;
}

uint64_t tf_vocab_invalid_utf8(const tf_vocab_t *v)
{
    return v ? v->invalid_utf8 : 0;
}

const char *tf_vocab_token(const tf_vocab_t *v, int32_t id, size_t *len_out)
{
    if (v == NULL || id < 0 || id >= v->tab.count)
        return NULL;
    if (len_out != NULL)
        *len_out = v->tab.len[id];
    return tf__strtab_str(&v->tab, id);
}

int32_t tf_vocab_lookup(const tf_vocab_t *v, const char *token, size_t len)
{
    if (v == NULL || (token == NULL && len > 0))
        return -1;
    return tf__strtab_find(&v->tab, token ? token : "", len, tf__hash_bytes(token ? token : "", len));
}

tf_status_t tf__vocab_encode_append(tf_vocab_t *v, tf_ctx_t *owner, const char *s, size_t n,
                                    int32_t **ids, size_t *num, size_t *cap, uint64_t *invalid,
                                    uint64_t *unknown)
{
    tf__toks_t *tk = &v->scratch;
    uint64_t bad = 0;
    TF_CHECK(tf__tokenize(tk, v->ctx, s, n, tf__vocab_tok_flags(v), &bad));
    v->invalid_utf8 += bad;
    if (invalid != NULL)
        *invalid += bad;
    if (v->kind == TF_VOCAB_KIND_BYTE) {
        size_t len = tk->len[0];
        if (len == 0)
            return TF_STATUS_OK;
        TF_CHECK(tf__grow_i32(owner, ids, cap, *num + len));
        int32_t *dst = *ids + *num;
        const unsigned char *b = (const unsigned char *)tk->bytes;
        for (size_t i = 0; i < len; i++)
            dst[i] = TF_VOCAB_NUM_SPECIALS + (int32_t)b[i];
        *num += len;
        return TF_STATUS_OK;
    }
    if (v->kind == TF_VOCAB_KIND_BPE) {
        for (size_t i = 0; i < tk->n; i++)
            TF_CHECK(tf__bpe_encode(v, owner, tk->bytes + tk->off[i], tk->len[i], ids, num, cap));
        return TF_STATUS_OK;
    }
    if (tk->n == 0)
        return TF_STATUS_OK;
    TF_CHECK(tf__grow_i32(owner, ids, cap, *num + tk->n));
    int32_t *dst = *ids + *num;
    uint64_t unk = 0;
    for (size_t i = 0; i < tk->n; i++) {
        int32_t id = tf__strtab_find_key(&v->tab, tk->bytes + tk->off[i], tk->len[i],
                                         tk->hash[i], tk->key[i]);
        dst[i] = id < 0 ? TF_VOCAB_UNK : id;
        unk += dst[i] == TF_VOCAB_UNK;
    }
    *num += tk->n;
    if (unknown != NULL)
        *unknown += unk;
    return TF_STATUS_OK;
}

tf_status_t tf_vocab_encode(tf_vocab_t *v, const char *text, size_t len, int32_t *ids,
                            size_t capacity, size_t *num_out)
{
    TF_REQUIRE_ARG(v);
    TF_REQUIRE_ARG(num_out);
    if (text == NULL && len > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'text' is NULL", __func__);
    if (ids == NULL && capacity > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'ids' is NULL", __func__);
    int32_t *tmp = NULL;
    size_t n = 0, cap = 0;
    TF_CHECK(tf__vocab_encode_append(v, v->ctx, text ? text : "", len, &tmp, &n, &cap, NULL, NULL));
    *num_out = n;
    if (ids == NULL || n > capacity) {
        /* NULL ids is a size query. */
        tf__free(v->ctx, tmp);
        if (ids == NULL)
            return TF_STATUS_OK;
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: the text has %zu tokens; ids holds %zu", __func__, n,
                capacity);
    }
    if (n > 0)
        memcpy(ids, tmp, n * sizeof *ids);
    tf__free(v->ctx, tmp);
    return TF_STATUS_OK;
}

tf_status_t tf_vocab_decode(const tf_vocab_t *v, const int32_t *ids, size_t num_ids, char *buf,
                            size_t capacity, size_t *len_out)
{
    TF_REQUIRE_ARG(v);
    TF_REQUIRE_ARG(len_out);
    if (ids == NULL && num_ids > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'ids' is NULL", __func__);
    if (buf == NULL && capacity > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'buf' is NULL", __func__);
    size_t total = 0;
    int first = 1;
    for (int pass = 0; pass < 2; pass++) {
        size_t o = 0;
        first = 1;
        for (size_t i = 0; i < num_ids; i++) {
            int32_t id = ids[i];
            if (id < 0 || id >= v->tab.count)
                TF_FAIL(TF_STATUS_EINVAL, "%s: ids[%zu] = %d is outside [0, %d)", __func__, i, id,
                        v->tab.count);
            if (id == TF_VOCAB_PAD || (v->kind != TF_VOCAB_KIND_WORD && id < TF_VOCAB_NUM_SPECIALS))
                continue;
            size_t l = v->tab.len[id];
            if (v->kind == TF_VOCAB_KIND_WORD && !first) {
                if (pass == 1)
                    buf[o] = ' ';
                o++;
            }
            if (pass == 1)
                memcpy(buf + o, tf__strtab_str(&v->tab, id), l);
            o += l;
            first = 0;
        }
        if (pass == 0) {
            total = o;
            *len_out = total;
            if (buf == NULL)
                return TF_STATUS_OK; /* a size query */
            if (capacity < total + 1)
                TF_FAIL(TF_STATUS_EBUFSIZE,
                        "%s: the text needs %zu bytes; buf has "
                        "%zu",
                        __func__, total + 1, capacity);
        }
    }
    buf[total] = '\0';
    return TF_STATUS_OK;
}
