/* SPDX-License-Identifier: MIT */
/* Shared helpers for the CMocka tests: a counting allocator that can fail on demand, status
 * assertions that print the library's message, and a main() that runs one named case. */
#ifndef TF_TEST_H
#define TF_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "transfer.h"

/* Counting allocator. fail_at = N makes the N-th allocation (1-based) fail; 0 never fails. */
typedef struct tf_test_alloc {
    tf_allocator_t hooks;
    long allocs;      /* successful allocations so far */
    long frees;       /* frees so far */
    long attempts;    /* calls to alloc, failed or not */
    long fail_at;     /* attempt number to fail, 0 = never */
    size_t last_align;
    void *live[256]; /* outstanding blocks, for tests that free a context with live children */
} tf_test_alloc_t;

void tf_test_alloc_init(tf_test_alloc_t *ta);
/* Free every block still outstanding. */
void tf_test_alloc_release_all(tf_test_alloc_t *ta);

/* A context with the counting allocator; the test owns both. */
tf_ctx_t *tf_test_ctx_new(tf_test_alloc_t *ta);

/* Fixture state for cmocka setup/teardown: a plain context in *state. */
int tf_test_setup_ctx(void **state);
int tf_test_teardown_ctx(void **state);

/* Assert a status, printing the library's last-error message when it differs. */
#define assert_status(expr, expected)                                                              \
    do {                                                                                           \
        tf_status_t tf_test_st_ = (expr);                                                          \
        if (tf_test_st_ != (expected))                                                             \
            print_error("%s returned %s, expected %s; last error: %s\n", #expr,                    \
                        tf_status_str(tf_test_st_), tf_status_str(expected),                       \
                        tf_last_error_message());                                                  \
        assert_int_equal(tf_test_st_, (expected));                                                 \
    } while (0)

#define assert_ok(expr) assert_status((expr), TF_STATUS_OK)

/* Inside main(argc, argv): run the group; with an argument, only the case of that name (each
 * case is its own CTest test). */
#define TF_TEST_RUN(tests)                                                                         \
    (tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0                         \
         ? 1                                                                                       \
         : cmocka_run_group_tests(tests, NULL, NULL))

/* A context with one compute thread and this seed (for runs that must repeat exactly). */
tf_ctx_t *tf_test_ctx_seeded(uint64_t seed);

/* Remove a temporary directory and everything in it (a group teardown); 0 on success. */
int tf_test_remove_tree(const char *dir);

/* Loader options for validation data: batch `batch_size`, in order, with the label names (and
 * ids) of `from`; `names` must hold them and outlive the loader's creation. */
tf_loader_opts_t tf_test_opts_with_labels(const tf_loader_t *from, const char **names,
                                          int32_t batch_size);

/* Copy the saved model `from` to `to` with metadata `key` set to `value` (NULL: without it); the
 * tensors and the other libtransfer metadata are copied as they are. */
void tf_test_rewrite_meta(tf_ctx_t *ctx, const char *from, const char *to, const char *key,
                          const char *value);

/* Set the case filter from argv[1]; nonzero (and a message) if no case has that name, so a case
 * defined but left out of the group cannot pass by running nothing. */
int tf_test_select(int argc, char **argv, const struct CMUnitTest *tests, size_t count);

#endif
