/* SPDX-License-Identifier: MIT */
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

/* A context and its objects are used by one thread at a time (transfer/context.h), so the counters
 * and the random generator are plain fields; a compute call's helper threads never allocate. */
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
/* Advice, before a large block is first written, that its whole 2 MiB pages be huge pages (Linux
 * transparent huge pages, where enabled): a table read one random row at a time then costs no
 * page walk per row. Does nothing elsewhere, and nothing is promised. */
void tf__advise_huge_pages(void *p, size_t size);

/* The growable array: make *p (capacity *cap elements of `elem` bytes) hold at least `need`
 * elements, doubling from 16; the elements kept are copied, the new ones zeroed. ENOMEM (message
 * recorded) leaves *p and *cap as they were. tf__grow_i32 is the same for int32_t arrays. */
tf_status_t tf__grow_bytes(tf_ctx_t *ctx, void **p, size_t *cap, size_t need, size_t elem);
tf_status_t tf__grow_i32(tf_ctx_t *ctx, int32_t **p, size_t *cap, size_t need);

/* Create/free accounting of public handles (tf_ctx_live_objects). */
void tf__object_created(tf_ctx_t *ctx);
void tf__object_freed(tf_ctx_t *ctx);

/* UTF-8 (utf8.c). tf__utf8_seq_len: the length (1 to 4) of the well-formed sequence starting at
 * s[0], 0 if it is not one (no overlongs, surrogates or code points past U+10FFFF; n == 0 gives 0).
 * tf__utf8_valid: 1 if s[0..n) is well-formed UTF-8. */
size_t tf__utf8_seq_len(const unsigned char *s, size_t n);
int tf__utf8_valid(const char *s, size_t n);

/* Overflow-checked size arithmetic: return 0 and leave *out alone on overflow. */
int tf__mul_size(size_t a, size_t b, size_t *out);
int tf__add_size(size_t a, size_t b, size_t *out);

/* Log through the context's callback when `level` is at or below its level. */
void tf__log(const tf_ctx_t *ctx, int32_t level, const char *fmt, ...) TF__PRINTF(3, 4);

/* The published layout of one public struct that starts with {uint32_t struct_size; uint32_t
 * version;} (options, and the results structs the library fills): sizes[v] is where version v's
 * last field ends, v = 1..current, so no caller's sizeof of that version is smaller; `size` is
 * sizeof the library's own struct. Define one with TF__OPTS_LAYOUT; docs/ABI.md has the rules. */
typedef struct tf__opts_layout {
    const char *type;
    uint32_t current;
    const size_t *sizes;
    size_t size;
} tf__opts_layout_t;

/* Where `field` of `type` ends: the published size of the version whose last field it is. */
#define TF__OPTS_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* The options-growth test builds the library against headers whose structs all grew a trailing
 * int64_t test_grown_field in one more version (tests/abi/test_opts_grown.c). */
#ifdef TF_TEST_GROWN_OPTS
#define TF__TEST_GROWN_DEFAULT INT64_C(0x6772776E)
#define TF__OPTS_GROWN(type) , TF__OPTS_END(type, test_grown_field)
#else
#define TF__OPTS_GROWN(type)
#endif

/* Define the layout `name` of `type`, whose current version is `version`; the remaining arguments
 * are the sizes of versions 1..version in order, each TF__OPTS_END(type, last field). */
#define TF__OPTS_LAYOUT(name, type, version, ...)                                                  \
    static const size_t name##_sizes[] = {0, __VA_ARGS__ TF__OPTS_GROWN(type)};                    \
    _Static_assert(sizeof name##_sizes / sizeof name##_sizes[0] == (size_t)(version) + 1,          \
                   #type ": one size per version");                                                \
    const tf__opts_layout_t name = {#type, (uint32_t)(version), name##_sizes, sizeof(type)}

/* An *_init function: check `opts` and `version`, then write the first bytes of `defaults` (a
 * struct of the library's size, its head overwritten) that the caller's version has. */
tf_status_t tf__opts_init(
    void *opts, uint32_t version, void *defaults, const tf__opts_layout_t *l, const char *what);

/* Read a caller's options struct `src` (NULL = defaults) into `dst`, which holds the library's
 * defaults: accepts any version this library knows whose struct_size covers it, copies that
 * version's fields, keeps the defaults of newer ones and sets dst's head to the library's own.
 * Fails with EINVAL/EVERSION and a message naming `what` and the type. */
tf_status_t tf__opts_read(void *dst, const void *src, const tf__opts_layout_t *l, const char *what);

/* Check a caller's results struct `res` as tf__opts_read does and give the number of its bytes
 * the library may write. */
tf_status_t
tf__results_size(const void *res, const tf__opts_layout_t *l, const char *what, size_t *bytes);

/* Layouts of the public structs; each is defined next to its *_init function. */
extern const tf__opts_layout_t tf__ctx_opts_layout;
extern const tf__opts_layout_t tf__vocab_opts_layout;
extern const tf__opts_layout_t tf__loader_opts_layout;
extern const tf__opts_layout_t tf__tensorfile_opts_layout;
extern const tf__opts_layout_t tf__embedding_opts_layout;
extern const tf__opts_layout_t tf__linear_opts_layout;
extern const tf__opts_layout_t tf__dropout_opts_layout;
extern const tf__opts_layout_t tf__rnn_opts_layout;
extern const tf__opts_layout_t tf__encoder_opts_layout;
extern const tf__opts_layout_t tf__optimizer_opts_layout;
extern const tf__opts_layout_t tf__model_opts_layout;
extern const tf__opts_layout_t tf__pretrain_opts_layout;
extern const tf__opts_layout_t tf__finetune_opts_layout;
extern const tf__opts_layout_t tf__distill_opts_layout;
extern const tf__opts_layout_t tf__adapt_opts_layout;
extern const tf__opts_layout_t tf__import_opts_layout;
extern const tf__opts_layout_t tf__export_opts_layout;
extern const tf__opts_layout_t tf__train_report_layout;
extern const tf__opts_layout_t tf__metrics_layout;
extern const tf__opts_layout_t tf__explain_opts_layout;
extern const tf__opts_layout_t tf__explain_result_layout;
extern const tf__opts_layout_t tf__predictor_opts_layout;

#endif
