/* Numeric-sequence loaders: CSV files and caller float arrays; per-feature standardisation. */
#include "transfer/data.h"
#include "data_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parse one number field [s, e); 0 if it is not a finite number. */
static int parse_float(const char *s, const char *e, float *out)
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
    const char *p = line, *end = line + len, *fn = lr->fn;
    long long ln = (long long)lr->lineno;
    int32_t label = 0;
    size_t start = l->nids; /* counts floats here */
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
        if (!parse_float(p, fe, &v))
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: value %lld ('%.*s') is not a finite number",
                    fn, lr->name, ln, (long long)field, (int)(fe - p > 32 ? 32 : fe - p), p);
        void *q = l->own_vals;
        TF_CHECK(tf__grow_bytes(l->ctx, &q, &l->own_vals_cap, l->nids + 1, sizeof(float)));
        l->own_vals = q;
        l->own_vals[l->nids++] = v;
        if (c == NULL)
            break;
        p = c + 1;
    }
    size_t count = l->nids - start, F = (size_t)l->F;
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
    void *q = l->own_off;
    size_t cap = l->own_seq_cap;
    TF_CHECK(tf__grow_bytes(l->ctx, &q, &cap, (size_t)l->nseq + 2, sizeof(int64_t)));
    l->own_off = q;
    if (cap != l->own_seq_cap) {
        size_t lcap = l->own_seq_cap;
        TF_CHECK(tf__grow_i32(l->ctx, &l->own_labels, &lcap, cap));
        l->own_seq_cap = cap;
    }
    l->own_labels[l->nseq] = label;
    l->nseq++;
    l->own_off[l->nseq] = (int64_t)(l->nids / F);
    return TF_STATUS_OK;
}

/* Per-feature mean and standard deviation over every step of every sequence. */
static tf_status_t standardize(tf_loader_t *l)
{
    int32_t F = l->F;
    l->mean = tf__calloc(l->ctx, (size_t)F, sizeof(float));
    l->std = tf__calloc(l->ctx, (size_t)F, sizeof(float));
    double *acc = tf__calloc(l->ctx, 2 * (size_t)F, sizeof(double));
    if (l->mean == NULL || l->std == NULL || acc == NULL) {
        tf__free(l->ctx, acc);
        return TF_STATUS_ENOMEM;
    }
    int64_t steps = l->seq_off[l->nseq];
    for (int32_t f = 0; f < F; f++)
        l->std[f] = 1.0f;
    if (l->o.standardize && steps > 0) {
        for (int64_t t = 0; t < steps; t++)
            for (int32_t f = 0; f < F; f++)
                acc[f] += l->vals[(size_t)t * F + f];
        for (int32_t f = 0; f < F; f++)
            acc[f] /= (double)steps;
        for (int64_t t = 0; t < steps; t++)
            for (int32_t f = 0; f < F; f++) {
                double d = l->vals[(size_t)t * F + f] - acc[f];
                acc[F + f] += d * d;
            }
        for (int32_t f = 0; f < F; f++) {
            double sd = sqrt(acc[F + f] / (double)steps);
            l->mean[f] = (float)acc[f];
            l->std[f] = sd > 1e-12 && isfinite(sd) ? (float)sd : 1.0f;
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
    for (int64_t i = 0; i < l->nseq; i++) {
        if (labels[i] < 0 || (l->o.num_labels > 0 && labels[i] >= l->o.num_labels))
            TF_FAIL(TF_STATUS_EINVAL, "%s: labels[%lld] = %d is out of range", fn, (long long)i,
                    labels[i]);
        if (labels[i] > mx)
            mx = labels[i];
    }
    l->num_labels = l->o.num_labels > 0 ? l->o.num_labels : mx + 1;
    l->seq_labels = labels;
    return TF_STATUS_OK;
}

tf_status_t tf__loader_numeric_from(tf_loader_t **out, tf_ctx_t *ctx, tf__lines_t *lr,
                                    const tf_loader_opts_t *opts, const char *fn)
{
    tf_loader_t *l = NULL;
    tf_status_t st;
    *out = NULL;
    TF_CHECK(tf__loader_new(&l, ctx, TF__LOADER_NUM, opts, fn));
    l->F = l->o.num_features;
    if (l->o.num_labels > 0 && !l->fixed_labels) {
        st = tf__error(TF_STATUS_EINVAL, "%s: num_labels is set but labels is NULL", fn);
        goto fail;
    }
    l->own_off = tf__alloc(ctx, 16 * sizeof *l->own_off);
    l->own_labels = tf__alloc(ctx, 16 * sizeof *l->own_labels);
    if (l->own_off == NULL || l->own_labels == NULL) {
        st = TF_STATUS_ENOMEM;
        goto fail;
    }
    l->own_seq_cap = 16;
    l->own_off[0] = 0;
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
            size_t n = l->nids;
            st = parse_line(l, lr, line, len);
            if (st != TF_STATUS_OK)
                l->nids = n;
        }
        if (st != TF_STATUS_OK)
            TF_CHECK_GOTO(st, tf__loader_bad_line(l, st), fail);
    }
    if (l->nseq == 0) {
        st = tf__error(TF_STATUS_EFORMAT, "%s: %s: no data lines", fn, lr->name);
        goto fail;
    }
    if (l->o.has_label) {
        TF_CHECK_GOTO(st, tf__loader_sort_labels(l, l->own_labels, l->nseq), fail);
        l->seq_labels = l->own_labels;
    }
    l->vals = l->own_vals;
    l->seq_off = l->own_off;
    l->nids = 0; /* nids counts tokens of the LM loader only */
    TF_CHECK_GOTO(st, standardize(l), fail);
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
    static const char fn[] = "tf_loader_create_numeric";
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
    static const char fn[] = "tf_loader_create_numeric_memory";
    tf_loader_t *l = NULL;
    tf_status_t st;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    TF_REQUIRE_ARG(values);
    TF_REQUIRE_ARG(offsets);
    if (num_seqs < 1 || offsets[0] != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: need num_seqs >= 1 and offsets[0] == 0", fn);
    TF_CHECK(tf__loader_new(&l, ctx, TF__LOADER_NUM, opts, fn));
    l->F = l->o.num_features;
    for (int64_t i = 0; i < num_seqs; i++) {
        int64_t n = offsets[i + 1] - offsets[i];
        if (n < (l->o.next_step ? 2 : 1) || n > INT32_MAX) {
            st = tf__error(TF_STATUS_EINVAL, "%s: sequence %lld has %lld steps; need at least %d",
                           fn, (long long)i, (long long)n, l->o.next_step ? 2 : 1);
            goto fail;
        }
        for (int64_t k = offsets[i] * l->F; k < offsets[i + 1] * l->F; k++)
            if (!isfinite(values[k])) {
                st = tf__error(TF_STATUS_EINVAL, "%s: values[%lld] is not finite", fn,
                               (long long)k);
                goto fail;
            }
    }
    l->vals = values;
    l->seq_off = offsets;
    l->nseq = num_seqs;
    TF_CHECK_GOTO(st, check_labels(l, labels, fn), fail);
    TF_CHECK_GOTO(st, standardize(l), fail);
    TF_CHECK_GOTO(st, tf__loader_finish(l, fn), fail);
    *out = l;
    return TF_STATUS_OK;
fail:
    tf_loader_free(l);
    return st;
}

int32_t tf_loader_num_features(const tf_loader_t *l)
{
    return l && l->kind == TF__LOADER_NUM ? l->F : 0;
}

tf_status_t tf_loader_standardization(const tf_loader_t *l, float *mean, float *std,
                                      int32_t num_features)
{
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (l->kind != TF__LOADER_NUM)
        TF_FAIL(TF_STATUS_EINVAL, "tf_loader_standardization: not a numeric loader");
    if (num_features != l->F)
        TF_FAIL(TF_STATUS_EBUFSIZE, "tf_loader_standardization: the loader has %d features, "
                "not %d", l->F, num_features);
    memcpy(mean, l->mean, (size_t)l->F * sizeof *mean);
    memcpy(std, l->std, (size_t)l->F * sizeof *std);
    return TF_STATUS_OK;
}

tf_status_t tf_loader_set_standardization(tf_loader_t *l, const float *mean, const float *std,
                                          int32_t num_features)
{
    TF_REQUIRE_ARG(l);
    TF_REQUIRE_ARG(mean);
    TF_REQUIRE_ARG(std);
    if (l->kind != TF__LOADER_NUM)
        TF_FAIL(TF_STATUS_EINVAL, "tf_loader_set_standardization: not a numeric loader");
    if (num_features != l->F)
        TF_FAIL(TF_STATUS_EBUFSIZE, "tf_loader_set_standardization: the loader has %d features, "
                "not %d", l->F, num_features);
    for (int32_t f = 0; f < l->F; f++)
        if (!isfinite(mean[f]) || !isfinite(std[f]) || !(std[f] > 0.0f))
            TF_FAIL(TF_STATUS_EINVAL, "tf_loader_set_standardization: feature %d needs a finite "
                    "mean and a finite std > 0", f);
    memcpy(l->mean, mean, (size_t)l->F * sizeof *mean);
    memcpy(l->std, std, (size_t)l->F * sizeof *std);
    return TF_STATUS_OK;
}
