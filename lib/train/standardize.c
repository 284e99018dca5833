/* SPDX-License-Identifier: MIT */
/* The per-feature standardisation a numeric model records: set, read, learnt from the first
 * training loader, applied to raw values for prediction. */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

void tf__model_free_standardization(tf_model_t *m)
{
    tf__free(m->ctx, m->in_mean);
    tf__free(m->ctx, m->in_std);
    m->in_mean = m->in_std = NULL;
}

tf_status_t tf_model_set_standardization(tf_model_t *m, const float *mean, const float *std,
                                         int32_t num_features)
{
    const char *fn = __func__;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (m->cfg.input != TF_MODEL_INPUT_FEATURES)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a token model has no numeric input to standardise", fn);
    const int32_t F = m->cfg.num_features;
    if (num_features != F)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the model has %d features, not %d", fn, F, num_features);
    for (int32_t f = 0; f < F; f++)
        if (!isfinite(mean[f]) || !isfinite(std[f]) || !(std[f] > 0.0f))
            TF_FAIL(TF_STATUS_EINVAL, "%s: feature %d needs a finite mean and a finite std > 0 "
                    "(mean %g, std %g)", fn, f, (double)mean[f], (double)std[f]);
    float *mu = tf__alloc(m->ctx, (size_t)F * sizeof *mu);
    float *sd = tf__alloc(m->ctx, (size_t)F * sizeof *sd);
    if (mu == NULL || sd == NULL) {
        tf__free(m->ctx, mu);
        tf__free(m->ctx, sd);
        return TF_STATUS_ENOMEM;
    }
    memcpy(mu, mean, (size_t)F * sizeof *mu);
    memcpy(sd, std, (size_t)F * sizeof *sd);
    tf__model_free_standardization(m);
    m->in_mean = mu;
    m->in_std = sd;
    return TF_STATUS_OK;
}

tf_status_t tf_model_standardization(const tf_model_t *m, float *mean, float *std,
                                     int32_t num_features)
{
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (m->in_mean == NULL)
        TF_FAIL(TF_STATUS_ENOTFOUND, "%s: the model records no standardisation", __func__);
    if (num_features != m->cfg.num_features)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: the model has %d features, not %d", __func__,
                m->cfg.num_features, num_features);
    memcpy(mean, m->in_mean, (size_t)num_features * sizeof *mean);
    memcpy(std, m->in_std, (size_t)num_features * sizeof *std);
    return TF_STATUS_OK;
}

tf_status_t tf__model_adopt_standardization(tf_model_t *m, const tf_loader_t *train)
{
    const int32_t F = m->cfg.num_features;
    if (m->cfg.input != TF_MODEL_INPUT_FEATURES || m->in_mean != NULL ||
        tf_loader_num_features(train) != F)
        return TF_STATUS_OK; /* a token model, statistics already, or a loader of another kind */
    float *mean = tf__alloc(m->ctx, 2 * (size_t)F * sizeof *mean);
    if (mean == NULL)
        return TF_STATUS_ENOMEM;
    tf_status_t st = tf_loader_standardization(train, mean, mean + F, F);
    if (st == TF_STATUS_OK)
        st = tf_model_set_standardization(m, mean, mean + F, F);
    tf__free(m->ctx, mean);
    return st;
}

