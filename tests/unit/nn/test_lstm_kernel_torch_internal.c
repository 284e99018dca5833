/* SPDX-License-Identifier: MIT */
/* The LSTM kernel against PyTorch: fixtures from tests/reference/gen_lstm_kernel_fixtures.py (a
 * one-layer bidirectional torch.nn.LSTM in float64, packed sequences for lengths). Both directions
 * run the way a bidirectional layer uses the kernel: y and dy are the halves of (T, B, 2H) rows and
 * both backward calls accumulate into the same dx.
 *
 * Tolerance: 1e-5 relative plus an absolute floor of 1e-6 x the largest magnitude of the tensor.
 * The kernel computes in float32: each value is a sum of up to max(I + H, 4H, T*B) products of O(1)
 * terms, so its rounding error is a few 1e-7 of the magnitude of the terms, not of the result;
 * elements that cancel to near zero need the floor (a relative test on them would test
 * cancellation, not the kernel). */
#include "tf_test.h"
#include "each_kernel.h"
#include "tf_fixture.h"
#include "cell_ref.h"

#include <math.h>
#include <string.h>

typedef void (*fwd_fn)(const tf__lstm_shape_t *, int, const float *, int64_t, const int32_t *,
                       const float *, const float *, const float *, const float *, const float *,
                       const float *, float *, int64_t, float *, float *, float *, float *);
typedef void (*bwd_fn)(const tf__lstm_shape_t *, int, const float *, int64_t, const int32_t *,
                       const float *, const float *, const float *, const float *, const float *,
                       int64_t, const float *, const float *, const float *, float *, float *,
                       int64_t, float *, float *, float *, float *, float *, float *);

static void check_close(const char *what, const float *got, const float *want, int64_t n)
{
    double maxw = 0;
    for (int64_t i = 0; i < n; i++)
        maxw = fmax(maxw, fabs((double)want[i]));
    tf_assert_close_f32(what, got, want, n, 1e-5, 1e-6 * maxw);
}

static const float *entry(const tf_fixture_t *fx, const char *name, const char *dir, int64_t n)
{
    char key[64];
    snprintf(key, sizeof key, "%s_%s", name, dir);
    int64_t got = 0;
    const float *p = tf_fixture_f32(fx, key, &got);
    assert_int_equal(got, n);
    return p;
}

static void check_fixture(const char *file, fwd_fn fwd, bwd_fn bwd)
{
    tf_fixture_t *fx = tf_fixture_load(file);
    int64_t dims[4];
    uint32_t nd = 0;
    tf_fixture_shape(fx, "x", dims, &nd);
    assert_int_equal(nd, 3);
    const int64_t T = dims[0], B = dims[1], I = dims[2];
    tf_fixture_shape(fx, "h0_fwd", dims, &nd);
    const int64_t H = dims[1];
    const tf__lstm_shape_t s = {I, H, T, B, 1};
    const int32_t *lengths = NULL;
    if (tf_fixture_has(fx, "lengths")) {
        int64_t nl = 0;
        lengths = tf_fixture_i32(fx, "lengths", &nl);
        assert_int_equal(nl, B);
    }
    const float *x = tf_fixture_f32(fx, "x", NULL);
    const float *dy = tf_fixture_f32(fx, "dy", NULL);
    float *cache = calloc(tf__lstm_cache_floats(&s), sizeof(float));
    float *work = calloc(tf__lstm_work_floats(&s), sizeof(float));
    float *y = calloc((size_t)(T * B * 2 * H), sizeof(float));
    float *dx = calloc((size_t)(T * B * I), sizeof(float));
    float *st[6]; /* h_n, c_n, dh0, dc0, and two spare */
    for (int k = 0; k < 6; k++)
        st[k] = calloc((size_t)(B * H), sizeof(float));
    float *dw_ih = calloc((size_t)(4 * H * I), sizeof(float));
    float *dw_hh = calloc((size_t)(4 * H * H), sizeof(float));
    float *db_ih = calloc((size_t)(4 * H), sizeof(float));
    float *db_hh = calloc((size_t)(4 * H), sizeof(float));
    assert_true(cache && work && y && dx && dw_ih && dw_hh && db_ih && db_hh);
    const char *dirs[2] = {"fwd", "rev"};
    for (int d = 0; d < 2; d++) {
        const char *dir = dirs[d];
        const float *w_ih = entry(fx, "w_ih", dir, 4 * H * I);
        const float *w_hh = entry(fx, "w_hh", dir, 4 * H * H);
        const float *h0 = entry(fx, "h0", dir, B * H), *c0 = entry(fx, "c0", dir, B * H);
        char what[64];
        memset(dw_ih, 0, sizeof(float) * (size_t)(4 * H * I));
        memset(dw_hh, 0, sizeof(float) * (size_t)(4 * H * H));
        memset(db_ih, 0, sizeof(float) * (size_t)(4 * H));
        memset(db_hh, 0, sizeof(float) * (size_t)(4 * H));
        for (int k = 0; k < 4; k++)
            memset(st[k], 0, sizeof(float) * (size_t)(B * H));
        fwd(&s, d, x, I, lengths, w_ih, w_hh, entry(fx, "b_ih", dir, 4 * H),
            entry(fx, "b_hh", dir, 4 * H), h0, c0, y + d * H, 2 * H, st[0], st[1], cache, work);
        snprintf(what, sizeof what, "%s h_n_%s", file, dir);
        check_close(what, st[0], entry(fx, "h_n", dir, B * H), B * H);
        snprintf(what, sizeof what, "%s c_n_%s", file, dir);
        check_close(what, st[1], entry(fx, "c_n", dir, B * H), B * H);
        bwd(&s, d, x, I, lengths, w_ih, w_hh, h0, c0, dy + d * H, 2 * H,
            entry(fx, "dh_n", dir, B * H), entry(fx, "dc_n", dir, B * H), cache, work, dx, I,
            dw_ih, dw_hh, db_ih, db_hh, st[2], st[3]);
        const struct {
            const char *name;
            const float *got;
            int64_t n;
        } grads[] = {{"dw_ih", dw_ih, 4 * H * I}, {"dw_hh", dw_hh, 4 * H * H},
                     {"db_ih", db_ih, 4 * H},     {"db_hh", db_hh, 4 * H},
                     {"dh0", st[2], B * H},       {"dc0", st[3], B * H}};
        for (size_t k = 0; k < sizeof grads / sizeof grads[0]; k++) {
            snprintf(what, sizeof what, "%s %s_%s", file, grads[k].name, dir);
            check_close(what, grads[k].got, entry(fx, grads[k].name, dir, grads[k].n), grads[k].n);
        }
    }
    int64_t n = 0;
    const float *want_y = tf_fixture_f32(fx, "y", &n);
    assert_int_equal(n, T * B * 2 * H);
    check_close("y", y, want_y, n);
    const float *want_dx = tf_fixture_f32(fx, "dx", &n);
    assert_int_equal(n, T * B * I);
    check_close("dx", dx, want_dx, n);
    for (int k = 0; k < 6; k++)
        free(st[k]);
    free(cache);
    free(work);
    free(y);
    free(dx);
    free(dw_ih);
    free(dw_hh);
    free(db_ih);
    free(db_hh);
    tf_fixture_free(fx);
}

static void test_torch_bidirectional(void **state)
{
    (void)state;
    check_fixture("lstm_kernel_bi.tfx", tf__lstm_forward, tf__lstm_backward);
}

static void test_torch_bidirectional_lengths(void **state)
{
    (void)state;
    check_fixture("lstm_kernel_bi_lengths.tfx", tf__lstm_forward, tf__lstm_backward);
}

static void test_torch_bidirectional_lengths_batch66(void **state)
{
    (void)state;
    check_fixture("lstm_kernel_bi_lengths_b66.tfx", tf__lstm_forward, tf__lstm_backward);
}

static void test_torch_reference_path(void **state)
{
    (void)state;
    check_fixture("lstm_kernel_bi.tfx", tf__lstm_forward_ref, tf__lstm_backward_ref);
    check_fixture("lstm_kernel_bi_lengths.tfx", tf__lstm_forward_ref, tf__lstm_backward_ref);
    check_fixture("lstm_kernel_bi_lengths_b66.tfx", tf__lstm_forward_ref, tf__lstm_backward_ref);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_bidirectional),
        cmocka_unit_test(test_torch_bidirectional_lengths),
        cmocka_unit_test(test_torch_bidirectional_lengths_batch66),
        cmocka_unit_test(test_torch_reference_path),
    };
    return TF_TEST_RUN_EACH_KERNEL(tests);
}
