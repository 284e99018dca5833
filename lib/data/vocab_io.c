/* SPDX-License-Identifier: MIT */
/* Vocabulary serialisation: a line-based UTF-8 text (format documented in transfer/data.h). */
#include "transfer/data.h"
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Format 1 (no "unicode" line) is still written for vocabularies read from it, so a checkpoint
 * saved again keeps loading in older releases. */
#define MAGIC "libtransfer-vocab "
#define MAX_VOCAB_FILE ((size_t)1 << 30)

static size_t put(char *buf, size_t cap, size_t o, const char *s, size_t n)
{
    if (o + n <= cap)
        memcpy(buf + o, s, n);
    return o + n;
}

tf_status_t tf_vocab_serialize(const tf_vocab_t *v, char *buf, size_t capacity, size_t *len_out)
{
    static const char hex[] = "0123456789abcdef";
    char head[160];
    TF_REQUIRE_ARG(v);
    TF_REQUIRE_ARG(len_out);
    if (buf == NULL && capacity > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'buf' is NULL", __func__);
    const char *kind = v->kind == TF_VOCAB_KIND_BYTE  ? "byte"
                       : v->kind == TF_VOCAB_KIND_BPE ? "bpe"
                                                      : "word";
    int hn = v->unicode ? snprintf(head, sizeof head, MAGIC "2\nkind %s\nlowercase %d\n"
                                   "split_punct %d\nunicode 1\nsize %d\n", kind, v->lowercase,
                                   v->split_punct, v->tab.count)
                        : snprintf(head, sizeof head, MAGIC "1\nkind %s\nlowercase %d\n"
                                   "split_punct %d\nsize %d\n", kind, v->lowercase,
                                   v->split_punct, v->tab.count);
    size_t o = put(buf, capacity, 0, head, (size_t)hn);
    if (v->kind == TF_VOCAB_KIND_WORD)
        for (int32_t id = 0; id < v->tab.count; id++) {
            const unsigned char *s = (const unsigned char *)tf__strtab_str(&v->tab, id);
            size_t l = v->tab.len[id], run = 0;
            for (size_t i = 0; i < l; i++) {
                unsigned c = s[i];
                if (c == '\\' || c < 0x20 || c == 0x7f) {
                    o = put(buf, capacity, o, (const char *)s + run, i - run);
                    char e[4] = {'\\', '\\', 0, 0};
                    if (c == '\\') {
                        o = put(buf, capacity, o, e, 2);
                    } else {
                        e[1] = 'x';
                        e[2] = hex[c >> 4];
                        e[3] = hex[c & 15];
                        o = put(buf, capacity, o, e, 4);
                    }
                    run = i + 1;
                }
            }
            o = put(buf, capacity, o, (const char *)s + run, l - run);
            o = put(buf, capacity, o, "\n", 1);
        }
    if (v->kind == TF_VOCAB_KIND_BPE) {
        int32_t m = tf__bpe_num_merges(v), l, r;
        hn = snprintf(head, sizeof head, "merges %d\n", m);
        o = put(buf, capacity, o, head, (size_t)hn);
        for (int32_t k = 0; k < m; k++) {
            tf__bpe_merge(v, k, &l, &r);
            hn = snprintf(head, sizeof head, "%d %d\n", l, r);
            o = put(buf, capacity, o, head, (size_t)hn);
        }
    }
    *len_out = o;
    if (buf == NULL)
        return TF_STATUS_OK; /* a size query */
    if (capacity < o + 1)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: needs %zu bytes; buf has %zu", __func__, o + 1, capacity);
    buf[o] = '\0';
    return TF_STATUS_OK;
}

/* A decimal number of at most 10 digits ending in `end`, in canonical form (no leading zeros,
 * so a vocabulary has one serialised form); advances *pos past `end`. 0 if there is none. */
static int read_number(const char *s, size_t n, size_t *pos, char end, long *val)
{
    size_t p = *pos, digits = 0;
    long x = 0;
    while (p < n && s[p] >= '0' && s[p] <= '9' && digits < 10) {
        x = x * 10 + (s[p] - '0');
        p++;
        digits++;
    }
    if (digits == 0 || p >= n || s[p] != end || (digits > 1 && s[p - digits] == '0'))
        return 0;
    *pos = p + 1;
    *val = x;
    return 1;
}

/* Parse "key value\n" with an integer value; advances *pos. */
static tf_status_t header_int(const char *s, size_t n, size_t *pos, const char *key, long lo,
                              long hi, int line, long *val)
{
    size_t kl = strlen(key), p = *pos;
    if (n - p < kl + 2 || memcmp(s + p, key, kl) != 0 || s[p + kl] != ' ')
        TF_FAIL(TF_STATUS_EFORMAT, "tf_vocab_deserialize: line %d: expected '%s <number>'", line,
                key);
    p += kl + 1;
    if (!read_number(s, n, &p, '\n', val) || *val < lo || *val > hi)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_vocab_deserialize: line %d: '%s' needs a number from %ld "
                "to %ld", line, key, lo, hi);
    *pos = p;
    return TF_STATUS_OK;
}

/* The merges of a BPE vocabulary (after its header), which must make `size` tokens. */
static tf_status_t read_merges(tf_vocab_t *v, const char *s, size_t n, size_t p, int line0,
                               long size)
{
    static const char fn[] = "tf_vocab_deserialize";
    long m;
    TF_CHECK(header_int(s, n, &p, "merges", 0, INT32_MAX / 2, line0, &m));
    /* Each merge line has at least four bytes: refuse a count the text cannot hold. */
    if (m > (long)((n - p) / 4))
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %d: %ld merges do not fit in the %zu bytes that "
                "follow", fn, line0, m, n - p);
    for (long k = 0; k < m; k++) {
        long line = line0 + 1 + k, a, b;
        if (!read_number(s, n, &p, ' ', &a) || !read_number(s, n, &p, '\n', &b) ||
            a > INT32_MAX || b > INT32_MAX)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: expected a merge 'left right' (two ids)",
                    fn, line);
        TF_CHECK(tf__bpe_add_merge(v, (int32_t)a, (int32_t)b, fn, line));
    }
    if (v->tab.count != size)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %d: size is %ld, but the merges make %d tokens", fn,
                line0 - 1, size, v->tab.count);
    if (p != n)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: unexpected text after the last merge", fn,
                line0 + 1 + m);
    return TF_STATUS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

tf_status_t tf_vocab_deserialize(tf_vocab_t **out, tf_ctx_t *ctx, const char *s, size_t n)
{
    const char *fn = __func__;
    tf_vocab_t *v = NULL;
    char *tok = NULL;
    tf_status_t st = TF_STATUS_OK;
    long kind, lower, punct, size, unicode = 0;
    int version, line0; /* line0: the line of the first token, minus its id */
    size_t p = 0;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    if (s == NULL && n > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'text' is NULL", fn);
    if (s == NULL)
        s = "";
    const size_t ml = sizeof MAGIC - 1;
    if (n < ml + 2 || memcmp(s, MAGIC, ml) != 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line 1: not a libtransfer vocabulary", fn);
    if ((s[ml] != '1' && s[ml] != '2') || s[ml + 1] != '\n')
        TF_FAIL(s[ml] > '2' && s[ml] <= '9' ? TF_STATUS_EVERSION : TF_STATUS_EFORMAT,
                "%s: line 1: unsupported vocabulary format version", fn);
    version = s[ml] - '0';
    p = ml + 2;
    if (n - p >= 10 && memcmp(s + p, "kind word\n", 10) == 0)
        kind = TF_VOCAB_KIND_WORD;
    else if (n - p >= 10 && memcmp(s + p, "kind byte\n", 10) == 0)
        kind = TF_VOCAB_KIND_BYTE;
    else if (version >= 2 && n - p >= 9 && memcmp(s + p, "kind bpe\n", 9) == 0)
        kind = TF_VOCAB_KIND_BPE;
    else
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line 2: expected 'kind word', 'kind byte' or 'kind bpe'",
                fn);
    p += kind == TF_VOCAB_KIND_BPE ? 9 : 10;
    TF_CHECK(header_int(s, n, &p, "lowercase", 0, 1, 3, &lower));
    TF_CHECK(header_int(s, n, &p, "split_punct", 0, 1, 4, &punct));
    if (version >= 2)
        TF_CHECK(header_int(s, n, &p, "unicode", 1, 1, 5, &unicode));
    line0 = version >= 2 ? 7 : 6;
    TF_CHECK(header_int(s, n, &p, "size", TF_VOCAB_NUM_SPECIALS, INT32_MAX / 2, line0 - 1, &size));
    if (kind == TF_VOCAB_KIND_BYTE && size != TF_VOCAB_NUM_SPECIALS + 256)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %d: a byte vocabulary has %d tokens, not %ld", fn,
                line0 - 1, TF_VOCAB_NUM_SPECIALS + 256, size);
    if (kind == TF_VOCAB_KIND_BPE && size < TF_VOCAB_NUM_SPECIALS + 256)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %d: a BPE vocabulary has at least %d tokens, not %ld",
                fn, line0 - 1, TF_VOCAB_NUM_SPECIALS + 256, size);
    TF_CHECK(tf__vocab_new(&v, ctx, (int32_t)kind, (int32_t)lower, (int32_t)punct,
                           (int32_t)unicode));
    if (kind == TF_VOCAB_KIND_BPE) {
        TF_CHECK_GOTO(st, read_merges(v, s, n, p, line0, size), fail);
        *out = v;
        return TF_STATUS_OK;
    }
    if (kind == TF_VOCAB_KIND_BYTE) {
        if (p != n)
            TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                         "%s: line %d: unexpected text after the header", fn, line0);
        *out = v;
        return TF_STATUS_OK;
    }
    tok = tf__alloc(ctx, n - p + 1);
    if (tok == NULL) {
        st = TF_STATUS_ENOMEM;
        goto fail;
    }
    for (long id = 0; id < size; id++) {
        long line = line0 + id;
        const char *nl = p < n ? memchr(s + p, '\n', n - p) : NULL;
        if (nl == NULL)
            TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                         "%s: line %ld: expected %ld tokens, the text ends after %ld", fn, line,
                         size, id);
        size_t e = (size_t)(nl - s), l = 0;
        for (size_t i = p; i < e; i++) {
            if (s[i] != '\\') {
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                    TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                                 "%s: line %ld: unescaped control byte", fn, line);
                tok[l++] = s[i];
            } else if (i + 1 < e && s[i + 1] == '\\') {
                tok[l++] = '\\';
                i++;
            } else if (i + 3 < e && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
                       hexval(s[i + 3]) >= 0) {
                int c = hexval(s[i + 2]) * 16 + hexval(s[i + 3]);
                if (c >= 0x20 && c != 0x7f)
                    TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                                 "%s: line %ld: needless escape \\x%02x", fn, line, c);
                tok[l++] = (char)c;
                i += 3;
            } else {
                TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: line %ld: bad escape", fn, line);
            }
        }
        if (l == 0 || !tf__utf8_valid(tok, l))
            TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: line %ld: empty token or invalid UTF-8",
                         fn, line);
        int32_t got;
        int added;
        if (id < TF_VOCAB_NUM_SPECIALS) {
            got = tf__strtab_find(&v->tab, tok, l, tf__hash_bytes(tok, l));
            if (got != id)
                TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                             "%s: line %ld: token %ld must be the special '%s'", fn, line, id,
                             tf__strtab_str(&v->tab, (int32_t)id));
        } else {
            TF_CHECK_GOTO(st, tf__strtab_add(&v->tab, ctx, tok, l, tf__hash_bytes(tok, l), &got,
                                             &added), fail);
            if (!added)
                TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: line %ld: duplicate token", fn,
                             line);
        }
        p = e + 1;
    }
    if (p != n)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT,
                     "%s: line %ld: unexpected text after the last token", fn, line0 + size);
    tf__free(ctx, tok);
    *out = v;
    return TF_STATUS_OK;
fail:
    tf__free(ctx, tok);
    tf_vocab_free(v);
    return st;
}

tf_status_t tf_vocab_save(const tf_vocab_t *v, const char *path)
{
    size_t len = 0;
    tf_status_t st;
    TF_REQUIRE_ARG(v);
    TF_REQUIRE_ARG(path);
    tf_vocab_serialize(v, NULL, 0, &len);
    char *buf = tf__alloc(v->ctx, len + 1);
    if (buf == NULL)
        return TF_STATUS_ENOMEM;
    TF_CHECK_GOTO(st, tf_vocab_serialize(v, buf, len + 1, &len), done);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        TF_FAIL_GOTO(st, done, TF_STATUS_EIO, "%s: cannot open '%s': %s", __func__, path,
                     strerror(errno));
    size_t w = fwrite(buf, 1, len, f);
    if (fclose(f) != 0 || w != len)
        st = tf__error(TF_STATUS_EIO, "%s: cannot write '%s'", __func__, path);
done:
    tf__free(v->ctx, buf);
    return st;
}

tf_status_t tf_vocab_load(tf_vocab_t **out, tf_ctx_t *ctx, const char *path)
{
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(path);
    char *buf;
    size_t len;
    TF_CHECK(tf__read_file(ctx, path, MAX_VOCAB_FILE, &buf, &len, __func__));
    tf_status_t st = tf_vocab_deserialize(out, ctx, buf, len);
    tf__free(ctx, buf);
    return st;
}
