/* SPDX-License-Identifier: MIT */
// The C++ side of the installed-package check.
#include <transfer.h>
#include <cstdio>
#include <vector>

int main()
{
    tf_ctx_t *ctx = nullptr;
    if (tf_ctx_create(&ctx, nullptr) != TF_STATUS_OK)
        return 1;
    std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    tf_tensor_t *t = nullptr;
    if (tf_tensor_wrap(&t, ctx, TF_DTYPE_I32, shape, 2, ids.data(), ids.size() * sizeof(int32_t)) !=
        TF_STATUS_OK)
        return 2;
    if (static_cast<int32_t *>(tf_tensor_data(t))[5] != 6)
        return 3;
    tf_tensor_free(t);
    tf_ctx_free(ctx);
    std::printf("C++ consumer: libtransfer %s OK\n", tf_version_string());
    return 0;
}
