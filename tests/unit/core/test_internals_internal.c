/* SPDX-License-Identifier: MIT */
/* Internal helpers of lib/core: allocation accounting, the growable array, overflow checks, the
 * options reader, the random generator and the huge-page advice. */
#include "tf_test.h"
#include "core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_internals_size_arithmetic(void **state)
{
    size_t out = 7;
    (void)state;
    assert_true(tf__mul_size(3, 5, &out));
    assert_int_equal(out, 15);
    assert_false(tf__mul_size(SIZE_MAX / 2 + 1, 2, &out));
    assert_int_equal(out, 15);
    assert_true(tf__mul_size(0, SIZE_MAX, &out));
    assert_int_equal(out, 0);
    assert_true(tf__add_size(SIZE_MAX - 1, 1, &out));
    assert_false(tf__add_size(SIZE_MAX, 1, &out));
}

static void test_internals_alloc_accounting_and_alignment(void **state)
{
    tf_ctx_t *ctx = *state;
    void *a = tf__alloc(ctx, 100), *b = tf__calloc(ctx, 10, 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal((uintptr_t)a % TF__ALIGN, 0);
    assert_int_equal((uintptr_t)b % TF__ALIGN, 0);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 180);
    for (int i = 0; i < 80; i++)
        assert_int_equal(((unsigned char *)b)[i], 0);
    tf__free(ctx, a);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 80);
    tf__free(ctx, b);
    tf__free(ctx, NULL);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    assert_null(tf__calloc(ctx, SIZE_MAX / 2, 4));
    assert_int_equal(tf_last_error_code(), TF_STATUS_ENOMEM);
    assert_null(tf__alloc(ctx, SIZE_MAX - 8));
    char *s = tf__strdup(ctx, "lstm.weight_ih_l0");
    assert_string_equal(s, "lstm.weight_ih_l0");
    tf__free(ctx, s);
}

typedef struct {
    uint32_t struct_size, version;
    int32_t a;
    double b; /* "added in version 2" */
} demo_opts_t;

/* Version 1 as a caller compiled it: sizeof is 12, its last field ends at 12. */
typedef struct {
    uint32_t struct_size, version;
    int32_t a;
} demo_v1_t;

static const size_t demo_sizes[] = {0, TF__OPTS_END(demo_opts_t, a), TF__OPTS_END(demo_opts_t, b)};
static const tf__opts_layout_t demo_layout = {"demo_opts_t", 2, demo_sizes, sizeof(demo_opts_t)};

/* The growable array keeps its elements, zeroes the new ones, and leaves everything as it was
 * when the size cannot be had. */
static void test_internals_grow_keeps_and_zeroes(void **state)
{
    tf_ctx_t *ctx = *state;
    int32_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(tf__grow_i32(ctx, &a, &cap, 0), TF_STATUS_OK);
    assert_null(a);
    assert_int_equal(tf__grow_i32(ctx, &a, &cap, 3), TF_STATUS_OK);
    assert_true(cap >= 3);
    for (int32_t i = 0; i < 3; i++)
        a[i] = 100 + i;
    const size_t first = cap;
    assert_int_equal(tf__grow_i32(ctx, &a, &cap, first), TF_STATUS_OK); /* fits: unchanged */
    assert_int_equal(cap, first);
    assert_int_equal(tf__grow_i32(ctx, &a, &cap, 1000), TF_STATUS_OK);
    assert_true(cap >= 1000);
    for (int32_t i = 0; i < 3; i++)
        assert_int_equal(a[i], 100 + i);
    for (size_t i = 3; i < cap; i++)
        assert_int_equal(a[i], 0);
    int32_t *before = a;
    const size_t cap_before = cap;
    void *p = a;
    assert_int_equal(tf__grow_bytes(ctx, &p, &cap, SIZE_MAX / 2, 8), TF_STATUS_ENOMEM);
    assert_ptr_equal(p, before);
    assert_int_equal(cap, cap_before);
    assert_int_equal(a[2], 102);
    tf__free(ctx, a);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
}

static void test_internals_opts_read_honours_struct_size(void **state)
{
    (void)state;
    demo_opts_t lib = {0, 0, 1, 2.5};
    /* A caller built against version 1 passes only {size, version, a}. */
    demo_v1_t old = {sizeof old, 1, 9};
    assert_ok(tf__opts_read(&lib, &old, &demo_layout, "demo"));
    assert_int_equal(lib.a, 9);
    assert_true(lib.b == 2.5); /* default kept for the field the caller does not have */
    assert_int_equal(lib.struct_size, sizeof lib);
    assert_int_equal(lib.version, 2);
    /* Version 1 in a bigger struct: only version 1's fields are read. */
    demo_opts_t big = {sizeof big, 1, 4, 7.0};
    lib.b = 2.5;
    assert_ok(tf__opts_read(&lib, &big, &demo_layout, "demo"));
    assert_int_equal(lib.a, 4);
    assert_true(lib.b == 2.5);
    demo_opts_t newer = {sizeof newer, 3, 0, 0};
    assert_status(tf__opts_read(&lib, &newer, &demo_layout, "demo"), TF_STATUS_EVERSION);
    assert_non_null(strstr(tf_last_error_message(), "demo"));
    demo_opts_t zero = {sizeof zero, 0, 0, 0};
    assert_status(tf__opts_read(&lib, &zero, &demo_layout, "demo"), TF_STATUS_EVERSION);
    demo_opts_t tiny = {8, 1, 0, 0};
    assert_status(tf__opts_read(&lib, &tiny, &demo_layout, "demo"), TF_STATUS_EINVAL);
    /* Claims version 2 with version 1's size: refused, the message names the type. */
    demo_opts_t short2 = {12, 2, 0, 0};
    assert_status(tf__opts_read(&lib, &short2, &demo_layout, "demo"), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "demo_opts_t"));
    assert_ok(tf__opts_read(&lib, NULL, &demo_layout, "demo"));
    size_t n = 0;
    assert_ok(tf__results_size(&old, &demo_layout, "demo", &n));
    assert_int_equal(n, 12);
    assert_ok(tf__results_size(&big, &demo_layout, "demo", &n));
    assert_int_equal(n, 12);
    big.version = 2;
    assert_ok(tf__results_size(&big, &demo_layout, "demo", &n));
    assert_int_equal(n, sizeof big);
    assert_status(tf__results_size(&short2, &demo_layout, "demo", &n), TF_STATUS_EINVAL);
}

static void test_internals_opts_init_writes_only_the_callers_version(void **state)
{
    (void)state;
    demo_opts_t d = {0, 0, 5, 6.5};
    unsigned char buf[sizeof(demo_opts_t) + 8];
    memset(buf, 0xA5, sizeof buf);
    assert_ok(tf__opts_init(buf, 1, &d, &demo_layout, "demo_init"));
    demo_v1_t v1;
    memcpy(&v1, buf, sizeof v1);
    assert_int_equal(v1.struct_size, 12);
    assert_int_equal(v1.version, 1);
    assert_int_equal(v1.a, 5);
    for (size_t i = sizeof v1; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xA5);
    memset(buf, 0xA5, sizeof buf);
    assert_ok(tf__opts_init(buf, 2, &d, &demo_layout, "demo_init"));
    demo_opts_t v2;
    memcpy(&v2, buf, sizeof v2);
    assert_int_equal(v2.struct_size, sizeof v2);
    assert_true(v2.b == 6.5);
    assert_int_equal(buf[sizeof v2], 0xA5);
    assert_status(tf__opts_init(buf, 3, &d, &demo_layout, "demo_init"), TF_STATUS_EVERSION);
    assert_status(tf__opts_init(buf, 0, &d, &demo_layout, "demo_init"), TF_STATUS_EVERSION);
    assert_status(tf__opts_init(NULL, 1, &d, &demo_layout, "demo_init"), TF_STATUS_EINVAL);
}

/* Every public struct's table ends with the struct's last field (a field appended without a new
 * table entry would leave it outside every version), and sizes only grow. */
static void test_internals_opts_layouts_cover_their_structs(void **state)
{
    (void)state;
    const tf__opts_layout_t *all[] = {
        &tf__ctx_opts_layout,        &tf__vocab_opts_layout,     &tf__loader_opts_layout,
        &tf__tensorfile_opts_layout, &tf__embedding_opts_layout, &tf__linear_opts_layout,
        &tf__dropout_opts_layout,    &tf__rnn_opts_layout,       &tf__encoder_opts_layout,
        &tf__optimizer_opts_layout,  &tf__model_opts_layout,     &tf__pretrain_opts_layout,
        &tf__finetune_opts_layout,   &tf__adapt_opts_layout,     &tf__train_report_layout,
        &tf__metrics_layout,         &tf__import_opts_layout,    &tf__distill_opts_layout,
        &tf__explain_opts_layout,    &tf__explain_result_layout,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const tf__opts_layout_t *l = all[i];
        assert_true(l->current >= 1);
        assert_true(l->sizes[1] >= 2 * sizeof(uint32_t));
        for (uint32_t v = 2; v <= l->current; v++)
            assert_true(l->sizes[v] > l->sizes[v - 1]);
        if (l->size - l->sizes[l->current] >= sizeof(uint64_t))
            fail_msg("%s: the last version ends at %zu of %zu bytes", l->type, l->sizes[l->current],
                     l->size);
    }
}

static void test_internals_rng_is_deterministic_and_uniform(void **state)
{
    tf__rng_t a, b;
    (void)state;
    tf__rng_seed(&a, 123);
    tf__rng_seed(&b, 123);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tf__rng_u64(&a), tf__rng_u64(&b));
    tf__rng_seed(&b, 124);
    assert_int_not_equal(tf__rng_u64(&a), tf__rng_u64(&b));
    double sum = 0, sumsq = 0;
    int counts[7] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = tf__rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
        counts[tf__rng_below(&a, 7)]++;
        double z = tf__rng_normal(&a);
        sumsq += z * z;
    }
    assert_true(fabs(sum / n - 0.5) < 0.005);
    assert_true(fabs(sumsq / n - 1.0) < 0.02);
    for (int k = 0; k < 7; k++)
        assert_true(fabs(counts[k] / (double)n - 1.0 / 7) < 0.005);
}

/* The kB of huge pages /proc/self/smaps reports for the mapping holding p, or -1 (not Linux, or no
 * such mapping). */
static long huge_kb_at(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return -1;
    char line[512];
    int inside = 0;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

/* Advised before it is written, a block of several huge pages gets some (where the kernel gives
 * them on advice: transparent huge pages in "always" or "madvise" mode, not under valgrind, whose
 * allocator maps its own arenas); its bytes are untouched, and small or odd blocks are fine. */
static void test_internals_huge_page_advice(void **state)
{
    tf_ctx_t *ctx = *state;
    const size_t n = (size_t)9 << 20;
    unsigned char *big = tf__alloc(ctx, n), *small = tf__alloc(ctx, 100);
    assert_non_null(big);
    assert_non_null(small);
    tf__advise_huge_pages(small, 100);
    tf__advise_huge_pages(big + 1, 0);
    tf__advise_huge_pages(big, n);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 7);
    for (size_t i = 0; i < n; i += 4093)
        assert_int_equal(big[i], (unsigned char)(i * 7));
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (fgets(mode, sizeof mode, f) == NULL)
            mode[0] = 0;
        fclose(f);
    }
    const char *pre = getenv("LD_PRELOAD");
    const int expect = (strstr(mode, "[always]") || strstr(mode, "[madvise]")) && !(pre && strstr(pre, "vgpreload"));
    const long kb = huge_kb_at(big + n / 2);
    if (expect && kb >= 0 && kb == 0)
        fail_msg("no huge pages in an advised block of 9 MiB (transparent huge pages: %s)", mode);
    tf__free(ctx, small);
    tf__free(ctx, big);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internals_size_arithmetic),
        cmocka_unit_test_setup_teardown(test_internals_alloc_accounting_and_alignment,
                                        tf_test_setup_ctx, tf_test_teardown_ctx),
        cmocka_unit_test_setup_teardown(test_internals_grow_keeps_and_zeroes, tf_test_setup_ctx,
                                        tf_test_teardown_ctx),
        cmocka_unit_test(test_internals_opts_read_honours_struct_size),
        cmocka_unit_test(test_internals_opts_init_writes_only_the_callers_version),
        cmocka_unit_test(test_internals_opts_layouts_cover_their_structs),
        cmocka_unit_test(test_internals_rng_is_deterministic_and_uniform),
        cmocka_unit_test_setup_teardown(test_internals_huge_page_advice, tf_test_setup_ctx, tf_test_teardown_ctx),
    };
    return TF_TEST_RUN(tests);
}
