/* SPDX-License-Identifier: MIT */
/* Fuzz the numeric-CSV parser, standardisation and batching from memory. The first byte picks
 * options. */
#include "transfer.h"
#include "data/data_internal.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_ctx_t *ctx = NULL;
    tf_loader_t *l = NULL;
    tf_loader_opts_t o;
    tf__lines_t lr;
    if (size < 1 || tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    uint8_t flags = data[0];
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 1 + (flags & 3);
    o.num_features = 1 + ((flags >> 2) & 3);
    o.has_label = (flags >> 4) & 1;
    o.next_step = (flags >> 5) & 1;
    o.skip_bad_lines = (flags >> 6) & 1;
    o.standardize = (flags >> 7) & 1;
    tf__lines_open_mem(&lr, ctx, "fuzz.csv", (const char *)data + 1, size - 1, "fuzz");
    if (tf__loader_numeric_from(&l, ctx, &lr, &o, "fuzz") != TF_STATUS_OK)
        goto done;
    for (;;) {
        tf_batch_t *b;
        if (tf_loader_next(&b, l) != TF_STATUS_OK)
            abort();
        if (b == NULL)
            break;
        int32_t T = tf_batch_steps(b), B = tf_batch_size(b);
        tf_tensor_t *x = tf_batch_features(b);
        if (T < 1 || B < 1 || tf_tensor_dim(x, 2) != o.num_features)
            abort();
        if (o.next_step && tf_batch_feature_targets(b) == NULL)
            abort();
        const int32_t *ln = tf_tensor_data(tf_batch_lengths(b));
        for (int32_t i = 0; i < B; i++)
            if (ln[i] < 1 || ln[i] > T)
                abort();
        if (o.has_label && tf_batch_labels(b) == NULL)
            abort();
    }
done:
    tf_loader_free(l);
    tf_ctx_free(ctx);
    return 0;
}
