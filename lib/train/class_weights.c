/* SPDX-License-Identifier: MIT */
/* Class weights of a fine-tuning run: resolved from the options and the training counts, and
 * the weighted losses they call for (PyTorch's CrossEntropyLoss `weight`, a weighted mean over
 * the batch, and BCEWithLogitsLoss `pos_weight` for multi-label heads). */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

tf_status_t tf__class_weights_resolve(tf_model_t *m, const tf_finetune_opts_t *o, tf_loader_t *train)
{
    const char *fn = "tf_finetune";
    int32_t C = tf_loader_num_labels(train);
    int64_t n = tf_loader_num_sequences(train);
    tf_status_t st;
    tf__free(m->ctx, m->class_w);
    m->class_w = NULL;
    if (o->class_weight == TF_CLASS_WEIGHT_GIVEN) {
        if (o->class_weights == NULL || o->num_class_weights != C)
            TF_FAIL(TF_STATUS_EINVAL, "%s: class_weight is TF_CLASS_WEIGHT_GIVEN: give %d weights "
                    "in class_weights (num_class_weights is %lld)", fn, C,
                    (long long)o->num_class_weights);
        for (int32_t c = 0; c < C; c++)
            if (!(o->class_weights[c] > 0.0f) || !isfinite(o->class_weights[c]))
                TF_FAIL(TF_STATUS_EINVAL, "%s: class weight %d (%g) must be finite and > 0", fn, c,
                        (double)o->class_weights[c]);
    }
    int64_t *counts = tf__calloc(m->ctx, (size_t)C, sizeof *counts);
    double *w = tf__calloc(m->ctx, (size_t)C, sizeof *w);
    if (counts == NULL || w == NULL) {
        st = TF_STATUS_ENOMEM;
        goto out;
    }
    TF_CHECK_GOTO(st, tf_loader_label_counts(train, counts, (size_t)C), out);
    int all_one = 1;
    for (int32_t c = 0; c < C; c++) {
        double nc = (double)counts[c];
        if (o->class_weight == TF_CLASS_WEIGHT_GIVEN)
            w[c] = o->class_weights[c];
        else if (o->class_weight == TF_CLASS_WEIGHT_BALANCED && nc > 0 && nc < (double)n)
            w[c] = m->multilabel ? ((double)n - nc) / nc : (double)n / ((double)C * nc);
        else
            w[c] = 1.0;
        all_one &= w[c] == 1.0;
    }
    TF_CHECK_GOTO(st, tf__decision_set_train(m, counts, n, all_one ? NULL : w), out);
    if (!all_one) { /* the unweighted losses stay on the path without weights */
        m->class_w = w;
        w = NULL;
    }
out:
    tf__free(m->ctx, counts);
    tf__free(m->ctx, w);
    return st;
}

double tf__softplus(double x)
{
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

double tf__sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

tf_status_t tf__weighted_loss(tf_model_t *m, tf_tensor_t *logits, const int32_t *lab,
                              tf_tensor_t *sets, double *loss, tf_tensor_t *grad)
{
    const double *w = m->class_w;
    const float *z = tf_tensor_data(logits);
    float *g = grad != NULL ? tf_tensor_data(grad) : NULL;
    int64_t B = tf_tensor_dim(logits, 0), C = m->num_classes, K = tf__head_width(m);
    double total = 0;
    if (m->multilabel) { /* pos_weight: mean over all B x C elements */
        const float *y = tf_tensor_data(sets);
        double inv = 1.0 / (double)(B * C);
        for (int64_t i = 0; i < B * C; i++) {
            double x = z[i], t = y[i], pw = w[i % C];
            total += pw * t * tf__softplus(-x) + (1.0 - t) * tf__softplus(x);
            if (g != NULL)
                g[i] = (float)((-pw * t * tf__sigmoid(-x) + (1.0 - t) * tf__sigmoid(x)) * inv);
        }
        *loss = total * inv;
        return TF_STATUS_OK;
    }
    double wsum = 0;
    for (int64_t i = 0; i < B; i++)
        wsum += w[lab[i]];
    for (int64_t i = 0; i < B; i++) {
        const float *zi = z + i * K;
        double wi = w[lab[i]];
        if (K == 1) { /* two classes, one logit */
            double x = zi[0], t = (double)lab[i];
            total += wi * (tf__softplus(x) - t * x);
            if (g != NULL)
                g[i] = (float)(wi * (tf__sigmoid(x) - t) / wsum);
            continue;
        }
        double mx = zi[0], sum = 0;
        for (int64_t c = 1; c < C; c++)
            mx = zi[c] > mx ? zi[c] : mx;
        for (int64_t c = 0; c < C; c++)
            sum += exp((double)zi[c] - mx);
        total += wi * (mx + log(sum) - (double)zi[lab[i]]);
        for (int64_t c = 0; g != NULL && c < C; c++) {
            double p = exp((double)zi[c] - mx) / sum;
            g[i * C + c] = (float)(wi * (p - (c == lab[i])) / wsum);
        }
    }
    *loss = total / wsum;
    return TF_STATUS_OK;
}
