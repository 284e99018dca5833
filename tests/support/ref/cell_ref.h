/* SPDX-License-Identifier: MIT */
/* Plain reference implementations of the recurrent cells (no BLAS, step by step, easy to read),
 * built only into the tests, which compare each cell's fast path against its reference. Same
 * contract, cache and work sizes as the cell's kernel (lib/nn/cell.h, lstm_kernel.h). */
#ifndef TF_TEST_CELL_REF_H
#define TF_TEST_CELL_REF_H

#include "nn/lstm_kernel.h"

tf__cell_forward_fn tf__lstm_forward_ref;
tf__cell_backward_fn tf__lstm_backward_ref;
tf__cell_forward_fn tf__gru_forward_ref;
tf__cell_backward_fn tf__gru_backward_ref;

#endif
