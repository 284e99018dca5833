/* SPDX-License-Identifier: MIT */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <string.h>

typedef struct {
    char *name;
    uint32_t dtype, ndim;
    int64_t dims[4];
    int64_t numel;
    void *data;
} entry_t;

struct tf_fixture {
    uint32_t count;
    entry_t *e;
};

static int read_exact(FILE *f, void *dst, size_t n)
{
    return fread(dst, 1, n, f) == n;
}

tf_fixture_t *tf_fixture_load(const char *name)
{
    char path[1024];
    char magic[4];
    snprintf(path, sizeof path, "%s/reference/fixtures/%s", TF_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("fixture %s not found; regenerate with tests/reference/gen_*.py", path);
    tf_fixture_t *fx = calloc(1, sizeof *fx);
    if (!read_exact(f, magic, 4) || memcmp(magic, "TFX1", 4) != 0 ||
        !read_exact(f, &fx->count, 4) || fx->count > 100000)
        fail_msg("fixture %s: bad header", path);
    fx->e = calloc(fx->count ? fx->count : 1, sizeof *fx->e);
    for (uint32_t i = 0; i < fx->count; i++) {
        entry_t *e = &fx->e[i];
        uint32_t len;
        if (!read_exact(f, &len, 4) || len > 4096)
            fail_msg("fixture %s: bad name length", path);
        e->name = calloc(1, len + 1);
        if (!read_exact(f, e->name, len) || !read_exact(f, &e->dtype, 4) ||
            !read_exact(f, &e->ndim, 4) || e->ndim > 4 || e->dtype < 1 || e->dtype > 3)
            fail_msg("fixture %s: bad entry %u", path, i);
        e->numel = 1;
        for (uint32_t d = 0; d < e->ndim; d++) {
            if (!read_exact(f, &e->dims[d], 8) || e->dims[d] < 0 || e->dims[d] > (1 << 28))
                fail_msg("fixture %s: bad dims of %s", path, e->name);
            e->numel *= e->dims[d];
        }
        size_t es = e->dtype == TF_FIXTURE_F64 ? 8 : 4;
        e->data = malloc((size_t)e->numel * es + 8);
        if (!read_exact(f, e->data, (size_t)e->numel * es))
            fail_msg("fixture %s: truncated data of %s", path, e->name);
    }
    fclose(f);
    return fx;
}

void tf_fixture_free(tf_fixture_t *fx)
{
    if (fx == NULL)
        return;
    for (uint32_t i = 0; i < fx->count; i++) {
        free(fx->e[i].name);
        free(fx->e[i].data);
    }
    free(fx->e);
    free(fx);
}

static const entry_t *find(const tf_fixture_t *fx, const char *name)
{
    for (uint32_t i = 0; i < fx->count; i++)
        if (strcmp(fx->e[i].name, name) == 0)
            return &fx->e[i];
    return NULL;
}

int tf_fixture_has(const tf_fixture_t *fx, const char *name)
{
    return find(fx, name) != NULL;
}

static const entry_t *get(const tf_fixture_t *fx, const char *name, uint32_t dtype,
                          int64_t *numel_out)
{
    const entry_t *e = find(fx, name);
    if (e == NULL)
        fail_msg("fixture has no entry '%s'", name);
    if (dtype != 0 && e->dtype != dtype)
        fail_msg("fixture entry '%s' has dtype %u, expected %u", name, e->dtype, dtype);
    if (numel_out != NULL)
        *numel_out = e->numel;
    return e;
}

const float *tf_fixture_f32(const tf_fixture_t *fx, const char *name, int64_t *numel_out)
{
    return get(fx, name, TF_FIXTURE_F32, numel_out)->data;
}

const int32_t *tf_fixture_i32(const tf_fixture_t *fx, const char *name, int64_t *numel_out)
{
    return get(fx, name, TF_FIXTURE_I32, numel_out)->data;
}

const double *tf_fixture_f64(const tf_fixture_t *fx, const char *name, int64_t *numel_out)
{
    return get(fx, name, TF_FIXTURE_F64, numel_out)->data;
}

void tf_fixture_shape(const tf_fixture_t *fx, const char *name, int64_t dims[4], uint32_t *ndim_out)
{
    const entry_t *e = get(fx, name, 0, NULL);
    if (dims != NULL)
        memcpy(dims, e->dims, sizeof e->dims);
    if (ndim_out != NULL)
        *ndim_out = e->ndim;
}

double tf_fixture_scalar(const tf_fixture_t *fx, const char *name)
{
    const entry_t *e = get(fx, name, 0, NULL);
    if (e->numel != 1)
        fail_msg("fixture entry '%s' has %lld elements, expected 1", name, (long long)e->numel);
    switch (e->dtype) {
    case TF_FIXTURE_F32: return *(const float *)e->data;
    case TF_FIXTURE_I32: return *(const int32_t *)e->data;
    default: return *(const double *)e->data;
    }
}

void tf_assert_close_f32(const char *what,
                         const float *got,
                         const float *want,
                         int64_t n,
                         double rtol,
                         double atol)
{
    int64_t worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double excess = fabs(g - w) - (atol + rtol * fabs(w));
        if (!(excess <= 0) && (worst < 0 || !(excess <= worst_excess))) {
            worst = i;
            worst_excess = excess;
        }
    }
    if (worst >= 0)
        fail_msg("%s: element %lld of %lld is %.9g, reference %.9g (rtol %g, atol %g)", what,
                 (long long)worst, (long long)n, (double)got[worst], (double)want[worst], rtol,
                 atol);
}
