/* SPDX-License-Identifier: MIT */
/* Private definitions of lib/predict: the weights a prediction reads, the workspace of one call,
 * and the one forward pass that both the predictor and the model's own tf_predict_* run. */
#ifndef TF_PREDICT_INTERNAL_H
#define TF_PREDICT_INTERNAL_H

#include "transfer/predict.h"
#include "../train/train_internal.h"
#include "../nn/cell.h"

#include <stddef.h>
#include <stdint.h>

/* What a forward pass reads; never written after it is made. The pointers view a model's
 * parameters (a model's own predictions) or the predictor's copy of them. */
typedef struct tf__pred_net {
    int32_t tokens;           /* 1: token ids through the embedding; 0: numeric through proj */
    int64_t V, E, F, H;       /* vocabulary (tokens), embedding/projection size, features, hidden */
    int32_t L, D;             /* layers, directions */
    const tf__cell_ops_t *cell;
    const float *emb;         /* V x E, or NULL with emb_q */
    const int8_t *emb_q;      /* V x E int8 (tf_predictor_opts_t::int8_weights), or NULL */
    const float *emb_scale;   /* V: its row scales */
    const float *proj_w;      /* E x F */
    const float *proj_b;      /* E */
    const float *in_mean;     /* F: numeric input standardisation, or NULL */
    const float *in_std;      /* F */
    const float **w;          /* per layer and direction (l*D + d): w_ih, w_hh, b_ih, b_hh */
    uint32_t pool_modes;
    int64_t P, K, C;          /* pooled width, head outputs, classes */
    const float *head_w;      /* K x P */
    const float *head_b;      /* K */
    int32_t kind;             /* TF__DECIDE_* */
    double temperature;
    const double *offsets;    /* K */
    float *const *packed;     /* per layer and direction: W_hh^T, then W_ih^T, packed for the
                                 LSTM's products (tf__pred_lstm_pack), then W_hh for the fused
                                 step (tf__pred_step1_pack); or NULL: packed on each call, without
                                 the fused step */
    int64_t pw;               /* their panel width */
    const float *const *tables; /* per direction of the first layer: V x 4H input projections of
                                   every word, or NULL */
    const int8_t *const *q8;  /* per layer and direction: W_hh then W_ih as int8 panels
                                 (gemm_i8.h), the f32 w_ih, w_hh and packed then NULL; or NULL */
    const float *const *q8_scale; /* per layer and direction: the scales of W_hh, then of W_ih,
                                     tf__i8_scale_floats(4H) each */
    int32_t q8_blocks;        /* 1: q8 and q8_scale go on with W_hh by blocks of units (for
                                 one-row steps split over threads, tf__pred_lstm_i8_blocks_pack) */
    int32_t threads;          /* of one call */
    int32_t max_batch;
} tf__pred_net_t;

/* One direction of one LSTM layer for prediction (lstm_infer.c): B rows sorted by length, longest
 * first; I, H, T as the cell kernels; packed W_hh^T of panel width pw (w_hh for row counts whose
 * step kernel has another width). */
typedef struct tf__pred_lstm {
    int64_t I, H, T, B;
    const float *w_ih, *w_hh, *b_ih, *b_hh;
    const float *packed, *packed_ih; /* W_hh^T and W_ih^T packed (packed_ih may be NULL) */
    int64_t pw;
    int32_t threads;
    const float *table;       /* rows of x W_ih^T by token id (then x is not read), or NULL */
    const int32_t *tok;       /* with a table: the token id of each row t*B + b, -1 when padded */
    const int8_t *q_hh, *q_ih; /* int8 W_hh and W_ih (gemm_i8.h) in place of the f32 ones, or NULL */
    const float *s_hh, *s_ih;  /* their scales */
    float *q_work;             /* tf__i8_work_floats(max(I, H)) for their products */
    const float *step1;       /* W_hh packed for tf__pred_step1 (steps of one row), or NULL */
    const int8_t *q_blk;      /* with q_hh: W_hh by blocks of units (tf__pred_lstm_i8_blocks_pack)
                                 for one-row steps split over threads, or NULL */
    const float *s_blk;       /* its scales */
} tf__pred_lstm_t;

size_t tf__pred_lstm_packed_floats(int64_t K, int64_t H);
/* Pack W_hh (4H x K = H) or W_ih (4H x K = I) for the products into dst; returns the panel width. */
int64_t tf__pred_lstm_pack(int64_t K, int64_t H, const float *w, float *dst);
size_t tf__pred_lstm_work_floats(int64_t H, int64_t T, int64_t B);
/* Runs of one-row steps split over threads so far, in the process (for the tests). */
int64_t tf__pred_split_runs(void);
/* How long one-row steps run unsplit after split runs found a thread descheduled twice in a row
 * (default 0.5 s; the tests set 0, so that a loaded machine does not stop the runs they count). */
void tf__pred_split_pause(double seconds);
/* The parts one-row steps of H units are split into with `threads` threads, f32 or int8
 * weights (1: not split). */
int64_t tf__pred_lstm_parts(int64_t H, int32_t threads, int int8);
/* int8 W_hh for the split steps: q (4H x H int8 rows) and its 4H scales regrouped by blocks of
 * TF__PRED_UNITS units (rows of the four gates of each block, zero rows past H) in tmp and
 * tmp_scale (tf__pred_lstm_i8_blocks_bytes, _scale_floats / 2 in size), then packed into dst and
 * dst_scale (gemm_i8.h). */
size_t tf__pred_lstm_i8_blocks_bytes(int64_t H);
size_t tf__pred_lstm_i8_blocks_scale_floats(int64_t H);
void tf__pred_lstm_i8_blocks_pack(int64_t H, const int8_t *q, const float *scale, int8_t *tmp, float *tmp_scale,
                                  int8_t *dst, float *dst_scale);
/* Outputs y (rows t*B + b, stride ldy), zero at padded steps; len: B lengths, non-increasing. */
void tf__pred_lstm_forward(const tf__pred_lstm_t *s, int reverse, const float *x, int64_t ldx, const int32_t *len,
                           float *y, int64_t ldy, float *work);
/* Fetch the cache line at p ahead of its use (rows far apart in memory: the input table's). */
#if defined(__GNUC__)
#define TF__PRED_PREFETCH(p) __builtin_prefetch(p)
#else
#define TF__PRED_PREFETCH(p) ((void)(p))
#endif

/* The vector kernels of lstm_step.c, over blocks of TF__PRED_UNITS hidden units. W_hh (4H x H) packed for tf__pred_step1: floats, packing. */
#define TF__PRED_UNITS 16
size_t tf__pred_step1_floats(int64_t H);
void tf__pred_step1_pack(int64_t H, const float *w_hh, float *dst);
/* One step of one row over the blocks of 16 hidden units blk0..blk1-1: gates = gx + bias +
 * h W_hh^T (wp packed), then c in place and the new h into hn (not h). gx_next (or NULL): the next
 * step's gx, fetched into cache meanwhile (each block its own part of it). */
void tf__pred_step1(int64_t H, const float *wp, const float *gx, const float *gx_next, const float *bias,
                    const float *h, float *hn, float *c, int64_t blk0, int64_t blk1);
/* The gate pass of m rows: g (rows of 4H, stride ldg: the products) + bias, plus with a table its
 * row tok[b] for row b, to c and h (rows of H), in place. */
void tf__pred_gates(int64_t H, int64_t m, const float *g, int64_t ldg, const float *table, const int32_t *tok,
                    const float *bias, float *c, float *h);
/* The ISA level of those kernels to use (core/isa.h; for the tests: a level the CPU lacks, or -1,
 * gives the CPU's best). */
void tf__pred_step_force(int level);
/* Whether the net's cell runs on tf__pred_lstm_forward. */
int tf__pred_fast(const tf__pred_net_t *net);

/* Scratch of one call in flight, grown as needed and kept for the next call. */
typedef struct tf__pred_ws {
    float *buf;
    size_t cap;               /* floats */
    int32_t *ids;             /* token ids of a call's texts, concatenated */
    size_t ids_cap;
    int64_t *idx;             /* 3N: order, lengths, offsets into ids */
    size_t idx_cap;
    int32_t *len;             /* lengths of a batch */
    size_t len_cap;
} tf__pred_ws_t;

/* The inputs of one call: N sequences of ids or of F-float steps. */
typedef struct tf__pred_in {
    size_t n;
    const int32_t *const *ids;
    const float *const *x;
    const int64_t *lens;
} tf__pred_in_t;

/* The net of a fine-tuned model viewing its parameters (nothing copied); `offsets` (K doubles)
 * and `w` (4*L*D pointers) are the caller's. */
tf_status_t tf__pred_net_of_model(tf__pred_net_t *net, tf_model_t *m, const char *fn, double *offsets,
                                  const float **w);

/* Floats of the workspace buffer for batches of at most B sequences of at most T steps. */
size_t tf__pred_ws_floats(const tf__pred_net_t *net, int64_t T, int64_t B);

/* Grow the workspace for `in` (sizes from its lengths), allocating through `ctx`. */
tf_status_t tf__pred_ws_reserve(tf__pred_ws_t *ws, tf_ctx_t *ctx, const tf__pred_net_t *net,
                                const tf__pred_in_t *in);
void tf__pred_ws_free(tf__pred_ws_t *ws, tf_ctx_t *ctx);
size_t tf__pred_ws_bytes(const tf__pred_ws_t *ws);

/* Check the inputs (lengths, ids in range, finite values), naming `fn` and the input. */
tf_status_t tf__pred_check(const tf__pred_net_t *net, const char *fn, const tf__pred_in_t *in);

/* Probabilities of every input (N x C, in input order) on a reserved workspace. Allocates
 * nothing. */
void tf__pred_run(const tf__pred_net_t *net, tf__pred_ws_t *ws, const tf__pred_in_t *in, float *probs);

#endif
