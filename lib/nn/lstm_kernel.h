/* SPDX-License-Identifier: MIT */
/* The LSTM kernel: one direction of one layer, forward and backward (BPTT), over flat buffers.
 *
 * Layout follows torch.nn.LSTM: time-major rows (row r = t*B + b), gate order i, f, g, o,
 *   w_ih (4H, I), w_hh (4H, H), b_ih (4H), b_hh (4H).
 *   i = sig(x W_ii^T + b_ii + h W_hi^T + b_hi), f = sig(..), g = tanh(..), o = sig(..)
 *   c' = f * c + i * g,  h' = o * tanh(c')
 *
 * Variable lengths (PyTorch packed-sequence semantics): with `lengths` (B values in 1..T), sequence b
 * is valid for t < lengths[b]. Forward (reverse = 0) runs t = 0 .. len-1; reverse (reverse = 1) runs
 * t = len-1 .. 0, starting from h0/c0 at t = len-1. Outputs y at padded steps are 0, the state does
 * not advance there, and h_n/c_n hold each sequence's state after its last valid step. Padded steps
 * contribute no gradient (dy there is ignored, dx there gets nothing added). `lengths == NULL` means
 * every sequence has length T. Lengths outside 1..T are the caller's bug (not checked here). Padded
 * rows still go through the GEMMs, so x must be finite there (zeros are fine).
 *
 * Strides: x, y, dy and dx are (T*B) rows with a leading dimension (ldx, ldy, ...) so a direction
 * can read from / write into its half of a bidirectional (T, B, 2H) buffer.
 *
 * The caller provides `cache` (tf__lstm_cache_floats floats), written by forward and read by
 * backward, and `work` (tf__lstm_work_floats floats) scratch for either. No allocation happens
 * inside: sizes are known up front, so a training step's memory is those two plus the tensors.
 * Threads are the caller's choice: s->threads for the GEMMs and the time loop.
 *
 * Memory of a training step of one layer (floats, beyond the tensors x, y, weights, gradients):
 *   cache = 4*H*T*B + 2*H*(T+1)*B   (activated gates; hidden and cell states incl. the initial one)
 *   work  = 4*H*T*B + 3*H*B + 4*H   (gate gradients dG; dh, dh_next, dc; bias sum)
 *           + 4*H*ceilP(H) when B <= 64 (W_hh packed for the per-step products of step_gemm.h;
 *           ceilP(H) = H rounded up to a multiple of 64 with libxsmm built in, else of 16)
 *   total = 10*H*T*B + 7*H*B + 4*H [+ 4*H*ceilP(H)], e.g. H=512, T=64, B=64: 22.2 M floats = 89 MB;
 *           H=128, T=256, B=1: 0.39 M floats = 1.6 MB.
 * The work buffer can be shared by every layer and direction (it is scratch between calls).
 */
#ifndef TF_NN_LSTM_KERNEL_H
#define TF_NN_LSTM_KERNEL_H

#include "cell.h"

#include <stddef.h>
#include <stdint.h>

/* The shape of one direction of one layer (cell.h). */
typedef tf__cell_shape_t tf__lstm_shape_t;

/* Floats of the forward cache kept for backward, and of the scratch workspace. */
size_t tf__lstm_cache_floats(const tf__lstm_shape_t *s);
size_t tf__lstm_work_floats(const tf__lstm_shape_t *s);

/* Forward. h0/c0 (B, H) may be NULL (zeros); b_ih/b_hh may be NULL (no bias); y, h_n/c_n (B, H) may
 * be NULL. `cache` may be NULL in inference (then backward cannot be called). `work` is always
 * needed. */
tf__cell_forward_fn tf__lstm_forward;

/* Backward, after a forward with the same arguments and cache. dy (rows, lddy) and dh_n/dc_n (B, H)
 * are the incoming gradients, each may be NULL (zero). Results are ACCUMULATED (+=) into dx (rows,
 * lddx), dw_ih, dw_hh, db_ih, db_hh, dh0, dc0; any of them may be NULL to skip that work (frozen
 * weights skip their GEMMs; dx NULL skips the input-gradient GEMM). */
tf__cell_backward_fn tf__lstm_backward;

/* Blocks of hidden units each step of the time loop is split into (1: the step runs whole on the
 * calling thread); for the tests, which check that splitting changes no bit. */
int64_t tf__lstm_time_loop_blocks(const tf__lstm_shape_t *s);

/* The kernel's vectorised activations over n floats (exposed for the accuracy tests). */
void tf__lstm_sigmoid_n(float *out, const float *in, int64_t n);
void tf__lstm_tanh_n(float *out, const float *in, int64_t n);
/* The ISA level of the kernel's own loops (the gate passes, the packed per-step product and the
 * two above) to use (core/isa.h; for the tests: a level the CPU lacks, or -1, gives the best). */
void tf__lstm_level_force(int level);

#endif
