/* SPDX-License-Identifier: MIT */
/* The class-weighted fine-tuning losses (tf__weighted_loss) against PyTorch: fixtures from
 * tests/reference/gen_loss_fixtures.py (CrossEntropyLoss(weight=w) for four classes, the
 * weighted-mean BCE of a two-class single logit, BCEWithLogitsLoss(pos_weight=w) for three
 * labels), then a central finite-difference check of the gradient, and with every weight 1 the
 * plain losses of lib/nn.
 *
 * Tolerance: the loss is accumulated in double from f32 logits, so it matches the float64
 * reference to about 1e-12; the gradient is rounded to f32 once, so 1e-6 relative plus 1e-9. */
#include "tf_test.h"
#include "tf_fixture.h"
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

/* A fixture's batch and the minimal model state tf__weighted_loss reads. */
typedef struct {
    tf_fixture_t *fx;
    struct tf_model m;
    double w[8];
    int64_t B, K, C;
    const int32_t *labels;
    tf_tensor_t *logits, *sets, *grad;
    float z[64], g[64], y[64];
} wcase_t;

static void wcase_open(wcase_t *c, tf_ctx_t *ctx, const char *file)
{
    int64_t n, dims[4];
    uint32_t nd;
    memset(c, 0, sizeof *c);
    c->fx = tf_fixture_load(file);
    const int32_t *cfg = tf_fixture_i32(c->fx, "cfg", &n);
    assert_int_equal(n, 2);
    c->C = cfg[0];
    c->m.num_classes = cfg[0];
    c->m.multilabel = cfg[1];
    const double *w = tf_fixture_f64(c->fx, "weight", &n);
    assert_int_equal(n, c->C);
    memcpy(c->w, w, (size_t)n * sizeof *w);
    c->m.class_w = c->w;
    tf_fixture_shape(c->fx, "logits", dims, &nd);
    assert_int_equal(nd, 2);
    c->B = dims[0];
    c->K = dims[1];
    assert_int_equal(c->K, tf__head_width(&c->m));
    assert_true(c->B * c->K <= 64);
    memcpy(c->z, tf_fixture_f32(c->fx, "logits", NULL), (size_t)(c->B * c->K) * sizeof(float));
    int64_t shape[2] = {c->B, c->K};
    assert_ok(tf_tensor_wrap(&c->logits, ctx, TF_DTYPE_F32, shape, 2, c->z, sizeof c->z));
    assert_ok(tf_tensor_wrap(&c->grad, ctx, TF_DTYPE_F32, shape, 2, c->g, sizeof c->g));
    if (c->m.multilabel) {
        memcpy(c->y, tf_fixture_f32(c->fx, "sets", &n), (size_t)(c->B * c->C) * sizeof(float));
        assert_int_equal(n, c->B * c->C);
        int64_t sshape[2] = {c->B, c->C};
        assert_ok(tf_tensor_wrap(&c->sets, ctx, TF_DTYPE_F32, sshape, 2, c->y, sizeof c->y));
    } else {
        c->labels = tf_fixture_i32(c->fx, "labels", &n);
        assert_int_equal(n, c->B);
    }
}

static void wcase_close(wcase_t *c)
{
    tf_tensor_free(c->logits);
    tf_tensor_free(c->grad);
    tf_tensor_free(c->sets);
    tf_fixture_free(c->fx);
}

static double loss_at(wcase_t *c)
{
    double loss = NAN;
    assert_ok(tf__weighted_loss(&c->m, c->logits, c->labels, c->sets, &loss, NULL));
    return loss;
}

static void check_torch(const char *file)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    wcase_t c;
    wcase_open(&c, ctx, file);
    double loss = NAN, want = tf_fixture_scalar(c.fx, "loss");
    memset(c.g, 0xff, sizeof c.g); /* NaN everywhere: every element must be written */
    assert_ok(tf__weighted_loss(&c.m, c.logits, c.labels, c.sets, &loss, c.grad));
    if (!(fabs(loss - want) <= 1e-10 * fabs(want) + 1e-12))
        fail_msg("%s: loss %.17g, PyTorch %.17g", file, loss, want);
    tf_assert_close_f32(file, c.g, tf_fixture_f32(c.fx, "grad", NULL), c.B * c.K, 1e-6, 1e-9);
    /* Without a gradient buffer, the same loss. */
    assert_true(loss_at(&c) == loss);
    wcase_close(&c);
    tf_ctx_free(ctx);
}

static void test_ce4_matches_torch(void **state)
{
    (void)state;
    check_torch("train_wloss_ce4.tfx");
}

static void test_bce1_matches_torch(void **state)
{
    (void)state;
    check_torch("train_wloss_bce1.tfx");
}

static void test_multi3_matches_torch(void **state)
{
    (void)state;
    check_torch("train_wloss_multi3.tfx");
}

/* Central differences along each logit. The step actually taken is the f32 difference, so the
 * rounding of z + h does not count as error. The fixtures' large logits saturate the loss
 * (gradient ~0); their rows are checked at moderate values instead. */
static void check_finite_differences(const char *file)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    wcase_t c;
    wcase_open(&c, ctx, file);
    for (int64_t i = 0; i < c.B * c.K; i++)
        if (fabsf(c.z[i]) > 8.0f)
            c.z[i] = c.z[i] > 0 ? 3.5f : -2.5f;
    double loss;
    assert_ok(tf__weighted_loss(&c.m, c.logits, c.labels, c.sets, &loss, c.grad));
    for (int64_t i = 0; i < c.B * c.K; i++) {
        const float z0 = c.z[i];
        c.z[i] = z0 + 1e-2f;
        double hi_z = c.z[i], hi = loss_at(&c);
        c.z[i] = z0 - 1e-2f;
        double lo_z = c.z[i], lo = loss_at(&c);
        c.z[i] = z0;
        double fd = (hi - lo) / (hi_z - lo_z), an = c.g[i];
        if (!(fabs(fd - an) <= 1e-4 * fabs(an) + 1e-6))
            fail_msg("%s: d loss / d z[%lld]: analytic %.9g, finite difference %.9g", file,
                     (long long)i, an, fd);
    }
    wcase_close(&c);
    tf_ctx_free(ctx);
}

static void test_gradient_finite_differences(void **state)
{
    (void)state;
    check_finite_differences("train_wloss_ce4.tfx");
    check_finite_differences("train_wloss_bce1.tfx");
    check_finite_differences("train_wloss_multi3.tfx");
}

/* All weights 1: the weighted losses are the plain ones of lib/nn (mean over the batch, or over
 * all elements for multi-label). */
static void check_unit_weights(const char *file)
{
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    wcase_t c;
    float g2[64], t[64];
    tf_tensor_t *grad2, *targets;
    int64_t shape[2];
    wcase_open(&c, ctx, file);
    for (int64_t k = 0; k < c.C; k++)
        c.w[k] = 1.0;
    shape[0] = c.B;
    shape[1] = c.K;
    assert_ok(tf_tensor_wrap(&grad2, ctx, TF_DTYPE_F32, shape, 2, g2, sizeof g2));
    double loss, plain;
    assert_ok(tf__weighted_loss(&c.m, c.logits, c.labels, c.sets, &loss, c.grad));
    if (c.m.multilabel) {
        assert_ok(tf_loss_bce_with_logits(c.logits, c.sets, &plain, grad2));
    } else if (c.K == 1) {
        for (int64_t i = 0; i < c.B; i++)
            t[i] = (float)c.labels[i];
        assert_ok(tf_tensor_wrap(&targets, ctx, TF_DTYPE_F32, shape, 2, t, sizeof t));
        assert_ok(tf_loss_bce_with_logits(c.logits, targets, &plain, grad2));
        tf_tensor_free(targets);
    } else {
        int64_t lshape[1] = {c.B};
        assert_ok(tf_tensor_wrap(&targets, ctx, TF_DTYPE_I32, lshape, 1, (void *)c.labels,
                                 (size_t)c.B * sizeof *c.labels));
        assert_ok(tf_loss_cross_entropy(c.logits, targets, TF_NN_INDEX_NONE, &plain, grad2));
        tf_tensor_free(targets);
    }
    if (!(fabs(loss - plain) <= 1e-6 * fabs(plain)))
        fail_msg("%s: unit weights give %.9g, the plain loss %.9g", file, loss, plain);
    tf_assert_close_f32(file, c.g, g2, c.B * c.K, 1e-5, 1e-7);
    tf_tensor_free(grad2);
    wcase_close(&c);
    tf_ctx_free(ctx);
}

static void test_unit_weights_are_the_plain_losses(void **state)
{
    (void)state;
    check_unit_weights("train_wloss_ce4.tfx");
    check_unit_weights("train_wloss_bce1.tfx");
    check_unit_weights("train_wloss_multi3.tfx");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce4_matches_torch),
        cmocka_unit_test(test_bce1_matches_torch),
        cmocka_unit_test(test_multi3_matches_torch),
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_unit_weights_are_the_plain_losses),
    };
    return TF_TEST_RUN(tests);
}
