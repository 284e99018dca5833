/* SPDX-License-Identifier: MIT */
/* Recurrent cells: the one private interface between a cell's kernels and everything that stacks,
 * names, saves or trains recurrent layers (rnn.c, encoder.c, lib/train). docs/cells.md says how to
 * add a cell.
 *
 * A cell's kernels run one direction of one layer over all steps on flat buffers, with the contract
 * spelled out in lstm_kernel.h (time-major rows r = t*B + b, row strides, PyTorch packed-sequence
 * lengths: a finished sequence's state stops updating, its outputs are zero; results of backward
 * accumulated into the gradients; caller-provided cache and work, no allocation inside). The
 * weights are PyTorch's: w_ih (G*H, I), w_hh (G*H, H), b_ih (G*H), b_hh (G*H) with G gate blocks,
 * named weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k> (+ "_reverse" for the second
 * direction) under the cell's name ("lstm.weight_ih_l0"). A cell without a cell state (GRU)
 * ignores c0, c_n, dc_n and dc0. */
#ifndef TF_NN_CELL_H
#define TF_NN_CELL_H

#include "step_gemm.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tf__cell_shape {
    int64_t input_size;  /* I */
    int64_t hidden_size; /* H */
    int64_t steps;       /* T */
    int64_t batch;       /* B */
    int32_t threads;     /* threads for the GEMMs and the time loop (0 or 1: the calling thread
                            only); the time loop's results are the same for any value */
} tf__cell_shape_t;

/* One direction of one layer over all steps (the contract of lstm_kernel.h). Declared with these
 * types: `tf__cell_forward_fn tf__lstm_forward;`. */
typedef void tf__cell_forward_fn(const tf__cell_shape_t *s,
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
                                 float *work);

typedef void tf__cell_backward_fn(const tf__cell_shape_t *s,
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
                                  float *dc0);

typedef struct tf__cell_ops {
    const char *name;      /* "lstm": parameter prefix in an encoder, value saved in checkpoints */
    const char *kind_name; /* "LSTM": module kind name in messages */
    int32_t module_kind;   /* TF_MODULE_* reported by tf_module_kind */
    int32_t gates;         /* G: gate blocks in each weight and bias */
    int32_t cell_state;    /* 1 when the cell carries c besides h */
    size_t (*cache_floats)(const tf__cell_shape_t *s); /* forward cache kept for backward */
    size_t (*work_floats)(const tf__cell_shape_t *s);  /* scratch of either direction of a call */
    tf__cell_forward_fn *forward;
    tf__cell_backward_fn *backward;
} tf__cell_ops_t;

/* ---- what every cell's fast path shares (lstm_kernel.c) ---- */

/* Whether the per-step products of a batch of B rows use step_gemm.h over weights packed once per
 * call (small batches) rather than tf__sgemm. */
int tf__cell_use_packed(int64_t B, int64_t H);
/* The portable kernel behind step_gemm.h: C (M x N, ldc) = [C +] A (M x K, lda) * P, P packed in
 * panels of 16 columns (small M). */
void tf__cell_gemm_packed(int64_t M,
                          int64_t N,
                          int64_t K,
                          const float *A,
                          int64_t lda,
                          const float *P,
                          int accumulate,
                          float *C,
                          int64_t ldc);
/* How a time loop's steps are split over threads: into `blocks` blocks of `unit_block` hidden
 * units (whole panels of pw columns of the packed W_hh), run by a step team of `threads` threads
 * (team.h), when the step's recurrent product (gates blocks of H x H) is big enough to share and
 * W_hh is packed (pw > 0); otherwise one block on the calling thread (threads = 1). */
typedef struct tf__cell_split {
    int32_t threads;
    int64_t unit_block, blocks;
} tf__cell_split_t;
tf__cell_split_t tf__cell_split_steps(const tf__cell_shape_t *s, int32_t gates, int64_t pw);
/* The forward's per-step product h W_hh^T over W_hh^T packed gate by gate (H x H each), so that a
 * block of hidden units is whole panels of every gate: plan it for B rows into gate pre-activations
 * of `gates` * H columns ([accumulate] into them) and pack w_hh (gates*H x H) into `packed`; */
void tf__cell_pack_gates(tf__step_gemm_t *g, int32_t gates, int64_t B, int64_t H, int accumulate,
                         int64_t xsmm_pw, const float *w_hh, float *packed);
/* then the columns of units j0..j1-1 of every gate: C[:, q*H + j] = [C +] h W_hh,q^T. */
void tf__cell_run_gates(const tf__step_gemm_t *g, int32_t gates, const float *h, const float *packed,
                        int64_t j0, int64_t j1, float *C);
/* Blocks the GRU's time loop is split into (1: whole steps on the calling thread), for the tests. */
int64_t tf__gru_time_loop_blocks(const tf__cell_shape_t *s);
/* The products over all steps that end a backward pass, from the gate gradients of every step
 * (T*B rows of G columns; the GRU keeps those of W_ih and of W_hh apart, the LSTM passes one matrix
 * twice): dw_ih += dg_ih^T x, dw_hh += dg_hh^T h_prev (the T*B previous states), dx += dg_ih w_ih.
 * NULL outputs are skipped. */
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
                           float *dw_hh);

/* ---- the table (cell.c) ---- */

/* The cell of a public cell kind (TF_CELL_*), or NULL when it is unknown. */
const tf__cell_ops_t *tf__cell_get(int32_t cell);

/* The cell kind (TF_CELL_*) named `name` ("lstm"), or -1. */
int32_t tf__cell_find(const char *name);

/* Number of cell kinds in the table. */
int32_t tf__cell_count(void);

/* Parameters per layer and direction, in PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh. */
#define TF__CELL_PARAMS 4

/* Local name of parameter `which` (0..3) of layer `layer`: "weight_ih_l0", "bias_hh_l1_reverse". */
void tf__cell_param_local(char *buf, size_t n, int which, int32_t layer, int32_t reverse);

/* The layer a parameter named "<cell>.<kind>_l<k>[_reverse]" belongs to, for any cell in the table;
 * -1 when the name is not a recurrent parameter. */
int32_t tf__cell_param_layer(const char *name);

#endif
