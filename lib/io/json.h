/* SPDX-License-Identifier: MIT */
/* A small JSON reader for checkpoint headers and metadata: the whole document as a tree, every
 * byte allocated through the context's allocator, no global state (so two contexts may parse at
 * once), a nesting limit, and strings that keep their length (a \u0000 escape is refused rather
 * than silently cutting a name short). Numbers are doubles; non-negative integers written
 * without a fraction or exponent are also kept exactly (tf__json_t::u64). */
#ifndef TF_JSON_H
#define TF_JSON_H

#include "../core/internal.h"

#include <stddef.h>
#include <stdint.h>

enum { TF__JSON_NULL, TF__JSON_FALSE, TF__JSON_TRUE, TF__JSON_NUMBER, TF__JSON_STRING,
       TF__JSON_ARRAY, TF__JSON_OBJECT };

#define TF__JSON_MAX_DEPTH 64

/* Why a text is not accepted (tf__json_parse's *err_kind). */
enum { TF__JSON_ERR_SYNTAX = 1, TF__JSON_ERR_TRAILING, TF__JSON_ERR_NUL, TF__JSON_ERR_DEPTH };

typedef struct tf__json {
    struct tf__json *next;  /* next element or member of the parent */
    struct tf__json *child; /* first element or member (arrays, objects) */
    int32_t type;           /* TF__JSON_* */
    int32_t is_u64;         /* NUMBER: written as a plain non-negative integer below 2^64 */
    int64_t count;          /* arrays, objects: number of children */
    const char *key;        /* member name in an object (NUL-terminated), else NULL */
    const char *str;        /* STRING: the decoded value (NUL-terminated, no NUL inside) */
    double num;             /* NUMBER */
    uint64_t u64;           /* NUMBER with is_u64 */
} tf__json_t;

typedef struct tf__json_doc tf__json_doc_t;

/* Parse text[0..len). OK: *doc_out owns the tree, *root points into it. EFORMAT: not accepted,
 * with *err_at the byte offset where it went wrong and *err_kind a TF__JSON_ERR_* (no message
 * recorded: the caller names the file). ENOMEM (message recorded). Bytes after the value other
 * than whitespace are an error. */
tf_status_t tf__json_parse(tf_ctx_t *ctx, const char *text, size_t len, tf__json_doc_t **doc_out,
                           const tf__json_t **root, size_t *err_at, int *err_kind);
void tf__json_free(tf__json_doc_t *doc);

/* The first member of `obj` named `key`, or NULL (also when `obj` is not an object). */
const tf__json_t *tf__json_get(const tf__json_t *obj, const char *key);

static inline int tf__json_is(const tf__json_t *j, int32_t type)
{
    return j != NULL && j->type == type;
}

#endif
