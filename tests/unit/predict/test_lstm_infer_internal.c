/* SPDX-License-Identifier: MIT */
/* The prediction LSTM (lib/predict/lstm_infer.c) against the training kernel (tf__lstm_forward,
 * itself checked against PyTorch): the same outputs, to rounding, for batches sorted by length,
 * both directions, one row and many, longer than one projection chunk, with W_ih packed and not;
 * the fallback when the packed width does not fit the plan, the input read from a table of
 * projected words, and the fused step of the last rows. Under each step kernel and each ISA level
 * of the gate kernels. With int8 W_ih and W_hh (gemm_i8.h, each version the CPU runs), against the
 * training kernel on the same weights dequantised: to rounding, or within the activations'
 * quantisation with integer products. With two and three threads, bit for bit the one-thread
 * outputs (the one-row steps split over the threads), with f32 and int8 weights. */
#include "tf_test.h"
#include "core/isa.h"
#include "each_kernel.h"
#include "nn/lstm_kernel.h"
#include "predict/predict_internal.h"
#include "predict/gemm_i8.h"
#include "tensor/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / 16777216.0f - 0.5f) * 0.8f;
}

/* With use_table, the input rows are embedding rows of random words and the prediction LSTM reads
 * their projections from a table computed here by plain loops. */
#define NWORDS 11
static void check_one(int64_t I, int64_t H, int64_t T, int64_t B, int reverse, int pack_ih, int wrong_width,
                      int use_table, int int8)
{
    uint32_t s = 99u + (uint32_t)(I * 7 + H * 3 + T + B + reverse);
    const int64_t G4 = 4 * H;
    float *x = malloc(sizeof(float) * (size_t)(T * B * I));
    float *w_ih = malloc(sizeof(float) * (size_t)(G4 * I)), *w_hh = malloc(sizeof(float) * (size_t)(G4 * H));
    float b_ih[4 * 200], b_hh[4 * 200];
    int32_t len[64];
    float *emb = malloc(sizeof(float) * (size_t)(NWORDS * I)), *table = malloc(sizeof(float) * (size_t)(NWORDS * G4));
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)(T * B));
    for (int64_t i = 0; i < NWORDS * I; i++)
        emb[i] = frand(&s);
    for (int64_t i = 0; i < T * B * I; i++)
        x[i] = frand(&s);
    for (int64_t r = 0; r < T * B && use_table; r++) {
        tok[r] = (int32_t)((uint32_t)(frand(&s) * 1e6f + 1e6f) % NWORDS);
        memcpy(x + r * I, emb + tok[r] * I, sizeof(float) * (size_t)I);
    }
    for (int64_t i = 0; i < G4 * I; i++)
        w_ih[i] = frand(&s);
    /* int8 with integer products at large H: a smaller W_hh, or the random recurrence amplifies
     * the quantised state's error past any useful bound (the split steps' checks are bit for bit) */
    const float hh_scale = int8 && H > 64 ? 0.25f : 1.0f;
    for (int64_t i = 0; i < G4 * H; i++)
        w_hh[i] = frand(&s) * hh_scale;
    for (int64_t i = 0; i < G4; i++) {
        b_ih[i] = frand(&s);
        b_hh[i] = frand(&s);
    }
    for (int64_t b = 0; b < B; b++) /* non-increasing, the first T */
        len[b] = (int32_t)(T - (b * T) / (B + 1));
    for (int64_t r = 0; r < T * B; r++) /* padded rows are zero, as the predictor makes them */
        if (r / B >= len[r % B]) {
            memset(x + r * I, 0, sizeof(float) * (size_t)I);
            tok[r] = -1;
        }
    /* int8: the weights become their dequantised int8 form for the reference, and int8 panels for
     * the prediction LSTM, which then has no f32 weights to read. */
    int8_t *q_hh = NULL, *q_ih = NULL, *q_blk = NULL;
    float *s_hh = NULL, *s_ih = NULL, *s_blk = NULL, *q_work = NULL;
    if (int8) {
        int8_t *q = malloc((size_t)(G4 * (I > H ? I : H)));
        float *scale = malloc(sizeof(float) * (size_t)G4);
        q_hh = malloc(tf__i8_packed_bytes(G4, H));
        q_ih = malloc(tf__i8_packed_bytes(G4, I));
        s_hh = malloc(sizeof(float) * tf__i8_scale_floats(G4));
        s_ih = malloc(sizeof(float) * tf__i8_scale_floats(G4));
        q_work = malloc(sizeof(float) * tf__i8_work_floats(I > H ? I : H));
        assert_int_equal(tf__quantize_rows_i8(w_hh, G4, H, q, scale), -1);
        tf__dequantize_rows_i8(q, scale, G4, H, w_hh);
        tf__i8_pack(G4, H, q, scale, q_hh, s_hh);
        /* W_hh by blocks of units, for the one-row steps split over threads */
        const size_t bs = tf__pred_lstm_i8_blocks_scale_floats(H);
        int8_t *tmp = malloc(bs / 2 * (size_t)H);
        float *tmp_scale = malloc(sizeof(float) * bs / 2);
        q_blk = malloc(tf__pred_lstm_i8_blocks_bytes(H));
        s_blk = malloc(sizeof(float) * bs);
        tf__pred_lstm_i8_blocks_pack(H, q, scale, tmp, tmp_scale, q_blk, s_blk);
        free(tmp);
        free(tmp_scale);
        assert_int_equal(tf__quantize_rows_i8(w_ih, G4, I, q, scale), -1);
        tf__dequantize_rows_i8(q, scale, G4, I, w_ih);
        tf__i8_pack(G4, I, q, scale, q_ih, s_ih);
        free(q);
        free(scale);
    }
    for (int64_t v = 0; v < NWORDS; v++)
        for (int64_t j = 0; j < G4; j++) {
            double acc = 0.0;
            for (int64_t i = 0; i < I; i++)
                acc += (double)emb[v * I + i] * (double)w_ih[j * I + i];
            table[v * G4 + j] = (float)acc;
        }
    tf__lstm_shape_t sh = {I, H, T, B, 1};
    float *work = malloc(sizeof(float) * tf__lstm_work_floats(&sh));
    float *want = malloc(sizeof(float) * (size_t)(T * B * H)), *got = malloc(sizeof(float) * (size_t)(T * B * H));
    tf__lstm_forward(&sh, reverse, x, I, len, w_ih, w_hh, b_ih, b_hh, NULL, NULL, want, H, NULL, NULL, NULL, work);
    float *packed = malloc(sizeof(float) * tf__pred_lstm_packed_floats(H, H));
    float *packed_ih = malloc(sizeof(float) * tf__pred_lstm_packed_floats(I, H));
    float *pwork = malloc(sizeof(float) * tf__pred_lstm_work_floats(H, T, B));
    tf__pred_lstm_t p = {I,      H,    T, B, w_ih, w_hh, b_ih, b_hh, packed, pack_ih ? packed_ih : NULL, 0, 1,
                         use_table ? table : NULL, use_table ? tok : NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    float *step1 = malloc(sizeof(float) * tf__pred_step1_floats(H));
    p.pw = tf__pred_lstm_pack(H, H, w_hh, packed);
    tf__pred_lstm_pack(I, H, w_ih, packed_ih);
    tf__pred_step1_pack(H, w_hh, step1);
    if (wrong_width) /* as if no kernel of the packed width existed: the unpacked weights serve */
        p.pw = p.pw + 1;
    else /* the steps where one row is left run fused */
        p.step1 = step1;
    if (int8) {
        p.w_ih = p.w_hh = p.packed = p.packed_ih = p.step1 = NULL;
        p.q_hh = q_hh;
        p.q_ih = q_ih;
        p.s_hh = s_hh;
        p.s_ih = s_ih;
        p.q_work = q_work;
        p.q_blk = q_blk;
        p.s_blk = s_blk;
    }
    memset(got, 0xff, sizeof(float) * (size_t)(T * B * H)); /* NaN: every output must be written */
    tf__pred_lstm_forward(&p, reverse, x, I, len, got, H, pwork);
    double worst = 0.0;
    for (int64_t i = 0; i < T * B * H; i++) {
        if (!isfinite(got[i]))
            fail_msg("output %lld not written (I=%lld H=%lld T=%lld B=%lld reverse=%d)", (long long)i, (long long)I,
                     (long long)H, (long long)T, (long long)B, reverse);
        worst = fmax(worst, fabs((double)got[i] - (double)want[i]));
    }
    /* With 2 and 3 threads (the one-row steps split by blocks of units where H is large enough):
     * the same bits, into rows of a wider stride whose gaps stay untouched. */
    for (int32_t th = 2; th <= 3 && (p.step1 || p.q_blk); th++) {
        const int64_t ldy = H + 5;
        float *got2 = malloc(sizeof(float) * (size_t)(T * B * ldy));
        memset(got2, 0x7f, sizeof(float) * (size_t)(T * B * ldy));
        p.threads = th;
        tf__pred_lstm_forward(&p, reverse, x, I, len, got2, ldy, pwork);
        p.threads = 1;
        for (int64_t r = 0; r < T * B; r++) {
            if (memcmp(got2 + r * ldy, got + r * H, sizeof(float) * (size_t)H) != 0)
                fail_msg("threads=%d H=%lld T=%lld B=%lld reverse=%d table=%d: row %lld differs from one thread", th,
                         (long long)H, (long long)T, (long long)B, reverse, use_table, (long long)r);
            for (int64_t j = H; j < ldy; j++)
                if (memcmp(got2 + r * ldy + j, &(uint32_t){0x7f7f7f7fu}, sizeof(float)) != 0)
                    fail_msg("threads=%d: the gap after row %lld was written", th, (long long)r);
        }
        free(got2);
    }
    /* integer products quantise each step's input and state to 8 bits (gemm_i8.h) */
    /* (over long runs at H = 200 the random weights amplify the two kernels' different rounding) */
    const double tol = int8 && tf__i8_integer() ? 2e-2 : H * T > 4000 ? 1e-4 : 2e-6;
    if (worst > tol)
        fail_msg("I=%lld H=%lld T=%lld B=%lld reverse=%d pack_ih=%d table=%d int8=%d: differs from the training "
                 "kernel by %.3g",
                 (long long)I, (long long)H, (long long)T, (long long)B, reverse, pack_ih, use_table, int8, worst);
    free(x);
    free(w_ih);
    free(w_hh);
    free(work);
    free(want);
    free(got);
    free(packed);
    free(packed_ih);
    free(step1);
    free(pwork);
    free(emb);
    free(table);
    free(tok);
    free(q_hh);
    free(q_ih);
    free(s_hh);
    free(s_ih);
    free(q_blk);
    free(s_blk);
    free(q_work);
}

static void check(int64_t I, int64_t H, int64_t T, int64_t B, int reverse, int pack_ih, int wrong_width)
{
    check_one(I, H, T, B, reverse, pack_ih, wrong_width, 0, 0);
    check_one(I, H, T, B, reverse, pack_ih, wrong_width, 1, 0);
}

/* Under each ISA level of the gate kernels the CPU has (lstm_step.c). */
static void test_matches_training_kernel(void **state)
{
    (void)state;
    for (int level = 0; level <= tf__isa_best(); level += level ? 1 : 3) { /* 0, 3, 4 */
        tf__pred_step_force(level);
        for (int reverse = 0; reverse < 2; reverse++) {
            check(5, 12, 7, 1, reverse, 1, 0);
            check(8, 16, 40, 3, reverse, 1, 0);  /* two projection chunks */
            check(24, 40, 9, 17, reverse, 1, 0); /* rows over one projection block */
            check(7, 33, 70, 5, reverse, 0, 0);  /* W_ih through the GEMM */
            check(6, 20, 35, 4, reverse, 1, 1);  /* the unpacked fallback */
            check(9, 200, 6, 2, reverse, 1, 0);  /* the benchmark's hidden size */
        }
    }
    tf__pred_step_force(-1);
}

/* The one-row steps split over threads (as one text's prediction with two threads): the runs
 * happen, and check_one finds them bit-identical to one thread, rows of other lengths included. */
static void test_split_steps(void **state)
{
    (void)state;
    tf__pred_split_pause(0.0);
    const int64_t before = tf__pred_split_runs();
    for (int reverse = 0; reverse < 2; reverse++) {
        check(9, 200, 45, 1, reverse, 1, 0); /* one text: two projection chunks */
        check(9, 200, 50, 3, reverse, 1, 0); /* the last row alone for 12 steps */
        check(7, 130, 12, 1, reverse, 0, 0); /* 9 blocks: two parts of 4 and 5 */
        check(7, 72, 12, 1, reverse, 1, 0);  /* 5 blocks: too few to split */
    }
    assert_true(tf__pred_split_runs() > before);
    /* H = 72 never splits; the others always do (nothing else uses the threads here). */
    const int64_t mid = tf__pred_split_runs();
    check(7, 72, 12, 1, 0, 1, 0);
    assert_int_equal(tf__pred_split_runs(), mid);
    check(7, 130, 12, 1, 0, 1, 0);
    assert_true(tf__pred_split_runs() > mid);
}

/* int8 one-row steps split over threads (on W_hh by blocks of units), under each version, and
 * under each ISA level of the gate kernels with the CPU's best version: the runs happen where H
 * has enough blocks, and check_one finds them bit-identical to one thread, with and without the
 * input table, rows of other lengths included. */
static void int8_split_checks(int all)
{
    const int64_t before = tf__pred_split_runs();
    for (int reverse = 0; reverse < 2; reverse++)
        for (int table = 0; table < 2; table++) {
            check_one(9, 200, 45, 1, reverse, 1, 0, table, 1); /* one text: two chunks */
            if (all) {
                check_one(9, 200, 50, 3, reverse, 1, 0, table, 1); /* the last row alone for 12 steps */
                check_one(7, 194, 12, 1, reverse, 0, 0, table, 1); /* 13 blocks: 6 and 7, the last of 2 units */
            }
        }
    const int64_t mid = tf__pred_split_runs();
    assert_true(mid > before);
    check_one(7, 176, 12, 1, 0, 1, 0, 0, 1); /* 11 blocks: too few to split int8 steps */
    assert_int_equal(tf__pred_split_runs(), mid);
}

static void test_int8_split_steps(void **state)
{
    (void)state;
    tf__pred_split_pause(0.0);
    for (int v = TF__I8_BASE; v <= TF__I8_VNNI; v++)
        if (tf__i8_force(v) == 0)
            int8_split_checks(1);
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
    for (int level = 0; level < tf__isa_best(); level += level ? 1 : 3) { /* gates: 0, 3 below 4 */
        tf__pred_step_force(level);
        int8_split_checks(0);
    }
    tf__pred_step_force(-1);
}

/* Every row count from one (the mixed kernel) to many (dequantised panels), under each version. */
static void test_int8_weights_match_training_kernel(void **state)
{
    (void)state;
    int ran = 0;
    for (int v = TF__I8_BASE; v <= TF__I8_VNNI; v++) {
        if (tf__i8_force(v) != 0)
            continue;
        ran++;
        for (int reverse = 0; reverse < 2; reverse++) {
            check_one(5, 12, 7, 1, reverse, 1, 0, 0, 1);
            check_one(8, 16, 40, 3, reverse, 1, 0, 0, 1);
            check_one(24, 40, 9, 17, reverse, 1, 0, 0, 1);
            check_one(7, 60, 35, 6, reverse, 1, 0, 1, 1); /* the first layer's input from a table */
        }
    }
    assert_int_equal(tf__i8_force(TF__I8_AUTO), 0);
    assert_true(ran >= 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_training_kernel),
        cmocka_unit_test(test_int8_weights_match_training_kernel),
        cmocka_unit_test(test_split_steps),
        cmocka_unit_test(test_int8_split_steps),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
