/* SPDX-License-Identifier: MIT */
/* The path integral's core (tf__explain_path): the gradient at one point of the path against
 * central differences of the public predictions (tf_predict_features on a numeric model;
 * tf_predict_ids with the embedding rows moved for a token model), and steps after the last valid
 * one (padding) that get exactly zero whatever they hold. The models are the PyTorch fixtures of
 * test_explain.c. */
#include "tf_test.h"
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

#define FIX TF_TEST_DATA_DIR "/reference/fixtures/"

static const char *const labels3[] = {"a", "b", "c"};
static const char *const labels4[] = {"a", "b", "c", "d"};

static tf_model_t *import_num(tf_ctx_t *ctx)
{
    tf_model_opts_t a;
    tf_import_opts_t h;
    tf_model_t *m;
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    tf_import_opts_init(&h, TF_IMPORT_OPTS_VERSION);
    a.input = TF_MODEL_INPUT_FEATURES, a.num_features = 3;
    a.embedding_dim = 5, a.hidden_size = 7;
    h.labels = labels4, h.num_labels = 4, h.pooling = TF_POOL_LAST | TF_POOL_MEAN;
    assert_ok(tf_model_import(&m, ctx, FIX "explain_num.safetensors", NULL, &a, &h));
    return m;
}

static tf_model_t *import_cls3(tf_ctx_t *ctx)
{
    tf_model_opts_t a;
    tf_import_opts_t h;
    tf_vocab_t *v;
    tf_model_t *m;
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    tf_import_opts_init(&h, TF_IMPORT_OPTS_VERSION);
    a.embedding_dim = 8, a.hidden_size = 12, a.num_layers = 2;
    h.labels = labels3, h.num_labels = 3;
    assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    assert_ok(tf_model_import(&m, ctx, FIX "explain_cls3.safetensors", v, &a, &h));
    tf_vocab_free(v);
    return m;
}

static void check_directional(const char *what, double got, double want)
{
    if (fabs(got - want) > 1e-4 + 1e-2 * fabs(want))
        fail_msg("%s: directional derivative %.7g, central differences %.7g", what, got, want);
}

/* Numeric model: the gradient of p(class 2) at points 0.3 and 1 of the path from zero. */
static void test_explain_path_gradient_matches_finite_differences_numeric(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_num(ctx);
    enum { T = 4, F = 3, N = T * F };
    float x[N], base[N] = {0}, pt[N], probs[4];
    double grad[N], f, d[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)(1.2 * sin(1.7 * i + 0.3));
        d[i] = cos(2.3 * i);
    }
    const double alphas[] = {0.3, 1.0}, one = 1.0, h = 1e-3;
    for (int k = 0; k < 2; k++) {
        assert_ok(tf__explain_path(m, x, base, T, T, 2, &alphas[k], &one, 1, 1, &f, grad));
        double got = 0, fp, fm;
        for (int i = 0; i < N; i++)
            got += grad[i] * d[i];
        for (int i = 0; i < N; i++)
            pt[i] = (float)(alphas[k] * x[i] + h * d[i]);
        assert_ok(tf_predict_features(m, pt, T, probs, 4));
        fp = probs[2];
        for (int i = 0; i < N; i++)
            pt[i] = (float)(alphas[k] * x[i] - h * d[i]);
        assert_ok(tf_predict_features(m, pt, T, probs, 4));
        fm = probs[2];
        for (int i = 0; i < N; i++)
            pt[i] = (float)(alphas[k] * x[i]);
        assert_ok(tf_predict_features(m, pt, T, probs, 4));
        assert_true(fabs(f - probs[2]) < 1e-5);
        check_directional("numeric", got, (fp - fm) / (2 * h));
    }
    tf_model_free(m);
}

/* Token model: the embedding rows of distinct tokens moved along a direction change only their
 * own positions' inputs, so tf_predict_ids measures the derivative along it. */
static void test_explain_path_gradient_matches_finite_differences_tokens(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_cls3(ctx);
    enum { T = 5, E = 8, N = T * E };
    const int32_t ids[T] = {4, 9, 17, 33, 5};
    tf__param_t *wp = tf__embedding_weight(m->encoder);
    float *W = wp->value.data;
    float x[N], base[N] = {0}, saved[N], probs[3];
    double grad[N], f, d[N], one = 1.0, alpha = 1.0, h = 1e-2;
    for (int t = 0; t < T; t++)
        memcpy(x + t * E, W + ids[t] * E, E * sizeof *x);
    memcpy(saved, x, sizeof saved);
    for (int i = 0; i < N; i++)
        d[i] = sin(0.9 * i + 0.2);
    assert_ok(tf__explain_path(m, x, base, T, T, 1, &alpha, &one, 1, 1, &f, grad));
    assert_ok(tf_predict_ids(m, ids, T, probs, 3));
    assert_true(fabs(f - probs[1]) < 1e-5);
    double got = 0, fp, fm;
    for (int i = 0; i < N; i++)
        got += grad[i] * d[i];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < E; i++)
            W[ids[t] * E + i] = (float)(saved[t * E + i] + h * d[t * E + i]);
    assert_ok(tf_predict_ids(m, ids, T, probs, 3));
    fp = probs[1];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < E; i++)
            W[ids[t] * E + i] = (float)(saved[t * E + i] - h * d[t * E + i]);
    assert_ok(tf_predict_ids(m, ids, T, probs, 3));
    fm = probs[1];
    for (int t = 0; t < T; t++)
        memcpy(W + ids[t] * E, saved + t * E, E * sizeof *W);
    check_directional("tokens", got, (fp - fm) / (2 * h));
    tf_model_free(m);
}

/* Steps after `len` (the batch's padding) do not reach the output: their gradient is exactly
 * zero even when they hold NaN, and the valid steps get what the unpadded sequence gets. */
static void test_explain_path_padding_gets_exactly_zero(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_cls3(ctx);
    enum { T = 9, L = 5, E = 8 };
    float x[T * E], base[T * E];
    double grad[T * E], ref[L * E], f[4], fref[4];
    const double alpha[4] = {0.1, 0.4, 0.7, 1.0}, weight[4] = {0.25, 0.25, 0.25, 0.25};
    for (int i = 0; i < T * E; i++) {
        x[i] = (float)sin(0.37 * i);
        base[i] = (float)(0.1 * cos(0.5 * i));
    }
    for (int i = L * E; i < T * E; i++)
        x[i] = base[i] = NAN;
    assert_ok(tf__explain_path(m, x, base, L, L, 0, alpha, weight, 4, 4, fref, ref));
    assert_ok(tf__explain_path(m, x, base, T, L, 0, alpha, weight, 4, 2, f, grad));
    for (int i = L * E; i < T * E; i++)
        assert_true(grad[i] == 0.0);
    for (int i = 0; i < L * E; i++)
        assert_true(fabs(grad[i] - ref[i]) <= 1e-6 + 1e-5 * fabs(ref[i]));
    for (int k = 0; k < 4; k++)
        assert_true(fabs(f[k] - fref[k]) < 1e-6);
    tf_model_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_explain_path_gradient_matches_finite_differences_numeric,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_path_gradient_matches_finite_differences_tokens,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_path_padding_gets_exactly_zero,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
