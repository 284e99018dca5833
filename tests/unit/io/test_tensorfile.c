/* SPDX-License-Identifier: MIT */
/* Tensor files through the public API: round trips, the exact layout, accessors, argument
 * checks, writer rules and allocation-failure sweeps over saving and loading. */
#include "tf_test.h"

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct tmpdir {
    char dir[64];
    char path[128];
} tmpdir_t;

static void tmp_make(tmpdir_t *t)
{
    strcpy(t->dir, "/tmp/tf_io_test_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/model.safetensors", t->dir);
}

/* Number of directory entries other than . and .. */
static int dir_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void tmp_remove(tmpdir_t *t)
{
    DIR *d = opendir(t->dir);
    struct dirent *e;
    char p[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(t->dir);
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*size ? *size : 1);
    assert_int_equal(fread(b, 1, *size, fp), *size);
    fclose(fp);
    return b;
}

static void write_all(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Bit-at-a-time CRC32 (IEEE), independent of the library's table-driven code. */
static uint32_t crc_ref(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static tf_tensorfile_opts_t opts_flags(uint32_t flags)
{
    tf_tensorfile_opts_t o;
    assert_ok(tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION));
    o.flags = flags;
    return o;
}

/* ---- round trips --------------------------------------------------------------------------- */

static void test_tensorfile_roundtrip_tensors_blobs_and_metadata(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    const int64_t s2[2] = {2, 3}, s1[1] = {5}, s4[4] = {1, 2, 3, 2};
    tf_tensor_t *a, *ids, *d4;
    assert_ok(tf_tensor_create(&a, ctx, TF_DTYPE_F32, s2, 2));
    assert_ok(tf_tensor_create(&ids, ctx, TF_DTYPE_I32, s1, 1));
    assert_ok(tf_tensor_create(&d4, ctx, TF_DTYPE_F32, s4, 4));
    float *fa = tf_tensor_data(a), *f4 = tf_tensor_data(d4);
    const float special[6] = {0.0f, -0.0f, 1e-45f, 3.4028235e38f, -1.5f, 0.1f};
    memcpy(fa, special, sizeof special);
    for (int i = 0; i < 12; i++)
        f4[i] = (float)i / 7.0f;
    int32_t *ia = tf_tensor_data(ids);
    const int32_t ivals[5] = {INT32_MIN, -1, 0, 1, INT32_MAX};
    memcpy(ia, ivals, sizeof ivals);
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)(255 - i);

    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_blob(w, "train.rng", bytes, sizeof bytes));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "encoder.weight", a));
    assert_ok(tf_tensorfile_writer_add_blob(w, "empty", NULL, 0));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "vocab.ids", ids));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "x.\"quoted\"\\é", d4));
    assert_ok(tf_tensorfile_writer_add_meta(w, "vocab", "the\nof\t\"and\"\\ \x01 ünï"));
    assert_ok(tf_tensorfile_writer_add_meta(w, "config", "{\"hidden\": 8}"));
    assert_ok(tf_tensorfile_writer_add_meta(w, "empty", ""));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    tf_tensorfile_writer_free(w);
    assert_int_equal(dir_entries(td.dir), 1); /* no temporary file left behind */

    tf_tensorfile_t *f;
    assert_ok(tf_tensorfile_load(&f, ctx, td.path, NULL));
    /* data order: 4-byte tensors in insertion order, then blobs in insertion order */
    assert_int_equal(tf_tensorfile_num_entries(f), 5);
    const char *order[5] = {"encoder.weight", "vocab.ids", "x.\"quoted\"\\é", "train.rng", "empty"};
    for (uint32_t i = 0; i < 5; i++) {
        assert_string_equal(tf_tensorfile_name(f, i), order[i]);
        assert_int_equal(tf_tensorfile_kind(f, i),
                         i < 3 ? TF_TENSORFILE_KIND_TENSOR : TF_TENSORFILE_KIND_BLOB);
    }
    assert_null(tf_tensorfile_name(f, 5));
    assert_int_equal(tf_tensorfile_kind(f, 5), 0);

    tf_tensor_t *t;
    int64_t shape[4];
    uint32_t nd;
    assert_ok(tf_tensorfile_get(&t, f, "encoder.weight"));
    assert_int_equal(tf_tensor_dtype(t), TF_DTYPE_F32);
    assert_ok(tf_tensor_shape(t, shape, 4, &nd));
    assert_int_equal(nd, 2);
    assert_int_equal(shape[0], 2);
    assert_int_equal(shape[1], 3);
    assert_memory_equal(tf_tensor_data(t), special, sizeof special); /* bit-exact, -0 too */
    assert_ok(tf_tensorfile_get(&t, f, "vocab.ids"));
    assert_int_equal(tf_tensor_dtype(t), TF_DTYPE_I32);
    assert_memory_equal(tf_tensor_data(t), ivals, sizeof ivals);
    assert_ok(tf_tensorfile_get(&t, f, "x.\"quoted\"\\é"));
    assert_int_equal(tf_tensor_ndim(t), 4);
    assert_int_equal(tf_tensor_dim(t, 3), 2);
    assert_memory_equal(tf_tensor_data(t), f4, 12 * sizeof(float));

    const void *blob;
    size_t nb;
    assert_ok(tf_tensorfile_blob(&blob, &nb, f, "train.rng"));
    assert_int_equal(nb, 256);
    assert_memory_equal(blob, bytes, 256);
    assert_ok(tf_tensorfile_blob(&blob, &nb, f, "empty"));
    assert_int_equal(nb, 0);
    assert_non_null(blob);

    assert_string_equal(tf_tensorfile_meta(f, "vocab"), "the\nof\t\"and\"\\ \x01 ünï");
    assert_string_equal(tf_tensorfile_meta(f, "config"), "{\"hidden\": 8}");
    assert_string_equal(tf_tensorfile_meta(f, "empty"), "");
    assert_string_equal(tf_tensorfile_meta(f, "format"), "libtransfer");
    assert_string_equal(tf_tensorfile_meta(f, "format_version"), "1");
    assert_string_equal(tf_tensorfile_meta(f, "library_version"), tf_version_string());
    assert_null(tf_tensorfile_meta(f, "missing"));
    assert_null(tf_tensorfile_meta(f, NULL));
    /* the CRC of each entry, checked against an independent implementation */
    char hex[16];
    snprintf(hex, sizeof hex, "%08x", (unsigned)crc_ref(0, bytes, 256));
    assert_string_equal(tf_tensorfile_meta(f, "crc32.train.rng"), hex);
    snprintf(hex, sizeof hex, "%08x", (unsigned)crc_ref(0, ivals, sizeof ivals));
    assert_string_equal(tf_tensorfile_meta(f, "crc32.vocab.ids"), hex);
    assert_string_equal(tf_tensorfile_meta(f, "crc32.empty"), "00000000");
    /* 3 user keys + format, format_version, library_version + 5 entry CRCs + metadata CRC */
    assert_int_equal(tf_tensorfile_num_meta(f), 12);
    const char *k, *v, *prev = "";
    for (uint32_t i = 0; i < 12; i++) {
        assert_ok(tf_tensorfile_meta_at(&k, &v, f, i));
        assert_true(strcmp(prev, k) < 0); /* sorted by key */
        assert_string_equal(tf_tensorfile_meta(f, k), v);
        prev = k;
    }
    assert_status(tf_tensorfile_meta_at(&k, &v, f, 12), TF_STATUS_EINVAL);
    assert_null(k);

    /* lookups of the wrong kind or a missing name */
    assert_status(tf_tensorfile_get(&t, f, "train.rng"), TF_STATUS_EDTYPE);
    assert_null(t);
    assert_status(tf_tensorfile_blob(&blob, &nb, f, "vocab.ids"), TF_STATUS_EDTYPE);
    assert_null(blob);
    assert_status(tf_tensorfile_get(&t, f, "nope"), TF_STATUS_ENOTFOUND);
    assert_non_null(strstr(tf_last_error_message(), "nope"));
    assert_status(tf_tensorfile_blob(&blob, &nb, f, "nope"), TF_STATUS_ENOTFOUND);
    tf_tensorfile_free(f);
    tf_tensorfile_free(NULL);
    tf_tensor_free(a);
    tf_tensor_free(ids);
    tf_tensor_free(d4);
    tmp_remove(&td);
}

/* The exact bytes of a small file: the layout other safetensors readers rely on. */
static void test_tensorfile_exact_layout(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    const int64_t s1[1] = {2};
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, s1, 1));
    const float vals[2] = {1.0f, -2.0f};
    assert_ok(tf_tensor_copy_from(t, vals, sizeof vals));
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_blob(w, "b", "hi!", 3));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "w", t));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    tf_tensorfile_writer_free(w);

    /* little-endian IEEE floats, then the blob */
    const unsigned char data[11] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 'h', 'i', '!'};
    char meta_canon[128];
    int mlen = snprintf(meta_canon, sizeof meta_canon,
                        "format%clibtransfer%cformat_version%c1%c"
                        "library_version%c%s%c",
                        0, 0, 0, 0, 0, tf_version_string(), 0);
    char expect[1024];
    int n =
        snprintf(expect, sizeof expect,
                 "{\"__metadata__\":{\"format\":\"libtransfer\",\"format_version\":\"1\","
                 "\"library_version\":\"%s\",\"crc32.w\":\"%08x\",\"crc32.b\":\"%08x\","
                 "\"crc32.__metadata__\":\"%08x\"},"
                 "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}",
                 tf_version_string(), (unsigned)crc_ref(0, data, 8),
                 (unsigned)crc_ref(0, data + 8, 3), (unsigned)crc_ref(0, meta_canon, (size_t)mlen));
    while (n % 8 != 0)
        expect[n++] = ' ';
    size_t size;
    unsigned char *b = read_all(td.path, &size);
    assert_int_equal(size, 8 + (size_t)n + sizeof data);
    for (int i = 0; i < 8; i++)
        assert_int_equal(b[i], (unsigned char)((uint64_t)n >> (8 * i)));
    assert_memory_equal(b + 8, expect, (size_t)n);
    assert_memory_equal(b + 8 + n, data, sizeof data);
    free(b);
    tf_tensor_free(t);
    tmp_remove(&td);
}

static void test_tensorfile_overwrite_and_save_twice(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    char other[160];
    snprintf(other, sizeof other, "%s/other.safetensors", td.dir);
    const int64_t s1[1] = {3};
    tf_tensor_t *t;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_I32, s1, 1));
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "t", t));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    /* the tensor is read at save time: a change shows in the next save */
    assert_ok(tf_tensor_fill(t, 7.0));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    assert_ok(tf_tensorfile_writer_save(w, other));
    tf_tensorfile_writer_free(w);
    assert_int_equal(dir_entries(td.dir), 2);
    for (int k = 0; k < 2; k++) {
        tf_tensorfile_t *f;
        tf_tensor_t *got;
        assert_ok(tf_tensorfile_load(&f, ctx, k ? other : td.path, NULL));
        assert_ok(tf_tensorfile_get(&got, f, "t"));
        assert_int_equal(((int32_t *)tf_tensor_data(got))[2], 7);
        tf_tensorfile_free(f);
    }
    tf_tensor_free(t);
    tmp_remove(&td);
}

static void test_tensorfile_empty_file_has_only_metadata(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    tf_tensorfile_writer_t *w;
    tf_tensorfile_t *f;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_meta(w, "k", "v"));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    tf_tensorfile_writer_free(w);
    assert_ok(tf_tensorfile_load(&f, ctx, td.path, NULL));
    assert_int_equal(tf_tensorfile_num_entries(f), 0);
    assert_string_equal(tf_tensorfile_meta(f, "k"), "v");
    tf_tensorfile_free(f);
    tmp_remove(&td);
}

/* A plain safetensors file as PyTorch writes it (no libtransfer metadata). */
static void test_tensorfile_foreign_files_need_the_flag(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    const char hdr[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"w\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}";
    unsigned char file[8 + sizeof hdr - 1 + 8];
    size_t n = sizeof hdr - 1;
    memset(file, 0, 8);
    file[0] = (unsigned char)n;
    memcpy(file + 8, hdr, n);
    const float vals[2] = {0.25f, -4.0f};
    memcpy(file + 8 + n, vals, 8);
    write_all(td.path, file, sizeof file);
    tf_tensorfile_t *f;
    assert_status(tf_tensorfile_load(&f, ctx, td.path, NULL), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "TF_TENSORFILE_ALLOW_FOREIGN"));
    assert_non_null(strstr(tf_last_error_message(), td.path));
    tf_tensorfile_opts_t o = opts_flags(TF_TENSORFILE_ALLOW_FOREIGN);
    assert_ok(tf_tensorfile_load(&f, ctx, td.path, &o));
    tf_tensor_t *t;
    assert_ok(tf_tensorfile_get(&t, f, "w"));
    assert_memory_equal(tf_tensor_data(t), vals, 8);
    assert_int_equal(tf_tensor_dim(t, 0), 1);
    tf_tensorfile_free(f);
    /* a tight header limit */
    o.max_header_bytes = 16;
    assert_status(tf_tensorfile_load(&f, ctx, td.path, &o), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "limit"));
    tmp_remove(&td);
}

/* ---- arguments and writer rules -------------------------------------------------------------- */

static void test_tensorfile_rejects_bad_arguments(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensorfile_opts_t o;
    tf_tensorfile_t *f = (tf_tensorfile_t *)ctx;
    tf_tensorfile_writer_t *w = (tf_tensorfile_writer_t *)ctx;
    assert_status(tf_tensorfile_opts_init(NULL, TF_TENSORFILE_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_opts_init(&o, 0), TF_STATUS_EVERSION);
    assert_status(tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION + 1), TF_STATUS_EVERSION);
    assert_ok(tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION));
    tf_tensorfile_opts_t init = TF_TENSORFILE_OPTS_INIT;
    assert_memory_equal(&init, &o, sizeof o);

    assert_status(tf_tensorfile_load(NULL, ctx, "x", NULL), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_load(&f, NULL, "x", NULL), TF_STATUS_EINVAL);
    assert_null(f);
    assert_status(tf_tensorfile_load(&f, ctx, NULL, NULL), TF_STATUS_EINVAL);
    o.flags = 0x80;
    assert_status(tf_tensorfile_load(&f, ctx, "x", &o), TF_STATUS_EINVAL);
    o.flags = 0;
    o.reserved = 1;
    assert_status(tf_tensorfile_load(&f, ctx, "x", &o), TF_STATUS_EINVAL);
    o.reserved = 0;
    o.max_header_bytes = (uint64_t)TF_TENSORFILE_MAX_HEADER_BYTES + 1;
    assert_status(tf_tensorfile_load(&f, ctx, "x", &o), TF_STATUS_EINVAL);
    o.max_header_bytes = 0;
    o.version = 99;
    assert_status(tf_tensorfile_load(&f, ctx, "x", &o), TF_STATUS_EVERSION);
    assert_status(tf_tensorfile_writer_create(&w, ctx, &o), TF_STATUS_EVERSION);
    assert_null(w);
    assert_status(tf_tensorfile_writer_create(NULL, ctx, NULL), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_create(&w, NULL, NULL), TF_STATUS_EINVAL);

    /* accessors on NULL */
    assert_int_equal(tf_tensorfile_num_entries(NULL), 0);
    assert_null(tf_tensorfile_name(NULL, 0));
    assert_int_equal(tf_tensorfile_kind(NULL, 0), 0);
    assert_int_equal(tf_tensorfile_num_meta(NULL), 0);
    assert_null(tf_tensorfile_meta(NULL, "format"));
    tf_tensor_t *t = (tf_tensor_t *)ctx;
    const void *data = ctx;
    size_t nb = 1;
    const char *k = "", *v = "";
    assert_status(tf_tensorfile_get(&t, NULL, "a"), TF_STATUS_EINVAL);
    assert_null(t);
    assert_status(tf_tensorfile_get(NULL, NULL, "a"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_blob(&data, &nb, NULL, "a"), TF_STATUS_EINVAL);
    assert_null(data);
    assert_int_equal(nb, 0);
    assert_status(tf_tensorfile_blob(NULL, &nb, NULL, "a"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_blob(&data, NULL, NULL, "a"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_meta_at(&k, &v, NULL, 0), TF_STATUS_EINVAL);
    assert_null(k);
    assert_null(v);
    assert_status(tf_tensorfile_meta_at(NULL, &v, NULL, 0), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_meta_at(&k, NULL, NULL, 0), TF_STATUS_EINVAL);

    /* writer functions on NULL */
    const int64_t s1[1] = {1};
    tf_tensor_t *one;
    assert_ok(tf_tensor_create(&one, ctx, TF_DTYPE_F32, s1, 1));
    assert_status(tf_tensorfile_writer_add_tensor(NULL, "a", one), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_blob(NULL, "a", "x", 1), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_meta(NULL, "a", "b"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_save(NULL, "/tmp/x"), TF_STATUS_EINVAL);
    tf_tensorfile_writer_free(NULL);
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_status(tf_tensorfile_writer_add_tensor(w, NULL, one), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "a", NULL), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_blob(w, NULL, "x", 1), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_blob(w, "a", NULL, 1), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_meta(w, NULL, "b"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_meta(w, "a", NULL), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_save(w, NULL), TF_STATUS_EINVAL);
    tf_tensorfile_writer_free(w);
    tf_tensor_free(one);
}

static void test_tensorfile_writer_rules(void **state)
{
    tf_ctx_t *ctx = *state;
    const int64_t s1[1] = {2};
    tf_tensor_t *t;
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, s1, 1));
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "a", t));
    assert_status(tf_tensorfile_writer_add_tensor(w, "a", t), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "already"));
    assert_status(tf_tensorfile_writer_add_blob(w, "a", "x", 1), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "", t), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "__metadata__", t), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "bad\xff", t), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "\xed\xa0\x80", t), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_tensor(w, "\xc0\xaf", t), TF_STATUS_EINVAL);
    const char *reserved[] = {"format",  "format_version",     "library_version",
                              "crc32.a", "crc32.__metadata__", "__metadata__",
                              ""};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        assert_status(tf_tensorfile_writer_add_meta(w, reserved[i], "x"), TF_STATUS_EINVAL);
    assert_ok(tf_tensorfile_writer_add_meta(w, "k", "v"));
    assert_status(tf_tensorfile_writer_add_meta(w, "k", "w"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_meta(w, "k2", "\xe2\x82"), TF_STATUS_EINVAL);
    assert_status(tf_tensorfile_writer_add_meta(w, "\xe2\x82", "v"), TF_STATUS_EINVAL);
    assert_ok(tf_tensorfile_writer_add_meta(w, "crc32", "not a crc key"));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "\xf0\x9f\x98\x80", t)); /* 4-byte UTF-8 */
    /* non-finite values are refused unless allowed */
    ((float *)tf_tensor_data(t))[1] = NAN;
    assert_status(tf_tensorfile_writer_save(w, "/tmp/tf_io_never_written.safetensors"),
                  TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "NaN"));
    assert_int_equal(access("/tmp/tf_io_never_written.safetensors", F_OK), -1);
    tf_tensorfile_writer_free(w);

    tmpdir_t td;
    tmp_make(&td);
    tf_tensorfile_opts_t o = opts_flags(TF_TENSORFILE_ALLOW_NONFINITE);
    ((float *)tf_tensor_data(t))[0] = -INFINITY;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, &o));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "a", t));
    assert_ok(tf_tensorfile_writer_save(w, td.path));
    tf_tensorfile_writer_free(w);
    tf_tensorfile_t *f;
    assert_status(tf_tensorfile_load(&f, ctx, td.path, NULL), TF_STATUS_EFORMAT);
    assert_ok(tf_tensorfile_load(&f, ctx, td.path, &o));
    tf_tensor_t *got;
    assert_ok(tf_tensorfile_get(&got, f, "a"));
    assert_true(isinf(((float *)tf_tensor_data(got))[0]));
    assert_true(isnan(((float *)tf_tensor_data(got))[1]));
    tf_tensorfile_free(f);
    tf_tensor_free(t);
    tmp_remove(&td);
}

/* ---- file-system errors -------------------------------------------------------------------- */

static void test_tensorfile_load_missing_or_not_a_file(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensorfile_t *f;
    assert_status(tf_tensorfile_load(&f, ctx, "/nonexistent/dir/m.safetensors", NULL),
                  TF_STATUS_ENOTFOUND);
    assert_non_null(strstr(tf_last_error_message(), "/nonexistent/dir/m.safetensors"));
    assert_status(tf_tensorfile_load(&f, ctx, "/tmp", NULL), TF_STATUS_EIO);
    assert_status(tf_tensorfile_load(&f, ctx, "/dev/null", NULL), TF_STATUS_EIO);
    assert_null(f);
    tmpdir_t td;
    tmp_make(&td);
    /* a FIFO without a writer: refused at once, not waited on */
    assert_int_equal(mkfifo(td.path, 0600), 0);
    assert_status(tf_tensorfile_load(&f, ctx, td.path, NULL), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "not a regular file"));
    unlink(td.path);
    write_all(td.path, "", 0);
    assert_status(tf_tensorfile_load(&f, ctx, td.path, NULL), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "too short"));
    tmp_remove(&td);
}

static tf_status_t save_one(tf_ctx_t *ctx, const char *path, float value)
{
    const int64_t s1[1] = {4};
    tf_tensor_t *t;
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensor_create(&t, ctx, TF_DTYPE_F32, s1, 1));
    assert_ok(tf_tensor_fill(t, value));
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "t", t));
    tf_status_t st = tf_tensorfile_writer_save(w, path);
    tf_tensorfile_writer_free(w);
    tf_tensor_free(t);
    return st;
}

static void test_tensorfile_save_into_missing_or_bad_directories(void **state)
{
    tf_ctx_t *ctx = *state;
    tmpdir_t td;
    tmp_make(&td);
    char p[256];
    /* a missing directory */
    snprintf(p, sizeof p, "%s/missing/m.safetensors", td.dir);
    assert_status(save_one(ctx, p, 1.0f), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), p));
    assert_non_null(strstr(tf_last_error_message(), "No such file or directory"));
    /* a path under a regular file */
    assert_ok(save_one(ctx, td.path, 1.0f));
    snprintf(p, sizeof p, "%s/m.safetensors", td.path);
    assert_status(save_one(ctx, p, 1.0f), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "not a directory"));
    /* the target is a directory, or names none */
    assert_status(save_one(ctx, td.dir, 1.0f), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "not a regular file"));
    snprintf(p, sizeof p, "%s/", td.dir);
    assert_status(save_one(ctx, p, 1.0f), TF_STATUS_EIO);
    assert_status(save_one(ctx, "", 1.0f), TF_STATUS_EIO);
    /* sysfs refuses new files even to root */
    if (access("/sys/kernel", F_OK) == 0) {
        assert_status(save_one(ctx, "/sys/tf_io_test.safetensors", 1.0f), TF_STATUS_EIO);
        assert_non_null(strstr(tf_last_error_message(), "temporary file"));
    }
    /* a directory without write permission (permission bits do not stop root) */
    if (geteuid() != 0) {
        char ro[160];
        snprintf(ro, sizeof ro, "%s/ro", td.dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(p, sizeof p, "%s/m.safetensors", ro);
        assert_status(save_one(ctx, p, 1.0f), TF_STATUS_EIO);
        assert_non_null(strstr(tf_last_error_message(), "Permission denied"));
        rmdir(ro);
    }
    /* nothing but the first good file was created */
    assert_int_equal(dir_entries(td.dir), 1);
    tmp_remove(&td);
}

static void test_tensorfile_save_to_dev_full_changes_nothing(void **state)
{
    tf_ctx_t *ctx = *state;
    struct stat before, after;
    if (stat("/dev/full", &before) != 0)
        return; /* not on this system */
    assert_status(save_one(ctx, "/dev/full", 1.0f), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "/dev/full"));
    assert_int_equal(stat("/dev/full", &after), 0);
    assert_true(S_ISCHR(after.st_mode));
    assert_int_equal(before.st_rdev, after.st_rdev);
}

/* ---- allocation failures ----------------------------------------------------------------------
 */

static tf_status_t build_and_save(tf_ctx_t *ctx, const char *path, tf_tensor_t *a, tf_tensor_t *b)
{
    tf_tensorfile_writer_t *w = NULL;
    tf_status_t st = tf_tensorfile_writer_create(&w, ctx, NULL);
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_add_tensor(w, "a", a);
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_add_tensor(w, "b", b);
    for (int i = 0; i < 12 && st == TF_STATUS_OK; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        st = tf_tensorfile_writer_add_meta(w, key, "some value");
    }
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_add_blob(w, "blob", "abc", 3);
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_save(w, path);
    tf_tensorfile_writer_free(w);
    return st;
}

static void test_tensorfile_oom_sweep_save_leaves_target_untouched(void **state)
{
    (void)state;
    tmpdir_t td;
    tmp_make(&td);
    const int64_t s2[2] = {3, 4};
    int done = 0;
    for (long n = 1; !done; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        tf_tensor_t *a, *b;
        assert_ok(tf_tensor_create(&a, ctx, TF_DTYPE_F32, s2, 2));
        assert_ok(tf_tensor_create(&b, ctx, TF_DTYPE_I32, s2, 2));
        assert_ok(tf_tensor_fill(a, 0.5));
        assert_ok(tf_tensor_fill(b, (double)n));
        write_all(td.path, "previous", 8);
        uint64_t bytes0 = tf_ctx_allocated_bytes(ctx);
        ta.fail_at = ta.attempts + n;
        tf_status_t st = build_and_save(ctx, td.path, a, b);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), bytes0);
        assert_int_equal(dir_entries(td.dir), 1); /* no temporary file left */
        if (st == TF_STATUS_OK) {
            assert_true(n > 5);
            done = 1;
            tf_tensorfile_t *f;
            ta.fail_at = 0;
            assert_ok(tf_tensorfile_load(&f, ctx, td.path, NULL));
            tf_tensorfile_free(f);
        } else {
            assert_int_equal(st, TF_STATUS_ENOMEM);
            size_t size;
            unsigned char *old = read_all(td.path, &size);
            assert_int_equal(size, 8);
            assert_memory_equal(old, "previous", 8);
            free(old);
        }
        tf_tensor_free(a);
        tf_tensor_free(b);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
    }
    tmp_remove(&td);
}

static void test_tensorfile_oom_sweep_load(void **state)
{
    tf_ctx_t *setup = *state;
    tmpdir_t td;
    tmp_make(&td);
    const int64_t s2[2] = {3, 4};
    tf_tensor_t *a, *b;
    assert_ok(tf_tensor_create(&a, setup, TF_DTYPE_F32, s2, 2));
    assert_ok(tf_tensor_create(&b, setup, TF_DTYPE_I32, s2, 2));
    assert_ok(build_and_save(setup, td.path, a, b));
    tf_tensor_free(a);
    tf_tensor_free(b);
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        ta.fail_at = ta.attempts + n;
        tf_tensorfile_t *f = (tf_tensorfile_t *)ctx;
        tf_status_t st = tf_tensorfile_load(&f, ctx, td.path, NULL);
        if (st == TF_STATUS_OK) {
            assert_true(n > 10);
            assert_int_equal(tf_tensorfile_num_entries(f), 3);
            assert_string_equal(tf_tensorfile_meta(f, "k11"), "some value");
            tf_tensorfile_free(f);
            tf_ctx_free(ctx);
            assert_int_equal(ta.allocs, ta.frees);
            break;
        }
        assert_int_equal(st, TF_STATUS_ENOMEM);
        assert_null(f);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
    }
    tmp_remove(&td);
}

#define CASE(name) cmocka_unit_test_setup_teardown(name, tf_test_setup_ctx, tf_test_teardown_ctx)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        CASE(test_tensorfile_roundtrip_tensors_blobs_and_metadata),
        CASE(test_tensorfile_exact_layout),
        CASE(test_tensorfile_overwrite_and_save_twice),
        CASE(test_tensorfile_empty_file_has_only_metadata),
        CASE(test_tensorfile_foreign_files_need_the_flag),
        CASE(test_tensorfile_rejects_bad_arguments),
        CASE(test_tensorfile_writer_rules),
        CASE(test_tensorfile_load_missing_or_not_a_file),
        CASE(test_tensorfile_save_into_missing_or_bad_directories),
        CASE(test_tensorfile_save_to_dev_full_changes_nothing),
        CASE(test_tensorfile_oom_sweep_save_leaves_target_untouched),
        CASE(test_tensorfile_oom_sweep_load),
    };
    return TF_TEST_RUN(tests);
}
