/* SPDX-License-Identifier: MIT */
/* Helper for the Python interop test (public API only).
 *   io_roundtrip_tool write OUT   write a fixed file (values documented in test_interop.py)
 *   io_roundtrip_tool dump IN     load IN (plain safetensors allowed) and print every entry and
 *                                 metadata pair, bytes as hex:
 *                                   T <name> <dtype> <d0,d1,...> <data>   (tensor)
 *                                   B <name> <data>                       (blob)
 *                                   M <key> <value>                       (metadata)
 *                                 names, keys and values hex-encoded too. On failure prints
 *                                 "ERROR <status> <message>" and exits 2. */
#include "transfer.h"

#include <stdio.h>
#include <string.h>

static void hex(const void *data, size_t n)
{
    const unsigned char *p = data;
    if (n == 0)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static int fail(tf_status_t st)
{
    printf("ERROR %s %s\n", tf_status_str(st), tf_last_error_message());
    return 2;
}

static tf_status_t add(tf_ctx_t *ctx,
                       tf_tensorfile_writer_t *w,
                       tf_tensor_t **keep,
                       const char *name,
                       int32_t dtype,
                       const int64_t *shape,
                       uint32_t ndim)
{
    tf_status_t st = tf_tensor_create(keep, ctx, dtype, shape, ndim);
    if (st != TF_STATUS_OK)
        return st;
    int64_t n = tf_tensor_numel(*keep);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == TF_DTYPE_F32)
            ((float *)tf_tensor_data(*keep))[i] = (float)i * 0.25f - 1.5f;
        else
            ((int32_t *)tf_tensor_data(*keep))[i] = (int32_t)(i * 123457 - 300000);
    }
    return tf_tensorfile_writer_add_tensor(w, name, *keep);
}

static int do_write(tf_ctx_t *ctx, const char *out)
{
    tf_tensorfile_writer_t *w = NULL;
    tf_tensor_t *t[3] = {NULL, NULL, NULL};
    unsigned char blob[50];
    const int64_t s_emb[2] = {3, 4}, s_ids[1] = {5}, s_4d[4] = {2, 1, 3, 2};
    for (int i = 0; i < 50; i++)
        blob[i] = (unsigned char)(i * 37 % 256);
    tf_status_t st = tf_tensorfile_writer_create(&w, ctx, NULL);
    if (st == TF_STATUS_OK)
        st = add(ctx, w, &t[0], "emb.weight", TF_DTYPE_F32, s_emb, 2);
    if (st == TF_STATUS_OK)
        st = add(ctx, w, &t[1], "ids", TF_DTYPE_I32, s_ids, 1);
    if (st == TF_STATUS_OK)
        st = add(ctx, w, &t[2], "lstm.weight_4d", TF_DTYPE_F32, s_4d, 4);
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_add_blob(w, "state", blob, sizeof blob);
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_add_meta(w, "note", "h\xc3\xa9llo \"world\"\n");
    if (st == TF_STATUS_OK)
        st = tf_tensorfile_writer_save(w, out);
    tf_tensorfile_writer_free(w);
    for (int i = 0; i < 3; i++)
        tf_tensor_free(t[i]);
    return st == TF_STATUS_OK ? 0 : fail(st);
}

static int do_dump(tf_ctx_t *ctx, const char *in)
{
    tf_tensorfile_opts_t o;
    tf_tensorfile_t *f;
    tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION);
    o.flags = TF_TENSORFILE_ALLOW_FOREIGN;
    tf_status_t st = tf_tensorfile_load(&f, ctx, in, &o);
    if (st != TF_STATUS_OK)
        return fail(st);
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        const char *name = tf_tensorfile_name(f, i);
        if (tf_tensorfile_kind(f, i) == TF_TENSORFILE_KIND_TENSOR) {
            tf_tensor_t *t;
            tf_tensorfile_get(&t, f, name);
            fputs("T ", stdout);
            hex(name, strlen(name));
            printf(" %s ", tf_tensor_dtype(t) == TF_DTYPE_F32 ? "F32" : "I32");
            for (uint32_t d = 0; d < tf_tensor_ndim(t); d++)
                printf("%s%lld", d ? "," : "", (long long)tf_tensor_dim(t, d));
            fputs(" ", stdout);
            hex(tf_tensor_data(t), tf_tensor_nbytes(t));
        } else {
            const void *data;
            size_t n;
            tf_tensorfile_blob(&data, &n, f, name);
            fputs("B ", stdout);
            hex(name, strlen(name));
            fputs(" ", stdout);
            hex(data, n);
        }
        fputs("\n", stdout);
    }
    for (uint32_t i = 0; i < tf_tensorfile_num_meta(f); i++) {
        const char *k, *v;
        tf_tensorfile_meta_at(&k, &v, f, i);
        fputs("M ", stdout);
        hex(k, strlen(k));
        fputs(" ", stdout);
        hex(v, strlen(v));
        fputs("\n", stdout);
    }
    tf_tensorfile_free(f);
    return 0;
}

int main(int argc, char **argv)
{
    tf_ctx_t *ctx;
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "dump") != 0)) {
        fprintf(stderr, "usage: io_roundtrip_tool write OUT | dump IN\n");
        return 1;
    }
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return fail(tf_last_error_code());
    int rc = strcmp(argv[1], "write") == 0 ? do_write(ctx, argv[2]) : do_dump(ctx, argv[2]);
    tf_ctx_free(ctx);
    return rc;
}
