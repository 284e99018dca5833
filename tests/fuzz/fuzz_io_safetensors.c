/* SPDX-License-Identifier: MIT */
/* Fuzz the tensor-file loader from memory with strict options (libtransfer files only), with
 * plain safetensors allowed, and with non-finite values allowed too. A loaded file is walked
 * completely; anything left allocated afterwards, or a status without a message, aborts. */
#include "io/io_internal.h"

#include <stdlib.h>
#include <string.h>

static void walk(tf_tensorfile_t *f)
{
    volatile unsigned sink = 0;
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        const char *name = tf_tensorfile_name(f, i);
        if (tf_tensorfile_kind(f, i) == TF_TENSORFILE_KIND_TENSOR) {
            tf_tensor_t *t;
            if (tf_tensorfile_get(&t, f, name) != TF_STATUS_OK)
                abort(); /* names are unique, so the lookup finds this entry */
            const unsigned char *p = tf_tensor_data(t);
            for (size_t k = 0; k < tf_tensor_nbytes(t); k++)
                sink += p[k];
        } else {
            const void *data;
            size_t n;
            if (tf_tensorfile_blob(&data, &n, f, name) != TF_STATUS_OK)
                abort();
            for (size_t k = 0; k < n; k++)
                sink += ((const unsigned char *)data)[k];
        }
    }
    for (uint32_t i = 0; i < tf_tensorfile_num_meta(f); i++) {
        const char *k, *v;
        if (tf_tensorfile_meta_at(&k, &v, f, i) != TF_STATUS_OK || tf_tensorfile_meta(f, k) != v)
            abort(); /* keys are unique and sorted */
        sink += (unsigned)strlen(v);
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t flags[3] = {0, TF_TENSORFILE_ALLOW_FOREIGN,
                                      TF_TENSORFILE_ALLOW_FOREIGN | TF_TENSORFILE_ALLOW_NONFINITE};
    tf_ctx_t *ctx = NULL;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    for (int i = 0; i < 3; i++) {
        tf_tensorfile_opts_t o;
        tf_tensorfile_t *f = NULL;
        tf_tensorfile_opts_init(&o, TF_TENSORFILE_OPTS_VERSION);
        o.flags = flags[i];
        tf_status_t st = tf__tensorfile_load_mem(&f, ctx, data, size, &o, "fuzz");
        if (st == TF_STATUS_OK) {
            walk(f);
            tf_tensorfile_free(f);
        } else if (f != NULL || tf_last_error_message()[0] == '\0') {
            abort();
        }
        if (tf_ctx_allocated_bytes(ctx) != 0 || tf_ctx_live_objects(ctx) != 0)
            abort(); /* leak */
    }
    tf_ctx_free(ctx);
    return 0;
}
