/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/error.h
 * @brief Status codes and the thread-local last-error message.
 *
 * Every fallible libtransfer function returns a ::tf_status_t. #TF_STATUS_OK is 0; every error is a
 * positive number that is never renumbered or reused. New codes may be added in later versions, so
 * treat any unknown non-zero value as a failure.
 *
 * On failure the library also records a human-readable message for the calling thread. Read it with
 * tf_last_error_message() on the thread that made the failing call, before making another
 * libtransfer call on that thread. Success does not clear it.
 *
 * @defgroup error Errors
 * @{
 */
#ifndef LIBTRANSFER_ERROR_H
#define LIBTRANSFER_ERROR_H

#include "common.h"

TF_BEGIN_DECLS

/**
 * @brief Result of every fallible call. Values are stable across versions.
 */
typedef enum tf_status {
    TF_STATUS_OK = 0,          /**< Success. */
    TF_STATUS_EINVAL = 1,      /**< An argument is invalid (NULL handle, bad option, out of range). */
    TF_STATUS_ENOMEM = 2,      /**< The allocator returned NULL. */
    TF_STATUS_ESHAPE = 3,      /**< Tensor shapes are invalid or do not agree. */
    TF_STATUS_EDTYPE = 4,      /**< A tensor has the wrong element type. */
    TF_STATUS_EBUFSIZE = 5,    /**< A caller-supplied buffer has the wrong size. */
    TF_STATUS_EIO = 6,         /**< A file could not be opened, read, written or synced. */
    TF_STATUS_EFORMAT = 7,     /**< A file or data stream is malformed or corrupt. */
    TF_STATUS_EVERSION = 8,    /**< An options struct or a file is from an unknown (newer) version. */
    TF_STATUS_ESTATE = 9,      /**< The call is not valid in the object's current state. */
    TF_STATUS_ENOTSUP = 10,    /**< The operation is not supported by this build or object. */
    TF_STATUS_ECANCELED = 11,  /**< A user callback asked to stop. */
    /* 12 is not used (it was TF_STATUS_EUSER, which no call returned); the numbers stay stable. */
    TF_STATUS_EINTERNAL = 13,  /**< Reserved for a broken internal invariant (a bug in libtransfer;
                                    please report it); no current code path returns it. */
    TF_STATUS_EOVERFLOW = 14,  /**< A size computation would overflow. */
    TF_STATUS_ENOTFOUND = 15,  /**< A named item (file, parameter, label) does not exist. */
    TF_STATUS_EDIVERGED = 16   /**< Training produced a non-finite loss and was stopped. */
} tf_status_t;

/**
 * @brief The constant name of a status code, such as "TF_STATUS_EINVAL".
 * @param[in] status Any value; unknown values give "TF_STATUS_UNKNOWN".
 * @return A static string, never NULL.
 * @ownership borrowed (static storage). @threadsafety Safe from any thread.
 */
TF_API const char *tf_status_str(tf_status_t status);

/**
 * @brief The message of the last failure on the calling thread.
 * @return A NUL-terminated string; "" if no call on this thread has failed yet.
 * @ownership borrowed: valid until the next libtransfer call on the same thread.
 * @threadsafety Thread-local: each thread sees its own message.
 */
TF_API const char *tf_last_error_message(void);

/**
 * @brief The status of the last failure on the calling thread.
 * @return The code recorded with tf_last_error_message(), or #TF_STATUS_OK if none.
 * @threadsafety Thread-local.
 * @ownership Nothing changes hands.
 */
TF_API tf_status_t tf_last_error_code(void);

/**
 * @brief Forget the calling thread's last error (code becomes #TF_STATUS_OK, message "").
 * @threadsafety Thread-local.
 * @ownership Nothing changes hands.
 */
TF_API void tf_last_error_clear(void);

TF_END_DECLS

#endif /* LIBTRANSFER_ERROR_H */
/** @} */
