/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/context.h
 * @brief The context: allocator, thread count, random seed and log callback shared by the objects
 *        created from it.
 *
 * Threads: libtransfer does no internal locking. A context and every object created from it are
 * used by one thread at a time: the objects share the context's allocator (whose hooks are never
 * called from two threads at once), its memory accounting, its random generator and its log
 * callback. Distinct contexts, each with its objects, may be used at once from different threads.
 * A context and its objects may move to another thread between calls. A tensor that no thread
 * writes may be read (for example as the input of a forward) from several threads at once.
 *
 * Every object is created from a context and keeps a pointer to it; free the objects before the
 * context (freeing a context with live objects is undefined behaviour; the log callback reports it).
 *
 * Compute threads: a call that computes (a forward, backward or training call) may start up to
 * tf_ctx_num_threads() - 1 helper threads (the count of the context of the object it computes on) for its large products and the LSTM time loop, and joins
 * them before it returns; no thread outlives a call and none runs between calls. OpenBLAS itself
 * is used single-threaded (each matrix product sets its process-wide thread count to 1 and puts
 * the application's count back after it, so a host such as numpy finds the count it set), because
 * its idle workers busy-wait and would compete with the library's threads for the same cores. Results
 * are reproducible for a given thread count (which thread ran what never matters); a different
 * count can change the last bits, because a product split into other blocks is rounded
 * differently by OpenBLAS.
 *
 * @defgroup context Context
 * @{
 */
#ifndef LIBTRANSFER_CONTEXT_H
#define LIBTRANSFER_CONTEXT_H

#include "common.h"
#include "error.h"
#include "alloc.h"

TF_BEGIN_DECLS

/** @brief Opaque context handle. */
typedef struct tf_ctx tf_ctx_t;

/** @brief Severity of a log message; a callback receives messages at or below its level. */
typedef enum tf_log_level {
    TF_LOG_NONE = 0,  /**< Nothing is logged. */
    TF_LOG_ERROR = 1, /**< Failures (also reported through the status). */
    TF_LOG_WARN = 2,  /**< Something suspicious that did not fail. */
    TF_LOG_INFO = 3,  /**< Progress of long operations. */
    TF_LOG_DEBUG = 4  /**< Details for developers. */
} tf_log_level_t;

/**
 * @brief Log callback. `message` is valid only during the call; `payload` is
 *        tf_ctx_opts_t::log_payload. Called on the thread that uses the context.
 */
typedef void TF_CALLBACK(tf_log_cb)(int32_t level, const char *message, void *payload);

/** Current version of ::tf_ctx_opts_t. */
#define TF_CTX_OPTS_VERSION 1

/**
 * @brief Options for tf_ctx_create(). Fill with tf_ctx_opts_init() (or #TF_CTX_OPTS_INIT).
 */
typedef struct tf_ctx_opts {
    uint32_t struct_size;            /**< sizeof(tf_ctx_opts_t), set by the init function. */
    uint32_t version;                /**< #TF_CTX_OPTS_VERSION, set by the init function. */
    const tf_allocator_t *allocator; /**< Memory hooks, copied; NULL uses the C library. */
    int32_t num_threads;             /**< Threads for compute; 0 = all cores. Default 0. */
    int32_t log_level;               /**< A ::tf_log_level_t; default #TF_LOG_WARN. */
    uint64_t seed;                   /**< Seed of the context's random generator; default 42. */
    tf_log_cb log_cb;                /**< Receives log messages; NULL = silent (default). */
    void *log_payload;               /**< Passed to log_cb. */
} tf_ctx_opts_t;

/** Static initializer with the same defaults as tf_ctx_opts_init(). */
#define TF_CTX_OPTS_INIT                                                                           \
    {                                                                                              \
        (uint32_t)sizeof(tf_ctx_opts_t), TF_CTX_OPTS_VERSION, NULL, 0, TF_LOG_WARN, 42u, NULL, NULL \
    }

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_CTX_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL if `opts` is NULL; #TF_STATUS_EVERSION if `version` is 0
 *         or newer than this library.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_ctx_opts_init(tf_ctx_opts_t *opts, uint32_t version);

/**
 * @brief Create a context.
 * @param[out] out Receives the context; set to NULL on failure.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `out`, negative thread count, bad log level, an
 *         allocator missing a hook, a struct_size smaller than version 1's);
 *         #TF_STATUS_EVERSION (unknown options version); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_ctx_free().
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_ctx_create(tf_ctx_t **out, const tf_ctx_opts_t *opts);

/**
 * @brief Free a context. NULL is a no-op.
 * @param[in] ctx The context; every object created from it must already be freed.
 * @ownership Takes ownership of `ctx`.
 * @threadsafety Not concurrently with any other call on `ctx`; its objects must already be freed.
 */
TF_API void tf_ctx_free(tf_ctx_t *ctx);

/**
 * @brief The number of compute threads the context uses (resolved: never 0).
 * @param[in] ctx The context.
 * @return The thread count, or 0 if `ctx` is NULL.
 * @threadsafety Reads `ctx` only; one thread at a time with `ctx`.
 * @ownership Nothing changes hands.
 */
TF_API int32_t tf_ctx_num_threads(const tf_ctx_t *ctx);

/**
 * @brief Change the number of compute threads.
 * @param[in,out] ctx The context.
 * @param[in] num_threads Threads, at least 1; 0 means all cores.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL for a NULL context or a negative count.
 * @note The count applies to the calls made with this context from then on; two contexts with
 *       different counts can be used at once from different threads.
 * @ownership Nothing changes hands.
 * @threadsafety One thread at a time with `ctx` (its objects read the count).
 */
TF_API tf_status_t tf_ctx_set_num_threads(tf_ctx_t *ctx, int32_t num_threads);

/**
 * @brief The seed the context's random generator started from.
 * @param[in] ctx The context.
 * @return The seed, or 0 if `ctx` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `ctx` only; one thread at a time per context (see context.h).
 */
TF_API uint64_t tf_ctx_seed(const tf_ctx_t *ctx);

/**
 * @brief Restart the context's random generator from `seed` (weight initialisation, dropout and
 *        shuffling draw from it).
 * @param[in,out] ctx The context.
 * @param[in] seed New seed.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL if `ctx` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety One thread at a time with `ctx` (its objects draw from its generator).
 */
TF_API tf_status_t tf_ctx_reseed(tf_ctx_t *ctx, uint64_t seed);

/**
 * @brief Number of objects created from `ctx` and not yet freed (a leak check for hosts).
 * @param[in] ctx The context.
 * @return The count, or 0 if `ctx` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `ctx` only; one thread at a time with `ctx`.
 */
TF_API uint64_t tf_ctx_live_objects(const tf_ctx_t *ctx);

/**
 * @brief Bytes currently allocated through the context's allocator.
 * @param[in] ctx The context.
 * @return The byte count, or 0 if `ctx` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `ctx` only; one thread at a time with `ctx`.
 */
TF_API uint64_t tf_ctx_allocated_bytes(const tf_ctx_t *ctx);

TF_END_DECLS

#endif /* LIBTRANSFER_CONTEXT_H */
/** @} */
