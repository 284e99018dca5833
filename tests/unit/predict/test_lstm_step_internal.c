/* SPDX-License-Identifier: MIT */
/* The prediction LSTM's vector kernels (lib/predict/lstm_step.c) against plain double-precision
 * loops: the fused one-row step and the gate pass of many rows, at hidden sizes around the block
 * width (whole blocks, a narrow last block, a wide one), under every ISA level the CPU has,
 * each forced in turn. */
#include "tf_test.h"
#include "core/isa.h"
#include "predict/predict_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

static double sig(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Gates z (4H, the pre-activations) of one row: c updated in place, h written. */
static void ref_cell(int64_t H, const double *z, float *c, float *h)
{
    for (int64_t j = 0; j < H; j++) {
        const double cn = sig(z[H + j]) * c[j] + sig(z[j]) * tanh(z[2 * H + j]);
        c[j] = (float)cn;
        h[j] = (float)(sig(z[3 * H + j]) * tanh(cn));
    }
}

static void check_close(const char *what, int level, int64_t H, const float *got, const float *want, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 2e-6f))
            fail_msg("level %d H=%lld: %s %lld is %.8f, want %.8f", level, (long long)H, what, (long long)i, got[i],
                     want[i]);
}

/* One row: gates = gx + bias + h W_hh^T, on W_hh packed; the blocks run whole and in two parts
 * (as two threads split them) give the same bits. */
static void check_step1(int level, int64_t H)
{
    uint32_t s = 7u + (uint32_t)H;
    const int64_t G4 = 4 * H, blocks = (H + TF__PRED_UNITS - 1) / TF__PRED_UNITS;
    float *w = malloc(sizeof(float) * (size_t)(G4 * H)), *wp = malloc(sizeof(float) * tf__pred_step1_floats(H));
    float *gx = malloc(sizeof(float) * (size_t)G4), *bias = malloc(sizeof(float) * (size_t)G4);
    float *h = malloc(sizeof(float) * (size_t)H), *c = malloc(sizeof(float) * (size_t)H);
    float *c_ref = malloc(sizeof(float) * (size_t)H), *h_ref = malloc(sizeof(float) * (size_t)H);
    float *hn = malloc(sizeof(float) * (size_t)H), *c2 = malloc(sizeof(float) * (size_t)H);
    float *hn2 = malloc(sizeof(float) * (size_t)H);
    double *z = malloc(sizeof(double) * (size_t)G4);
    for (int64_t i = 0; i < G4 * H; i++)
        w[i] = frand(&s) * 0.3f;
    for (int64_t i = 0; i < G4; i++) {
        gx[i] = frand(&s);
        bias[i] = frand(&s) * 0.5f;
    }
    for (int64_t j = 0; j < H; j++) {
        h[j] = frand(&s);
        c[j] = c_ref[j] = c2[j] = frand(&s) * 2.0f;
    }
    for (int64_t r = 0; r < G4; r++) {
        double acc = (double)gx[r] + (double)bias[r];
        for (int64_t k = 0; k < H; k++)
            acc += (double)w[r * H + k] * (double)h[k];
        z[r] = acc;
    }
    ref_cell(H, z, c_ref, h_ref);
    tf__pred_step1_pack(H, w, wp);
    memset(hn, 0xff, sizeof(float) * (size_t)H); /* NaN: every unit must be written */
    tf__pred_step1(H, wp, gx, NULL, bias, h, hn, c, 0, blocks);
    check_close("h", level, H, hn, h_ref, H);
    check_close("c", level, H, c, c_ref, H);
    const int64_t mid = blocks / 2;
    tf__pred_step1(H, wp, gx, NULL, bias, h, hn2, c2, mid, blocks);
    tf__pred_step1(H, wp, gx, NULL, bias, h, hn2, c2, 0, mid);
    if (memcmp(hn, hn2, sizeof(float) * (size_t)H) != 0 || memcmp(c, c2, sizeof(float) * (size_t)H) != 0)
        fail_msg("level %d H=%lld: the blocks in two parts differ from all at once", level, (long long)H);
    free(w);
    free(wp);
    free(gx);
    free(bias);
    free(h);
    free(c);
    free(c_ref);
    free(h_ref);
    free(hn);
    free(c2);
    free(hn2);
    free(z);
}

/* m rows (stride ldg) plus bias, with and without a table row added per row. */
static void check_gates(int level, int64_t H, int64_t m, int use_table)
{
    uint32_t s = 11u + (uint32_t)(H * 3 + m);
    const int64_t G4 = 4 * H, ldg = G4 + 5, words = 7;
    float *g = malloc(sizeof(float) * (size_t)(m * ldg)), *bias = malloc(sizeof(float) * (size_t)G4);
    float *table = malloc(sizeof(float) * (size_t)(words * G4));
    float *c = malloc(sizeof(float) * (size_t)(m * H)), *h = malloc(sizeof(float) * (size_t)(m * H));
    float *c_ref = malloc(sizeof(float) * (size_t)(m * H)), *h_ref = malloc(sizeof(float) * (size_t)(m * H));
    double *z = malloc(sizeof(double) * (size_t)G4);
    int32_t tok[9];
    for (int64_t i = 0; i < m * ldg; i++)
        g[i] = frand(&s) * 3.0f;
    for (int64_t i = 0; i < words * G4; i++)
        table[i] = frand(&s) * 2.0f;
    for (int64_t i = 0; i < G4; i++)
        bias[i] = frand(&s);
    for (int64_t b = 0; b < m; b++)
        tok[b] = (int32_t)((b * 5 + 3) % words);
    for (int64_t i = 0; i < m * H; i++)
        c[i] = c_ref[i] = frand(&s) * 2.0f;
    for (int64_t b = 0; b < m; b++) {
        for (int64_t r = 0; r < G4; r++)
            z[r] = (double)g[b * ldg + r] + (double)bias[r] + (use_table ? (double)table[tok[b] * G4 + r] : 0.0);
        ref_cell(H, z, c_ref + b * H, h_ref + b * H);
    }
    memset(h, 0xff, sizeof(float) * (size_t)(m * H));
    tf__pred_gates(H, m, g, ldg, use_table ? table : NULL, use_table ? tok : NULL, bias, c, h);
    check_close("gates h", level, H, h, h_ref, m * H);
    check_close("gates c", level, H, c, c_ref, m * H);
    free(g);
    free(bias);
    free(table);
    free(c);
    free(h);
    free(c_ref);
    free(h_ref);
    free(z);
}

static const int64_t sizes[] = {1, 5, 8, 9, 12, 16, 17, 24, 31, 33, 200};

static void test_kernels_match_reference(void **state)
{
    (void)state;
    const int best = tf__isa_best();
    const int levels[] = {0, 3, 4};
    int ran = 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (levels[l] > best)
            continue;
        tf__pred_step_force(levels[l]);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            check_step1(levels[l], sizes[i]);
            check_gates(levels[l], sizes[i], 1, 0);
            check_gates(levels[l], sizes[i], 9, 1);
        }
        ran++;
    }
    tf__pred_step_force(-1);
    assert_true(ran >= 1);
    assert_true(best == 0 || best == 3 || best == 4);
}

/* Packing puts weight (q*H + u, k) of unit u in block u/16 at row k, gate q; padding is zero. */
static void test_pack_layout(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const int64_t H = sizes[i], U = TF__PRED_UNITS;
        float *w = malloc(sizeof(float) * (size_t)(4 * H * H)), *wp = malloc(sizeof(float) * tf__pred_step1_floats(H));
        for (int64_t r = 0; r < 4 * H * H; r++)
            w[r] = (float)(r + 1);
        tf__pred_step1_pack(H, w, wp);
        size_t at = 0, nonzero = 0;
        for (int64_t j0 = 0; j0 < H; j0 += U) {
            const int64_t width = H - j0 <= U / 2 ? U / 2 : U; /* a narrow last block is packed narrow */
            for (int64_t k = 0; k < H; k++)
                for (int64_t q = 0; q < 4; q++)
                    for (int64_t u = 0; u < width; u++, at++) {
                        const float want = j0 + u < H ? w[(q * H + j0 + u) * H + k] : 0.0f;
                        assert_true(wp[at] == want);
                        nonzero += want != 0.0f;
                    }
        }
        assert_int_equal(at, tf__pred_step1_floats(H));
        assert_int_equal(nonzero, (size_t)(4 * H * H));
        free(w);
        free(wp);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_reference),
        cmocka_unit_test(test_pack_layout),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
