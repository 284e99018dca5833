/* SPDX-License-Identifier: MIT */
/* Fuzz the word-vector reader (tf_model_init_embeddings_file) from memory: a model over a few
 * words with 3-dimensional embeddings takes the input as a .vec file. */
#include "transfer.h"
#include "data/data_internal.h"
#include "train/train_internal.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *v = NULL;
    tf_model_t *m = NULL;
    tf__lines_t lr;
    int32_t found = -1;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    const char *texts[1] = {"the cat sat on the mat with a dog"};
    tf_model_opts_t mo;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 3;
    mo.hidden_size = 2;
    if (tf_vocab_build_texts(&v, ctx, texts, NULL, 1, NULL) != TF_STATUS_OK ||
        tf_model_create(&m, ctx, v, &mo) != TF_STATUS_OK)
        goto done;
    tf__lines_open_mem(&lr, ctx, "fuzz.vec", (const char *)data, size, "fuzz");
    tf_status_t st = tf__model_init_embeddings_lines(m, &lr, &found);
    tf__lines_close(&lr);
    if (st == TF_STATUS_OK && (found < 0 || found > tf_vocab_size(v)))
        abort();
    /* Whatever the input, the embedding stays finite. */
    tf_tensor_t *emb;
    const char *name;
    if (tf_module_param_at(&name, &emb, NULL, tf_model_encoder(m), 0) == TF_STATUS_OK) {
        const float *e = tf_tensor_data(emb);
        for (int64_t i = 0; i < tf_tensor_numel(emb); i++)
            if (!isfinite(e[i]))
                abort();
    }
done:
    tf_model_free(m);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
    return 0;
}
