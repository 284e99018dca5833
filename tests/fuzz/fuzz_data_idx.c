/* SPDX-License-Identifier: MIT */
/* Fuzz the IDX image and label readers, the per-class subset and batching from memory. The first
 * byte picks options; the next two give the image file's length (big-endian), and what follows
 * it is the label file (when the options ask for one). */
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
    if (size < 3 || tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    uint8_t flags = data[0];
    size_t img_len = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (img_len > size)
        img_len = size;
    int labelled = flags & 1;
    int32_t per_class = labelled ? (flags >> 1) & 3 : 0;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 1 + ((flags >> 3) & 3);
    o.next_step = (flags >> 5) & 1;
    o.standardize = (flags >> 6) & 1;
    o.split = (flags >> 7) ? TF_LOADER_SPLIT_TRAIN : TF_LOADER_SPLIT_ALL;
    if (tf__loader_idx_from(&l, ctx, "images", data, img_len, "labels",
                            labelled ? data + img_len : NULL, size - img_len, per_class, &o,
                            "fuzz") != TF_STATUS_OK)
        goto done;
    int32_t F = tf_loader_num_features(l);
    for (;;) {
        tf_batch_t *b;
        if (tf_loader_next(&b, l) != TF_STATUS_OK)
            abort();
        if (b == NULL)
            break;
        int32_t T = tf_batch_steps(b), B = tf_batch_size(b);
        tf_tensor_t *x = tf_batch_features(b);
        if (T < 1 || B < 1 || F < 1 || tf_tensor_dim(x, 2) != F)
            abort();
        const float *v = tf_tensor_data(x);
        for (int64_t k = 0; k < (int64_t)T * B * F; k++)
            if (!isfinite(v[k]) || (!o.standardize && (v[k] < 0.0f || v[k] > 1.0f)))
                abort();
        if (o.next_step && tf_batch_feature_targets(b) == NULL)
            abort();
        if (labelled) {
            const int32_t *lab = tf_tensor_data(tf_batch_labels(b));
            for (int32_t i = 0; i < B; i++)
                if (lab[i] < 0 || lab[i] >= tf_loader_num_labels(l))
                    abort();
        }
    }
done:
    tf_loader_free(l);
    tf_ctx_free(ctx);
    return 0;
}
