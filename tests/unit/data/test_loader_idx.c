/* SPDX-License-Identifier: MIT */
/* IDX image files: pixels, labels, subsets, splits, standardisation, hostile headers, and training
 * on them. Every file is written by the test. */
#include "data_util.h"
#include "tf_train_setup.h"

#include <math.h>

/* An IDX file of unsigned bytes: the header (magic 0x0000 08 ndim, big-endian sizes) then data. */
static const char *write_idx(tmpdir_t *d, const char *name, uint32_t ndim, const uint32_t *dims,
                             const unsigned char *data, size_t len)
{
    unsigned char buf[4096];
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0x08;
    buf[n++] = (unsigned char)ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        buf[n++] = (unsigned char)(dims[i] >> 24);
        buf[n++] = (unsigned char)(dims[i] >> 16);
        buf[n++] = (unsigned char)(dims[i] >> 8);
        buf[n++] = (unsigned char)dims[i];
    }
    assert_true(n + len <= sizeof buf);
    memcpy(buf + n, data, len);
    return tmp_write(d, name, (const char *)buf, n + len);
}

static tf_loader_opts_t opts(int B)
{
    tf_loader_opts_t o;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = B;
    o.shuffle = 0;
    o.standardize = 0;
    return o;
}

/* Images of 2 rows x 3 columns whose pixels are 10 * image + position, so a feature tells which
 * image and which pixel it came from. */
enum { R = 2, C = 3 };
static void pixels(unsigned char *px, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < R * C; k++)
            px[i * R * C + k] = (unsigned char)(10 * i + k);
}

static void test_idx_rows_are_steps_pixels_scaled_labels_by_value(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    unsigned char px[3 * R * C];
    pixels(px, 3);
    px[5] = 255;
    const unsigned char lab[3] = {7, 2, 7};
    char img[512];
    snprintf(img, sizeof img, "%s", write_idx(&d, "i.idx", 3, (uint32_t[]){3, R, C}, px, sizeof px));
    const char *lp = write_idx(&d, "l.idx", 1, (uint32_t[]){3}, lab, sizeof lab);
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(4);
    assert_ok(tf_loader_create_idx(&l, ctx, img, lp, 0, &o));
    assert_int_equal(tf_loader_num_sequences(l), 3);
    assert_int_equal(tf_loader_num_features(l), C);
    assert_int_equal(tf_loader_num_labels(l), 2);
    assert_string_equal(tf_loader_label_name(l, 0), "2");
    assert_string_equal(tf_loader_label_name(l, 1), "7");
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_size(b), 3);
    assert_int_equal(tf_batch_steps(b), R);
    const float *f = tf_tensor_data(tf_batch_features(b));
    /* (T, B, F): step t of image i, column c is pixel 10 i + 3 t + c, over 255 */
    for (int t = 0; t < R; t++)
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < C; c++) {
                float want = (float)(10 * i + C * t + c) / 255.0f;
                if (i == 0 && t == 1 && c == 2)
                    want = 1.0f;
                assert_float_equal(f[(t * 3 + i) * C + c], want, 1e-7);
            }
    assert_int_equal(i32_of(tf_batch_lengths(b))[0], R);
    assert_int_equal(i32_of(tf_batch_labels(b))[0], 1);
    assert_int_equal(i32_of(tf_batch_labels(b))[1], 0);
    assert_int_equal(i32_of(tf_batch_labels(b))[2], 1);
    assert_null(tf_batch_feature_targets(b));
    tf_loader_free(l);
    /* Fixed names number the labels in their order. */
    const char *names[3] = {"7", "5", "2"};
    o.labels = names;
    o.num_labels = 3;
    assert_ok(tf_loader_create_idx(&l, ctx, img, lp, 0, &o));
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(i32_of(tf_batch_labels(b))[0], 0);
    assert_int_equal(i32_of(tf_batch_labels(b))[1], 2);
    tf_loader_free(l);
    /* A label that is not among the fixed names fails, naming it and its item. */
    o.num_labels = 2;
    l = (tf_loader_t *)ctx;
    assert_status(tf_loader_create_idx(&l, ctx, img, lp, 0, &o), TF_STATUS_EFORMAT);
    assert_null(l);
    assert_msg_has("item 1 has label 2");
    tmp_close(&d);
}

static void test_idx_next_row_targets_without_labels(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    unsigned char px[2 * R * C];
    pixels(px, 2);
    const char *img = write_idx(&d, "i.idx", 3, (uint32_t[]){2, R, C}, px, sizeof px);
    tf_loader_t *l = NULL;
    tf_batch_t *b;
    tf_loader_opts_t o = opts(2);
    o.next_step = 1;
    assert_ok(tf_loader_create_idx(&l, ctx, img, NULL, 0, &o));
    assert_int_equal(tf_loader_num_labels(l), 0);
    assert_ok(tf_loader_next(&b, l));
    assert_int_equal(tf_batch_steps(b), R - 1);
    assert_null(tf_batch_labels(b));
    const float *x = tf_tensor_data(tf_batch_features(b));
    const float *y = tf_tensor_data(tf_batch_feature_targets(b));
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < C; c++) {
            assert_float_equal(x[i * C + c], (float)(10 * i + c) / 255.0f, 1e-7);
            assert_float_equal(y[i * C + c], (float)(10 * i + C + c) / 255.0f, 1e-7);
        }
    tf_loader_free(l);
    tmp_close(&d);
}

/* One mean and one deviation over every pixel, the same for every feature. */
static void test_idx_standardisation_is_pooled_over_pixels(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    unsigned char px[3 * R * C];
    pixels(px, 3);
    const char *img = write_idx(&d, "i.idx", 3, (uint32_t[]){3, R, C}, px, sizeof px);
    tf_loader_t *l = NULL;
    tf_loader_opts_t o = opts(4);
    o.standardize = 1;
    assert_ok(tf_loader_create_idx(&l, ctx, img, NULL, 0, &o));
    /* pixels 0..5, 10..15, 20..25: mean 12.5; deviations (k + 10 i - 12.5) */
    double ss = 0;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < R * C; k++)
            ss += (10.0 * i + k - 12.5) * (10.0 * i + k - 12.5);
    float mean[C], sd[C];
    assert_ok(tf_loader_standardization(l, mean, sd, C));
    for (int c = 0; c < C; c++) {
        assert_float_equal(mean[c], 12.5 / 255.0, 1e-6);
        assert_float_equal(sd[c], sqrt(ss / 18.0) / 255.0, 1e-6);
    }
    tf_batch_t *b;
    assert_ok(tf_loader_next(&b, l));
    const float *f = tf_tensor_data(tf_batch_features(b));
    assert_float_equal(f[0], (0.0 - 12.5) / sqrt(ss / 18.0), 1e-5);
    tf_loader_free(l);
    tmp_close(&d);
}

/* The set of images (by their first pixel / 10) a loader yields in one epoch. */
static unsigned images_of(tf_loader_t *l)
{
    unsigned set = 0;
    for (;;) {
        tf_batch_t *b;
        assert_ok(tf_loader_next(&b, l));
        if (b == NULL)
            return set;
        const float *f = tf_tensor_data(tf_batch_features(b));
        for (int i = 0; i < tf_batch_size(b); i++)
            set |= 1u << (int)lroundf(f[i * C] * 255.0f / 10.0f);
    }
}

static void test_idx_first_per_class_then_split(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    enum { N = 20 };
    unsigned char px[N * R * C], lab[N];
    pixels(px, N);
    for (int i = 0; i < N; i++)
        lab[i] = (unsigned char)(i % 7 == 0 ? 9 : i % 3); /* 9 at 0, 7, 14 */
    char img[512];
    snprintf(img, sizeof img, "%s", write_idx(&d, "i.idx", 3, (uint32_t[]){N, R, C}, px, sizeof px));
    const char *lp = write_idx(&d, "l.idx", 1, (uint32_t[]){N}, lab, sizeof lab);
    tf_loader_t *l = NULL;
    tf_loader_opts_t o = opts(3);
    assert_ok(tf_loader_create_idx(&l, ctx, img, lp, 2, &o));
    /* the first two of each label in file order: 9 -> 0, 7; 1 -> 1, 4; 2 -> 2, 5; 0 -> 3, 6 */
    assert_int_equal(tf_loader_num_sequences(l), 8);
    assert_int_equal(images_of(l), 0xffu);
    int64_t counts[4];
    assert_ok(tf_loader_label_counts(l, counts, 4));
    for (int k = 0; k < 4; k++)
        assert_int_equal(counts[k], 2);
    tf_loader_free(l);
    /* The split divides the chosen images: together the two parts are all of them, once. */
    o.valid_fraction = 0.5;
    o.split = TF_LOADER_SPLIT_TRAIN;
    assert_ok(tf_loader_create_idx(&l, ctx, img, lp, 0, &o));
    unsigned tr = images_of(l);
    tf_loader_free(l);
    o.split = TF_LOADER_SPLIT_VALID;
    assert_ok(tf_loader_create_idx(&l, ctx, img, lp, 0, &o));
    unsigned va = images_of(l);
    tf_loader_free(l);
    assert_int_equal(tr & va, 0);
    assert_int_equal(tr | va, (1u << N) - 1);
    assert_true(tr != 0 && va != 0);
    /* No image in the split */
    o.valid_fraction = 0.0;
    l = (tf_loader_t *)ctx;
    assert_status(tf_loader_create_idx(&l, ctx, img, lp, 0, &o), TF_STATUS_EFORMAT);
    assert_null(l);
    assert_msg_has("no image");
    o.split = TF_LOADER_SPLIT_ALL;
    assert_status(tf_loader_create_idx(&l, ctx, img, NULL, 2, &o), TF_STATUS_EINVAL);
    assert_status(tf_loader_create_idx(&l, ctx, img, lp, -1, &o), TF_STATUS_EINVAL);
    assert_status(tf_loader_create_idx(&l, ctx, NULL, lp, 0, &o), TF_STATUS_EINVAL);
    tmp_close(&d);
}

/* Write raw bytes as a file and expect `want` with `needle` in the message. */
static void expect_bad(tf_ctx_t *ctx, tmpdir_t *d, const unsigned char *img, size_t n,
                       const char *labels, tf_status_t want, const char *needle)
{
    char p[512];
    snprintf(p, sizeof p, "%s", tmp_write(d, "bad.idx", (const char *)img, n));
    tf_loader_t *l = (tf_loader_t *)ctx;
    tf_loader_opts_t o = opts(2);
    o.next_step = 1;
    assert_status(tf_loader_create_idx(&l, ctx, p, labels, 0, &o), want);
    assert_null(l);
    assert_msg_has(needle);
}

static void test_idx_hostile_files_fail_cleanly(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t d;
    tmp_open(&d);
    /* header of 1 image 2 x 2, then its 4 pixels */
    unsigned char ok[20] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    unsigned char b[32];
    memcpy(b, ok, 20);
    b[0] = 0x12;
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "not an IDX file");
    memcpy(b, ok, 20);
    b[2] = 0x0d; /* float */
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "element type 0x0d");
    memcpy(b, ok, 20);
    b[3] = 1; /* a label file given as images */
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "1 dimensions");
    const unsigned char gz[4] = {0x1f, 0x8b, 8, 0};
    expect_bad(ctx, &d, gz, 4, NULL, TF_STATUS_EFORMAT, "gzip");
    expect_bad(ctx, &d, ok, 3, NULL, TF_STATUS_EFORMAT, "truncated");
    expect_bad(ctx, &d, ok, 10, NULL, TF_STATUS_EFORMAT, "truncated in its header");
    expect_bad(ctx, &d, ok, 19, NULL, TF_STATUS_EFORMAT, "truncated");
    memcpy(b, ok, 20);
    b[20] = 0;
    expect_bad(ctx, &d, b, 21, NULL, TF_STATUS_EFORMAT, "after the data");
    /* sizes whose product overflows 64 bits, and sizes far past the file */
    memset(b + 4, 0xff, 12);
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "overflow");
    memset(b + 4, 0xff, 8);
    memcpy(b + 12, (unsigned char[]){0, 0, 0, 1}, 4);
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "truncated");
    memcpy(b, ok, 16);
    b[7] = 0; /* no images */
    expect_bad(ctx, &d, b, 16, NULL, TF_STATUS_EFORMAT, "no images");
    memcpy(b, ok, 20);
    b[11] = 1; /* one row: nothing to predict */
    b[15] = 4;
    expect_bad(ctx, &d, b, 20, NULL, TF_STATUS_EFORMAT, "one row");
    memcpy(b, ok, 20);
    b[11] = 0; /* zero rows */
    expect_bad(ctx, &d, b, 16, NULL, TF_STATUS_EFORMAT, "0 x 2");
    /* labels: wrong count, wrong magic, missing file */
    char lp[512];
    snprintf(lp, sizeof lp, "%s", write_idx(&d, "l2.idx", 1, (uint32_t[]){2},
                                            (unsigned char[]){1, 2}, 2));
    expect_bad(ctx, &d, ok, 20, lp, TF_STATUS_EFORMAT, "2 labels for the 1 images");
    snprintf(lp, sizeof lp, "%s", write_idx(&d, "l3.idx", 3, (uint32_t[]){1, 1, 1},
                                            (unsigned char[]){1}, 1));
    expect_bad(ctx, &d, ok, 20, lp, TF_STATUS_EFORMAT, "an IDX label file has 1");
    snprintf(lp, sizeof lp, "%s", tmp_path(&d, "missing.idx"));
    expect_bad(ctx, &d, ok, 20, lp, TF_STATUS_EIO, "missing.idx");
    tmp_close(&d);
}

/* Pre-training next-row prediction, then a classifier, on images written as IDX: class 1 has its
 * bright band in the lower rows, class 0 in the upper rows. */
static void test_idx_pretrain_and_finetune(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(5);
    tmpdir_t d;
    tmp_open(&d);
    enum { N = 64, H = 6, W = 4 };
    static unsigned char px[N * H * W], lab[N];
    unsigned s = 3;
    for (int i = 0; i < N; i++) {
        lab[i] = (unsigned char)(i % 2);
        for (int k = 0; k < H * W; k++) {
            s = s * 1103515245u + 12345u;
            int row = k / W, bright = lab[i] ? row >= H / 2 : row < H / 2;
            px[i * H * W + k] = (unsigned char)((bright ? 160 : 0) + (s >> 16) % 60);
        }
    }
    char img[512];
    snprintf(img, sizeof img, "%s", write_idx(&d, "i.idx", 3, (uint32_t[]){N, H, W}, px, sizeof px));
    const char *lp = write_idx(&d, "l.idx", 1, (uint32_t[]){N}, lab, sizeof lab);
    tf_loader_opts_t lo;
    tf_loader_t *next, *cls;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 16;
    lo.next_step = 1;
    assert_ok(tf_loader_create_idx(&next, ctx, img, NULL, 0, &lo));
    lo.next_step = 0;
    assert_ok(tf_loader_create_idx(&cls, ctx, img, lp, 0, &lo));
    tf_model_t *m = tf_test_numeric_pretrain_finetune(ctx, next, cls, W, 2, 100, 0.8, 10);
    tf_model_free(m);
    tf_loader_free(next);
    tf_loader_free(cls);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    tf_ctx_free(ctx);
    tmp_close(&d);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_idx_rows_are_steps_pixels_scaled_labels_by_value),
        T(test_idx_next_row_targets_without_labels),
        T(test_idx_standardisation_is_pooled_over_pixels),
        T(test_idx_first_per_class_then_split),
        T(test_idx_hostile_files_fail_cleanly),
        cmocka_unit_test(test_idx_pretrain_and_finetune),
    };
    return TF_TEST_RUN(tests);
}
