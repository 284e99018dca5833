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
#define LANES_PER_ROW (PANEL / 4)
#define STRIP 16 /* the portable f32 kernel's panel width (lib/nn/step_gemm.h) */
_Static_assert(LANES_PER_ROW == STRIP && PANEL == 64, "byte j of the 16 lanes is strip j");

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

size_t tf__i8_packed_bytes(int64_t N, int64_t K)
{
    return (size_t)K * tf__i8_scale_floats(N);
}

size_t tf__i8_scale_floats(int64_t N)
{
    return (size_t)((N + PANEL - 1) / PANEL * PANEL);
}

size_t tf__i8_work_floats(int64_t K)
{
    return (size_t)K * PANEL;
}

/* Where column c of a packed row goes: byte c / 16 of 32-bit lane c % 16, in memory order. */
static int64_t byte_of(int64_t c)
{
    const int64_t lane = c % LANES_PER_ROW, j = c / LANES_PER_ROW;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return 4 * lane + 3 - j;
#else
    return 4 * lane + j;
#endif
}

void tf__i8_pack(int64_t N, int64_t K, const int8_t *q, const float *scale, int8_t *dst, float *dst_scale)
{
    const int64_t panels = (N + PANEL - 1) / PANEL;
    for (int64_t p = 0; p < panels; p++) {
        const int64_t n0 = p * PANEL, w = N - n0 < PANEL ? N - n0 : PANEL;
        int8_t *d = dst + p * K * PANEL;
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < PANEL; j++)
                d[k * PANEL + byte_of(j)] = j < w ? q[(n0 + j) * K + k] : 0;
        for (int64_t j = 0; j < PANEL; j++)
            dst_scale[n0 + j] = j < w ? scale[n0 + j] : 0.0f;
    }
}

typedef void mixed_fn(int64_t, int64_t, int64_t, const float *, int64_t, const int8_t *, const float *, int,
                      float *, int64_t);
typedef void dequant_fn(int64_t, const int8_t *, const float *, float *);

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

typedef struct version {
    mixed_fn *mixed;
    dequant_fn *dequant;
} version_t;

static const version_t versions[] = {
    [TF__I8_BASE] = {mixed_base, dequant_base},
#if I8_VERSIONS
    [TF__I8_V3] = {mixed_v3, dequant_v3},
    [TF__I8_V4] = {mixed_v4, dequant_v4},
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
#endif
    return 0;
}

static const version_t *current(void)
{
    int v = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (v == 0) {
        v = runnable(TF__I8_V4) ? TF__I8_V4 : runnable(TF__I8_V3) ? TF__I8_V3 : TF__I8_BASE;
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
    if (version < TF__I8_BASE || version > TF__I8_V4 || !runnable(version))
        return -1;
    atomic_store(&chosen, version);
    return 0;
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
    for (int64_t n0 = 0; n0 < N; n0 += PANEL) {
        const int64_t nw = N - n0 < PANEL ? N - n0 : PANEL;
        v->dequant(K, P + n0 * K, scale + n0, work);
        tf__cell_gemm_packed(M, nw, K, A, lda, work, accumulate, C + n0, ldc);
    }
}

void tf__i8_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                 const float *scale, int accumulate, float *C, int64_t ldc, float *work)
{
    if (M <= TF__I8_MIXED_MAX_ROWS)
        tf__i8_gemm_mixed(M, N, K, A, lda, P, scale, accumulate, C, ldc);
    else
        tf__i8_gemm_panels(M, N, K, A, lda, P, scale, accumulate, C, ldc, work);
}

int tf__i8_pays(int64_t max_batch)
{
    (void)max_batch;
    return 0;
}
