/* SPDX-License-Identifier: MIT */
/* The soft-target loss of distillation (Hinton, Vinyals and Dean, 2015): T^2 times the
 * Kullback-Leibler divergence from the teacher's softened outputs to the student's. */
#include "train_internal.h"

#include <math.h>

/* log-sum-exp of n values x[i] * s. */
static double lse(const float *x, int64_t n, double s)
{
    double mx = (double)x[0] * s, sum = 0;
    for (int64_t k = 1; k < n; k++)
        mx = (double)x[k] * s > mx ? (double)x[k] * s : mx;
    for (int64_t k = 0; k < n; k++)
        sum += exp((double)x[k] * s - mx);
    return mx + log(sum);
}

/* KL of one {no, yes} pair from logits a (teacher) and b (student), both already divided by T;
 * *dq receives q - p, the gradient of the KL with respect to b. */
static double kl_pair(double a, double b, double *dq)
{
    double lp = -tf__softplus(-a), lnp = -tf__softplus(a); /* log p, log(1 - p) */
    double lq = -tf__softplus(-b), lnq = -tf__softplus(b);
    double p = exp(lp);
    *dq = tf__sigmoid(b) - p;
    return p * (lp - lq) + (1.0 - p) * (lnp - lnq);
}

void tf__distill_loss(const float *zs, const float *zt, int64_t B, int64_t K, int32_t per_logit,
                      double T, double scale, double *loss, float *grad)
{
    const double s = 1.0 / T;
    double total = 0;
    if (per_logit) {
        /* d (T^2 KL(a, b)) / d zs = T^2 (q - p) / T, over the mean's B * K terms */
        const double g = T * scale / (double)(B * K);
        for (int64_t i = 0; i < B * K; i++) {
            double dq;
            total += kl_pair((double)zt[i] * s, (double)zs[i] * s, &dq);
            if (grad != NULL)
                grad[i] = (float)(g * dq);
        }
        *loss = T * T * total / (double)(B * K);
        return;
    }
    const double g = T * scale / (double)B;
    for (int64_t i = 0; i < B; i++) {
        const float *a = zt + i * K, *b = zs + i * K;
        double la = lse(a, K, s), lb = lse(b, K, s);
        for (int64_t k = 0; k < K; k++) {
            double lp = (double)a[k] * s - la, lq = (double)b[k] * s - lb, p = exp(lp);
            if (p > 0)
                total += p * (lp - lq);
            if (grad != NULL)
                grad[i * K + k] = (float)(g * (exp(lq) - p));
        }
    }
    *loss = T * T * total / (double)B;
}
