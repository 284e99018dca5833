/* SPDX-License-Identifier: MIT */
/* Helpers for the data tests: a temporary directory with small files written by the test. */
#ifndef TF_DATA_TEST_UTIL_H
#define TF_DATA_TEST_UTIL_H

#include "tf_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tmpdir {
    char path[256];
    char file[512]; /* last path made by tmp_write / tmp_path */
} tmpdir_t;

static inline void tmp_open(tmpdir_t *d)
{
    const char *base = getenv("TMPDIR");
    snprintf(d->path, sizeof d->path, "%s/tf_data_XXXXXX", base && base[0] ? base : "/tmp");
    assert_non_null(mkdtemp(d->path));
}

static inline const char *tmp_path(tmpdir_t *d, const char *name)
{
    snprintf(d->file, sizeof d->file, "%s/%s", d->path, name);
    return d->file;
}

/* Write `len` bytes (or strlen when len is (size_t)-1) to a new file; returns its path (valid
 * until the next tmp_* call). */
static inline const char *tmp_write(tmpdir_t *d, const char *name, const char *data, size_t len)
{
    const char *p = tmp_path(d, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (len == (size_t)-1)
        len = strlen(data);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

static inline void tmp_close(tmpdir_t *d)
{
    DIR *dir = opendir(d->path);
    struct dirent *e;
    char p[600];
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
        remove(p);
    }
    if (dir != NULL)
        closedir(dir);
    rmdir(d->path);
}

/* Collects log messages of a context made with log_ctx_new. */
typedef struct log_sink {
    int count;
    char last[1024];
} log_sink_t;

static inline void log_collect(int32_t level, const char *message, void *payload)
{
    log_sink_t *s = payload;
    (void)level;
    s->count++;
    snprintf(s->last, sizeof s->last, "%s", message);
}

static inline tf_ctx_t *log_ctx_new(log_sink_t *sink)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx = NULL;
    memset(sink, 0, sizeof *sink);
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.num_threads = 1;
    o.log_cb = log_collect;
    o.log_payload = sink;
    o.log_level = TF_LOG_WARN;
    assert_int_equal(tf_ctx_create(&ctx, &o), TF_STATUS_OK);
    return ctx;
}

/* Message of the last failure contains `needle`. */
#define assert_msg_has(needle)                                                                     \
    do {                                                                                           \
        if (strstr(tf_last_error_message(), (needle)) == NULL)                                     \
            print_error("message '%s' lacks '%s'\n", tf_last_error_message(), (needle));          \
        assert_non_null(strstr(tf_last_error_message(), (needle)));                                \
    } while (0)

static inline const int32_t *i32_of(tf_tensor_t *t)
{
    return (const int32_t *)tf_tensor_data(t);
}

/* The serialised vocabulary in a malloc'ed string (free it); its length in *len. */
static inline char *serialized(const tf_vocab_t *v, size_t *len)
{
    tf_vocab_serialize(v, NULL, 0, len);
    char *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_ok(tf_vocab_serialize(v, buf, *len + 1, len));
    return buf;
}

/* Two loaders give the same token batches (and targets) to the end of their epoch. */
static inline void assert_same_token_batches(tf_loader_t *a, tf_loader_t *b)
{
    for (;;) {
        tf_batch_t *ba, *bb;
        assert_ok(tf_loader_next(&ba, a));
        assert_ok(tf_loader_next(&bb, b));
        assert_true((ba == NULL) == (bb == NULL));
        if (ba == NULL)
            break;
        assert_int_equal(tf_batch_steps(ba), tf_batch_steps(bb));
        assert_memory_equal(tf_tensor_data(tf_batch_tokens(ba)),
                            tf_tensor_data(tf_batch_tokens(bb)),
                            tf_tensor_nbytes(tf_batch_tokens(ba)));
        assert_memory_equal(tf_tensor_data(tf_batch_targets(ba)),
                            tf_tensor_data(tf_batch_targets(bb)),
                            tf_tensor_nbytes(tf_batch_targets(ba)));
    }
}

#endif
