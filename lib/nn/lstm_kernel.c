/* The fast LSTM kernel (one direction of one layer), as DESIGN.md plans it:
 *
 * forward:  G = X W_ih^T for all T*B rows in one GEMM, straight into the gate cache; then per step
 *           G[t] += h[t-1] W_hh^T (one GEMM, M = B) and one fused, vectorised pass that adds the
 *           summed bias, applies the activations, updates c and h and writes y;
 * backward: newest step first, one fused pass for the gate gradients dG[t] (pre-activation) and
 *           dc, then dh[t-1] = dG[t] W_hh (GEMM); after the loop dW_ih = dG^T X, dW_hh = dG^T H_prev
 *           (K = T*B), db = column sums of dG and dX = dG W_ih, each one GEMM over all steps.
 *
 * Cache layout (floats), the same as the reference (lstm_ref.c):
 *   gates  T*B*4H  activated gates i, f, g, o per row t*B + b (zero at padded steps)
 *   hs     (T+1)*B*H  hidden states between steps; cs (T+1)*B*H cell states. Forward reads slot t and
 *          writes slot t+1 at step t, reverse reads t+1 and writes t, so H_prev of all steps is the
 *          contiguous block of slots 0..T-1 (forward) or 1..T (reverse): one GEMM for dW_hh.
 * Work layout: forward: bias sum (4H), and without a cache the gates (T*B*4H) and the state (3*B*H);
 *   backward: dG (T*B*4H), dh, dh_next, dc (B*H each) and the bias gradient sum (4H);
 *   both, for B <= LSTM_SMALL_B: W_hh packed in panels for gemm_packed (4H * H rounded up to 16).
 *
 * Variable lengths: a row (sequence) at a padded step copies its state and gets zero gates/dG; the
 * branch is per row, never per element. Padded rows still go through the GEMMs (their results are
 * ignored or multiplied by dG = 0), so x must be finite at padded steps too.
 *
 * The elementwise passes use GCC/Clang vector extensions (VW floats per vector) with a polynomial
 * exp, so they vectorise at the library's -O2 without -ffast-math; sigmoid and tanh stay within a
 * few ulp of libm (checked by test_lstm_kernel_internal). */
#include "lstm_kernel.h"
#include "../core/internal.h"
#include "../tensor/blas.h"

#include <math.h>
#include <string.h>

size_t tf__lstm_cache_floats(const tf__lstm_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    return 4 * H * T * B + 2 * H * (T + 1) * B;
}

/* Up to this batch the per-step products use the kernel's own small-M GEMM over weights packed
 * once per call (OpenBLAS repacks the whole weight matrix on every call, which dominates when M = B
 * is small). */
#ifndef LSTM_SMALL_B
#define LSTM_SMALL_B 8
#endif
/* Floats per vector: 8 (one AVX register; wider generic vectors make GCC shuffle through the
 * stack on AVX2) and the panel width of the packed weights (two vectors). */
#define VW 8
#define PW (2 * VW)

static size_t packed_floats(size_t H)
{
    return 4 * H * ((H + PW - 1) / PW * PW);
}

size_t tf__lstm_work_floats(const tf__lstm_shape_t *s)
{
    const size_t H = (size_t)s->hidden_size, T = (size_t)s->steps, B = (size_t)s->batch;
    return 4 * H * T * B + 3 * H * B + 4 * H + (B <= LSTM_SMALL_B ? packed_floats(H) : 0);
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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) &&        \
    !defined(__SANITIZE_ADDRESS__)
/* One copy per ISA level, picked at load time (ifunc); the default copy is portable x86-64. */
#define TF_LSTM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TF_LSTM_CLONES
#endif

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
    vf v;
    for (int i = 0; i < VW; i++)
        v[i] = a;
    return v;
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

LSTM_INLINE vf vclamp(vf x, float lo, float hi)
{
    const vf vlo = vsplat(lo), vhi = vsplat(hi);
    x = vselect(x < vlo, vlo, x);
    return vselect(x > vhi, vhi, x);
}

/* exp(x): x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, two constants), a degree-6 polynomial for
 * exp(r) (Cephes' expf coefficients), then 2^n built in the exponent bits. Inputs are clamped to
 * [-87, 88] so 2^n stays a normal float. */
LSTM_INLINE vf vexp(vf x)
{
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    x = vclamp(x, -87.0f, 88.0f);
    const vf t = x * vsplat(1.44269504088896341f) + magic;
    const vf n = t - magic;
    const vi ni = (vi)t - (vi)magic;
    vf r = x - n * vsplat(0.693359375f);
    r = r + n * vsplat(2.12194440e-4f);
    vf p = vsplat(1.9875691500e-4f);
    p = p * r + vsplat(1.3981999507e-3f);
    p = p * r + vsplat(8.3334519073e-3f);
    p = p * r + vsplat(4.1665795894e-2f);
    p = p * r + vsplat(1.6666665459e-1f);
    p = p * r + vsplat(5.0000001201e-1f);
    p = p * (r * r) + r + vsplat(1.0f);
    const vi bits = (ni + 127) << 23;
    return p * (vf)bits;
}

LSTM_INLINE vf vsigmoid(vf x)
{
    return vsplat(1.0f) / (vsplat(1.0f) + vexp(-x));
}

/* tanh: an odd polynomial below |x| = 0.625 (Cephes' tanhf), 1 - 2 / (exp(2|x|) + 1) above, sign
 * restored; both are computed and blended so the loop has no branch. */
LSTM_INLINE vf vtanh(vf x)
{
    const vi sign = (vi)x & (vi)vsplat(-0.0f);
    const vf ax = (vf)((vi)x & ~sign);
    const vf z = x * x;
    vf p = vsplat(-5.70498872745e-3f);
    p = p * z + vsplat(2.06390887954e-2f);
    p = p * z + vsplat(-5.37397155531e-2f);
    p = p * z + vsplat(1.33314422036e-1f);
    p = p * z + vsplat(-3.33332819422e-1f);
    const vf small = p * z * x + x;
    const vf big = vsplat(1.0f) - vsplat(2.0f) / (vexp(ax + ax) + vsplat(1.0f));
    const vf big_signed = (vf)((vi)big | sign);
    return vselect(ax < vsplat(0.625f), small, big_signed);
}

/* Elementwise over arrays, for the accuracy tests. The clones are static: an ifunc symbol would
 * otherwise escape the library's hidden visibility. */
TF_LSTM_CLONES static void sigmoid_n(float *out, const float *in, int64_t n)
{
    int64_t j = 0;
    for (; j + VW <= n; j += VW)
        vstore(out + j, vsigmoid(vload(in + j)));
    if (j < n)
        vstore_n(out + j, vsigmoid(vload_n(in + j, n - j)), n - j);
}

TF_LSTM_CLONES static void tanh_n(float *out, const float *in, int64_t n)
{
    int64_t j = 0;
    for (; j + VW <= n; j += VW)
        vstore(out + j, vtanh(vload(in + j)));
    if (j < n)
        vstore_n(out + j, vtanh(vload_n(in + j, n - j)), n - j);
}

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

/* The fused forward pass of one step over all B rows. Rows at a padded step keep their state. */
TF_LSTM_CLONES static void fwd_step(int64_t H,
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
                                    int64_t ldy)
{
    for (int64_t b = 0; b < B; b++) {
        float *g = G + b * 4 * H;
        float *yrow = y ? y + b * ldy : NULL;
        if (lengths && t >= (int64_t)lengths[b]) {
            if (hn != hp)
                memcpy(hn + b * H, hp + b * H, (size_t)H * sizeof(float));
            if (cn != cp)
                memcpy(cn + b * H, cp + b * H, (size_t)H * sizeof(float));
            memset(g, 0, (size_t)(4 * H) * sizeof(float));
            if (yrow)
                memset(yrow, 0, (size_t)H * sizeof(float));
            continue;
        }
        int64_t j = 0;
        for (; j + VW <= H; j += VW)
            fwd_block(g + j, H, bias + j, cp + b * H + j, cn + b * H + j, hn + b * H + j,
                      yrow ? yrow + j : NULL, VW);
        if (j < H)
            fwd_block(g + j, H, bias + j, cp + b * H + j, cn + b * H + j, hn + b * H + j,
                      yrow ? yrow + j : NULL, H - j);
    }
}

/* One block of the backward pass: from the activated gates, c_prev, c, the incoming dh (carried
 * plus dy) and dc, the pre-activation gate gradients into d and the dc for the previous step. */
LSTM_INLINE void bwd_block(const float *g,
                           int64_t H,
                           const float *cp,
                           const float *cn,
                           const float *dh,
                           const float *dy,
                           float *dc,
                           float *d,
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
}

TF_LSTM_CLONES static void bwd_step(int64_t H,
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
                                    float *dG)
{
    for (int64_t b = 0; b < B; b++) {
        float *d = dG + b * 4 * H;
        if (lengths && t >= (int64_t)lengths[b]) {
            memset(d, 0, (size_t)(4 * H) * sizeof(float));
            continue;
        }
        const float *g = gates + b * 4 * H;
        const float *dyrow = dy ? dy + b * lddy : NULL;
        int64_t j = 0;
        for (; j + VW <= H; j += VW)
            bwd_block(g + j, H, cp + b * H + j, cn + b * H + j, dh + b * H + j,
                      dyrow ? dyrow + j : NULL, dc + b * H + j, d + j, VW);
        if (j < H)
            bwd_block(g + j, H, cp + b * H + j, cn + b * H + j, dh + b * H + j,
                      dyrow ? dyrow + j : NULL, dc + b * H + j, d + j, H - j);
    }
}

/* acc[j] += sum over rows of m[r * ld + j]. */
TF_LSTM_CLONES static void add_column_sums(float *acc, const float *m, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *row = m + r * cols;
        for (int64_t j = 0; j < cols; j++)
            acc[j] += row[j];
    }
}

/* ---- small-M GEMM over packed weights --------------------------------------------------------- */

/* Pack a K x N matrix for gemm_packed: panels of PW columns, each K rows of PW contiguous floats,
 * the last panel zero-padded. trans = 0: src is K x N row-major; trans = 1: src is N x K. */
static void pack_panels(float *dst, const float *src, int64_t K, int64_t N, int trans)
{
    const int64_t panels = (N + PW - 1) / PW;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t k = 0; k < K; k++) {
            float *d = dst + (p * K + k) * PW;
            for (int64_t jj = 0; jj < PW; jj++) {
                const int64_t n = p * PW + jj;
                d[jj] = n < N ? (trans ? src[n * K + k] : src[k * N + n]) : 0.0f;
            }
        }
}

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

/* C (M x N, ldc) = [C +] A (M x K, lda) * P, P packed by pack_panels. Panel-outer so a panel
 * (K * PW floats) stays in L1 while every row block uses it; blocks of four rows (eight independent
 * FMA chains), single rows split K in two so their chains overlap too. */
TF_LSTM_CLONES static void gemm_packed(int64_t M,
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
        const float *pp = P + p * K * PW;
        const int64_t n0 = p * PW, nw = N - n0 < PW ? N - n0 : PW;
        int64_t m = 0;
        for (; m + 4 <= M; m += 4) {
            const float *a0 = A + m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            vf c0 = vsplat(0.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
            for (int64_t k = 0; k < K; k++) {
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
            vput2(c, c0, c1, nw, accumulate);
            vput2(c + ldc, c2, c3, nw, accumulate);
            vput2(c + 2 * ldc, c4, c5, nw, accumulate);
            vput2(c + 3 * ldc, c6, c7, nw, accumulate);
        }
        for (; m < M; m++) {
            const float *a0 = A + m * lda;
            vf c0 = vsplat(0.0f), c1 = c0, c2 = c0, c3 = c0;
            int64_t k = 0;
            for (; k + 2 <= K; k += 2) {
                const vf b0 = vsplat(a0[k]), b1 = vsplat(a0[k + 1]);
                c0 += b0 * vload(pp + k * PW);
                c1 += b0 * vload(pp + k * PW + VW);
                c2 += b1 * vload(pp + (k + 1) * PW);
                c3 += b1 * vload(pp + (k + 1) * PW + VW);
            }
            if (k < K) {
                const vf b0 = vsplat(a0[k]);
                c0 += b0 * vload(pp + k * PW);
                c1 += b0 * vload(pp + k * PW + VW);
            }
            vput2(C + m * ldc + n0, c0 + c2, c1 + c3, nw, accumulate);
        }
    }
}

/* ---- forward and backward -------------------------------------------------------------------- */

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

    /* Small batches: W_hh^T packed once for the per-step products (after bias/gates/state). */
    float *packed = B <= LSTM_SMALL_B ? work + G4 + TB * G4 + 3 * BH : NULL;
    if (packed)
        pack_panels(packed, w_hh, H, G4, 1);

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
        tf__sgemm(0, 1, T * B, G4, I, 1.0f, x, ldx, w_ih, I, 0.0f, gates, G4);
    else
        memset(gates, 0, (size_t)(T * B * G4) * sizeof(float));

    for (int64_t k = 0; k < T; k++) {
        const int64_t t = reverse ? T - 1 - k : k;
        const float *hp, *cp;
        float *hn, *cn;
        if (cache) {
            const int64_t in = reverse ? t + 1 : t, out = reverse ? t : t + 1;
            hp = hs + in * BH;
            cp = cs + in * BH;
            hn = hs + out * BH;
            cn = cs + out * BH;
        } else {
            hp = hs + (k % 2) * BH;
            hn = hs + ((k + 1) % 2) * BH;
            cp = cs;
            cn = cs;
        }
        float *G = gates + t * B * G4;
        if (k > 0 || h0) {
            if (packed)
                gemm_packed(B, G4, H, hp, H, packed, 1, G, G4);
            else
                tf__sgemm(0, 1, B, G4, H, 1.0f, hp, H, w_hh, H, 1.0f, G, G4);
        }
        fwd_step(H, B, t, lengths, G, bias, hp, cp, hn, cn, y ? y + t * B * ldy : NULL, ldy);
    }
    const float *h_last = cache ? hs + (reverse ? 0 : T * BH) : hs + (T % 2) * BH;
    const float *c_last = cache ? cs + (reverse ? 0 : T * BH) : cs;
    if (h_n)
        memcpy(h_n, h_last, (size_t)BH * sizeof(float));
    if (c_n)
        memcpy(c_n, c_last, (size_t)BH * sizeof(float));
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
    const int64_t I = s->input_size, H = s->hidden_size, T = s->steps, B = s->batch;
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
    float *packed = B <= LSTM_SMALL_B ? work + G4 + TB * G4 + 3 * BH : NULL;
    if (packed)
        pack_panels(packed, w_hh, G4, H, 0);

    for (int64_t k = T - 1; k >= 0; k--) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t in = reverse ? t + 1 : t, out = reverse ? t : t + 1;
        float *dGt = dG + t * B * G4;
        bwd_step(H, B, t, lengths, gates + t * B * G4, cs + in * BH, cs + out * BH, dh,
                 dy ? dy + t * B * lddy : NULL, lddy, dc, dGt);
        if (k == 0 && !dh0)
            break;
        if (packed)
            gemm_packed(B, H, G4, dGt, G4, packed, 0, dh_next, H);
        else
            tf__sgemm(0, 0, B, H, G4, 1.0f, dGt, G4, w_hh, H, 0.0f, dh_next, H);
        if (lengths) /* padded rows pass dh through unchanged */
            for (int64_t b = 0; b < B; b++)
                if (t >= (int64_t)lengths[b])
                    memcpy(dh_next + b * H, dh + b * H, (size_t)H * sizeof(float));
        float *tmp = dh;
        dh = dh_next;
        dh_next = tmp;
    }
    if (dh0)
        for (int64_t e = 0; e < BH; e++)
            dh0[e] += dh[e];
    if (dc0)
        for (int64_t e = 0; e < BH; e++)
            dc0[e] += dc[e];

    if (db_ih || db_hh) {
        /* Both biases get the same column sums of dG: one pass into the spare 4H of work. */
        float *dbias = dc + BH;
        memset(dbias, 0, (size_t)G4 * sizeof(float));
        add_column_sums(dbias, dG, TB, G4);
        for (int64_t j = 0; j < G4; j++) {
            if (db_ih)
                db_ih[j] += dbias[j];
            if (db_hh)
                db_hh[j] += dbias[j];
        }
    }
    if (dw_ih && I > 0)
        tf__sgemm(1, 0, G4, I, TB, 1.0f, dG, G4, x, ldx, 1.0f, dw_ih, I);
    if (dw_hh)
        tf__sgemm(1, 0, G4, H, TB, 1.0f, dG, G4, hs + (reverse ? BH : 0), H, 1.0f, dw_hh, H);
    if (dx && I > 0)
        tf__sgemm(0, 0, TB, I, G4, 1.0f, dG, G4, w_ih, I, 1.0f, dx, lddx);
}
