/* SPDX-License-Identifier: MIT */
/* Products on resident int8 weights (gemm_i8.h).
 *
 * Versions: the kernels (gemm_i8_body.inc) are always-inlined bodies instantiated three times,
 * with target attributes for x86-64-v4 (16-float vectors), x86-64-v3 and the baseline (8-float
 * vectors: wider generic vectors make GCC shuffle through the stack on AVX2), and called through
 * a pointer set on first use from the CPU's features (rather than target_clones, so the tests can
 * run each version the CPU has). */
#include "gemm_i8.h"
#include "../nn/cell.h"
#include "../nn/vec16.h"

#include <float.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define I8_VERSIONS 1
#define I8_V4 __attribute__((target("arch=x86-64-v4")))
#define I8_V3 __attribute__((target("arch=x86-64-v3")))
#else
#define I8_VERSIONS 0
#endif

#if defined(__GNUC__)
/* The vector helpers are always inlined: no vector crosses a call between versions. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#if defined(__GNUC__) && !defined(__clang__)
/* ISO C mode turns contraction off; the sums are written for fused multiply-adds. */
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#define I8_INLINE static inline __attribute__((always_inline))
#define PANEL TF__I8_PANEL
#define SUB 16   /* columns of a sub-panel: 32-bit lanes of four k each */
#define STRIP 16 /* the portable f32 kernel's panel width (lib/nn/step_gemm.h) */
_Static_assert(PANEL == 4 * SUB && SUB == STRIP, "a panel is four sub-panels, each one strip");

#define VW 8
#define SFX 8
#include "gemm_i8_body.inc"
#undef VW
#undef SFX
#define VW 16
#define SFX 16
#include "gemm_i8_body.inc"
#undef VW
#undef SFX

static int64_t round_panel(int64_t N)
{
    return (N + PANEL - 1) / PANEL * PANEL;
}

size_t tf__i8_packed_bytes(int64_t N, int64_t K)
{
    return (size_t)((K + 3) / 4 * 4) * (size_t)round_panel(N);
}

size_t tf__i8_scale_floats(int64_t N)
{
    return 2 * (size_t)round_panel(N);
}

size_t tf__i8_work_floats(int64_t K)
{
    return (size_t)K * PANEL;
}

size_t tf__i8_row_work_floats(int64_t K)
{
    return (size_t)((K + 3) / 4);
}

/* Where weight (column c of a panel, k) goes in its panel: group k / 4, sub-panel c / 16, lane
 * c % 16, byte k % 4 of the lane in memory order. */
static int64_t byte_of(int64_t c, int64_t k)
{
    const int64_t j = k % 4;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const int64_t b = 3 - j;
#else
    const int64_t b = j;
#endif
    return k / 4 * 4 * PANEL + c / SUB * 64 + c % SUB * 4 + b;
}

void tf__i8_pack(int64_t N, int64_t K, const int8_t *q, const float *scale, int8_t *dst, float *dst_scale)
{
    const int64_t panels = (N + PANEL - 1) / PANEL, K4 = (K + 3) / 4 * 4, Np = round_panel(N);
    for (int64_t p = 0; p < panels; p++) {
        const int64_t n0 = p * PANEL, w = N - n0 < PANEL ? N - n0 : PANEL;
        int8_t *d = dst + p * K4 * PANEL;
        for (int64_t c = 0; c < PANEL; c++)
            for (int64_t k = 0; k < K4; k++)
                d[byte_of(c, k)] = c < w && k < K ? q[(n0 + c) * K + k] : 0;
    }
    for (int64_t n = 0; n < Np; n++) {
        int64_t sum = 0;
        for (int64_t k = 0; n < N && k < K; k++)
            sum += q[n * K + k];
        dst_scale[n] = n < N ? scale[n] : 0.0f;
        dst_scale[Np + n] = (float)sum; /* exact: |sum| <= 127 K < 2^24 for K <= TF__I8_INT_MAX_K */
    }
}

typedef void mixed_fn(int64_t, int64_t, int64_t, const float *, int64_t, const int8_t *, const float *, int,
                      float *, int64_t);
typedef void dequant_fn(int64_t, const int8_t *, const float *, float *);
typedef void int_fn(int64_t, int64_t, int64_t, const float *, int64_t, const int8_t *, const float *, int64_t,
                    int64_t, int, float *, int64_t, float *);

#define I8_INSTANCE(suffix, attr, width)                                                           \
    attr static void mixed_##suffix(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,  \
                                    const int8_t *P, const float *scale, int accumulate, float *C,  \
                                    int64_t ldc)                                                   \
    {                                                                                              \
        mixed_body_##width(M, N, K, A, lda, P, scale, accumulate, C, ldc);                         \
    }                                                                                              \
    attr static void dequant_##suffix(int64_t K, const int8_t *pp, const float *scale, float *out) \
    {                                                                                              \
        dequant_body_##width(K, pp, scale, out);                                                   \
    }

I8_INSTANCE(base, , 8)
#if I8_VERSIONS
I8_INSTANCE(v3, I8_V3, 8)
I8_INSTANCE(v4, I8_V4, 16)
#endif

/* ---- integer products (gemm_i8.h, "Integer products") ---------------------------------------- */

/* Row a (K floats) as u8 codes (gemm_i8.h), the K % 4 codes of the last group padded with 128
 * (their weights are 0); returns sa, 0 for a row of zeros. */
I8_INLINE float quantize_row(const float *a, int64_t K, uint8_t *u)
{
    float amax = 0.0f;
    for (int64_t k = 0; k < K; k++) {
        const float v = a[k] < 0.0f ? -a[k] : a[k];
        amax = v > amax ? v : amax;
    }
    if (!(amax > 0.0f))
        return 0.0f;
    float sa = amax / 127.0f;
    if (sa == 0.0f) /* a row of tiny subnormals, as for the weights */
        sa = FLT_TRUE_MIN;
    const float inv = 127.0f / amax;
    const int big = !(inv <= FLT_MAX); /* amax is subnormal: divide by sa instead */
    for (int64_t k = 0; k < K; k++) {
        float r = __builtin_rintf(big ? a[k] / sa : a[k] * inv);
        r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
        u[k] = (uint8_t)(int32_t)(r + 128.0f);
    }
    for (int64_t k = K; k % 4; k++)
        u[k] = 128;
    return sa;
}

#if I8_VERSIONS
#include <immintrin.h>
#define I8_VNNI __attribute__((target("arch=x86-64-v4,avx512vnni")))

/* quantize_row in 16-float vectors, the same codes and scale: max |a| as the largest bit
 * pattern with the sign cleared (NaN left out, as there), the products rounded to nearest even
 * (rintf's default mode), clamped and offset exactly. */
I8_VNNI static inline float quantize_row_v(const float *a, int64_t K, uint8_t *u)
{
    const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff), inf_bits = _mm512_set1_epi32(0x7f800000);
    __m512i big = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1u);
        const __m512i v = _mm512_and_si512(_mm512_maskz_loadu_epi32(m, a + k), abs_bits);
        big = _mm512_mask_max_epu32(big, _mm512_cmple_epu32_mask(v, inf_bits), big, v);
    }
    const uint32_t bits = _mm512_reduce_max_epu32(big);
    float amax;
    memcpy(&amax, &bits, sizeof amax);
    if (!(amax > 0.0f))
        return 0.0f;
    const float inv = 127.0f / amax;
    if (!(inv <= FLT_MAX)) /* amax is subnormal: the scalar way divides */
        return quantize_row(a, K, u);
    const __m512 vinv = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f),
                 off = _mm512_set1_ps(128.0f);
    for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = K - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (K - k)) - 1u);
        __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + k), vinv),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r = _mm512_add_ps(_mm512_min_ps(hi, _mm512_max_ps(lo, r)), off); /* a NaN stays NaN, code 0 */
        _mm512_mask_cvtepi32_storeu_epi8(u + k, m, _mm512_cvtps_epi32(r));
    }
    for (int64_t k = K; k % 4; k++)
        u[k] = 128;
    const float sa = amax / 127.0f;
    return sa == 0.0f ? FLT_TRUE_MIN : sa;
}

/* One row against every panel with AVX512-VNNI's u8 x s8 dot products of four (vpdpbusd): per
 * group of four k, one instruction per sub-panel of 16 columns. GCC emits these only from
 * reduction loops, not for this layout, hence the intrinsics. */
I8_VNNI static void int_vnni(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                             const float *scale, int64_t n0, int64_t n1, int accumulate, float *C, int64_t ldc,
                             float *work)
{
    const int64_t groups = (K + 3) / 4, Np = round_panel(N);
    uint8_t *u = (uint8_t *)work;
    const __m512i zp = _mm512_set1_epi32(128);
    for (int64_t m = 0; m < M; m++) {
        float *c = C + m * ldc;
        const float sa = quantize_row_v(A + m * lda, K, u);
        if (sa == 0.0f) { /* the product is zero */
            if (!accumulate)
                memset(c + n0, 0, (size_t)(n1 - n0) * sizeof(float));
            continue;
        }
        const __m512 vsa = _mm512_set1_ps(sa);
        for (int64_t p = n0 / PANEL; p * PANEL < n1; p++) {
            const int8_t *pp = P + p * groups * 4 * PANEL;
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
            for (int64_t q = 0; q < groups; q++) {
                int32_t four;
                memcpy(&four, u + 4 * q, sizeof four);
                const __m512i b = _mm512_set1_epi32(four);
                const int8_t *blk = pp + q * 4 * PANEL;
                c0 = _mm512_dpbusd_epi32(c0, b, _mm512_loadu_si512(blk));
                c1 = _mm512_dpbusd_epi32(c1, b, _mm512_loadu_si512(blk + 64));
                c2 = _mm512_dpbusd_epi32(c2, b, _mm512_loadu_si512(blk + 128));
                c3 = _mm512_dpbusd_epi32(c3, b, _mm512_loadu_si512(blk + 192));
            }
            const int64_t p0 = p * PANEL, nw = n1 - p0 < PANEL ? n1 - p0 : PANEL;
            const __m512i acc[4] = {c0, c1, c2, c3};
            for (int s = 0; s < 4 && 16 * s < nw; s++) {
                /* sum (a_q + 128) q - 128 sum q = sum a_q q, exact in int32 */
                const __m512i colsum = _mm512_cvtps_epi32(_mm512_loadu_ps(scale + Np + p0 + 16 * s));
                const __m512i dot = _mm512_sub_epi32(acc[s], _mm512_mullo_epi32(zp, colsum));
                /* sa * scale first: it overflows only where the result does */
                __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(dot),
                                         _mm512_mul_ps(vsa, _mm512_loadu_ps(scale + p0 + 16 * s)));
                const int64_t left = nw - 16 * s;
                const __mmask16 k = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                float *out = c + p0 + 16 * s;
                if (accumulate)
                    r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(k, out));
                _mm512_mask_storeu_ps(out, k, r);
            }
        }
    }
}
#endif

/* The same for any CPU, plain C: the reference of the tests and the fallback. */
static void int_base(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                     const float *scale, int64_t n0, int64_t n1, int accumulate, float *C, int64_t ldc, float *work)
{
    const int64_t groups = (K + 3) / 4;
    uint8_t *u = (uint8_t *)work;
    (void)N;
    for (int64_t m = 0; m < M; m++) {
        float *c = C + m * ldc;
        const float sa = quantize_row(A + m * lda, K, u);
        for (int64_t n = n0; n < n1; n++) {
            const int8_t *pp = P + n / PANEL * groups * 4 * PANEL;
            int32_t dot = 0;
            for (int64_t k = 0; sa != 0.0f && k < K; k++)
                dot += ((int32_t)u[k] - 128) * pp[byte_of(n % PANEL, k)];
            const float r = sa == 0.0f ? 0.0f : (float)dot * (sa * scale[n]);
            c[n] = accumulate ? c[n] + r : r;
        }
    }
}

typedef struct version {
    mixed_fn *mixed;
    dequant_fn *dequant;
    int_fn *integer; /* NULL: products in f32 */
} version_t;

static const version_t versions[] = {
    [TF__I8_BASE] = {mixed_base, dequant_base, NULL},
#if I8_VERSIONS
    [TF__I8_V3] = {mixed_v3, dequant_v3, NULL},
    [TF__I8_V4] = {mixed_v4, dequant_v4, NULL},
    [TF__I8_VNNI] = {mixed_v4, dequant_v4, int_vnni},
#endif
};

/* The CPU's best version; 0 until first asked. */
static atomic_int chosen;

static int runnable(int v)
{
    if (v == TF__I8_BASE)
        return 1;
#if I8_VERSIONS
    __builtin_cpu_init();
    if (v == TF__I8_V3)
        return __builtin_cpu_supports("x86-64-v3") > 0;
    if (v == TF__I8_V4)
        return __builtin_cpu_supports("x86-64-v4") > 0;
    if (v == TF__I8_VNNI)
        return __builtin_cpu_supports("x86-64-v4") > 0 && __builtin_cpu_supports("avx512vnni") > 0;
#endif
    return 0;
}

static const version_t *current(void)
{
    int v = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (v == 0) {
        v = runnable(TF__I8_VNNI) ? TF__I8_VNNI
            : runnable(TF__I8_V4) ? TF__I8_V4
            : runnable(TF__I8_V3) ? TF__I8_V3
                                  : TF__I8_BASE;
        atomic_store_explicit(&chosen, v, memory_order_relaxed);
    }
    return &versions[v];
}

int tf__i8_force(int version)
{
    if (version == TF__I8_AUTO) {
        atomic_store(&chosen, 0);
        return 0;
    }
    if (version < TF__I8_BASE || version > TF__I8_VNNI || !runnable(version))
        return -1;
    atomic_store(&chosen, version);
    return 0;
}

int tf__i8_integer(void)
{
    return current()->integer != NULL;
}

void tf__i8_gemm_mixed(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                       const float *scale, int accumulate, float *C, int64_t ldc)
{
    current()->mixed(M, N, K, A, lda, P, scale, accumulate, C, ldc);
}

void tf__i8_gemm_panels(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                        const float *scale, int accumulate, float *C, int64_t ldc, float *work)
{
    const version_t *v = current();
    const int64_t groups = (K + 3) / 4;
    for (int64_t n0 = 0; n0 < N; n0 += PANEL) {
        const int64_t nw = N - n0 < PANEL ? N - n0 : PANEL;
        v->dequant(K, P + n0 / PANEL * groups * 4 * PANEL, scale + n0, work);
        tf__cell_gemm_packed(M, nw, K, A, lda, work, accumulate, C + n0, ldc);
    }
}

void tf__i8_gemm_int(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                     const float *scale, int accumulate, float *C, int64_t ldc, float *work)
{
    int_fn *f = current()->integer;
    (f ? f : int_base)(M, N, K, A, lda, P, scale, 0, N, accumulate, C, ldc, work);
}

void tf__i8_gemm_cols(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                      const float *scale, int64_t n0, int64_t n1, int accumulate, float *C, int64_t ldc, float *work)
{
    const version_t *v = current();
    if (v->integer && K <= TF__I8_INT_MAX_K) {
        v->integer(M, N, K, A, lda, P, scale, n0, n1, accumulate, C, ldc, work);
        return;
    }
    /* The f32 ways read only the scales of their columns (not the sums): the columns from n0 on
     * are a matrix of their own. */
    P += n0 / PANEL * ((K + 3) / 4) * 4 * PANEL;
    if (M <= TF__I8_MIXED_MAX_ROWS)
        v->mixed(M, n1 - n0, K, A, lda, P, scale + n0, accumulate, C + n0, ldc);
    else
        tf__i8_gemm_panels(M, n1 - n0, K, A, lda, P, scale + n0, accumulate, C + n0, ldc, work);
}

void tf__i8_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                 const float *scale, int accumulate, float *C, int64_t ldc, float *work)
{
    tf__i8_gemm_cols(M, N, K, A, lda, P, scale, 0, N, accumulate, C, ldc, work);
}

int tf__i8_pays(int64_t max_batch)
{
    (void)max_batch;
    return tf__i8_integer();
}
