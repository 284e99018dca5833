/* SPDX-License-Identifier: MIT */
#include "data_util.h"

#include <math.h>

static tf_loader_opts_t opts(int B, int F)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = B;
    o.shuffle = 0;
    o.num_features = F;
    return o;
}

static void test_numeric_csv_features_labels_standardization(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    /* Two features per step; sequence lengths 2 and 1 (steps). */
    const char *path = tmp_write(&d, "n.csv", "up, 1, 10, 3, 30\r\ndown,5,50\n", (size_t)-1);
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(4, 2);
    o.has_label = 1;
    assert_ok(tf_loader_create_numeric(&l, ctx, path, &o));
    assert_int_equal(tf_loader_num_features(l), 2);
    assert_int_equal(tf_loader_num_labels(l), 2);
    assert_string_equal(tf_loader_label_name(l, 0), "down");
    float mean[2], sd[2];
    assert_ok(tf_loader_standardization(l, mean, sd, 2));
    /* feature 0: 1, 3, 5 -> mean 3, population std sqrt(8/3) */
    assert_float_equal(mean[0], 3.0f, 1e-6);
    assert_float_equal(mean[1], 30.0f, 1e-5);
    assert_float_equal(sd[0], sqrtf(8.0f / 3.0f), 1e-5);
    assert_float_equal(sd[1], sqrtf(800.0f / 3.0f), 1e-4);
    assert_status(tf_loader_standardization(l, mean, sd, 3), TF_STATUS_EBUFSIZE);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_size(b), 2);
    assert_int_equal(tf_batch_steps(b), 2);
    tf_tensor_t *x = tf_batch_features(b);
    assert_int_equal(tf_tensor_ndim(x), 3);
    assert_int_equal(tf_tensor_dim(x, 2), 2);
    const float *f = tf_tensor_data(x);
    /* (T, B, F): [t0 b0], [t0 b1], [t1 b0], [t1 b1] */
    assert_float_equal(f[0], (1 - 3) / sd[0], 1e-5);
    assert_float_equal(f[1], (10 - 30) / sd[1], 1e-5);
    assert_float_equal(f[2], (5 - 3) / sd[0], 1e-5);
    assert_float_equal(f[4], (3 - 3) / sd[0], 1e-5);
    assert_float_equal(f[6], 0.0f, 0); /* padding */
    assert_float_equal(f[7], 0.0f, 0);
    assert_int_equal(i32_of(tf_batch_lengths(b))[0], 2);
    assert_int_equal(i32_of(tf_batch_lengths(b))[1], 1);
    assert_int_equal(i32_of(tf_batch_labels(b))[0], 1);
    assert_int_equal(i32_of(tf_batch_labels(b))[1], 0);
    assert_null(tf_batch_tokens(b));
    assert_null(tf_batch_feature_targets(b));
    /* A validation loader reuses the training statistics. */
    const float m2[2] = {0, 0}, s2[2] = {1, 2};
    assert_ok(tf_loader_set_standardization(l, m2, s2, 2));
    assert_ok(tf_loader_reset(l));
    assert_ok(tf_loader_next(&b, l));
    f = tf_tensor_data(tf_batch_features(b));
    assert_float_equal(f[0], 1.0f, 0);
    assert_float_equal(f[1], 5.0f, 0);
    const float s0[2] = {1, 0};
    assert_status(tf_loader_set_standardization(l, m2, s0, 2), TF_STATUS_EINVAL);
    tf_loader_free(l);
    tmp_close(&d);
}

static void test_numeric_next_step_targets_from_memory(void **state)
{
    tf_ctx_t *ctx = *state;
    /* F = 1: sequences [1 2 3 4] and [10 20]. */
    const float vals[6] = {1, 2, 3, 4, 10, 20};
    const int64_t off[3] = {0, 4, 6};
    const int32_t lab[2] = {0, 1};
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(2, 1);
    o.next_step = 1;
    o.standardize = 0;
    assert_ok(tf_loader_create_numeric_memory(&l, ctx, vals, off, 2, lab, &o));
    assert_int_equal(tf_loader_num_labels(l), 2);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_steps(b), 3);
    const float *x = tf_tensor_data(tf_batch_features(b));
    const float *y = tf_tensor_data(tf_batch_feature_targets(b));
    const float wx[6] = {1, 10, 2, 0, 3, 0}, wy[6] = {2, 20, 3, 0, 4, 0};
    for (int i = 0; i < 6; i++) {
        assert_float_equal(x[i], wx[i], 0);
        assert_float_equal(y[i], wy[i], 0);
    }
    assert_int_equal(i32_of(tf_batch_lengths(b))[1], 1);
    tf_loader_free(l);
    const int64_t short_off[3] = {0, 5, 6}; /* second sequence has one step */
    l = (tf_loader_t *)ctx;
    assert_status(tf_loader_create_numeric_memory(&l, ctx, vals, short_off, 2, NULL, &o),
                  TF_STATUS_EINVAL);
    assert_null(l);
    const float nan_vals[2] = {1, NAN};
    const int64_t off1[2] = {0, 2};
    assert_status(tf_loader_create_numeric_memory(&l, ctx, nan_vals, off1, 1, NULL, NULL),
                  TF_STATUS_EINVAL);
}

static void test_numeric_csv_errors_name_the_line(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    tf_loader_t *l = (tf_loader_t *)ctx;
    tf_loader_opts_t o = opts(2, 1);
    const char *p = tmp_write(&d, "a.csv", "1,2\n3,x4\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_null(l);
    assert_msg_has("a.csv:2");
    assert_msg_has("x4");
    p = tmp_write(&d, "b.csv", "1,nan\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("b.csv:1");
    p = tmp_write(&d, "c.csv", "1,,2\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    o.num_features = 2;
    p = tmp_write(&d, "d.csv", "1,2,3\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    assert_msg_has("multiple of 2");
    o.num_features = 1;
    o.has_label = 1;
    p = tmp_write(&d, "e.csv", "lab\n", (size_t)-1);
    assert_status(tf_loader_create_numeric(&l, ctx, p, &o), TF_STATUS_EFORMAT);
    /* skip_bad_lines keeps the good lines and counts the others. */
    o.has_label = 0;
    o.skip_bad_lines = 1;
    p = tmp_write(&d, "f.csv", "1,2\nabc\n3,4,5\n1e400\n", (size_t)-1);
    assert_ok(tf_loader_create_numeric(&l, ctx, p, &o));
    assert_int_equal(tf_loader_num_sequences(l), 2);
    assert_int_equal(tf_loader_skipped_lines(l), 2);
    tf_loader_free(l);
    tmp_close(&d);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_numeric_csv_features_labels_standardization),
        T(test_numeric_next_step_targets_from_memory),
        T(test_numeric_csv_errors_name_the_line),
    };
    return TF_TEST_RUN(tests);
}
