/* SPDX-License-Identifier: MIT */
/* Line reader over a file (streamed in chunks through one buffer) or caller memory. Lines end
 * with LF; a CR before it is dropped. A line longer than TF_DATA_MAX_LINE or holding a NUL byte
 * is consumed and reported as EFORMAT so the caller can fail or skip it. Also the reader of a
 * whole file, for the formats read at once (vocabularies, IDX). */
#include "transfer/data.h"
#include "data_internal.h"

#include <errno.h>
#include <string.h>

#define CHUNK ((size_t)1 << 18)

tf_status_t tf__lines_open_file(tf__lines_t *lr, tf_ctx_t *ctx, const char *path, const char *fn)
{
    memset(lr, 0, sizeof *lr);
    lr->ctx = ctx;
    lr->name = path;
    lr->fn = fn;
    lr->f = fopen(path, "rb");
    if (lr->f == NULL)
        TF_FAIL(TF_STATUS_EIO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    lr->cap = (size_t)TF_DATA_MAX_LINE + CHUNK + 2;
    lr->buf = tf__alloc(ctx, lr->cap);
    if (lr->buf == NULL) {
        fclose(lr->f);
        lr->f = NULL;
        return TF_STATUS_ENOMEM;
    }
    return TF_STATUS_OK;
}

void tf__lines_open_mem(tf__lines_t *lr, tf_ctx_t *ctx, const char *name, const char *data,
                        size_t len, const char *fn)
{
    memset(lr, 0, sizeof *lr);
    lr->ctx = ctx;
    lr->name = name;
    lr->fn = fn;
    lr->mem = data ? data : "";
    lr->mem_len = data ? len : 0;
}

void tf__lines_close(tf__lines_t *lr)
{
    if (lr->f != NULL)
        fclose(lr->f);
    tf__free(lr->ctx, lr->buf);
    lr->f = NULL;
    lr->buf = NULL;
}

static tf_status_t check_line(tf__lines_t *lr, const char *line, size_t *len)
{
    if (*len > 0 && line[*len - 1] == '\r')
        (*len)--;
    if (*len > TF_DATA_MAX_LINE)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: line is longer than %d bytes", lr->fn, lr->name,
                (long long)lr->lineno, TF_DATA_MAX_LINE);
    if (memchr(line, '\0', *len) != NULL)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: line contains a NUL byte", lr->fn, lr->name,
                (long long)lr->lineno);
    return TF_STATUS_OK;
}

static tf_status_t next_mem(tf__lines_t *lr, const char **line, size_t *len)
{
    if (lr->mem_pos >= lr->mem_len) {
        *line = NULL;
        *len = 0;
        return TF_STATUS_OK;
    }
    const char *s = lr->mem + lr->mem_pos;
    size_t rest = lr->mem_len - lr->mem_pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) : rest;
    lr->mem_pos += nl ? n + 1 : n;
    lr->lineno++;
    *line = s;
    *len = n;
    return check_line(lr, s, len);
}

/* Read more bytes after lr->end; compacts the buffer first. */
static tf_status_t refill(tf__lines_t *lr)
{
    if (lr->beg > 0) {
        memmove(lr->buf, lr->buf + lr->beg, lr->end - lr->beg);
        lr->end -= lr->beg;
        lr->scan -= lr->beg;
        lr->beg = 0;
    }
    size_t room = lr->cap - lr->end - 1;
    size_t got = fread(lr->buf + lr->end, 1, room < CHUNK ? room : CHUNK, lr->f);
    if (got == 0) {
        if (ferror(lr->f))
            TF_FAIL(TF_STATUS_EIO, "%s: error reading '%s'", lr->fn, lr->name);
        lr->eof = 1;
    }
    lr->end += got;
    return TF_STATUS_OK;
}

tf_status_t tf__lines_next(tf__lines_t *lr, const char **line, size_t *len)
{
    if (lr->f == NULL)
        return next_mem(lr, line, len);
    for (;;) {
        char *nl = lr->scan < lr->end ? memchr(lr->buf + lr->scan, '\n', lr->end - lr->scan) : NULL;
        if (nl != NULL) {
            *line = lr->buf + lr->beg;
            *len = (size_t)(nl - *line);
            lr->beg = lr->scan = (size_t)(nl - lr->buf) + 1;
            lr->lineno++;
            return check_line(lr, *line, len);
        }
        lr->scan = lr->end;
        if (lr->eof) {
            if (lr->beg == lr->end) {
                *line = NULL;
                *len = 0;
                return TF_STATUS_OK;
            }
            *line = lr->buf + lr->beg;
            *len = lr->end - lr->beg;
            lr->beg = lr->scan = lr->end;
            lr->lineno++;
            return check_line(lr, *line, len);
        }
        if (lr->end - lr->beg > (size_t)TF_DATA_MAX_LINE + 1) {
            /* Too long: discard up to the next LF, then report. */
            lr->lineno++;
            for (;;) {
                lr->beg = lr->scan = lr->end;
                TF_CHECK(refill(lr));
                nl = memchr(lr->buf + lr->beg, '\n', lr->end - lr->beg);
                if (nl != NULL) {
                    lr->beg = lr->scan = (size_t)(nl - lr->buf) + 1;
                    break;
                }
                if (lr->eof) {
                    lr->beg = lr->scan = lr->end;
                    break;
                }
            }
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: line is longer than %d bytes", lr->fn,
                    lr->name, (long long)lr->lineno, TF_DATA_MAX_LINE);
        }
        TF_CHECK(refill(lr));
    }
}

int tf__line_in_split(const char *line, size_t len, double valid_fraction, int32_t split)
{
    if (split == TF_LOADER_SPLIT_ALL)
        return 1;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)line[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    int valid = u < valid_fraction;
    return split == TF_LOADER_SPLIT_VALID ? valid : !valid;
}

tf_status_t tf__read_file(tf_ctx_t *ctx, const char *path, size_t max, char **buf, size_t *len,
                          const char *fn)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        TF_FAIL(TF_STATUS_EIO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || (unsigned long)size > max || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        TF_FAIL(TF_STATUS_EIO, "%s: cannot read '%s' (or larger than %zu bytes)", fn, path, max);
    }
    char *b = tf__alloc(ctx, (size_t)size + 1);
    if (b == NULL) {
        fclose(f);
        return TF_STATUS_ENOMEM;
    }
    size_t got = fread(b, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        tf__free(ctx, b);
        TF_FAIL(TF_STATUS_EIO, "%s: error reading '%s'", fn, path);
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return TF_STATUS_OK;
}
