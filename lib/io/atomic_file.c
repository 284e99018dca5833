/* SPDX-License-Identifier: MIT */
/* Atomic replacement of a file: write a new temporary file in the target's directory (created
 * with O_EXCL under a unique name), fsync it, rename it over the target, fsync the directory.
 * A reader (or a crash at any point) sees either the old file or the complete new one. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Largest single write(); Linux transfers at most about 2 GiB per call anyway. */
#define TF__WRITE_CHUNK ((size_t)1 << 30)

static char *dir_of(tf_ctx_t *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return tf__strdup(ctx, ".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = tf__alloc(ctx, n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static uint64_t nonce(uint32_t attempt)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    x += (uint64_t)attempt * 0x9e3779b97f4a7c15u;
    /* splitmix64 finaliser: spread the bits so names differ in their first digits */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

tf_status_t tf__atomic_open(tf__atomic_file_t *af, tf_ctx_t *ctx, const char *path, const char *fn)
{
    struct stat st;
    memset(af, 0, sizeof *af);
    af->ctx = ctx;
    af->fn = fn;
    af->path = path;
    af->fd = -1;
    size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/')
        TF_FAIL(TF_STATUS_EIO, "%s: cannot save to '%s': not a file name", fn, path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        TF_FAIL(TF_STATUS_EIO, "%s: cannot save to %s: it exists and is not a regular file", fn,
                path);
    af->dir_path = dir_of(ctx, path);
    if (af->dir_path == NULL)
        return TF_STATUS_ENOMEM;
    if (stat(af->dir_path, &st) != 0) {
        tf_status_t st_ = tf__error(TF_STATUS_EIO, "%s: cannot save to %s: directory %s: %s", fn,
                                    path, af->dir_path, strerror(errno));
        tf__atomic_abort(af);
        return st_;
    }
    if (!S_ISDIR(st.st_mode)) {
        tf__atomic_abort(af);
        TF_FAIL(TF_STATUS_EIO, "%s: cannot save to %s: its parent is not a directory", fn, path);
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    /* <dir>/.<base>.tmp.<16 hex digits> */
    size_t cap = strlen(af->dir_path) + strlen(base) + 32;
    af->tmp_path = tf__alloc(ctx, cap);
    if (af->tmp_path == NULL) {
        tf__atomic_abort(af);
        return TF_STATUS_ENOMEM;
    }
    for (uint32_t attempt = 0;; attempt++) {
        snprintf(af->tmp_path, cap, "%s/.%s.tmp.%016llx", af->dir_path, base,
                 (unsigned long long)nonce(attempt));
        af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (af->fd >= 0)
            return TF_STATUS_OK;
        int e = errno;
        if (e != EEXIST || attempt >= 100) {
            tf__free(ctx, af->tmp_path); /* not created: nothing to remove */
            af->tmp_path = NULL;
            tf__atomic_abort(af);
            TF_FAIL(TF_STATUS_EIO, "%s: cannot save to %s: creating a temporary file: %s", fn, path,
                    strerror(e));
        }
    }
}

tf_status_t tf__atomic_write(tf__atomic_file_t *af, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        size_t chunk = n < TF__WRITE_CHUNK ? n : TF__WRITE_CHUNK;
        ssize_t w = write(af->fd, p, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            TF_FAIL(TF_STATUS_EIO, "%s: cannot save to %s: writing: %s", af->fn, af->path,
                    w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return TF_STATUS_OK;
}

tf_status_t tf__atomic_commit(tf__atomic_file_t *af)
{
    const char *step;
    int e;
    if (fsync(af->fd) != 0) {
        step = "syncing";
        goto fail;
    }
    int fd = af->fd;
    af->fd = -1;
    if (close(fd) != 0) {
        step = "closing";
        goto fail;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        step = "renaming the temporary file";
        goto fail;
    }
    tf__free(af->ctx, af->tmp_path); /* renamed: nothing left to remove */
    af->tmp_path = NULL;
    /* Make the rename durable. The new file is in place whatever happens here, so a failure is
     * only logged (some file systems cannot sync a directory). */
    int dfd = open(af->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        tf__log(af->ctx, TF_LOG_WARN, "%s: saved %s, but syncing directory %s failed: %s", af->fn,
                af->path, af->dir_path, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    tf__atomic_abort(af);
    return TF_STATUS_OK;
fail:
    e = errno;
    tf__atomic_abort(af);
    TF_FAIL(TF_STATUS_EIO, "%s: cannot save to %s: %s: %s", af->fn, af->path, step, strerror(e));
}

void tf__atomic_abort(tf__atomic_file_t *af)
{
    if (af->fd >= 0) {
        close(af->fd);
        af->fd = -1;
    }
    if (af->tmp_path != NULL) {
        unlink(af->tmp_path);
        tf__free(af->ctx, af->tmp_path);
        af->tmp_path = NULL;
    }
    tf__free(af->ctx, af->dir_path);
    af->dir_path = NULL;
}
