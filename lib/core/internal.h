/* Private definitions shared by every layer of lib/: the context, allocation, logging, options
 * handling and the random generator. Never installed. */
#ifndef TF_CORE_INTERNAL_H
#define TF_CORE_INTERNAL_H

#include "transfer.h"
#include "err.h"
#include "rng.h"

#include <stddef.h>
#include <stdint.h>

/* Alignment of every block from tf__alloc: wide enough for AVX-512 loads and cache lines. */
#define TF__ALIGN 64

struct tf_ctx {
    tf_allocator_t allocator;
    int32_t num_threads; /* resolved, >= 1 */
    int32_t log_level;
    uint64_t seed;
    tf__rng_t rng;
    tf_log_cb log_cb;
    void *log_payload;
    uint64_t live_objects;
    uint64_t allocated_bytes;
};

/* Allocation through the context's hooks. Blocks are TF__ALIGN-aligned. tf__alloc records
 * TF_STATUS_ENOMEM on failure (the caller returns it). tf__calloc is overflow-checked and zeroes. */
void *tf__alloc(tf_ctx_t *ctx, size_t size);
void *tf__calloc(tf_ctx_t *ctx, size_t count, size_t size);
void tf__free(tf_ctx_t *ctx, void *ptr);
char *tf__strdup(tf_ctx_t *ctx, const char *s);

/* Create/free accounting of public handles (tf_ctx_live_objects). */
void tf__object_created(tf_ctx_t *ctx);
void tf__object_freed(tf_ctx_t *ctx);

/* Overflow-checked size arithmetic: return 0 and leave *out alone on overflow. */
int tf__mul_size(size_t a, size_t b, size_t *out);
int tf__add_size(size_t a, size_t b, size_t *out);

/* Log through the context's callback when `level` is at or below its level. */
void tf__log(const tf_ctx_t *ctx, int32_t level, const char *fmt, ...) TF__PRINTF(3, 4);

/* Read a caller options struct that starts with {uint32_t struct_size; uint32_t version;}.
 * `dst` holds the defaults (dst_size = sizeof the library's struct); the caller's first
 * min(struct_size, dst_size) bytes are copied over them. `min_size` is the size of version 1 of
 * the struct. Fails with EINVAL/EVERSION and a message naming `what`. */
tf_status_t tf__opts_read(void *dst,
                          size_t dst_size,
                          const void *src,
                          size_t min_size,
                          uint32_t current_version,
                          const char *what);

/* Validate an options struct pointer for an *_opts_init call and zero it. */
tf_status_t tf__opts_init_check(void *opts, uint32_t version, uint32_t current, const char *what);

/* How many threads the calling thread's next GEMMs (and the kernels that follow the same setting)
 * may use; the setting is per thread. tf__blas_threads reads it back. */
void tf__blas_set_threads(int32_t num_threads);
int32_t tf__blas_threads(void);

#endif
