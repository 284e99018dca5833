/* SPDX-License-Identifier: MIT */
/* Numeric-sequence loaders: CSV files and caller float arrays; per-feature standardisation. */
#include "transfer/data.h"
#include "data_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct num_state {
    tf__seqs_t seqs; /* offsets count steps of F values */
    const float *vals;
    float *own_vals; /* read from a file */
    size_t nvals, own_vals_cap;
    int32_t F;
    float *mean, *std; /* per feature: values are standardised as (x - mean) / std */
    float *b_feat, *b_ftgt; /* batch buffers */
    size_t b_feat_cap, b_ftgt_cap;
} num_state_t;

static num_state_t *num(const tf_loader_t *l)
{
    return l->state;
}

static tf__seqs_t *num_seqs(const tf_loader_t *l)
{
    return &num(l)->seqs;
}

static tf_status_t grow_f32(tf_ctx_t *ctx, float **p, size_t *cap, size_t need)
{
    void *q = *p;
    tf_status_t st = tf__grow_bytes(ctx, &q, cap, need, sizeof(float));
    *p = q;
    return st;
}

/* Standardised features (T, B, F), zero-padded, and with next_step the next step's as targets. */
static tf_status_t num_fill(tf_loader_t *l, int64_t start, int32_t B)
{
    num_state_t *m = num(l);
    const int64_t *items = m->seqs.order + start;
    int32_t F = m->F, next = l->o.next_step;
    int64_t T;
    TF_CHECK(tf__seqs_fill(l, &m->seqs, items, B, next, &T));
    size_t need = (size_t)T * (size_t)B;
    TF_CHECK(grow_f32(l->ctx, &m->b_feat, &m->b_feat_cap, need * (size_t)F));
    if (next)
        TF_CHECK(grow_f32(l->ctx, &m->b_ftgt, &m->b_ftgt_cap, need * (size_t)F));
    memset(m->b_feat, 0, need * (size_t)F * sizeof(float));
    if (next)
        memset(m->b_ftgt, 0, need * (size_t)F * sizeof(float));
    for (int32_t b = 0; b < B; b++) {
        const float *src = m->vals + (size_t)m->seqs.off[items[b]] * (size_t)F;
        for (int32_t t = 0; t < l->b_len[b]; t++)
            for (int32_t f = 0; f < F; f++) {
                size_t d = ((size_t)t * B + b) * (size_t)F + (size_t)f;
                m->b_feat[d] = (src[(size_t)t * F + f] - m->mean[f]) / m->std[f];
                if (next)
                    m->b_ftgt[d] = (src[(size_t)(t + 1) * F + f] - m->mean[f]) / m->std[f];
            }
    }
    tf_batch_t *bt = &l->batch;
    bt->F = F;
    bt->has_features = 1;
    tf__batch_view(&bt->features, l->ctx, TF_DTYPE_F32, m->b_feat, 3, T, B, F);
    if (next) {
        bt->has_ftargets = 1;
        tf__batch_view(&bt->ftargets, l->ctx, TF_DTYPE_F32, m->b_ftgt, 3, T, B, F);
    }
    l->items_read += B;
    return TF_STATUS_OK;
}

static void num_free(tf_loader_t *l)
{
    num_state_t *m = num(l);
    tf__seqs_free(l->ctx, &m->seqs);
    tf__free(l->ctx, m->own_vals);
    tf__free(l->ctx, m->mean);
    tf__free(l->ctx, m->std);
    tf__free(l->ctx, m->b_feat);
    tf__free(l->ctx, m->b_ftgt);
}

static const tf__loader_ops_t num_ops = {
    .kind = TF__LOADER_NUM,
    .state_size = sizeof(num_state_t),
    .num_sequences = tf__seqs_num_sequences,
    .prepare = tf__seqs_prepare,
    .plan_epoch = tf__seqs_plan_epoch,
    .fill = num_fill,
    .seqs = num_seqs,
    .free = num_free,
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int tf__parse_float(const char *s, const char *e, float *out)
{
    char buf[80];
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    float v = strtof(buf, &end);
    if (end != buf + n || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static tf_status_t parse_line(tf_loader_t *l, tf__lines_t *lr, const char *line, size_t len)
{
    num_state_t *m = num(l);
    const char *p = line, *end = line + len, *fn = lr->fn;
    long long ln = (long long)lr->lineno;
    int32_t label = 0;
    size_t start = m->nvals;
    const char *ls = NULL, *le = NULL;
    if (l->o.has_label) {
        const char *c = memchr(p, ',', len);
        le = c ? c : end;
        ls = p;
        while (ls < le && is_blank(*ls))
            ls++;
        while (le > ls && is_blank(le[-1]))
            le--;
        if (c == NULL || le == ls)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: expected label,values", fn, lr->name, ln);
        p = c + 1;
    }
    for (int64_t field = 1;; field++) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *fe = c ? c : end;
        float v;
        if (!tf__parse_float(p, fe, &v))
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: value %lld ('%.*s') is not a finite number",
                    fn, lr->name, ln, (long long)field, (int)(fe - p > 32 ? 32 : fe - p), p);
        TF_CHECK(grow_f32(l->ctx, &m->own_vals, &m->own_vals_cap, m->nvals + 1));
        m->own_vals[m->nvals++] = v;
        if (c == NULL)
            break;
        p = c + 1;
    }
    size_t count = m->nvals - start, F = (size_t)m->F;
    size_t need = l->o.next_step ? 2 * F : F;
    if (count % F != 0 || count < need)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: %zu values; need a multiple of %zu, at least %zu",
                fn, lr->name, ln, count, F, need);
    if (ls != NULL) {
        /* The label last, so a bad line never adds a label without examples. */
        TF_CHECK(tf__loader_label_id(l, ls, (size_t)(le - ls), &label));
        if (label < 0)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: label '%.*s' is not one of the %d known "
                    "labels", fn, lr->name, ln, (int)(le - ls > 64 ? 64 : le - ls), ls,
                    l->num_labels);
    }
    return tf__seqs_add(l, &m->seqs, label, (int64_t)(m->nvals / F));
}

/* Per-feature mean and standard deviation over every step of every sequence; `pooled`: one mean
 * and one deviation over every value, given to each feature. */
static tf_status_t standardize(tf_loader_t *l, int pooled)
{
    num_state_t *m = num(l);
    int32_t F = m->F;
    m->mean = tf__calloc(l->ctx, (size_t)F, sizeof(float));
    m->std = tf__calloc(l->ctx, (size_t)F, sizeof(float));
    double *acc = tf__calloc(l->ctx, 2 * (size_t)F, sizeof(double));
    if (m->mean == NULL || m->std == NULL || acc == NULL) {
        tf__free(l->ctx, acc);
        return TF_STATUS_ENOMEM;
    }
    int64_t steps = m->seqs.off[m->seqs.n];
    for (int32_t f = 0; f < F; f++)
        m->std[f] = 1.0f;
    if (l->o.standardize && steps > 0) {
        int32_t G = pooled ? 1 : F; /* statistics kept: acc[0..G) sums, acc[F..F+G) squares */
        double count = (double)steps * (pooled ? F : 1);
        for (int64_t t = 0; t < steps; t++)
            for (int32_t f = 0; f < F; f++)
                acc[pooled ? 0 : f] += m->vals[(size_t)t * F + f];
        for (int32_t g = 0; g < G; g++)
            acc[g] /= count;
        for (int64_t t = 0; t < steps; t++)
            for (int32_t f = 0; f < F; f++) {
                int32_t g = pooled ? 0 : f;
                double d = m->vals[(size_t)t * F + f] - acc[g];
                acc[F + g] += d * d;
            }
        for (int32_t f = 0; f < F; f++) {
            int32_t g = pooled ? 0 : f;
            double sd = sqrt(acc[F + g] / count);
            m->mean[f] = (float)acc[g];
            m->std[f] = sd > 1e-12 && isfinite(sd) ? (float)sd : 1.0f;
        }
    }
    tf__free(l->ctx, acc);
    return TF_STATUS_OK;
}

static tf_status_t check_labels(tf_loader_t *l, const int32_t *labels, const char *fn)
{
    if (labels == NULL)
        return TF_STATUS_OK;
    int32_t mx = -1;
    for (int64_t i = 0; i < num(l)->seqs.n; i++) {
        if (labels[i] < 0 || (l->o.num_labels > 0 && labels[i] >= l->o.num_labels))
            TF_FAIL(TF_STATUS_EINVAL, "%s: labels[%lld] = %d is out of range", fn, (long long)i,
                    labels[i]);
        if (labels[i] > mx)
            mx = labels[i];
    }
    l->num_labels = l->o.num_labels > 0 ? l->o.num_labels : mx + 1;
    num(l)->seqs.labels = labels;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_numeric_from(tf_loader_t **out, tf_ctx_t *ctx, tf__lines_t *lr,
                                    const tf_loader_opts_t *opts, const char *fn)
{
    tf_loader_t *l = NULL;
    tf_status_t st;
    *out = NULL;
    TF_CHECK(tf__loader_new(&l, ctx, &num_ops, opts, fn));
    num_state_t *m = num(l);
    m->F = l->o.num_features;
    TF_CHECK_GOTO(st, tf__seqs_own_begin(l, &m->seqs, fn), fail);
    for (;;) {
        const char *line;
        size_t len;
        st = tf__lines_next(lr, &line, &len);
        if (st == TF_STATUS_OK && line == NULL)
            break;
        if (st == TF_STATUS_OK && len == 0)
            continue;
        if (st == TF_STATUS_OK && !tf__line_in_split(line, len, l->o.valid_fraction, l->o.split))
            continue;
        if (st == TF_STATUS_OK) {
            size_t n = m->nvals;
            st = parse_line(l, lr, line, len);
            if (st != TF_STATUS_OK)
                m->nvals = n;
        }
        if (st != TF_STATUS_OK)
            TF_CHECK_GOTO(st, tf__loader_bad_line(l, st), fail);
    }
    if (m->seqs.n == 0)
        TF_FAIL_GOTO(st, fail, TF_STATUS_EFORMAT, "%s: %s: no data lines", fn, lr->name);
    if (l->o.has_label) {
        TF_CHECK_GOTO(st, tf__loader_sort_labels(l, m->seqs.own_labels, m->seqs.n), fail);
        m->seqs.labels = m->seqs.own_labels;
    }
    m->vals = m->own_vals;
    m->seqs.off = m->seqs.own_off;
    TF_CHECK_GOTO(st, standardize(l, 0), fail);
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

tf_status_t tf_loader_create_numeric(tf_loader_t **out, tf_ctx_t *ctx, const char *path,
                                     const tf_loader_opts_t *opts)
{
    const char *fn = __func__;
    tf__lines_t lr;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(path);
    TF_CHECK(tf__lines_open_file(&lr, ctx, path, fn));
    tf_status_t st = tf__loader_numeric_from(out, ctx, &lr, opts, fn);
    tf__lines_close(&lr);
    return st;
}

tf_status_t tf_loader_create_numeric_memory(tf_loader_t **out, tf_ctx_t *ctx, const float *values,
                                            const int64_t *offsets, int64_t num_seqs,
                                            const int32_t *labels, const tf_loader_opts_t *opts)
{
    const char *fn = __func__;
    tf_loader_t *l = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(values);
    TF_REQUIRE_ARG(offsets);
    if (num_seqs < 1 || offsets[0] != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: need num_seqs >= 1 and offsets[0] == 0", fn);
    TF_CHECK(tf__loader_new(&l, ctx, &num_ops, opts, fn));
    num_state_t *m = num(l);
    m->F = l->o.num_features;
    for (int64_t i = 0; i < num_seqs; i++) {
        int64_t n = offsets[i + 1] - offsets[i];
        if (n < (l->o.next_step ? 2 : 1) || n > INT32_MAX)
            TF_FAIL_GOTO(st, fail, TF_STATUS_EINVAL,
                         "%s: sequence %lld has %lld steps; need at least %d", fn, (long long)i,
                         (long long)n, l->o.next_step ? 2 : 1);
        for (int64_t k = offsets[i] * m->F; k < offsets[i + 1] * m->F; k++)
            if (!isfinite(values[k]))
                TF_FAIL_GOTO(st, fail, TF_STATUS_EINVAL, "%s: values[%lld] is not finite", fn,
                             (long long)k);
    }
    m->vals = values;
    m->seqs.off = offsets;
    m->seqs.n = num_seqs;
    TF_CHECK_GOTO(st, check_labels(l, labels, fn), fail);
    TF_CHECK_GOTO(st, standardize(l, 0), fail);
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

tf_status_t tf__loader_numeric_begin(tf_loader_t **out, tf_ctx_t *ctx, const tf_loader_opts_t *opts,
                                     int32_t F, const char *fn)
{
    tf_loader_t *l = NULL;
    tf_status_t st;
    *out = NULL;
    TF_CHECK(tf__loader_new(&l, ctx, &num_ops, opts, fn));
    num(l)->F = F;
    TF_CHECK_GOTO(st, tf__seqs_own_begin(l, &num(l)->seqs, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

tf_status_t tf__loader_numeric_reserve(tf_loader_t *l, size_t nvals, const char *fn)
{
    num_state_t *m = num(l);
    size_t bytes;
    if (m->own_vals != NULL || nvals == 0)
        return TF_STATUS_OK;
    /* Exactly: an image set is large, and doubling would waste up to half. */
    if (!tf__mul_size(nvals, sizeof(float), &bytes))
        TF_FAIL(TF_STATUS_ENOMEM, "%s: %zu values are too many", fn, nvals);
    m->own_vals = tf__alloc(l->ctx, bytes);
    if (m->own_vals == NULL)
        TF_FAIL(TF_STATUS_ENOMEM, "%s: no memory for %zu values", fn, nvals);
    m->own_vals_cap = nvals;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_numeric_append(tf_loader_t *l, int64_t steps, int32_t label, float **dst)
{
    num_state_t *m = num(l);
    size_t n = (size_t)steps * (size_t)m->F;
    TF_CHECK(grow_f32(l->ctx, &m->own_vals, &m->own_vals_cap, m->nvals + n));
    TF_CHECK(tf__seqs_add(l, &m->seqs, label, (int64_t)((m->nvals + n) / (size_t)m->F)));
    *dst = m->own_vals + m->nvals;
    m->nvals += n;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_numeric_end(tf_loader_t *l, int labelled, int pooled, const char *fn)
{
    num_state_t *m = num(l);
    if (labelled)
        m->seqs.labels = m->seqs.own_labels;
    m->vals = m->own_vals;
    m->seqs.off = m->seqs.own_off;
    TF_CHECK(standardize(l, pooled));
    return tf__loader_finish(l, fn);
}

int32_t tf_loader_num_features(const tf_loader_t *l)
{
    return l && l->ops == &num_ops ? num(l)->F : 0;
}

tf_status_t tf_loader_standardization(const tf_loader_t *l, float *mean, float *std,
                                      int32_t num_features)
{
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (l->ops != &num_ops)
        TF_FAIL(TF_STATUS_EINVAL, "%s: not a numeric loader", __func__);
    const num_state_t *m = num(l);
    if (num_features != m->F)
        TF_FAIL(TF_STATUS_EBUFSIZE,
                "%s: the loader has %d features, "
                "not %d",
                __func__, m->F, num_features);
    memcpy(mean, m->mean, (size_t)m->F * sizeof *mean);
    memcpy(std, m->std, (size_t)m->F * sizeof *std);
    return TF_STATUS_OK;
}

tf_status_t tf_loader_set_standardization(tf_loader_t *l, const float *mean, const float *std,
                                          int32_t num_features)
{
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (l->ops != &num_ops)
        TF_FAIL(TF_STATUS_EINVAL, "%s: not a numeric loader", __func__);
    num_state_t *m = num(l);
    if (num_features != m->F)
        TF_FAIL(TF_STATUS_EBUFSIZE,
                "%s: the loader has %d features, "
                "not %d",
                __func__, m->F, num_features);
    for (int32_t f = 0; f < m->F; f++)
        if (!isfinite(mean[f]) || !isfinite(std[f]) || !(std[f] > 0.0f))
            TF_FAIL(TF_STATUS_EINVAL,
                    "%s: feature %d needs a finite "
                    "mean and a finite std > 0",
                    __func__, f);
    memcpy(m->mean, mean, (size_t)m->F * sizeof *mean);
    memcpy(m->std, std, (size_t)m->F * sizeof *std);
    return TF_STATUS_OK;
}
