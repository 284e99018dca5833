/* SPDX-License-Identifier: MIT */
/* Products on int8 weights kept resident (symmetric per-row scales, lib/tensor/quant.h):
 *   C (M x N, ldc) = [C +] A (M x K, lda) W^T,  W[n][k] = q[n][k] * scale[n],
 * with q packed once (tf__i8_pack) into panels of TF__I8_PANEL output columns, four k to a 32-bit
 * lane (the layout of x86's u8 x s8 dot products of four).
 *
 * Three ways (tf__i8_gemm picks):
 *   - integer products, where the CPU has AVX512-VNNI: each row of A is quantised on the fly,
 *     u[k] = round(A[k] * (127 / amax)) + 128 with amax = max_k |A[k]| (A[k] / sa when
 *     127 / amax overflows; f32 arithmetic, ties to even), sa = amax / 127 (the smallest
 *     subnormal when that underflows), the sums of u * q are exact in int32, and
 *     C = (sa * scale[n]) * (sum u q - 128 sum q). The error against the f32 product of
 *     the same weights is at most sa / 2 * sum_k |W[n][k]| (PyTorch's dynamic quantisation
 *     does the same);
 *   - elsewhere, few rows: the mixed kernel widens the int8 weights to f32 in registers,
 *     accumulates in f32 with fused multiply-adds and applies the row scales once to each output
 *     (the f32 product to rounding);
 *   - elsewhere, more rows: each panel is dequantised once into an L1-sized f32 buffer (the same
 *     values as dequantising the whole matrix) and the portable f32 kernel (lib/nn/cell.h) runs
 *     every row on it.
 * Portable C with GCC vector extensions, except the VNNI products (intrinsics: GCC emits those
 * instructions only from reduction loops); on x86-64 Linux each kernel is compiled for
 * x86-64-v4 (with and without VNNI), x86-64-v3 and the baseline, the best one the CPU has picked
 * on first use. */
#ifndef TF_PREDICT_GEMM_I8_H
#define TF_PREDICT_GEMM_I8_H

#include <stddef.h>
#include <stdint.h>

/* Output columns per packed panel. */
#define TF__I8_PANEL 64

/* Bytes of the packed weights, and floats of the scales and column sums (N each, padded to whole
 * panels), of an N x K matrix. */
size_t tf__i8_packed_bytes(int64_t N, int64_t K);
size_t tf__i8_scale_floats(int64_t N);

/* Pack q (N x K, row-major) and its N scales: panels into dst, the scales and the sums of each row
 * of q into dst_scale (zero padded to whole panels). */
void tf__i8_pack(int64_t N, int64_t K, const int8_t *q, const float *scale, int8_t *dst, float *dst_scale);

/* Floats of the work buffer tf__i8_gemm needs for K. */
size_t tf__i8_work_floats(int64_t K);

/* C = [C +] A W^T on packed weights (P, scale from tf__i8_pack); work: tf__i8_work_floats(K). */
void tf__i8_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                 const float *scale, int accumulate, float *C, int64_t ldc, float *work);

/* Columns n0..n1-1 of tf__i8_gemm's C (n0 a multiple of TF__I8_PANEL, n1 one too or N), the same
 * bits tf__i8_gemm gives them, the other columns untouched: threads may share one product by
 * panels. Each call quantises the rows of A in full, into its own work: tf__i8_work_floats(K)
 * floats, or tf__i8_row_work_floats(K) for M <= TF__I8_MIXED_MAX_ROWS. */
void tf__i8_gemm_cols(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                      const float *scale, int64_t n0, int64_t n1, int accumulate, float *C, int64_t ldc,
                      float *work);
size_t tf__i8_row_work_floats(int64_t K);

/* The largest K of integer products (their int32 sums and the column sums kept as floats stay
 * exact); longer rows take the f32 ways. */
#define TF__I8_INT_MAX_K 131072

/* The largest M the mixed kernel takes; above it, panels are dequantised. */
#define TF__I8_MIXED_MAX_ROWS 4

/* Whether tf__i8_gemm runs integer products (the version picked has VNNI). */
int tf__i8_integer(void);

/* Whether products on int8 weights are at least as fast as the f32 ones on this CPU for batches
 * of up to max_batch rows (measured with bench_gemm_i8 and bench_predict, docs/deployment.md). */
int tf__i8_pays(int64_t max_batch);

/* Kernel versions: the one picked for the CPU, or one forced (for the tests). */
enum { TF__I8_AUTO = 0, TF__I8_BASE = 1, TF__I8_V3 = 2, TF__I8_V4 = 3, TF__I8_VNNI = 4 };

/* Force a version (TF__I8_AUTO: back to the CPU's best); returns 0, or -1 when this build or CPU
 * cannot run it (the choice is then unchanged). Not thread-safe against products running. */
int tf__i8_force(int version);

/* The three ways on their own, for any M (tf__i8_gemm_int: K <= TF__I8_INT_MAX_K); it runs
 * plain C where the CPU has no VNNI. */
void tf__i8_gemm_mixed(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                       const float *scale, int accumulate, float *C, int64_t ldc);
void tf__i8_gemm_panels(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                        const float *scale, int accumulate, float *C, int64_t ldc, float *work);
void tf__i8_gemm_int(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const int8_t *P,
                     const float *scale, int accumulate, float *C, int64_t ldc, float *work);

#endif
