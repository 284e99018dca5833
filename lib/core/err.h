/* SPDX-License-Identifier: MIT */
/* Internal error helpers: record a thread-local message and return a status.
 *
 * A message starts with the public function the caller called, then ": " ("tf_tensor_create:
 * shape[1] is -3"). The public function names itself with __func__ ("%s: ...", __func__), never a
 * literal copy of its name, which a rename would leave behind; code below it that serves several
 * public functions takes that name as a `const char *fn` parameter; code that serves exactly one
 * public function through a table (a module's forward) names it with a literal. */
#ifndef TF_CORE_ERR_H
#define TF_CORE_ERR_H

#include "transfer/error.h"

#if defined(__GNUC__) || defined(__clang__)
#define TF__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TF__PRINTF(f, a)
#endif

/* Record `code` and a printf-style message for the calling thread; returns `code`. */
tf_status_t tf__error(tf_status_t code, const char *fmt, ...) TF__PRINTF(2, 3);

/* Return from the current function with a recorded error. */
#define TF_FAIL(code, ...) return tf__error((code), __VA_ARGS__)

/* Record an error into `st` and jump to `label`: TF_FAIL for functions with a cleanup path. */
#define TF_FAIL_GOTO(st, label, code, ...)                                                         \
    do {                                                                                           \
        (st) = tf__error((code), __VA_ARGS__);                                                     \
        goto label;                                                                                \
    } while (0)

/* Propagate a non-OK status unchanged (the callee already recorded the message). */
#define TF_CHECK(expr)                                                                             \
    do {                                                                                           \
        tf_status_t tf__st = (expr);                                                               \
        if (tf__st != TF_STATUS_OK)                                                                \
            return tf__st;                                                                         \
    } while (0)

/* Store a status in `st` and jump to `label` when it is not OK (for cleanup paths). */
#define TF_CHECK_GOTO(st, expr, label)                                                             \
    do {                                                                                           \
        (st) = (expr);                                                                             \
        if ((st) != TF_STATUS_OK)                                                                  \
            goto label;                                                                            \
    } while (0)

/* Reject a NULL argument with EINVAL, naming the function and the argument. */
#define TF_REQUIRE_ARG(ptr)                                                                        \
    do {                                                                                           \
        if ((ptr) == NULL)                                                                         \
            return tf__error(TF_STATUS_EINVAL, "%s: argument '%s' is NULL", __func__, #ptr);       \
    } while (0)

#endif
