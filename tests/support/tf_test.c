/* SPDX-License-Identifier: MIT */
#include "tf_test.h"

#include <string.h>

static void *counting_alloc(size_t size, size_t align, void *user)
{
    tf_test_alloc_t *ta = user;
    void *p = NULL;
    ta->attempts++;
    ta->last_align = align;
    if (ta->fail_at != 0 && ta->attempts == ta->fail_at)
        return NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    ta->allocs++;
    for (size_t i = 0; i < sizeof ta->live / sizeof ta->live[0]; i++)
        if (ta->live[i] == NULL) {
            ta->live[i] = p;
            break;
        }
    return p;
}

static void counting_free(void *ptr, void *user)
{
    tf_test_alloc_t *ta = user;
    ta->frees++;
    for (size_t i = 0; i < sizeof ta->live / sizeof ta->live[0]; i++)
        if (ta->live[i] == ptr) {
            ta->live[i] = NULL;
            break;
        }
    free(ptr);
}

void tf_test_alloc_release_all(tf_test_alloc_t *ta)
{
    for (size_t i = 0; i < sizeof ta->live / sizeof ta->live[0]; i++)
        if (ta->live[i] != NULL) {
            free(ta->live[i]);
            ta->live[i] = NULL;
            ta->frees++;
        }
}

void tf_test_alloc_init(tf_test_alloc_t *ta)
{
    memset(ta, 0, sizeof *ta);
    ta->hooks.alloc = counting_alloc;
    ta->hooks.free = counting_free;
    ta->hooks.user = ta;
}

tf_ctx_t *tf_test_ctx_new(tf_test_alloc_t *ta)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx = NULL;
    if (tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION) != TF_STATUS_OK)
        return NULL;
    o.allocator = &ta->hooks;
    o.num_threads = 1;
    if (tf_ctx_create(&ctx, &o) != TF_STATUS_OK)
        return NULL;
    return ctx;
}

int tf_test_setup_ctx(void **state)
{
    tf_ctx_t *ctx = NULL;
    tf_ctx_opts_t o;
    if (tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION) != TF_STATUS_OK)
        return -1;
    o.num_threads = 1;
    if (tf_ctx_create(&ctx, &o) != TF_STATUS_OK)
        return -1;
    *state = ctx;
    return 0;
}

int tf_test_teardown_ctx(void **state)
{
    tf_ctx_t *ctx = *state;
    /* Every test must free what it created. */
    uint64_t live = tf_ctx_live_objects(ctx), bytes = tf_ctx_allocated_bytes(ctx);
    tf_ctx_free(ctx);
    if (live != 0 || bytes != 0) {
        print_error("leak: %llu live objects, %llu bytes\n", (unsigned long long)live,
                    (unsigned long long)bytes);
        return -1;
    }
    return 0;
}

int tf_test_select(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    if (argc < 2)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(tests[i].name, argv[1]) == 0) {
            cmocka_set_test_filter(argv[1]);
            return 0;
        }
    fprintf(stderr, "no test case named %s is registered in this group\n", argv[1]);
    return 1;
}

tf_loader_opts_t tf_test_opts_with_labels(const tf_loader_t *from, const char **names,
                                          int32_t batch_size)
{
    tf_loader_opts_t lo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = batch_size;
    lo.shuffle = 0;
    for (int32_t i = 0; i < tf_loader_num_labels(from); i++)
        names[i] = tf_loader_label_name(from, i);
    lo.labels = names;
    lo.num_labels = tf_loader_num_labels(from);
    return lo;
}

tf_ctx_t *tf_test_ctx_seeded(uint64_t seed)
{
    tf_ctx_opts_t o;
    tf_ctx_t *ctx;
    tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION);
    o.num_threads = 1;
    o.seed = seed;
    assert_int_equal(tf_ctx_create(&ctx, &o), TF_STATUS_OK);
    return ctx;
}

int tf_test_remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

void tf_test_rewrite_meta(tf_ctx_t *ctx, const char *from, const char *to, const char *key,
                          const char *value)
{
    tf_tensorfile_t *f;
    tf_tensorfile_writer_t *w;
    assert_int_equal(tf_tensorfile_load(&f, ctx, from, NULL), TF_STATUS_OK);
    assert_int_equal(tf_tensorfile_writer_create(&w, ctx, NULL), TF_STATUS_OK);
    for (uint32_t i = 0; i < tf_tensorfile_num_entries(f); i++) {
        tf_tensor_t *t;
        assert_int_equal(tf_tensorfile_get(&t, f, tf_tensorfile_name(f, i)), TF_STATUS_OK);
        assert_int_equal(tf_tensorfile_writer_add_tensor(w, tf_tensorfile_name(f, i), t),
                         TF_STATUS_OK);
    }
    for (uint32_t i = 0; i < tf_tensorfile_num_meta(f); i++) {
        const char *k, *v;
        assert_int_equal(tf_tensorfile_meta_at(&k, &v, f, i), TF_STATUS_OK);
        if (strcmp(k, key) != 0 && strncmp(k, "libtransfer.", 12) == 0)
            assert_int_equal(tf_tensorfile_writer_add_meta(w, k, v), TF_STATUS_OK);
    }
    if (value != NULL)
        assert_int_equal(tf_tensorfile_writer_add_meta(w, key, value), TF_STATUS_OK);
    assert_int_equal(tf_tensorfile_writer_save(w, to), TF_STATUS_OK);
    tf_tensorfile_writer_free(w);
    tf_tensorfile_free(f);
}
