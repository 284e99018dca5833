/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/common.h
 * @brief Export macros, calling-convention macros and the fixed-width types every header uses.
 *
 * @defgroup common Common definitions
 * @{
 */
#ifndef LIBTRANSFER_COMMON_H
#define LIBTRANSFER_COMMON_H

#include <stddef.h>
#include <stdint.h>

/** @cond INTERNAL */
#ifdef __cplusplus
#define TF_BEGIN_DECLS extern "C" {
#define TF_END_DECLS }
#else
#define TF_BEGIN_DECLS
#define TF_END_DECLS
#endif

#ifndef TF_API
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(TF_STATIC)
#define TF_API
#elif defined(TF_BUILDING_LIBRARY)
#define TF_API __declspec(dllexport)
#else
#define TF_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define TF_API __attribute__((visibility("default")))
#else
#define TF_API
#endif
#endif

#ifndef TF_CALLBACK
#if defined(_WIN32) && defined(_MSC_VER)
#define TF_CALLBACK(name) (__cdecl *name)
#else
#define TF_CALLBACK(name) (*name)
#endif
#endif

#ifndef TF_DEPRECATED
#if defined(TF_NO_DEPRECATION_WARNINGS)
#define TF_DEPRECATED(msg)
#elif defined(__GNUC__) || defined(__clang__)
#define TF_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define TF_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#define TF_DEPRECATED(msg)
#endif
#endif
/** @endcond */

#endif /* LIBTRANSFER_COMMON_H */
/** @} */
