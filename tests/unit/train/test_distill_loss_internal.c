/* SPDX-License-Identifier: MIT */
/* The distillation loss (tf__distill_loss) against PyTorch: fixtures from
 * tests/reference/gen_distill_fixtures.py (kl_div of log-softmaxes at temperature T, times T^2,
 * for three classes, a two-class single logit and four labels), then a central finite-difference
 * check of the gradient, and the properties the training relies on: zero loss and gradient when
 * the student matches the teacher, and the gradient's factor.
 *
 * Tolerance: the loss is accumulated in double from f32 logits, so it matches the float64
 * reference to about 1e-12; the gradient is rounded to f32 once, so 1e-6 relative plus 1e-9. */
#include "tf_test.h"
#include "tf_fixture.h"
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

typedef struct {
    tf_fixture_t *fx;
    int32_t per_logit;
    double T;
    int64_t B, K;
    float zs[64], zt[64], g[64];
} dcase_t;

static void dcase_open(dcase_t *c, const char *file)
{
    int64_t n, dims[4];
    uint32_t nd;
    memset(c, 0, sizeof *c);
    c->fx = tf_fixture_load(file);
    c->per_logit = tf_fixture_i32(c->fx, "cfg", &n)[0];
    c->T = tf_fixture_scalar(c->fx, "T");
    tf_fixture_shape(c->fx, "zs", dims, &nd);
    assert_int_equal(nd, 2);
    c->B = dims[0];
    c->K = dims[1];
    assert_true(c->B * c->K <= 64);
    memcpy(c->zs, tf_fixture_f32(c->fx, "zs", &n), (size_t)(c->B * c->K) * sizeof(float));
    memcpy(c->zt, tf_fixture_f32(c->fx, "zt", &n), (size_t)(c->B * c->K) * sizeof(float));
}

static double loss_at(dcase_t *c)
{
    double loss = NAN;
    tf__distill_loss(c->zs, c->zt, c->B, c->K, c->per_logit, c->T, 1.0, &loss, NULL);
    return loss;
}

static void check_torch(const char *file)
{
    dcase_t c;
    dcase_open(&c, file);
    double loss = NAN, want = tf_fixture_scalar(c.fx, "loss");
    memset(c.g, 0xff, sizeof c.g); /* NaN everywhere: every element must be written */
    tf__distill_loss(c.zs, c.zt, c.B, c.K, c.per_logit, c.T, 1.0, &loss, c.g);
    if (!(fabs(loss - want) <= 1e-10 * fabs(want) + 1e-12))
        fail_msg("%s: loss %.17g, PyTorch %.17g", file, loss, want);
    tf_assert_close_f32(file, c.g, tf_fixture_f32(c.fx, "grad", NULL), c.B * c.K, 1e-6, 1e-9);
    assert_true(loss_at(&c) == loss); /* the same without a gradient */
    tf_fixture_free(c.fx);
}

static void test_soft3_matches_torch(void **state)
{
    (void)state;
    check_torch("train_distill_soft3.tfx");
}

static void test_bin1_matches_torch(void **state)
{
    (void)state;
    check_torch("train_distill_bin1.tfx");
}

static void test_multi4_matches_torch(void **state)
{
    (void)state;
    check_torch("train_distill_multi4.tfx");
}

/* Central differences along each student logit; the step actually taken is the f32 difference.
 * Saturated logits (|z| > 8 T) are moved to moderate values, where the gradient is not ~0. */
static void check_finite_differences(const char *file)
{
    dcase_t c;
    double loss;
    dcase_open(&c, file);
    for (int64_t i = 0; i < c.B * c.K; i++) {
        if (fabsf(c.zs[i]) > 8.0f * (float)c.T)
            c.zs[i] = c.zs[i] > 0 ? 3.5f : -2.5f;
        if (fabsf(c.zt[i]) > 8.0f * (float)c.T)
            c.zt[i] = c.zt[i] > 0 ? 4.0f : -1.5f;
    }
    tf__distill_loss(c.zs, c.zt, c.B, c.K, c.per_logit, c.T, 1.0, &loss, c.g);
    for (int64_t i = 0; i < c.B * c.K; i++) {
        const float z0 = c.zs[i];
        c.zs[i] = z0 + 1e-2f;
        double hi_z = c.zs[i], hi = loss_at(&c);
        c.zs[i] = z0 - 1e-2f;
        double lo_z = c.zs[i], lo = loss_at(&c);
        c.zs[i] = z0;
        double fd = (hi - lo) / (hi_z - lo_z), an = c.g[i];
        if (!(fabs(fd - an) <= 1e-4 * fabs(an) + 1e-6))
            fail_msg("%s: d loss / d zs[%lld]: analytic %.9g, finite difference %.9g", file,
                     (long long)i, an, fd);
    }
    tf_fixture_free(c.fx);
}

static void test_gradient_finite_differences(void **state)
{
    (void)state;
    check_finite_differences("train_distill_soft3.tfx");
    check_finite_differences("train_distill_bin1.tfx");
    check_finite_differences("train_distill_multi4.tfx");
}

/* A student that already gives the teacher's logits has nothing to learn: loss and gradient 0
 * (up to rounding), whatever the temperature; a student off the teacher has a positive loss. */
static void test_matching_student_has_zero_loss(void **state)
{
    (void)state;
    const char *files[] = {"train_distill_soft3.tfx", "train_distill_bin1.tfx",
                           "train_distill_multi4.tfx"};
    for (int f = 0; f < 3; f++) {
        dcase_t c;
        double loss;
        dcase_open(&c, files[f]);
        assert_true(loss_at(&c) > 1e-3);
        memcpy(c.zs, c.zt, sizeof c.zs);
        tf__distill_loss(c.zs, c.zt, c.B, c.K, c.per_logit, c.T, 1.0, &loss, c.g);
        if (!(fabs(loss) <= 1e-12))
            fail_msg("%s: the teacher's own logits give loss %.3g", files[f], loss);
        for (int64_t i = 0; i < c.B * c.K; i++)
            if (!(fabsf(c.g[i]) <= 1e-7f))
                fail_msg("%s: gradient %g at %lld for the teacher's own logits", files[f],
                         (double)c.g[i], (long long)i);
        tf_fixture_free(c.fx);
    }
}

/* `scale` multiplies the gradient only (the loss mixes it with the hard labels' weight). */
static void test_scale_multiplies_the_gradient(void **state)
{
    (void)state;
    dcase_t c;
    float g1[64];
    double l1, l2;
    dcase_open(&c, "train_distill_soft3.tfx");
    tf__distill_loss(c.zs, c.zt, c.B, c.K, c.per_logit, c.T, 1.0, &l1, g1);
    tf__distill_loss(c.zs, c.zt, c.B, c.K, c.per_logit, c.T, 0.25, &l2, c.g);
    assert_true(l1 == l2);
    for (int64_t i = 0; i < c.B * c.K; i++)
        g1[i] *= 0.25f;
    tf_assert_close_f32("scaled gradient", c.g, g1, c.B * c.K, 1e-6, 0);
    tf_fixture_free(c.fx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soft3_matches_torch),
        cmocka_unit_test(test_bin1_matches_torch),
        cmocka_unit_test(test_multi4_matches_torch),
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_matching_student_has_zero_loss),
        cmocka_unit_test(test_scale_multiplies_the_gradient),
    };
    return TF_TEST_RUN(tests);
}
