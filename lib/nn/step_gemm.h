/* SPDX-License-Identifier: MIT */
/* The per-step recurrent products of the cells' fast paths: C (M x N, ldc) = [C +] A (M x K, lda) W
 * for a small M (the batch) and a weight matrix W (K x N) packed once per call into panels of
 * columns. docs/kernels.md says which kernel runs where.
 *
 * Two kernels compute the same product:
 *   - libxsmm (built with TF_WITH_XSMM): one code-generated kernel per shape for the CPU it runs on
 *     (AVX2, AVX-512, ...), dispatched once per call in tf__step_gemm_plan, over panels of
 *     TF__STEP_XSMM_PANEL columns;
 *   - the portable kernel (lstm_kernel.c, vectorised C with one clone per x86-64 level) over panels
 *     of 16 columns, when libxsmm is not built in or has no kernel for the CPU or the shape.
 * A plan is made once per forward or backward call, never per step; packing and running use the
 * plan's panel width, so a call is consistent even when the choice changes between calls. */
#ifndef TF_NN_STEP_GEMM_H
#define TF_NN_STEP_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* Panel widths of the packed weights: libxsmm kernels, the portable kernel (its two vectors). */
#define TF__STEP_XSMM_PANEL 64
#define TF__STEP_PORTABLE_PANEL 16

/* Which kernel plans pick: automatic (libxsmm when it has a kernel, else portable), or one forced
 * (for the tests; forcing libxsmm where it is not available gives the portable kernel). */
enum { TF__STEP_AUTO = 0, TF__STEP_PORTABLE = 1, TF__STEP_XSMM = 2 };

typedef void (*tf__step_kernel_fn)(void);

typedef struct tf__step_gemm {
    int64_t M, N, K, lda, ldc;
    int accumulate;
    int64_t pw;               /* panel width of the packed weights */
    tf__step_kernel_fn full;  /* libxsmm kernel of a whole panel; NULL: the portable kernel */
    tf__step_kernel_fn tail;  /* of the last, narrower panel (when N is not a multiple of pw) */
} tf__step_gemm_t;

/* Plan the product for this shape (lda, ldc: row strides of A and C). */
void tf__step_gemm_plan(tf__step_gemm_t *g, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldc,
                        int accumulate);
/* The same with libxsmm panels of xsmm_pw columns (a multiple of 16 up to TF__STEP_XSMM_PANEL;
 * narrower panels split a step over threads more evenly); the portable kernel keeps its own. */
void tf__step_gemm_plan_panel(tf__step_gemm_t *g, int64_t M, int64_t N, int64_t K, int64_t lda,
                              int64_t ldc, int accumulate, int64_t xsmm_pw);

/* Floats of W packed for a plan, and the most any plan of a K x N matrix can need (for workspace
 * sizes fixed before a plan is made). */
size_t tf__step_gemm_packed_floats(const tf__step_gemm_t *g);
size_t tf__step_gemm_packed_floats_max(int64_t K, int64_t N);

/* Pack W for the plan: trans = 0, src is K x N row-major; trans = 1, src is N x K (W^T stored). */
void tf__step_gemm_pack(const tf__step_gemm_t *g, float *dst, const float *src, int trans);

/* Columns n0..n1-1 of C (n0 a multiple of g->pw): C[:, n0:n1] = [C +] A P[:, n0:n1]. C points at
 * column 0 of row 0, P at the packed matrix. */
void tf__step_gemm_run(const tf__step_gemm_t *g, const float *A, const float *P, int64_t n0, int64_t n1,
                       float *C);

/* The kernel choice of later plans (TF__STEP_*), for the tests. Not thread-safe against plans
 * being made at the same time. */
void tf__step_gemm_force(int kernel);

/* Whether libxsmm is built in and has kernels for this CPU. */
int tf__step_gemm_xsmm_available(void);

/* libxsmm's code target ("hsw" AVX2, "skx"/"clx"/"cpx" AVX-512, ...; libxsmm reads LIBXSMM_TARGET
 * to override it), or NULL without libxsmm. */
const char *tf__step_gemm_xsmm_target(void);

#endif
