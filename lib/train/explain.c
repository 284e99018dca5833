/* SPDX-License-Identifier: MIT */
/* Explanations: integrated gradients (Sundararajan, Taly and Yan 2017) of a class probability
 * over the backbone's input (embedding output or numeric input), by a quadrature along the
 * straight path from a baseline, the path's points run through the model as one batch of copies
 * of the input. */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__explain_opts_layout,
                tf_explain_opts_t,
                TF_EXPLAIN_OPTS_VERSION,
                TF__OPTS_END(tf_explain_opts_t, reserved));
TF__OPTS_LAYOUT(tf__explain_result_layout,
                tf_explain_result_t,
                TF_EXPLAIN_RESULT_VERSION,
                TF__OPTS_END(tf_explain_result_t, gap));

/* Rows (tokens x path points) of one automatic pass. */
#define AUTO_ROWS 16384

static void explain_defaults(tf_explain_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_EXPLAIN_OPTS_VERSION;
    o->steps = 32;
    o->rule = TF_EXPLAIN_GAUSS_LEGENDRE;
    o->baseline = TF_EXPLAIN_BASELINE_ZERO;
    o->target_class = -1;
}

tf_status_t tf_explain_opts_init(tf_explain_opts_t *opts, uint32_t version)
{
    tf_explain_opts_t d;
    explain_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__explain_opts_layout, __func__);
}

tf_status_t tf_explain_result_init(tf_explain_result_t *result, uint32_t version)
{
    tf_explain_result_t d;
    memset(&d, 0, sizeof d);
    return tf__opts_init(result, version, &d, &tf__explain_result_layout, __func__);
}

/* Gauss-Legendre nodes and weights of n points on (0, 1), ascending: Newton's method on the
 * Legendre polynomial P_n from the usual starting guesses. */
static void gauss_legendre(int64_t n, double *x, double *w)
{
    const double pi = 3.14159265358979323846;
    for (int64_t i = 0; i < (n + 1) / 2; i++) {
        double z = cos(pi * ((double)i + 0.75) / ((double)n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p1 = 1.0, p2 = 0.0;
            for (int64_t j = 1; j <= n; j++) {
                double p3 = p2;
                p2 = p1;
                p1 = ((2.0 * (double)j - 1.0) * z * p2 - ((double)j - 1.0) * p3) / (double)j;
            }
            dp = (double)n * (z * p1 - p2) / (z * z - 1.0);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-15)
                break;
        }
        x[i] = 0.5 * (1.0 - z);
        x[n - 1 - i] = 0.5 * (1.0 + z);
        w[i] = w[n - 1 - i] = 1.0 / ((1.0 - z * z) * dp * dp);
    }
}

/* The points of the path and their weights; the quadrature's points first. *base_at and
 * *input_at index the points at alpha 0 and 1 (for Gauss-Legendre, two more with weight 0). */
static void path_points(const tf_explain_opts_t *o, double *alpha, double *weight, int64_t *n,
                        int64_t *base_at, int64_t *input_at)
{
    int64_t s = o->steps;
    if (o->rule == TF_EXPLAIN_TRAPEZOID) {
        for (int64_t k = 0; k <= s; k++) {
            alpha[k] = (double)k / (double)s;
            weight[k] = (k == 0 || k == s ? 0.5 : 1.0) / (double)s;
        }
        *n = s + 1;
        *base_at = 0;
        *input_at = s;
        return;
    }
    gauss_legendre(s, alpha, weight);
    alpha[s] = 0.0;
    alpha[s + 1] = 1.0;
    weight[s] = weight[s + 1] = 0.0;
    *n = s + 2;
    *base_at = s;
    *input_at = s + 1;
}

/* Save the trainable flag of every parameter into `saved` (NULL: restore from it) and freeze
 * them all: the path's backward passes then compute input gradients only. */
static void freeze_all(tf_model_t *m, unsigned char *saved, int restore)
{
    tf_module_t *mods[3];
    uint32_t nm = tf__model_modules(m, mods);
    size_t k = 0;
    for (uint32_t i = 0; i < nm; i++)
        for (uint32_t j = 0; j < mods[i]->nparams; j++, k++) {
            struct tf_tensor *v = &mods[i]->params[j]->value;
            if (restore) {
                v->requires_grad = saved[k];
            } else {
                saved[k] = (unsigned char)(v->requires_grad != 0);
                v->requires_grad = 0;
            }
        }
}

static size_t num_param_tensors(tf_model_t *m)
{
    tf_module_t *mods[3];
    uint32_t nm = tf__model_modules(m, mods);
    size_t k = 0;
    for (uint32_t i = 0; i < nm; i++)
        k += mods[i]->nparams;
    return k;
}

/* One pass: points alpha[0..S) of the path forward (and backward when `backward`), adding
 * sum_s weight[s] * df/dx at point s into grad. X, len_buf and the scalars are the caller's. */
static tf_status_t path_pass(tf_model_t *m, tf_module_t *net, const float *x, const float *base,
                             int64_t T, int64_t I, int64_t len, int32_t cls, const double *alpha,
                             const double *weight, int64_t S, float *X, int32_t *len_buf, double *p,
                             double *dz, double *f, double *grad)
{
    struct tf_tensor xv, lv;
    tf_tensor_t *y, *logits, *dpooled, *dx;
    int64_t K = tf__head_width(m);
    int backward = 0;
    for (int64_t s = 0; s < S; s++) {
        len_buf[s] = (int32_t)len;
        backward |= weight[s] != 0.0;
    }
    for (int64_t t = 0; t < T; t++)
        for (int64_t s = 0; s < S; s++) {
            float *row = X + (t * S + s) * I;
            const float *xr = x + t * I, *br = base + t * I;
            float a = (float)alpha[s];
            if (t >= len)
                memset(row, 0, (size_t)I * sizeof *row);
            else
                for (int64_t i = 0; i < I; i++)
                    row[i] = br[i] + a * (xr[i] - br[i]);
        }
    memset(&xv, 0, sizeof xv);
    tf__view_set(&xv, m->ctx, X, (int64_t[]){T, S, I}, 3);
    memset(&lv, 0, sizeof lv);
    tf__view_set(&lv, m->ctx, (float *)len_buf, (int64_t[]){S}, 1);
    lv.dtype = TF_DTYPE_I32;
    TF_CHECK(tf_rnn_forward(&y, NULL, NULL, net, &xv, &lv, NULL, NULL));
    int64_t P = tf_tensor_dim(y, 2) * (((m->pool_modes & TF_POOL_LAST) != 0) +
                                       ((m->pool_modes & TF_POOL_MEAN) != 0) +
                                       ((m->pool_modes & TF_POOL_MAX) != 0));
    TF_CHECK(tf__scratch_f32(m->ctx, &m->pooled, (int64_t[]){S, P}, 2));
    TF_CHECK(tf_pool_forward(y, &lv, m->pool_modes, tf__model_dirs(m), &m->pooled.view));
    /* The head's dropout is the identity outside training: the head reads the pooled rows. */
    TF_CHECK(tf_module_forward(&logits, m->head, &m->pooled.view, NULL));
    TF_CHECK(tf__scratch_f32(m->ctx, &m->dlogits, (int64_t[]){S, K}, 2));
    const float *z = tf_tensor_data(logits);
    for (int64_t s = 0; s < S; s++) {
        tf__decision_prob_grad(m, z + s * K, cls, p, dz);
        f[s] = p[cls];
        for (int64_t k = 0; k < K; k++)
            m->dlogits.data[s * K + k] = (float)(weight[s] * dz[k]);
    }
    if (!backward)
        return TF_STATUS_OK;
    TF_CHECK(tf_module_backward(&dpooled, m->head, &m->dlogits.view));
    TF_CHECK(tf__scratch_f32(m->ctx, &m->dy, y->shape, y->ndim));
    TF_CHECK(tf_pool_backward(y, &lv, m->pool_modes, tf__model_dirs(m), dpooled, &m->dy.view));
    TF_CHECK(tf_rnn_backward(&dx, NULL, NULL, net, &m->dy.view, NULL, NULL));
    /* Every step, padding included: the model, not this loop, keeps padding out of it. */
    const float *d = tf_tensor_data(dx);
    for (int64_t t = 0; t < T; t++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t i = 0; i < I; i++)
                grad[t * I + i] += (double)d[(t * S + s) * I + i];
    return TF_STATUS_OK;
}

tf_status_t tf__explain_path(tf_model_t *m, const float *x, const float *base, int64_t T, int64_t len,
                             int32_t cls, const double *alpha, const double *weight, int64_t n,
                             int64_t chunk, double *f, double *grad)
{
    int numeric = m->cfg.input == TF_MODEL_INPUT_FEATURES;
    int64_t I = numeric ? m->cfg.num_features : m->cfg.embedding_dim;
    tf_module_t *net = numeric ? m->encoder : tf__encoder_rnn(m->encoder);
    size_t rows, floats;
    if (chunk > n)
        chunk = n;
    if (!tf__mul_size((size_t)T, (size_t)chunk, &rows) || !tf__mul_size(rows, (size_t)I, &floats))
        TF_FAIL(TF_STATUS_EOVERFLOW, "tf_explain: %lld steps of %lld points are too many",
                (long long)T, (long long)chunk);
    size_t nt = num_param_tensors(m);
    float *X = tf__alloc(m->ctx, floats * sizeof *X);
    int32_t *lens = tf__alloc(m->ctx, (size_t)chunk * sizeof *lens);
    double *p = tf__alloc(m->ctx, (size_t)(m->num_classes + 1) * sizeof *p);
    double *dz = tf__alloc(m->ctx, (size_t)(m->num_classes + 1) * sizeof *dz);
    unsigned char *saved = tf__alloc(m->ctx, nt + 1);
    tf_status_t st = TF_STATUS_ENOMEM;
    if (X == NULL || lens == NULL || p == NULL || dz == NULL || saved == NULL)
        goto out;
    memset(grad, 0, (size_t)(T * I) * sizeof *grad);
    freeze_all(m, saved, 0);
    tf__model_set_training(m, TF__MODE_GRAD);
    st = TF_STATUS_OK;
    for (int64_t k = 0; k < n && st == TF_STATUS_OK; k += chunk) {
        int64_t S = n - k < chunk ? n - k : chunk;
        st = path_pass(m, net, x, base, T, I, len, cls, alpha + k, weight + k, S, X, lens, p, dz,
                       f + k, grad);
    }
    tf__model_set_training(m, TF__MODE_TRAIN);
    freeze_all(m, saved, 1);
out:
    tf__free(m->ctx, X);
    tf__free(m->ctx, lens);
    tf__free(m->ctx, p);
    tf__free(m->ctx, dz);
    tf__free(m->ctx, saved);
    return st;
}

/* Options read and checked against the model (its class count, its input). */
static tf_status_t read_opts(tf_explain_opts_t *o, const tf_explain_opts_t *opts, const tf_model_t *m,
                             const char *fn)
{
    explain_defaults(o);
    TF_CHECK(tf__opts_read(o, opts, &tf__explain_opts_layout, fn));
    if (o->steps < 1 || o->steps > TF_EXPLAIN_MAX_STEPS)
        TF_FAIL(TF_STATUS_EINVAL, "%s: steps is %d; use 1 to %d", fn, o->steps, TF_EXPLAIN_MAX_STEPS);
    if (o->rule != TF_EXPLAIN_GAUSS_LEGENDRE && o->rule != TF_EXPLAIN_TRAPEZOID)
        TF_FAIL(TF_STATUS_EINVAL, "%s: rule %d is not a tf_explain_rule_t", fn, o->rule);
    if (o->baseline < TF_EXPLAIN_BASELINE_ZERO || o->baseline > TF_EXPLAIN_BASELINE_UNK)
        TF_FAIL(TF_STATUS_EINVAL, "%s: baseline %d is not a tf_explain_baseline_t", fn, o->baseline);
    if (m->cfg.input == TF_MODEL_INPUT_FEATURES && o->baseline != TF_EXPLAIN_BASELINE_ZERO)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a numeric model has no token to take as a baseline; use "
                "TF_EXPLAIN_BASELINE_ZERO", fn);
    if (o->target_class < -1 || o->target_class >= m->num_classes)
        TF_FAIL(TF_STATUS_EINVAL, "%s: target_class is %d; the model has %d classes (0 to %d, or "
                "-1 for the predicted one)", fn, o->target_class, m->num_classes, m->num_classes - 1);
    if (o->batch_size < 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: batch_size is %d; use 0 (automatic) or more", fn, o->batch_size);
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", fn);
    return TF_STATUS_OK;
}

static int32_t argmax(const float *p, int32_t n)
{
    int32_t best = 0;
    for (int32_t c = 1; c < n; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

/* Integrated gradients of `x` (T, I) against `base` for a model whose prediction is in `probs`:
 * per-element products (x - base) * integral into `prod` (T x I doubles), and the result. */
static tf_status_t integrate(tf_model_t *m, const tf_explain_opts_t *o, const float *x, const float *base,
                             int64_t T, int64_t I, const float *probs, double *prod,
                             tf_explain_result_t *r)
{
    int64_t npts = (int64_t)o->steps + 2, n, base_at, input_at;
    double *alpha = tf__alloc(m->ctx, (size_t)npts * sizeof *alpha);
    double *weight = tf__alloc(m->ctx, (size_t)npts * sizeof *weight);
    double *f = tf__alloc(m->ctx, (size_t)npts * sizeof *f);
    tf_status_t st = TF_STATUS_ENOMEM;
    if (alpha == NULL || weight == NULL || f == NULL)
        goto out;
    path_points(o, alpha, weight, &n, &base_at, &input_at);
    r->predicted_class = argmax(probs, m->num_classes);
    r->target_class = o->target_class >= 0 ? o->target_class : r->predicted_class;
    int64_t chunk = o->batch_size > 0 ? o->batch_size : AUTO_ROWS / T;
    st = tf__explain_path(m, x, base, T, T, r->target_class, alpha, weight, n, chunk < 1 ? 1 : chunk,
                          f, prod);
    if (st != TF_STATUS_OK)
        goto out;
    double sum = 0;
    for (int64_t i = 0; i < T * I; i++) {
        prod[i] *= (double)x[i] - (double)base[i];
        sum += prod[i];
    }
    r->f_input = f[input_at];
    r->f_baseline = f[base_at];
    r->sum = sum;
    r->gap = sum - (r->f_input - r->f_baseline);
out:
    tf__free(m->ctx, alpha);
    tf__free(m->ctx, weight);
    tf__free(m->ctx, f);
    return st;
}

/* Checks shared by both calls: the model, the result struct and the options. */
static tf_status_t begin(tf_model_t *m, int32_t input, const tf_explain_opts_t *opts,
                         tf_explain_result_t *result, const char *fn, tf_explain_opts_t *o,
                         size_t *result_bytes)
{
    TF_CHECK(tf__results_size(result, &tf__explain_result_layout, fn, result_bytes));
    if (m->cfg.input != input)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a %s model takes %s", fn,
                input == TF_MODEL_INPUT_TOKENS ? "numeric" : "token",
                input == TF_MODEL_INPUT_TOKENS ? "tf_explain_features" : "tf_explain_text");
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model has no task head; fine-tune it first", fn);
    return read_opts(o, opts, m, fn);
}

static void finish(tf_explain_result_t *result, tf_explain_result_t *r, size_t bytes)
{
    r->struct_size = result->struct_size;
    r->version = result->version;
    memcpy(result, r, bytes);
}

tf_status_t tf_explain_text(tf_model_t *m, const char *text, size_t len, const tf_explain_opts_t *opts,
                            float *attributions, int32_t *token_ids, size_t capacity,
                            tf_explain_result_t *result)
{
    tf_explain_opts_t o;
    tf_explain_result_t r;
    size_t bytes, n;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(text);
    TF_REQUIRE_ARG(result);
    TF_CHECK(begin(m, TF_MODEL_INPUT_TOKENS, opts, result, __func__, &o, &bytes));
    TF_CHECK(tf__model_encode(m, __func__, text, len, &n));
    memset(&r, 0, sizeof r);
    r.num_steps = (int64_t)n;
    if (attributions == NULL) {
        finish(result, &r, bytes);
        return TF_STATUS_OK;
    }
    if (capacity < n) {
        finish(result, &r, bytes);
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: the buffers hold %zu values, the text has %zu tokens",
                __func__, capacity, n);
    }
    int64_t T = (int64_t)n, E = m->cfg.embedding_dim, C = m->num_classes;
    const float *W = tf__embedding_weight(m->encoder)->value.data;
    float *x = tf__alloc(m->ctx, (size_t)(2 * T * E) * sizeof *x);
    double *prod = tf__alloc(m->ctx, (size_t)(T * E) * sizeof *prod);
    float *probs = tf__alloc(m->ctx, (size_t)C * sizeof *probs);
    int32_t *ids = tf__alloc(m->ctx, n * sizeof *ids);
    tf_status_t st = TF_STATUS_ENOMEM;
    if (x == NULL || prod == NULL || probs == NULL || ids == NULL)
        goto out;
    memcpy(ids, m->ids, n * sizeof *ids); /* m->ids is the model's scratch: keep our own */
    float *base = x + T * E;
    for (int64_t t = 0; t < T; t++) {
        memcpy(x + t * E, W + (int64_t)ids[t] * E, (size_t)E * sizeof *x);
        if (o.baseline == TF_EXPLAIN_BASELINE_ZERO)
            memset(base + t * E, 0, (size_t)E * sizeof *base);
        else
            memcpy(base + t * E,
                   W + (o.baseline == TF_EXPLAIN_BASELINE_PAD ? TF_VOCAB_PAD : TF_VOCAB_UNK) * E,
                   (size_t)E * sizeof *base);
    }
    st = tf_predict_ids(m, ids, T, probs, (size_t)C);
    if (st == TF_STATUS_OK)
        st = integrate(m, &o, x, base, T, E, probs, prod, &r);
    if (st == TF_STATUS_OK) {
        for (int64_t t = 0; t < T; t++) {
            double a = 0;
            for (int64_t i = 0; i < E; i++)
                a += prod[t * E + i];
            attributions[t] = (float)a;
        }
        if (token_ids != NULL)
            memcpy(token_ids, ids, n * sizeof *ids);
        finish(result, &r, bytes);
    }
out:
    tf__free(m->ctx, x);
    tf__free(m->ctx, prod);
    tf__free(m->ctx, probs);
    tf__free(m->ctx, ids);
    return st;
}

tf_status_t tf_explain_features(tf_model_t *m, const float *x, int64_t steps,
                                const tf_explain_opts_t *opts, float *attributions, size_t capacity,
                                tf_explain_result_t *result)
{
    tf_explain_opts_t o;
    tf_explain_result_t r;
    size_t bytes, need;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(x);
    TF_REQUIRE_ARG(result);
    TF_CHECK(begin(m, TF_MODEL_INPUT_FEATURES, opts, result, __func__, &o, &bytes));
    int64_t F = m->cfg.num_features, C = m->num_classes;
    if (steps < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: steps is %lld; give at least 1", __func__, (long long)steps);
    if (!tf__mul_size((size_t)steps, (size_t)F, &need))
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: %lld steps are too many", __func__, (long long)steps);
    memset(&r, 0, sizeof r);
    r.num_steps = steps;
    if (attributions == NULL) {
        finish(result, &r, bytes);
        return TF_STATUS_OK;
    }
    if (capacity < need) {
        finish(result, &r, bytes);
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: attributions holds %zu values, the sequence has %zu",
                __func__, capacity, need);
    }
    for (size_t i = 0; i < need; i++)
        if (!isfinite(x[i]))
            TF_FAIL(TF_STATUS_EINVAL, "%s: value %zu is not finite", __func__, i);
    float *z = tf__alloc(m->ctx, 2 * need * sizeof *z);
    double *prod = tf__alloc(m->ctx, need * sizeof *prod);
    float *probs = tf__alloc(m->ctx, (size_t)C * sizeof *probs);
    tf_status_t st = TF_STATUS_ENOMEM;
    if (z == NULL || prod == NULL || probs == NULL)
        goto out;
    /* The path runs over what the network reads: the values after the model's standardisation
     * (zero there is each feature's training mean). Integrated gradients of the raw values
     * against the mean are the same numbers. */
    float *base = z + need;
    memset(base, 0, need * sizeof *base);
    for (size_t i = 0; i < need; i++)
        z[i] = m->in_mean ? (x[i] - m->in_mean[i % (size_t)F]) / m->in_std[i % (size_t)F] : x[i];
    st = tf_predict_features(m, x, steps, probs, (size_t)C);
    if (st == TF_STATUS_OK)
        st = integrate(m, &o, z, base, steps, F, probs, prod, &r);
    if (st == TF_STATUS_OK) {
        for (size_t i = 0; i < need; i++)
            attributions[i] = (float)prod[i];
        finish(result, &r, bytes);
    }
out:
    tf__free(m->ctx, z);
    tf__free(m->ctx, prod);
    tf__free(m->ctx, probs);
    return st;
}
