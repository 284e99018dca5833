/* SPDX-License-Identifier: MIT */
// Compiled as strict C++11: the umbrella header must be clean and usable from C++.
#include <transfer.h>
#include <cstdio>
#include <cstring>

#include "initializers.inc"

int main()
{
    if (!initializers_compile())
        return 4;
    tf_ctx_t *ctx = nullptr;
    if (tf_ctx_create(&ctx, nullptr) != TF_STATUS_OK)
        return 1;
    const int64_t shape[2] = {2, 3};
    tf_tensor_t *t = nullptr;
    if (tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 2) != TF_STATUS_OK)
        return 2;
    tf_tensor_free(t);
    tf_ctx_free(ctx);
    if (std::strcmp(tf_version_string(), LIBTRANSFER_VERSION_STRING) != 0)
        return 3;
    std::printf("C++11: libtransfer %s\n", tf_version_string());
    return 0;
}
