/* SPDX-License-Identifier: MIT */
/* The JSON reader (see json.h): recursive descent over a length-bounded buffer into a tree held
 * in an arena of context-allocated blocks. */
#include "json.h"
#include "io_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t used, cap;
    /* data follows, 16-byte aligned */
} block_t;

struct tf__json_doc {
    tf_ctx_t *ctx;
    block_t *blocks;
};

#define BLOCK_HEAD ((sizeof(block_t) + 15) & ~(size_t)15)

static void *arena_alloc(tf__json_doc_t *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    block_t *b = d->blocks;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 8192 ? n : 8192;
        b = tf__alloc(d->ctx, BLOCK_HEAD + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = d->blocks;
        d->blocks = b;
    }
    void *p = (char *)b + BLOCK_HEAD + b->used;
    b->used += n;
    return p;
}

void tf__json_free(tf__json_doc_t *d)
{
    if (d == NULL)
        return;
    for (block_t *b = d->blocks, *next; b != NULL; b = next) {
        next = b->next;
        tf__free(d->ctx, b);
    }
    tf__free(d->ctx, d);
}

typedef struct parser {
    tf__json_doc_t *doc;
    const char *s;
    size_t n, i;
    int oom;
    int err; /* a TF__JSON_ERR_* other than SYNTAX, once seen */
} parser_t;

static void skip_ws(parser_t *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(parser_t *p, uint32_t *out)
{
    if (p->n - p->i < 4 || !tf__hex_digits(p->s + p->i, 4, out))
        return 0;
    p->i += 4;
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at p->i (the opening quote). Decoded text is never longer than the raw text. */
static const char *parse_string(parser_t *p)
{
    size_t start = ++p->i, end = start;
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n)
        return NULL;
    char *out = arena_alloc(p->doc, end - start + 1);
    if (out == NULL) {
        p->oom = 1;
        return NULL;
    }
    size_t o = 0;
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20)
            return NULL; /* raw control characters are not allowed */
        if (c != '\\') {
            out[o++] = (char)c;
            p->i++;
            continue;
        }
        char e = p->s[p->i + 1];
        p->i += 2;
        switch (e) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (!hex4(p, &cp))
                return NULL;
            if (cp == 0) {
                p->err = TF__JSON_ERR_NUL; /* it would cut the string short */
                return NULL;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return NULL; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->i + 2 > end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    return NULL;
                p->i += 2;
                if (!hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return NULL;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            return NULL;
        }
    }
    if (p->i != end)
        return NULL; /* an escape ran into the closing quote */
    p->i = end + 1;
    out[o] = '\0';
    return out;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A number by the JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(parser_t *p, tf__json_t *j)
{
    size_t b = p->i, i = p->i;
    int plain = 1;
    if (i < p->n && p->s[i] == '-') {
        i++;
        plain = 0;
    }
    if (i >= p->n || !is_digit(p->s[i]))
        return 0;
    if (p->s[i] == '0')
        i++;
    else
        while (i < p->n && is_digit(p->s[i]))
            i++;
    if (i < p->n && p->s[i] == '.') {
        plain = 0;
        if (++i >= p->n || !is_digit(p->s[i]))
            return 0;
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        plain = 0;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->n || !is_digit(p->s[i]))
            return 0;
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    char local[64], *copy = local; /* strtod needs a terminated string */
    if (i - b >= sizeof local && (copy = arena_alloc(p->doc, i - b + 1)) == NULL) {
        p->oom = 1;
        return 0;
    }
    memcpy(copy, p->s + b, i - b);
    copy[i - b] = '\0';
    j->type = TF__JSON_NUMBER;
    j->num = strtod(copy, NULL);
    if (plain) {
        uint64_t v = 0;
        int ok = 1;
        for (size_t k = b; k < i && ok; k++) {
            uint64_t d = (uint64_t)(p->s[k] - '0');
            ok = v <= (UINT64_MAX - d) / 10;
            v = v * 10 + d;
        }
        j->is_u64 = ok;
        j->u64 = ok ? v : 0;
    }
    p->i = i;
    return 1;
}

static int literal(parser_t *p, const char *word, int32_t type, tf__json_t *j)
{
    size_t n = strlen(word);
    if (p->n - p->i < n || memcmp(p->s + p->i, word, n) != 0)
        return 0;
    p->i += n;
    j->type = type;
    return 1;
}

static tf__json_t *parse_value(parser_t *p, int depth);

/* The elements of an array or the members of an object, up to `close`. */
static int parse_children(parser_t *p, tf__json_t *j, char close, int depth)
{
    tf__json_t **tail = &j->child;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return 1;
    }
    for (;;) {
        const char *key = NULL;
        skip_ws(p);
        if (close == '}') {
            if (p->i >= p->n || p->s[p->i] != '"' || (key = parse_string(p)) == NULL)
                return 0;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return 0;
            p->i++;
        }
        tf__json_t *c = parse_value(p, depth + 1);
        if (c == NULL)
            return 0;
        c->key = key;
        *tail = c;
        tail = &c->next;
        j->count++;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return 1;
        }
        return 0;
    }
}

static tf__json_t *parse_value(parser_t *p, int depth)
{
    if (depth > TF__JSON_MAX_DEPTH) {
        p->err = TF__JSON_ERR_DEPTH;
        return NULL;
    }
    tf__json_t *j = arena_alloc(p->doc, sizeof *j);
    if (j == NULL) {
        p->oom = 1;
        return NULL;
    }
    memset(j, 0, sizeof *j);
    skip_ws(p);
    if (p->i >= p->n)
        return NULL;
    int ok;
    switch (p->s[p->i]) {
    case '{':
        j->type = TF__JSON_OBJECT;
        ok = parse_children(p, j, '}', depth);
        break;
    case '[':
        j->type = TF__JSON_ARRAY;
        ok = parse_children(p, j, ']', depth);
        break;
    case '"':
        j->type = TF__JSON_STRING;
        ok = (j->str = parse_string(p)) != NULL;
        break;
    case 't': ok = literal(p, "true", TF__JSON_TRUE, j); break;
    case 'f': ok = literal(p, "false", TF__JSON_FALSE, j); break;
    case 'n': ok = literal(p, "null", TF__JSON_NULL, j); break;
    default: ok = parse_number(p, j); break;
    }
    return ok ? j : NULL;
}

tf_status_t tf__json_parse(tf_ctx_t *ctx, const char *text, size_t len, tf__json_doc_t **doc_out,
                           const tf__json_t **root, size_t *err_at, int *err_kind)
{
    parser_t p;
    *doc_out = NULL;
    *root = NULL;
    *err_at = 0;
    *err_kind = 0;
    memset(&p, 0, sizeof p);
    p.doc = tf__calloc(ctx, 1, sizeof *p.doc);
    if (p.doc == NULL)
        return TF_STATUS_ENOMEM;
    p.doc->ctx = ctx;
    p.s = text;
    p.n = len;
    const tf__json_t *j = parse_value(&p, 0);
    if (j != NULL) {
        skip_ws(&p);
        if (p.i != p.n) {
            j = NULL;
            p.err = TF__JSON_ERR_TRAILING;
        }
    }
    if (j == NULL) {
        int oom = p.oom;
        *err_at = p.i;
        *err_kind = p.err ? p.err : TF__JSON_ERR_SYNTAX;
        tf__json_free(p.doc);
        if (oom)
            TF_FAIL(TF_STATUS_ENOMEM, "out of memory while reading JSON");
        return TF_STATUS_EFORMAT;
    }
    *doc_out = p.doc;
    *root = j;
    return TF_STATUS_OK;
}

const tf__json_t *tf__json_get(const tf__json_t *obj, const char *key)
{
    if (!tf__json_is(obj, TF__JSON_OBJECT))
        return NULL;
    for (const tf__json_t *c = obj->child; c != NULL; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}
