/* SPDX-License-Identifier: MIT */
/* The fast LSTM kernel (one direction of one layer), as DESIGN.md plans it:
 *
 * forward:  G = X W_ih^T for all T*B rows in one GEMM, straight into the gate cache; then per step
 *           G[t] += h[t-1] W_hh^T (one GEMM, M = B) and one fused, vectorised pass that adds the
 *           summed bias, applies the activations, updates c and h and writes y;
 * backward: newest step first, one fused pass for the gate gradients dG[t] (pre-activation), dc
 *           and the running bias gradient (db = column sums of dG), then dh[t-1] = dG[t] W_hh
 *           (GEMM); after the loop dW_ih = dG^T X, dW_hh = dG^T H_prev (K = T*B) and dX = dG W_ih,
 *           each one GEMM over all steps.
 *
 * Cache layout (floats), the same as the reference (lstm_ref.c):
 *   gates  T*B*4H  activated gates i, f, g, o per row t*B + b (zero at padded steps)
 *   hs     (T+1)*B*H  hidden states between steps; cs (T+1)*B*H cell states. Forward reads slot t and
 *          writes slot t+1 at step t, reverse reads t+1 and writes t, so H_prev of all steps is the
 *          contiguous block of slots 0..T-1 (forward) or 1..T (reverse): one GEMM for dW_hh.
 * Work layout: forward: bias sum (4H), and without a cache the gates (T*B*4H) and the state (3*B*H);
 *   backward: dG (T*B*4H), dh, dh_next, dc (B*H each) and the bias gradient sum (4H);
 *   both, when use_packed(B, H): W_hh packed in panels for step_gemm.h (4H * H, H padded to a panel).
 *
 * Variable lengths: a row (sequence) at a padded step copies its state and gets zero gates/dG; the
 * branch is per row, never per element. Padded rows still go through the GEMMs (their results are
 * ignored or multiplied by dG = 0), so x must be finite at padded steps too.
 *
 * The elementwise passes use GCC/Clang vector extensions (VW floats per vector) with a polynomial
 * exp, so they vectorise at the library's -O2 without -ffast-math; sigmoid and tanh stay within a
 * few ulp of libm (checked by test_lstm_kernel_internal). */
#include "lstm_kernel.h"
#include "../core/isa.h"
#include "step_gemm.h"
#include "transfer/nn.h"
#include "../core/internal.h"
#include "../tensor/blas.h"
#include "../core/team.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

size_t tf__lstm_cache_floats(const tf__lstm_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    return 4 * H * T * B + 2 * H * (T + 1) * B;
}

/* When the per-step products use the kernel's own small-M GEMM over W_hh packed once per call
 * instead of OpenBLAS, which repacks the whole weight matrix on every call: that repacking dominates
 * when M = B is small. Measured single-thread: B = 1, H = 128: 3.8 us vs 25 us per product;
 * B = 32, H = 200: 121 us vs 166 us; at H = 512 the two are even on one thread, but the packed
 * panels also let a step be split over threads by blocks of hidden units
 * (tf__cell_split_steps below), which made (256,512,64,32) and (512,512,64,64) 10-20 % faster on
 * 2 cores, and (1024,1024,64,64) 3-7 % (three paired runs). Above B = 64 OpenBLAS's own blocking
 * wins. */
static int use_packed(int64_t B, int64_t H)
{
    (void)H;
    return B <= 64;
}

/* Floats per vector: 8 (one AVX register; wider generic vectors make GCC shuffle through the
 * stack on AVX2) and the panel width of the packed weights (two vectors). */
#define VW 8
#define PW (2 * VW)
_Static_assert(PW == TF__STEP_PORTABLE_PANEL, "step_gemm.h packs for this kernel");

/* W_hh packed for the per-step products (step_gemm.h): the forward packs each gate's H x H block of
 * W_hh^T, the backward all 4H rows of W_hh, in panels over H columns; the same size in all. */
static size_t packed_floats(int64_t H)
{
    return tf__step_gemm_packed_floats_max(4 * H, H);
}

size_t tf__lstm_work_floats(const tf__lstm_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    return 4 * H * T * B + 3 * H * B + 4 * H +
           (use_packed(s->batch, s->hidden_size) ? packed_floats(s->hidden_size) : 0);
}

/* ---- vectorised activations ------------------------------------------------------------------ */

#if defined(__GNUC__)
/* The vector helpers below are always inlined, so the psABI note about passing 32-byte vectors
 * between functions compiled for different ISAs does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float vf __attribute__((vector_size(VW * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VW * sizeof(int32_t))));
/* The same vector at any float address (unaligned loads and stores). */
typedef float vf_u __attribute__((vector_size(VW * sizeof(float)), aligned(4), may_alias));

#if defined(TF__ISA_LEVELS)
/* Each kernel marked LSTM_AT_LEVELS below is compiled for x86-64-v4, x86-64-v3 and baseline
 * x86-64 and called through the level the CPU has, or the one the tests force
 * (tf__lstm_level_force), so the AVX2 code runs on AVX-512 CPUs too. */
#define LSTM_AT_LEVELS(name, params, args)                                                         \
    __attribute__((target("arch=x86-64-v4"))) static void name##_v4 params                         \
    {                                                                                              \
        name##_body args;                                                                          \
    }                                                                                              \
    __attribute__((target("arch=x86-64-v3"))) static void name##_v3 params                         \
    {                                                                                              \
        name##_body args;                                                                          \
    }                                                                                              \
    static void name##_base params                                                                 \
    {                                                                                              \
        name##_body args;                                                                          \
    }                                                                                              \
    static void name params                                                                        \
    {                                                                                              \
        switch (tf__isa_pick(&lstm_forced)) {                                                      \
        case TF__ISA_V4:                                                                           \
            name##_v4 args;                                                                        \
            return;                                                                                \
        case TF__ISA_V3:                                                                           \
            name##_v3 args;                                                                        \
            return;                                                                                \
        default:                                                                                   \
            name##_base args;                                                                      \
        }                                                                                          \
    }
#else
#define LSTM_AT_LEVELS(name, params, args)                                                         \
    static void name params                                                                        \
    {                                                                                              \
        name##_body args;                                                                          \
    }
#endif

static atomic_int lstm_forced = -1;

void tf__lstm_level_force(int level)
{
    atomic_store(&lstm_forced, level);
}

#if defined(__GNUC__) && !defined(__clang__)
/* ISO C mode (-std=c11) turns floating-point contraction off in GCC; the kernel's arithmetic is
 * written for fused multiply-adds (one rounding instead of two: never less accurate). */
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#define LSTM_INLINE static inline __attribute__((always_inline))

LSTM_INLINE vf vsplat(float a)
{
#if defined(__GNUC__) && !defined(__clang__)
    vf v = {0}; /* lane 0 to every lane: one broadcast (tf__v16_splat in lib/nn/vec16.h says why) */
    v[0] = a;
    return __builtin_shuffle(v, (vi){0});
#else
    vf v;
    for (int i = 0; i < VW; i++)
        v[i] = a;
    return v;
#endif
}

LSTM_INLINE vf vload(const float *p)
{
    return *(const vf_u *)p;
}

LSTM_INLINE void vstore(float *p, vf v)
{
    *(vf_u *)p = v;
}

/* Partial load/store of n < VW floats (the tail of a row); the rest of the vector is zero. */
LSTM_INLINE vf vload_n(const float *p, int64_t n)
{
    vf v = vsplat(0.0f);
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

LSTM_INLINE void vstore_n(float *p, vf v, int64_t n)
{
    memcpy(p, &v, (size_t)n * sizeof(float));
}

LSTM_INLINE vf vselect(vi mask, vf a, vf b) /* mask ? a : b, lane by lane */
{
    return (vf)(((vi)a & mask) | ((vi)b & ~mask));
}

/* exp, sigmoid and tanh: vexp, vsigmoid, vtanh (shared with lib/nn/vec16.h). */
#define VMATH_F vf
#define VMATH_I vi
#define VMATH_INLINE LSTM_INLINE
#define VMATH_NAME(f) v##f
#define VMATH_SPLAT(a) vsplat(a)
#define VMATH_SELECT(m, a, b) vselect(m, a, b)
#include "vmath.inc"

/* Elementwise over arrays, for the accuracy tests. The clones are static: an ifunc symbol would
 * otherwise escape the library's hidden visibility. */
LSTM_INLINE void sigmoid_n_body(float *out, const float *in, int64_t n)
{
    int64_t j = 0;
    for (; j + VW <= n; j += VW)
        vstore(out + j, vsigmoid(vload(in + j)));
    if (j < n)
        vstore_n(out + j, vsigmoid(vload_n(in + j, n - j)), n - j);
}

LSTM_AT_LEVELS(sigmoid_n, (float *out, const float *in, int64_t n), (out, in, n))

LSTM_INLINE void tanh_n_body(float *out, const float *in, int64_t n)
{
    int64_t j = 0;
    for (; j + VW <= n; j += VW)
        vstore(out + j, vtanh(vload(in + j)));
    if (j < n)
        vstore_n(out + j, vtanh(vload_n(in + j, n - j)), n - j);
}

LSTM_AT_LEVELS(tanh_n, (float *out, const float *in, int64_t n), (out, in, n))

void tf__lstm_sigmoid_n(float *out, const float *in, int64_t n)
{
    sigmoid_n(out, in, n);
}

void tf__lstm_tanh_n(float *out, const float *in, int64_t n)
{
    tanh_n(out, in, n);
}

/* ---- fused elementwise passes ---------------------------------------------------------------- */

/* One block of n <= VW hidden units of one row: gate pre-activations in g (i, f, g, o at offsets
 * 0, H, 2H, 3H) become activations; c and h are written to cn/hn and y (may be NULL). */
LSTM_INLINE void fwd_block(float *g,
                           int64_t H,
                           const float *bias,
                           const float *cp,
                           float *cn,
                           float *hn,
                           float *y,
                           int64_t n)
{
    vf zi, zf, zg, zo, vc;
    if (n == VW) {
        zi = vload(g) + vload(bias);
        zf = vload(g + H) + vload(bias + H);
        zg = vload(g + 2 * H) + vload(bias + 2 * H);
        zo = vload(g + 3 * H) + vload(bias + 3 * H);
        vc = vload(cp);
    } else {
        zi = vload_n(g, n) + vload_n(bias, n);
        zf = vload_n(g + H, n) + vload_n(bias + H, n);
        zg = vload_n(g + 2 * H, n) + vload_n(bias + 2 * H, n);
        zo = vload_n(g + 3 * H, n) + vload_n(bias + 3 * H, n);
        vc = vload_n(cp, n);
    }
    const vf gi = vsigmoid(zi), gf = vsigmoid(zf), gg = vtanh(zg), go = vsigmoid(zo);
    const vf c = gf * vc + gi * gg;
    const vf h = go * vtanh(c);
    if (n == VW) {
        vstore(g, gi);
        vstore(g + H, gf);
        vstore(g + 2 * H, gg);
        vstore(g + 3 * H, go);
        vstore(cn, c);
        vstore(hn, h);
        if (y)
            vstore(y, h);
    } else {
        vstore_n(g, gi, n);
        vstore_n(g + H, gf, n);
        vstore_n(g + 2 * H, gg, n);
        vstore_n(g + 3 * H, go, n);
        vstore_n(cn, c, n);
        vstore_n(hn, h, n);
        if (y)
            vstore_n(y, h, n);
    }
}

/* The fused forward pass of one step over all B rows, for hidden units j0..j1-1. Rows at a padded
 * step keep their state. */
LSTM_INLINE void fwd_step_body(int64_t H,
                               int64_t B,
                               int64_t t,
                               const int32_t *lengths,
                               float *G,
                               const float *bias,
                               const float *hp,
                               const float *cp,
                               float *hn,
                               float *cn,
                               float *y,
                               int64_t ldy,
                               int64_t j0,
                               int64_t j1)
{
    const size_t w = (size_t)(j1 - j0) * sizeof(float);
    for (int64_t b = 0; b < B; b++) {
        float *g = G + b * 4 * H;
        float *yrow = y ? y + b * ldy : NULL;
        const int64_t o = b * H;
        if (lengths && t >= (int64_t)lengths[b]) {
            if (hn != hp)
                memcpy(hn + o + j0, hp + o + j0, w);
            if (cn != cp)
                memcpy(cn + o + j0, cp + o + j0, w);
            for (int q = 0; q < 4; q++)
                memset(g + q * H + j0, 0, w);
            if (yrow)
                memset(yrow + j0, 0, w);
            continue;
        }
        int64_t j = j0;
        for (; j + VW <= j1; j += VW)
            fwd_block(g + j, H, bias + j, cp + o + j, cn + o + j, hn + o + j, yrow ? yrow + j : NULL, VW);
        if (j < j1)
            fwd_block(g + j, H, bias + j, cp + o + j, cn + o + j, hn + o + j, yrow ? yrow + j : NULL,
                      j1 - j);
    }
}

LSTM_AT_LEVELS(fwd_step, (int64_t H, int64_t B, int64_t t, const int32_t *lengths, float *G,
                          const float *bias, const float *hp, const float *cp, float *hn, float *cn,
                          float *y, int64_t ldy, int64_t j0, int64_t j1),
                         (H, B, t, lengths, G, bias, hp, cp, hn, cn, y, ldy, j0, j1))

/* d[q * H + j] += v (gate q's n units at d); the bias gradient's running sums. */
LSTM_INLINE void vadd4(float *d, int64_t H, vf a, vf b, vf c, vf e, int64_t n)
{
    if (n == VW) {
        vstore(d, vload(d) + a);
        vstore(d + H, vload(d + H) + b);
        vstore(d + 2 * H, vload(d + 2 * H) + c);
        vstore(d + 3 * H, vload(d + 3 * H) + e);
    } else {
        vstore_n(d, vload_n(d, n) + a, n);
        vstore_n(d + H, vload_n(d + H, n) + b, n);
        vstore_n(d + 2 * H, vload_n(d + 2 * H, n) + c, n);
        vstore_n(d + 3 * H, vload_n(d + 3 * H, n) + e, n);
    }
}

/* One block of the backward pass: from the activated gates, c_prev, c, the incoming dh (carried
 * plus dy) and dc, the pre-activation gate gradients into d, their sum into db (may be NULL) and
 * the dc for the previous step. */
LSTM_INLINE void bwd_block(const float *g,
                           int64_t H,
                           const float *cp,
                           const float *cn,
                           const float *dh,
                           const float *dy,
                           float *dc,
                           float *d,
                           float *db,
                           int64_t n)
{
    vf gi, gf, gg, go, vcp, vcn, vdh, vdc;
    const vf one = vsplat(1.0f);
    if (n == VW) {
        gi = vload(g);
        gf = vload(g + H);
        gg = vload(g + 2 * H);
        go = vload(g + 3 * H);
        vcp = vload(cp);
        vcn = vload(cn);
        vdh = vload(dh);
        if (dy)
            vdh += vload(dy);
        vdc = vload(dc);
    } else {
        gi = vload_n(g, n);
        gf = vload_n(g + H, n);
        gg = vload_n(g + 2 * H, n);
        go = vload_n(g + 3 * H, n);
        vcp = vload_n(cp, n);
        vcn = vload_n(cn, n);
        vdh = vload_n(dh, n);
        if (dy)
            vdh += vload_n(dy, n);
        vdc = vload_n(dc, n);
    }
    const vf tc = vtanh(vcn);
    const vf dct = vdc + vdh * go * (one - tc * tc);
    const vf di = dct * gg * gi * (one - gi);
    const vf df = dct * vcp * gf * (one - gf);
    const vf dg = dct * gi * (one - gg * gg);
    const vf dout = vdh * tc * go * (one - go);
    const vf dcn = dct * gf;
    if (n == VW) {
        vstore(d, di);
        vstore(d + H, df);
        vstore(d + 2 * H, dg);
        vstore(d + 3 * H, dout);
        vstore(dc, dcn);
    } else {
        vstore_n(d, di, n);
        vstore_n(d + H, df, n);
        vstore_n(d + 2 * H, dg, n);
        vstore_n(d + 3 * H, dout, n);
        vstore_n(dc, dcn, n);
    }
    if (db)
        vadd4(db, H, di, df, dg, dout, n);
}

/* The fused backward pass of one step over all B rows, for hidden units j0..j1-1; db (4H, may be
 * NULL) gets the step's gate gradients added, so the bias gradient needs no pass over dG of its
 * own. A block owns its units' columns of db, so the sums do not depend on the split. */
LSTM_INLINE void bwd_step_body(int64_t H,
                               int64_t B,
                               int64_t t,
                               const int32_t *lengths,
                               const float *gates,
                               const float *cp,
                               const float *cn,
                               const float *dh,
                               const float *dy,
                               int64_t lddy,
                               float *dc,
                               float *dG,
                               float *db,
                               int64_t j0,
                               int64_t j1)
{
    for (int64_t b = 0; b < B; b++) {
        float *d = dG + b * 4 * H;
        const int64_t o = b * H;
        if (lengths && t >= (int64_t)lengths[b]) {
            for (int q = 0; q < 4; q++)
                memset(d + q * H + j0, 0, (size_t)(j1 - j0) * sizeof(float));
            continue;
        }
        const float *g = gates + b * 4 * H;
        const float *dyrow = dy ? dy + b * lddy : NULL;
        int64_t j = j0;
        for (; j + VW <= j1; j += VW)
            bwd_block(g + j, H, cp + o + j, cn + o + j, dh + o + j, dyrow ? dyrow + j : NULL,
                      dc + o + j, d + j, db ? db + j : NULL, VW);
        if (j < j1)
            bwd_block(g + j, H, cp + o + j, cn + o + j, dh + o + j, dyrow ? dyrow + j : NULL,
                      dc + o + j, d + j, db ? db + j : NULL, j1 - j);
    }
}

LSTM_AT_LEVELS(bwd_step, (int64_t H, int64_t B, int64_t t, const int32_t *lengths,
                          const float *gates, const float *cp, const float *cn, const float *dh,
                          const float *dy, int64_t lddy, float *dc, float *dG, float *db,
                          int64_t j0, int64_t j1),
                         (H, B, t, lengths, gates, cp, cn, dh, dy, lddy, dc, dG, db, j0, j1))

/* ---- small-M GEMM over packed weights --------------------------------------------------------- */

/* Store (or add) a panel-wide row pair of vectors to c, nw <= PW valid columns. */
LSTM_INLINE void vput2(float *c, vf lo, vf hi, int64_t nw, int accumulate)
{
    if (nw == PW) {
        if (accumulate) {
            lo += vload(c);
            hi += vload(c + VW);
        }
        vstore(c, lo);
        vstore(c + VW, hi);
        return;
    }
    float tmp[PW];
    vstore(tmp, lo);
    vstore(tmp + VW, hi);
    for (int64_t j = 0; j < nw; j++)
        c[j] = accumulate ? c[j] + tmp[j] : tmp[j];
}

/* C (M x N, ldc) = [C +] A (M x K, lda) * P, P packed by pack_panels. Panel-outer, K in chunks of
 * KC, so a panel chunk (KC * PW floats, 16 KB) stays in L1 while every row block uses it; blocks of
 * four rows (eight independent FMA chains), single rows split K in two so their chains overlap. */
#define KC 256

LSTM_INLINE void gemm_packed_body(int64_t M,
                                  int64_t N,
                                  int64_t K,
                                  const float *A,
                                  int64_t lda,
                                  const float *P,
                                  int accumulate,
                                  float *C,
                                  int64_t ldc)
{
    const int64_t panels = (N + PW - 1) / PW;
    for (int64_t p = 0; p < panels; p++) {
        const int64_t n0 = p * PW, nw = N - n0 < PW ? N - n0 : PW;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            const int64_t kn = K - k0 < KC ? K - k0 : KC;
            const float *pp = P + (p * K + k0) * PW;
            const int acc = accumulate || k0 > 0;
            int64_t m = 0;
            for (; m + 4 <= M; m += 4) {
                const float *a0 = A + m * lda + k0, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
                vf c0 = vsplat(0.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
                for (int64_t k = 0; k < kn; k++) {
                    const vf lo = vload(pp + k * PW), hi = vload(pp + k * PW + VW);
                    const vf b0 = vsplat(a0[k]), b1 = vsplat(a1[k]), b2 = vsplat(a2[k]),
                             b3 = vsplat(a3[k]);
                    c0 += b0 * lo;
                    c1 += b0 * hi;
                    c2 += b1 * lo;
                    c3 += b1 * hi;
                    c4 += b2 * lo;
                    c5 += b2 * hi;
                    c6 += b3 * lo;
                    c7 += b3 * hi;
                }
                float *c = C + m * ldc + n0;
                vput2(c, c0, c1, nw, acc);
                vput2(c + ldc, c2, c3, nw, acc);
                vput2(c + 2 * ldc, c4, c5, nw, acc);
                vput2(c + 3 * ldc, c6, c7, nw, acc);
            }
            for (; m < M; m++) {
                const float *a0 = A + m * lda + k0;
                vf c0 = vsplat(0.0f), c1 = c0, c2 = c0, c3 = c0;
                int64_t k = 0;
                for (; k + 2 <= kn; k += 2) {
                    const vf b0 = vsplat(a0[k]), b1 = vsplat(a0[k + 1]);
                    c0 += b0 * vload(pp + k * PW);
                    c1 += b0 * vload(pp + k * PW + VW);
                    c2 += b1 * vload(pp + (k + 1) * PW);
                    c3 += b1 * vload(pp + (k + 1) * PW + VW);
                }
                if (k < kn) {
                    const vf b0 = vsplat(a0[k]);
                    c0 += b0 * vload(pp + k * PW);
                    c1 += b0 * vload(pp + k * PW + VW);
                }
                vput2(C + m * ldc + n0, c0 + c2, c1 + c3, nw, acc);
            }
        }
    }
}

LSTM_AT_LEVELS(gemm_packed, (int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                             const float *P, int accumulate, float *C, int64_t ldc),
                            (M, N, K, A, lda, P, accumulate, C, ldc))

/* ---- the per-step GEMM machinery other cells share (cell.h) ------------------------------------ */

int tf__cell_use_packed(int64_t B, int64_t H)
{
    return use_packed(B, H);
}

void tf__cell_gemm_packed(int64_t M,
                          int64_t N,
                          int64_t K,
                          const float *A,
                          int64_t lda,
                          const float *P,
                          int accumulate,
                          float *C,
                          int64_t ldc)
{
    gemm_packed(M, N, K, A, lda, P, accumulate, C, ldc);
}

/* ---- splitting the time loop over threads ------------------------------------------------------ */

/* A step's products and passes are split into blocks of hidden units run by a step team
 * (team.h) when W_hh is packed (a block's columns are whole panels of it) and a step is big
 * enough to share. Split over 2 threads, an LSTM at B = 1, H = 128 (0.13 M flops per step
 * product) trains 1.23x faster than whole in its best single call and as fast over 0.2 s runs;
 * (64,96,128,8) (0.59 M) 1.13x and 1.09x. Below 64 K flops (B = 1 from H = 91 up is split) the
 * hand-over is a larger share of a step than anything measured. */
#define TEAM_MIN_STEP_FLOPS (1 << 16)

typedef tf__cell_split_t split_t;

tf__cell_split_t tf__cell_split_steps(const tf__cell_shape_t *s, int32_t gates, int64_t pw)
{
    const int64_t H = s->hidden_size, B = s->batch;
    split_t sp = {1, H, 1};
    if (!pw || s->threads < 2 || 2.0 * gates * (double)B * (double)H * (double)H < TEAM_MIN_STEP_FLOPS)
        return sp;
    /* About four blocks per thread, so the last block of a step leaves little idle time. */
    const int64_t panels = (H + pw - 1) / pw, want = 4 * (int64_t)s->threads;
    const int64_t per = (panels + want - 1) / want;
    sp.threads = s->threads;
    sp.unit_block = per * pw;
    sp.blocks = (H + sp.unit_block - 1) / sp.unit_block;
    if (sp.blocks < 2)
        sp = (split_t){1, H, 1};
    return sp;
}

void tf__cell_pack_gates(tf__step_gemm_t *g, int32_t gates, int64_t B, int64_t H, int accumulate,
                         int64_t xsmm_pw, const float *w_hh, float *packed)
{
    tf__step_gemm_plan_panel(g, B, H, H, H, gates * H, accumulate, xsmm_pw);
    for (int64_t q = 0; q < gates; q++)
        tf__step_gemm_pack(g, packed + (size_t)q * tf__step_gemm_packed_floats(g), w_hh + q * H * H, 1);
}

void tf__cell_run_gates(const tf__step_gemm_t *g, int32_t gates, const float *h, const float *packed,
                        int64_t j0, int64_t j1, float *C)
{
    const size_t per_gate = tf__step_gemm_packed_floats(g);
    for (int64_t q = 0; q < gates; q++)
        tf__step_gemm_run(g, h, packed + (size_t)q * per_gate, j0, j1, C + q * g->N);
}

/* libxsmm's panel width for an LSTM's per-step products. Split over threads, a step's blocks are
 * whole panels, so a last panel less than half full leaves one thread with up to a panel more than
 * the others every step (H = 200 in panels of 64: 128 units against 72); panels of 32 even it out
 * (104 against 96). */
static int64_t lstm_panel(const tf__lstm_shape_t *s)
{
    const int64_t rest = s->hidden_size % TF__STEP_XSMM_PANEL;
    return s->threads >= 2 && rest > 0 && 2 * rest < TF__STEP_XSMM_PANEL ? TF__STEP_XSMM_PANEL / 2
                                                                           : TF__STEP_XSMM_PANEL;
}

int64_t tf__lstm_time_loop_blocks(const tf__lstm_shape_t *s)
{
    if (!use_packed(s->batch, s->hidden_size))
        return 1;
    tf__step_gemm_t g;
    tf__step_gemm_plan_panel(&g, s->batch, s->hidden_size, s->hidden_size, s->hidden_size,
                             4 * s->hidden_size, 1, lstm_panel(s));
    return tf__cell_split_steps(s, 4, g.pw).blocks;
}

void tf__cell_weight_grads(const tf__cell_shape_t *s,
                           int64_t G,
                           const float *dg_ih,
                           const float *dg_hh,
                           const float *x,
                           int64_t ldx,
                           const float *h_prev,
                           const float *w_ih,
                           float *dx,
                           int64_t lddx,
                           float *dw_ih,
                           float *dw_hh)
{
    const int64_t I = s->input_size, H = s->hidden_size, TB = s->steps * s->batch;
    if (dw_ih && I > 0)
        tf__sgemm(s->threads, 1, 0, G, I, TB, 1.0f, dg_ih, G, x, ldx, 1.0f, dw_ih, I);
    if (dw_hh)
        tf__sgemm(s->threads, 1, 0, G, H, TB, 1.0f, dg_hh, G, h_prev, H, 1.0f, dw_hh, H);
    if (dx && I > 0)
        tf__sgemm(s->threads, 0, 0, TB, I, G, 1.0f, dg_ih, G, w_ih, I, 1.0f, dx, lddx);
}

/* ---- forward ---------------------------------------------------------------------------------- */

typedef struct fwd_job {
    int64_t H, B, T;
    int reverse, has_h0, cached;
    const int32_t *lengths;
    float *gates, *hs, *cs;
    const float *bias, *packed, *w_hh;
    float *y;
    int64_t ldy, unit_block;
    int32_t gemm_threads; /* of the per-step product: 1 when the steps are split over a team */
    tf__step_gemm_t gemm; /* of one gate's H x H block, when packed */
} fwd_job_t;

/* Step k of the forward loop for hidden units of block `blk`: the recurrent product into those
 * units' four gate columns, then the fused pass. */
static void fwd_chunk(void *arg, int64_t k, int64_t blk)
{
    const fwd_job_t *J = arg;
    const int64_t H = J->H, B = J->B, BH = B * H, G4 = 4 * H;
    const int64_t t = J->reverse ? J->T - 1 - k : k;
    const float *hp, *cp;
    float *hn, *cn;
    if (J->cached) {
        const int64_t in = J->reverse ? t + 1 : t, out = J->reverse ? t : t + 1;
        hp = J->hs + in * BH;
        cp = J->cs + in * BH;
        hn = J->hs + out * BH;
        cn = J->cs + out * BH;
    } else { /* two h slots used in turn, c updated in place */
        hp = J->hs + (k % 2) * BH;
        hn = J->hs + ((k + 1) % 2) * BH;
        cp = J->cs;
        cn = J->cs;
    }
    float *G = J->gates + t * B * G4;
    const int64_t j0 = blk * J->unit_block, j1 = j0 + J->unit_block < H ? j0 + J->unit_block : H;
    if (k > 0 || J->has_h0) {
        if (J->packed) {
            tf__cell_run_gates(&J->gemm, 4, hp, J->packed, j0, j1, G);
        } else {
            tf__sgemm(J->gemm_threads, 0, 1, B, G4, H, 1.0f, hp, H, J->w_hh, H, 1.0f, G, G4);
        }
    }
    fwd_step(H, B, t, J->lengths, G, J->bias, hp, cp, hn, cn, J->y ? J->y + t * B * J->ldy : NULL,
             J->ldy, j0, j1);
}

void tf__lstm_forward(const tf__lstm_shape_t *s,
                      int reverse,
                      const float *x,
                      int64_t ldx,
                      const int32_t *lengths,
                      const float *w_ih,
                      const float *w_hh,
                      const float *b_ih,
                      const float *b_hh,
                      const float *h0,
                      const float *c0,
                      float *y,
                      int64_t ldy,
                      float *h_n,
                      float *c_n,
                      float *cache,
                      float *work)
{
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H, G4 = 4 * H, TB = T * B;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    float *bias = work;
    float *gates, *hs, *cs;
    if (cache) {
        gates = cache;
        hs = gates + T * B * G4;
        cs = hs + (T + 1) * BH;
    } else {
        gates = work + G4;
        hs = gates + T * B * G4; /* two h slots used in turn, one c slot updated in place */
        cs = hs + 2 * BH;
    }
    for (int64_t j = 0; j < G4; j++)
        bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);

    /* Small batches: W_hh^T packed once, gate by gate, for the per-step products (after
     * bias/gates/state). */
    float *packed = use_packed(B, H) ? work + G4 + TB * G4 + 3 * BH : NULL;
    tf__step_gemm_t gemm = {0};
    if (packed) {
        tf__cell_pack_gates(&gemm, 4, B, H, 1, lstm_panel(s), w_hh, packed);
    }

    float *h_init = hs + (cache && reverse ? T * BH : 0);
    float *c_init = cs + (cache && reverse ? T * BH : 0);
    if (h0)
        memcpy(h_init, h0, (size_t)BH * sizeof(float));
    else
        memset(h_init, 0, (size_t)BH * sizeof(float));
    if (c0)
        memcpy(c_init, c0, (size_t)BH * sizeof(float));
    else
        memset(c_init, 0, (size_t)BH * sizeof(float));

    /* Input projection of every step at once. */
    if (I > 0)
        tf__sgemm(s->threads, 0, 1, T * B, G4, I, 1.0f, x, ldx, w_ih, I, 0.0f, gates, G4);
    else
        memset(gates, 0, (size_t)(T * B * G4) * sizeof(float));

    const split_t sp = tf__cell_split_steps(s, 4, packed ? gemm.pw : 0);
    fwd_job_t job = {H,      B,    T,    reverse, h0 != NULL,      cache != NULL,
                     lengths, gates, hs,   cs,      bias,           packed,
                     w_hh,   y,    ldy,  sp.unit_block, sp.threads > 1 ? 1 : s->threads, gemm};
    tf__team_run_steps(sp.threads, T, sp.blocks, fwd_chunk, &job);

    const float *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    const float *c_last = cache ? cs + (reverse ? 0 : T * BH) : cs;
    if (h_n)
        memcpy(h_n, h_last, (size_t)BH * sizeof(float));
    if (c_n)
        memcpy(c_n, c_last, (size_t)BH * sizeof(float));
}

/* ---- backward --------------------------------------------------------------------------------- */

typedef struct bwd_job {
    int64_t H, B, T;
    int reverse;
    const int32_t *lengths;
    const float *gates, *cs, *packed, *w_hh, *dy;
    int64_t lddy, unit_block;
    float *dG, *dc, *dbias; /* dbias: the gate gradients' sums over rows, or NULL */
    float *dh[2]; /* stage s reads dh[(s - 1) % 2], writes dh[s % 2] */
    int32_t gemm_threads; /* of the per-step product: 1 when the steps are split over a team */
    tf__step_gemm_t gemm; /* dh = dG W_hh, when packed */
} bwd_job_t;

/* Stage s of the backward loop (newest step first) for hidden units of block `blk`: the carried
 * dh of those units from the previous stage's gate gradients (dh = dG W_hh; padded rows pass it
 * through), then the fused pass of step T-1-s. The extra stage s = T only computes dh (for dh0). */
static void bwd_chunk(void *arg, int64_t stage, int64_t blk)
{
    const bwd_job_t *J = arg;
    const int64_t H = J->H, B = J->B, T = J->T, G4 = 4 * H;
    const int64_t j0 = blk * J->unit_block, j1 = j0 + J->unit_block < H ? j0 + J->unit_block : H;
    float *dh = J->dh[stage % 2];
    if (stage > 0) {
        const int64_t kp = T - stage, tp = J->reverse ? T - 1 - kp : kp; /* the previous stage's step */
        const float *dGp = J->dG + tp * B * G4, *dh_prev = J->dh[(stage - 1) % 2];
        if (J->packed)
            tf__step_gemm_run(&J->gemm, dGp, J->packed, j0, j1, dh);
        else
            tf__sgemm(J->gemm_threads, 0, 0, B, H, G4, 1.0f, dGp, G4, J->w_hh, H, 0.0f, dh, H);
        if (J->lengths)
            for (int64_t b = 0; b < B; b++)
                if (tp >= (int64_t)J->lengths[b])
                    memcpy(dh + b * H + j0, dh_prev + b * H + j0, (size_t)(j1 - j0) * sizeof(float));
    }
    if (stage == T)
        return;
    const int64_t k = T - 1 - stage, t = J->reverse ? T - 1 - k : k;
    const int64_t in = J->reverse ? t + 1 : t, out = J->reverse ? t : t + 1;
    bwd_step(H, B, t, J->lengths, J->gates + t * B * G4, J->cs + in * B * H, J->cs + out * B * H, dh,
             J->dy ? J->dy + t * B * J->lddy : NULL, J->lddy, J->dc, J->dG + t * B * G4, J->dbias, j0,
             j1);
}

void tf__lstm_backward(const tf__lstm_shape_t *s,
                       int reverse,
                       const float *x,
                       int64_t ldx,
                       const int32_t *lengths,
                       const float *w_ih,
                       const float *w_hh,
                       const float *h0,
                       const float *c0,
                       const float *dy,
                       int64_t lddy,
                       const float *dh_n,
                       const float *dc_n,
                       const float *cache,
                       float *work,
                       float *dx,
                       int64_t lddx,
                       float *dw_ih,
                       float *dw_hh,
                       float *db_ih,
                       float *db_hh,
                       float *dh0,
                       float *dc0)
{
    const int64_t H = s->hidden_size, T = s->steps, B = s->batch;
    const int64_t BH = B * H, G4 = 4 * H, TB = T * B;
    (void)h0;
    (void)c0;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    const float *gates = cache;
    const float *hs = gates + TB * G4;
    const float *cs = hs + (T + 1) * BH;
    float *dG = work;
    float *dh = dG + TB * G4;
    float *dh_next = dh + BH;
    float *dc = dh_next + BH;
    if (dh_n)
        memcpy(dh, dh_n, (size_t)BH * sizeof(float));
    else
        memset(dh, 0, (size_t)BH * sizeof(float));
    if (dc_n)
        memcpy(dc, dc_n, (size_t)BH * sizeof(float));
    else
        memset(dc, 0, (size_t)BH * sizeof(float));
    /* Small batches: W_hh packed once for the per-step dh = dG W_hh (the layout of the forward's
     * work: after dG, the state and the bias sum). */
    float *packed = use_packed(B, H) ? work + G4 + TB * G4 + 3 * BH : NULL;
    tf__step_gemm_t gemm = {0};
    if (packed) {
        tf__step_gemm_plan_panel(&gemm, B, H, G4, G4, H, 0, lstm_panel(s));
        tf__step_gemm_pack(&gemm, packed, w_hh, 0);
    }

    /* Both biases get the same sums of dG over rows, gathered by the fused pass into the spare 4H
     * of work. */
    float *dbias = db_ih || db_hh ? dc + BH : NULL;
    if (dbias)
        memset(dbias, 0, (size_t)G4 * sizeof(float));

    const split_t sp = tf__cell_split_steps(s, 4, packed ? gemm.pw : 0);
    bwd_job_t job = {H,  B,  T,  reverse, lengths, gates, cs, packed, w_hh, dy, lddy, sp.unit_block,
                     dG, dc, dbias, {dh, dh_next}, sp.threads > 1 ? 1 : s->threads, gemm};
    const int64_t stages = T + (dh0 != NULL); /* dh0 needs one more dh = dG W_hh */
    tf__team_run_steps(sp.threads, stages, sp.blocks, bwd_chunk, &job);
    if (dh0) {
        const float *dh_last = job.dh[T % 2];
        for (int64_t e = 0; e < BH; e++)
            dh0[e] += dh_last[e];
    }
    if (dc0)
        for (int64_t e = 0; e < BH; e++)
            dc0[e] += dc[e];

    if (dbias) {
        for (int64_t j = 0; j < G4; j++) {
            if (db_ih)
                db_ih[j] += dbias[j];
            if (db_hh)
                db_hh[j] += dbias[j];
        }
    }
    tf__cell_weight_grads(s, G4, dG, dG, x, ldx, hs + (reverse ? BH : 0), w_ih, dx, lddx, dw_ih, dw_hh);
}

/* The LSTM's entry in the cell table (cell.c). */
const tf__cell_ops_t tf__lstm_cell = {"lstm", "LSTM", TF_MODULE_LSTM, 4, 1, tf__lstm_cache_floats,
                                      tf__lstm_work_floats, tf__lstm_forward, tf__lstm_backward};
