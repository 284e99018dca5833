/* SPDX-License-Identifier: MIT */
#include "tf_test.h"
#include <string.h>

static void test_ctx_opts_init_defaults_and_errors(void **state)
{
    tf_ctx_opts_t o;
    (void)state;
    memset(&o, 0xab, sizeof o);
    assert_ok(tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION));
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.version, TF_CTX_OPTS_VERSION);
    assert_null(o.allocator);
    assert_int_equal(o.num_threads, 0);
    assert_int_equal(o.log_level, TF_LOG_WARN);
    assert_int_equal(o.seed, 42);
    assert_null(o.log_cb);
    assert_status(tf_ctx_opts_init(NULL, TF_CTX_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_ctx_opts_init(&o, 0), TF_STATUS_EVERSION);
    assert_status(tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION + 1), TF_STATUS_EVERSION);
}

static void test_ctx_create_default_and_free_null(void **state)
{
    tf_ctx_t *ctx = NULL;
    (void)state;
    assert_ok(tf_ctx_create(&ctx, NULL));
    assert_non_null(ctx);
    assert_true(tf_ctx_num_threads(ctx) >= 1);
    assert_int_equal(tf_ctx_seed(ctx), 42);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
    tf_ctx_free(NULL);
    assert_int_equal(tf_ctx_num_threads(NULL), 0);
    assert_int_equal(tf_ctx_seed(NULL), 0);
    assert_int_equal(tf_ctx_live_objects(NULL), 0);
    assert_int_equal(tf_ctx_allocated_bytes(NULL), 0);
}

static void test_ctx_create_rejects_bad_options(void **state)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx = (tf_ctx_t *)&o; /* must be reset to NULL on failure */
    tf_allocator_t half = {NULL, NULL, NULL};
    (void)state;
    assert_status(tf_ctx_create(NULL, NULL), TF_STATUS_EINVAL);

    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.num_threads = -1;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EINVAL);
    assert_null(ctx);

    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.log_level = 7;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EINVAL);

    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.allocator = &half;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EINVAL);

    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.version = 0;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EVERSION);
    o.version = TF_CTX_OPTS_VERSION + 1;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EVERSION);

    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.struct_size = 4;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_EINVAL);
    assert_null(ctx);
}

static void test_ctx_uses_custom_allocator_with_alignment(void **state)
{
    tf_test_alloc_t ta;
    (void)state;
    tf_test_alloc_init(&ta);
    tf_ctx_t *ctx = tf_test_ctx_new(&ta);
    assert_non_null(ctx);
    assert_int_equal(ta.allocs, 1);
    const int64_t shape[1] = {10};
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 1));
    assert_true(ta.allocs >= 3); /* context, handle, data */
    assert_true(ta.last_align >= 64);
    assert_int_equal((uintptr_t)tf_tensor_data(t) % 64, 0);
    assert_true(tf_ctx_allocated_bytes(ctx) >= 40);
    assert_int_equal(tf_ctx_live_objects(ctx), 1);
    tf_tensor_free(t);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
    assert_int_equal(ta.allocs, ta.frees);
}

static void test_ctx_create_out_of_memory(void **state)
{
    tf_test_alloc_t ta;
    tf_ctx_opts_t o;
    tf_ctx_t *ctx = NULL;
    (void)state;
    tf_test_alloc_init(&ta);
    ta.fail_at = 1;
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.allocator = &ta.hooks;
    assert_status(tf_ctx_create(&ctx, &o), TF_STATUS_ENOMEM);
    assert_null(ctx);
    assert_int_equal(ta.allocs, 0);
}

static void test_ctx_threads_and_seed(void **state)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx;
    (void)state;
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.num_threads = 3;
    o.seed = 1234;
    assert_ok(tf_ctx_create(&ctx, &o));
    assert_int_equal(tf_ctx_num_threads(ctx), 3);
    assert_int_equal(tf_ctx_seed(ctx), 1234);
    assert_ok(tf_ctx_set_num_threads(ctx, 1));
    assert_int_equal(tf_ctx_num_threads(ctx), 1);
    assert_ok(tf_ctx_set_num_threads(ctx, 0));
    assert_true(tf_ctx_num_threads(ctx) >= 1);
    assert_status(tf_ctx_set_num_threads(ctx, -2), TF_STATUS_EINVAL);
    assert_status(tf_ctx_set_num_threads(NULL, 1), TF_STATUS_EINVAL);
    assert_ok(tf_ctx_reseed(ctx, 7));
    assert_int_equal(tf_ctx_seed(ctx), 7);
    assert_status(tf_ctx_reseed(NULL, 7), TF_STATUS_EINVAL);
    tf_ctx_free(ctx);
}

typedef struct {
    int calls;
    int32_t level;
    char last[256];
} log_sink_t;

static void sink(int32_t level, const char *message, void *payload)
{
    log_sink_t *s = payload;
    s->calls++;
    s->level = level;
    strncpy(s->last, message, sizeof s->last - 1);
}

static void test_ctx_log_silent_when_clean(void **state)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx;
    tf_tensor_t *t;
    log_sink_t s;
    const int64_t shape[1] = {4};
    (void)state;
    memset(&s, 0, sizeof s);
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.log_cb = sink;
    o.log_payload = &s;
    o.log_level = TF_LOG_DEBUG;
    assert_ok(tf_ctx_create(&ctx, &o));
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 1));
    assert_int_equal(tf_ctx_live_objects(ctx), 1);
    tf_tensor_free(t);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
    assert_int_equal(s.calls, 0);
}

static void test_ctx_log_callback_on_live_children(void **state)
{
    tf_test_alloc_t ta;
    tf_ctx_opts_t o;
    tf_ctx_t *ctx;
    tf_tensor_t *t;
    log_sink_t s;
    const int64_t shape[1] = {4};
    (void)state;
    memset(&s, 0, sizeof s);
    tf_test_alloc_init(&ta);
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.allocator = &ta.hooks;
    o.log_cb = sink;
    o.log_payload = &s;
    assert_ok(tf_ctx_create(&ctx, &o));
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 1));
    tf_ctx_free(ctx); /* caller bug: the tensor is still live */
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.level, TF_LOG_ERROR);
    assert_non_null(strstr(s.last, "1 objects"));
    /* The tensor's two blocks were never returned; release them so the test itself is clean. */
    assert_int_equal(ta.allocs - ta.frees, 2);
    tf_test_alloc_release_all(&ta);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_opts_init_defaults_and_errors),
        cmocka_unit_test(test_ctx_create_default_and_free_null),
        cmocka_unit_test(test_ctx_create_rejects_bad_options),
        cmocka_unit_test(test_ctx_uses_custom_allocator_with_alignment),
        cmocka_unit_test(test_ctx_create_out_of_memory),
        cmocka_unit_test(test_ctx_threads_and_seed),
        cmocka_unit_test(test_ctx_log_silent_when_clean),
        cmocka_unit_test(test_ctx_log_callback_on_live_children),
    };
    return TF_TEST_RUN(tests);
}
