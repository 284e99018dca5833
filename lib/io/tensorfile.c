/* SPDX-License-Identifier: MIT */
/* The loaded tensor file handle: options, accessors and free. */
#include "io_internal.h"

#include <string.h>

TF__OPTS_LAYOUT(tf__tensorfile_opts_layout,
                tf_tensorfile_opts_t,
                TF_TENSORFILE_OPTS_VERSION,
                TF__OPTS_END(tf_tensorfile_opts_t, max_header_bytes));

static void opts_defaults(tf_tensorfile_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_TENSORFILE_OPTS_VERSION;
}

tf_status_t tf_tensorfile_opts_init(tf_tensorfile_opts_t *opts, uint32_t version)
{
    tf_tensorfile_opts_t d;
    opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__tensorfile_opts_layout, __func__);
}

tf_status_t
tf__tensorfile_opts_read(tf_tensorfile_opts_t *o, const tf_tensorfile_opts_t *opts, const char *fn)
{
    const uint32_t known = TF_TENSORFILE_ALLOW_NONFINITE | TF_TENSORFILE_ALLOW_FOREIGN;
    opts_defaults(o);
    TF_CHECK(tf__opts_read(o, opts, &tf__tensorfile_opts_layout, fn));
    if (o->flags & ~known)
        TF_FAIL(TF_STATUS_EINVAL, "%s: unknown flags 0x%x", fn, (unsigned)(o->flags & ~known));
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: opts.reserved must be 0", fn);
    if (o->max_header_bytes == 0)
        o->max_header_bytes = TF_TENSORFILE_MAX_HEADER_BYTES;
    if (o->max_header_bytes > TF_TENSORFILE_MAX_HEADER_BYTES)
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_header_bytes %llu is above the limit %u", fn,
                (unsigned long long)o->max_header_bytes, (unsigned)TF_TENSORFILE_MAX_HEADER_BYTES);
    return TF_STATUS_OK;
}

void tf_tensorfile_free(tf_tensorfile_t *f)
{
    if (f == NULL)
        return;
    tf_ctx_t *ctx = f->ctx;
    if (f->entries != NULL)
        for (uint32_t i = 0; i < f->count; i++) {
            tf__free(ctx, f->entries[i].name);
            tf_tensor_free(f->entries[i].tensor);
            tf__free(ctx, f->entries[i].blob);
        }
    for (uint32_t i = 0; i < f->meta_count; i++) {
        if (f->meta_keys != NULL)
            tf__free(ctx, f->meta_keys[i]);
        if (f->meta_values != NULL)
            tf__free(ctx, f->meta_values[i]);
    }
    tf__free(ctx, f->entries);
    tf__free(ctx, f->meta_keys);
    tf__free(ctx, f->meta_values);
    tf__free(ctx, f);
    tf__object_freed(ctx);
}

uint32_t tf_tensorfile_num_entries(const tf_tensorfile_t *f)
{
    return f ? f->count : 0;
}

const char *tf_tensorfile_name(const tf_tensorfile_t *f, uint32_t i)
{
    return (f && i < f->count) ? f->entries[i].name : NULL;
}

int32_t tf_tensorfile_kind(const tf_tensorfile_t *f, uint32_t i)
{
    return (f && i < f->count) ? f->entries[i].kind : 0;
}

static const tf__tf_entry_t *find(const tf_tensorfile_t *f, const char *name)
{
    for (uint32_t i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    return NULL;
}

tf_status_t tf_tensorfile_get(tf_tensor_t **out, tf_tensorfile_t *f, const char *name)
{
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(f);
    TF_REQUIRE_ARG(name);
    const tf__tf_entry_t *e = find(f, name);
    if (e == NULL)
        TF_FAIL(TF_STATUS_ENOTFOUND, "%s: no entry named '%s'", __func__, name);
    if (e->kind != TF_TENSORFILE_KIND_TENSOR)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: entry '%s' is a blob; use tf_tensorfile_blob", __func__,
                name);
    *out = e->tensor;
    return TF_STATUS_OK;
}

tf_status_t
tf_tensorfile_blob(const void **data, size_t *nbytes, const tf_tensorfile_t *f, const char *name)
{
    TF_REQUIRE_ARG(data);
    *data = NULL;
    TF_REQUIRE_ARG(nbytes);
    *nbytes = 0;
    TF_REQUIRE_ARG(f);
    TF_REQUIRE_ARG(name);
    const tf__tf_entry_t *e = find(f, name);
    if (e == NULL)
        TF_FAIL(TF_STATUS_ENOTFOUND, "%s: no entry named '%s'", __func__, name);
    if (e->kind != TF_TENSORFILE_KIND_BLOB)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: entry '%s' is a tensor; use tf_tensorfile_get", __func__,
                name);
    *data = e->blob;
    *nbytes = e->blob_len;
    return TF_STATUS_OK;
}

const char *tf_tensorfile_meta(const tf_tensorfile_t *f, const char *key)
{
    if (f == NULL || key == NULL)
        return NULL;
    uint32_t lo = 0, hi = f->meta_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->meta_keys[mid], key);
        if (c == 0)
            return f->meta_values[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint32_t tf_tensorfile_num_meta(const tf_tensorfile_t *f)
{
    return f ? f->meta_count : 0;
}

tf_status_t
tf_tensorfile_meta_at(const char **key, const char **value, const tf_tensorfile_t *f, uint32_t i)
{
    TF_REQUIRE_ARG(key);
    *key = NULL;
    TF_REQUIRE_ARG(value);
    *value = NULL;
    TF_REQUIRE_ARG(f);
    if (i >= f->meta_count)
        TF_FAIL(TF_STATUS_EINVAL, "%s: index %u is out of range (%u entries)", __func__, i,
                f->meta_count);
    *key = f->meta_keys[i];
    *value = f->meta_values[i];
    return TF_STATUS_OK;
}
