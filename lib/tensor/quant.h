/* SPDX-License-Identifier: MIT */
/* Number formats for compact weights: symmetric int8 with one scale per row, and IEEE half
 * precision (binary16). Used by model export (lib/train), by the tensor-file reader (lib/io) to
 * widen such weights back to f32, and by kernels that run on int8 weights.
 *
 * int8 rule (docs/checkpoints.md): for each row r of a rows x cols matrix,
 *   scale[r] = max_j |x[r][j]| / 127 (f32 division), raised to the smallest positive subnormal when
 *              that underflows to 0 for a row that is not all zeros, lowered by one unit in the
 *              last place when 127 * scale would overflow, 0 for an all-zero row;
 *   q[r][j]  = round-half-to-even(x[r][j] / scale[r]) clamped to [-127, 127] (0 when scale is 0);
 *   x'[r][j] = q[r][j] * scale[r] (f32 product), so |x - x'| <= scale[r] / 2 per element. */
#ifndef TF_TENSOR_QUANT_H
#define TF_TENSOR_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* Quantise a row-major rows x cols f32 matrix into q (rows * cols) and scale (rows). Returns -1,
 * or the first row holding a NaN or an infinity (that row's outputs are zeros; the rest are
 * filled). */
int64_t tf__quantize_rows_i8(const float *x, int64_t rows, int64_t cols, int8_t *q, float *scale);

/* x = q * scale per row (rows x cols). */
void tf__dequantize_rows_i8(const int8_t *q, const float *scale, int64_t rows, int64_t cols, float *x);

/* f32 to binary16 bits, round to nearest even: magnitudes from 65520 up become infinity, NaN stays
 * a (quiet) NaN with its sign, results below the normal range become subnormals or zero. */
uint16_t tf__f32_to_f16(float f);
/* binary16 bits to f32 (exact: every half value is a float). */
float tf__f16_to_f32(uint16_t h);

/* The same over n values. tf__f32_to_f16_n returns the index of the first finite value that
 * became infinite (it does not fit in f16), or -1. */
int64_t tf__f32_to_f16_n(const float *src, uint16_t *dst, size_t n);
void tf__f16_to_f32_n(const uint16_t *src, float *dst, size_t n);

#endif
