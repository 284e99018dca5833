/* SPDX-License-Identifier: MIT */
/* The vector kernels of the prediction LSTM (lstm_infer.c): a whole step of one row fused into one
 * pass, and the gate pass of many rows.
 *
 * At one row a step is a matrix-vector product whose 4H x H weights come from L2 at its bandwidth,
 * plus the gates. Here W_hh is packed in blocks of 16 hidden units: row k of block j holds the
 * weights from h[k] to gates i, f, g, o of units 16j..16j+15 (64 floats), so a block's product ends
 * in four vectors that are exactly its units' four gates. Each block's gates, c and h are computed
 * as soon as its product is done, and that arithmetic overlaps the loads of the next block.
 *
 * Each kernel is compiled for x86-64-v4 (AVX-512) and baseline x86-64 on 16-float vectors, and for
 * x86-64-v3 (AVX2) on 8-float ones (lstm_step_body.inc): GCC lowers some operations of a 16-float
 * vector on AVX2 lane by lane (there the step ran 8x slower). The best level the CPU has is used
 * unless the tests or bench_predict force one (tf__pred_step_force). */
#include "predict_internal.h"
#include "../nn/vec16.h"
#include "../core/isa.h"

#include <stdatomic.h>

#if defined(__GNUC__) && !defined(__clang__)
/* ISO C mode turns contraction off in GCC; the products are written for fused multiply-adds. */
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#define U TF__PRED_UNITS
_Static_assert(U == TF__V16 && U == 2 * TF__V8, "a block's gate is one 16-lane or two 8-lane vectors");

/* Blocks of U units, the last one narrower when H is not a multiple of U: with at most U/2 units
 * it is packed U/2 wide (a row of two vectors), so little of what each step reads is padding. */
#define HALF (U / 2)
size_t tf__pred_step1_floats(int64_t H)
{
    const int64_t rest = H % U;
    return (size_t)(H / U * 4 * U + (rest == 0 ? 0 : rest <= HALF ? 4 * HALF : 4 * U)) * (size_t)H;
}

void tf__pred_step1_pack(int64_t H, const float *w_hh, float *dst)
{
    for (int64_t j0 = 0; j0 < H; j0 += U) {
        const int64_t w = H - j0 <= HALF ? HALF : U;
        for (int64_t k = 0; k < H; k++)
            for (int64_t q = 0; q < 4; q++)
                for (int64_t u = 0; u < w; u++)
                    *dst++ = j0 + u < H ? w_hh[(q * H + j0 + u) * H + k] : 0.0f;
    }
}

/* The kernels at 16 lanes (one zmm on AVX-512, four xmm on SSE2) and at 8 (two ymm on AVX2). */
#define SV tf__v16
#define SL 16
#define VOP(f) tf__v16_##f
#define SN(f) f##_16
#include "lstm_step_body.inc"

#define SV tf__v8
#define SL 8
#define VOP(f) tf__v8_##f
#define SN(f) f##_8
#include "lstm_step_body.inc"

#define STEP1_ARGS                                                                                 \
    int64_t H, const float *wp, const float *gx, const float *gx_next, const float *bias, const float *h,     \
        float *hn, float *c, int64_t blk0, int64_t blk1
#define GATES_ARGS                                                                                 \
    int64_t H, int64_t m, const float *g, int64_t ldg, const float *table, const int32_t *tok, const float *bias, \
        float *c, float *h

static void step1_base(STEP1_ARGS)
{
    step1_body_8(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 0);
}

static void gates_base(GATES_ARGS)
{
    gates_body_8(H, m, g, ldg, table, tok, bias, c, h);
}

#if defined(TF__ISA_LEVELS)
__attribute__((target("arch=x86-64-v3"))) static void step1_v3(STEP1_ARGS)
{
    step1_body_8(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 0);
}

__attribute__((target("arch=x86-64-v4"))) static void step1_v4(STEP1_ARGS)
{
    step1_body_16(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1, 1);
}

__attribute__((target("arch=x86-64-v3"))) static void gates_v3(GATES_ARGS)
{
    gates_body_8(H, m, g, ldg, table, tok, bias, c, h);
}

__attribute__((target("arch=x86-64-v4"))) static void gates_v4(GATES_ARGS)
{
    gates_body_16(H, m, g, ldg, table, tok, bias, c, h);
}
#endif

static atomic_int forced = -1;

void tf__pred_step_force(int level)
{
    atomic_store(&forced, level);
}

void tf__pred_step1(STEP1_ARGS)
{
#if defined(TF__ISA_LEVELS)
    switch (tf__isa_pick(&forced)) {
    case TF__ISA_V4:
        step1_v4(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
        return;
    case TF__ISA_V3:
        step1_v3(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
        return;
    default:
        break;
    }
#endif
    step1_base(H, wp, gx, gx_next, bias, h, hn, c, blk0, blk1);
}

void tf__pred_gates(GATES_ARGS)
{
#if defined(TF__ISA_LEVELS)
    switch (tf__isa_pick(&forced)) {
    case TF__ISA_V4:
        gates_v4(H, m, g, ldg, table, tok, bias, c, h);
        return;
    case TF__ISA_V3:
        gates_v3(H, m, g, ldg, table, tok, bias, c, h);
        return;
    default:
        break;
    }
#endif
    gates_base(H, m, g, ldg, table, tok, bias, c, h);
}
