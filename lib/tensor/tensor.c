/* SPDX-License-Identifier: MIT */
/* Tensors: owned or wrapped dense arrays, with overflow-checked shapes. */
#include "transfer/tensor.h"
#include "tensor_internal.h"

#include <math.h>
#include <string.h>

size_t tf_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case TF_DTYPE_F32: return sizeof(float);
    case TF_DTYPE_I32: return sizeof(int32_t);
    default: return 0;
    }
}

tf_status_t tf__tensor_check_shape(const char *fn,
                                   int32_t dtype,
                                   const int64_t *shape,
                                   uint32_t ndim,
                                   int64_t *numel_out,
                                   size_t *nbytes_out)
{
    size_t esize = tf_dtype_size(dtype);
    size_t count = 1, bytes;
    if (esize == 0)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: dtype %d is not a tf_dtype_t", fn, dtype);
    if (ndim < 1 || ndim > TF_TENSOR_MAX_DIMS)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: ndim is %u; tensors have 1 to %d dimensions", fn, ndim,
                TF_TENSOR_MAX_DIMS);
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            TF_FAIL(TF_STATUS_ESHAPE, "%s: shape[%u] is %lld; sizes must be at least 1", fn, i,
                    (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX || !tf__mul_size(count, (size_t)shape[i], &count))
            TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the element count of the shape overflows", fn);
    }
    if (!tf__mul_size(count, esize, &bytes) || bytes > (size_t)INT64_MAX || count > (size_t)INT64_MAX)
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the byte size of the shape overflows", fn);
    *numel_out = (int64_t)count;
    *nbytes_out = bytes;
    return TF_STATUS_OK;
}

static tf_status_t tensor_new(tf_tensor_t **out,
                              tf_ctx_t *ctx,
                              int32_t dtype,
                              const int64_t *shape,
                              uint32_t ndim,
                              const char *fn)
{
    int64_t numel;
    size_t nbytes;
    TF_CHECK(tf__tensor_check_shape(fn, dtype, shape, ndim, &numel, &nbytes));
    tf_tensor_t *t = tf__calloc(ctx, 1, sizeof *t);
    if (t == NULL)
        return TF_STATUS_ENOMEM;
    t->ctx = ctx;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, ndim * sizeof *shape);
    t->numel = numel;
    t->nbytes = nbytes;
    t->requires_grad = 1;
    *out = t;
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_create(tf_tensor_t **out,
                             tf_ctx_t *ctx,
                             int32_t dtype,
                             const int64_t *shape,
                             uint32_t ndim)
{
    tf_tensor_t *t;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(shape);
    TF_CHECK(tensor_new(&t, ctx, dtype, shape, ndim, __func__));
    t->data = tf__calloc(ctx, 1, t->nbytes);
    if (t->data == NULL) {
        tf__free(ctx, t);
        return TF_STATUS_ENOMEM;
    }
    t->owned = 1;
    tf__object_created(ctx);
    *out = t;
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_wrap(tf_tensor_t **out,
                           tf_ctx_t *ctx,
                           int32_t dtype,
                           const int64_t *shape,
                           uint32_t ndim,
                           void *data,
                           size_t data_bytes)
{
    tf_tensor_t *t;
    int64_t numel;
    size_t nbytes;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(shape);
    TF_REQUIRE_ARG(data);
    TF_CHECK(tf__tensor_check_shape(__func__, dtype, shape, ndim, &numel, &nbytes));
    if ((uintptr_t)data % tf_dtype_size(dtype) != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: data is not aligned to %zu bytes", __func__,
                tf_dtype_size(dtype));
    if (data_bytes < nbytes)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: the shape needs %zu bytes but data has %zu", __func__,
                nbytes, data_bytes);
    TF_CHECK(tensor_new(&t, ctx, dtype, shape, ndim, __func__));
    t->data = data;
    t->owned = 0;
    tf__object_created(ctx);
    *out = t;
    return TF_STATUS_OK;
}

void tf_tensor_free(tf_tensor_t *t)
{
    if (t == NULL)
        return;
    tf_ctx_t *ctx = t->ctx;
    if (t->owned)
        tf__free(ctx, t->data);
    tf__free(ctx, t);
    tf__object_freed(ctx);
}

int32_t tf_tensor_dtype(const tf_tensor_t *t)
{
    return t ? t->dtype : 0;
}

uint32_t tf_tensor_ndim(const tf_tensor_t *t)
{
    return t ? t->ndim : 0;
}

int64_t tf_tensor_dim(const tf_tensor_t *t, uint32_t axis)
{
    return (t && axis < t->ndim) ? t->shape[axis] : 0;
}

tf_status_t tf_tensor_shape(const tf_tensor_t *t,
                            int64_t *shape_out,
                            uint32_t capacity,
                            uint32_t *ndim_out)
{
    TF_REQUIRE_ARG(t);
    TF_REQUIRE_ARG(shape_out);
    if (capacity < t->ndim)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: capacity %u is below ndim %u", __func__, capacity,
                t->ndim);
    memcpy(shape_out, t->shape, t->ndim * sizeof *shape_out);
    if (ndim_out != NULL)
        *ndim_out = t->ndim;
    return TF_STATUS_OK;
}

int64_t tf_tensor_numel(const tf_tensor_t *t)
{
    return t ? t->numel : 0;
}

size_t tf_tensor_nbytes(const tf_tensor_t *t)
{
    return t ? t->nbytes : 0;
}

void *tf_tensor_data(tf_tensor_t *t)
{
    return t ? t->data : NULL;
}

int32_t tf_tensor_is_wrapped(const tf_tensor_t *t)
{
    return (t && !t->owned) ? 1 : 0;
}

tf_status_t tf_tensor_copy_from(tf_tensor_t *t, const void *src, size_t src_bytes)
{
    TF_REQUIRE_ARG(t);
    TF_REQUIRE_ARG(src);
    if (src_bytes != t->nbytes)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: source has %zu bytes, tensor has %zu", __func__, src_bytes,
                t->nbytes);
    memmove(t->data, src, src_bytes);
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_copy_to(const tf_tensor_t *t, void *dst, size_t dst_bytes)
{
    TF_REQUIRE_ARG(t);
    TF_REQUIRE_ARG(dst);
    if (dst_bytes < t->nbytes)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: buffer has %zu bytes, tensor needs %zu", __func__,
                dst_bytes, t->nbytes);
    memmove(dst, t->data, t->nbytes);
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_fill(tf_tensor_t *t, double value)
{
    TF_REQUIRE_ARG(t);
    if (t->dtype == TF_DTYPE_I32) {
        if (!(value >= -2147483648.0 && value <= 2147483647.0) || value != floor(value))
            TF_FAIL(TF_STATUS_EINVAL, "%s: %g is not an exact 32-bit integer", __func__, value);
        int32_t v = (int32_t)value;
        int32_t *d = tf__i32(t);
        for (int64_t i = 0; i < t->numel; i++)
            d[i] = v;
    } else {
        float v = (float)value;
        float *d = tf__f32(t);
        for (int64_t i = 0; i < t->numel; i++)
            d[i] = v;
    }
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_reshape(tf_tensor_t *t, const int64_t *shape, uint32_t ndim)
{
    int64_t numel;
    size_t nbytes;
    TF_REQUIRE_ARG(t);
    TF_REQUIRE_ARG(shape);
    TF_CHECK(tf__tensor_check_shape(__func__, t->dtype, shape, ndim, &numel, &nbytes));
    if (numel != t->numel)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: new shape has %lld elements, tensor has %lld", __func__,
                (long long)numel, (long long)t->numel);
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, ndim * sizeof *shape);
    t->ndim = ndim;
    return TF_STATUS_OK;
}

tf_status_t tf_tensor_set_requires_grad(tf_tensor_t *t, int32_t requires_grad)
{
    TF_REQUIRE_ARG(t);
    if (requires_grad != 0 && requires_grad != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: value %d is not 0 or 1", __func__, requires_grad);
    t->requires_grad = requires_grad;
    return TF_STATUS_OK;
}

int32_t tf_tensor_requires_grad(const tf_tensor_t *t)
{
    return t ? t->requires_grad : 0;
}

tf_status_t tf__tensor_expect(const char *fn,
                              const char *name,
                              const tf_tensor_t *t,
                              int32_t dtype,
                              uint32_t ndim,
                              const int64_t *shape)
{
    if (t == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: tensor '%s' is NULL", fn, name);
    if (t->dtype != dtype)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: tensor '%s' has dtype %d, expected %d", fn, name, t->dtype,
                dtype);
    if (t->ndim != ndim)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: tensor '%s' has %u dimensions, expected %u", fn, name,
                t->ndim, ndim);
    for (uint32_t i = 0; shape != NULL && i < ndim; i++)
        if (shape[i] >= 0 && t->shape[i] != shape[i])
            TF_FAIL(TF_STATUS_ESHAPE, "%s: tensor '%s' has size %lld on axis %u, expected %lld", fn,
                    name, (long long)t->shape[i], i, (long long)shape[i]);
    return TF_STATUS_OK;
}
