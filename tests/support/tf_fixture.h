/* SPDX-License-Identifier: MIT */
/* Reference fixtures written by the PyTorch generator scripts under tests/reference/ and read by
 * the C tests. Format "TFX1" (little-endian):
 *   char magic[4] = "TFX1"; uint32 count;
 *   count x { uint32 name_len; char name[name_len]; uint32 dtype; uint32 ndim; int64 dims[ndim];
 *             data[numel] }
 * dtype: 1 = f32, 2 = i32, 3 = f64. Written by tests/reference/fixture_io.py. */
#ifndef TF_FIXTURE_H
#define TF_FIXTURE_H

#include <stdint.h>
#include <stddef.h>

#define TF_FIXTURE_F32 1
#define TF_FIXTURE_I32 2
#define TF_FIXTURE_F64 3

typedef struct tf_fixture tf_fixture_t;

/* Load tests/reference/fixtures/<name> (relative to TF_TEST_DATA_DIR); fails the test if the file
 * is missing or malformed. */
tf_fixture_t *tf_fixture_load(const char *name);
void tf_fixture_free(tf_fixture_t *fx);

int tf_fixture_has(const tf_fixture_t *fx, const char *name);
/* Typed access; fails the test when the entry is missing or has another dtype. `numel_out`, `dims`
 * and `ndim_out` may be NULL. */
const float *tf_fixture_f32(const tf_fixture_t *fx, const char *name, int64_t *numel_out);
const int32_t *tf_fixture_i32(const tf_fixture_t *fx, const char *name, int64_t *numel_out);
const double *tf_fixture_f64(const tf_fixture_t *fx, const char *name, int64_t *numel_out);
void tf_fixture_shape(const tf_fixture_t *fx, const char *name, int64_t dims[4], uint32_t *ndim_out);
/* Scalar convenience: the single element of an entry of any dtype, as double. */
double tf_fixture_scalar(const tf_fixture_t *fx, const char *name);

/* Fail the test unless |got - want| <= atol + rtol * |want| everywhere; the message names `what`
 * and the worst element. */
void tf_assert_close_f32(const char *what,
                         const float *got,
                         const float *want,
                         int64_t n,
                         double rtol,
                         double atol);

#endif
