/* SPDX-License-Identifier: MIT */
/* Losses: softmax cross-entropy with an ignore index, binary cross-entropy with logits, mean
 * squared error. Each returns the mean loss and writes d(loss)/d(input). Sums are accumulated in
 * double. The chunked linear + cross-entropy of a language-model head is in linear_ce.c. */
#include "transfer/nn.h"
#include "nn_internal.h"

#include <math.h>
#include <string.h>

tf_status_t tf__check_class_targets(const char *fn,
                                    const tf_tensor_t *x,
                                    const tf_tensor_t *targets,
                                    int64_t C,
                                    int32_t ignore_index,
                                    int64_t *count)
{
    if (targets->dtype != TF_DTYPE_I32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: targets must be i32 class indices", fn);
    int ok = x->ndim == 1 ? (targets->ndim == 1 && targets->shape[0] == 1) : targets->ndim == x->ndim - 1;
    for (uint32_t i = 0; ok && x->ndim > 1 && i + 1 < x->ndim; i++)
        ok = targets->shape[i] == x->shape[i];
    if (!ok)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: targets must have the shape of the input without its last axis", fn);
    const int32_t *t = (const int32_t *)targets->data;
    int64_t n = targets->numel, c = 0;
    for (int64_t r = 0; r < n; r++) {
        if (t[r] == ignore_index && ignore_index != TF_NN_INDEX_NONE)
            continue;
        if (t[r] < 0 || t[r] >= C)
            TF_FAIL(TF_STATUS_EINVAL, "%s: target %d at row %lld is outside [0, %lld) and is not the ignore index",
                    fn, t[r], (long long)r, (long long)C);
        c++;
    }
    *count = c;
    return TF_STATUS_OK;
}

/* One row of logits z (C): returns the row's loss at target t and, when dz is non-NULL, writes
 * (softmax(z) - onehot(t)) * scale. */
static double ce_row(const float *z, int64_t C, int32_t t, float *dz, float scale)
{
    float zt = z[t]; /* dz may alias z */
    float mx = tf__vec_max(z, C);
    double sum;
    if (dz) {
        sum = tf__vec_exp_sum(dz, z, mx, C);
        tf__vec_scale(dz, (float)(1.0 / sum) * scale, C);
        dz[t] -= scale;
    } else {
        sum = tf__vec_exp_sum_only(z, mx, C);
    }
    return log(sum) + (double)mx - (double)zt;
}

tf_status_t tf_loss_cross_entropy(const tf_tensor_t *logits,
                                  const tf_tensor_t *targets,
                                  int32_t ignore_index,
                                  double *loss_out,
                                  tf_tensor_t *grad_logits)
{
    const char *fn = __func__;
    TF_REQUIRE_ARG(logits);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    if (logits->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: logits must be f32", fn);
    int64_t C = logits->shape[logits->ndim - 1], rows = logits->numel / C, count;
    TF_CHECK(tf__check_class_targets(fn, logits, targets, C, ignore_index, &count));
    if (grad_logits)
        TF_CHECK(tf__tensor_expect(fn, "grad_logits", grad_logits, TF_DTYPE_F32, logits->ndim, logits->shape));
    const float *z = (const float *)logits->data;
    const int32_t *t = (const int32_t *)targets->data;
    float *dz = grad_logits ? (float *)grad_logits->data : NULL;
    float scale = count > 0 ? (float)(1.0 / (double)count) : 0.0f;
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        if (ignore_index != TF_NN_INDEX_NONE && t[r] == ignore_index) {
            if (dz)
                memset(dz + r * C, 0, (size_t)C * sizeof(float));
            continue;
        }
        total += ce_row(z + r * C, C, t[r], dz ? dz + r * C : NULL, scale);
    }
    *loss_out = count > 0 ? total / (double)count : 0.0;
    return TF_STATUS_OK;
}

static tf_status_t check_pair(const char *fn, const tf_tensor_t *x, const tf_tensor_t *y, tf_tensor_t *g)
{
    if (x->dtype != TF_DTYPE_F32 || y->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: input and target must be f32", fn);
    if (x->numel != y->numel)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: input has %lld elements but target has %lld", fn, (long long)x->numel,
                (long long)y->numel);
    if (g)
        TF_CHECK(tf__tensor_expect(fn, "grad", g, TF_DTYPE_F32, x->ndim, x->shape));
    return TF_STATUS_OK;
}

tf_status_t tf_loss_bce_with_logits(const tf_tensor_t *logits,
                                    const tf_tensor_t *targets,
                                    double *loss_out,
                                    tf_tensor_t *grad_logits)
{
    const char *fn = __func__;
    TF_REQUIRE_ARG(logits);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    TF_CHECK(check_pair(fn, logits, targets, grad_logits));
    const float *x = (const float *)logits->data, *y = (const float *)targets->data;
    int64_t n = logits->numel;
    for (int64_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f))
            TF_FAIL(TF_STATUS_EINVAL, "%s: target %g at element %lld is outside [0, 1]", fn, (double)y[i],
                    (long long)i);
    float *g = grad_logits ? (float *)grad_logits->data : NULL;
    double total = 0.0, inv = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double xi = x[i];
        /* max(x, 0) - x y + log(1 + exp(-|x|)) */
        total += (xi > 0 ? xi : 0.0) - xi * y[i] + log1p(exp(-fabs(xi)));
        if (g) {
            double sg = xi >= 0 ? 1.0 / (1.0 + exp(-xi)) : exp(xi) / (1.0 + exp(xi));
            g[i] = (float)((sg - y[i]) * inv);
        }
    }
    *loss_out = total * inv;
    return TF_STATUS_OK;
}

tf_status_t tf_loss_mse(const tf_tensor_t *input, const tf_tensor_t *target, double *loss_out, tf_tensor_t *grad_input)
{
    const char *fn = __func__;
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(target);
    TF_REQUIRE_ARG(loss_out);
    TF_CHECK(check_pair(fn, input, target, grad_input));
    const float *x = (const float *)input->data, *y = (const float *)target->data;
    float *g = grad_input ? (float *)grad_input->data : NULL;
    int64_t n = input->numel;
    double total = 0.0, inv = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        total += d * d;
        if (g)
            g[i] = (float)(2.0 * d * inv);
    }
    *loss_out = total * inv;
    return TF_STATUS_OK;
}
