/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/tensor.h
 * @brief Tensors: dense, row-major arrays of f32 or i32 with 1 to 4 dimensions.
 *
 * A tensor either owns its memory (tf_tensor_create(), allocated through the context's allocator,
 * 64-byte aligned and zero-filled) or wraps memory the caller owns (tf_tensor_wrap(), zero-copy;
 * libtransfer never frees it, and the caller keeps it alive until the tensor is freed).
 *
 * Shapes follow PyTorch's notation: the last dimension is contiguous.
 *
 * @defgroup tensor Tensors
 * @{
 */
#ifndef LIBTRANSFER_TENSOR_H
#define LIBTRANSFER_TENSOR_H

#include "common.h"
#include "error.h"
#include "context.h"

TF_BEGIN_DECLS

/** @brief Opaque tensor handle. */
typedef struct tf_tensor tf_tensor_t;

/** @brief Element type. Values are stable. */
typedef enum tf_dtype {
    TF_DTYPE_F32 = 1, /**< 32-bit IEEE float. */
    TF_DTYPE_I32 = 2  /**< 32-bit signed integer. */
} tf_dtype_t;

/** Largest number of dimensions a tensor can have. */
#define TF_TENSOR_MAX_DIMS 4

/**
 * @brief Size in bytes of one element of `dtype`.
 * @param[in] dtype A ::tf_dtype_t value.
 * @return 4 for #TF_DTYPE_F32 and #TF_DTYPE_I32, 0 for an unknown dtype.
 * @threadsafety Safe from any thread.
 * @ownership Nothing changes hands.
 */
TF_API size_t tf_dtype_size(int32_t dtype);

/**
 * @brief Create a tensor that owns zero-filled memory.
 * @param[out] out Receives the tensor; NULL on failure.
 * @param[in] ctx Context whose allocator provides the memory.
 * @param[in] dtype A ::tf_dtype_t value.
 * @param[in] shape `ndim` sizes, each at least 1.
 * @param[in] ndim 1 to #TF_TENSOR_MAX_DIMS.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_EDTYPE (unknown dtype);
 *         #TF_STATUS_ESHAPE (bad `ndim` or a size below 1); #TF_STATUS_EOVERFLOW (the byte size
 *         does not fit in size_t); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_tensor_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_tensor_create(tf_tensor_t **out,
                                    tf_ctx_t *ctx,
                                    int32_t dtype,
                                    const int64_t *shape,
                                    uint32_t ndim);

/**
 * @brief Wrap caller memory as a tensor without copying.
 * @param[out] out Receives the tensor; NULL on failure.
 * @param[in] ctx Context (allocates only the small handle).
 * @param[in] dtype A ::tf_dtype_t value.
 * @param[in] shape `ndim` sizes, each at least 1.
 * @param[in] ndim 1 to #TF_TENSOR_MAX_DIMS.
 * @param[in] data Caller memory, aligned to the element size.
 * @param[in] data_bytes Size of `data`; must be at least the tensor's byte size.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, misaligned `data`); #TF_STATUS_EDTYPE;
 *         #TF_STATUS_ESHAPE; #TF_STATUS_EOVERFLOW; #TF_STATUS_EBUFSIZE (`data_bytes` too small);
 *         #TF_STATUS_ENOMEM.
 * @ownership caller owns the handle (free with tf_tensor_free()); `data` stays the caller's and is
 *            never freed by libtransfer.
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_tensor_wrap(tf_tensor_t **out,
                                  tf_ctx_t *ctx,
                                  int32_t dtype,
                                  const int64_t *shape,
                                  uint32_t ndim,
                                  void *data,
                                  size_t data_bytes);

/**
 * @brief Free a tensor (and its memory if it owns it). NULL is a no-op.
 * @param[in] t The tensor.
 * @ownership Takes ownership of `t`.
 * @threadsafety One thread at a time with `t`'s context (it allocates through it).
 */
TF_API void tf_tensor_free(tf_tensor_t *t);

/**
 * @brief The element type.
 * @param[in] t The tensor.
 * @return A ::tf_dtype_t value, or 0 if `t` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API int32_t tf_tensor_dtype(const tf_tensor_t *t);

/**
 * @brief The number of dimensions.
 * @param[in] t The tensor.
 * @return 1 to #TF_TENSOR_MAX_DIMS, or 0 if `t` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API uint32_t tf_tensor_ndim(const tf_tensor_t *t);

/**
 * @brief The size of one dimension.
 * @param[in] t The tensor.
 * @param[in] axis 0 to ndim-1.
 * @return The size, or 0 if `t` is NULL or `axis` is out of range.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API int64_t tf_tensor_dim(const tf_tensor_t *t, uint32_t axis);

/**
 * @brief Copy the shape into a caller array.
 * @param[in] t The tensor.
 * @param[out] shape_out Receives ndim sizes.
 * @param[in] capacity Number of elements `shape_out` can hold.
 * @param[out] ndim_out Receives the number of dimensions (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL tensor or shape_out); #TF_STATUS_EBUFSIZE
 *         (`capacity` below ndim).
 * @ownership `shape_out` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API tf_status_t tf_tensor_shape(const tf_tensor_t *t,
                                   int64_t *shape_out,
                                   uint32_t capacity,
                                   uint32_t *ndim_out);

/**
 * @brief The number of elements (product of the shape).
 * @param[in] t The tensor.
 * @return The count, or 0 if `t` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API int64_t tf_tensor_numel(const tf_tensor_t *t);

/**
 * @brief The size of the data in bytes.
 * @param[in] t The tensor.
 * @return numel * element size, or 0 if `t` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API size_t tf_tensor_nbytes(const tf_tensor_t *t);

/**
 * @brief Direct access to the elements (row-major).
 * @param[in] t The tensor.
 * @return The data pointer, or NULL if `t` is NULL.
 * @ownership borrowed: valid until the tensor is freed.
 * @threadsafety Not concurrently with calls that write `t`; the caller synchronises its own reads
 *               and writes.
 */
TF_API void *tf_tensor_data(tf_tensor_t *t);

/**
 * @brief Whether the tensor wraps caller memory.
 * @param[in] t The tensor.
 * @return 1 for a wrapped tensor, 0 for an owning one or NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API int32_t tf_tensor_is_wrapped(const tf_tensor_t *t);

/**
 * @brief Copy all elements from caller memory into the tensor.
 * @param[in,out] t The tensor.
 * @param[in] src Source elements of the tensor's dtype, row-major.
 * @param[in] src_bytes Size of `src`; must equal tf_tensor_nbytes().
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_EBUFSIZE (size differs).
 * @ownership `src` is copied and stays the caller's.
 * @threadsafety Writes `t`; one thread at a time with its context.
 */
TF_API tf_status_t tf_tensor_copy_from(tf_tensor_t *t, const void *src, size_t src_bytes);

/**
 * @brief Copy all elements out into caller memory.
 * @param[in] t The tensor.
 * @param[out] dst Destination buffer.
 * @param[in] dst_bytes Size of `dst`; must be at least tf_tensor_nbytes().
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_EBUFSIZE (too small).
 * @ownership `dst` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API tf_status_t tf_tensor_copy_to(const tf_tensor_t *t, void *dst, size_t dst_bytes);

/**
 * @brief Set every element to `value` (converted to the dtype; for i32 it must be integral and
 *        in range).
 * @param[in,out] t The tensor.
 * @param[in] value The value.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL tensor, or a value an i32 cannot hold exactly).
 * @ownership Nothing changes hands.
 * @threadsafety Writes `t`; one thread at a time with its context.
 */
TF_API tf_status_t tf_tensor_fill(tf_tensor_t *t, double value);

/**
 * @brief Change the shape without moving data; the element count must stay the same.
 * @param[in,out] t The tensor.
 * @param[in] shape New sizes, each at least 1.
 * @param[in] ndim 1 to #TF_TENSOR_MAX_DIMS.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_ESHAPE (bad shape or a
 *         different element count). The tensor is unchanged on failure.
 * @ownership `shape` is copied and stays the caller's.
 * @threadsafety Writes `t`; one thread at a time with its context.
 */
TF_API tf_status_t tf_tensor_reshape(tf_tensor_t *t, const int64_t *shape, uint32_t ndim);

/**
 * @brief Mark a tensor as trainable (1) or frozen (0). Optimizers skip frozen tensors and modules
 *        skip computing their gradients. New tensors are trainable.
 * @param[in,out] t The tensor.
 * @param[in] requires_grad 0 or 1.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL tensor or a value other than 0 and 1).
 * @ownership Nothing changes hands.
 * @threadsafety Writes `t`; one thread at a time with its context.
 */
TF_API tf_status_t tf_tensor_set_requires_grad(tf_tensor_t *t, int32_t requires_grad);

/**
 * @brief Whether the tensor is trainable.
 * @param[in] t The tensor.
 * @return 1 if trainable, 0 if frozen or NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `t` only: a tensor that no thread writes may be read from several threads at
 *               once.
 */
TF_API int32_t tf_tensor_requires_grad(const tf_tensor_t *t);

TF_END_DECLS

#endif /* LIBTRANSFER_TENSOR_H */
/** @} */
