/* SPDX-License-Identifier: MIT */
/* Model checkpoints (safetensors through lib/io) and the training-state file for resuming. */
#include "transfer/train.h"
#include "transfer/io.h"
#include "train_internal.h"

#include "../io/io_internal.h"
#include "../io/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define KEY_CONFIG "libtransfer.config"
#define KEY_VOCAB "libtransfer.vocab"
#define KEY_LABELS "libtransfer.labels"
#define KEY_KIND "libtransfer.kind"
#define KEY_DECISION "libtransfer.decision"
#define KEY_STANDARDIZATION "libtransfer.standardization"
#define KEY_INFERENCE "libtransfer.inference"

static tf_status_t config_json(tf_model_t *m, tf__buf_t *b)
{
    char tmp[512];
    const tf_model_opts_t *c = &m->cfg;
    snprintf(tmp, sizeof tmp,
             "{\"input\":%d,\"num_features\":%d,\"vocab_size\":%d,\"embedding_dim\":%d,"
             "\"hidden_size\":%d,\"num_layers\":%d,\"bidirectional\":%d,\"dropout\":%.17g,"
             "\"tie_weights\":%d,\"num_classes\":%d,\"pooling\":%u,\"head_dropout\":%.17g,"
             "\"multi_label\":%d,\"cell\":\"%s\"",
             c->input, c->num_features, m->vocab ? tf_vocab_size(m->vocab) : 0, c->embedding_dim,
             c->hidden_size, c->num_layers, c->bidirectional, c->dropout, c->tie_weights,
             m->num_classes, m->pool_modes, m->head_p, m->multilabel, tf__cell_get(c->cell)->name);
    TF_CHECK(tf__buf_puts(b, tmp));
    if (c->softmax != TF_MODEL_SOFTMAX_ADAPTIVE) /* absent: the full softmax, as in older files */
        return tf__buf_puts(b, "}");
    snprintf(tmp, sizeof tmp, ",\"softmax\":\"adaptive\",\"div_value\":%.17g,\"cutoffs\":[", c->div_value);
    TF_CHECK(tf__buf_puts(b, tmp));
    for (int32_t i = 0; i < TF_MODEL_MAX_CUTOFFS && c->cutoffs[i] != 0; i++) {
        snprintf(tmp, sizeof tmp, i ? ",%d" : "%d", c->cutoffs[i]);
        TF_CHECK(tf__buf_puts(b, tmp));
    }
    return tf__buf_puts(b, "]}");
}

static tf_status_t labels_json(tf_model_t *m, tf__buf_t *b)
{
    TF_CHECK(tf__buf_puts(b, "["));
    for (int32_t i = 0; i < m->num_classes; i++) {
        if (i)
            TF_CHECK(tf__buf_puts(b, ","));
        TF_CHECK(tf__buf_json_string(b, m->labels[i]));
    }
    return tf__buf_puts(b, "]");
}

static tf_status_t prior_json(tf__buf_t *b, const char *key, const double *p, int32_t n)
{
    char tmp[64];
    if (p == NULL)
        return TF_STATUS_OK;
    snprintf(tmp, sizeof tmp, ",\"%s\":[", key);
    TF_CHECK(tf__buf_puts(b, tmp));
    for (int32_t i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, i ? ",%.17g" : "%.17g", p[i]);
        TF_CHECK(tf__buf_puts(b, tmp));
    }
    return tf__buf_puts(b, "]");
}

/* How the head's logits become decisions: {"temperature":T,"train_prior":[..],"model_prior":[..],
 * "prior":[..]}, the priors only where recorded or set. */
static tf_status_t decision_json(tf_model_t *m, tf__buf_t *b)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "{\"temperature\":%.17g", m->temperature);
    TF_CHECK(tf__buf_puts(b, tmp));
    TF_CHECK(prior_json(b, "train_prior", m->train_prior, m->num_classes));
    TF_CHECK(prior_json(b, "model_prior", m->model_prior, m->num_classes));
    TF_CHECK(prior_json(b, "prior", m->prior, m->num_classes));
    return tf__buf_puts(b, "}");
}

/* A numeric model's input standardisation: {"mean":[..],"std":[..]}, F numbers each, written
 * with enough digits to read back the same floats. */
static tf_status_t standardization_json(tf_model_t *m, tf__buf_t *b)
{
    char tmp[64];
    for (int k = 0; k < 2; k++) {
        const float *v = k ? m->in_std : m->in_mean;
        TF_CHECK(tf__buf_puts(b, k ? "],\"std\":[" : "{\"mean\":["));
        for (int32_t f = 0; f < m->cfg.num_features; f++) {
            snprintf(tmp, sizeof tmp, f ? ",%.9g" : "%.9g", (double)v[f]);
            TF_CHECK(tf__buf_puts(b, tmp));
        }
    }
    return tf__buf_puts(b, "]}");
}

static tf_status_t add_params(tf_model_t *m, tf_tensorfile_writer_t *w)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            const char *name;
            tf_tensor_t *p;
            TF_CHECK(tf_module_param_at(&name, &p, NULL, mods[i], j));
            TF_CHECK(tf_tensorfile_writer_add_tensor(w, name, p));
        }
    return TF_STATUS_OK;
}

tf_status_t tf__model_add_meta(tf_model_t *m, tf_tensorfile_writer_t *w, const char *inference)
{
    tf__buf_t cfg, labels, dec, stdz;
    char *vocab = NULL;
    tf_status_t st;
    tf__buf_init(&cfg, m->ctx);
    tf__buf_init(&labels, m->ctx);
    tf__buf_init(&dec, m->ctx);
    tf__buf_init(&stdz, m->ctx);
    if (inference != NULL)
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_INFERENCE, inference), out);
    TF_CHECK_GOTO(st, config_json(m, &cfg), out);
    TF_CHECK_GOTO(st, tf__buf_append(&cfg, "", 1), out);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_KIND, "model"), out);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_CONFIG, cfg.data), out);
    if (m->vocab != NULL) {
        size_t len = 0;
        TF_CHECK_GOTO(st, tf_vocab_serialize(m->vocab, NULL, 0, &len), out);
        vocab = tf__alloc(m->ctx, len + 1);
        if (vocab == NULL) {
            st = TF_STATUS_ENOMEM;
            goto out;
        }
        TF_CHECK_GOTO(st, tf_vocab_serialize(m->vocab, vocab, len + 1, &len), out);
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_VOCAB, vocab), out);
    }
    if (m->in_mean != NULL) {
        TF_CHECK_GOTO(st, standardization_json(m, &stdz), out);
        TF_CHECK_GOTO(st, tf__buf_append(&stdz, "", 1), out);
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_STANDARDIZATION, stdz.data), out);
    }
    if (m->head != NULL) {
        TF_CHECK_GOTO(st, labels_json(m, &labels), out);
        TF_CHECK_GOTO(st, tf__buf_append(&labels, "", 1), out);
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_LABELS, labels.data), out);
        TF_CHECK_GOTO(st, decision_json(m, &dec), out);
        TF_CHECK_GOTO(st, tf__buf_append(&dec, "", 1), out);
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_DECISION, dec.data), out);
    }
    st = TF_STATUS_OK;
out:
    tf__buf_free(&cfg);
    tf__buf_free(&labels);
    tf__buf_free(&dec);
    tf__buf_free(&stdz);
    tf__free(m->ctx, vocab);
    return st;
}

tf_status_t tf_model_save(tf_model_t *m, const char *path)
{
    tf_tensorfile_writer_t *w = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(path);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_create(&w, m->ctx, NULL), out);
    TF_CHECK_GOTO(st, add_params(m, w), out);
    /* A model from an inference export saves as one again (in F32): it has no LM head. */
    TF_CHECK_GOTO(st, tf__model_add_meta(m, w, m->inference ? "f32" : NULL), out);
    st = tf_tensorfile_writer_save(w, path);
out:
    tf_tensorfile_writer_free(w);
    return st;
}

tf_status_t tf__model_check_trainable(const tf_model_t *m, const char *fn)
{
    if (m->inference != 0)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: the model was loaded from an inference export (no language-model head, "
                "rounded weights) and cannot train; load the full checkpoint it was exported from",
                fn);
    return TF_STATUS_OK;
}

/* ---- loading ---- */

/* A metadata value parsed as JSON of the given type; EFORMAT names the file and `what`. */
static tf_status_t parse_json(tf_ctx_t *ctx, const char *path, const char *text, int32_t type,
                              const char *what, tf__json_doc_t **doc, const tf__json_t **root)
{
    size_t at;
    int why;
    tf_status_t st = tf__json_parse(ctx, text, strlen(text), doc, root, &at, &why);
    if (st == TF_STATUS_OK && !tf__json_is(*root, type)) {
        tf__json_free(*doc);
        *doc = NULL;
        st = TF_STATUS_EFORMAT;
    }
    if (st == TF_STATUS_EFORMAT)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: the %s", path, what);
    return st;
}

static tf_status_t json_int(const char *path, const tf__json_t *obj, const char *key, int32_t lo,
                            int32_t hi, int32_t *out)
{
    const tf__json_t *v = tf__json_get(obj, key);
    if (!tf__json_is(v, TF__JSON_NUMBER) || !(v->num >= lo && v->num <= hi) ||
        v->num != floor(v->num))
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: configuration field '%s' is missing or not "
                "an integer in [%d, %d]", path, key, lo, hi);
    *out = (int32_t)v->num;
    return TF_STATUS_OK;
}

static tf_status_t json_fraction(const char *path, const tf__json_t *obj, const char *key,
                                 double *out)
{
    const tf__json_t *v = tf__json_get(obj, key);
    if (!tf__json_is(v, TF__JSON_NUMBER) || !(v->num >= 0.0 && v->num < 1.0))
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: configuration field '%s' is missing or "
                "outside [0, 1)", path, key);
    *out = v->num;
    return TF_STATUS_OK;
}

/* "softmax" (absent in files from before the adaptive softmax: full), and an adaptive head's
 * "div_value" and "cutoffs" (tf_model_create checks them against the vocabulary). */
static tf_status_t parse_softmax(const char *path, const tf__json_t *root, tf_model_opts_t *c)
{
    const tf__json_t *v = tf__json_get(root, "softmax");
    if (v == NULL)
        return TF_STATUS_OK;
    if (!tf__json_is(v, TF__JSON_STRING) || (strcmp(v->str, "full") != 0 && strcmp(v->str, "adaptive") != 0))
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: configuration field 'softmax' is not full or adaptive", path);
    if (strcmp(v->str, "full") == 0)
        return TF_STATUS_OK;
    c->softmax = TF_MODEL_SOFTMAX_ADAPTIVE;
    v = tf__json_get(root, "div_value");
    if (!tf__json_is(v, TF__JSON_NUMBER) || !(v->num >= 1.0 && v->num <= 1e6))
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: configuration field 'div_value' is missing or not a "
                "number in [1, 1e6]", path);
    c->div_value = v->num;
    v = tf__json_get(root, "cutoffs");
    if (!tf__json_is(v, TF__JSON_ARRAY) || v->count < 1 || v->count > TF_MODEL_MAX_CUTOFFS)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: configuration field 'cutoffs' is missing or not an "
                "array of 1 to %d cut-offs", path, TF_MODEL_MAX_CUTOFFS);
    int32_t i = 0;
    for (const tf__json_t *e = v->child; e != NULL; e = e->next, i++) {
        if (!tf__json_is(e, TF__JSON_NUMBER) || !(e->num >= 1 && e->num <= (1 << 30)) || e->num != floor(e->num))
            TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: cut-off %d is not an integer in [1, 2^30]", path, i);
        c->cutoffs[i] = (int32_t)e->num;
    }
    return TF_STATUS_OK;
}

static tf_status_t parse_config(tf_ctx_t *ctx, const char *path, const char *text,
                                tf_model_opts_t *c, int32_t *vocab_size, int32_t *num_classes,
                                uint32_t *pooling, double *head_p, int32_t *multilabel)
{
    tf_status_t st = TF_STATUS_OK;
    int32_t pool = 0;
    tf__json_doc_t *doc;
    const tf__json_t *root;
    TF_CHECK(parse_json(ctx, path, text, TF__JSON_OBJECT, "configuration is not a JSON object",
                        &doc, &root));
    tf_model_opts_init(c, TF_MODEL_OPTS_VERSION);
    const int32_t big = 1 << 24;
    TF_CHECK_GOTO(st, json_int(path, root, "input", 1, 2, &c->input), out);
    TF_CHECK_GOTO(st, json_int(path, root, "num_features", 0, big, &c->num_features), out);
    TF_CHECK_GOTO(st, json_int(path, root, "vocab_size", 0, 1 << 30, vocab_size), out);
    TF_CHECK_GOTO(st, json_int(path, root, "embedding_dim", 1, big, &c->embedding_dim), out);
    TF_CHECK_GOTO(st, json_int(path, root, "hidden_size", 1, big, &c->hidden_size), out);
    TF_CHECK_GOTO(st, json_int(path, root, "num_layers", 1, 1024, &c->num_layers), out);
    TF_CHECK_GOTO(st, json_int(path, root, "bidirectional", 0, 1, &c->bidirectional), out);
    TF_CHECK_GOTO(st, json_int(path, root, "tie_weights", 0, 1, &c->tie_weights), out);
    TF_CHECK_GOTO(st, json_int(path, root, "num_classes", 0, 1 << 20, num_classes), out);
    TF_CHECK_GOTO(st, json_int(path, root, "pooling", 0, 7, &pool), out);
    *pooling = (uint32_t)pool;
    *multilabel = 0; /* absent in files from before multi-label heads */
    if (tf__json_get(root, "multi_label") != NULL)
        TF_CHECK_GOTO(st, json_int(path, root, "multi_label", 0, 1, multilabel), out);
    c->cell = TF_CELL_LSTM; /* absent in files from before the cell table */
    const tf__json_t *cell = tf__json_get(root, "cell");
    if (cell != NULL) {
        c->cell = tf__json_is(cell, TF__JSON_STRING) ? tf__cell_find(cell->str) : -1;
        if (c->cell < 0)
            TF_FAIL_GOTO(
                st, out, TF_STATUS_EFORMAT,
                "tf_model_load: %s: configuration field 'cell' is not a cell's name (lstm, gru)",
                path);
    }
    TF_CHECK_GOTO(st, parse_softmax(path, root, c), out);
    TF_CHECK_GOTO(st, json_fraction(path, root, "dropout", &c->dropout), out);
    TF_CHECK_GOTO(st, json_fraction(path, root, "head_dropout", head_p), out);
out:
    tf__json_free(doc);
    return st;
}

static tf_status_t parse_labels(tf_ctx_t *ctx, const char *path, const char *text, int32_t n,
                                char ***out)
{
    tf_status_t st = TF_STATUS_OK;
    tf__json_doc_t *doc;
    const tf__json_t *root;
    TF_CHECK(parse_json(ctx, path, text, TF__JSON_ARRAY, "label list is not a JSON array", &doc,
                        &root));
    if (root->count != n) {
        tf__json_free(doc);
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: the label list is not a JSON array of %d "
                "strings", path, n);
    }
    char **labels = tf__calloc(ctx, (size_t)n, sizeof *labels);
    if (labels == NULL) {
        tf__json_free(doc);
        return TF_STATUS_ENOMEM;
    }
    const tf__json_t *v = root->child;
    for (int32_t i = 0; i < n && st == TF_STATUS_OK; i++, v = v->next) {
        if (!tf__json_is(v, TF__JSON_STRING) || v->str[0] == '\0')
            st = tf__error(TF_STATUS_EFORMAT, "tf_model_load: %s: label %d is not a non-empty "
                           "string", path, i);
        else if ((labels[i] = tf__strdup(ctx, v->str)) == NULL)
            st = TF_STATUS_ENOMEM;
    }
    tf__json_free(doc);
    if (st != TF_STATUS_OK) {
        for (int32_t i = 0; i < n; i++)
            tf__free(ctx, labels[i]);
        tf__free(ctx, labels);
        return st;
    }
    *out = labels;
    return TF_STATUS_OK;
}

/* One prior of the decision metadata: absent (NULL), or n numbers in (0, 1). */
static tf_status_t parse_prior(tf_ctx_t *ctx, const char *path, const tf__json_t *root, const char *key,
                               int32_t n, double **out)
{
    const tf__json_t *v = tf__json_get(root, key);
    *out = NULL;
    if (v == NULL)
        return TF_STATUS_OK;
    if (!tf__json_is(v, TF__JSON_ARRAY) || v->count != n)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: decision field '%s' is not an array of %d "
                "numbers", path, key, n);
    double *p = tf__calloc(ctx, (size_t)n, sizeof *p);
    if (p == NULL)
        return TF_STATUS_ENOMEM;
    const tf__json_t *e = v->child;
    for (int32_t i = 0; i < n; i++, e = e->next)
        if (!tf__json_is(e, TF__JSON_NUMBER) || !(e->num > 0.0 && e->num < 1.0)) {
            tf__free(ctx, p);
            TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: decision field '%s' value %d is not a "
                    "number in (0, 1)", path, key, i);
        } else {
            p[i] = e->num;
        }
    *out = p;
    return TF_STATUS_OK;
}

/* The decision metadata into a model with a head (absent in older files: decide as trained). */
static tf_status_t parse_decision(tf_model_t *m, const char *path, const char *text)
{
    tf_status_t st = TF_STATUS_OK;
    tf__json_doc_t *doc;
    const tf__json_t *root;
    if (text == NULL)
        return TF_STATUS_OK;
    TF_CHECK(parse_json(m->ctx, path, text, TF__JSON_OBJECT, "decision metadata is not a JSON "
                        "object", &doc, &root));
    const tf__json_t *t = tf__json_get(root, "temperature");
    if (!tf__json_is(t, TF__JSON_NUMBER) || !(t->num > 0.0 && t->num <= 1e6))
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                     "tf_model_load: %s: decision field 'temperature' is missing or not a number "
                     "in (0, 1e6]",
                     path);
    m->temperature = t->num;
    TF_CHECK_GOTO(st, parse_prior(m->ctx, path, root, "train_prior", m->num_classes, &m->train_prior), out);
    TF_CHECK_GOTO(st, parse_prior(m->ctx, path, root, "model_prior", m->num_classes, &m->model_prior), out);
    TF_CHECK_GOTO(st, parse_prior(m->ctx, path, root, "prior", m->num_classes, &m->prior), out);
    if ((m->train_prior == NULL) != (m->model_prior == NULL) ||
        (m->prior != NULL && m->model_prior == NULL))
        st = tf__error(TF_STATUS_EFORMAT, "tf_model_load: %s: the decision metadata has a prior "
                       "without the model's training priors", path);
out:
    tf__json_free(doc);
    return st;
}

/* One array of the standardisation metadata: F numbers, finite (and > 0 for `positive`). */
static tf_status_t parse_stat(const char *path, const tf__json_t *root, const char *key, int32_t F,
                              int positive, float *out)
{
    const tf__json_t *v = tf__json_get(root, key);
    if (!tf__json_is(v, TF__JSON_ARRAY) || v->count != F)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: standardisation field '%s' is missing or not "
                "an array of %d numbers (one per feature)", path, key, F);
    const tf__json_t *e = v->child;
    for (int32_t f = 0; f < F; f++, e = e->next) {
        double x = tf__json_is(e, TF__JSON_NUMBER) ? e->num : NAN;
        if (!isfinite(x) || !isfinite((float)x) || (positive && !((float)x > 0.0f)))
            TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: standardisation field '%s' value %d is "
                    "not a finite number%s", path, key, f, positive ? " > 0" : "");
        out[f] = (float)x;
    }
    return TF_STATUS_OK;
}

/* The standardisation metadata into a numeric model (absent: none recorded). */
static tf_status_t parse_standardization(tf_model_t *m, const char *path, const char *text)
{
    tf__json_doc_t *doc;
    const tf__json_t *root;
    if (text == NULL)
        return TF_STATUS_OK;
    if (m->cfg.input != TF_MODEL_INPUT_FEATURES)
        TF_FAIL(TF_STATUS_EFORMAT, "tf_model_load: %s: a token model with a numeric "
                "standardisation", path);
    TF_CHECK(parse_json(m->ctx, path, text, TF__JSON_OBJECT, "standardisation metadata is not a "
                        "JSON object", &doc, &root));
    const int32_t F = m->cfg.num_features;
    float *v = tf__alloc(m->ctx, 2 * (size_t)F * sizeof *v);
    tf_status_t st = v == NULL ? TF_STATUS_ENOMEM : TF_STATUS_OK;
    if (st == TF_STATUS_OK)
        st = parse_stat(path, root, "mean", F, 0, v);
    if (st == TF_STATUS_OK)
        st = parse_stat(path, root, "std", F, 1, v + F);
    if (st == TF_STATUS_OK)
        st = tf_model_set_standardization(m, v, v + F, F);
    tf__free(m->ctx, v);
    tf__json_free(doc);
    return st;
}

/* Whether `name` is one of the model's parameters. */
static int model_has_param(tf_model_t *m, const char *name)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            const char *pn;
            tf_tensor_t *p;
            if (tf_module_param_at(&pn, &p, NULL, mods[i], j) == TF_STATUS_OK && strcmp(pn, name) == 0)
                return 1;
        }
    return 0;
}

tf_status_t tf__model_load_params(tf_model_t *m, tf_tensorfile_t *f, const char *fn, const char *path,
                                  int skip_head)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            const char *name;
            tf_tensor_t *p, *src;
            TF_CHECK(tf_module_param_at(&name, &p, NULL, mods[i], j));
            tf_status_t st = tf_tensorfile_get(&src, f, name);
            if (st == TF_STATUS_ENOTFOUND)
                TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: tensor '%s' is missing", fn, path, name);
            TF_CHECK(st);
            if (tf_tensor_dtype(src) != TF_DTYPE_F32)
                TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: tensor '%s' is not F32", fn, path, name);
            int same = tf_tensor_ndim(src) == tf_tensor_ndim(p);
            for (uint32_t d = 0; same && d < tf_tensor_ndim(p); d++)
                same = tf_tensor_dim(src, d) == tf_tensor_dim(p, d);
            if (!same) {
                char want[64] = "", got[64] = "";
                for (uint32_t d = 0; d < tf_tensor_ndim(p); d++)
                    snprintf(want + strlen(want), sizeof want - strlen(want), d ? ", %lld" : "%lld",
                             (long long)tf_tensor_dim(p, d));
                for (uint32_t d = 0; d < tf_tensor_ndim(src); d++)
                    snprintf(got + strlen(got), sizeof got - strlen(got), d ? ", %lld" : "%lld",
                             (long long)tf_tensor_dim(src, d));
                TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: tensor '%s' has shape [%s], the configuration needs [%s]",
                        fn, path, name, got, want);
            }
            TF_CHECK(tf_tensor_copy_from(p, tf_tensor_data(src), tf_tensor_nbytes(src)));
        }
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        const char *name = tf_tensorfile_name(f, i);
        if (skip_head && strncmp(name, "head.", 5) == 0)
            continue;
        if (!model_has_param(m, name))
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: the file has tensor '%s' that the configuration does not describe",
                    fn, path, name);
    }
    return TF_STATUS_OK;
}

tf_status_t tf_model_load(tf_model_t **out, tf_ctx_t *ctx, const char *path, uint32_t flags)
{
    tf_tensorfile_t *f = NULL;
    tf_model_t *m = NULL;
    tf_vocab_t *vocab = NULL;
    char **labels = NULL;
    tf_model_opts_t cfg;
    int32_t vocab_size = 0, num_classes = 0, multilabel = 0;
    uint32_t pooling = 0;
    double head_p = 0.0;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(path);
    if (flags & ~TF_MODEL_LOAD_BACKBONE)
        TF_FAIL(TF_STATUS_EINVAL, "%s: unknown flags 0x%x", __func__, flags);
    TF_CHECK(tf_tensorfile_load(&f, ctx, path, NULL));
    const char *kind = tf_tensorfile_meta(f, KEY_KIND), *ctext = tf_tensorfile_meta(f, KEY_CONFIG);
    if (kind == NULL || strcmp(kind, "model") != 0 || ctext == NULL)
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                     "%s: %s: not a libtransfer model (no '%s' metadata)", __func__, path,
                     KEY_CONFIG);
    TF_CHECK_GOTO(st, parse_config(ctx, path, ctext, &cfg, &vocab_size, &num_classes, &pooling, &head_p,
                                   &multilabel), out);
    if (cfg.input == TF_MODEL_INPUT_TOKENS) {
        const char *v = tf_tensorfile_meta(f, KEY_VOCAB);
        if (v == NULL)
            TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: a token model without a vocabulary",
                         __func__, path);
        TF_CHECK_GOTO(st, tf_vocab_deserialize(&vocab, ctx, v, strlen(v)), out);
        if (tf_vocab_size(vocab) != vocab_size)
            TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                         "%s: %s: the vocabulary has %d tokens, the configuration says %d",
                         __func__, path, tf_vocab_size(vocab), vocab_size);
    } else if (cfg.num_features < 1) {
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: a numeric model without features",
                     __func__, path);
    }
    if (tf__model_check_softmax("tf_model_load", &cfg, vocab) != TF_STATUS_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", tf_last_error_message());
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                     "tf_model_load: %s: the configuration's language-model head does not fit the model (%s)", path,
                     why);
    }
    const char *inference = tf_tensorfile_meta(f, KEY_INFERENCE);
    int32_t inference_dtype = 0;
    if (inference != NULL) {
        static const char *const names[] = {"f32", "f16", "int8"};
        for (int32_t i = 0; i < 3; i++)
            if (strcmp(inference, names[i]) == 0)
                inference_dtype = TF_EXPORT_DTYPE_F32 + i;
        if (inference_dtype == 0)
            TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                         "%s: %s: metadata '%s' is '%.16s', not f32, f16 or int8", __func__, path,
                         KEY_INFERENCE, inference);
    }
    st = tf__model_new(&m, ctx, vocab, &cfg);
    vocab = NULL; /* adopted (or freed) by tf__model_new */
    if (st != TF_STATUS_OK)
        goto out;
    TF_CHECK_GOTO(st, parse_standardization(m, path, tf_tensorfile_meta(f, KEY_STANDARDIZATION)), out);
    if (inference_dtype != 0) { /* exported without the language-model head */
        tf_module_free(m->lm_head);
        m->lm_head = NULL;
        m->inference = inference_dtype;
    }
    if (num_classes > 0 && !(flags & TF_MODEL_LOAD_BACKBONE)) {
        const char *ltext = tf_tensorfile_meta(f, KEY_LABELS);
        if (ltext == NULL || num_classes < 2 - multilabel || pooling == 0)
            TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                         "%s: %s: a task head without valid labels or pooling", __func__, path);
        TF_CHECK_GOTO(st, parse_labels(ctx, path, ltext, num_classes, &labels), out);
        TF_CHECK_GOTO(st, tf__model_make_head(m, num_classes, multilabel,
                                              (const char *const *)labels, pooling, head_p), out);
        TF_CHECK_GOTO(st, parse_decision(m, path, tf_tensorfile_meta(f, KEY_DECISION)), out);
    }
    TF_CHECK_GOTO(st, tf__model_load_params(m, f, __func__, path, (flags & TF_MODEL_LOAD_BACKBONE) != 0), out);
    *out = m;
    m = NULL;
out:
    if (labels != NULL) {
        for (int32_t i = 0; i < num_classes; i++)
            tf__free(ctx, labels[i]);
        tf__free(ctx, labels);
    }
    tf_vocab_free(vocab);
    tf_model_free(m);
    tf_tensorfile_free(f);
    return st;
}

/* ---- training state ---- */

/* The phase bookkeeping, written field by field in little-endian order (x86 and ARM hosts). */
typedef struct {
    char magic[4];
    uint32_t version;
    int32_t phase, epoch, best_epoch, bad_epochs, finished;
    int32_t ranks; /* of a distributed run; 0 for one process (and in files before ranks) */
    uint64_t fingerprint;
    int64_t total_steps, epoch_loss_n;
    double best_metric, last_valid_loss, last_valid_metric, epoch_loss_sum;
    uint64_t rng[4];
} phase_blob_t;

tf_status_t tf_train_state_save(tf_model_t *m, tf_loader_t *train, const char *path)
{
    tf_tensorfile_writer_t *w = NULL;
    void *opt_blob = NULL, *loader_blob = NULL;
    size_t opt_size = 0, loader_size = 0;
    phase_blob_t pb;
    struct tf_tensor best;
    tf_status_t st;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(path);
    if (m->ph.phase == 0 || m->ph.opt == NULL)
        TF_FAIL(TF_STATUS_ESTATE,
                "%s: the model has no training state; call "
                "tf_pretrain or tf_finetune first",
                __func__);
    memset(&pb, 0, sizeof pb);
    memcpy(pb.magic, "TFTS", 4);
    pb.version = 1;
    pb.phase = m->ph.phase;
    pb.epoch = m->ph.epoch;
    pb.best_epoch = m->ph.best_epoch;
    pb.bad_epochs = m->ph.bad_epochs;
    pb.finished = m->ph.finished;
    pb.ranks = m->ph.ranks;
    pb.fingerprint = m->ph.fingerprint;
    pb.total_steps = m->ph.total_steps;
    pb.epoch_loss_n = m->ph.epoch_loss_n;
    pb.best_metric = m->ph.best_metric;
    pb.last_valid_loss = m->ph.last_valid_loss;
    pb.last_valid_metric = m->ph.last_valid_metric;
    pb.epoch_loss_sum = m->ph.epoch_loss_sum;
    memcpy(pb.rng, m->ctx->rng.s, sizeof pb.rng);
    TF_CHECK_GOTO(st, tf_optimizer_state_save(m->ph.opt, NULL, 0, &opt_size), out);
    opt_blob = tf__alloc(m->ctx, opt_size);
    if (opt_blob == NULL) {
        st = TF_STATUS_ENOMEM;
        goto out;
    }
    TF_CHECK_GOTO(st, tf_optimizer_state_save(m->ph.opt, opt_blob, opt_size, &opt_size), out);
    if (train != NULL) {
        TF_CHECK_GOTO(st, tf_loader_export_state(train, NULL, 0, &loader_size), out);
        loader_blob = tf__alloc(m->ctx, loader_size);
        if (loader_blob == NULL) {
            st = TF_STATUS_ENOMEM;
            goto out;
        }
        TF_CHECK_GOTO(st, tf_loader_export_state(train, loader_blob, loader_size, &loader_size), out);
    }
    TF_CHECK_GOTO(st, tf_tensorfile_writer_create(&w, m->ctx, NULL), out);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_add_meta(w, KEY_KIND, "train_state"), out);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_add_blob(w, "phase", &pb, sizeof pb), out);
    TF_CHECK_GOTO(st, tf_tensorfile_writer_add_blob(w, "optimizer", opt_blob, opt_size), out);
    if (loader_blob != NULL)
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_blob(w, "loader", loader_blob, loader_size), out);
    if (m->ph.best != NULL) {
        const int64_t shape[1] = {(int64_t)m->ph.best_n};
        memset(&best, 0, sizeof best);
        tf__view_set(&best, m->ctx, m->ph.best, shape, 1);
        TF_CHECK_GOTO(st, tf_tensorfile_writer_add_tensor(w, "best_weights", &best), out);
    }
    st = tf_tensorfile_writer_save(w, path);
out:
    tf_tensorfile_writer_free(w);
    tf__free(m->ctx, opt_blob);
    tf__free(m->ctx, loader_blob);
    return st;
}

tf_status_t tf_train_state_load(tf_model_t *m, tf_loader_t *train, const char *path)
{
    tf_tensorfile_t *f = NULL;
    const void *blob;
    size_t size;
    phase_blob_t pb;
    void *pending = NULL;
    float *best = NULL;
    size_t best_n = 0;
    tf_status_t st;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(path);
    TF_CHECK(tf_tensorfile_load(&f, m->ctx, path, NULL));
    const char *kind = tf_tensorfile_meta(f, KEY_KIND);
    if (kind == NULL || strcmp(kind, "train_state") != 0)
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: not a libtransfer training state",
                     __func__, path);
    st = tf_tensorfile_blob(&blob, &size, f, "phase");
    if (st != TF_STATUS_OK || size != sizeof pb || memcmp(blob, "TFTS", 4) != 0)
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: the phase record is missing or damaged",
                     __func__, path);
    memcpy(&pb, blob, sizeof pb);
    if (pb.version != 1 || pb.ranks < 0 ||
        (pb.phase != TF_TRAIN_PHASE_PRETRAIN && pb.phase != TF_TRAIN_PHASE_FINETUNE &&
         pb.phase != TF_TRAIN_PHASE_DISTILL))
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: unknown phase record", __func__, path);
    if (pb.phase != TF_TRAIN_PHASE_PRETRAIN && m->head == NULL)
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                     "%s: %s: a %s state for a model without a task head "
                     "(load the model saved with it)",
                     __func__, path, pb.phase == TF_TRAIN_PHASE_FINETUNE ? "fine-tuning" : "distillation");
    if (tf_tensorfile_blob(&blob, &size, f, "optimizer") != TF_STATUS_OK || size == 0)
        TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT, "%s: %s: no optimizer state", __func__, path);
    pending = tf__alloc(m->ctx, size);
    if (pending == NULL) {
        st = TF_STATUS_ENOMEM;
        goto out;
    }
    memcpy(pending, blob, size);
    size_t pending_size = size;
    tf_tensor_t *bt;
    if (tf_tensorfile_get(&bt, f, "best_weights") == TF_STATUS_OK) {
        best_n = (size_t)tf_tensor_numel(bt);
        if (best_n != tf__model_param_floats(m))
            TF_FAIL_GOTO(st, out, TF_STATUS_EFORMAT,
                         "%s: %s: the best weights do not fit this model", __func__, path);
        best = tf__alloc(m->ctx, best_n * sizeof *best);
        if (best == NULL) {
            st = TF_STATUS_ENOMEM;
            goto out;
        }
        memcpy(best, tf_tensor_data(bt), best_n * sizeof *best);
    }
    if (train != NULL && tf_tensorfile_blob(&blob, &size, f, "loader") == TF_STATUS_OK)
        TF_CHECK_GOTO(st, tf_loader_import_state(train, blob, size), out);
    /* Everything read: replace the model's phase state. */
    tf__phase_reset(m);
    m->ph.phase = pb.phase;
    m->ph.fingerprint = pb.fingerprint;
    m->ph.total_steps = pb.total_steps;
    m->ph.epoch = pb.epoch;
    m->ph.best_epoch = pb.best_epoch;
    m->ph.bad_epochs = pb.bad_epochs;
    m->ph.finished = pb.finished;
    m->ph.ranks = pb.ranks;
    m->ph.best_metric = pb.best_metric;
    m->ph.last_valid_loss = pb.last_valid_loss;
    m->ph.last_valid_metric = pb.last_valid_metric;
    m->ph.epoch_loss_sum = pb.epoch_loss_sum;
    m->ph.epoch_loss_n = pb.epoch_loss_n;
    m->ph.pending_opt = pending;
    m->ph.pending_opt_size = pending_size;
    m->ph.best = best;
    m->ph.best_n = best_n;
    memcpy(m->ctx->rng.s, pb.rng, sizeof pb.rng);
    pending = NULL;
    best = NULL;
out:
    tf__free(m->ctx, pending);
    tf__free(m->ctx, best);
    tf_tensorfile_free(f);
    return st;
}
