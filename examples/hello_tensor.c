/* SPDX-License-Identifier: MIT */
/**
 * Create a context, check the library version, make a tensor, wrap caller memory, and read the
 * error message of a call that fails on purpose.
 */
#include <transfer.h>
#include <stdio.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        tf_status_t st_ = (call);                                                                  \
        if (st_ != TF_STATUS_OK) {                                                                 \
            fprintf(stderr, "%s failed: %s: %s\n", #call, tf_status_str(st_),                      \
                    tf_last_error_message());                                                      \
            goto done; /* the free functions accept NULL */                                        \
        }                                                                                          \
    } while (0)

int main(void)
{
    tf_ctx_opts_t opts;
    tf_ctx_t *ctx = NULL;
    tf_tensor_t *weights = NULL, *ids = NULL;
    int rc = 1;
    int32_t tokens[6] = {4, 8, 15, 16, 23, 42};
    const int64_t wshape[2] = {3, 4};
    const int64_t ishape[2] = {2, 3}; /* (T, B): time-major, like the LSTM */

    if (tf_version_number() != LIBTRANSFER_VERSION_NUMBER) {
        fprintf(stderr, "header %s but library %s\n", LIBTRANSFER_VERSION_STRING,
                tf_version_string());
        return 1;
    }
    CHECK(tf_ctx_opts_init(&opts, TF_CTX_OPTS_VERSION));
    opts.seed = 7;
    CHECK(tf_ctx_create(&ctx, &opts));

    CHECK(tf_tensor_create(&weights, ctx, TF_DTYPE_F32, wshape, 2));
    CHECK(tf_tensor_fill(weights, 0.25));
    CHECK(tf_tensor_wrap(&ids, ctx, TF_DTYPE_I32, ishape, 2, tokens, sizeof tokens));
    printf("libtransfer %s, %d threads\n", tf_version_string(), tf_ctx_num_threads(ctx));
    printf("weights: %lld x %lld f32, %zu bytes\n", (long long)tf_tensor_dim(weights, 0),
           (long long)tf_tensor_dim(weights, 1), tf_tensor_nbytes(weights));
    printf("token ids (T=%lld, B=%lld) wrap the caller's array: %s\n",
           (long long)tf_tensor_dim(ids, 0), (long long)tf_tensor_dim(ids, 1),
           tf_tensor_data(ids) == (void *)tokens ? "yes" : "no");

    /* Errors come back as a status plus a message for this thread. */
    float small[4];
    tf_status_t st = tf_tensor_copy_to(weights, small, sizeof small);
    printf("copy into a 16-byte buffer: %s (%s)\n", tf_status_str(st), tf_last_error_message());
    rc = st == TF_STATUS_EBUFSIZE ? 0 : 1;

done:
    tf_tensor_free(ids);
    tf_tensor_free(weights);
    tf_ctx_free(ctx);
    return rc;
}
