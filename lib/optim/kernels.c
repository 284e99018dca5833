/* SPDX-License-Identifier: MIT */
/* Fused optimizer update loops. Each loop makes one pass over contiguous memory, reading p, g and
 * the moments once and writing p and the moments once. The arithmetic follows torch.optim 1.13's
 * single-tensor CPU path operation by operation, in f32 with f32 scalars and ATen's evaluation
 * order (addcmul: a + (s * b) * c; addcdiv: a + (s * b) / c), so results agree with PyTorch to a
 * few ulp. */
#include "transfer/optim.h"
#include "optim_internal.h"

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TF__OPTIM_AVX2 1
#else
#define TF__OPTIM_AVX2 0
#endif

/* Let GCC vectorise the simple loops (SGD, scaling) even in -O2 builds. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno")
#endif

static void sgd_plain(float *restrict p, const float *restrict g, int64_t n, float neg_lr, float wd)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        p[i] = p[i] + neg_lr * d;
    }
}

static void sgd_plain_nowd(float *restrict p, const float *restrict g, int64_t n, float neg_lr)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = p[i] + neg_lr * g[i];
}

static void sgd_momentum(float *restrict p,
                         const float *restrict g,
                         float *restrict buf,
                         int64_t n,
                         float neg_lr,
                         float wd,
                         int has_wd,
                         float mom,
                         float one_minus_damp,
                         int nesterov,
                         int first)
{
    for (int64_t i = 0; i < n; i++) {
        float d = has_wd ? g[i] + wd * p[i] : g[i];
        float b = first ? d : buf[i] * mom + one_minus_damp * d;
        buf[i] = b;
        float u = nesterov ? d + mom * b : b;
        p[i] = p[i] + neg_lr * u;
    }
}

void tf__sgd_update(float *p,
                    const float *g,
                    float *buf,
                    int64_t n,
                    double lr,
                    double momentum,
                    double dampening,
                    double weight_decay,
                    int32_t nesterov,
                    int32_t first)
{
    const float neg_lr = (float)-lr;
    const float wd = (float)weight_decay;
    if (momentum == 0.0) {
        if (weight_decay != 0.0)
            sgd_plain(p, g, n, neg_lr, wd);
        else
            sgd_plain_nowd(p, g, n, neg_lr);
        return;
    }
    const float mom = (float)momentum, omd = (float)(1.0 - dampening);
    /* Constant flags: each combination becomes its own vectorised loop after inlining. */
    if (weight_decay != 0.0) {
        if (nesterov)
            sgd_momentum(p, g, buf, n, neg_lr, wd, 1, mom, omd, 1, first);
        else
            sgd_momentum(p, g, buf, n, neg_lr, wd, 1, mom, omd, 0, first);
    } else {
        if (nesterov)
            sgd_momentum(p, g, buf, n, neg_lr, wd, 0, mom, omd, 1, first);
        else
            sgd_momentum(p, g, buf, n, neg_lr, wd, 0, mom, omd, 0, first);
    }
}

typedef struct adam_k {
    float b1, omb1, b2, omb2, step_size, bc2_sqrt, eps, wd;
} adam_k_t;

/* The scalar form of one Adam/AdamW update, for elements [i, n). */
static inline void adam_tail(float *restrict p,
                             const float *restrict g,
                             float *restrict m,
                             float *restrict v,
                             float *restrict vmax,
                             int64_t i,
                             int64_t n,
                             const adam_k_t *k,
                             int l2,
                             int ams,
                             int decoupled,
                             float decay)
{
    const float b1 = k->b1, omb1 = k->omb1, b2 = k->b2, omb2 = k->omb2;
    const float neg_step = -k->step_size, bc2s = k->bc2_sqrt, eps = k->eps, wd = k->wd;
    for (; i < n; i++) {
        float pi = p[i];
        if (decoupled)
            pi = pi * decay;
        float gi = l2 ? g[i] + wd * pi : g[i];
        float mi = m[i] * b1 + omb1 * gi;
        float vi = v[i] * b2 + omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float s = vi;
        if (ams) {
            /* _mm_max_ps(vi, vmax) returns vmax when either is NaN; so does this. */
            s = vi > vmax[i] ? vi : vmax[i];
            vmax[i] = s;
        }
        float denom = sqrtf(s) / bc2s + eps;
        p[i] = pi + neg_step * mi / denom;
    }
}

/* One Adam/AdamW pass. `l2`: torch.optim.Adam's weight decay added to the gradient; `ams`: AMSGrad;
 * `decay` != 1: AdamW's decoupled decay applied to p first. The flags are constants at every call
 * site, so each combination compiles to its own loop. The SSE2 body does per lane exactly the
 * operations of the scalar tail (IEEE add, mul, div and sqrt are correctly rounded), so results
 * never depend on where the vector loop stops. */
static inline void adam_loop(float *restrict p,
                             const float *restrict g,
                             float *restrict m,
                             float *restrict v,
                             float *restrict vmax,
                             int64_t n,
                             const adam_k_t *k,
                             int l2,
                             int ams,
                             int decoupled,
                             float decay)
{
    const float b1 = k->b1, omb1 = k->omb1, b2 = k->b2, omb2 = k->omb2;
    const float neg_step = -k->step_size, bc2s = k->bc2_sqrt, eps = k->eps, wd = k->wd;
    int64_t i = 0;
#if defined(__SSE2__)
    const __m128 vb1 = _mm_set1_ps(b1), vomb1 = _mm_set1_ps(omb1), vb2 = _mm_set1_ps(b2);
    const __m128 vomb2 = _mm_set1_ps(omb2), vneg = _mm_set1_ps(neg_step);
    const __m128 vbc2s = _mm_set1_ps(bc2s), veps = _mm_set1_ps(eps), vwd = _mm_set1_ps(wd);
    const __m128 vdecay = _mm_set1_ps(decay);
    for (; i + 4 <= n; i += 4) {
        __m128 pi = _mm_loadu_ps(p + i);
        __m128 gi = _mm_loadu_ps(g + i);
        if (decoupled)
            pi = _mm_mul_ps(pi, vdecay);
        if (l2)
            gi = _mm_add_ps(gi, _mm_mul_ps(vwd, pi));
        __m128 mi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m + i), vb1), _mm_mul_ps(vomb1, gi));
        __m128 vi =
            _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), vb2), _mm_mul_ps(_mm_mul_ps(vomb2, gi), gi));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        __m128 s = vi;
        if (ams) {
            s = _mm_max_ps(vi, _mm_loadu_ps(vmax + i));
            _mm_storeu_ps(vmax + i, s);
        }
        __m128 denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(s), vbc2s), veps);
        pi = _mm_add_ps(pi, _mm_div_ps(_mm_mul_ps(vneg, mi), denom));
        _mm_storeu_ps(p + i, pi);
    }
#endif
    adam_tail(p, g, m, v, vmax, i, n, k, l2, ams, decoupled, decay);
}

#if TF__OPTIM_AVX2
/* The same pass eight lanes wide, compiled for AVX2 (without FMA, so no contraction) and chosen at
 * run time; per lane it performs exactly the operations of the SSE2 and scalar forms. */
__attribute__((target("avx2"))) static inline void adam_loop_avx2(float *restrict p,
                                                                  const float *restrict g,
                                                                  float *restrict m,
                                                                  float *restrict v,
                                                                  float *restrict vmax,
                                                                  int64_t n,
                                                                  const adam_k_t *k,
                                                                  int l2,
                                                                  int ams,
                                                                  int decoupled,
                                                                  float decay)
{
    const __m256 vb1 = _mm256_set1_ps(k->b1), vomb1 = _mm256_set1_ps(k->omb1);
    const __m256 vb2 = _mm256_set1_ps(k->b2), vomb2 = _mm256_set1_ps(k->omb2);
    const __m256 vneg = _mm256_set1_ps(-k->step_size), vbc2s = _mm256_set1_ps(k->bc2_sqrt);
    const __m256 veps = _mm256_set1_ps(k->eps), vwd = _mm256_set1_ps(k->wd);
    const __m256 vdecay = _mm256_set1_ps(decay);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i);
        __m256 gi = _mm256_loadu_ps(g + i);
        if (decoupled)
            pi = _mm256_mul_ps(pi, vdecay);
        if (l2)
            gi = _mm256_add_ps(gi, _mm256_mul_ps(vwd, pi));
        __m256 mi =
            _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), vb1), _mm256_mul_ps(vomb1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), vb2),
                                  _mm256_mul_ps(_mm256_mul_ps(vomb2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 s = vi;
        if (ams) {
            s = _mm256_max_ps(vi, _mm256_loadu_ps(vmax + i));
            _mm256_storeu_ps(vmax + i, s);
        }
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(s), vbc2s), veps);
        pi = _mm256_add_ps(pi, _mm256_div_ps(_mm256_mul_ps(vneg, mi), denom));
        _mm256_storeu_ps(p + i, pi);
    }
    adam_tail(p, g, m, v, vmax, i, n, k, l2, ams, decoupled, decay);
}

__attribute__((target("avx2"))) static void adam_avx2(float *p,
                                                      const float *g,
                                                      float *m,
                                                      float *v,
                                                      float *vmax,
                                                      int64_t n,
                                                      const adam_k_t *k,
                                                      int l2,
                                                      int decoupled,
                                                      float decay)
{
    /* Constant flags: each combination is its own loop. */
    if (decoupled) {
        if (vmax != NULL)
            adam_loop_avx2(p, g, m, v, vmax, n, k, 0, 1, 1, decay);
        else
            adam_loop_avx2(p, g, m, v, NULL, n, k, 0, 0, 1, decay);
    } else if (l2) {
        if (vmax != NULL)
            adam_loop_avx2(p, g, m, v, vmax, n, k, 1, 1, 0, 1.0f);
        else
            adam_loop_avx2(p, g, m, v, NULL, n, k, 1, 0, 0, 1.0f);
    } else {
        if (vmax != NULL)
            adam_loop_avx2(p, g, m, v, vmax, n, k, 0, 1, 0, 1.0f);
        else
            adam_loop_avx2(p, g, m, v, NULL, n, k, 0, 0, 0, 1.0f);
    }
}
#endif

static void scale_inplace(float *restrict x, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] * s;
}

void tf__adam_update_isa(float *p,
                         const float *g,
                         float *m,
                         float *v,
                         float *vmax,
                         int64_t n,
                         double lr,
                         double beta1,
                         double beta2,
                         double eps,
                         double weight_decay,
                         int32_t decoupled,
                         int64_t step,
                         int32_t allow_wide)
{
    adam_k_t k;
    const double bc1 = 1.0 - pow(beta1, (double)step);
    const double bc2 = 1.0 - pow(beta2, (double)step);
    k.b1 = (float)beta1;
    k.omb1 = (float)(1.0 - beta1);
    k.b2 = (float)beta2;
    k.omb2 = (float)(1.0 - beta2);
    k.step_size = (float)(lr / bc1);
    k.bc2_sqrt = (float)sqrt(bc2);
    k.eps = (float)eps;
    k.wd = (float)weight_decay;
    const int ams = vmax != NULL;
#if TF__OPTIM_AVX2
    if (allow_wide && __builtin_cpu_supports("avx2")) {
        const int dec = decoupled && weight_decay != 0.0;
        adam_avx2(p, g, m, v, vmax, n, &k, !decoupled && weight_decay != 0.0, dec,
                  dec ? (float)(1.0 - lr * weight_decay) : 1.0f);
        return;
    }
#endif
    if (decoupled && weight_decay != 0.0) {
        /* torch.optim.AdamW: param.mul_(1 - lr * weight_decay), then Adam without L2. */
        const float decay = (float)(1.0 - lr * weight_decay);
        if (ams)
            adam_loop(p, g, m, v, vmax, n, &k, 0, 1, 1, decay);
        else
            adam_loop(p, g, m, v, NULL, n, &k, 0, 0, 1, decay);
        return;
    }
    const int l2 = !decoupled && weight_decay != 0.0;
    if (l2 && ams)
        adam_loop(p, g, m, v, vmax, n, &k, 1, 1, 0, 1.0f);
    else if (l2)
        adam_loop(p, g, m, v, NULL, n, &k, 1, 0, 0, 1.0f);
    else if (ams)
        adam_loop(p, g, m, v, vmax, n, &k, 0, 1, 0, 1.0f);
    else
        adam_loop(p, g, m, v, NULL, n, &k, 0, 0, 0, 1.0f);
}

void tf__adam_update(float *p,
                     const float *g,
                     float *m,
                     float *v,
                     float *vmax,
                     int64_t n,
                     double lr,
                     double beta1,
                     double beta2,
                     double eps,
                     double weight_decay,
                     int32_t decoupled,
                     int64_t step)
{
    tf__adam_update_isa(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weight_decay, decoupled, step,
                        1);
}

double tf__sumsq_f32(const float *x, int64_t n)
{
    /* Four double accumulators: exact enough for a norm and independent of vector width. */
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += (double)x[i] * x[i];
        a1 += (double)x[i + 1] * x[i + 1];
        a2 += (double)x[i + 2] * x[i + 2];
        a3 += (double)x[i + 3] * x[i + 3];
    }
    for (; i < n; i++)
        a0 += (double)x[i] * x[i];
    return (a0 + a1) + (a2 + a3);
}

void tf__scale_f32(float *x, int64_t n, float s)
{
    scale_inplace(x, n, s);
}
