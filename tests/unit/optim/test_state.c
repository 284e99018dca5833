/* SPDX-License-Identifier: MIT */
/* State blob: bit-exact resume, rejection of other models and of damaged blobs (nothing changes),
 * and allocation-failure sweeps. */
#include "tf_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NP 3

static const char *const names[NP] = {"embedding.weight", "lstm.weight_ih_l0", "head.weight"};
static const int64_t sizes[NP] = {12, 37, 5};

typedef struct model {
    tf_tensor_t *p[NP], *g[NP];
} model_t;

static void model_init(tf_ctx_t *ctx, model_t *m)
{
    for (int k = 0; k < NP; k++) {
        assert_ok(tf_tensor_create(&m->p[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        assert_ok(tf_tensor_create(&m->g[k], ctx, TF_DTYPE_F32, &sizes[k], 1));
        float *p = tf_tensor_data(m->p[k]);
        for (int64_t i = 0; i < sizes[k]; i++)
            p[i] = (float)sin(0.7 * (double)i + (double)k);
    }
}

static void model_free(model_t *m)
{
    for (int k = 0; k < NP; k++) {
        tf_tensor_free(m->p[k]);
        tf_tensor_free(m->g[k]);
    }
}

/* Gradient of a fixed quadratic plus a step-dependent term: g = (p - c) + 0.1 cos(t + i). */
static void make_grads(model_t *m, int64_t t)
{
    for (int k = 0; k < NP; k++) {
        const float *p = tf_tensor_data(m->p[k]);
        float *g = tf_tensor_data(m->g[k]);
        for (int64_t i = 0; i < sizes[k]; i++)
            g[i] = (p[i] - 0.3f * (float)k) + (float)(0.1 * cos((double)(t + i)));
    }
}

static void opts_for(tf_optimizer_opts_t *o, int32_t algorithm)
{
    assert_ok(tf_optimizer_opts_init(o, TF_OPTIMIZER_OPTS_VERSION));
    o->algorithm = algorithm;
    o->lr = 0.05;
    o->weight_decay = 0.01;
    o->max_grad_norm = 1.0;
    if (algorithm == TF_OPTIMIZER_SGD) {
        o->momentum = 0.9;
        o->nesterov = 1;
        o->schedule = TF_OPTIMIZER_SCHED_WARMUP_COSINE;
        o->total_steps = 40;
        o->warmup_steps = 5;
    } else {
        o->amsgrad = algorithm == TF_OPTIMIZER_ADAM;
        o->schedule = TF_OPTIMIZER_SCHED_ONE_CYCLE;
        o->total_steps = 40;
    }
}

static tf_optimizer_t *make_opt(tf_ctx_t *ctx, const tf_optimizer_opts_t *o, model_t *m)
{
    tf_optimizer_t *opt;
    const char *layers[2] = {"head.", "lstm."};
    assert_ok(tf_optimizer_create(&opt, ctx, o));
    for (int k = 0; k < NP; k++)
        assert_ok(tf_optimizer_add_param(opt, names[k], m->p[k], m->g[k]));
    assert_ok(tf_optimizer_set_discriminative(opt, layers, 2, 2.6));
    return opt;
}

static void run_steps(tf_optimizer_t *opt, model_t *m, int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t++) {
        /* Freeze the embedding for the first 6 steps (gradual unfreezing). */
        assert_ok(tf_tensor_set_requires_grad(m->p[0], t >= 6));
        make_grads(m, t);
        assert_ok(tf_optimizer_step(opt));
    }
}

static void *save(const tf_optimizer_t *opt, size_t *size)
{
    size_t len = 1;
    assert_ok(tf_optimizer_state_save(opt, NULL, 0, size));
    void *buf = malloc(*size);
    assert_non_null(buf);
    assert_ok(tf_optimizer_state_save(opt, buf, *size, &len));
    assert_int_equal(len, *size);
    return buf;
}

/* N steps, save, load into a fresh optimizer over copies of the parameters, N more steps ==
 * 2N steps without interruption, bit for bit. */
static void run_resume(tf_ctx_t *ctx, int32_t algorithm)
{
    const int64_t n = 9;
    tf_optimizer_opts_t o;
    model_t a, b, c;
    size_t size;
    opts_for(&o, algorithm);
    model_init(ctx, &a);
    model_init(ctx, &b);
    model_init(ctx, &c);
    tf_optimizer_t *oa = make_opt(ctx, &o, &a), *ob = make_opt(ctx, &o, &b);
    run_steps(oa, &a, 0, 2 * n);
    run_steps(ob, &b, 0, n);
    void *blob = save(ob, &size);
    tf_optimizer_free(ob);
    for (int k = 0; k < NP; k++)
        assert_ok(tf_tensor_copy_from(c.p[k], tf_tensor_data(b.p[k]), tf_tensor_nbytes(b.p[k])));
    tf_optimizer_t *oc = make_opt(ctx, &o, &c);
    assert_ok(tf_optimizer_state_load(oc, blob, size));
    assert_int_equal(tf_optimizer_num_steps(oc), n);
    /* Saving again reproduces the blob exactly. */
    size_t size2;
    void *blob2 = save(oc, &size2);
    assert_int_equal(size, size2);
    assert_memory_equal(blob, blob2, size);
    run_steps(oc, &c, n, 2 * n);
    assert_true(tf_optimizer_lr(oc) == tf_optimizer_lr(oa));
    for (int k = 0; k < NP; k++)
        assert_memory_equal(tf_tensor_data(c.p[k]), tf_tensor_data(a.p[k]),
                            tf_tensor_nbytes(a.p[k]));
    free(blob);
    free(blob2);
    tf_optimizer_free(oa);
    tf_optimizer_free(oc);
    model_free(&a);
    model_free(&b);
    model_free(&c);
}

static void test_resume_bit_exact_sgd_nesterov(void **state)
{
    run_resume(*state, TF_OPTIMIZER_SGD);
}

static void test_resume_bit_exact_adam_amsgrad(void **state)
{
    run_resume(*state, TF_OPTIMIZER_ADAM);
}

static void test_resume_bit_exact_adamw(void **state)
{
    run_resume(*state, TF_OPTIMIZER_ADAMW);
}

static void test_blob_layout_is_little_endian(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_opts_t o;
    model_t m;
    size_t size;
    opts_for(&o, TF_OPTIMIZER_ADAMW);
    model_init(ctx, &m);
    tf_optimizer_t *opt = make_opt(ctx, &o, &m);
    run_steps(opt, &m, 0, 3);
    unsigned char *b = save(opt, &size);
    /* header 40 + per parameter (16 + 2 moments * 4 bytes * numel) + crc 4 */
    assert_int_equal(size, 40 + 3 * 16 + 2 * 4 * (12 + 37 + 5) + 4);
    assert_memory_equal(b, "TFOS", 4);
    const unsigned char v1[4] = {1, 0, 0, 0}, alg[4] = {3, 0, 0, 0}, np[4] = {3, 0, 0, 0};
    const unsigned char step[8] = {3, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(b + 4, v1, 4);
    assert_memory_equal(b + 8, alg, 4);
    assert_memory_equal(b + 20, np, 4);
    assert_memory_equal(b + 32, step, 8);
    /* The embedding was frozen for all 3 steps: its step counter is 0. */
    const unsigned char zero8[8] = {0};
    assert_memory_equal(b + 40, zero8, 8);
    char small[8];
    size_t need = 0;
    assert_status(tf_optimizer_state_save(opt, small, sizeof small, &need), TF_STATUS_EBUFSIZE);
    assert_int_equal(need, size);
    /* A size query succeeds and leaves the last error alone. */
    need = 0;
    assert_ok(tf_optimizer_state_save(opt, NULL, 0, &need));
    assert_int_equal(need, size);
    assert_int_equal(tf_last_error_code(), TF_STATUS_EBUFSIZE);
    assert_status(tf_optimizer_state_save(opt, NULL, size, &need), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_state_save(opt, b, size, NULL), TF_STATUS_EINVAL);
    assert_status(tf_optimizer_state_load(opt, NULL, size), TF_STATUS_EINVAL);
    free(b);
    tf_optimizer_free(opt);
    model_free(&m);
}

/* A failing load leaves the optimizer exactly as it was. */
static void expect_load_fails(tf_optimizer_t *opt, const void *blob, size_t size, tf_status_t want)
{
    size_t before_size, after_size;
    void *before = save(opt, &before_size);
    int64_t step = tf_optimizer_num_steps(opt);
    assert_status(tf_optimizer_state_load(opt, blob, size), want);
    assert_non_null(strstr(tf_last_error_message(), "tf_optimizer_state_load"));
    void *after = save(opt, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, before_size);
    assert_int_equal(tf_optimizer_num_steps(opt), step);
    free(before);
    free(after);
}

static void test_load_rejects_other_models(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_opts_t o;
    model_t m, m2;
    size_t size;
    opts_for(&o, TF_OPTIMIZER_ADAMW);
    model_init(ctx, &m);
    model_init(ctx, &m2);
    tf_optimizer_t *opt = make_opt(ctx, &o, &m);
    run_steps(opt, &m, 0, 4);
    void *blob = save(opt, &size);

    /* Same shapes, one name differs. */
    tf_optimizer_t *other;
    assert_ok(tf_optimizer_create(&other, ctx, &o));
    assert_ok(tf_optimizer_add_param(other, "embedding.weight", m2.p[0], m2.g[0]));
    assert_ok(tf_optimizer_add_param(other, "lstm.weight_hh_l0", m2.p[1], m2.g[1]));
    assert_ok(tf_optimizer_add_param(other, "head.weight", m2.p[2], m2.g[2]));
    run_steps(other, &m2, 0, 2);
    expect_load_fails(other, blob, size, TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "other parameters"));
    tf_optimizer_free(other);

    /* Same names, one shape differs. */
    tf_tensor_t *p, *g;
    const int64_t s2[2] = {6, 2}; /* 12 elements as a 6 x 2 matrix */
    assert_ok(tf_tensor_create(&p, ctx, TF_DTYPE_F32, s2, 2));
    assert_ok(tf_tensor_create(&g, ctx, TF_DTYPE_F32, s2, 2));
    assert_ok(tf_optimizer_create(&other, ctx, &o));
    assert_ok(tf_optimizer_add_param(other, "embedding.weight", p, g));
    assert_ok(tf_optimizer_add_param(other, "lstm.weight_ih_l0", m2.p[1], m2.g[1]));
    assert_ok(tf_optimizer_add_param(other, "head.weight", m2.p[2], m2.g[2]));
    expect_load_fails(other, blob, size, TF_STATUS_EINVAL);
    tf_optimizer_free(other);

    /* Fewer parameters. */
    assert_ok(tf_optimizer_create(&other, ctx, &o));
    assert_ok(tf_optimizer_add_param(other, "embedding.weight", m2.p[0], m2.g[0]));
    expect_load_fails(other, blob, size, TF_STATUS_EINVAL);
    tf_optimizer_free(other);

    /* Another algorithm over the same parameters. */
    tf_optimizer_opts_t o2;
    opts_for(&o2, TF_OPTIMIZER_ADAM);
    other = make_opt(ctx, &o2, &m2);
    expect_load_fails(other, blob, size, TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "algorithm"));
    tf_optimizer_free(other);

    free(blob);
    tf_tensor_free(p);
    tf_tensor_free(g);
    tf_optimizer_free(opt);
    model_free(&m);
    model_free(&m2);
}

static void test_load_rejects_damaged_blobs(void **state)
{
    tf_ctx_t *ctx = *state;
    tf_optimizer_opts_t o;
    model_t m, m2;
    size_t size;
    opts_for(&o, TF_OPTIMIZER_ADAM);
    model_init(ctx, &m);
    model_init(ctx, &m2);
    tf_optimizer_t *opt = make_opt(ctx, &o, &m), *dst = make_opt(ctx, &o, &m2);
    run_steps(opt, &m, 0, 5);
    run_steps(dst, &m2, 0, 2);
    unsigned char *blob = save(opt, &size);
    unsigned char *bad = malloc(size);
    assert_non_null(bad);
    /* Every truncation. */
    for (size_t n = 0; n < size; n += (n < 64 ? 1 : 37))
        expect_load_fails(dst, blob, n, TF_STATUS_EFORMAT);
    expect_load_fails(dst, blob, size - 1, TF_STATUS_EFORMAT);
    /* A flipped bit anywhere (magic, header, moments, checksum). */
    const size_t where[] = {0, 5, 9, 21, 26, 33, 41, 60, size / 2, size - 5, size - 1};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        memcpy(bad, blob, size);
        bad[where[i]] ^= 0x10;
        expect_load_fails(dst, bad, size, where[i] == 5 ? TF_STATUS_EVERSION : TF_STATUS_EFORMAT);
    }
    /* A newer format version. */
    memcpy(bad, blob, size);
    bad[4] = 2;
    expect_load_fails(dst, bad, size, TF_STATUS_EVERSION);
    /* Trailing garbage. */
    unsigned char *longer = malloc(size + 4);
    assert_non_null(longer);
    memcpy(longer, blob, size);
    memset(longer + size, 0, 4);
    expect_load_fails(dst, longer, size + 4, TF_STATUS_EFORMAT);
    /* The intact blob loads. */
    assert_ok(tf_optimizer_state_load(dst, blob, size));
    assert_int_equal(tf_optimizer_num_steps(dst), 5);
    free(longer);
    free(bad);
    free(blob);
    tf_optimizer_free(opt);
    tf_optimizer_free(dst);
    model_free(&m);
    model_free(&m2);
}

/* Allocation failures anywhere in create, add_param, groups and the first steps: ENOMEM,
 * nothing leaked, the handle freeable. */
static void run_oom_sweep(int32_t algorithm)
{
    for (long n = 1;; n++) {
        tf_test_alloc_t ta;
        tf_optimizer_opts_t o;
        model_t m;
        tf_optimizer_t *opt = NULL;
        tf_status_t st;
        tf_test_alloc_init(&ta);
        tf_ctx_t *ctx = tf_test_ctx_new(&ta);
        assert_non_null(ctx);
        opts_for(&o, algorithm);
        model_init(ctx, &m);
        ta.fail_at = ta.attempts + n;
        const char *layers[2] = {"head.", "lstm."};
        st = tf_optimizer_create(&opt, ctx, &o);
        if (st != TF_STATUS_OK)
            assert_null(opt);
        for (int k = 0; k < NP && st == TF_STATUS_OK; k++)
            st = tf_optimizer_add_param(opt, names[k], m.p[k], m.g[k]);
        if (st == TF_STATUS_OK)
            st = tf_optimizer_add_group(opt, "embedding.", 0.1, 0.0);
        if (st == TF_STATUS_OK)
            st = tf_optimizer_set_discriminative(opt, layers, 2, 2.6);
        for (int t = 0; t < 2 && st == TF_STATUS_OK; t++) {
            make_grads(&m, t);
            st = tf_optimizer_step(opt);
        }
        if (st == TF_STATUS_OK) {
            assert_true(n > 5);
            tf_optimizer_free(opt);
            model_free(&m);
            tf_ctx_free(ctx);
            assert_int_equal(ta.allocs, ta.frees);
            break;
        }
        assert_int_equal(st, TF_STATUS_ENOMEM);
        tf_optimizer_free(opt);
        model_free(&m);
        assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
        assert_int_equal(tf_ctx_live_objects(ctx), 0);
        tf_ctx_free(ctx);
        assert_int_equal(ta.allocs, ta.frees);
    }
}

static void test_oom_sweep_adam(void **state)
{
    (void)state;
    run_oom_sweep(TF_OPTIMIZER_ADAM);
}

static void test_oom_sweep_sgd(void **state)
{
    (void)state;
    run_oom_sweep(TF_OPTIMIZER_SGD);
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tf_test_setup_ctx, tf_test_teardown_ctx)
    const struct CMUnitTest tests[] = {
        T(test_resume_bit_exact_sgd_nesterov), T(test_resume_bit_exact_adam_amsgrad),
        T(test_resume_bit_exact_adamw),        T(test_blob_layout_is_little_endian),
        T(test_load_rejects_other_models),     T(test_load_rejects_damaged_blobs),
        cmocka_unit_test(test_oom_sweep_adam), cmocka_unit_test(test_oom_sweep_sgd),
    };
    return TF_TEST_RUN(tests);
}
