/* SPDX-License-Identifier: MIT */
/* The adaptive softmax of a language-model head (Grave et al. 2017), as
 * torch.nn.AdaptiveLogSoftmaxWithLoss computes it, with the same parameters and names.
 *
 * Words are split by the cut-offs c_0 < ... < c_{k-1} < V into a shortlist [0, c_0) and k tail
 * clusters [c_i, c_{i+1}) (c_k = V). The head scores the shortlist and one logit per cluster
 * (S + k outputs); cluster i is x -> x A_i^T (A_i: h_i x in, h_i = floor(in / div^(i+1))) ->
 * p B_i^T (B_i: size_i x h_i). log p(w) is the head's log-softmax at w for a shortlist word, and
 * the head's log-softmax at cluster i plus the cluster's log-softmax at w - c_i otherwise.
 *
 * The loss runs over chunks of rows: one GEMM for the head over the chunk, then the chunk's rows
 * whose targets fall in cluster i are gathered and go through the cluster's two GEMMs (and their
 * three backward GEMMs) together. With c = 1 / (rows counted) and e the exponentials of a row's
 * logits over their sum, the logits' gradient is c (e - onehot), formed in place for a cluster.
 * The head's is never formed (as in linear_ce.c): its rows keep their exponentials E and the
 * factors f_r = c / sum_r, and dX = F (E W) - c W[t], dW += E^T (F X) - c X[t], which saves
 * a pass over the head's logits. The row passes run
 * on the team's threads, each row on its own, so they give the same bits on any number of threads. */
#include "transfer/nn.h"
#include "nn_internal.h"
#include "../core/team.h"
#include "../tensor/blas.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Floats of head or cluster logits a chunk holds (as the full head's chunk: 16 MB). */
#define ASOFT_CHUNK_FLOATS ((size_t)1 << 22)
#define ASOFT_ROWS 16 /* rows per piece of the row passes */
/* Logits below which the row passes stay on the calling thread (starting a helper thread costs
 * about as much as a pass over this many). */
#define ASOFT_TEAM_MIN_FLOATS ((int64_t)1 << 16)

typedef struct tf__asoft {
    tf_module_t base;
    int64_t in, V, S;            /* features, words, shortlist size */
    int32_t k;                   /* tail clusters */
    int64_t cut[TF__ASOFT_MAX_CUTOFFS + 1]; /* cut-offs, then V */
    int64_t hid[TF__ASOFT_MAX_CUTOFFS];     /* each cluster's projection size */
    tf__param_t *hw, *hb;        /* head weight (S + k, in), bias or NULL */
    tf__param_t *pa[TF__ASOFT_MAX_CUTOFFS], *pb[TF__ASOFT_MAX_CUTOFFS]; /* tail.i.0 / tail.i.1 */
    float *scratch;
    size_t scratch_cap;
    float *lp; /* log_prob output of tf_module_forward */
    size_t lp_cap;
    struct tf_tensor lp_view;
} tf__asoft_t;

static void asoft_destroy(tf_module_t *m)
{
    tf__asoft_t *a = (tf__asoft_t *)m;
    tf__free(m->ctx, a->scratch);
    tf__free(m->ctx, a->lp);
}

/* Softmax pieces of one row of n logits z (+ b when non-NULL): returns log(sum exp) and leaves z
 * holding the logits (+ b), or with `expo` the softmax times `scale`. */
static double row_lse(float *z, const float *b, int64_t n, int expo, float scale)
{
    const float mx = b ? tf__vec_add_max(z, b, n) : tf__vec_max(z, n);
    double s;
    if (expo) {
        s = tf__vec_exp_sum(z, z, mx, n);
        tf__vec_scale(z, (float)((double)scale / s), n);
    } else {
        s = tf__vec_exp_sum_only(z, mx, n);
    }
    return log(s) + (double)mx;
}

/* The row passes over n rows of width logits (head or one cluster). */
typedef struct asoft_rows {
    float *z;           /* (n, width) logits, then c times the softmax minus c onehot (expo) */
    const float *b;     /* bias of the logits or NULL */
    const int32_t *col; /* each row's target column, -1 for an ignored row */
    double *lp;         /* each row's log-probability of its target column */
    float *f;           /* NULL, or each row's factor c / sum; the row keeps its exponentials */
    int64_t n, width;
    int expo;
    float c;
} asoft_rows_t;

static void asoft_rows_piece(void *arg, int64_t step, int64_t piece)
{
    const asoft_rows_t *J = arg;
    (void)step;
    const int64_t lo = piece * ASOFT_ROWS, hi = lo + ASOFT_ROWS < J->n ? lo + ASOFT_ROWS : J->n;
    for (int64_t r = lo; r < hi; r++) {
        float *z = J->z + r * J->width;
        const int32_t col = J->col[r];
        if (J->f)
            J->f[r] = 0.0f;
        if (col < 0) {
            J->lp[r] = 0.0;
            if (J->expo)
                memset(z, 0, (size_t)J->width * sizeof(float));
            continue;
        }
        const float zt = z[col] + (J->b ? J->b[col] : 0.0f);
        if (J->f) {
            const float mx = J->b ? tf__vec_add_max(z, J->b, J->width) : tf__vec_max(z, J->width);
            const double sum = tf__vec_exp_sum(z, z, mx, J->width);
            J->f[r] = (float)((double)J->c / sum);
            J->lp[r] = (double)zt - (log(sum) + (double)mx);
            continue;
        }
        J->lp[r] = (double)zt - row_lse(z, J->b, J->width, J->expo, J->c);
        if (J->expo)
            z[col] -= J->c;
    }
}

static void asoft_rows_run(int32_t threads, asoft_rows_t *J)
{
    tf__team_for(J->n * J->width >= ASOFT_TEAM_MIN_FLOATS ? threads : 1, (J->n + ASOFT_ROWS - 1) / ASOFT_ROWS,
                 asoft_rows_piece, J);
}

/* The tail cluster of word w (0 for the shortlist, i + 1 for cluster i). */
static int32_t cluster_of(const tf__asoft_t *a, int64_t w)
{
    int32_t i = 0;
    while (i <= a->k - 1 && w >= a->cut[i])
        i++;
    return i;
}

static tf_status_t asoft_check_input(const char *fn, const tf__asoft_t *a, const tf_tensor_t *input)
{
    if (input->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: input must be f32", fn);
    if (input->shape[input->ndim - 1] != a->in)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: input has %lld features on its last axis; the head expects %lld", fn,
                (long long)input->shape[input->ndim - 1], (long long)a->in);
    return TF_STATUS_OK;
}

static int64_t max_cluster(const tf__asoft_t *a, const int64_t *v, int64_t floor)
{
    for (int32_t i = 0; i < a->k; i++)
        floor = v[i] > floor ? v[i] : floor;
    return floor;
}

tf_status_t tf__asoft_loss(tf_module_t *m,
                           const tf_tensor_t *input,
                           const tf_tensor_t *targets,
                           int32_t ignore_index,
                           int32_t backward,
                           double *loss_out,
                           int64_t *count_out,
                           double *logp_out,
                           tf_tensor_t *grad_input)
{
    static const char fn[] = "tf__asoft_loss";
    int64_t count;
    float *scratch;
    TF_CHECK(tf__module_expect(fn, m, TF_MODULE_ADAPTIVE_SOFTMAX));
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    if (backward != 0 && backward != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: backward is %d; use 0 or 1", fn, backward);
    tf__asoft_t *a = (tf__asoft_t *)m;
    TF_CHECK(asoft_check_input(fn, a, input));
    TF_CHECK(tf__check_class_targets(fn, input, targets, a->V, ignore_index, &count));
    if (grad_input)
        TF_CHECK(tf__tensor_expect(fn, "grad_input", grad_input, TF_DTYPE_F32, input->ndim, input->shape));
    const int64_t N = input->numel / a->in, K = a->in, HS = a->S + a->k;
    const int64_t hmax = max_cluster(a, a->hid, 1);
    int64_t osz = 1;
    for (int32_t i = 0; i < a->k; i++)
        osz = a->cut[i + 1] - a->cut[i] > osz ? a->cut[i + 1] - a->cut[i] : osz;
    const int64_t widest = HS > osz ? HS : osz;
    int64_t R = (int64_t)(ASOFT_CHUNK_FLOATS / (size_t)(widest > K ? widest : K));
    R = R < 8 ? 8 : R;
    R = R > N ? N : R;
    /* Scratch: row log-probabilities and a cluster's (doubles first), row indices, target columns,
     * the head's row factors and logits, then a cluster's gathered inputs (first the head's scaled
     * inputs), projections, logits, projection gradients and input gradients. */
    const double floats = (double)R * (7.0 + (double)HS + 2.0 * (double)K + 2.0 * (double)hmax + (double)osz);
    TF_CHECK(tf__check_floats(fn, floats));
    TF_CHECK(tf__buf_reserve(m->ctx, &a->scratch, &a->scratch_cap, (size_t)floats));
    scratch = a->scratch;
    double *lpr = (double *)(void *)scratch, *lpc = lpr + R;
    int32_t *rows = (int32_t *)(void *)(scratch + 4 * R), *col = rows + R;
    float *f = scratch + 6 * R, *hz = f + R, *xg = hz + R * HS, *pj = xg + R * K, *tz = pj + R * hmax, *dp = tz + R * osz,
          *dxg = dp + R * hmax;
    const int32_t th = m->ctx->num_threads;
    const float *x = (const float *)input->data, *hw = (const float *)a->hw->value.data;
    const float *hb = a->hb ? (const float *)a->hb->value.data : NULL;
    const int32_t *t = (const int32_t *)targets->data;
    float *gx = (backward && grad_input) ? (float *)grad_input->data : NULL;
    float *dhw = backward ? tf__param_grad(a->hw) : NULL, *dhb = (backward && a->hb) ? tf__param_grad(a->hb) : NULL;
    int need_grad = gx != NULL || dhw != NULL || dhb != NULL;
    for (int32_t i = 0; backward && i < a->k; i++)
        need_grad |= tf__param_grad(a->pa[i]) != NULL || tf__param_grad(a->pb[i]) != NULL;
    const float c = count > 0 ? (float)(1.0 / (double)count) : 0.0f;
    double total = 0.0;
    for (int64_t r0 = 0; r0 < N; r0 += R) {
        const int64_t n = N - r0 < R ? N - r0 : R;
        const float *xc = x + r0 * K;
        const int32_t *tc = t + r0;
        /* Head: log-softmax per row; its gradient c (e - onehot(head target)). */
        tf__sgemm(th, 0, 1, n, HS, K, 1.0f, xc, K, hw, K, 0.0f, hz, HS);
        for (int64_t r = 0; r < n; r++) {
            const int32_t ci = cluster_of(a, tc[r]);
            col[r] = ignore_index != TF_NN_INDEX_NONE && tc[r] == ignore_index
                         ? -1
                         : (int32_t)(ci == 0 ? tc[r] : a->S + ci - 1);
        }
        asoft_rows_t head = {hz, hb, col, lpr, need_grad ? f : NULL, n, HS, need_grad, c};
        asoft_rows_run(th, &head);
        if (gx) { /* dX = F (E W) - c W[t] */
            float *g = gx + r0 * K;
            tf__sgemm(th, 0, 0, n, K, HS, 1.0f, hz, HS, hw, K, 0.0f, g, K);
            for (int64_t r = 0; r < n; r++) {
                tf__vec_scale(g + r * K, f[r], K);
                if (col[r] >= 0)
                    tf__vec_axpy(g + r * K, -c, hw + (int64_t)col[r] * K, K);
            }
        }
        if (dhw) { /* dW += E^T (F X) - c X[t] */
            for (int64_t r = 0; r < n; r++) {
                memcpy(xg + r * K, xc + r * K, (size_t)K * sizeof(float));
                tf__vec_scale(xg + r * K, f[r], K);
            }
            tf__sgemm(th, 1, 0, HS, K, n, 1.0f, hz, HS, xg, K, 1.0f, dhw, K);
            for (int64_t r = 0; r < n; r++)
                if (col[r] >= 0)
                    tf__vec_axpy(dhw + (int64_t)col[r] * K, -c, xc + r * K, K);
        }
        if (dhb) { /* db += E^T f - c onehot */
            for (int64_t r = 0; r < n; r++)
                if (f[r] != 0.0f)
                    tf__vec_axpy(dhb, f[r], hz + r * HS, HS);
            for (int64_t r = 0; r < n; r++)
                if (col[r] >= 0)
                    dhb[col[r]] -= c;
        }
        /* Each cluster over the chunk's rows whose targets fall in it. */
        for (int32_t i = 0; i < a->k; i++) {
            const int64_t lo = a->cut[i], o = a->cut[i + 1] - lo, h = a->hid[i];
            int64_t ni = 0;
            for (int64_t r = 0; r < n; r++)
                if (!(ignore_index != TF_NN_INDEX_NONE && tc[r] == ignore_index) && tc[r] >= lo && tc[r] < lo + o)
                    rows[ni++] = (int32_t)r;
            if (ni == 0)
                continue;
            for (int64_t j = 0; j < ni; j++)
                memcpy(xg + j * K, xc + (int64_t)rows[j] * K, (size_t)K * sizeof(float));
            const float *A = (const float *)a->pa[i]->value.data, *B = (const float *)a->pb[i]->value.data;
            float *dA = backward ? tf__param_grad(a->pa[i]) : NULL, *dB = backward ? tf__param_grad(a->pb[i]) : NULL;
            tf__sgemm(th, 0, 1, ni, h, K, 1.0f, xg, K, A, K, 0.0f, pj, h);
            tf__sgemm(th, 0, 1, ni, o, h, 1.0f, pj, h, B, h, 0.0f, tz, o);
            for (int64_t j = 0; j < ni; j++)
                col[j] = (int32_t)(tc[rows[j]] - lo);
            asoft_rows_t tail = {tz, NULL, col, lpc, NULL, ni, o, need_grad, c};
            asoft_rows_run(th, &tail);
            for (int64_t j = 0; j < ni; j++)
                lpr[rows[j]] += lpc[j];
            if (dB)
                tf__sgemm(th, 1, 0, o, h, ni, 1.0f, tz, o, pj, h, 1.0f, dB, h);
            if (!gx && !dA)
                continue;
            tf__sgemm(th, 0, 0, ni, h, o, 1.0f, tz, o, B, h, 0.0f, dp, h);
            if (dA)
                tf__sgemm(th, 1, 0, h, K, ni, 1.0f, dp, h, xg, K, 1.0f, dA, K);
            if (gx) {
                tf__sgemm(th, 0, 0, ni, K, h, 1.0f, dp, h, A, K, 0.0f, dxg, K);
                for (int64_t j = 0; j < ni; j++)
                    tf__vec_add(gx + (r0 + rows[j]) * K, dxg + j * K, K);
            }
        }
        for (int64_t r = 0; r < n; r++) { /* in row order: the same sum on any number of threads */
            total -= lpr[r];
            if (logp_out)
                logp_out[r0 + r] = lpr[r];
        }
    }
    *loss_out = count > 0 ? total / (double)count : 0.0;
    if (count_out)
        *count_out = count;
    return TF_STATUS_OK;
}

tf_status_t tf__asoft_log_prob(tf_module_t *m, const tf_tensor_t *input, tf_tensor_t *out)
{
    static const char fn[] = "tf__asoft_log_prob";
    TF_CHECK(tf__module_expect(fn, m, TF_MODULE_ADAPTIVE_SOFTMAX));
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(out);
    tf__asoft_t *a = (tf__asoft_t *)m;
    TF_CHECK(asoft_check_input(fn, a, input));
    int64_t shape[TF_TENSOR_MAX_DIMS];
    memcpy(shape, input->shape, input->ndim * sizeof *shape);
    shape[input->ndim - 1] = a->V;
    TF_CHECK(tf__tensor_expect(fn, "out", out, TF_DTYPE_F32, input->ndim, shape));
    const int64_t N = input->numel / a->in, K = a->in, HS = a->S + a->k, V = a->V;
    const int64_t hmax = max_cluster(a, a->hid, 1);
    TF_CHECK(tf__check_floats(fn, (double)N * (double)(HS + hmax)));
    TF_CHECK(tf__buf_reserve(m->ctx, &a->scratch, &a->scratch_cap, (size_t)(N * (HS + hmax))));
    float *hz = a->scratch, *pj = hz + N * HS, *lp = (float *)out->data;
    const float *x = (const float *)input->data;
    const float *hb = a->hb ? (const float *)a->hb->value.data : NULL;
    const int32_t th = m->ctx->num_threads;
    /* Head log-softmax, its shortlist columns copied; each cluster's logits straight into its
     * columns of the output, then shifted by the cluster's head log-probability. */
    tf__sgemm(th, 0, 1, N, HS, K, 1.0f, x, K, (const float *)a->hw->value.data, K, 0.0f, hz, HS);
    for (int64_t r = 0; r < N; r++) {
        float *z = hz + r * HS;
        const float lse = (float)row_lse(z, hb, HS, 0, 0.0f);
        for (int64_t j = 0; j < HS; j++)
            z[j] -= lse;
        memcpy(lp + r * V, z, (size_t)a->S * sizeof(float));
    }
    for (int32_t i = 0; i < a->k; i++) {
        const int64_t lo = a->cut[i], o = a->cut[i + 1] - lo, h = a->hid[i];
        tf__sgemm(th, 0, 1, N, h, K, 1.0f, x, K, (const float *)a->pa[i]->value.data, K, 0.0f, pj, h);
        tf__sgemm(th, 0, 1, N, o, h, 1.0f, pj, h, (const float *)a->pb[i]->value.data, h, 0.0f, lp + lo, V);
        for (int64_t r = 0; r < N; r++) {
            float *z = lp + r * V + lo;
            const float shift = hz[r * HS + a->S + i] - (float)row_lse(z, NULL, o, 0, 0.0f);
            for (int64_t j = 0; j < o; j++)
                z[j] += shift;
        }
    }
    return TF_STATUS_OK;
}

/* tf_module_forward: the log-probabilities of every word, (..., V), borrowed until the next call. */
static tf_status_t asoft_forward(tf_module_t *m,
                                 const tf_tensor_t *input,
                                 const tf_tensor_t *lengths,
                                 tf_tensor_t **output)
{
    tf__asoft_t *a = (tf__asoft_t *)m;
    (void)lengths;
    TF_CHECK(asoft_check_input("tf_module_forward", a, input));
    const int64_t N = input->numel / a->in;
    TF_CHECK(tf__check_floats("tf_module_forward", (double)N * (double)a->V));
    TF_CHECK(tf__buf_reserve(m->ctx, &a->lp, &a->lp_cap, (size_t)(N * a->V)));
    int64_t shape[TF_TENSOR_MAX_DIMS];
    memcpy(shape, input->shape, input->ndim * sizeof *shape);
    shape[input->ndim - 1] = a->V;
    tf__view_set(&a->lp_view, m->ctx, a->lp, shape, input->ndim);
    TF_CHECK(tf__asoft_log_prob(m, input, &a->lp_view));
    *output = &a->lp_view;
    return TF_STATUS_OK;
}

/* Never reached: forward leaves has_forward at 0 (the loss computes the gradients). */
static tf_status_t asoft_backward(tf_module_t *m, const tf_tensor_t *grad_output, tf_tensor_t **grad_input)
{
    (void)m;
    (void)grad_output;
    (void)grad_input;
    TF_FAIL(TF_STATUS_ESTATE, "tf_module_backward: an adaptive softmax is trained through its loss");
}

static const tf__module_vtable_t asoft_vt = {TF_MODULE_ADAPTIVE_SOFTMAX, "adaptive softmax", asoft_forward,
                                             asoft_backward, NULL, asoft_destroy, NULL, NULL};

/* floor(in / div^(i+1)), as PyTorch's in_features // div_value ** (i + 1). */
static int64_t proj_size(int64_t in, double div, int32_t i)
{
    return (int64_t)floor((double)in / pow(div, (double)(i + 1)));
}

tf_status_t tf__asoft_check_opts(const char *fn, const tf__asoft_opts_t *o)
{
    if (o->in_features < 1 || o->n_classes < 2)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the adaptive softmax needs at least 1 input feature and 2 classes (got %lld and %lld)",
                fn, (long long)o->in_features, (long long)o->n_classes);
    if (o->n_cutoffs < 1 || o->n_cutoffs > TF__ASOFT_MAX_CUTOFFS)
        TF_FAIL(TF_STATUS_EINVAL, "%s: %d cut-offs; the adaptive softmax takes 1 to %d", fn, o->n_cutoffs,
                TF__ASOFT_MAX_CUTOFFS);
    for (int32_t i = 0; i < o->n_cutoffs; i++) {
        const int64_t lo = i ? o->cutoffs[i - 1] : 0;
        if (o->cutoffs[i] <= lo)
            TF_FAIL(TF_STATUS_EINVAL, "%s: cut-off %d is %lld; cut-offs must be positive and strictly increasing", fn, i,
                    (long long)o->cutoffs[i]);
    }
    if (o->cutoffs[o->n_cutoffs - 1] >= o->n_classes)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the last cut-off (%lld) must be below the vocabulary size (%lld)", fn,
                (long long)o->cutoffs[o->n_cutoffs - 1], (long long)o->n_classes);
    if (!(o->div_value >= 1.0 && o->div_value <= 1e6))
        TF_FAIL(TF_STATUS_EINVAL, "%s: div_value is %g; use a value of at least 1", fn, o->div_value);
    if (o->head_bias != 0 && o->head_bias != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: head_bias is %d; use 0 or 1", fn, o->head_bias);
    if (o->in_features > ((int64_t)1 << 31) || o->n_classes > ((int64_t)1 << 31))
        TF_FAIL(TF_STATUS_EOVERFLOW, "%s: the adaptive softmax's sizes are too large", fn);
    for (int32_t i = 0; i < o->n_cutoffs; i++)
        if (proj_size(o->in_features, o->div_value, i) < 1)
            TF_FAIL(TF_STATUS_EINVAL,
                    "%s: tail cluster %d would project %lld features to none (in / div_value^%d < 1); use fewer "
                    "cut-offs or a smaller div_value",
                    fn, i, (long long)o->in_features, i + 1);
    TF_CHECK(tf__check_floats(fn, (double)tf__asoft_param_floats(o)));
    return tf__check_name(fn, o->name);
}

size_t tf__asoft_param_floats(const tf__asoft_opts_t *o)
{
    const int64_t HS = o->cutoffs[0] + o->n_cutoffs;
    size_t n = (size_t)(HS * o->in_features) + (o->head_bias ? (size_t)HS : 0);
    for (int32_t i = 0; i < o->n_cutoffs; i++) {
        const int64_t h = proj_size(o->in_features, o->div_value, i);
        const int64_t sz = (i + 1 < o->n_cutoffs ? o->cutoffs[i + 1] : o->n_classes) - o->cutoffs[i];
        n += (size_t)(h * o->in_features + sz * h);
    }
    return n;
}

tf_status_t tf__asoft_new(tf_module_t **out, tf_ctx_t *ctx, const tf__asoft_opts_t *o)
{
    tf_status_t st;
    char local[48];
    *out = NULL;
    TF_CHECK(tf__asoft_check_opts("tf__asoft_new", o));
    tf__asoft_t *a = tf__calloc(ctx, 1, sizeof *a);
    if (a == NULL)
        return TF_STATUS_ENOMEM;
    tf_module_t *m = &a->base;
    tf__module_init(m, &asoft_vt, ctx);
    a->in = o->in_features;
    a->V = o->n_classes;
    a->S = o->cutoffs[0];
    a->k = o->n_cutoffs;
    for (int32_t i = 0; i < a->k; i++) {
        a->cut[i] = o->cutoffs[i];
        a->hid[i] = proj_size(a->in, o->div_value, i);
    }
    a->cut[a->k] = a->V;
    const int64_t HS = a->S + a->k, K = a->in;
    TF_CHECK_GOTO(st, tf__module_alloc_buffers(m, tf__asoft_param_floats(o)), fail);
    TF_CHECK_GOTO(st, tf__module_alloc_params(m, (uint32_t)(1 + (o->head_bias ? 1 : 0) + 2 * a->k)), fail);
    /* PyTorch's initialisation: every part is an nn.Linear, uniform in +-1/sqrt(its in). */
    size_t off = 0;
    uint32_t p = 0;
    TF_CHECK_GOTO(st, tf__module_set_param(m, p, o->name, "head.weight", off, (int64_t[]){HS, K}, 2), fail);
    a->hw = &m->own[p++];
    tf__init_uniform(ctx, m->pbuf + off, (size_t)(HS * K), 1.0f / sqrtf((float)K));
    off += (size_t)(HS * K);
    if (o->head_bias) {
        TF_CHECK_GOTO(st, tf__module_set_param(m, p, o->name, "head.bias", off, (int64_t[]){HS}, 1), fail);
        a->hb = &m->own[p++];
        tf__init_uniform(ctx, m->pbuf + off, (size_t)HS, 1.0f / sqrtf((float)K));
        off += (size_t)HS;
    }
    for (int32_t i = 0; i < a->k; i++) {
        const int64_t h = a->hid[i], sz = a->cut[i + 1] - a->cut[i];
        snprintf(local, sizeof local, "tail.%d.0.weight", i);
        TF_CHECK_GOTO(st, tf__module_set_param(m, p, o->name, local, off, (int64_t[]){h, K}, 2), fail);
        a->pa[i] = &m->own[p++];
        tf__init_uniform(ctx, m->pbuf + off, (size_t)(h * K), 1.0f / sqrtf((float)K));
        off += (size_t)(h * K);
        snprintf(local, sizeof local, "tail.%d.1.weight", i);
        TF_CHECK_GOTO(st, tf__module_set_param(m, p, o->name, local, off, (int64_t[]){sz, h}, 2), fail);
        a->pb[i] = &m->own[p++];
        tf__init_uniform(ctx, m->pbuf + off, (size_t)(sz * h), 1.0f / sqrtf((float)h));
        off += (size_t)(sz * h);
    }
    *out = m;
    tf__object_created(ctx);
    return TF_STATUS_OK;
fail:
    tf__module_discard(m);
    return st;
}
