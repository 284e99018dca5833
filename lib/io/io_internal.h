/* SPDX-License-Identifier: MIT */
/* Private definitions of the tensor-file layer (lib/io): CRC32, a growable byte buffer with JSON
 * string output, atomic file replacement and the loaded-file structs. */
#ifndef TF_IO_INTERNAL_H
#define TF_IO_INTERNAL_H

#include "transfer/io.h"
#include "../tensor/tensor_internal.h"

#include <stddef.h>
#include <stdint.h>

/* ---- CRC32 (IEEE 802.3, as zlib's crc32): start with crc = 0, feed chunks in order. ---------- */
uint32_t tf__crc32(uint32_t crc, const void *data, size_t n);

/* ---- Growable byte buffer (allocates through the context). ----------------------------------- */
typedef struct tf__buf {
    tf_ctx_t *ctx;
    char *data;
    size_t len;
    size_t cap;
} tf__buf_t;

void tf__buf_init(tf__buf_t *b, tf_ctx_t *ctx);
void tf__buf_free(tf__buf_t *b);
/* Append bytes; ENOMEM (message recorded) leaves the buffer as it was. */
tf_status_t tf__buf_append(tf__buf_t *b, const void *data, size_t n);
tf_status_t tf__buf_puts(tf__buf_t *b, const char *s);
/* Append an unsigned decimal number. */
tf_status_t tf__buf_u64(tf__buf_t *b, uint64_t v);
/* Append `s` as a quoted JSON string (", \ and control characters escaped). */
tf_status_t tf__buf_json_string(tf__buf_t *b, const char *s);

/* Read n hex digits (either case) at s into *out; 0 if one is not a hex digit. */
static inline int tf__hex_digits(const char *s, int n, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* ---- Atomic replacement of a file: write a temporary file next to it, then rename. ------------
 */
typedef struct tf__atomic_file {
    tf_ctx_t *ctx;
    const char *fn;   /* public function named in messages */
    const char *path; /* target (borrowed) */
    char *tmp_path;   /* temporary file, NULL when none exists */
    char *dir_path;   /* directory of the target, fsynced after the rename */
    int fd;           /* open temporary file, -1 when closed */
} tf__atomic_file_t;

/* Create a new, uniquely named temporary file in the directory of `path` (O_EXCL). EIO names the
 * path and the system error; EIO also when `path` exists and is not a regular file. */
tf_status_t tf__atomic_open(tf__atomic_file_t *af, tf_ctx_t *ctx, const char *path, const char *fn);
/* Write all of `data` (retrying short writes and EINTR). On failure the caller calls abort. */
tf_status_t tf__atomic_write(tf__atomic_file_t *af, const void *data, size_t n);
/* fsync and close the temporary file, rename it over the target and fsync the directory. On
 * failure before the rename the temporary file is removed and the target is untouched. */
tf_status_t tf__atomic_commit(tf__atomic_file_t *af);
/* Close and remove the temporary file (if any) and release the struct's memory. */
void tf__atomic_abort(tf__atomic_file_t *af);

/* ---- Loaded files. --------------------------------------------------------------------------- */
typedef struct tf__tf_entry {
    char *name;
    int32_t kind;        /* TF_TENSORFILE_KIND_* */
    tf_tensor_t *tensor; /* KIND_TENSOR: owned */
    unsigned char *blob; /* KIND_BLOB: owned (never NULL, even when blob_len is 0) */
    size_t blob_len;
} tf__tf_entry_t;

struct tf_tensorfile {
    tf_ctx_t *ctx;
    uint32_t count;
    tf__tf_entry_t *entries;
    uint32_t meta_count;
    char **meta_keys; /* sorted by strcmp */
    char **meta_values;
};

/* Metadata keys libtransfer writes and reserves. */
#define TF__META_FORMAT "format"
#define TF__META_FORMAT_VALUE "libtransfer"
#define TF__META_FORMAT_VERSION "format_version"
#define TF__META_LIBRARY_VERSION "library_version"
#define TF__META_CRC_PREFIX "crc32."
/* Key of the CRC32 over the metadata (see tf__meta_crc). */
#define TF__META_CRC_META "crc32.__metadata__"
/* The format version this library writes (and the newest it reads). */
#define TF__FORMAT_VERSION 1

/* Load a tensor file from memory (`label` names it in messages; NULL gives "<memory>"). Same
 * validation and results as tf_tensorfile_load. */
tf_status_t tf__tensorfile_load_mem(tf_tensorfile_t **out,
                                    tf_ctx_t *ctx,
                                    const void *data,
                                    size_t size,
                                    const tf_tensorfile_opts_t *opts,
                                    const char *label);

/* A metadata pair (borrowed strings). */
typedef struct tf__kv {
    const char *key, *value;
} tf__kv_t;

/* qsort comparator: by key, strcmp order. */
int tf__kv_cmp(const void *a, const void *b);

/* CRC32 of the metadata in canonical form: the pairs in key order (strcmp; `kv` must be sorted),
 * keys starting with "crc32." left out, each pair as key NUL value NUL. */
uint32_t tf__meta_crc(const tf__kv_t *kv, uint32_t n);

/* Add an entry of raw little-endian elements of a safetensors dtype the tensor type does not have
 * (`dtype` "F16" or "I8", a static string; `elem_size` its bytes), shape [ndim] (1 to 4 dims, each
 * at least 1). `data` is borrowed until the last save, as for tensors. */
tf_status_t tf__tensorfile_writer_add_raw(tf_tensorfile_writer_t *w,
                                          const char *name,
                                          const char *dtype,
                                          uint32_t elem_size,
                                          const int64_t *shape,
                                          uint32_t ndim,
                                          const void *data);

/* Fill `o` from a caller's options (NULL = defaults), validating flags and limits. */
tf_status_t
tf__tensorfile_opts_read(tf_tensorfile_opts_t *o, const tf_tensorfile_opts_t *opts, const char *fn);

#endif
