/* SPDX-License-Identifier: MIT */
/* Fuzz vocabulary deserialisation; what loads must serialise back to the same text, and encode
 * and decode the input without trouble. */
#include "transfer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *v = NULL, *w = NULL;
    char *buf = NULL, *dec = NULL;
    int32_t *ids = NULL;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    if (tf_vocab_deserialize(&v, ctx, (const char *)data, size) != TF_STATUS_OK)
        goto done;
    size_t len = 0, n = 0, dl = 0;
    tf_vocab_serialize(v, NULL, 0, &len);
    buf = malloc(len + 1);
    if (tf_vocab_serialize(v, buf, len + 1, &len) != TF_STATUS_OK)
        abort();
    /* The input was accepted, so it is the canonical form. */
    if (len != size || memcmp(buf, data, size) != 0)
        abort();
    if (tf_vocab_deserialize(&w, ctx, buf, len) != TF_STATUS_OK)
        abort();
    if (tf_vocab_size(v) != tf_vocab_size(w))
        abort();
    for (int32_t i = 0; i < tf_vocab_size(v); i++) {
        size_t a, b;
        const char *ta = tf_vocab_token(v, i, &a), *tb = tf_vocab_token(w, i, &b);
        if (a != b || memcmp(ta, tb, a) != 0 || tf_vocab_lookup(w, ta, a) != i)
            abort();
    }
    if (tf_vocab_encode(v, (const char *)data, size, NULL, 0, &n) != TF_STATUS_OK)
        abort();
    ids = malloc((n ? n : 1) * sizeof *ids);
    if (tf_vocab_encode(v, (const char *)data, size, ids, n, &n) != TF_STATUS_OK)
        abort();
    tf_vocab_decode(v, ids, n, NULL, 0, &dl);
    dec = malloc(dl + 1);
    if (tf_vocab_decode(v, ids, n, dec, dl + 1, &dl) != TF_STATUS_OK)
        abort();
done:
    free(buf);
    free(ids);
    free(dec);
    tf_vocab_free(v);
    tf_vocab_free(w);
    tf_ctx_free(ctx);
    return 0;
}
