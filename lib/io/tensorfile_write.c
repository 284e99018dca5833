/* SPDX-License-Identifier: MIT */
/* Building and atomically saving a tensor file (safetensors layout with libtransfer metadata). */
#include "io_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wentry {
    char *name;
    const tf_tensor_t *tensor; /* borrowed; NULL for a blob or a raw entry */
    const void *blob;          /* borrowed */
    size_t blob_len;
    const char *raw_dtype;     /* a raw entry's safetensors dtype (static string), else NULL */
    uint32_t raw_size;         /* its element size in bytes */
    uint32_t ndim;
    int64_t shape[TF_TENSOR_MAX_DIMS];
} wentry_t;

struct tf_tensorfile_writer {
    tf_ctx_t *ctx;
    uint32_t flags;
    wentry_t *entries;
    uint32_t count;
    size_t cap;
    char **meta_keys, **meta_values;
    uint32_t meta_count;
    size_t keys_cap, values_cap;
};

/* Per-entry layout computed at save time. */
typedef struct wlayout {
    const wentry_t *e;
    const char *dtype;
    const void *data;
    size_t nbytes;
    uint64_t begin;
    uint32_t crc;
} wlayout_t;

tf_status_t tf_tensorfile_writer_create(tf_tensorfile_writer_t **out,
                                        tf_ctx_t *ctx,
                                        const tf_tensorfile_opts_t *opts)
{
    tf_tensorfile_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_CHECK(tf__tensorfile_opts_read(&o, opts, __func__));
    tf_tensorfile_writer_t *w = tf__calloc(ctx, 1, sizeof *w);
    if (w == NULL)
        return TF_STATUS_ENOMEM;
    w->ctx = ctx;
    w->flags = o.flags;
    tf__object_created(ctx);
    *out = w;
    return TF_STATUS_OK;
}

void tf_tensorfile_writer_free(tf_tensorfile_writer_t *w)
{
    if (w == NULL)
        return;
    tf_ctx_t *ctx = w->ctx;
    for (uint32_t i = 0; i < w->count; i++)
        tf__free(ctx, w->entries[i].name);
    for (uint32_t i = 0; i < w->meta_count; i++) {
        tf__free(ctx, w->meta_keys[i]);
        tf__free(ctx, w->meta_values[i]);
    }
    tf__free(ctx, w->entries);
    tf__free(ctx, w->meta_keys);
    tf__free(ctx, w->meta_values);
    tf__free(ctx, w);
    tf__object_freed(ctx);
}

static tf_status_t check_name(const tf_tensorfile_writer_t *w, const char *name, const char *fn)
{
    size_t n = strlen(name);
    if (n == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the entry name is empty", fn);
    if (!tf__utf8_valid(name, n))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the entry name is not valid UTF-8", fn);
    if (strcmp(name, "__metadata__") == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the entry name __metadata__ is reserved", fn);
    for (uint32_t i = 0; i < w->count; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: an entry named '%s' was already added", fn, name);
    return TF_STATUS_OK;
}

static tf_status_t add_entry(tf_tensorfile_writer_t *w,
                             const char *name,
                             const tf_tensor_t *t,
                             const void *blob,
                             size_t blob_len,
                             const char *fn)
{
    TF_CHECK(check_name(w, name, fn));
    if (w->count == UINT32_MAX)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: too many entries", fn);
    void *grown = w->entries;
    TF_CHECK(tf__grow_bytes(w->ctx, &grown, &w->cap, (size_t)w->count + 1, sizeof *w->entries));
    w->entries = grown;
    char *copy = tf__strdup(w->ctx, name);
    if (copy == NULL)
        return TF_STATUS_ENOMEM;
    wentry_t *e = &w->entries[w->count++];
    e->name = copy;
    e->tensor = t;
    e->blob = blob;
    e->blob_len = blob_len;
    e->raw_dtype = NULL;
    return TF_STATUS_OK;
}

tf_status_t tf__tensorfile_writer_add_raw(tf_tensorfile_writer_t *w,
                                          const char *name,
                                          const char *dtype,
                                          uint32_t elem_size,
                                          const int64_t *shape,
                                          uint32_t ndim,
                                          const void *data)
{
    size_t n = elem_size;
    for (uint32_t d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    TF_CHECK(add_entry(w, name, NULL, data, n, "tf_tensorfile_writer_add_raw"));
    wentry_t *e = &w->entries[w->count - 1];
    e->raw_dtype = dtype;
    e->raw_size = elem_size;
    e->ndim = ndim;
    memcpy(e->shape, shape, ndim * sizeof *shape);
    return TF_STATUS_OK;
}

tf_status_t
tf_tensorfile_writer_add_tensor(tf_tensorfile_writer_t *w, const char *name, const tf_tensor_t *t)
{
    TF_REQUIRE_ARG(w);
    TF_REQUIRE_ARG(name);
    TF_REQUIRE_ARG(t);
    return add_entry(w, name, t, NULL, 0, __func__);
}

tf_status_t tf_tensorfile_writer_add_blob(tf_tensorfile_writer_t *w,
                                          const char *name,
                                          const void *data,
                                          size_t nbytes)
{
    TF_REQUIRE_ARG(w);
    TF_REQUIRE_ARG(name);
    if (data == NULL && nbytes != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'data' is NULL but nbytes is %zu", __func__,
                nbytes);
    return add_entry(w, name, NULL, data, nbytes, __func__);
}

static int reserved_key(const char *key)
{
    return strcmp(key, TF__META_FORMAT) == 0 || strcmp(key, TF__META_FORMAT_VERSION) == 0 ||
           strcmp(key, TF__META_LIBRARY_VERSION) == 0 || strcmp(key, "__metadata__") == 0 ||
           strncmp(key, TF__META_CRC_PREFIX, strlen(TF__META_CRC_PREFIX)) == 0;
}

tf_status_t
tf_tensorfile_writer_add_meta(tf_tensorfile_writer_t *w, const char *key, const char *value)
{
    TF_REQUIRE_ARG(w);
    TF_REQUIRE_ARG(key);
    TF_REQUIRE_ARG(value);
    if (key[0] == '\0' || !tf__utf8_valid(key, strlen(key)))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the key is empty or not valid UTF-8", __func__);
    if (reserved_key(key))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the key '%s' is reserved by libtransfer", __func__, key);
    if (!tf__utf8_valid(value, strlen(value)))
        TF_FAIL(TF_STATUS_EINVAL, "%s: the value of '%s' is not valid UTF-8", __func__, key);
    for (uint32_t i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta_keys[i], key) == 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: the key '%s' was already added", __func__, key);
    if (w->meta_count == UINT32_MAX)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: too many metadata keys", __func__);
    void *keys = w->meta_keys, *values = w->meta_values;
    const size_t need = (size_t)w->meta_count + 1;
    TF_CHECK(tf__grow_bytes(w->ctx, &keys, &w->keys_cap, need, sizeof(char *)));
    w->meta_keys = keys;
    TF_CHECK(tf__grow_bytes(w->ctx, &values, &w->values_cap, need, sizeof(char *)));
    w->meta_values = values;
    char *k = tf__strdup(w->ctx, key);
    char *v = k ? tf__strdup(w->ctx, value) : NULL;
    if (v == NULL) {
        tf__free(w->ctx, k);
        return TF_STATUS_ENOMEM;
    }
    w->meta_keys[w->meta_count] = k;
    w->meta_values[w->meta_count] = v;
    w->meta_count++;
    return TF_STATUS_OK;
}

/* Element size of an entry: 4 for tensors, a raw entry's own, 1 for blobs. */
static uint32_t elem_size(const wentry_t *e)
{
    return e->tensor != NULL ? 4u : e->raw_dtype != NULL ? e->raw_size : 1u;
}

/* Lay out the entries by decreasing element size (4-byte dtypes first, each starting 4-aligned,
 * then 2-byte, then bytes and blobs), each group in insertion order; data is contiguous as
 * safetensors readers require. Computes the CRCs and rejects non-finite F32 values unless
 * allowed. */
static tf_status_t layout(const tf_tensorfile_writer_t *w, wlayout_t *l, uint64_t *total)
{
    static const uint32_t sizes[3] = {4, 2, 1};
    uint32_t k = 0;
    uint64_t off = 0;
    for (int pass = 0; pass < 3; pass++)
        for (uint32_t i = 0; i < w->count; i++) {
            const wentry_t *e = &w->entries[i];
            uint32_t es = elem_size(e);
            if (es != sizes[pass] && !(pass == 2 && es != 4 && es != 2))
                continue;
            wlayout_t *x = &l[k++];
            x->e = e;
            if (e->tensor != NULL) {
                const tf_tensor_t *t = e->tensor;
                x->dtype = t->dtype == TF_DTYPE_F32 ? "F32" : "I32";
                x->data = t->data;
                x->nbytes = t->nbytes;
                if (t->dtype == TF_DTYPE_F32 && !(w->flags & TF_TENSORFILE_ALLOW_NONFINITE)) {
                    const float *v = t->data;
                    for (int64_t j = 0; j < t->numel; j++)
                        if (!isfinite(v[j]))
                            TF_FAIL(TF_STATUS_EINVAL,
                                    "tf_tensorfile_writer_save: tensor '%s' element %lld is %s "
                                    "(set TF_TENSORFILE_ALLOW_NONFINITE to save it)",
                                    e->name, (long long)j, isnan(v[j]) ? "NaN" : "infinite");
                }
            } else {
                x->dtype = e->raw_dtype != NULL ? e->raw_dtype : "U8";
                x->data = e->blob;
                x->nbytes = e->blob_len;
            }
            x->begin = off;
            off += x->nbytes;
            x->crc = x->nbytes ? tf__crc32(0, x->data, x->nbytes) : 0;
        }
    *total = off;
    return TF_STATUS_OK;
}

/* "crc32.<name>":"xxxxxxxx", with the name escaped as a JSON string. */
static tf_status_t crc_pair(tf__buf_t *b, const char *name, uint32_t crc)
{
    char hex[16];
    TF_CHECK(tf__buf_puts(b, "\"" TF__META_CRC_PREFIX));
    size_t at = b->len;
    TF_CHECK(tf__buf_json_string(b, name));
    memmove(b->data + at, b->data + at + 1, b->len - at - 1); /* drop its opening quote */
    b->len--;
    snprintf(hex, sizeof hex, ":\"%08x\"", (unsigned)crc);
    return tf__buf_puts(b, hex);
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. Metadata comes first, in key
 * order, then the CRC of every entry and of the metadata; then the entries in data order. */
static tf_status_t
build_header(const tf_tensorfile_writer_t *w, const wlayout_t *l, tf__kv_t *kv, tf__buf_t *b)
{
    char ver[16];
    uint32_t nkv = 0;
    snprintf(ver, sizeof ver, "%d", TF__FORMAT_VERSION);
    kv[nkv++] = (tf__kv_t){TF__META_FORMAT, TF__META_FORMAT_VALUE};
    kv[nkv++] = (tf__kv_t){TF__META_FORMAT_VERSION, ver};
    kv[nkv++] = (tf__kv_t){TF__META_LIBRARY_VERSION, tf_version_string()};
    for (uint32_t i = 0; i < w->meta_count; i++)
        kv[nkv++] = (tf__kv_t){w->meta_keys[i], w->meta_values[i]};
    qsort(kv, nkv, sizeof *kv, tf__kv_cmp);
    TF_CHECK(tf__buf_puts(b, "{\"__metadata__\":{"));
    for (uint32_t i = 0; i < nkv; i++) {
        TF_CHECK(tf__buf_json_string(b, kv[i].key));
        TF_CHECK(tf__buf_append(b, ":", 1));
        TF_CHECK(tf__buf_json_string(b, kv[i].value));
        TF_CHECK(tf__buf_append(b, ",", 1));
    }
    for (uint32_t i = 0; i < w->count; i++) {
        TF_CHECK(crc_pair(b, l[i].e->name, l[i].crc));
        TF_CHECK(tf__buf_append(b, ",", 1));
    }
    TF_CHECK(crc_pair(b, "__metadata__", tf__meta_crc(kv, nkv)));
    TF_CHECK(tf__buf_append(b, "}", 1));
    for (uint32_t i = 0; i < w->count; i++) {
        const wlayout_t *x = &l[i];
        TF_CHECK(tf__buf_append(b, ",", 1));
        TF_CHECK(tf__buf_json_string(b, x->e->name));
        TF_CHECK(tf__buf_puts(b, ":{\"dtype\":\""));
        TF_CHECK(tf__buf_puts(b, x->dtype));
        TF_CHECK(tf__buf_puts(b, "\",\"shape\":["));
        if (x->e->tensor != NULL || x->e->raw_dtype != NULL) {
            const int64_t *shape = x->e->tensor ? x->e->tensor->shape : x->e->shape;
            uint32_t nd = x->e->tensor ? x->e->tensor->ndim : x->e->ndim;
            for (uint32_t d = 0; d < nd; d++) {
                if (d > 0)
                    TF_CHECK(tf__buf_append(b, ",", 1));
                TF_CHECK(tf__buf_u64(b, (uint64_t)shape[d]));
            }
        } else {
            TF_CHECK(tf__buf_u64(b, (uint64_t)x->nbytes));
        }
        TF_CHECK(tf__buf_puts(b, "],\"data_offsets\":["));
        TF_CHECK(tf__buf_u64(b, x->begin));
        TF_CHECK(tf__buf_append(b, ",", 1));
        TF_CHECK(tf__buf_u64(b, x->begin + x->nbytes));
        TF_CHECK(tf__buf_puts(b, "]}"));
    }
    TF_CHECK(tf__buf_append(b, "}", 1));
    while (b->len % 8 != 0)
        TF_CHECK(tf__buf_append(b, " ", 1));
    return TF_STATUS_OK;
}

tf_status_t tf_tensorfile_writer_save(tf_tensorfile_writer_t *w, const char *path)
{
    tf_status_t st;
    tf__buf_t hdr;
    tf__atomic_file_t af;
    uint64_t total = 0;
    unsigned char len8[8];
    TF_REQUIRE_ARG(w);
    TF_REQUIRE_ARG(path);
    tf__buf_init(&hdr, w->ctx);
    wlayout_t *l = tf__calloc(w->ctx, w->count ? w->count : 1, sizeof *l);
    tf__kv_t *kv = l ? tf__calloc(w->ctx, (size_t)w->meta_count + 3, sizeof *kv) : NULL;
    if (kv == NULL) {
        tf__free(w->ctx, l);
        return TF_STATUS_ENOMEM;
    }
    TF_CHECK_GOTO(st, layout(w, l, &total), done);
    TF_CHECK_GOTO(st, build_header(w, l, kv, &hdr), done);
    if (hdr.len > TF_TENSORFILE_MAX_HEADER_BYTES)
        TF_FAIL_GOTO(st, done, TF_STATUS_EINVAL,
                     "%s: the header would be %zu bytes, more than the %u a reader accepts",
                     __func__, hdr.len, (unsigned)TF_TENSORFILE_MAX_HEADER_BYTES);
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hdr.len >> (8 * i));
    TF_CHECK_GOTO(st, tf__atomic_open(&af, w->ctx, path, __func__), done);
    TF_CHECK_GOTO(st, tf__atomic_write(&af, len8, 8), abort);
    TF_CHECK_GOTO(st, tf__atomic_write(&af, hdr.data, hdr.len), abort);
    for (uint32_t i = 0; i < w->count; i++)
        if (l[i].nbytes > 0)
            TF_CHECK_GOTO(st, tf__atomic_write(&af, l[i].data, l[i].nbytes), abort);
    st = tf__atomic_commit(&af); /* removes the temporary file itself on failure */
    goto done;
abort:
    tf__atomic_abort(&af);
done:
    (void)total;
    tf__buf_free(&hdr);
    tf__free(w->ctx, kv);
    tf__free(w->ctx, l);
    return st;
}
