/* SPDX-License-Identifier: MIT */
/* Fuzz the labelled-TSV parser and batching from memory. The first byte picks options. */
#include "transfer.h"
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *v = NULL;
    tf_loader_t *l = NULL;
    tf_loader_opts_t o;
    tf__lines_t lr;
    if (size < 1 || tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    uint8_t flags = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    tf_vocab_opts_t vo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    /* Bit 1 is shared with the batch size: byte or BPE. */
    vo.kind = (flags & 64) ? ((flags & 2) ? TF_VOCAB_KIND_BPE : TF_VOCAB_KIND_BYTE)
                           : TF_VOCAB_KIND_WORD;
    vo.lowercase = (flags >> 7) & 1;
    const char *seed_text = "a b c hello world";
    const char *texts[2] = {seed_text, text};
    size_t lens[2] = {strlen(seed_text), len};
    if (tf_vocab_build_texts(&v, ctx, texts, lens, 2, &vo) != TF_STATUS_OK)
        goto done;
    tf_loader_opts_init(&o, TF_LOADER_OPTS_VERSION);
    o.batch_size = 1 + (flags & 3);
    o.skip_bad_lines = (flags >> 2) & 1;
    o.bucket = (flags >> 3) & 1;
    o.max_len = (flags >> 4) & 1 ? 3 : 0;
    o.split = (flags >> 5) & 1 ? TF_LOADER_SPLIT_TRAIN : TF_LOADER_SPLIT_ALL;
    int32_t multilabel = (flags & 1) && ((flags >> 4) & 1); /* the bits are all taken: share two */
    tf__lines_open_mem(&lr, ctx, "fuzz.tsv", text, len, "fuzz");
    if (tf__loader_labeled_from(&l, ctx, v, &lr, &o, multilabel, "fuzz") != TF_STATUS_OK)
        goto done;
    for (int epoch = 0; epoch < 2; epoch++) {
        for (;;) {
            tf_batch_t *b;
            if (tf_loader_next(&b, l) != TF_STATUS_OK)
                abort();
            if (b == NULL)
                break;
            int32_t T = tf_batch_steps(b), B = tf_batch_size(b);
            const int32_t *tok = tf_tensor_data(tf_batch_tokens(b));
            const int32_t *ln = tf_tensor_data(tf_batch_lengths(b));
            int32_t C = tf_loader_num_labels(l);
            if (B < 1 || B > o.batch_size || T < 1 || tf_loader_is_multilabel(l) != multilabel)
                abort();
            if (multilabel) { /* (B, C) of 0/1, and no single labels */
                tf_tensor_t *sets = tf_batch_label_sets(b);
                if (tf_batch_labels(b) != NULL || sets == NULL || tf_tensor_numel(sets) != (int64_t)B * C)
                    abort();
                const float *y = tf_tensor_data(sets);
                for (int64_t i = 0; i < (int64_t)B * C; i++)
                    if (y[i] != 0.0f && y[i] != 1.0f)
                        abort();
            } else {
                const int32_t *lab = tf_tensor_data(tf_batch_labels(b));
                for (int32_t i = 0; i < B; i++)
                    if (lab[i] < 0 || lab[i] >= C)
                        abort();
            }
            for (int32_t i = 0; i < B; i++)
                if (ln[i] < 1 || ln[i] > T)
                    abort();
            for (int64_t i = 0; i < (int64_t)T * B; i++)
                if (tok[i] < 0 || tok[i] >= tf_vocab_size(v))
                    abort();
        }
        tf_loader_reset(l);
    }
    for (int32_t i = 0; i < tf_loader_num_labels(l); i++)
        if (tf_loader_label_name(l, i) == NULL)
            abort();
done:
    tf_loader_free(l);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
    return 0;
}
