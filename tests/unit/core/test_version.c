/* SPDX-License-Identifier: MIT */
#include "tf_test.h"
#include <string.h>

static void test_version_runtime_matches_headers(void **state)
{
    char expect[32];
    (void)state;
    assert_int_equal(tf_version_number(), LIBTRANSFER_VERSION_NUMBER);
    assert_string_equal(tf_version_string(), LIBTRANSFER_VERSION_STRING);
    snprintf(expect, sizeof expect, "%d.%d.%d", LIBTRANSFER_VERSION_MAJOR, LIBTRANSFER_VERSION_MINOR,
             LIBTRANSFER_VERSION_PATCH);
    assert_string_equal(tf_version_string(), expect);
    assert_int_equal(tf_abi_version(), LIBTRANSFER_VERSION_MAJOR);
}

static void test_version_check_macro(void **state)
{
    (void)state;
    assert_true(LIBTRANSFER_VERSION_CHECK(0, 0, 0));
    assert_true(LIBTRANSFER_VERSION_CHECK(LIBTRANSFER_VERSION_MAJOR, LIBTRANSFER_VERSION_MINOR,
                                          LIBTRANSFER_VERSION_PATCH));
    assert_false(LIBTRANSFER_VERSION_CHECK(LIBTRANSFER_VERSION_MAJOR + 1, 0, 0));
    assert_int_equal(LIBTRANSFER_VERSION_NUMBER, LIBTRANSFER_VERSION_MAJOR * 10000 +
                                                     LIBTRANSFER_VERSION_MINOR * 100 +
                                                     LIBTRANSFER_VERSION_PATCH);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_runtime_matches_headers),
        cmocka_unit_test(test_version_check_macro),
    };
    return TF_TEST_RUN(tests);
}
