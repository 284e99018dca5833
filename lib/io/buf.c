/* SPDX-License-Identifier: MIT */
/* A growable byte buffer for building file headers, with JSON string output. */
#include "io_internal.h"

#include <string.h>

void tf__buf_init(tf__buf_t *b, tf_ctx_t *ctx)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
}

void tf__buf_free(tf__buf_t *b)
{
    tf__free(b->ctx, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

tf_status_t tf__buf_append(tf__buf_t *b, const void *data, size_t n)
{
    size_t need;
    if (!tf__add_size(b->len, n, &need))
        TF_FAIL(TF_STATUS_ENOMEM, "buffer of %zu + %zu bytes is too large", b->len, n);
    void *grown = b->data;
    TF_CHECK(tf__grow_bytes(b->ctx, &grown, &b->cap, need, 1));
    b->data = grown;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len = need;
    return TF_STATUS_OK;
}

tf_status_t tf__buf_puts(tf__buf_t *b, const char *s)
{
    return tf__buf_append(b, s, strlen(s));
}

tf_status_t tf__buf_u64(tf__buf_t *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return tf__buf_append(b, tmp + i, sizeof tmp - i);
}

tf_status_t tf__buf_json_string(tf__buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    TF_CHECK(tf__buf_append(b, "\"", 1));
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c != 0 && c != '"' && c != '\\' && c >= 0x20)
            continue;
        TF_CHECK(tf__buf_append(b, run, (size_t)(p - run)));
        if (c == 0)
            break;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            TF_CHECK(tf__buf_append(b, esc, 2));
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            TF_CHECK(tf__buf_append(b, esc, 6));
        }
        run = p + 1;
    }
    return tf__buf_append(b, "\"", 1);
}
