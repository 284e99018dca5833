/* SPDX-License-Identifier: MIT */
/* Evaluation over a loader, prediction for one sequence, and language-model scoring. */
#include "transfer/train.h"
#include "train_internal.h"
#include "../predict/predict_internal.h"

#include <math.h>
#include <string.h>

tf_status_t tf__evaluate_loader(tf_model_t *m, tf_loader_t *data, double *loss, int64_t *confusion, int64_t *count)
{
    double sum = 0;
    int64_t n = 0;
    tf_status_t st;
    memset(confusion, 0, tf__counts_len(m) * sizeof *confusion);
    TF_CHECK(tf_loader_reset(data));
    tf__model_set_training(m, 0);
    for (;;) {
        tf_batch_t *b;
        double l;
        TF_CHECK_GOTO(st, tf_loader_next(&b, data), out);
        if (b == NULL)
            break;
        TF_CHECK_GOTO(st, tf__cls_batch(m, b, 0, &l, confusion), out);
        sum += l * tf_batch_size(b);
        n += tf_batch_size(b);
    }
    st = tf_loader_reset(data);
out:
    tf__model_set_training(m, 1);
    if (st == TF_STATUS_OK && n == 0)
        TF_FAIL(TF_STATUS_EINVAL, "the evaluation loader gave no data");
    *loss = n ? sum / (double)n : NAN;
    if (count != NULL)
        *count = n;
    return st;
}

tf_status_t tf_evaluate(tf_model_t *m,
                        tf_loader_t *data,
                        tf_metrics_t *metrics,
                        int64_t *confusion,
                        size_t confusion_capacity)
{
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(data);
    TF_REQUIRE_ARG(metrics);
    size_t metrics_bytes;
    TF_CHECK(tf__results_size(metrics, &tf__metrics_layout, __func__, &metrics_bytes));
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model has no task head; fine-tune it first", __func__);
    int64_t C = m->num_classes;
    /* The caller's matrix is the counts without the multi-label exact-set count at the end. */
    size_t ncounts = tf__counts_len(m), nconf = ncounts - (m->multilabel ? 1 : 0);
    if (confusion != NULL && confusion_capacity < nconf)
        TF_FAIL(TF_STATUS_EBUFSIZE,
                "%s: the confusion matrix needs %zu elements, the "
                "buffer holds %zu",
                __func__, nconf, confusion_capacity);
    TF_CHECK(tf__model_check_labels(m, data, __func__));
    int64_t *conf = tf__calloc(m->ctx, ncounts, sizeof *conf);
    if (conf == NULL)
        return TF_STATUS_ENOMEM;
    double loss;
    int64_t n;
    tf_status_t st = tf__evaluate_loader(m, data, &loss, conf, &n);
    if (st == TF_STATUS_OK) {
        tf_metrics_t r;
        memset(&r, 0, sizeof r);
        r.struct_size = metrics->struct_size;
        r.version = metrics->version;
        r.num_sequences = n;
        r.num_classes = (int32_t)C;
        r.loss = loss;
        r.accuracy = tf__metric(m, conf, loss, TF_METRIC_ACCURACY);
        r.macro_f1 = tf__metric(m, conf, loss, TF_METRIC_MACRO_F1);
        memcpy(metrics, &r, metrics_bytes);
        if (confusion != NULL)
            memcpy(confusion, conf, nconf * sizeof *conf);
    }
    tf__free(m->ctx, conf);
    return st;
}

/* A borrowed view of caller memory as a tensor (never freed). */
static void view_of(struct tf_tensor *t, tf_ctx_t *ctx, int32_t dtype, void *data, const int64_t *shape,
                    uint32_t ndim)
{
    memset(t, 0, sizeof *t); /* tf__view_set keeps the requires_grad of an existing view */
    tf__view_set(t, ctx, data, shape, ndim);
    t->dtype = dtype;
}

/* One sequence through the predictor's forward pass (lib/predict), viewing the model's weights:
 * the same code as tf_predict_texts on a predictor, with a workspace for this call. */
static tf_status_t predict_one(tf_model_t *m, const char *fn, const int32_t *ids, const float *x, int64_t steps,
                               float *probs, size_t capacity)
{
    tf__pred_net_t net;
    tf__pred_ws_t ws;
    if (m->head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model has no task head; fine-tune it first", fn);
    if (capacity < (size_t)m->num_classes)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: probs holds %zu values, the model has %d classes", fn, capacity,
                m->num_classes);
    const size_t nw = 4 * (size_t)(m->cfg.num_layers * tf__model_dirs(m));
    const float **w = tf__calloc(m->ctx, nw, sizeof *w);
    double *offsets = tf__calloc(m->ctx, (size_t)tf__head_width(m), sizeof *offsets);
    tf_status_t st = w && offsets ? TF_STATUS_OK : TF_STATUS_ENOMEM;
    memset(&ws, 0, sizeof ws);
    const tf__pred_in_t in = {1, &ids, &x, &steps};
    if (st == TF_STATUS_OK)
        st = tf__pred_net_of_model(&net, m, fn, offsets, w);
    if (st == TF_STATUS_OK)
        st = tf__pred_check(&net, fn, &in);
    if (st == TF_STATUS_OK)
        st = tf__pred_ws_reserve(&ws, m->ctx, &net, &in);
    if (st == TF_STATUS_OK)
        tf__pred_run(&net, &ws, &in, probs);
    tf__pred_ws_free(&ws, m->ctx);
    tf__free(m->ctx, w);
    tf__free(m->ctx, offsets);
    return st;
}

tf_status_t tf_predict_ids(tf_model_t *m, const int32_t *ids, int64_t num_ids, float *probs,
                           size_t capacity)
{
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(ids);
    TF_REQUIRE_ARG(probs);
    if (m->cfg.input != TF_MODEL_INPUT_TOKENS)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a numeric model takes tf_predict_features", __func__);
    if (num_ids < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_ids is %lld; give at least one token", __func__,
                (long long)num_ids);
    return predict_one(m, __func__, ids, NULL, num_ids, probs, capacity);
}

tf_status_t tf__model_encode(tf_model_t *m, const char *fn, const char *text, size_t bytes, size_t *n)
{
    /* At most one token per byte, plus a few specials. */
    size_t need;
    if (!tf__add_size(bytes, 8, &need))
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the text of %zu bytes is too long", fn, bytes);
    if (need > m->ids_cap) {
        int32_t *p = tf__alloc(m->ctx, need * sizeof *p);
        if (p == NULL)
            return TF_STATUS_ENOMEM;
        tf__free(m->ctx, m->ids);
        m->ids = p;
        m->ids_cap = need;
    }
    TF_CHECK(tf_vocab_encode(m->vocab, text, bytes, m->ids, m->ids_cap, n));
    if (*n == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the text has no tokens", fn);
    return TF_STATUS_OK;
}

tf_status_t
tf_predict_text(tf_model_t *m, const char *text, size_t len, float *probs, size_t capacity)
{
    size_t n;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(text);
    TF_REQUIRE_ARG(probs);
    if (m->cfg.input != TF_MODEL_INPUT_TOKENS)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a numeric model takes tf_predict_features", __func__);
    TF_CHECK(tf__model_encode(m, __func__, text, len, &n));
    return tf_predict_ids(m, m->ids, (int64_t)n, probs, capacity);
}

tf_status_t tf_predict_features(tf_model_t *m, const float *x, int64_t steps, float *probs, size_t capacity)
{
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(x);
    TF_REQUIRE_ARG(probs);
    if (m->cfg.input != TF_MODEL_INPUT_FEATURES)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: a token model takes tf_predict_ids or "
                "tf_predict_text",
                __func__);
    if (steps < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: steps is %lld; give at least 1", __func__, (long long)steps);
    return predict_one(m, __func__, NULL, x, steps, probs, capacity);
}

tf_status_t tf_lm_score_text(tf_model_t *m, const char *text, size_t len, double *loss_out)
{
    struct tf_tensor in, tgt;
    tf_tensor_t *y;
    size_t n;
    int64_t count;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(text);
    TF_REQUIRE_ARG(loss_out);
    if (m->cfg.input != TF_MODEL_INPUT_TOKENS || m->lm_head == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: needs a unidirectional token model", __func__);
    TF_CHECK(tf__model_encode(m, __func__, text, len, &n));
    if (n < 2)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the text has %zu token(s); scoring needs 2", __func__, n);
    const int64_t shape[2] = {(int64_t)n - 1, 1};
    view_of(&in, m->ctx, TF_DTYPE_I32, m->ids, shape, 2);
    view_of(&tgt, m->ctx, TF_DTYPE_I32, m->ids + 1, shape, 2);
    tf__model_set_training(m, 0);
    tf_status_t st = tf_module_forward(&y, m->encoder, &in, NULL);
    if (st == TF_STATUS_OK)
        st = tf__model_lm_loss(m, y, &tgt, 0, loss_out, &count, NULL);
    tf__model_set_training(m, 1);
    return st;
}
