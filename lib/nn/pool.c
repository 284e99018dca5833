/* SPDX-License-Identifier: MIT */
/* Pooling heads for sequence classification over each sequence's valid steps: last step (for a
 * bidirectional output the reverse half at t = 0), mean and max, concatenated in that order. */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <string.h>

static tf_status_t pool_check(const char *fn,
                              const tf_tensor_t *x,
                              const tf_tensor_t *lengths,
                              uint32_t modes,
                              int32_t directions,
                              const tf_tensor_t *pooled,
                              int64_t *k_out)
{
    if (modes == 0 || (modes & ~(TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX)) != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: modes 0x%x is not a non-empty OR of TF_POOL_LAST, TF_POOL_MEAN, TF_POOL_MAX",
                fn, modes);
    if (directions != 1 && directions != 2)
        TF_FAIL(TF_STATUS_EINVAL, "%s: directions is %d; use 1 or 2", fn, directions);
    if (x->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: input must be f32 (T, B, D)", fn);
    if (x->ndim != 3)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: input must be (T, B, D); got %u dimensions", fn, x->ndim);
    if (directions == 2 && x->shape[2] % 2 != 0)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: a bidirectional input needs an even D; got %lld", fn, (long long)x->shape[2]);
    TF_CHECK(tf__check_lengths(fn, lengths, x->shape[0], x->shape[1]));
    int64_t k = (modes & TF_POOL_LAST ? 1 : 0) + (modes & TF_POOL_MEAN ? 1 : 0) + (modes & TF_POOL_MAX ? 1 : 0);
    *k_out = k;
    return tf__tensor_expect(fn, "pooled", pooled, TF_DTYPE_F32, 2, (int64_t[]){x->shape[1], k * x->shape[2]});
}

tf_status_t tf_pool_forward(const tf_tensor_t *input,
                            const tf_tensor_t *lengths,
                            uint32_t modes,
                            int32_t directions,
                            tf_tensor_t *output)
{
    int64_t k;
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(output);
    TF_CHECK(pool_check(__func__, input, lengths, modes, directions, output, &k));
    int64_t T = input->shape[0], B = input->shape[1], D = input->shape[2], half = directions == 2 ? D / 2 : D;
    const float *x = (const float *)input->data;
    const int32_t *len = lengths ? (const int32_t *)lengths->data : NULL;
    float *y = (float *)output->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = len ? len[b] : T;
        float *o = y + b * k * D;
        if (modes & TF_POOL_LAST) {
            for (int64_t j = 0; j < D; j++)
                o[j] = x[((j < half ? L - 1 : 0) * B + b) * D + j];
            o += D;
        }
        if (modes & TF_POOL_MEAN) {
            for (int64_t j = 0; j < D; j++) {
                double s = 0.0;
                for (int64_t t = 0; t < L; t++)
                    s += x[(t * B + b) * D + j];
                o[j] = (float)(s / (double)L);
            }
            o += D;
        }
        if (modes & TF_POOL_MAX) {
            for (int64_t j = 0; j < D; j++) {
                float mx = x[b * D + j];
                for (int64_t t = 1; t < L; t++) {
                    float v = x[(t * B + b) * D + j];
                    mx = v > mx ? v : mx;
                }
                o[j] = mx;
            }
        }
    }
    return TF_STATUS_OK;
}

tf_status_t tf_pool_backward(const tf_tensor_t *input,
                             const tf_tensor_t *lengths,
                             uint32_t modes,
                             int32_t directions,
                             const tf_tensor_t *grad_output,
                             tf_tensor_t *grad_input)
{
    int64_t k;
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(grad_output);
    TF_REQUIRE_ARG(grad_input);
    TF_CHECK(pool_check(__func__, input, lengths, modes, directions, grad_output, &k));
    TF_CHECK(tf__tensor_expect(__func__, "grad_input", grad_input, TF_DTYPE_F32, 3, input->shape));
    int64_t T = input->shape[0], B = input->shape[1], D = input->shape[2], half = directions == 2 ? D / 2 : D;
    const float *x = (const float *)input->data, *g = (const float *)grad_output->data;
    const int32_t *len = lengths ? (const int32_t *)lengths->data : NULL;
    float *dx = (float *)grad_input->data;
    memset(dx, 0, grad_input->nbytes);
    for (int64_t b = 0; b < B; b++) {
        int64_t L = len ? len[b] : T;
        const float *go = g + b * k * D;
        if (modes & TF_POOL_LAST) {
            for (int64_t j = 0; j < D; j++)
                dx[((j < half ? L - 1 : 0) * B + b) * D + j] += go[j];
            go += D;
        }
        if (modes & TF_POOL_MEAN) {
            for (int64_t j = 0; j < D; j++) {
                float s = go[j] / (float)L;
                for (int64_t t = 0; t < L; t++)
                    dx[(t * B + b) * D + j] += s;
            }
            go += D;
        }
        if (modes & TF_POOL_MAX) {
            for (int64_t j = 0; j < D; j++) {
                int64_t at = 0;
                float mx = x[b * D + j];
                for (int64_t t = 1; t < L; t++) {
                    float v = x[(t * B + b) * D + j];
                    if (v > mx) {
                        mx = v;
                        at = t;
                    }
                }
                dx[(at * B + b) * D + j] += go[j];
            }
        }
    }
    return TF_STATUS_OK;
}
