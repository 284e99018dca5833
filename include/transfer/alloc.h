/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/alloc.h
 * @brief Allocator hooks: route every allocation of a context through your own functions.
 *
 * An allocator is given to a context through tf_ctx_opts_t::allocator and copied into it; there is
 * no process-wide allocator. Every byte libtransfer allocates on behalf of a context (its handles,
 * tensors, workspaces) goes through these hooks, and is freed through them.
 *
 * @defgroup alloc Allocator hooks
 * @{
 */
#ifndef LIBTRANSFER_ALLOC_H
#define LIBTRANSFER_ALLOC_H

#include "common.h"

TF_BEGIN_DECLS

/**
 * @brief A set of memory functions. `alloc` and `free` are required; `user` is passed back as is.
 *
 * - `alloc(size, align, user)` returns `size` bytes aligned to `align` (a power of two, at least
 *   `sizeof(void *)`, at most 4096), or NULL on failure. `size` is never 0.
 * - `free(ptr, user)` releases a block from `alloc`; it is never called with NULL.
 *
 * The hooks may be called from any thread that uses the context (never from two threads at once
 * for the same context, since a context must not be used concurrently).
 */
typedef struct tf_allocator {
    void *TF_CALLBACK(alloc)(size_t size, size_t align, void *user); /**< Aligned allocation. */
    void TF_CALLBACK(free)(void *ptr, void *user);                  /**< Release a block. */
    void *user;                                                     /**< Passed to both hooks. */
} tf_allocator_t;

TF_END_DECLS

#endif /* LIBTRANSFER_ALLOC_H */
/** @} */
