/* SPDX-License-Identifier: MIT */
/* Fuzz tf_optimizer_state_load. Input: one mode byte, then the blob.
 *   bit 0: recompute the blob's trailing CRC32, so mutations reach the parsing behind the checksum
 *   bit 1: load into SGD with momentum instead of Adam with AMSGrad
 * A successful load is followed by a step, which must not crash whatever the loaded moments. */
#include "transfer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1u) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

typedef struct fuzz_model {
    tf_ctx_t *ctx;
    tf_tensor_t *p[2], *g[2];
    tf_optimizer_t *opt;
} fuzz_model_t;

static int fuzz_model_init(fuzz_model_t *m, int sgd)
{
    static const int64_t s0[2] = {3, 4}, s1[1] = {5};
    tf_optimizer_opts_t o;
    memset(m, 0, sizeof *m);
    if (tf_ctx_create(&m->ctx, NULL) != TF_STATUS_OK)
        return 0;
    if (tf_tensor_create(&m->p[0], m->ctx, TF_DTYPE_F32, s0, 2) != TF_STATUS_OK ||
        tf_tensor_create(&m->g[0], m->ctx, TF_DTYPE_F32, s0, 2) != TF_STATUS_OK ||
        tf_tensor_create(&m->p[1], m->ctx, TF_DTYPE_F32, s1, 1) != TF_STATUS_OK ||
        tf_tensor_create(&m->g[1], m->ctx, TF_DTYPE_F32, s1, 1) != TF_STATUS_OK)
        return 0;
    tf_tensor_fill(m->p[0], 0.5);
    tf_tensor_fill(m->g[0], 0.25);
    tf_tensor_fill(m->p[1], -1.0);
    tf_tensor_fill(m->g[1], 0.125);
    tf_optimizer_opts_init(&o, TF_OPTIMIZER_OPTS_VERSION);
    o.algorithm = sgd ? TF_OPTIMIZER_SGD : TF_OPTIMIZER_ADAM;
    o.momentum = sgd ? 0.9 : 0.0;
    o.amsgrad = sgd ? 0 : 1;
    o.schedule = TF_OPTIMIZER_SCHED_ONE_CYCLE;
    o.total_steps = 20;
    if (tf_optimizer_create(&m->opt, m->ctx, &o) != TF_STATUS_OK)
        return 0;
    return tf_optimizer_add_param(m->opt, "enc.weight", m->p[0], m->g[0]) == TF_STATUS_OK &&
           tf_optimizer_add_param(m->opt, "head.bias", m->p[1], m->g[1]) == TF_STATUS_OK;
}

static void fuzz_model_free(fuzz_model_t *m)
{
    tf_optimizer_free(m->opt);
    for (int i = 0; i < 2; i++) {
        tf_tensor_free(m->p[i]);
        tf_tensor_free(m->g[i]);
    }
    tf_ctx_free(m->ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    size_t n = size - 1;
    uint8_t *blob = malloc(n ? n : 1);
    if (blob == NULL)
        return 0;
    memcpy(blob, data + 1, n);
    if ((mode & 1u) && n >= 4) {
        uint32_t c = crc32_ieee(blob, n - 4);
        for (int i = 0; i < 4; i++)
            blob[n - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
    }
    fuzz_model_t m;
    if (fuzz_model_init(&m, (mode & 2u) != 0)) {
        if (tf_optimizer_state_load(m.opt, blob, n) == TF_STATUS_OK)
            tf_optimizer_step(m.opt);
    }
    fuzz_model_free(&m);
    free(blob);
    return 0;
}

#ifdef FUZZ_OPTIM_WRITE_SEEDS
/* Seed writer (not part of the build): cc -DFUZZ_OPTIM_WRITE_SEEDS ... then run in the corpus
 * directory. Writes a valid blob for each optimizer after 3 steps. */
#include <stdio.h>
int main(void)
{
    for (int sgd = 0; sgd < 2; sgd++) {
        fuzz_model_t m;
        size_t size;
        if (!fuzz_model_init(&m, sgd))
            return 1;
        for (int t = 0; t < 3; t++)
            tf_optimizer_step(m.opt);
        tf_optimizer_state_save(m.opt, NULL, 0, &size);
        uint8_t *b = malloc(size + 1);
        b[0] = (uint8_t)(sgd ? 2 : 0);
        tf_optimizer_state_save(m.opt, b + 1, size, &size);
        char name[32];
        snprintf(name, sizeof name, "valid_%s.bin", sgd ? "sgd" : "adam");
        FILE *f = fopen(name, "wb");
        fwrite(b, 1, size + 1, f);
        fclose(f);
        free(b);
        fuzz_model_free(&m);
    }
    return 0;
}
#endif
