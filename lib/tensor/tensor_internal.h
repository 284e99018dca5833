/* SPDX-License-Identifier: MIT */
/* The tensor struct, visible to every layer inside lib/. */
#ifndef TF_TENSOR_INTERNAL_H
#define TF_TENSOR_INTERNAL_H

#include "../core/internal.h"

struct tf_tensor {
    tf_ctx_t *ctx;
    int32_t dtype;
    uint32_t ndim;
    int64_t shape[TF_TENSOR_MAX_DIMS];
    int64_t numel;
    size_t nbytes;
    void *data;
    int32_t owned;         /* 1: data came from tf__alloc and is freed with the tensor */
    int32_t requires_grad; /* 0: frozen */
};

/* Validate dtype and shape and compute the element count and byte size (overflow-checked).
 * `fn` names the public function in the error message. */
tf_status_t tf__tensor_check_shape(const char *fn,
                                   int32_t dtype,
                                   const int64_t *shape,
                                   uint32_t ndim,
                                   int64_t *numel_out,
                                   size_t *nbytes_out);

/* Typed views; callers have checked the dtype. */
static inline float *tf__f32(tf_tensor_t *t)
{
    return (float *)t->data;
}
static inline int32_t *tf__i32(tf_tensor_t *t)
{
    return (int32_t *)t->data;
}

/* Fail with EDTYPE / ESHAPE when a tensor argument does not have the expected dtype / shape. */
tf_status_t tf__tensor_expect(const char *fn,
                              const char *name,
                              const tf_tensor_t *t,
                              int32_t dtype,
                              uint32_t ndim,
                              const int64_t *shape);

#endif
