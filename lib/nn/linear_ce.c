/* SPDX-License-Identifier: MIT */
/* The chunked linear + softmax cross-entropy of a language-model head (tf_linear_cross_entropy):
 * the (N, V) logits are never all in memory, only a chunk of rows at a time.
 *
 * Per chunk of n rows (X: n x K inputs, W: V x K, e_r: row r's exponentials):
 *   logits = b + X W^T (the rows filled with the bias on the team's threads, then one GEMM that
 *   adds to them: the GEMM would otherwise spend a pass zeroing them), then per row two passes on
 *   the team's threads: the maximum, and e = exp(z - max) with its sum s_r. The row's gradient is f_r e_r - c onehot(t_r)
 *   with c = 1 / (rows counted) and f_r = c / s_r; it is never formed. Instead:
 *   dX = F (E W) - c W[t]      (a GEMM, then the rows scaled and the target rows of W taken off)
 *   dW += E^T (F X) - c X[t]   (a GEMM on the scaled inputs, then the inputs taken off the target rows)
 *   db += E^T f - c onehot     (each piece of rows sums f_r e_r while its rows are in cache, then
 *                               the pieces' sums are added in blocks of columns on the team)
 * which saves three passes over the chunk's logits (the scale, the bias copy and the bias
 * gradient's). Ignored rows have e = 0 and f = 0. Row losses and the other sums run in a fixed order, so the row passes give
 * the same bits on any number of threads (the GEMMs, split by the thread count, may not). */
#include "transfer/nn.h"
#include "nn_internal.h"
#include "../core/team.h"
#include "../tensor/blas.h"

#include <math.h>
#include <string.h>

/* Floats of logits a chunk holds (16 MB: 419 rows of a 10000-word vocabulary). Measured on the
 * seed LM step (2 threads): 2^18 is ~2x slower (the dW GEMM gets too short a K); 2^20, 2^21 and
 * 2^22 took 422, 419 and 406 ms (fewer, longer GEMMs split over the threads). */
#define LM_CHUNK_FLOATS ((size_t)1 << 22)

#define CE_ROWS 16   /* rows per piece of the softmax passes (and per partial bias gradient) */
#define CE_COLS 1024 /* columns per piece of the bias-gradient sums */
/* Logits of a chunk below which its row passes stay on the calling thread (starting a helper
 * thread costs about as much as a pass over this many). */
#define CE_TEAM_MIN_FLOATS ((int64_t)1 << 16)

/* One chunk's rows, shared by the team's threads. */
typedef struct ce_chunk {
    float *z;       /* (n, V) logits, then the rows' exponentials e (need_grad) */
    double *loss;   /* (n) each row's loss */
    float *f;       /* (n) each row's gradient factor c / s_r (0 for an ignored row) */
    const float *b; /* bias (may be NULL) */
    float *db;      /* bias gradient (may be NULL) */
    float *part;    /* (pieces, V) each piece's sum of f_r e_r (when db is not NULL) */
    const int32_t *t;
    int64_t V, r0, n;
    int32_t ignore_index;
    int need_grad;
    float c;
} ce_chunk_t;

static int ignored(const ce_chunk_t *J, int64_t r)
{
    return J->ignore_index != TF_NN_INDEX_NONE && J->t[J->r0 + r] == J->ignore_index;
}

/* Rows of the chunk set to the bias, for the logits' GEMM to add to. */
static void ce_fill_bias(void *arg, int64_t step, int64_t piece)
{
    const ce_chunk_t *J = arg;
    (void)step;
    const int64_t lo = piece * CE_ROWS, hi = lo + CE_ROWS < J->n ? lo + CE_ROWS : J->n;
    for (int64_t r = lo; r < hi; r++)
        memcpy(J->z + r * J->V, J->b, (size_t)J->V * sizeof(float));
}

static void ce_rows(void *arg, int64_t step, int64_t piece)
{
    const ce_chunk_t *J = arg;
    (void)step;
    const int64_t V = J->V, lo = piece * CE_ROWS, hi = lo + CE_ROWS < J->n ? lo + CE_ROWS : J->n;
    float *part = J->part ? J->part + piece * V : NULL;
    if (part)
        memset(part, 0, (size_t)V * sizeof(float));
    for (int64_t r = lo; r < hi; r++) {
        float *z = J->z + r * V;
        J->f[r] = 0.0f;
        J->loss[r] = 0.0;
        if (ignored(J, r)) {
            if (J->need_grad)
                memset(z, 0, (size_t)V * sizeof(float));
            continue;
        }
        const int32_t target = J->t[J->r0 + r];
        const float mx = tf__vec_max(z, V); /* the bias is in z already */
        const float zt = z[target];
        double sum;
        if (J->need_grad) {
            sum = tf__vec_exp_sum(z, z, mx, V);
            J->f[r] = (float)(1.0 / sum) * J->c;
            if (part) /* the row is still in cache: its share of the bias gradient now */
                tf__vec_axpy(part, J->f[r], z, V);
        } else {
            sum = tf__vec_exp_sum_only(z, mx, V);
        }
        J->loss[r] = log(sum) + (double)mx - (double)zt;
    }
}

/* db[j] += the pieces' sums of f_r e_r[j], pieces in order, for one block of columns. */
static void ce_bias_cols(void *arg, int64_t step, int64_t block)
{
    const ce_chunk_t *J = arg;
    (void)step;
    const int64_t lo = block * CE_COLS, w = J->V - lo < CE_COLS ? J->V - lo : CE_COLS;
    const int64_t pieces = (J->n + CE_ROWS - 1) / CE_ROWS;
    for (int64_t p = 0; p < pieces; p++)
        tf__vec_add(J->db + lo, J->part + p * J->V + lo, w);
}

tf_status_t tf_linear_cross_entropy(tf_module_t *head,
                                    const tf_tensor_t *input,
                                    const tf_tensor_t *targets,
                                    int32_t ignore_index,
                                    int32_t backward,
                                    double *loss_out,
                                    int64_t *count_out,
                                    tf_tensor_t *grad_input)
{
    const char *fn = __func__;
    tf__linear_view_t v;
    int64_t count;
    float *scratch;
    TF_CHECK(tf__module_expect(fn, head, TF_MODULE_LINEAR));
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    if (backward != 0 && backward != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: backward is %d; use 0 or 1", fn, backward);
    tf__linear_get_view(head, &v);
    if (input->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: input must be f32", fn);
    if (input->shape[input->ndim - 1] != v.in)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: input has %lld features on its last axis; the head expects %lld", fn,
                (long long)input->shape[input->ndim - 1], (long long)v.in);
    TF_CHECK(tf__check_class_targets(fn, input, targets, v.out, ignore_index, &count));
    if (grad_input)
        TF_CHECK(tf__tensor_expect(fn, "grad_input", grad_input, TF_DTYPE_F32, input->ndim, input->shape));
    const int64_t N = input->numel / v.in, V = v.out, K = v.in;
    int64_t R = (int64_t)(LM_CHUNK_FLOATS / (size_t)V);
    R = R < 8 ? 8 : R;
    R = R > N ? N : R;
    /* Scratch: the row losses (doubles first, for alignment), the chunk's logits, the row
     * factors, the scaled inputs F X and the pieces' bias sums. */
    const size_t zfloats = (size_t)(R * V);
    float *db = backward ? v.db : NULL;
    const size_t pfloats = db ? (size_t)((R + CE_ROWS - 1) / CE_ROWS * V) : 0;
    TF_CHECK(tf__check_floats(fn, 3.0 * (double)R + (double)zfloats + (double)(R * K) + (double)pfloats));
    TF_CHECK(tf__linear_scratch(head, 3 * (size_t)R + zfloats + (size_t)(R * K) + pfloats, &scratch));
    const int32_t gemm_threads = head->ctx->num_threads;
    const float *x = (const float *)input->data;
    const int32_t *t = (const int32_t *)targets->data;
    float *gx = (backward && grad_input) ? (float *)grad_input->data : NULL;
    float *dw = backward ? v.dw : NULL;
    const int need_grad = gx != NULL || dw != NULL || db != NULL;
    float *z = scratch + 2 * R, *f = z + zfloats, *fx = f + R, *part = fx + R * K;
    ce_chunk_t job = {z, (double *)(void *)scratch, f, v.b, db, db ? part : NULL, t, V, 0, 0, ignore_index,
                      need_grad, count > 0 ? (float)(1.0 / (double)count) : 0.0f};
    double total = 0.0;
    for (int64_t r0 = 0; r0 < N; r0 += R) {
        const int64_t n = N - r0 < R ? N - r0 : R;
        const int32_t threads = n * V >= CE_TEAM_MIN_FLOATS ? head->ctx->num_threads : 1;
        const float *xc = x + r0 * K;
        job.r0 = r0;
        job.n = n;
        if (v.b)
            tf__team_for(threads, (n + CE_ROWS - 1) / CE_ROWS, ce_fill_bias, &job);
        tf__sgemm(gemm_threads, 0, 1, n, V, K, 1.0f, xc, K, v.w, K, v.b ? 1.0f : 0.0f, z, V);
        tf__team_for(threads, (n + CE_ROWS - 1) / CE_ROWS, ce_rows, &job);
        for (int64_t r = 0; r < n; r++) /* in row order: the same sum on any number of threads */
            total += job.loss[r];
        if (!need_grad)
            continue;
        if (gx) { /* dX = F (E W) - c W[t] */
            float *g = gx + r0 * K;
            tf__sgemm(gemm_threads, 0, 0, n, K, V, 1.0f, z, V, v.w, K, 0.0f, g, K);
            for (int64_t r = 0; r < n; r++) {
                tf__vec_scale(g + r * K, f[r], K);
                if (!ignored(&job, r))
                    tf__vec_axpy(g + r * K, -job.c, v.w + (int64_t)t[r0 + r] * K, K);
            }
        }
        if (dw) { /* dW += E^T (F X) - c X[t] */
            for (int64_t r = 0; r < n; r++) {
                memcpy(fx + r * K, xc + r * K, (size_t)K * sizeof(float));
                tf__vec_scale(fx + r * K, f[r], K);
            }
            tf__sgemm(gemm_threads, 1, 0, V, K, n, 1.0f, z, V, fx, K, 1.0f, dw, K);
            for (int64_t r = 0; r < n; r++)
                if (!ignored(&job, r))
                    tf__vec_axpy(dw + (int64_t)t[r0 + r] * K, -job.c, xc + r * K, K);
        }
        if (db) { /* db += E^T f - c onehot: the pieces' sums, then the targets */
            tf__team_for(threads, (V + CE_COLS - 1) / CE_COLS, ce_bias_cols, &job);
            for (int64_t r = 0; r < n; r++)
                if (!ignored(&job, r))
                    db[t[r0 + r]] -= job.c;
        }
    }
    *loss_out = count > 0 ? total / (double)count : 0.0;
    if (count_out)
        *count_out = count;
    return TF_STATUS_OK;
}
