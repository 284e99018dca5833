/* SPDX-License-Identifier: MIT */
#include "tf_test.h"
#include <pthread.h>
#include <string.h>

static void test_error_status_names_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(tf_status_str(TF_STATUS_OK), "TF_STATUS_OK");
    assert_string_equal(tf_status_str(TF_STATUS_EINVAL), "TF_STATUS_EINVAL");
    assert_string_equal(tf_status_str(TF_STATUS_EDIVERGED), "TF_STATUS_EDIVERGED");
    assert_string_equal(tf_status_str((tf_status_t)9999), "TF_STATUS_UNKNOWN");
    assert_string_equal(tf_status_str((tf_status_t)-1), "TF_STATUS_UNKNOWN");
    assert_string_equal(tf_status_str((tf_status_t)12), "TF_STATUS_UNKNOWN"); /* unused number */
    for (int a = 0; a <= 16; a++)
        for (int b = a + 1; b <= 16; b++)
            if (a != 12 && b != 12)
                assert_string_not_equal(tf_status_str((tf_status_t)a), tf_status_str((tf_status_t)b));
}

static void test_error_codes_are_stable(void **state)
{
    (void)state;
    /* The numbers are part of the ABI: FFI bindings hard-code them. */
    assert_int_equal(TF_STATUS_OK, 0);
    assert_int_equal(TF_STATUS_EINVAL, 1);
    assert_int_equal(TF_STATUS_ENOMEM, 2);
    assert_int_equal(TF_STATUS_ESHAPE, 3);
    assert_int_equal(TF_STATUS_EDTYPE, 4);
    assert_int_equal(TF_STATUS_EBUFSIZE, 5);
    assert_int_equal(TF_STATUS_EIO, 6);
    assert_int_equal(TF_STATUS_EFORMAT, 7);
    assert_int_equal(TF_STATUS_EVERSION, 8);
    assert_int_equal(TF_STATUS_ESTATE, 9);
    assert_int_equal(TF_STATUS_ENOTSUP, 10);
    assert_int_equal(TF_STATUS_ECANCELED, 11);
    assert_int_equal(TF_STATUS_EINTERNAL, 13);
    assert_int_equal(TF_STATUS_EOVERFLOW, 14);
    assert_int_equal(TF_STATUS_ENOTFOUND, 15);
    assert_int_equal(TF_STATUS_EDIVERGED, 16);
}

static void test_error_message_set_on_failure_and_kept_on_success(void **state)
{
    tf_ctx_t *ctx = NULL;
    (void)state;
    tf_last_error_clear();
    assert_int_equal(tf_last_error_code(), TF_STATUS_OK);
    assert_string_equal(tf_last_error_message(), "");
    assert_status(tf_ctx_create(NULL, NULL), TF_STATUS_EINVAL);
    assert_int_equal(tf_last_error_code(), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "tf_ctx_create"));
    assert_non_null(strstr(tf_last_error_message(), "out"));
    /* A later success does not clear it. */
    assert_ok(tf_ctx_create(&ctx, NULL));
    assert_int_equal(tf_last_error_code(), TF_STATUS_EINVAL);
    tf_ctx_free(ctx);
    tf_last_error_clear();
    assert_string_equal(tf_last_error_message(), "");
}

static void *fail_in_thread(void *arg)
{
    char *copy = arg;
    tf_ctx_opts_t o;
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.num_threads = -3;
    tf_ctx_t *ctx;
    tf_ctx_create(&ctx, &o);
    strncpy(copy, tf_last_error_message(), 255);
    copy[255] = '\0';
    return NULL;
}

static void test_error_message_is_thread_local(void **state)
{
    char other[256];
    pthread_t th;
    (void)state;
    tf_last_error_clear();
    assert_status(tf_ctx_opts_init(NULL, 1), TF_STATUS_EINVAL);
    const char *mine = tf_last_error_message();
    char saved[256];
    strncpy(saved, mine, sizeof saved - 1);
    saved[255] = '\0';
    assert_int_equal(pthread_create(&th, NULL, fail_in_thread, other), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(strstr(other, "num_threads"));
    /* This thread's message is untouched by the other thread's failure. */
    assert_string_equal(tf_last_error_message(), saved);
    assert_int_equal(tf_last_error_code(), TF_STATUS_EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_status_names_are_distinct),
        cmocka_unit_test(test_error_codes_are_stable),
        cmocka_unit_test(test_error_message_set_on_failure_and_kept_on_success),
        cmocka_unit_test(test_error_message_is_thread_local),
    };
    return TF_TEST_RUN(tests);
}
