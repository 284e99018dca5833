/* SPDX-License-Identifier: MIT */
/* The per-step recurrent products (step_gemm.h): libxsmm's generated kernels when built in, the
 * portable packed kernel otherwise.
 *
 * libxsmm works on column-major matrices: the row-major product C = A W is, read column-major,
 * C' (N x M) = W' (N x K) A' (K x M). So a panel of W (K rows of pw columns, contiguous) is
 * libxsmm's A operand with lda = pw, the step's input is its B operand (ldb = our lda) and C is
 * its C (ldc = our ldc); libxsmm 1.17 generates no transposed-operand kernels, which is why W is
 * always packed (and transposed where it is stored as W^T) once per call. */
#include "step_gemm.h"
#include "cell.h"

#if defined(TF_HAVE_XSMM)
#include <libxsmm.h>
#endif

#include <stdatomic.h>
#include <string.h>

static atomic_int forced = TF__STEP_AUTO;

void tf__step_gemm_force(int kernel)
{
    atomic_store(&forced, kernel);
}

int tf__step_gemm_xsmm_available(void)
{
#if defined(TF_HAVE_XSMM)
    /* The JIT needs at least AVX; older CPUs (and libxsmm's generic target) get no kernels. */
    return libxsmm_get_target_archid() >= LIBXSMM_X86_AVX;
#else
    return 0;
#endif
}

const char *tf__step_gemm_xsmm_target(void)
{
#if defined(TF_HAVE_XSMM)
    return libxsmm_get_target_arch();
#else
    return NULL;
#endif
}

#if defined(TF_HAVE_XSMM)
/* A kernel for m columns of one panel (m <= pw), or NULL. */
static tf__step_kernel_fn xsmm_kernel(const tf__step_gemm_t *g, int64_t m)
{
    const libxsmm_blasint lda = (libxsmm_blasint)g->pw, ldb = (libxsmm_blasint)g->lda,
                          ldc = (libxsmm_blasint)g->ldc;
    const float alpha = 1.0f, beta = g->accumulate ? 1.0f : 0.0f;
    const int flags = LIBXSMM_GEMM_FLAG_NONE, prefetch = LIBXSMM_PREFETCH_NONE;
    libxsmm_smmfunction f = libxsmm_smmdispatch((libxsmm_blasint)m, (libxsmm_blasint)g->M,
                                                (libxsmm_blasint)g->K, &lda, &ldb, &ldc, &alpha,
                                                &beta, &flags, &prefetch);
    return (tf__step_kernel_fn)f;
}
#endif

void tf__step_gemm_plan(tf__step_gemm_t *g, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldc,
                        int accumulate)
{
    tf__step_gemm_plan_panel(g, M, N, K, lda, ldc, accumulate, TF__STEP_XSMM_PANEL);
}

void tf__step_gemm_plan_panel(tf__step_gemm_t *g, int64_t M, int64_t N, int64_t K, int64_t lda,
                              int64_t ldc, int accumulate, int64_t xsmm_pw)
{
    *g = (tf__step_gemm_t){M, N, K, lda, ldc, accumulate, TF__STEP_PORTABLE_PANEL, NULL, NULL};
    (void)xsmm_pw;
#if defined(TF_HAVE_XSMM)
    const int kernel = atomic_load(&forced);
    /* libxsmm's dimensions are int; larger shapes stay on the portable kernel. */
    if (kernel == TF__STEP_PORTABLE || !tf__step_gemm_xsmm_available() || M > INT32_MAX / 4 ||
        K > INT32_MAX / 4 || lda > INT32_MAX || ldc > INT32_MAX)
        return;
    g->pw = xsmm_pw;
    const int64_t rest = N % g->pw;
    g->full = N >= g->pw ? xsmm_kernel(g, g->pw) : NULL;
    g->tail = rest ? xsmm_kernel(g, rest) : NULL;
    if ((N >= g->pw && !g->full) || (rest && !g->tail))
        *g = (tf__step_gemm_t){M, N, K, lda, ldc, accumulate, TF__STEP_PORTABLE_PANEL, NULL, NULL};
#endif
}

static size_t packed_floats(int64_t K, int64_t N, int64_t pw)
{
    return (size_t)K * (size_t)((N + pw - 1) / pw * pw);
}

size_t tf__step_gemm_packed_floats(const tf__step_gemm_t *g)
{
    return packed_floats(g->K, g->N, g->pw);
}

size_t tf__step_gemm_packed_floats_max(int64_t K, int64_t N)
{
#if defined(TF_HAVE_XSMM)
    return packed_floats(K, N, TF__STEP_XSMM_PANEL);
#else
    return packed_floats(K, N, TF__STEP_PORTABLE_PANEL);
#endif
}

/* Columns n0..n0+w-1 of W into one panel d when W^T (N x K) is stored: column j of W is row j of
 * the source. In 8 x 8 tiles (8 source rows copied, then written out as 8 panel rows), so each
 * tile's reads and writes stay in L1; 1.6x to 1.7x the element-by-element transpose. */
#define PACK_TILE 8
static void pack_transposed(float *d, const float *src, int64_t K, int64_t pw, int64_t n0, int64_t w)
{
    for (int64_t k0 = 0; k0 < K; k0 += PACK_TILE) {
        const int64_t kn = K - k0 < PACK_TILE ? K - k0 : PACK_TILE;
        for (int64_t j0 = 0; j0 < w; j0 += PACK_TILE) {
            const int64_t jn = w - j0 < PACK_TILE ? w - j0 : PACK_TILE;
            if (kn < PACK_TILE || jn < PACK_TILE) {
                for (int64_t j = 0; j < jn; j++)
                    for (int64_t k = 0; k < kn; k++)
                        d[(k0 + k) * pw + j0 + j] = src[(n0 + j0 + j) * K + k0 + k];
                continue;
            }
            float t[PACK_TILE][PACK_TILE];
            for (int64_t j = 0; j < PACK_TILE; j++)
                memcpy(t[j], src + (n0 + j0 + j) * K + k0, sizeof t[j]);
            for (int64_t k = 0; k < PACK_TILE; k++)
                for (int64_t j = 0; j < PACK_TILE; j++)
                    d[(k0 + k) * pw + j0 + j] = t[j][k];
        }
    }
}

/* Panels of pw columns, each K rows of pw contiguous floats, the last panel zero-padded. */
void tf__step_gemm_pack(const tf__step_gemm_t *g, float *dst, const float *src, int trans)
{
    const int64_t K = g->K, N = g->N, pw = g->pw, panels = (N + pw - 1) / pw;
    for (int64_t p = 0; p < panels; p++) {
        const int64_t n0 = p * pw, w = N - n0 < pw ? N - n0 : pw;
        float *d = dst + p * K * pw;
        if (trans) {
            pack_transposed(d, src, K, pw, n0, w);
        } else {
            for (int64_t k = 0; k < K; k++)
                memcpy(d + k * pw, src + k * N + n0, (size_t)w * sizeof(float));
        }
        if (w < pw)
            for (int64_t k = 0; k < K; k++)
                memset(d + k * pw + w, 0, (size_t)(pw - w) * sizeof(float));
    }
}

void tf__step_gemm_run(const tf__step_gemm_t *g, const float *A, const float *P, int64_t n0, int64_t n1,
                       float *C)
{
    const int64_t K = g->K, pw = g->pw;
#if defined(TF_HAVE_XSMM)
    if (g->full || g->tail) {
        for (int64_t p = n0 / pw; p * pw < n1; p++) {
            const libxsmm_smmfunction f =
                (libxsmm_smmfunction)(n1 - p * pw >= pw ? g->full : g->tail);
            f(P + p * K * pw, A, C + p * pw);
        }
        return;
    }
#endif
    tf__cell_gemm_packed(g->M, n1 - n0, K, A, g->lda, P + n0 / pw * K * pw, g->accumulate, C + n0,
                         g->ldc);
}
