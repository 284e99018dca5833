/* SPDX-License-Identifier: MIT */
/* A program outside the tree, built against the installed headers and library. */
#include <transfer.h>
#include <stdio.h>

int main(void)
{
    tf_ctx_t *ctx;
    tf_tensor_t *t;
    const int64_t shape[2] = {3, 4};
    float out[12];
    if (tf_version_number() != LIBTRANSFER_VERSION_NUMBER)
        return 1;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 2;
    if (tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 2) != TF_STATUS_OK)
        return 3;
    if (tf_tensor_fill(t, 1.5) != TF_STATUS_OK || tf_tensor_copy_to(t, out, sizeof out) != TF_STATUS_OK)
        return 4;
    if (out[11] != 1.5f)
        return 5;
    tf_tensor_free(t);
    tf_ctx_free(ctx);
    printf("C consumer: libtransfer %s OK\n", tf_version_string());
    return 0;
}
