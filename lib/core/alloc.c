/* SPDX-License-Identifier: MIT */
/* Allocation through the context's hooks, and the growable array built on it. Each block carries a
 * TF__ALIGN-byte prefix holding its size, so the context can account for the bytes it has
 * outstanding. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise */
#endif
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

int tf__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int tf__add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

void *tf__alloc(tf_ctx_t *ctx, size_t size)
{
    size_t total;
    if (size == 0)
        size = 1;
    if (!tf__add_size(size, TF__ALIGN, &total)) {
        tf__error(TF_STATUS_ENOMEM, "allocation of %zu bytes is too large", size);
        return NULL;
    }
    unsigned char *base = ctx->allocator.alloc(total, TF__ALIGN, ctx->allocator.user);
    if (base == NULL) {
        tf__error(TF_STATUS_ENOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    memcpy(base, &size, sizeof size);
    ctx->allocated_bytes += size;
    return base + TF__ALIGN;
}

void *tf__calloc(tf_ctx_t *ctx, size_t count, size_t size)
{
    size_t bytes;
    if (!tf__mul_size(count, size, &bytes)) {
        tf__error(TF_STATUS_ENOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = tf__alloc(ctx, bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void tf__free(tf_ctx_t *ctx, void *ptr)
{
    if (ptr == NULL)
        return;
    unsigned char *base = (unsigned char *)ptr - TF__ALIGN;
    size_t size;
    memcpy(&size, base, sizeof size);
    ctx->allocated_bytes -= size;
    ctx->allocator.free(base, ctx->allocator.user);
}

char *tf__strdup(tf_ctx_t *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = tf__alloc(ctx, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

tf_status_t tf__grow_bytes(tf_ctx_t *ctx, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return TF_STATUS_OK;
    size_t ncap = *cap ? *cap : 16, bytes, old;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            TF_FAIL(TF_STATUS_ENOMEM, "array of %zu elements is too large", need);
        ncap *= 2;
    }
    if (!tf__mul_size(ncap, elem, &bytes))
        TF_FAIL(TF_STATUS_ENOMEM, "array of %zu elements of %zu bytes is too large", need, elem);
    unsigned char *np = tf__alloc(ctx, bytes);
    if (np == NULL)
        return TF_STATUS_ENOMEM;
    old = *p != NULL ? *cap * elem : 0;
    if (old > 0)
        memcpy(np, *p, old);
    memset(np + old, 0, bytes - old);
    tf__free(ctx, *p);
    *p = np;
    *cap = ncap;
    return TF_STATUS_OK;
}

tf_status_t tf__grow_i32(tf_ctx_t *ctx, int32_t **p, size_t *cap, size_t need)
{
    void *q = *p;
    tf_status_t st = tf__grow_bytes(ctx, &q, cap, need, sizeof(int32_t));
    *p = q;
    return st;
}

void tf__object_created(tf_ctx_t *ctx)
{
    ctx->live_objects++;
}

void tf__object_freed(tf_ctx_t *ctx)
{
    ctx->live_objects--;
}

void tf__advise_huge_pages(void *p, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20, first = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    const uintptr_t end = ((uintptr_t)p + size) & ~(huge - 1);
    if (end > first)
        (void)madvise((void *)first, end - first, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}
