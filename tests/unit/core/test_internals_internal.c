/* Internal helpers of lib/core: allocation accounting, overflow checks, the options reader and
 * the random generator. */
#include "tf_test.h"
#include "core/internal.h"
#include <math.h>
#include <string.h>

static void test_internals_size_arithmetic(void **state)
{
    size_t out = 7;
    (void)state;
    assert_true(tf__mul_size(3, 5, &out));
    assert_int_equal(out, 15);
    assert_false(tf__mul_size(SIZE_MAX / 2 + 1, 2, &out));
    assert_int_equal(out, 15);
    assert_true(tf__mul_size(0, SIZE_MAX, &out));
    assert_int_equal(out, 0);
    assert_true(tf__add_size(SIZE_MAX - 1, 1, &out));
    assert_false(tf__add_size(SIZE_MAX, 1, &out));
}

static void test_internals_alloc_accounting_and_alignment(void **state)
{
    tf_ctx_t *ctx = *state;
    void *a = tf__alloc(ctx, 100), *b = tf__calloc(ctx, 10, 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal((uintptr_t)a % TF__ALIGN, 0);
    assert_int_equal((uintptr_t)b % TF__ALIGN, 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 180);
    for (int i = 0; i < 80; i++)
        assert_int_equal(((unsigned char *)b)[i], 0);
    tf__free(ctx, a);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 80);
    tf__free(ctx, b);
    tf__free(ctx, NULL);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    assert_null(tf__calloc(ctx, SIZE_MAX / 2, 4));
    assert_int_equal(tf_last_error_code(), TF_STATUS_ENOMEM);
    assert_null(tf__alloc(ctx, SIZE_MAX - 8));
    char *s = tf__strdup(ctx, "lstm.weight_ih_l0");
    assert_string_equal(s, "lstm.weight_ih_l0");
    tf__free(ctx, s);
}

typedef struct {
    uint32_t struct_size, version;
    int32_t a;
    double b; /* "added in version 2" */
} demo_opts_t;

static void test_internals_opts_read_honours_struct_size(void **state)
{
    (void)state;
    demo_opts_t lib = {sizeof(demo_opts_t), 2, 1, 2.5};
    /* A caller built against version 1 passes only {size, version, a}. */
    struct {
        uint32_t struct_size, version;
        int32_t a;
    } old = {12, 1, 9};
    assert_ok(tf__opts_read(&lib, sizeof lib, &old, 12, 2, "demo"));
    assert_int_equal(lib.a, 9);
    assert_true(lib.b == 2.5); /* default kept for the field the caller does not have */
    assert_int_equal(lib.struct_size, sizeof lib);
    demo_opts_t newer = {sizeof newer, 3, 0, 0};
    assert_status(tf__opts_read(&lib, sizeof lib, &newer, 12, 2, "demo"), TF_STATUS_EVERSION);
    assert_non_null(strstr(tf_last_error_message(), "demo"));
    demo_opts_t tiny = {8, 1, 0, 0};
    assert_status(tf__opts_read(&lib, sizeof lib, &tiny, 12, 2, "demo"), TF_STATUS_EINVAL);
    assert_ok(tf__opts_read(&lib, sizeof lib, NULL, 12, 2, "demo"));
}

static void test_internals_rng_is_deterministic_and_uniform(void **state)
{
    tf__rng_t a, b;
    (void)state;
    tf__rng_seed(&a, 123);
    tf__rng_seed(&b, 123);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tf__rng_u64(&a), tf__rng_u64(&b));
    tf__rng_seed(&b, 124);
    assert_int_not_equal(tf__rng_u64(&a), tf__rng_u64(&b));
    double sum = 0, sumsq = 0;
    int counts[7] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = tf__rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
        counts[tf__rng_below(&a, 7)]++;
        double z = tf__rng_normal(&a);
        sumsq += z * z;
    }
    assert_true(fabs(sum / n - 0.5) < 0.005);
    assert_true(fabs(sumsq / n - 1.0) < 0.02);
    for (int k = 0; k < 7; k++)
        assert_true(fabs(counts[k] / (double)n - 1.0 / 7) < 0.005);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internals_size_arithmetic),
        cmocka_unit_test_setup_teardown(test_internals_alloc_accounting_and_alignment,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test(test_internals_opts_read_honours_struct_size),
        cmocka_unit_test(test_internals_rng_is_deterministic_and_uniform),
    };
    return TF_TEST_RUN(tests);
}
