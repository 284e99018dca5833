/* SPDX-License-Identifier: MIT */
/* The prediction LSTM (lib/predict/lstm_infer.c) against the training kernel (tf__lstm_forward,
 * itself checked against PyTorch): the same outputs, to rounding, for batches sorted by length,
 * both directions, one row and many, longer than one projection chunk, with W_ih packed and not;
 * the fallback when the packed width does not fit the plan, and the input read from a table of
 * projected words. Under each step kernel. */
#include "tf_test.h"
#include "each_kernel.h"
#include "nn/lstm_kernel.h"
#include "predict/predict_internal.h"

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
                      int use_table)
{
    uint32_t s = 99u + (uint32_t)(I * 7 + H * 3 + T + B + reverse);
    const int64_t G4 = 4 * H;
    float *x = malloc(sizeof(float) * (size_t)(T * B * I));
    float *w_ih = malloc(sizeof(float) * (size_t)(G4 * I)), *w_hh = malloc(sizeof(float) * (size_t)(G4 * H));
    float b_ih[4 * 64], b_hh[4 * 64];
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
    for (int64_t i = 0; i < G4 * H; i++)
        w_hh[i] = frand(&s);
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
                         use_table ? table : NULL, use_table ? tok : NULL};
    p.pw = tf__pred_lstm_pack(H, H, w_hh, packed);
    tf__pred_lstm_pack(I, H, w_ih, packed_ih);
    if (wrong_width) /* as if no kernel of the packed width existed: the unpacked weights serve */
        p.pw = p.pw + 1;
    memset(got, 0xff, sizeof(float) * (size_t)(T * B * H)); /* NaN: every output must be written */
    tf__pred_lstm_forward(&p, reverse, x, I, len, got, H, pwork);
    double worst = 0.0;
    for (int64_t i = 0; i < T * B * H; i++) {
        if (!isfinite(got[i]))
            fail_msg("output %lld not written (I=%lld H=%lld T=%lld B=%lld reverse=%d)", (long long)i, (long long)I,
                     (long long)H, (long long)T, (long long)B, reverse);
        worst = fmax(worst, fabs((double)got[i] - (double)want[i]));
    }
    if (worst > 2e-6)
        fail_msg("I=%lld H=%lld T=%lld B=%lld reverse=%d pack_ih=%d table=%d: differs from the training kernel "
                 "by %.3g",
                 (long long)I, (long long)H, (long long)T, (long long)B, reverse, pack_ih, use_table, worst);
    free(x);
    free(w_ih);
    free(w_hh);
    free(work);
    free(want);
    free(got);
    free(packed);
    free(packed_ih);
    free(pwork);
    free(emb);
    free(table);
    free(tok);
}

static void check(int64_t I, int64_t H, int64_t T, int64_t B, int reverse, int pack_ih, int wrong_width)
{
    check_one(I, H, T, B, reverse, pack_ih, wrong_width, 0);
    check_one(I, H, T, B, reverse, pack_ih, wrong_width, 1);
}

static void test_matches_training_kernel(void **state)
{
    (void)state;
    for (int reverse = 0; reverse < 2; reverse++) {
        check(5, 12, 7, 1, reverse, 1, 0);
        check(8, 16, 40, 3, reverse, 1, 0);  /* two projection chunks */
        check(24, 40, 9, 17, reverse, 1, 0); /* rows over one projection block */
        check(7, 33, 70, 5, reverse, 0, 0);  /* W_ih through the GEMM */
        check(6, 20, 35, 4, reverse, 1, 1);  /* the unpacked fallback */
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_training_kernel),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
