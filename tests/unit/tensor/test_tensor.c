/* SPDX-License-Identifier: MIT */
#include "tf_test.h"
#include <string.h>

static void test_tensor_create_shape_queries(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[3] = {2, 3, 4};
    int64_t got[4] = {0};
    uint32_t nd = 0;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 3));
    assert_int_equal(tf_tensor_dtype(t), TF_DTYPE_F32);
    assert_int_equal(tf_tensor_ndim(t), 3);
    assert_int_equal(tf_tensor_dim(t, 0), 2);
    assert_int_equal(tf_tensor_dim(t, 2), 4);
    assert_int_equal(tf_tensor_dim(t, 3), 0);
    assert_int_equal(tf_tensor_numel(t), 24);
    assert_int_equal(tf_tensor_nbytes(t), 96);
    assert_int_equal(tf_tensor_is_wrapped(t), 0);
    assert_int_equal(tf_tensor_requires_grad(t), 1);
    assert_ok(tf_tensor_shape(t, got, 4, &nd));
    assert_int_equal(nd, 3);
    assert_int_equal(got[1], 3);
    assert_status(tf_tensor_shape(t, got, 2, &nd), TF_STATUS_EBUFSIZE);
    assert_status(tf_tensor_shape(t, NULL, 4, &nd), TF_STATUS_EINVAL);
    assert_status(tf_tensor_shape(NULL, got, 4, &nd), TF_STATUS_EINVAL);
    /* Memory starts zeroed. */
    const float *d = tf_tensor_data(t);
    for (int i = 0; i < 24; i++)
        assert_true(d[i] == 0.0f);
    tf_tensor_free(t);
    tf_tensor_free(NULL);
}

static void test_tensor_create_i32_four_dims(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[4] = {1, 2, 3, 5};
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, shape, 4));
    assert_int_equal(tf_tensor_dtype(t), TF_DTYPE_I32);
    assert_int_equal(tf_tensor_numel(t), 30);
    assert_int_equal(tf_tensor_nbytes(t), 120);
    tf_tensor_free(t);
}

static void test_tensor_create_rejects_bad_arguments(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t = (tf_tensor_t *)ctx;
    const int64_t shape[5] = {2, 2, 2, 2, 2};
    const int64_t zero[2] = {2, 0};
    const int64_t neg[2] = {-1, 2};
    assert_status(tf_tensor_create(NULL, ctx, TF_DTYPE_F32, shape, 1), TF_STATUS_EINVAL);
    assert_status(tf_tensor_create(&t, NULL, TF_DTYPE_F32, shape, 1), TF_STATUS_EINVAL);
    assert_null(t);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_tensor_create(&t, ctx, 0, shape, 1), TF_STATUS_EDTYPE);
    assert_status(tf_tensor_create(&t, ctx, 77, shape, 1), TF_STATUS_EDTYPE);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 0), TF_STATUS_ESHAPE);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 5), TF_STATUS_ESHAPE);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, zero, 2), TF_STATUS_ESHAPE);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, neg, 2), TF_STATUS_ESHAPE);
    assert_null(t);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
}

static void test_tensor_create_overflowing_sizes(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t huge[2] = {INT64_MAX, 2};
    const int64_t wide[4] = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
    const int64_t bytes[1] = {(int64_t)(INT64_MAX / 2)}; /* count fits, count*4 does not */
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, huge, 2), TF_STATUS_EOVERFLOW);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, wide, 4), TF_STATUS_EOVERFLOW);
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_I32, bytes, 1), TF_STATUS_EOVERFLOW);
    assert_null(t);
}

static void test_tensor_create_too_large_is_enomem(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t big[2] = {1 << 30, 1 << 28}; /* 2^58 floats = 1 EiB: no allocator gives it */
    assert_status(tf_tensor_create(&t, ctx, TF_DTYPE_F32, big, 2), TF_STATUS_ENOMEM);
    assert_null(t);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
}

static void test_tensor_create_oom_sweep(void **state)
{
    (void)state;
    const int64_t shape[2] = {8, 8};
    /* Fail each allocation of tf_tensor_create in turn: ENOMEM, nothing leaked, then success. */
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        ta.fail_at = ta.attempts + n;
        tf_tensor_t *t = NULL;
        tf_status_t st = tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 2);
        if (st == TF_STATUS_OK) {
            assert_true(n > 2); /* handle and data both allocate */
            tf_tensor_free(t);
            tf_ctx_free(ctx);
            assert_int_equal(ta.allocs, ta.frees);
            break;
        }
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_null(t);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

static void test_tensor_wrap_is_zero_copy(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    float buf[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    assert_ok(tf_tensor_wrap(&t, ctx, TF_DTYPE_F32, shape, 2, buf, sizeof buf));
    assert_ptr_equal(tf_tensor_data(t), buf);
    assert_int_equal(tf_tensor_is_wrapped(t), 1);
    assert_ok(tf_tensor_fill(t, -2.0));
    assert_true(buf[5] == -2.0f); /* writes land in the caller's memory */
    tf_tensor_free(t);
    assert_true(buf[0] == -2.0f); /* and the memory is still the caller's */
}

static void test_tensor_wrap_rejects_bad_arguments(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    float buf[6];
    const int64_t shape[2] = {2, 3};
    assert_status(tf_tensor_wrap(&t, ctx, TF_DTYPE_F32, shape, 2, NULL, 24), TF_STATUS_EINVAL);
    assert_status(tf_tensor_wrap(&t, ctx, TF_DTYPE_F32, shape, 2, buf, 20), TF_STATUS_EBUFSIZE);
    assert_status(tf_tensor_wrap(&t, ctx, TF_DTYPE_F32, shape, 2, (char *)buf + 1, 23),
                  TF_STATUS_EINVAL);
    assert_status(tf_tensor_wrap(&t, ctx, 9, shape, 2, buf, 24), TF_STATUS_EDTYPE);
    assert_status(tf_tensor_wrap(&t, ctx, TF_DTYPE_F32, shape, 0, buf, 24), TF_STATUS_ESHAPE);
    assert_status(tf_tensor_wrap(NULL, ctx, TF_DTYPE_F32, shape, 2, buf, 24), TF_STATUS_EINVAL);
    assert_status(tf_tensor_wrap(&t, NULL, TF_DTYPE_F32, shape, 2, buf, 24), TF_STATUS_EINVAL);
    assert_null(t);
}

static void test_tensor_copy_in_and_out(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[1] = {5};
    int32_t in[5] = {5, -4, 3, -2, 1}, out[6] = {0};
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, shape, 1));
    assert_ok(tf_tensor_copy_from(t, in, sizeof in));
    assert_ok(tf_tensor_copy_to(t, out, sizeof out)); /* larger buffer is fine */
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(out[5], 0);
    assert_status(tf_tensor_copy_from(t, in, sizeof in - 4), TF_STATUS_EBUFSIZE);
    assert_status(tf_tensor_copy_from(t, in, sizeof in + 4), TF_STATUS_EBUFSIZE);
    assert_status(tf_tensor_copy_to(t, out, sizeof in - 1), TF_STATUS_EBUFSIZE);
    assert_status(tf_tensor_copy_from(NULL, in, sizeof in), TF_STATUS_EINVAL);
    assert_status(tf_tensor_copy_from(t, NULL, sizeof in), TF_STATUS_EINVAL);
    assert_status(tf_tensor_copy_to(NULL, out, sizeof out), TF_STATUS_EINVAL);
    assert_status(tf_tensor_copy_to(t, NULL, sizeof out), TF_STATUS_EINVAL);
    tf_tensor_free(t);
}

static void test_tensor_fill_checks_i32_range(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[1] = {3};
    int32_t out[3];
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, shape, 1));
    assert_ok(tf_tensor_fill(t, -7));
    assert_ok(tf_tensor_copy_to(t, out, sizeof out));
    assert_int_equal(out[2], -7);
    assert_status(tf_tensor_fill(t, 0.5), TF_STATUS_EINVAL);
    assert_status(tf_tensor_fill(t, 3e9), TF_STATUS_EINVAL);
    assert_status(tf_tensor_fill(t, 0.0 / 0.0), TF_STATUS_EINVAL);
    assert_status(tf_tensor_fill(NULL, 1), TF_STATUS_EINVAL);
    assert_ok(tf_tensor_copy_to(t, out, sizeof out));
    assert_int_equal(out[0], -7); /* unchanged after the failures */
    tf_tensor_free(t);
}

static void test_tensor_reshape(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[2] = {4, 6};
    const int64_t flat[1] = {24};
    const int64_t wrong[2] = {5, 5};
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 2));
    assert_ok(tf_tensor_reshape(t, flat, 1));
    assert_int_equal(tf_tensor_ndim(t), 1);
    assert_int_equal(tf_tensor_dim(t, 0), 24);
    assert_int_equal(tf_tensor_dim(t, 1), 0);
    assert_status(tf_tensor_reshape(t, wrong, 2), TF_STATUS_ESHAPE);
    assert_int_equal(tf_tensor_ndim(t), 1); /* unchanged */
    assert_status(tf_tensor_reshape(t, flat, 0), TF_STATUS_ESHAPE);
    assert_status(tf_tensor_reshape(t, NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_tensor_reshape(NULL, flat, 1), TF_STATUS_EINVAL);
    tf_tensor_free(t);
}

static void test_tensor_requires_grad_flag(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensor_t *t;
    const int64_t shape[1] = {2};
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 1));
    assert_ok(tf_tensor_set_requires_grad(t, 0));
    assert_int_equal(tf_tensor_requires_grad(t), 0);
    assert_ok(tf_tensor_set_requires_grad(t, 1));
    assert_int_equal(tf_tensor_requires_grad(t), 1);
    assert_status(tf_tensor_set_requires_grad(t, 2), TF_STATUS_EINVAL);
    assert_status(tf_tensor_set_requires_grad(NULL, 0), TF_STATUS_EINVAL);
    assert_int_equal(tf_tensor_requires_grad(NULL), 0);
    tf_tensor_free(t);
}

static void test_tensor_null_getters(void **state)
{
    (void)state;
    assert_int_equal(tf_tensor_dtype(NULL), 0);
    assert_int_equal(tf_tensor_ndim(NULL), 0);
    assert_int_equal(tf_tensor_dim(NULL, 0), 0);
    assert_int_equal(tf_tensor_numel(NULL), 0);
    assert_int_equal(tf_tensor_nbytes(NULL), 0);
    assert_null(tf_tensor_data(NULL));
    assert_int_equal(tf_tensor_is_wrapped(NULL), 0);
    assert_int_equal(tf_dtype_size(TF_DTYPE_F32), 4);
    assert_int_equal(tf_dtype_size(TF_DTYPE_I32), 4);
    assert_int_equal(tf_dtype_size(0), 0);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_tensor_create_shape_queries),
        T(test_tensor_create_i32_four_dims),
        T(test_tensor_create_rejects_bad_arguments),
        T(test_tensor_create_overflowing_sizes),
        T(test_tensor_create_too_large_is_enomem),
        cmocka_unit_test(test_tensor_create_oom_sweep),
        T(test_tensor_wrap_is_zero_copy),
        T(test_tensor_wrap_rejects_bad_arguments),
        T(test_tensor_copy_in_and_out),
        T(test_tensor_fill_checks_i32_range),
        T(test_tensor_reshape),
        T(test_tensor_requires_grad_flag),
        cmocka_unit_test(test_tensor_null_getters),
    };
    return TF_TEST_RUN(tests);
}
