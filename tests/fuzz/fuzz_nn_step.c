/* SPDX-License-Identifier: MIT */
/* Fuzz one training step of an encoder with arbitrary options, token ids, lengths and targets:
 * every call must either succeed with finite numbers or fail with a status (never crash, never
 * leak). Layout of the input: 12 option bytes, then B lengths, then T*B token ids, then targets
 * (signed bytes, so out-of-range values appear). */
#include "transfer.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int8_t byte_at(const uint8_t *d, size_t n, size_t *pos)
{
    return *pos < n ? (int8_t)d[(*pos)++] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    tf_ctx_t *ctx = NULL;
    tf_module_t *enc = NULL, *head = NULL;
    tf_tensor_t *tok = NULL, *len = NULL, *tgt = NULL, *dy = NULL, *pooled = NULL, *dp = NULL, *lab = NULL;
    tf_encoder_opts_t eo;
    tf_linear_opts_t lo;
    if (size < 12)
        return 0;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    tf_encoder_opts_init(&eo, TF_ENCODER_OPTS_VERSION);
    eo.vocab_size = (uint8_t)byte_at(data, size, &pos) % 40;
    eo.embedding_dim = (uint8_t)byte_at(data, size, &pos) % 7;
    eo.hidden_size = (uint8_t)byte_at(data, size, &pos) % 7;
    eo.num_layers = (uint8_t)byte_at(data, size, &pos) % 4;
    eo.bidirectional = (uint8_t)byte_at(data, size, &pos) % 3;
    eo.padding_idx = byte_at(data, size, &pos) % 45;
    eo.dropout = (double)((uint8_t)byte_at(data, size, &pos) % 12) / 10.0;
    int64_t T = (uint8_t)byte_at(data, size, &pos) % 9, B = (uint8_t)byte_at(data, size, &pos) % 6;
    uint32_t modes = (uint8_t)byte_at(data, size, &pos) % 9;
    int32_t use_len = byte_at(data, size, &pos) & 1, ignore = byte_at(data, size, &pos) % 5;
    if (tf_encoder_create(&enc, ctx, &eo) != TF_STATUS_OK || T < 1 || B < 1)
        goto done;
    int64_t D = (eo.bidirectional ? 2 : 1) * eo.hidden_size, V = eo.vocab_size;
    if (tf_tensor_create(&tok, ctx, TF_DTYPE_I32, (int64_t[]){T, B}, 2) != TF_STATUS_OK ||
        tf_tensor_create(&len, ctx, TF_DTYPE_I32, (int64_t[]){B}, 1) != TF_STATUS_OK ||
        tf_tensor_create(&tgt, ctx, TF_DTYPE_I32, (int64_t[]){T, B}, 2) != TF_STATUS_OK ||
        tf_tensor_create(&dy, ctx, TF_DTYPE_F32, (int64_t[]){T, B, D}, 3) != TF_STATUS_OK)
        goto done;
    for (int64_t b = 0; b < B; b++)
        ((int32_t *)tf_tensor_data(len))[b] = byte_at(data, size, &pos) % 11;
    for (int64_t i = 0; i < T * B; i++)
        ((int32_t *)tf_tensor_data(tok))[i] = byte_at(data, size, &pos) % 48;
    for (int64_t i = 0; i < T * B; i++)
        ((int32_t *)tf_tensor_data(tgt))[i] = byte_at(data, size, &pos) % 48;
    tf_tensor_t *y, *logits;
    tf_tensor_t *lens = use_len ? len : NULL;
    if (tf_module_forward(&y, enc, tok, lens) != TF_STATUS_OK)
        goto done;
    tf_linear_opts_init(&lo, TF_LINEAR_OPTS_VERSION);
    lo.in_features = eo.embedding_dim;
    lo.out_features = V;
    double loss;
    if (eo.embedding_dim == eo.hidden_size && !eo.bidirectional &&
        tf_linear_create_tied(&head, ctx, enc, &lo) == TF_STATUS_OK) {
        if (tf_linear_cross_entropy(head, y, tgt, ignore, 1, &loss, NULL, dy) == TF_STATUS_OK && !isfinite(loss))
            abort();
    } else {
        lo.in_features = D;
        lo.out_features = 1;
        if (tf_linear_create(&head, ctx, &lo) != TF_STATUS_OK)
            goto done;
        int64_t k = (modes & 1) + ((modes >> 1) & 1) + ((modes >> 2) & 1);
        if (k == 0 || tf_tensor_create(&pooled, ctx, TF_DTYPE_F32, (int64_t[]){B, k * D}, 2) != TF_STATUS_OK ||
            tf_tensor_create(&lab, ctx, TF_DTYPE_F32, (int64_t[]){B, 1}, 2) != TF_STATUS_OK)
            goto done;
        if (tf_pool_forward(y, lens, modes, eo.bidirectional ? 2 : 1, pooled) != TF_STATUS_OK)
            goto done;
        tf_module_free(head);
        lo.in_features = k * D;
        head = NULL;
        if (tf_linear_create(&head, ctx, &lo) != TF_STATUS_OK ||
            tf_module_forward(&logits, head, pooled, NULL) != TF_STATUS_OK ||
            tf_tensor_create(&dp, ctx, TF_DTYPE_F32, (int64_t[]){B, 1}, 2) != TF_STATUS_OK)
            goto done;
        if (tf_loss_bce_with_logits(logits, lab, &loss, dp) != TF_STATUS_OK || !isfinite(loss))
            abort();
        tf_tensor_t *dpool;
        if (tf_module_backward(&dpool, head, dp) != TF_STATUS_OK ||
            tf_pool_backward(y, lens, modes, eo.bidirectional ? 2 : 1, dpool, dy) != TF_STATUS_OK)
            abort();
    }
    if (tf_module_backward(NULL, enc, dy) != TF_STATUS_OK)
        abort();
done:
    tf_tensor_free(tok);
    tf_tensor_free(len);
    tf_tensor_free(tgt);
    tf_tensor_free(dy);
    tf_tensor_free(pooled);
    tf_tensor_free(dp);
    tf_tensor_free(lab);
    tf_module_free(head);
    tf_module_free(enc);
    if (tf_ctx_live_objects(ctx) != 0 || tf_ctx_allocated_bytes(ctx) != 0)
        abort();
    tf_ctx_free(ctx);
    return 0;
}
