/* SPDX-License-Identifier: MIT */
/* The context: allocator, threads, seed, logging. Everything created from it points back to it. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *default_alloc(size_t size, size_t align, void *user)
{
    void *p = NULL;
    (void)user;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    return p;
}

static void default_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static int32_t resolve_threads(int32_t n)
{
    if (n > 0)
        return n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int32_t)(cores > 1024 ? 1024 : cores) : 1;
}

TF__OPTS_LAYOUT(tf__ctx_opts_layout,
                tf_ctx_opts_t,
                TF_CTX_OPTS_VERSION,
                TF__OPTS_END(tf_ctx_opts_t, log_payload));

static void ctx_opts_defaults(tf_ctx_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_CTX_OPTS_VERSION;
    o->num_threads = 0;
    o->log_level = TF_LOG_WARN;
    o->seed = 42;
}

tf_status_t tf_ctx_opts_init(tf_ctx_opts_t *opts, uint32_t version)
{
    tf_ctx_opts_t d;
    ctx_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__ctx_opts_layout, __func__);
}

tf_status_t tf_ctx_create(tf_ctx_t **out, const tf_ctx_opts_t *opts)
{
    tf_ctx_opts_t o;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    ctx_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__ctx_opts_layout, "tf_ctx_create"));
    if (o.num_threads < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_threads is %d; use 0 (all cores) or more", __func__,
                o.num_threads);
    if (o.log_level < TF_LOG_NONE || o.log_level > TF_LOG_DEBUG)
        TF_FAIL(TF_STATUS_EINVAL, "%s: log_level %d is not a tf_log_level_t", __func__,
                o.log_level);
    tf_allocator_t a = {default_alloc, default_free, NULL};
    if (o.allocator != NULL) {
        if (o.allocator->alloc == NULL || o.allocator->free == NULL)
            TF_FAIL(TF_STATUS_EINVAL, "%s: the allocator needs both alloc and free", __func__);
        a = *o.allocator;
    }
    tf_ctx_t *ctx = a.alloc(sizeof *ctx, TF__ALIGN, a.user);
    if (ctx == NULL)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: out of memory", __func__);
    memset(ctx, 0, sizeof *ctx);
    ctx->allocator = a;
    ctx->num_threads = resolve_threads(o.num_threads);
    ctx->log_level = o.log_level;
    ctx->seed = o.seed;
    tf__rng_seed(&ctx->rng, o.seed);
    ctx->log_cb = o.log_cb;
    ctx->log_payload = o.log_payload;
    *out = ctx;
    return TF_STATUS_OK;
}

void tf_ctx_free(tf_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->live_objects != 0 || ctx->allocated_bytes != 0)
        tf__log(ctx, TF_LOG_ERROR,
                "%s: %llu objects (%llu bytes) created from this context are still live", __func__,
                (unsigned long long)ctx->live_objects, (unsigned long long)ctx->allocated_bytes);
    tf_allocator_t a = ctx->allocator;
    a.free(ctx, a.user);
}

int32_t tf_ctx_num_threads(const tf_ctx_t *ctx)
{
    return ctx ? ctx->num_threads : 0;
}

tf_status_t tf_ctx_set_num_threads(tf_ctx_t *ctx, int32_t num_threads)
{
    TF_REQUIRE_ARG(ctx);
    if (num_threads < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: %d threads; use 0 or more", __func__, num_threads);
    ctx->num_threads = resolve_threads(num_threads);
    return TF_STATUS_OK;
}

uint64_t tf_ctx_seed(const tf_ctx_t *ctx)
{
    return ctx ? ctx->seed : 0;
}

tf_status_t tf_ctx_reseed(tf_ctx_t *ctx, uint64_t seed)
{
    TF_REQUIRE_ARG(ctx);
    ctx->seed = seed;
    tf__rng_seed(&ctx->rng, seed);
    return TF_STATUS_OK;
}

uint64_t tf_ctx_live_objects(const tf_ctx_t *ctx)
{
    return ctx ? ctx->live_objects : 0;
}

uint64_t tf_ctx_allocated_bytes(const tf_ctx_t *ctx)
{
    return ctx ? ctx->allocated_bytes : 0;
}
