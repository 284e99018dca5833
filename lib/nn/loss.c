/* Losses: softmax cross-entropy with an ignore index, binary cross-entropy with logits, mean
 * squared error, and the chunked linear + cross-entropy of a language-model head. Each returns the
 * mean loss and writes d(loss)/d(input). Sums are accumulated in double. */
#include "transfer/nn.h"
#include "nn_internal.h"
#include "../tensor/blas.h"
#include "../core/team.h"

#include <math.h>
#include <string.h>

/* Floats of logits a chunked head keeps at once (16 MB: 419 rows of a 10000-word vocabulary).
 * Measured on the seed LM step (2 threads): 2^18 is ~2x slower (the dW GEMM gets too short a K);
 * 2^20, 2^21 and 2^22 took 422, 419 and 406 ms (fewer, longer GEMMs split over the threads). */
#define TF__LM_CHUNK_FLOATS ((size_t)1 << 22)

/* Check class targets of a (rows, C) input shaped like `x` without its last axis; count the rows
 * that are not ignored. */
static tf_status_t check_targets(const char *fn,
                                 const tf_tensor_t *x,
                                 const tf_tensor_t *targets,
                                 int64_t C,
                                 int32_t ignore_index,
                                 int64_t *count)
{
    if (targets->dtype != TF_DTYPE_I32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: targets must be i32 class indices", fn);
    int ok = x->ndim == 1 ? (targets->ndim == 1 && targets->shape[0] == 1) : targets->ndim == x->ndim - 1;
    for (uint32_t i = 0; ok && x->ndim > 1 && i + 1 < x->ndim; i++)
        ok = targets->shape[i] == x->shape[i];
    if (!ok)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: targets must have the shape of the input without its last axis", fn);
    const int32_t *t = (const int32_t *)targets->data;
    int64_t n = targets->numel, c = 0;
    for (int64_t r = 0; r < n; r++) {
        if (t[r] == ignore_index && ignore_index != TF_NN_INDEX_NONE)
            continue;
        if (t[r] < 0 || t[r] >= C)
            TF_FAIL(TF_STATUS_EINVAL, "%s: target %d at row %lld is outside [0, %lld) and is not the ignore index",
                    fn, t[r], (long long)r, (long long)C);
        c++;
    }
    *count = c;
    return TF_STATUS_OK;
}

/* One row of logits z (C): returns the row's loss at target t and, when dz is non-NULL, writes
 * (softmax(z) - onehot(t)) * scale. */
static double ce_row(const float *z, int64_t C, int32_t t, float *dz, float scale)
{
    float zt = z[t]; /* dz may alias z */
    float mx = tf__vec_max(z, C);
    double sum;
    if (dz) {
        sum = tf__vec_exp_sum(dz, z, mx, C);
        tf__vec_scale(dz, (float)(1.0 / sum) * scale, C);
        dz[t] -= scale;
    } else {
        /* Loss only: exponentials go through a small stack buffer. */
        float buf[256];
        sum = 0.0;
        for (int64_t j = 0; j < C; j += 256) {
            int64_t n = C - j < 256 ? C - j : 256;
            sum += tf__vec_exp_sum(buf, z + j, mx, n);
        }
    }
    return log(sum) + (double)mx - (double)zt;
}

tf_status_t tf_loss_cross_entropy(const tf_tensor_t *logits,
                                  const tf_tensor_t *targets,
                                  int32_t ignore_index,
                                  double *loss_out,
                                  tf_tensor_t *grad_logits)
{
    static const char fn[] = "tf_loss_cross_entropy";
    TF_REQUIRE_ARG(logits);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    if (logits->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: logits must be f32", fn);
    int64_t C = logits->shape[logits->ndim - 1], rows = logits->numel / C, count;
    TF_CHECK(check_targets(fn, logits, targets, C, ignore_index, &count));
    if (grad_logits)
        TF_CHECK(tf__tensor_expect(fn, "grad_logits", grad_logits, TF_DTYPE_F32, logits->ndim, logits->shape));
    const float *z = (const float *)logits->data;
    const int32_t *t = (const int32_t *)targets->data;
    float *dz = grad_logits ? (float *)grad_logits->data : NULL;
    float scale = count > 0 ? (float)(1.0 / (double)count) : 0.0f;
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        if (ignore_index != TF_NN_INDEX_NONE && t[r] == ignore_index) {
            if (dz)
                memset(dz + r * C, 0, (size_t)C * sizeof(float));
            continue;
        }
        total += ce_row(z + r * C, C, t[r], dz ? dz + r * C : NULL, scale);
    }
    *loss_out = count > 0 ? total / (double)count : 0.0;
    return TF_STATUS_OK;
}

static tf_status_t check_pair(const char *fn, const tf_tensor_t *x, const tf_tensor_t *y, tf_tensor_t *g)
{
    if (x->dtype != TF_DTYPE_F32 || y->dtype != TF_DTYPE_F32)
        TF_FAIL(TF_STATUS_EDTYPE, "%s: input and target must be f32", fn);
    if (x->numel != y->numel)
        TF_FAIL(TF_STATUS_ESHAPE, "%s: input has %lld elements but target has %lld", fn, (long long)x->numel,
                (long long)y->numel);
    if (g)
        TF_CHECK(tf__tensor_expect(fn, "grad", g, TF_DTYPE_F32, x->ndim, x->shape));
    return TF_STATUS_OK;
}

tf_status_t tf_loss_bce_with_logits(const tf_tensor_t *logits,
                                    const tf_tensor_t *targets,
                                    double *loss_out,
                                    tf_tensor_t *grad_logits)
{
    static const char fn[] = "tf_loss_bce_with_logits";
    TF_REQUIRE_ARG(logits);
    TF_REQUIRE_ARG(targets);
    TF_REQUIRE_ARG(loss_out);
    TF_CHECK(check_pair(fn, logits, targets, grad_logits));
    const float *x = (const float *)logits->data, *y = (const float *)targets->data;
    int64_t n = logits->numel;
    for (int64_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f))
            TF_FAIL(TF_STATUS_EINVAL, "%s: target %g at element %lld is outside [0, 1]", fn, (double)y[i],
                    (long long)i);
    float *g = grad_logits ? (float *)grad_logits->data : NULL;
    double total = 0.0, inv = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double xi = x[i];
        /* max(x, 0) - x y + log(1 + exp(-|x|)) */
        total += (xi > 0 ? xi : 0.0) - xi * y[i] + log1p(exp(-fabs(xi)));
        if (g) {
            double sg = xi >= 0 ? 1.0 / (1.0 + exp(-xi)) : exp(xi) / (1.0 + exp(xi));
            g[i] = (float)((sg - y[i]) * inv);
        }
    }
    *loss_out = total * inv;
    return TF_STATUS_OK;
}

tf_status_t tf_loss_mse(const tf_tensor_t *input, const tf_tensor_t *target, double *loss_out, tf_tensor_t *grad_input)
{
    static const char fn[] = "tf_loss_mse";
    TF_REQUIRE_ARG(input);
    TF_REQUIRE_ARG(target);
    TF_REQUIRE_ARG(loss_out);
    TF_CHECK(check_pair(fn, input, target, grad_input));
    const float *x = (const float *)input->data, *y = (const float *)target->data;
    float *g = grad_input ? (float *)grad_input->data : NULL;
    int64_t n = input->numel;
    double total = 0.0, inv = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)y[i];
        total += d * d;
        if (g)
            g[i] = (float)(2.0 * d * inv);
    }
    *loss_out = total * inv;
    return TF_STATUS_OK;
}

/* The row passes of one chunk of a linear + cross-entropy head, shared by the team's threads. */
typedef struct ce_chunk {
    float *z;       /* (n, V) logits, overwritten by their gradient when need_grad */
    double *loss;   /* (n) each row's loss */
    const float *b; /* bias added in the row pass (may be NULL) */
    float *db;      /* bias gradient, += column sums of dz (may be NULL) */
    const int32_t *t;
    int64_t V, r0, n;
    int32_t ignore_index;
    int need_grad;
    float scale;
} ce_chunk_t;

#define CE_ROWS 8    /* rows per piece of the softmax pass */
#define CE_COLS 1024 /* columns per piece of the bias-gradient sums */
/* Logits of a chunk below which its row passes stay on the calling thread (starting a helper
 * thread costs about as much as a pass over this many). */
#define CE_TEAM_MIN_FLOATS ((int64_t)1 << 16)

static void ce_rows(void *arg, int64_t step, int64_t piece)
{
    const ce_chunk_t *J = arg;
    (void)step;
    const int64_t V = J->V, lo = piece * CE_ROWS, hi = lo + CE_ROWS < J->n ? lo + CE_ROWS : J->n;
    for (int64_t r = lo; r < hi; r++) {
        float *z = J->z + r * V;
        const int32_t target = J->t[J->r0 + r];
        if (J->ignore_index != TF_NN_INDEX_NONE && target == J->ignore_index) {
            if (J->need_grad)
                memset(z, 0, (size_t)V * sizeof(float));
            J->loss[r] = 0.0;
            continue;
        }
        if (J->b)
            tf__vec_add(z, J->b, V);
        J->loss[r] = ce_row(z, V, target, J->need_grad ? z : NULL, J->scale);
    }
}

/* db[j] += sum over the chunk's rows of dz[r][j], rows in order, for one block of columns. */
static void ce_bias_cols(void *arg, int64_t step, int64_t piece)
{
    const ce_chunk_t *J = arg;
    (void)step;
    const int64_t lo = piece * CE_COLS, w = J->V - lo < CE_COLS ? J->V - lo : CE_COLS;
    for (int64_t r = 0; r < J->n; r++)
        tf__vec_add(J->db + lo, J->z + r * J->V + lo, w);
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
    static const char fn[] = "tf_linear_cross_entropy";
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
    TF_CHECK(check_targets(fn, input, targets, v.out, ignore_index, &count));
    if (grad_input)
        TF_CHECK(tf__tensor_expect(fn, "grad_input", grad_input, TF_DTYPE_F32, input->ndim, input->shape));
    int64_t N = input->numel / v.in, V = v.out, K = v.in;
    int64_t R = (int64_t)(TF__LM_CHUNK_FLOATS / (size_t)V);
    R = R < 8 ? 8 : R;
    R = R > N ? N : R;
    /* Scratch: the chunk's logits, then one double per row for its loss. */
    const size_t zfloats = ((size_t)(R * V) + 1) & ~(size_t)1;
    TF_CHECK(tf__linear_scratch(head, zfloats + 2 * (size_t)R, &scratch));
    tf__blas_set_threads(head->ctx->num_threads);
    const float *x = (const float *)input->data;
    const int32_t *t = (const int32_t *)targets->data;
    float *gx = (backward && grad_input) ? (float *)grad_input->data : NULL;
    float *dw = backward ? v.dw : NULL, *db = backward ? v.db : NULL;
    int need_grad = gx != NULL || dw != NULL || db != NULL;
    ce_chunk_t job = {scratch, (double *)(void *)(scratch + zfloats), v.b, db, t, V, 0, 0, ignore_index,
                      need_grad, count > 0 ? (float)(1.0 / (double)count) : 0.0f};
    double total = 0.0;
    for (int64_t r0 = 0; r0 < N; r0 += R) {
        int64_t n = N - r0 < R ? N - r0 : R;
        const int32_t threads = n * V >= CE_TEAM_MIN_FLOATS ? head->ctx->num_threads : 1;
        const float *xc = x + r0 * K;
        /* logits (n, V) = xc W^T (+ b in the row pass), then the softmax rows on every thread */
        tf__sgemm(0, 1, n, V, K, 1.0f, xc, K, v.w, K, 0.0f, scratch, V);
        job.r0 = r0;
        job.n = n;
        tf__team_for(threads, (n + CE_ROWS - 1) / CE_ROWS, ce_rows, &job);
        for (int64_t r = 0; r < n; r++) /* in row order: the same sum on any number of threads */
            total += job.loss[r];
        if (!need_grad)
            continue;
        /* dx = dz W, dW += dz^T xc, db += sum_rows dz */
        if (gx)
            tf__sgemm(0, 0, n, K, V, 1.0f, scratch, V, v.w, K, 0.0f, gx + r0 * K, K);
        if (dw)
            tf__sgemm(1, 0, V, K, n, 1.0f, scratch, V, xc, K, 1.0f, dw, K);
        if (db)
            tf__team_for(threads, (V + CE_COLS - 1) / CE_COLS, ce_bias_cols, &job);
    }
    *loss_out = count > 0 ? total / (double)count : 0.0;
    if (count_out)
        *count_out = count;
    return TF_STATUS_OK;
}
