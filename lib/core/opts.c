/* SPDX-License-Identifier: MIT */
/* The options-struct convention: {struct_size, version, ...}, one published size per version.
 * docs/ABI.md states the rules this file enforces. */
#include "internal.h"

#include <string.h>

/* Bytes the library reads or writes for a caller's struct of `version`: the library's own struct
 * for the current version, the published end of that version's fields for an older one. */
static size_t version_size(const tf__opts_layout_t *l, uint32_t version)
{
    return version == l->current ? l->size : l->sizes[version];
}

/* The test build grows every struct by one trailing field; give it a recognisable default so that
 * a test sees whether a read left it alone. */
static void grown_default(void *lib_struct, const tf__opts_layout_t *l)
{
#ifdef TF_TEST_GROWN_OPTS
    int64_t d = TF__TEST_GROWN_DEFAULT;
    memcpy((char *)lib_struct + l->sizes[l->current] - sizeof d, &d, sizeof d);
#else
    (void)lib_struct;
    (void)l;
#endif
}

static tf_status_t check_version(uint32_t version, const tf__opts_layout_t *l, const char *what)
{
    if (version == 0 || version > l->current)
        TF_FAIL(TF_STATUS_EVERSION,
                "%s: %s version %u is not supported (this library knows 1 to %u); "
                "initialise the struct with its init function",
                what, l->type, version, l->current);
    return TF_STATUS_OK;
}

/* The caller's size and version, checked against the published sizes. */
static tf_status_t
check_head(const void *caller, const tf__opts_layout_t *l, const char *what, size_t *bytes)
{
    uint32_t head[2];
    memcpy(head, caller, sizeof head);
    TF_CHECK(check_version(head[1], l, what));
    if (head[0] < l->sizes[head[1]])
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: %s struct_size %u is smaller than the %zu bytes of its version %u; "
                "initialise the struct with its init function",
                what, l->type, head[0], l->sizes[head[1]], head[1]);
    size_t need = version_size(l, head[1]);
    *bytes = head[0] < need ? head[0] : need;
    return TF_STATUS_OK;
}

tf_status_t tf__opts_init(
    void *opts, uint32_t version, void *defaults, const tf__opts_layout_t *l, const char *what)
{
    if (opts == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the struct to initialise is NULL", what);
    TF_CHECK(check_version(version, l, what));
    grown_default(defaults, l);
    size_t n = version_size(l, version);
    memcpy(defaults, &(uint32_t[2]){(uint32_t)n, version}, 2 * sizeof(uint32_t));
    /* Only the caller's version: a program built against an older header has a smaller struct. */
    memcpy(opts, defaults, n);
    return TF_STATUS_OK;
}

tf_status_t tf__opts_read(void *dst, const void *src, const tf__opts_layout_t *l, const char *what)
{
    size_t n = 0;
    grown_default(dst, l);
    if (src == NULL)
        return TF_STATUS_OK; /* NULL options: keep the defaults in dst */
    TF_CHECK(check_head(src, l, what, &n));
    memcpy(dst, src, n);
    /* The library's own view always describes its own layout. */
    memcpy(dst, &(uint32_t[2]){(uint32_t)l->size, l->current}, 2 * sizeof(uint32_t));
    return TF_STATUS_OK;
}

tf_status_t
tf__results_size(const void *res, const tf__opts_layout_t *l, const char *what, size_t *bytes)
{
    return check_head(res, l, what, bytes);
}
