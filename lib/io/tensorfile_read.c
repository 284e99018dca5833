/* SPDX-License-Identifier: MIT */
/* Loading a tensor file: every size, offset and string read from the file is bounded and
 * validated before it is used; the payload of every entry is CRC-checked. */
#include "io_internal.h"
#include "json.h"
#include "../tensor/quant.h"


#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FN "tf_tensorfile_load"

/* Where the bytes come from: a memory buffer or an open file descriptor. */
typedef struct src {
    const unsigned char *mem;
    int fd;
    uint64_t size;
    const char *label; /* file name for messages */
} src_t;

/* safetensors dtypes: the ones libtransfer reads, and the valid ones it does not (ENOTSUP).
 * size 0: a sub-byte type whose byte size is not checked. F16 and I8 (with its per-row scales,
 * docs/checkpoints.md) are widened to F32 tensors as they are read. */
typedef struct dtype_info {
    const char *name;
    uint32_t size;
    int32_t kind;  /* TF_TENSORFILE_KIND_*, 0 = unsupported */
    int32_t dtype; /* tf_dtype_t for tensors */
    int32_t wide;  /* stored as WIDE_F16 or WIDE_I8, loaded as F32 */
} dtype_info_t;

enum { WIDE_F16 = 1, WIDE_I8 = 2 };
#define SCALE_SUFFIX ".scale"

static const dtype_info_t dtypes[] = {
    {"F32", 4, TF_TENSORFILE_KIND_TENSOR, TF_DTYPE_F32, 0},
    {"I32", 4, TF_TENSORFILE_KIND_TENSOR, TF_DTYPE_I32, 0},
    {"U8", 1, TF_TENSORFILE_KIND_BLOB, 0, 0},
    {"F16", 2, TF_TENSORFILE_KIND_TENSOR, TF_DTYPE_F32, WIDE_F16},
    {"I8", 1, TF_TENSORFILE_KIND_TENSOR, TF_DTYPE_F32, WIDE_I8},
    {"BOOL", 1, 0, 0, 0},
    {"I16", 2, 0, 0, 0},
    {"U16", 2, 0, 0, 0},
    {"BF16", 2, 0, 0, 0},
    {"U32", 4, 0, 0, 0},
    {"I64", 8, 0, 0, 0},
    {"U64", 8, 0, 0, 0},
    {"F64", 8, 0, 0, 0},
    {"C64", 8, 0, 0, 0},
    {"F8_E5M2", 1, 0, 0, 0},
    {"F8_E4M3", 1, 0, 0, 0},
    {"F8_E8M0", 1, 0, 0, 0},
    {"F4", 0, 0, 0, 0},
    {"F6_E2M3", 0, 0, 0, 0},
    {"F6_E3M2", 0, 0, 0, 0},
};

/* One entry as described by the header, before any data is read. */
typedef struct pentry {
    const char *name; /* in the JSON tree */
    const dtype_info_t *dt;
    uint32_t ndim; /* as in the file (may exceed TF_TENSOR_MAX_DIMS) */
    int64_t shape[TF_TENSOR_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end;
    const char *unsupported; /* why libtransfer cannot represent it, or NULL */
    const char *crc_hex;     /* value of crc32.<name>, or NULL */
    int64_t scale;           /* I8: index of its <name>.scale entry */
    int32_t is_scale;        /* the scale of an I8 entry: folded into it, not an entry itself */
} pentry_t;

static tf_status_t src_read(const src_t *s, uint64_t off, void *dst, size_t n)
{
    if (off > s->size || n > s->size - off)
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: the file is truncated", s->label);
    if (s->mem != NULL) {
        if (n > 0)
            memcpy(dst, s->mem + off, n);
        return TF_STATUS_OK;
    }
    unsigned char *p = dst;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t r = pread(s->fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            TF_FAIL(TF_STATUS_EIO, FN ": %s: read error: %s", s->label, strerror(errno));
        if (r == 0)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: the file is truncated (it shrank while reading)",
                    s->label);
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return TF_STATUS_OK;
}

/* A JSON number written as a non-negative integer (exact up to 2^64 - 1). */
static int json_u64(const tf__json_t *j, uint64_t *out)
{
    if (!tf__json_is(j, TF__JSON_NUMBER) || !j->is_u64)
        return 0;
    *out = j->u64;
    return 1;
}

static const dtype_info_t *dtype_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return &dtypes[i];
    return NULL;
}

static tf_status_t parse_entry(const src_t *s, const tf__json_t *j, pentry_t *e, uint64_t data_len)
{
    const char *L = s->label, *n = j->key;
    e->name = n;
    if (n[0] == '\0' || !tf__utf8_valid(n, strlen(n)))
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: an entry name is empty or not valid UTF-8", L);
    if (!tf__json_is(j, TF__JSON_OBJECT))
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s' is not a JSON object", L, n);
    const tf__json_t *dt = tf__json_get(j, "dtype");
    const tf__json_t *sh = tf__json_get(j, "shape");
    const tf__json_t *of = tf__json_get(j, "data_offsets");
    if (dt == NULL || sh == NULL || of == NULL)
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s' lacks '%s'", L, n,
                dt == NULL   ? "dtype"
                : sh == NULL ? "shape"
                             : "data_offsets");
    if (!tf__json_is(dt, TF__JSON_STRING))
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': dtype is not a string", L, n);
    e->dt = dtype_lookup(dt->str);
    if (e->dt == NULL)
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': unknown dtype '%.32s'", L, n,
                dt->str);
    if (!tf__json_is(sh, TF__JSON_ARRAY))
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': shape is not an array", L, n);
    uint64_t numel = 1;
    uint32_t nd = 0;
    int zero = 0;
    for (const tf__json_t *d = sh->child; d != NULL; d = d->next, nd++) {
        uint64_t v;
        if (tf__json_is(d, TF__JSON_NUMBER) && d->num < 0)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': dimension %u is negative", L, n, nd);
        if (!json_u64(d, &v))
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': dimension %u is not an integer", L, n,
                    nd);
        if (nd >= 64)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s' has more than 64 dimensions", L, n);
        if (v == 0)
            zero = 1;
        else if (numel > UINT64_MAX / v)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': the element count overflows", L, n);
        else
            numel *= v;
        if (nd < TF_TENSOR_MAX_DIMS)
            e->shape[nd] = (int64_t)v;
    }
    e->ndim = nd;
    e->numel = zero ? 0 : numel;
    uint64_t b, en;
    if (!tf__json_is(of, TF__JSON_ARRAY) || of->count != 2 || !json_u64(of->child, &b) ||
        !json_u64(of->child->next, &en))
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: entry '%s': data_offsets is not two non-negative integers", L, n);
    if (en < b)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: entry '%s': data_offsets [%llu, %llu] end before "
                   "they begin",
                L, n, (unsigned long long)b, (unsigned long long)en);
    if (en > data_len)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: entry '%s': data_offsets [%llu, %llu] run past the "
                   "data section (%llu bytes)",
                L, n, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
    e->begin = b;
    e->end = en;
    if (e->dt->size != 0) {
        if (e->numel > UINT64_MAX / e->dt->size)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s': the byte size overflows", L, n);
        if (en - b != e->numel * e->dt->size)
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: entry '%s': shape and dtype give %llu bytes but "
                       "data_offsets span %llu",
                    L, n, (unsigned long long)(e->numel * e->dt->size),
                    (unsigned long long)(en - b));
    }
    if (e->dt->kind == 0)
        e->unsupported = "its dtype is not F32, F16, I8, I32 or U8";
    else if (nd == 0)
        e->unsupported = "it is a scalar (0 dimensions)";
    else if (nd > TF_TENSOR_MAX_DIMS)
        e->unsupported = "it has more than 4 dimensions";
    else if (zero && e->dt->kind == TF_TENSORFILE_KIND_TENSOR)
        e->unsupported = "it has a dimension of size 0";
    return TF_STATUS_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const pentry_t *)a)->name, ((const pentry_t *)b)->name);
}

static int cmp_name_ptr(const void *a, const void *b)
{
    return cmp_name(*(const pentry_t *const *)a, *(const pentry_t *const *)b);
}

static int cmp_offset(const void *a, const void *b)
{
    const pentry_t *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef tf__kv_t mpair_t;

/* strcmp(key, prefix + name) without building the concatenation. */
static int cmp_concat(const char *key, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    int c = strncmp(key, prefix, pl);
    if (c != 0)
        return c;
    return strcmp(key + pl, name);
}

static const char *meta_find(const mpair_t *m, uint32_t n, const char *prefix, const char *name)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_concat(m[mid].key, prefix, name);
        if (c == 0)
            return m[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int parse_hex32(const char *s, uint32_t *out)
{
    return strlen(s) == 8 && tf__hex_digits(s, 8, out);
}

/* The header is parsed; check the metadata, the libtransfer keys and the layout. */
static tf_status_t check_header(const src_t *s,
                                const tf_tensorfile_opts_t *o,
                                pentry_t *pe,
                                uint32_t np,
                                mpair_t *mp,
                                uint32_t nm,
                                uint64_t data_len)
{
    const char *L = s->label;
    qsort(pe, np, sizeof *pe, cmp_name);
    for (uint32_t i = 1; i < np; i++)
        if (strcmp(pe[i - 1].name, pe[i].name) == 0)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: two entries are named '%s'", L, pe[i].name);
    qsort(mp, nm, sizeof *mp, tf__kv_cmp);
    for (uint32_t i = 0; i < nm; i++) {
        if (i > 0 && strcmp(mp[i - 1].key, mp[i].key) == 0)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: metadata key '%s' appears twice", L, mp[i].key);
        if (!tf__utf8_valid(mp[i].key, strlen(mp[i].key)) ||
            !tf__utf8_valid(mp[i].value, strlen(mp[i].value)))
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: metadata '%s' is not valid UTF-8", L, mp[i].key);
    }
    const char *format = meta_find(mp, nm, TF__META_FORMAT, "");
    int ours = format != NULL && strcmp(format, TF__META_FORMAT_VALUE) == 0;
    if (!ours && !(o->flags & TF_TENSORFILE_ALLOW_FOREIGN))
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: not a libtransfer file (its metadata lacks format = "
                   "libtransfer); set TF_TENSORFILE_ALLOW_FOREIGN to load a plain safetensors file",
                L);
    if (ours) {
        const char *fv = meta_find(mp, nm, TF__META_FORMAT_VERSION, "");
        unsigned long v = 0;
        size_t len = fv ? strlen(fv) : 0;
        if (len == 0 || len > 9 || strspn(fv, "0123456789") != len ||
            (v = strtoul(fv, NULL, 10)) == 0)
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: metadata format_version is missing or not a "
                       "positive integer",
                    L);
        if (v > TF__FORMAT_VERSION)
            TF_FAIL(TF_STATUS_EVERSION,
                    FN ": %s: written in format version %lu; this library "
                       "reads up to version %d",
                    L, v, TF__FORMAT_VERSION);
    }
    const char *mcrc = meta_find(mp, nm, TF__META_CRC_META, "");
    if (mcrc == NULL && ours)
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: the metadata has no " TF__META_CRC_META, L);
    if (mcrc != NULL) {
        uint32_t want;
        if (!parse_hex32(mcrc, &want))
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: metadata " TF__META_CRC_META " is not 8 hex "
                       "digits",
                    L);
        if (tf__meta_crc(mp, nm) != want)
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: the metadata is corrupt (its CRC32 does not "
                       "match " TF__META_CRC_META ")",
                    L);
    }
    for (uint32_t i = 0; i < np; i++) {
        pe[i].crc_hex = meta_find(mp, nm, TF__META_CRC_PREFIX, pe[i].name);
        if (pe[i].crc_hex == NULL && ours)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: entry '%s' has no crc32 in the metadata", L,
                    pe[i].name);
    }
    /* Every crc32.<name> must name an entry (entries are sorted by name here). */
    for (uint32_t i = 0; i < nm && ours; i++) {
        const char *k = mp[i].key;
        if (strncmp(k, TF__META_CRC_PREFIX, strlen(TF__META_CRC_PREFIX)) != 0 ||
            strcmp(k, TF__META_CRC_META) == 0)
            continue;
        pentry_t key;
        key.name = k + strlen(TF__META_CRC_PREFIX);
        if (bsearch(&key, pe, np, sizeof *pe, cmp_name) == NULL)
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: metadata '%s' names no entry", L, k);
    }
    /* The entries must tile the data section exactly, as the reference reader requires. */
    qsort(pe, np, sizeof *pe, cmp_offset);
    uint64_t at = 0;
    for (uint32_t i = 0; i < np; i++) {
        if (pe[i].begin != at)
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: entry '%s' at data_offsets [%llu, %llu] %s the "
                       "previous entry (which ends at %llu)",
                    L, pe[i].name, (unsigned long long)pe[i].begin, (unsigned long long)pe[i].end,
                    pe[i].begin < at ? "overlaps" : "leaves a gap after", (unsigned long long)at);
        at = pe[i].end;
    }
    if (at != data_len)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: the entries cover %llu bytes but the data section "
                   "has %llu",
                L, (unsigned long long)at, (unsigned long long)data_len);
    for (uint32_t i = 0; i < np; i++)
        if (pe[i].unsupported != NULL)
            TF_FAIL(TF_STATUS_ENOTSUP, FN ": %s: entry '%s' (dtype %s) cannot be loaded: %s", L,
                    pe[i].name, pe[i].dt->name, pe[i].unsupported);
    return TF_STATUS_OK;
}

/* Pair every I8 entry with its F32 scale entry "<name>.scale" of shape [rows] (`pe` is in data
 * order; the pairing is by index). */
static tf_status_t pair_scales(tf_ctx_t *ctx, const src_t *s, pentry_t *pe, uint32_t np)
{
    const char *L = s->label;
    tf_status_t st = TF_STATUS_OK;
    pentry_t **byname = tf__calloc(ctx, np ? np : 1, sizeof *byname);
    if (byname == NULL)
        return TF_STATUS_ENOMEM;
    for (uint32_t i = 0; i < np; i++)
        byname[i] = &pe[i];
    qsort(byname, np, sizeof *byname, cmp_name_ptr);
    for (uint32_t i = 0; i < np && st == TF_STATUS_OK; i++) {
        pentry_t *q = &pe[i];
        if (q->dt->wide != WIDE_I8)
            continue;
        uint32_t lo = 0, hi = np;
        pentry_t *sc = NULL;
        while (lo < hi) { /* the entry named q->name + ".scale" */
            uint32_t mid = lo + (hi - lo) / 2;
            int c = cmp_concat(byname[mid]->name, q->name, SCALE_SUFFIX);
            if (c == 0) {
                sc = byname[mid];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (sc == NULL)
            st = tf__error(TF_STATUS_EFORMAT,
                           FN ": %s: int8 tensor '%s' has no scale tensor '%s" SCALE_SUFFIX
                              "' (F32, one scale per row)",
                           L, q->name, q->name);
        else if (sc->dt->wide != 0 || sc->dt->dtype != TF_DTYPE_F32 ||
                 sc->dt->kind != TF_TENSORFILE_KIND_TENSOR || sc->ndim != 1 ||
                 sc->shape[0] != q->shape[0])
            st = tf__error(TF_STATUS_EFORMAT,
                           FN ": %s: the scale '%s' of int8 tensor '%s' is not F32 of shape "
                              "[%lld] (one scale per row)",
                           L, sc->name, q->name, (long long)q->shape[0]);
        else {
            q->scale = sc - pe;
            sc->is_scale = 1;
        }
    }
    tf__free(ctx, byname);
    return st;
}

static tf_status_t check_finite(const char *L, const char *name, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: tensor '%s' element %zu is %s (set "
                       "TF_TENSORFILE_ALLOW_NONFINITE to accept it)",
                    L, name, i, isnan(v[i]) ? "NaN" : "infinite");
    return TF_STATUS_OK;
}

/* Allocate the entry's storage, read its bytes and verify them. An F16 or I8 entry is read into
 * `raw` (freed by the caller) and widened; an I8 one needs its scale entry, `scale`, read. */
static tf_status_t read_entry(tf_tensorfile_t *f,
                              const src_t *s,
                              const tf_tensorfile_opts_t *o,
                              const pentry_t *p,
                              uint64_t data_start,
                              tf__tf_entry_t *e,
                              const tf__tf_entry_t *scale,
                              void **raw)
{
    const char *L = s->label;
    void *dst;
    size_t nbytes = (size_t)(p->end - p->begin);
    if ((uint64_t)nbytes != p->end - p->begin)
        TF_FAIL(TF_STATUS_ENOMEM, FN ": %s: entry '%s' does not fit in memory", L, p->name);
    e->name = tf__strdup(f->ctx, p->name);
    if (e->name == NULL)
        return TF_STATUS_ENOMEM;
    e->kind = p->dt->kind;
    if (e->kind == TF_TENSORFILE_KIND_TENSOR) {
        TF_CHECK(tf_tensor_create(&e->tensor, f->ctx, p->dt->dtype, p->shape, p->ndim));
        dst = e->tensor->data;
    } else {
        e->blob = tf__alloc(f->ctx, nbytes ? nbytes : 1);
        if (e->blob == NULL)
            return TF_STATUS_ENOMEM;
        e->blob_len = nbytes;
        dst = e->blob;
    }
    if (p->dt->wide != 0) {
        *raw = tf__alloc(f->ctx, nbytes ? nbytes : 1);
        if (*raw == NULL)
            return TF_STATUS_ENOMEM;
        dst = *raw;
    }
    TF_CHECK(src_read(s, data_start + p->begin, dst, nbytes));
    if (p->crc_hex != NULL) {
        uint32_t want, got = tf__crc32(0, dst, nbytes);
        if (!parse_hex32(p->crc_hex, &want))
            TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: metadata crc32.%s is not 8 hex digits", L,
                    p->name);
        if (got != want)
            TF_FAIL(TF_STATUS_EFORMAT,
                    FN ": %s: entry '%s' is corrupt: its CRC32 is %08x but the "
                       "metadata says %08x",
                    L, p->name, (unsigned)got, (unsigned)want);
    }
    if (p->dt->wide == WIDE_F16) {
        tf__f16_to_f32_n(*raw, e->tensor->data, (size_t)e->tensor->numel);
    } else if (p->dt->wide == WIDE_I8) {
        const float *sv = scale->tensor->data;
        const int64_t rows = p->shape[0];
        for (int64_t r = 0; r < rows; r++)
            if (sv[r] < 0.0f)
                TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: the scale of row %lld of int8 tensor '%s' is "
                        "negative", L, (long long)r, p->name);
        tf__dequantize_rows_i8(*raw, sv, rows, e->tensor->numel / rows, e->tensor->data);
    }
    if (p->dt->dtype == TF_DTYPE_F32 && e->kind == TF_TENSORFILE_KIND_TENSOR &&
        !(o->flags & TF_TENSORFILE_ALLOW_NONFINITE))
        TF_CHECK(check_finite(L, p->name, e->tensor->data, (size_t)e->tensor->numel));
    return TF_STATUS_OK;
}

/* Drop the scale entries, now folded into their int8 tensors, keeping the data order. */
static void drop_scales(tf_tensorfile_t *f, const pentry_t *pe, uint32_t np)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < np; i++) {
        if (!pe[i].is_scale) {
            f->entries[k++] = f->entries[i];
            continue;
        }
        tf__free(f->ctx, f->entries[i].name);
        tf_tensor_free(f->entries[i].tensor);
    }
    f->count = k;
}

static tf_status_t
load_src(tf_tensorfile_t **out, tf_ctx_t *ctx, const src_t *s, const tf_tensorfile_opts_t *o)
{
    const char *L = s->label;
    tf_status_t st = TF_STATUS_OK;
    unsigned char len8[8];
    char *hbuf = NULL;
    tf__json_doc_t *doc = NULL;
    const tf__json_t *root = NULL;
    pentry_t *pe = NULL;
    mpair_t *mp = NULL;
    tf_tensorfile_t *f = NULL;
    uint32_t np = 0, nm = 0;

    if (s->size < 8)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: the file is %llu bytes, too short for a safetensors "
                   "header",
                L, (unsigned long long)s->size);
    TF_CHECK(src_read(s, 0, len8, 8));
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n == 0)
        TF_FAIL(TF_STATUS_EFORMAT, FN ": %s: the header length is 0", L);
    if (n > o->max_header_bytes)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: the header length %llu is above the limit of %llu "
                   "bytes",
                L, (unsigned long long)n, (unsigned long long)o->max_header_bytes);
    if (n > s->size - 8)
        TF_FAIL(TF_STATUS_EFORMAT,
                FN ": %s: the header length %llu runs past the end of the "
                   "file (%llu bytes)",
                L, (unsigned long long)n, (unsigned long long)s->size);
    uint64_t data_start = 8 + n, data_len = s->size - data_start;
    hbuf = tf__alloc(ctx, (size_t)n + 1);
    if (hbuf == NULL)
        return TF_STATUS_ENOMEM;
    TF_CHECK_GOTO(st, src_read(s, 8, hbuf, (size_t)n), done);
    hbuf[n] = '\0';
    if (memchr(hbuf, '\0', (size_t)n) != NULL)
        TF_FAIL_GOTO(st, done, TF_STATUS_EFORMAT, FN ": %s: the header contains a NUL character",
                     L);
    size_t at;
    int why;
    st = tf__json_parse(ctx, hbuf, (size_t)n, &doc, &root, &at, &why);
    if (st == TF_STATUS_EFORMAT && why == TF__JSON_ERR_TRAILING)
        st = tf__error(TF_STATUS_EFORMAT, FN ": %s: bytes after the JSON header object", L);
    else if (st == TF_STATUS_EFORMAT && why == TF__JSON_ERR_NUL)
        st = tf__error(TF_STATUS_EFORMAT, FN ": %s: the header contains a NUL character (a "
                       "\\u0000 escape)", L);
    else if (st == TF_STATUS_EFORMAT)
        st = tf__error(TF_STATUS_EFORMAT,
                       FN ": %s: the header is not valid JSON (near byte %zu of %llu%s)", L, at,
                       (unsigned long long)n,
                       why == TF__JSON_ERR_DEPTH ? "; nested too deeply" : "");
    if (st != TF_STATUS_OK)
        goto done;
    if (!tf__json_is(root, TF__JSON_OBJECT))
        TF_FAIL_GOTO(st, done, TF_STATUS_EFORMAT, FN ": %s: the header is not a JSON object", L);
    const tf__json_t *meta = NULL;
    for (const tf__json_t *c = root->child; c != NULL; c = c->next) {
        if (strcmp(c->key, "__metadata__") != 0) {
            np++;
            continue;
        }
        if (meta != NULL || !tf__json_is(c, TF__JSON_OBJECT))
            TF_FAIL_GOTO(st, done, TF_STATUS_EFORMAT,
                         FN ": %s: __metadata__ is repeated or not an object", L);
        meta = c;
        for (const tf__json_t *m = c->child; m != NULL; m = m->next, nm++)
            if (!tf__json_is(m, TF__JSON_STRING))
                TF_FAIL_GOTO(st, done, TF_STATUS_EFORMAT, FN ": %s: metadata '%s' is not a string",
                             L, m->key);
    }
    pe = tf__calloc(ctx, np ? np : 1, sizeof *pe);
    mp = tf__calloc(ctx, nm ? nm : 1, sizeof *mp);
    if (pe == NULL || mp == NULL) {
        st = TF_STATUS_ENOMEM;
        goto done;
    }
    uint32_t i = 0;
    for (const tf__json_t *c = root->child; c != NULL; c = c->next)
        if (c != meta)
            TF_CHECK_GOTO(st, parse_entry(s, c, &pe[i++], data_len), done);
    i = 0;
    for (const tf__json_t *m = meta ? meta->child : NULL; m != NULL; m = m->next, i++) {
        mp[i].key = m->key;
        mp[i].value = m->str;
    }
    TF_CHECK_GOTO(st, check_header(s, o, pe, np, mp, nm, data_len), done);
    TF_CHECK_GOTO(st, pair_scales(ctx, s, pe, np), done);

    f = tf__calloc(ctx, 1, sizeof *f);
    if (f == NULL) {
        st = TF_STATUS_ENOMEM;
        goto done;
    }
    f->ctx = ctx;
    tf__object_created(ctx);
    f->entries = tf__calloc(ctx, np ? np : 1, sizeof *f->entries);
    f->meta_keys = tf__calloc(ctx, nm ? nm : 1, sizeof(char *));
    f->meta_values = tf__calloc(ctx, nm ? nm : 1, sizeof(char *));
    if (f->entries == NULL || f->meta_keys == NULL || f->meta_values == NULL) {
        st = TF_STATUS_ENOMEM;
        goto done;
    }
    f->count = np;
    f->meta_count = nm;
    for (i = 0; i < nm; i++) {
        f->meta_keys[i] = tf__strdup(ctx, mp[i].key);
        f->meta_values[i] = tf__strdup(ctx, mp[i].value);
        if (f->meta_keys[i] == NULL || f->meta_values[i] == NULL) {
            st = TF_STATUS_ENOMEM;
            goto done;
        }
    }
    /* Scales before the int8 tensors that need them. */
    for (int pass = 0; pass < 2; pass++)
        for (i = 0; i < np; i++) {
            if ((pe[i].dt->wide == WIDE_I8) != (pass == 1))
                continue;
            void *raw = NULL;
            const tf__tf_entry_t *sc = pass == 1 ? &f->entries[pe[i].scale] : NULL;
            st = read_entry(f, s, o, &pe[i], data_start, &f->entries[i], sc, &raw);
            tf__free(ctx, raw);
            if (st != TF_STATUS_OK)
                goto done;
        }
    drop_scales(f, pe, np);
done:
    tf__json_free(doc);
    tf__free(ctx, hbuf);
    tf__free(ctx, pe);
    tf__free(ctx, mp);
    if (st != TF_STATUS_OK) {
        tf_tensorfile_free(f);
        return st;
    }
    *out = f;
    return TF_STATUS_OK;
}

tf_status_t tf__tensorfile_load_mem(tf_tensorfile_t **out,
                                    tf_ctx_t *ctx,
                                    const void *data,
                                    size_t size,
                                    const tf_tensorfile_opts_t *opts,
                                    const char *label)
{
    tf_tensorfile_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    if (data == NULL && size != 0)
        TF_FAIL(TF_STATUS_EINVAL, FN ": data is NULL");
    TF_CHECK(tf__tensorfile_opts_read(&o, opts, FN));
    static const unsigned char empty[1] = {0};
    src_t s = {data ? data : empty, -1, size, label ? label : "<memory>"};
    return load_src(out, ctx, &s, &o);
}

tf_status_t tf_tensorfile_load(tf_tensorfile_t **out,
                               tf_ctx_t *ctx,
                               const char *path,
                               const tf_tensorfile_opts_t *opts)
{
    tf_tensorfile_opts_t o;
    struct stat stt;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(path);
    TF_CHECK(tf__tensorfile_opts_read(&o, opts, __func__));
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (regular files ignore it). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        TF_FAIL(e == ENOENT ? TF_STATUS_ENOTFOUND : TF_STATUS_EIO, "%s: cannot open %s: %s",
                __func__, path, strerror(e));
    }
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        close(fd);
        TF_FAIL(TF_STATUS_EIO, "%s: %s is not a regular file", __func__, path);
    }
    src_t s = {NULL, fd, (uint64_t)stt.st_size, path};
    tf_status_t st = load_src(out, ctx, &s, &o);
    close(fd);
    return st;
}
