/* SPDX-License-Identifier: MIT */
/* IDX image files (the MNIST format) as numeric sequences: image i is `rows` steps of `cols`
 * features, pixels scaled to [0, 1], labelled from an IDX label file. The images go into a
 * numeric loader (loader_num.c), whose batches, standardisation and statistics they share. */
#include "transfer/data.h"
#include "data_internal.h"

#include <stdio.h>

#define IDX_U8 0x08
#define IDX_IMAGES 3 /* dimensions: count, rows, cols */
#define IDX_LABELS 1 /* dimensions: count */
/* Largest file read: the whole training set of MNIST is 47 MB; this bounds a mistaken path. */
#define IDX_MAX_FILE ((size_t)1 << 34)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Check an IDX header of unsigned bytes with `ndim` dimensions, whose data must be exactly the
 * rest of the file; dims receives the dimensions and *data where the data starts. */
static tf_status_t idx_header(const unsigned char *p, size_t len, uint32_t ndim, uint32_t *dims,
                              const unsigned char **data, const char *name, const char *fn)
{
    const char *what = ndim == IDX_IMAGES ? "image" : "label";
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s is gzip-compressed; decompress it first (gunzip -k)",
                fn, name);
    if (len < 4)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s is truncated: %zu bytes, no IDX header", fn, name, len);
    uint32_t magic = be32(p), want = (uint32_t)IDX_U8 << 8 | ndim;
    if (p[0] != 0 || p[1] != 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s is not an IDX file (magic 0x%08x, not 0x%08x)", fn, name,
                magic, want);
    if (p[2] != IDX_U8)
        TF_FAIL(TF_STATUS_EFORMAT,
                "%s: %s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", fn,
                name, p[2]);
    if (p[3] != ndim)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s has %u dimensions; an IDX %s file has %u (magic "
                "0x%08x)", fn, name, p[3], what, ndim, want);
    size_t head = 4 + 4 * (size_t)ndim, total = 1;
    if (len < head)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s is truncated in its header (%zu of %zu bytes)", fn,
                name, len, head);
    for (uint32_t i = 0; i < ndim; i++) {
        dims[i] = be32(p + 4 + 4 * i);
        if (!tf__mul_size(total, dims[i], &total))
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: the sizes in its header overflow", fn, name);
    }
    if (total != len - head)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: its header gives %zu bytes of data, the file has %zu "
                "(%s)", fn, name, total, len - head, total > len - head ? "truncated" : "bytes "
                "after the data");
    *data = p + head;
    return TF_STATUS_OK;
}

/* Which images to load: the first max_per_class of each label value (all when 0), then the
 * loader's split by a hash of the image's bytes. keep[i] is 1 for those; returns their count. */
static int64_t select_images(const tf_loader_t *l, const unsigned char *img, size_t npix,
                             const unsigned char *lab, int64_t n, int32_t max_per_class,
                             unsigned char *keep)
{
    int64_t seen[256] = {0}, count = 0;
    for (int64_t i = 0; i < n; i++) {
        int in = max_per_class == 0 || seen[lab[i]]++ < max_per_class;
        keep[i] = (unsigned char)(in && tf__line_in_split((const char *)img + (size_t)i * npix,
                                                          npix, l->o.valid_fraction, l->o.split));
        count += keep[i];
    }
    return count;
}

/* Label ids: the labels are named by their decimal value ("0" to "255"), numbered in increasing
 * value unless the options fix the names; map[v] receives the id of value v. */
static tf_status_t map_labels(tf_loader_t *l, const unsigned char *lab, int64_t n,
                              int32_t *map, const char *name, const char *fn)
{
    int64_t first[256];
    for (int v = 0; v < 256; v++)
        first[v] = -1;
    for (int64_t i = n - 1; i >= 0; i--)
        first[lab[i]] = i;
    for (int v = 0; v < 256; v++) {
        char s[4];
        int k = snprintf(s, sizeof s, "%d", v);
        map[v] = -1;
        if (first[v] < 0)
            continue;
        TF_CHECK(tf__loader_label_id(l, s, (size_t)k, &map[v]));
        if (map[v] < 0)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: item %lld has label %d, not one of the %d known "
                    "labels", fn, name, (long long)first[v], v, l->num_labels);
    }
    return TF_STATUS_OK;
}

tf_status_t tf__loader_idx_from(tf_loader_t **out, tf_ctx_t *ctx, const char *img_name,
                                const unsigned char *img, size_t img_len, const char *lab_name,
                                const unsigned char *lab, size_t lab_len, int32_t max_per_class,
                                const tf_loader_opts_t *opts, const char *fn)
{
    uint32_t dims[IDX_IMAGES] = {0}, ldims[IDX_LABELS] = {0};
    const unsigned char *pix = NULL, *lv = NULL;
    tf_loader_t *l = NULL;
    unsigned char *keep = NULL;
    int32_t map[256];
    tf_status_t st;
    *out = NULL;
    if (max_per_class < 0 || (max_per_class > 0 && lab == NULL))
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_per_class must be >= 0, and 0 without labels", fn);
    TF_CHECK(idx_header(img, img_len, IDX_IMAGES, dims, &pix, img_name, fn));
    if (lab != NULL) {
        TF_CHECK(idx_header(lab, lab_len, IDX_LABELS, ldims, &lv, lab_name, fn));
        if (ldims[0] != dims[0])
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s holds %u labels for the %u images of %s", fn,
                    lab_name, ldims[0], dims[0], img_name);
    }
    if (dims[0] == 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s holds no images", fn, img_name);
    if (dims[1] < 1 || dims[1] > INT32_MAX || dims[2] < 1 || dims[2] > INT32_MAX)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: images of %u x %u are not supported", fn, img_name,
                dims[1], dims[2]);
    TF_CHECK(tf__loader_numeric_begin(&l, ctx, opts, (int32_t)dims[2], fn));
    if (l->o.next_step && dims[1] < 2)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: %s: images of one row have no next row",
                     fn, img_name);
    /* The header matched the data, so these products are at most the file's size. */
    int64_t n = dims[0];
    size_t npix = (size_t)dims[1] * dims[2];
    keep = tf__alloc(ctx, (size_t)n);
    if (keep == NULL)
        TF_FAIL_GOTO(st, fail, TF_STATUS_ENOMEM, "%s: no memory for %lld images", fn,
                     (long long)n);
    int64_t count = select_images(l, pix, npix, lv, n, max_per_class, keep);
    if (count == 0)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: %s: no image is in the loader's split", fn,
                     img_name);
    if (lv != NULL)
        TF_CHECK_GOTO(st, map_labels(l, lv, n, map, lab_name, fn), fail);
    TF_CHECK_GOTO(st, tf__loader_numeric_reserve(l, (size_t)count * npix, fn), fail);
    for (int64_t i = 0; i < n; i++) {
        float *dst;
        if (!keep[i])
            continue;
        TF_CHECK_GOTO(st, tf__loader_numeric_append(l, dims[1], lv ? map[lv[i]] : 0, &dst), fail);
        const unsigned char *src = pix + (size_t)i * npix;
        for (size_t k = 0; k < npix; k++)
            dst[k] = (float)src[k] * (1.0f / 255.0f);
    }
    TF_CHECK_GOTO(st, tf__loader_numeric_end(l, lv != NULL, 1, fn), fail);
    tf__free(ctx, keep);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf__free(ctx, keep);
    tf_loader_free(l);
    return st;
}

tf_status_t tf_loader_create_idx(tf_loader_t **out, tf_ctx_t *ctx, const char *images,
                                 const char *labels, int32_t max_per_class,
                                 const tf_loader_opts_t *opts)
{
    const char *fn = __func__;
    char *img = NULL, *lab = NULL;
    size_t img_len = 0, lab_len = 0;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(images);
    tf_status_t st = tf__read_file(ctx, images, IDX_MAX_FILE, &img, &img_len, fn);
    if (st == TF_STATUS_OK && labels != NULL)
        st = tf__read_file(ctx, labels, IDX_MAX_FILE, &lab, &lab_len, fn);
    if (st == TF_STATUS_OK)
        st = tf__loader_idx_from(out, ctx, images, (const unsigned char *)img, img_len, labels,
                                 (const unsigned char *)lab, lab_len, max_per_class, opts, fn);
    tf__free(ctx, img);
    tf__free(ctx, lab);
    return st;
}
