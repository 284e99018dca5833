/* SPDX-License-Identifier: MIT */
/* Logging goes only to the context's callback; with none, nothing is printed. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

void tf__log(const tf_ctx_t *ctx, int32_t level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (ctx == NULL || ctx->log_cb == NULL || level > ctx->log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log_cb(level, buf, ctx->log_payload);
}
