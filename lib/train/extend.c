/* SPDX-License-Identifier: MIT */
/* tf_model_extend_vocab_files: new words for a pre-trained model, appended to its vocabulary,
 * embedding and language-model head. */
#include "transfer/train.h"
#include "train_internal.h"

#include "../data/data_internal.h"
#include <string.h>

/* Copy parameter `from` into `to`, which has the same shape or more rows (axis 0): the old rows
 * bit for bit, every new row the mean of the old ones (ULMFiT's choice for new words). */
static tf_status_t copy_grown(tf_ctx_t *ctx, tf_tensor_t *from, tf_tensor_t *to)
{
    const float *src = tf_tensor_data(from);
    float *dst = tf_tensor_data(to);
    int64_t rows = tf_tensor_dim(from, 0), new_rows = tf_tensor_dim(to, 0);
    int64_t cols = rows > 0 ? tf_tensor_numel(from) / rows : 0;
    memcpy(dst, src, tf_tensor_nbytes(from));
    if (new_rows == rows)
        return TF_STATUS_OK;
    double *mean = tf__calloc(ctx, (size_t)cols, sizeof *mean);
    if (mean == NULL)
        return TF_STATUS_ENOMEM;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < cols; k++)
            mean[k] += (double)src[r * cols + k];
    for (int64_t k = 0; k < cols; k++)
        mean[k] /= (double)rows;
    for (int64_t r = rows; r < new_rows; r++)
        for (int64_t k = 0; k < cols; k++)
            dst[r * cols + k] = (float)mean[k];
    tf__free(ctx, mean);
    return TF_STATUS_OK;
}

/* Every parameter of module `from` into its twin `to` built for the larger vocabulary (the same
 * names in the same order), with its frozen state. */
static tf_status_t copy_module(tf_ctx_t *ctx, tf_module_t *from, tf_module_t *to)
{
    for (uint32_t j = 0; j < tf_module_num_params(from); j++) {
        tf_tensor_t *p, *q;
        TF_CHECK(tf_module_param_at(NULL, &p, NULL, from, j));
        TF_CHECK(tf_module_param_at(NULL, &q, NULL, to, j));
        TF_CHECK(copy_grown(ctx, p, q));
        TF_CHECK(tf_tensor_set_requires_grad(q, tf_tensor_requires_grad(p)));
    }
    return TF_STATUS_OK;
}

tf_status_t tf_model_extend_vocab_files(tf_model_t *m,
                                        const char *const *paths,
                                        uint32_t num_paths,
                                        int32_t min_count,
                                        int32_t max_size,
                                        int32_t *num_added)
{
    const char *fn = __func__;
    tf_vocab_t *vocab;
    tf_model_t *grown;
    int32_t n;
    tf_status_t st;
    if (num_added != NULL)
        *num_added = 0;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(paths);
    if (num_paths == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: give at least one file", fn);
    TF_CHECK(tf__model_check_trainable(m, fn));
    if (m->cfg.input != TF_MODEL_INPUT_TOKENS)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a numeric model has no vocabulary", fn);
    if (tf_vocab_kind(m->vocab) != TF_VOCAB_KIND_WORD)
        TF_FAIL(TF_STATUS_ESTATE, "%s: the model's %s vocabulary already covers every input (only "
                "word vocabularies grow)", fn,
                tf_vocab_kind(m->vocab) == TF_VOCAB_KIND_BYTE ? "byte" : "subword");
    if (min_count < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: min_count is %d; use 1 or more", fn, min_count);
    if (max_size != 0 && max_size < tf_vocab_size(m->vocab))
        TF_FAIL(TF_STATUS_EINVAL, "%s: max_size %d is below the vocabulary's %d tokens (it can only "
                "grow; 0 = no limit)", fn, max_size, tf_vocab_size(m->vocab));
    TF_CHECK(tf__vocab_extend_files(m->vocab, paths, num_paths, min_count, max_size, fn, &vocab, &n));
    if (n == 0) {
        tf_vocab_free(vocab);
        return TF_STATUS_OK;
    }
    /* Build the grown modules beside the model, fill them, then swap: a failure changes nothing. */
    TF_CHECK(tf__model_new(&grown, m->ctx, vocab, &m->cfg));
    st = copy_module(m->ctx, m->encoder, grown->encoder);
    if (st == TF_STATUS_OK && m->lm_head != NULL)
        st = copy_module(m->ctx, m->lm_head, grown->lm_head);
    if (st != TF_STATUS_OK) {
        tf_model_free(grown);
        return st;
    }
    tf__phase_reset(m); /* the optimizer's moments have the old shapes */
    tf_vocab_t *v = m->vocab;
    tf_module_t *enc = m->encoder, *drop = m->lm_dropout, *lm = m->lm_head;
    m->vocab = grown->vocab;
    m->encoder = grown->encoder;
    m->lm_dropout = grown->lm_dropout;
    m->lm_head = grown->lm_head;
    grown->vocab = v;
    grown->encoder = enc;
    grown->lm_dropout = drop;
    grown->lm_head = lm;
    tf_model_free(grown);
    tf__log(m->ctx, TF_LOG_INFO, "%s: %d words appended; vocabulary %d", fn, n, tf_vocab_size(m->vocab));
    if (num_added != NULL)
        *num_added = n;
    return TF_STATUS_OK;
}
