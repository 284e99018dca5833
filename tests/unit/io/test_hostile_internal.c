/* SPDX-License-Identifier: MIT */
/* Hostile tensor files through the from-memory loader: every malformed header, size, offset,
 * dtype and payload is rejected with a status and a message naming the file, never a crash. */
#include "tf_test.h"
#include "io/io_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* File bytes: 8-byte little-endian length of `json` (with ' turned into "), the JSON, then data. */
static unsigned char *mk(const char *json, const void *data, size_t dlen, size_t *size)
{
    size_t n = strlen(json);
    unsigned char *b = malloc(8 + n + dlen + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    for (size_t i = 0; i < n; i++)
        b[8 + i] = (unsigned char)(json[i] == '\'' ? '"' : json[i]);
    if (dlen > 0)
        memcpy(b + 8 + n, data, dlen);
    *size = 8 + n + dlen;
    return b;
}

static tf_status_t load_bytes(tf_ctx_t *ctx, const unsigned char *b, size_t size, uint32_t flags)
{
    tf_tensorfile_opts_t o;
    tf_tensorfile_t *f = (tf_tensorfile_t *)ctx;
    assert_ok(tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION));
    o.flags = flags;
    tf_status_t st = tf__tensorfile_load_mem(&f, ctx, b, size, &o, "hostile.safetensors");
    if (st != TF_STATUS_OK) {
        assert_null(f);
        /* The message names the file. */
        assert_non_null(strstr(tf_last_error_message(), "hostile.safetensors"));
    }
    tf_tensorfile_free(f);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    return st;
}

/* Load `json` + `dlen` bytes of `data` as a foreign (plain safetensors) file; expect `want` and,
 * if given, a message containing `needle`. */
static void expect_data(tf_ctx_t *ctx,
                        const char *json,
                        const void *data,
                        size_t dlen,
                        tf_status_t want,
                        const char *needle)
{
    size_t size;
    unsigned char *b = mk(json, data, dlen, &size);
    tf_status_t st = load_bytes(ctx, b, size, TF_TENSORFILE_ALLOW_FOREIGN);
    if (st != want || (needle && strstr(tf_last_error_message(), needle) == NULL))
        print_error("header %s: got %s (%s), want %s with '%s'\n", json, tf_status_str(st),
                    tf_last_error_message(), tf_status_str(want), needle ? needle : "");
    assert_int_equal(st, want);
    if (needle)
        assert_non_null(strstr(tf_last_error_message(), needle));
    free(b);
}

/* The same with `dlen` zero bytes of data. */
static void
expect(tf_ctx_t *ctx, const char *json, size_t dlen, tf_status_t want, const char *needle)
{
    unsigned char data[64] = {0};
    assert_true(dlen <= sizeof data);
    expect_data(ctx, json, data, dlen, want, needle);
}

/* The bytes of the file at `path` in the temporary directory `dir`; both are removed. */
static unsigned char *take_file(char *dir, const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*size);
    assert_int_equal(fread(b, 1, *size, fp), *size);
    fclose(fp);
    unlink(path);
    rmdir(dir);
    return b;
}

/* Write a small valid libtransfer file with the public writer and return its bytes. */
static unsigned char *valid_file(tf_ctx_t *ctx, size_t *size, float first, uint32_t flags)
{
    char dir[] = "/tmp/tf_io_hostile_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/v.safetensors", dir);
    const int64_t shape[2] = {2, 3};
    const int64_t ishape[1] = {4};
    tf_tensor_t *a, *i32;
    tf_tensorfile_writer_t *w;
    tf_tensorfile_opts_t o;
    assert_ok(tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION));
    o.flags = flags;
    assert_ok(tf_tensor_create(&a, ctx, TF_DTYPE_F32, shape, 2));
    assert_ok(tf_tensor_create(&i32, ctx, TF_DTYPE_I32, ishape, 1));
    float *fa = tf_tensor_data(a);
    for (int k = 0; k < 6; k++)
        fa[k] = k == 0 ? first : 0.5f * (float)k;
    int32_t *ia = tf_tensor_data(i32);
    for (int k = 0; k < 4; k++)
        ia[k] = -7 * k;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, &o));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "enc.weight", a));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "ids", i32));
    assert_ok(tf_tensorfile_writer_add_blob(w, "state", "xyz", 3));
    assert_ok(tf_tensorfile_writer_add_meta(w, "note", "hello"));
    assert_ok(tf_tensorfile_writer_save(w, path));
    tf_tensorfile_writer_free(w);
    tf_tensor_free(a);
    tf_tensor_free(i32);
    return take_file(dir, path, size);
}

/* A libtransfer file with an F16 tensor "h" [2, 2] (1, -2, 0.5, 65504), an I8 tensor "q" [2, 3]
 * with its scale "q.scale" [2] (0.5, 0.25) and an F32 tensor "b" [3], through the raw writer. */
static unsigned char *quant_file(tf_ctx_t *ctx, size_t *size)
{
    char dir[] = "/tmp/tf_io_quant_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/q.safetensors", dir);
    static const uint16_t h[4] = {0x3c00, 0xc000, 0x3800, 0x7bff};
    static const int8_t q[6] = {127, -127, 3, 0, -1, 64};
    const int64_t hs[2] = {2, 2}, qs[2] = {2, 3}, ss[1] = {2}, bs[1] = {3};
    tf_tensor_t *scale, *bias;
    tf_tensorfile_writer_t *w;
    assert_ok(tf_tensor_create(&scale, ctx, TF_DTYPE_F32, ss, 1));
    assert_ok(tf_tensor_create(&bias, ctx, TF_DTYPE_F32, bs, 1));
    ((float *)tf_tensor_data(scale))[0] = 0.5f;
    ((float *)tf_tensor_data(scale))[1] = 0.25f;
    for (int k = 0; k < 3; k++)
        ((float *)tf_tensor_data(bias))[k] = (float)k - 1.0f;
    assert_ok(tf_tensorfile_writer_create(&w, ctx, NULL));
    assert_ok(tf__tensorfile_writer_add_raw(w, "q", "I8", 1, qs, 2, q));
    assert_ok(tf__tensorfile_writer_add_raw(w, "h", "F16", 2, hs, 2, h));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "b", bias));
    assert_ok(tf_tensorfile_writer_add_tensor(w, "q.scale", scale));
    assert_ok(tf_tensorfile_writer_save(w, path));
    tf_tensorfile_writer_free(w);
    tf_tensor_free(scale);
    tf_tensor_free(bias);
    return take_file(dir, path, size);
}

static uint64_t header_len(const unsigned char *b)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    return n;
}

static void test_hostile_sizes(void **state)
{
    tf_ctx_t *ctx = *state;
    unsigned char b[16] = {0};
    assert_status(load_bytes(ctx, b, 0, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "too short"));
    assert_status(load_bytes(ctx, b, 7, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    /* header length 0 */
    assert_status(load_bytes(ctx, b, 16, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "length is 0"));
    /* header length past the end of the file */
    b[0] = 9;
    memcpy(b + 8, "{}      ", 8);
    assert_status(load_bytes(ctx, b, 16, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "past the end"));
    /* absurd header lengths */
    memset(b, 0xff, 8);
    assert_status(load_bytes(ctx, b, 16, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "above the limit"));
    memset(b, 0, 8);
    b[3] = 0x10; /* 256 MiB */
    assert_status(load_bytes(ctx, b, 16, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_EFORMAT);
    /* a header exactly filling the file, no tensors: valid */
    b[3] = 0;
    b[0] = 8;
    assert_status(load_bytes(ctx, b, 16, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_OK);
}

static void test_hostile_not_json(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx, "{'a':", 0, TF_STATUS_EFORMAT, "not valid JSON");
    expect(ctx, "hello", 0, TF_STATUS_EFORMAT, "not valid JSON");
    expect(ctx, "[1,2]", 0, TF_STATUS_EFORMAT, "not a JSON object");
    expect(ctx, "'str'", 0, TF_STATUS_EFORMAT, "not a JSON object");
    expect(ctx, "{} x", 0, TF_STATUS_EFORMAT, "after the JSON");
    expect(ctx, "{}{}", 0, TF_STATUS_EFORMAT, "after the JSON");
    expect(ctx, "{}  \n ", 0, TF_STATUS_OK, NULL);
    expect(ctx, "{'a':5}", 0, TF_STATUS_EFORMAT, "not a JSON object");
    expect(ctx, "{'a\\u0000b':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}", 0,
           TF_STATUS_EFORMAT, "NUL");
    expect(ctx, "{'\\\\u0000':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}", 0, TF_STATUS_OK,
           NULL);
    expect(ctx, "{'':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}", 0, TF_STATUS_EFORMAT,
           "empty");
    expect(ctx, "{'\xff':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}", 0, TF_STATUS_EFORMAT,
           "UTF-8");
    /* deep nesting is bounded by the parser, not the stack */
    char deep[3000];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    expect(ctx, deep, 0, TF_STATUS_EFORMAT, NULL);
}

static void test_hostile_missing_fields(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx, "{'a':{'shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT, "dtype");
    expect(ctx, "{'a':{'dtype':'F32','data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT, "shape");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2]}}", 8, TF_STATUS_EFORMAT, "data_offsets");
    expect(ctx, "{'a':{'dtype':5,'shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "dtype");
    expect(ctx, "{'a':{'dtype':'F32','shape':2,'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "shape");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0]}}", 8, TF_STATUS_EFORMAT,
           "data_offsets");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8,8]}}", 8, TF_STATUS_EFORMAT,
           "data_offsets");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':['0','8']}}", 8, TF_STATUS_EFORMAT,
           "data_offsets");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[-8,0]}}", 8, TF_STATUS_EFORMAT,
           "data_offsets");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0.5,8]}}", 8, TF_STATUS_EFORMAT,
           "data_offsets");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_OK, NULL);
}

static void test_hostile_offsets(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx, "{'a':{'dtype':'F32','shape':[25],'data_offsets':[0,100]}}", 8, TF_STATUS_EFORMAT,
           "past the data section");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[8,0]}}", 8, TF_STATUS_EFORMAT,
           "end before");
    expect(ctx,
           "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
           "'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
           12, TF_STATUS_EFORMAT, "overlaps");
    expect(ctx,
           "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
           "'b':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}",
           8, TF_STATUS_EFORMAT, "overlaps");
    expect(ctx,
           "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
           "'b':{'dtype':'F32','shape':[2],'data_offsets':[12,20]}}",
           20, TF_STATUS_EFORMAT, "gap");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}", 12, TF_STATUS_EFORMAT,
           "gap");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 12, TF_STATUS_EFORMAT,
           "cover");
    /* Out of JSON order but tiling the data: valid (readers sort by offset). */
    expect(ctx,
           "{'b':{'dtype':'I32','shape':[1],'data_offsets':[8,12]},"
           "'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}",
           12, TF_STATUS_OK, NULL);
    /* offsets beyond 2^53 cannot be represented exactly: rejected */
    expect(ctx, "{'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1e300]}}", 1, TF_STATUS_EFORMAT,
           "data_offsets");
}

static void test_hostile_dtypes(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx, "{'a':{'dtype':'F33','shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "unknown dtype");
    expect(ctx, "{'a':{'dtype':'f32','shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "unknown dtype");
    expect(ctx, "{'a':{'dtype':'I16','shape':[4],'data_offsets':[0,8]}}", 8, TF_STATUS_ENOTSUP,
           "I16");
    expect(ctx, "{'a':{'dtype':'BF16','shape':[4],'data_offsets':[0,8]}}", 8, TF_STATUS_ENOTSUP,
           "BF16");
    expect(ctx, "{'a':{'dtype':'F64','shape':[1],'data_offsets':[0,8]}}", 8, TF_STATUS_ENOTSUP,
           "F64");
    expect(ctx, "{'a':{'dtype':'I64','shape':[1],'data_offsets':[0,8]}}", 8, TF_STATUS_ENOTSUP,
           "I64");
    /* a wrong dtype for the byte count is a format error, not ENOTSUP */
    expect(ctx, "{'a':{'dtype':'F64','shape':[2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "span");
    expect(ctx, "{'a':{'dtype':'U8','shape':[2,2],'data_offsets':[0,4]}}", 4, TF_STATUS_OK, NULL);
}

static void test_hostile_shapes(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx, "{'a':{'dtype':'F32','shape':[3],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "span");
    expect(ctx, "{'a':{'dtype':'F32','shape':[-2],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "negative");
    expect(ctx, "{'a':{'dtype':'F32','shape':[1.5],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "not an integer");
    expect(ctx, "{'a':{'dtype':'F32','shape':['2'],'data_offsets':[0,8]}}", 8, TF_STATUS_EFORMAT,
           "not an integer");
    expect(ctx,
           "{'a':{'dtype':'F32','shape':[4294967296,4294967296,4294967296],"
           "'data_offsets':[0,8]}}",
           8, TF_STATUS_EFORMAT, "overflows");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2147483648,2147483648],'data_offsets':[0,8]}}", 8,
           TF_STATUS_EFORMAT, "overflows");
    expect(ctx,
           "{'a':{'dtype':'F32','shape':[9007199254740992,9007199254740992,0],"
           "'data_offsets':[0,0]}}",
           0, TF_STATUS_EFORMAT, "overflows"); /* as the reference reader: checked in order */
    expect(ctx, "{'a':{'dtype':'F32','shape':[],'data_offsets':[0,4]}}", 4, TF_STATUS_ENOTSUP,
           "scalar");
    expect(ctx, "{'a':{'dtype':'F32','shape':[2,0],'data_offsets':[0,0]}}", 0, TF_STATUS_ENOTSUP,
           "size 0");
    expect(ctx, "{'a':{'dtype':'F32','shape':[1,1,1,1,2],'data_offsets':[0,8]}}", 8,
           TF_STATUS_ENOTSUP, "more than 4");
    char many[512] = "{'a':{'dtype':'F32','shape':[1";
    for (int i = 0; i < 70; i++)
        strcat(many, ",1");
    strcat(many, "],'data_offsets':[0,4]}}");
    expect(ctx, many, 4, TF_STATUS_EFORMAT, "64 dimensions");
    /* an empty blob is fine */
    expect(ctx, "{'a':{'dtype':'U8','shape':[0],'data_offsets':[0,0]}}", 0, TF_STATUS_OK, NULL);
}

static void test_hostile_names_and_metadata(void **state)
{
    tf_ctx_t *ctx = *state;
    expect(ctx,
           "{'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]},"
           "'a':{'dtype':'U8','shape':[1],'data_offsets':[1,2]}}",
           2, TF_STATUS_EFORMAT, "two entries");
    expect(ctx, "{'__metadata__':{'k':'v'},'__metadata__':{'k':'v'}}", 0, TF_STATUS_EFORMAT,
           "repeated");
    expect(ctx, "{'__metadata__':[1]}", 0, TF_STATUS_EFORMAT, "__metadata__");
    expect(ctx, "{'__metadata__':{'k':1}}", 0, TF_STATUS_EFORMAT, "not a string");
    expect(ctx, "{'__metadata__':{'k':'v','k':'w'}}", 0, TF_STATUS_EFORMAT, "twice");
    expect(ctx, "{'__metadata__':{'k':'\xc3\x28'}}", 0, TF_STATUS_EFORMAT, "UTF-8");
    /* foreign files need the flag */
    size_t size;
    unsigned char *b = mk("{'__metadata__':{'format':'pt'}}", NULL, 0, &size);
    assert_status(load_bytes(ctx, b, size, 0), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "not a libtransfer file"));
    assert_status(load_bytes(ctx, b, size, TF_TENSORFILE_ALLOW_FOREIGN), TF_STATUS_OK);
    free(b);
    /* a file claiming libtransfer needs format_version and every CRC, even with the flag */
    expect(ctx, "{'__metadata__':{'format':'libtransfer'}}", 0, TF_STATUS_EFORMAT,
           "format_version");
    expect(ctx, "{'__metadata__':{'format':'libtransfer','format_version':'x1'}}", 0,
           TF_STATUS_EFORMAT, "format_version");
    expect(ctx, "{'__metadata__':{'format':'libtransfer','format_version':'2'}}", 0,
           TF_STATUS_EVERSION, "version 2");
    /* MC: the metadata CRC of {format: libtransfer, format_version: 1}, computed with zlib over
     * the canonical form "format\0libtransfer\0format_version\01\0" */
#define LTF "'format':'libtransfer','format_version':'1','crc32.__metadata__':'f61655b3'"
    expect(ctx, "{'__metadata__':{" LTF "}}", 0, TF_STATUS_OK, NULL);
    expect(ctx, "{'__metadata__':{'format':'libtransfer','format_version':'1'}}", 0,
           TF_STATUS_EFORMAT, "no crc32.__metadata__");
    expect(ctx,
           "{'__metadata__':{'format':'libtransfer','format_version':'1',"
           "'crc32.__metadata__':'f61655b4'}}",
           0, TF_STATUS_EFORMAT, "metadata is corrupt");
    expect(ctx, "{'__metadata__':{" LTF ",'extra':'x'}}", 0, TF_STATUS_EFORMAT,
           "metadata is corrupt");
    expect(ctx, "{'__metadata__':{" LTF "},'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}", 1,
           TF_STATUS_EFORMAT, "no crc32");
    expect(ctx,
           "{'__metadata__':{" LTF ",'crc32.a':'d202ef8d','crc32.b':'d202ef8d'},"
           "'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}",
           1, TF_STATUS_EFORMAT, "names no entry");
    expect(ctx,
           "{'__metadata__':{" LTF ",'crc32.a':'d202ef8'},"
           "'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}",
           1, TF_STATUS_EFORMAT, "hex");
    /* CRC32 of one zero byte is d202ef8d (zlib): accepted in either case */
    expect(ctx,
           "{'__metadata__':{" LTF ",'crc32.a':'D202EF8D'},"
           "'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}",
           1, TF_STATUS_OK, NULL);
    expect(ctx,
           "{'__metadata__':{" LTF ",'crc32.a':'d202ef8e'},"
           "'a':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}",
           1, TF_STATUS_EFORMAT, "corrupt");
#undef LTF
}

static void test_hostile_nonfinite_weights(void **state)
{
    tf_ctx_t *ctx = *state;
    size_t size;
    unsigned char *b = valid_file(ctx, &size, (float)NAN, TF_TENSORFILE_ALLOW_NONFINITE);
    assert_status(load_bytes(ctx, b, size, 0), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "NaN"));
    assert_non_null(strstr(tf_last_error_message(), "enc.weight"));
    assert_status(load_bytes(ctx, b, size, TF_TENSORFILE_ALLOW_NONFINITE), TF_STATUS_OK);
    free(b);
    b = valid_file(ctx, &size, -(float)INFINITY, TF_TENSORFILE_ALLOW_NONFINITE);
    assert_status(load_bytes(ctx, b, size, 0), TF_STATUS_EFORMAT);
    assert_non_null(strstr(tf_last_error_message(), "infinite"));
    free(b);
}

static void test_hostile_every_payload_bit_flip_is_caught(void **state)
{
    tf_ctx_t *ctx = *state;
    size_t size;
    unsigned char *b = valid_file(ctx, &size, 1.0f, 0);
    assert_status(load_bytes(ctx, b, size, 0), TF_STATUS_OK);
    size_t data_start = 8 + (size_t)header_len(b);
    assert_int_equal(size - data_start, 6 * 4 + 4 * 4 + 3);
    for (size_t bit = data_start * 8; bit < size * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_status(load_bytes(ctx, b, size, TF_TENSORFILE_ALLOW_NONFINITE), TF_STATUS_EFORMAT);
        assert_non_null(strstr(tf_last_error_message(), "corrupt"));
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    free(b);
}

static void test_hostile_header_bit_flips_never_crash(void **state)
{
    tf_ctx_t *ctx = *state;
    size_t size;
    unsigned char *b = valid_file(ctx, &size, 1.0f, 0);
    size_t data_start = 8 + (size_t)header_len(b);
    int ok = 0;
    for (size_t bit = 0; bit < data_start * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        /* Some flips keep the meaning (hex digit case); every other one must fail cleanly. */
        if (load_bytes(ctx, b, size, 0) == TF_STATUS_OK) {
            /* only the case of a hex digit of a CRC may change */
            unsigned char c = b[bit / 8];
            assert_true(bit % 8 == 5 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
            ok++;
        }
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    assert_true(ok < 48);
    free(b);
}

static void test_hostile_every_truncation_is_rejected(void **state)
{
    tf_ctx_t *ctx = *state;
    size_t size;
    unsigned char *b = valid_file(ctx, &size, 1.0f, 0);
    for (size_t n = 0; n < size; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        assert_status(load_bytes(ctx, cut, n, 0), TF_STATUS_EFORMAT);
        free(cut);
    }
    /* and trailing bytes after the data */
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, b, size);
    longer[size] = 0;
    assert_status(load_bytes(ctx, longer, size + 1, 0), TF_STATUS_EFORMAT);
    free(longer);
    free(b);
}

/* F16 and I8 entries widen to F32 tensors; the scale folds into its int8 tensor. */
static void test_hostile_quantized_entries_load(void **state)
{
    tf_ctx_t *ctx = *state;
    size_t size;
    unsigned char *b = quant_file(ctx, &size);
    tf_tensorfile_t *f;
    tf_tensor_t *t;
    assert_ok(tf__tensorfile_load_mem(&f, ctx, b, size, NULL, "q.safetensors"));
    assert_int_equal(tf_tensorfile_num_entries(f), 3);
    assert_status(tf_tensorfile_get(&t, f, "q.scale"), TF_STATUS_ENOTFOUND);
    assert_ok(tf_tensorfile_get(&t, f, "h"));
    assert_int_equal(tf_tensor_dtype(t), TF_DTYPE_F32);
    const float *v = tf_tensor_data(t);
    assert_true(v[0] == 1.0f && v[1] == -2.0f && v[2] == 0.5f && v[3] == 65504.0f);
    assert_ok(tf_tensorfile_get(&t, f, "q"));
    assert_int_equal(tf_tensor_dim(t, 0), 2);
    assert_int_equal(tf_tensor_dim(t, 1), 3);
    v = tf_tensor_data(t);
    const float want[6] = {63.5f, -63.5f, 1.5f, 0.0f, -0.25f, 16.0f};
    for (int k = 0; k < 6; k++)
        assert_true(v[k] == want[k]);
    assert_ok(tf_tensorfile_get(&t, f, "b"));
    assert_true(((const float *)tf_tensor_data(t))[2] == 1.0f);
    tf_tensorfile_free(f);
    /* every payload bit of the quantised data is covered by a CRC */
    size_t data_start = 8 + (size_t)header_len(b);
    for (size_t bit = data_start * 8; bit < size * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_status(load_bytes(ctx, b, size, TF_TENSORFILE_ALLOW_NONFINITE), TF_STATUS_EFORMAT);
        assert_non_null(strstr(tf_last_error_message(), "corrupt"));
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    for (size_t n = 0; n < size; n++)
        assert_status(load_bytes(ctx, b, n, 0), TF_STATUS_EFORMAT);
    free(b);
}

/* An int8 tensor needs an F32 scale of one value per row, finite and not negative; an F16 NaN is
 * refused like an F32 one. */
static void test_hostile_quantized_entries_malformed(void **state)
{
    tf_ctx_t *ctx = *state;
    const unsigned char q4[4] = {1, 2, 3, 4};
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]}}", q4, 4,
                TF_STATUS_EFORMAT, "no scale tensor 'w.scale'");
    unsigned char d[16] = {1, 2, 3, 4};
    float sc[3] = {0.5f, 0.25f, 1.0f};
    memcpy(d + 4, sc, sizeof sc);
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[3],'data_offsets':[4,16]}}",
                d, 16, TF_STATUS_EFORMAT, "not F32 of shape [2]");
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'I32','shape':[2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_EFORMAT, "not F32");
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[1,2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_EFORMAT, "not F32");
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_OK, NULL);
    sc[1] = NAN;
    memcpy(d + 4, sc, sizeof sc);
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_EFORMAT, "NaN");
    sc[1] = -0.5f;
    memcpy(d + 4, sc, sizeof sc);
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_EFORMAT, "negative");
    sc[1] = 3e38f; /* finite, but 127 * scale is not */
    memcpy(d + 4, sc, sizeof sc);
    d[2] = 127;
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}",
                d, 12, TF_STATUS_EFORMAT, "infinite");
    /* a scale that is itself int8 */
    expect_data(ctx, "{'w':{'dtype':'I8','shape':[2,2],'data_offsets':[0,4]},"
                     "'w.scale':{'dtype':'I8','shape':[2],'data_offsets':[4,6]}}",
                d, 6, TF_STATUS_EFORMAT, "scale");
    const uint16_t h[2] = {0x3c00, 0x7e00};
    expect_data(ctx, "{'h':{'dtype':'F16','shape':[2],'data_offsets':[0,4]}}", h, 4,
                TF_STATUS_EFORMAT, "NaN");
    const uint16_t hinf[2] = {0xfc00, 0x3c00};
    expect_data(ctx, "{'h':{'dtype':'F16','shape':[2],'data_offsets':[0,4]}}", hinf, 4,
                TF_STATUS_EFORMAT, "infinite");
    expect_data(ctx, "{'h':{'dtype':'F16','shape':[2],'data_offsets':[0,4]}}", h, 3,
                TF_STATUS_EFORMAT, "past the data");
}

static void test_hostile_load_mem_arguments(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_tensorfile_t *f;
    assert_status(tf__tensorfile_load_mem(NULL, ctx, "", 0, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf__tensorfile_load_mem(&f, NULL, "", 0, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf__tensorfile_load_mem(&f, ctx, NULL, 5, NULL, NULL), TF_STATUS_EINVAL);
    assert_status(tf__tensorfile_load_mem(&f, ctx, NULL, 0, NULL, NULL), TF_STATUS_EFORMAT);
    assert_null(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_sizes, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_not_json, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_missing_fields, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_offsets, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_quantized_entries_load, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_quantized_entries_malformed, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_dtypes, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_shapes, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_names_and_metadata, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_nonfinite_weights, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_every_payload_bit_flip_is_caught,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_header_bit_flips_never_crash,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_every_truncation_is_rejected,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_hostile_load_mem_arguments, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
