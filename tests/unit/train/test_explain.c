/* SPDX-License-Identifier: MIT */
/* tf_explain_text and tf_explain_features: integrated gradients against PyTorch's autograd on the
 * same weights (tests/reference/gen_explain_fixtures.py), the method's completeness axiom, exact
 * zeros where the input equals the baseline, and hostile arguments. The gradients at single
 * points of the path and padded steps are checked in test_explain_internal.c. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIX TF_TEST_DATA_DIR "/reference/fixtures/"

static const char *const labels2[] = {"ham", "spam"};
static const char *const labels3[] = {"a", "b", "c"};
static const char *const labels4[] = {"a", "b", "c", "d"};

/* The generator's three models, imported with their architectures. */
static tf_model_t *import_model(tf_ctx_t *ctx, const char *name)
{
    tf_model_opts_t a;
    tf_import_opts_t h;
    tf_vocab_t *v = NULL;
    tf_model_t *m;
    char path[256];
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    tf_import_opts_init(&h, TF_IMPORT_OPTS_VERSION);
    if (strcmp(name, "cls3") == 0) {
        a.embedding_dim = 8, a.hidden_size = 12, a.num_layers = 2;
        h.labels = labels3, h.num_labels = 3;
    } else if (strcmp(name, "bin") == 0) {
        a.embedding_dim = 6, a.hidden_size = 10, a.cell = TF_CELL_GRU;
        h.labels = labels2, h.num_labels = 2, h.pooling = TF_POOL_LAST | TF_POOL_MEAN;
    } else {
        a.input = TF_MODEL_INPUT_FEATURES, a.num_features = 3;
        a.embedding_dim = 5, a.hidden_size = 7;
        h.labels = labels4, h.num_labels = 4, h.pooling = TF_POOL_LAST | TF_POOL_MEAN;
    }
    if (a.input == TF_MODEL_INPUT_TOKENS)
        assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    snprintf(path, sizeof path, FIX "explain_%s.safetensors", name);
    assert_ok(tf_model_import(&m, ctx, path, v, &a, &h));
    tf_vocab_free(v);
    return m;
}

/* The text whose tokens are `ids` in the fixture vocabulary ("w4" ... "w49"; "zzz" is unknown). */
static void text_of(const int32_t *ids, int64_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < n; i++) {
        int w = ids[i] == 1 ? snprintf(buf + used, cap - used, "%szzz", i ? " " : "")
                            : snprintf(buf + used, cap - used, "%sw%d", i ? " " : "", ids[i]);
        assert_true(w > 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
}

static tf_explain_result_t new_result(void)
{
    tf_explain_result_t r;
    assert_ok(tf_explain_result_init(&r, TF_EXPLAIN_RESULT_VERSION));
    return r;
}

/* |got - want| <= atol + rtol * max |want| for each of n values. */
static void assert_close_scaled(const char *what, const float *got, const double *want, int64_t n,
                                double rtol, double atol)
{
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (e > worst)
            worst = e, at = i;
    }
    if (worst > atol + rtol * scale)
        fail_msg("%s: element %lld is %.9g, PyTorch %.9g (scale %.3g)", what, (long long)at,
                 (double)got[at], want[at], scale);
}

/* Every probe of the fixture, both rules: attributions, f(x) and f(x') as PyTorch computed. */
static void test_explain_matches_torch(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_fixture_t *fx = tf_fixture_load("explain_expect.tfx");
    const char *models[] = {"cls3", "bin", "num"};
    int checked = 0;
    for (int mi = 0; mi < 3; mi++) {
        tf_model_t *m = import_model(ctx, models[mi]);
        for (int k = 0;; k++) {
            char name[64], text[512];
            snprintf(name, sizeof name, "%s.in.%d", models[mi], k);
            if (!tf_fixture_has(fx, name))
                break;
            tf_explain_opts_t o;
            tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
            snprintf(name, sizeof name, "%s.class.%d", models[mi], k);
            o.target_class = (int32_t)tf_fixture_scalar(fx, name);
            snprintf(name, sizeof name, "%s.steps.%d", models[mi], k);
            o.steps = (int32_t)tf_fixture_scalar(fx, name);
            for (int rule = 0; rule < 2; rule++) {
                o.rule = rule ? TF_EXPLAIN_TRAPEZOID : TF_EXPLAIN_GAUSS_LEGENDRE;
                float attr[64];
                int64_t n, nwant;
                tf_explain_result_t r = new_result();
                snprintf(name, sizeof name, "%s.in.%d", models[mi], k);
                if (mi < 2) {
                    const int32_t *ids = tf_fixture_i32(fx, name, &n);
                    int32_t got_ids[64];
                    snprintf(name, sizeof name, "%s.baseline.%d", models[mi], k);
                    int b = (int)tf_fixture_scalar(fx, name);
                    o.baseline = b < 0   ? TF_EXPLAIN_BASELINE_ZERO
                                 : b == 0 ? TF_EXPLAIN_BASELINE_PAD
                                          : TF_EXPLAIN_BASELINE_UNK;
                    text_of(ids, n, text, sizeof text);
                    assert_ok(tf_explain_text(m, text, strlen(text), &o, attr, got_ids, 64, &r));
                    assert_int_equal(r.num_steps, n);
                    assert_memory_equal(got_ids, ids, (size_t)n * sizeof *ids);
                } else {
                    const float *x = tf_fixture_f32(fx, name, &n);
                    assert_ok(tf_explain_features(m, x, n / 3, &o, attr, 64, &r));
                    assert_int_equal(r.num_steps, n / 3);
                }
                snprintf(name, sizeof name, "%s.%s.attr.%d", models[mi], rule ? "trap" : "gl", k);
                const double *want = tf_fixture_f64(fx, name, &nwant);
                assert_int_equal(nwant, n);
                assert_close_scaled(name, attr, want, n, 2e-4, 1e-6);
                snprintf(name, sizeof name, "%s.fx.%d", models[mi], k);
                assert_true(fabs(r.f_input - tf_fixture_scalar(fx, name)) < 1e-5);
                snprintf(name, sizeof name, "%s.fb.%d", models[mi], k);
                assert_true(fabs(r.f_baseline - tf_fixture_scalar(fx, name)) < 1e-5);
                assert_int_equal(r.target_class, o.target_class);
                double sum = 0;
                for (int64_t i = 0; i < n; i++)
                    sum += attr[i];
                assert_true(fabs(sum - r.sum) < 1e-5);
                assert_true(fabs(r.gap - (r.sum - (r.f_input - r.f_baseline))) < 1e-12);
                checked++;
            }
        }
        tf_model_free(m);
    }
    assert_int_equal(checked, 12);
    tf_fixture_free(fx);
}

/* Completeness: the attributions sum to f(x) - f(x') within 1% with enough steps, both rules
 * converge as steps grow, and f(x) is tf_predict_text's probability of the predicted class. */
static void test_explain_completeness(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "cls3");
    const char *text = "w48 w12 w7 w7 w30 w21 w44 w6 w19 w25 w3 w40 w41";
    float probs[3], attr[16];
    assert_ok(tf_predict_text(m, text, strlen(text), probs, 3));
    int32_t pred = 0;
    for (int32_t c = 1; c < 3; c++)
        if (probs[c] > probs[pred])
            pred = c;
    for (int rule = 0; rule < 2; rule++) {
        double prev = INFINITY;
        int32_t steps[] = {2, 8, 64};
        for (int s = 0; s < 3; s++) {
            tf_explain_opts_t o;
            tf_explain_result_t r = new_result();
            tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
            o.rule = rule ? TF_EXPLAIN_TRAPEZOID : TF_EXPLAIN_GAUSS_LEGENDRE;
            o.steps = steps[s];
            assert_ok(tf_explain_text(m, text, strlen(text), &o, attr, NULL, 16, &r));
            assert_int_equal(r.predicted_class, pred);
            assert_int_equal(r.target_class, pred);
            assert_true(fabs(r.f_input - probs[pred]) < 1e-5);
            double delta = r.f_input - r.f_baseline;
            assert_true(fabs(delta) > 0.05); /* the check below is not about a vanishing delta */
            if (steps[s] == 64 && fabs(r.gap) > 0.01 * fabs(delta))
                fail_msg("rule %d, 64 steps: gap %.3g of f(x) - f(x') = %.4f", rule, r.gap, delta);
            assert_true(fabs(r.gap) <= prev + 1e-7);
            prev = fabs(r.gap);
        }
    }
    tf_model_free(m);
}

/* A token equal to the baseline token gets exactly zero: <unk> tokens with the <unk> baseline,
 * whatever they do to the recurrent state; and the padded token with the <pad> baseline. */
static void test_explain_baseline_tokens_get_exactly_zero(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "bin");
    const char *text = "w13 zzz w40 qqq w11 zzz";
    float attr[8];
    int32_t ids[8];
    tf_explain_opts_t o;
    tf_explain_result_t r = new_result();
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.baseline = TF_EXPLAIN_BASELINE_UNK;
    o.steps = 16;
    assert_ok(tf_explain_text(m, text, strlen(text), &o, attr, ids, 8, &r));
    assert_int_equal(r.num_steps, 6);
    int zeros = 0;
    for (int t = 0; t < 6; t++) {
        if (ids[t] == TF_VOCAB_UNK) {
            assert_true(attr[t] == 0.0f);
            zeros++;
        } else {
            assert_true(attr[t] != 0.0f);
        }
    }
    assert_int_equal(zeros, 3);
    tf_model_free(m);
}

/* A sequence whose later steps equal the zero baseline: those steps get exactly zero. */
static void test_explain_features_zero_steps_get_exactly_zero(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "num");
    float x[5 * 3] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    float attr[15];
    tf_explain_result_t r = new_result();
    assert_ok(tf_explain_features(m, x, 5, NULL, attr, 15, &r));
    for (int i = 6; i < 15; i++)
        assert_true(attr[i] == 0.0f);
    assert_true(attr[0] != 0.0f && attr[5] != 0.0f);
    tf_model_free(m);
}

/* A model that standardises its input explains raw values as the same model without
 * standardisation explains the standardised ones (zero there is the training mean). */
static void test_explain_features_standardised(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "num");
    enum { T = 4, F = 3, N = T * F };
    const float mean[F] = {2.0f, -1.0f, 0.5f}, sd[F] = {4.0f, 0.5f, 2.0f};
    float z[N], x[N], az[N], ax[N];
    tf_explain_result_t rz = new_result(), rx = new_result();
    for (int i = 0; i < N; i++) {
        z[i] = (float)(2.0 * sin(1.3 * i + 0.4));
        x[i] = z[i] * sd[i % F] + mean[i % F];
    }
    assert_ok(tf_explain_features(m, z, T, NULL, az, N, &rz));
    assert_ok(tf_model_set_standardization(m, mean, sd, F));
    assert_ok(tf_explain_features(m, x, T, NULL, ax, N, &rx));
    for (int i = 0; i < N; i++)
        assert_true(fabs(az[i] - ax[i]) <= 1e-6 + 1e-4 * fabs(az[i]));
    assert_true(fabs(rz.f_input - rx.f_input) < 1e-6 && fabs(rz.f_baseline - rx.f_baseline) < 1e-6);
    assert_true(fabs(rz.f_input - rz.f_baseline) > 1e-3);
    tf_model_free(m);
}

/* Passes of a few points give what one pass gives; the model's gradients, weights and trainable
 * flags are left as they were. */
static void test_explain_batches_and_leaves_the_model_alone(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "cls3");
    tf_module_t *enc = tf_model_encoder(m);
    const char *text = "w4 w9 w17 w33 w5 w20";
    float a1[8], a2[8];
    tf_explain_opts_t o;
    tf_explain_result_t r1 = new_result(), r2 = new_result();
    assert_ok(tf_module_freeze(enc, "lstm.weight_hh_l1", 1));
    tf_tensor_t *w0, *g0;
    assert_ok(tf_module_param_at(NULL, &w0, &g0, enc, 0));
    size_t nw = (size_t)tf_tensor_numel(w0);
    float *before = malloc(nw * sizeof *before);
    memcpy(before, tf_tensor_data(w0), nw * sizeof *before);
    float *gbefore = malloc(nw * sizeof *gbefore);
    memcpy(gbefore, tf_tensor_data(g0), nw * sizeof *gbefore);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    assert_ok(tf_explain_text(m, text, strlen(text), &o, a1, NULL, 8, &r1));
    o.batch_size = 5;
    assert_ok(tf_explain_text(m, text, strlen(text), &o, a2, NULL, 8, &r2));
    for (int t = 0; t < 6; t++)
        assert_true(fabs(a1[t] - a2[t]) <= 1e-6 + 1e-5 * fabs(a1[t]));
    assert_true(fabs(r1.f_input - r2.f_input) < 1e-6);
    assert_memory_equal(before, tf_tensor_data(w0), nw * sizeof *before);
    assert_memory_equal(gbefore, tf_tensor_data(g0), nw * sizeof *gbefore);
    for (uint32_t i = 0; i < tf_module_num_params(enc); i++) {
        const char *name;
        tf_tensor_t *p;
        assert_ok(tf_module_param_at(&name, &p, NULL, enc, i));
        assert_int_equal(tf_tensor_requires_grad(p), strcmp(name, "lstm.weight_hh_l1") != 0);
    }
    free(before);
    free(gbefore);
    tf_model_free(m);
}

/* A NULL buffer asks for the size; a short one is refused with the size given. */
static void test_explain_size_query_and_short_buffer(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "cls3");
    const char *text = "w4 w9 w17";
    float attr[2];
    tf_explain_result_t r = new_result();
    assert_ok(tf_explain_text(m, text, strlen(text), NULL, NULL, NULL, 0, &r));
    assert_int_equal(r.num_steps, 3);
    r = new_result();
    assert_status(tf_explain_text(m, text, strlen(text), NULL, attr, NULL, 2, &r), TF_STATUS_EBUFSIZE);
    assert_int_equal(r.num_steps, 3);
    tf_model_free(m);
    m = import_model(ctx, "num");
    float x[6] = {1, 2, 3, 4, 5, 6};
    r = new_result();
    assert_ok(tf_explain_features(m, x, 2, NULL, NULL, 0, &r));
    assert_int_equal(r.num_steps, 2);
    assert_status(tf_explain_features(m, x, 2, NULL, attr, 2, &r), TF_STATUS_EBUFSIZE);
    tf_model_free(m);
}

static void test_explain_refuses_hostile_input(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_model_t *m = import_model(ctx, "cls3");
    tf_model_t *num = import_model(ctx, "num");
    const char *text = "w4 w9";
    float attr[8], x[3] = {1, 2, 3};
    tf_explain_opts_t o;
    tf_explain_result_t r = new_result();
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    assert_status(tf_explain_text(NULL, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_text(m, NULL, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, NULL), TF_STATUS_EINVAL);
    assert_status(tf_explain_text(m, "", 0, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_text(m, "   \t ", 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    o.target_class = 3;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "target_class"));
    o.target_class = -2;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.steps = 0;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    o.steps = TF_EXPLAIN_MAX_STEPS + 1;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.rule = 3;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.baseline = 0;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.batch_size = -1;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.reserved = 1;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    o.version = 0;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EVERSION);
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    r.struct_size = 4;
    assert_status(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_EINVAL);
    r = new_result();
    /* the wrong kind of model for each call */
    assert_status(tf_explain_features(m, x, 1, &o, attr, 8, &r), TF_STATUS_ESTATE);
    assert_status(tf_explain_text(num, text, 5, &o, attr, NULL, 8, &r), TF_STATUS_ESTATE);
    /* numeric input: steps, non-finite values, token baselines */
    assert_status(tf_explain_features(num, x, 0, &o, attr, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_features(num, x, -3, &o, attr, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_features(num, NULL, 1, &o, attr, 8, &r), TF_STATUS_EINVAL);
    x[1] = NAN;
    assert_status(tf_explain_features(num, x, 1, &o, attr, 8, &r), TF_STATUS_EINVAL);
    x[1] = INFINITY;
    assert_status(tf_explain_features(num, x, 1, &o, attr, 8, &r), TF_STATUS_EINVAL);
    x[1] = 2;
    o.baseline = TF_EXPLAIN_BASELINE_PAD;
    assert_status(tf_explain_features(num, x, 1, &o, attr, 8, &r), TF_STATUS_EINVAL);
    assert_status(tf_explain_opts_init(NULL, TF_EXPLAIN_OPTS_VERSION), TF_STATUS_EINVAL);
    assert_status(tf_explain_opts_init(&o, 99), TF_STATUS_EVERSION);
    assert_status(tf_explain_result_init(&r, 0), TF_STATUS_EVERSION);
    /* still usable after every refusal */
    tf_explain_opts_init(&o, TF_EXPLAIN_OPTS_VERSION);
    r = new_result();
    assert_ok(tf_explain_text(m, text, 5, &o, attr, NULL, 8, &r));
    tf_model_free(num);
    tf_model_free(m);
}

/* A model without a task head has nothing to explain. */
static void test_explain_needs_a_task_head(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_vocab_t *v;
    tf_model_t *m;
    tf_model_opts_t a;
    float attr[4];
    tf_explain_result_t r = new_result();
    assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    a.embedding_dim = 4, a.hidden_size = 4;
    assert_ok(tf_model_create(&m, ctx, v, &a));
    assert_status(tf_explain_text(m, "w4", 2, NULL, attr, NULL, 4, &r), TF_STATUS_ESTATE);
    tf_model_free(m);
    tf_vocab_free(v);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_explain_matches_torch, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_completeness, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_baseline_tokens_get_exactly_zero,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_features_zero_steps_get_exactly_zero,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_features_standardised, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_batches_and_leaves_the_model_alone,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_size_query_and_short_buffer,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_refuses_hostile_input, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_explain_needs_a_task_head, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
