/* SPDX-License-Identifier: MIT */
/* The synthetic data and small models the training tests share: sentences of a small grammar
 * that a tiny LSTM learns quickly, their task files, and the set-up of the small models and
 * loaders trained on them. */
#ifndef TF_TRAIN_SETUP_H
#define TF_TRAIN_SETUP_H

#include "tf_test.h"

/* "subject verb object ." sentences: subjects 0 to 2 are animals, 3 and 4 persons. */
extern const char *const tf_test_subj[5];
extern const char *const tf_test_verb[5];
extern const char *const tf_test_obj[5];

/* A draw in [0, n) from the linear congruential sequence at *state (advanced). */
unsigned tf_test_rnd(unsigned *state, unsigned n);

/* Make a fresh directory /tmp/<prefix>_XXXXXX; its name goes to `dir` (`size` bytes). 0 on
 * success, -1 on failure (a group setup's return). */
int tf_test_make_dir(char *dir, size_t size, const char *prefix);

/* Write, from the sequence starting at `seed`: `corpus_lines` sentences to `corpus`, then 400
 * labelled ones, the first 300 to `train_tsv` and the rest to `valid_tsv` as animal|person (the
 * subject), and all 400 to `tri_tsv` as like|hunt|want (the verb group). */
void tf_test_write_grammar(unsigned seed, int corpus_lines, const char *corpus,
                           const char *train_tsv, const char *valid_tsv, const char *tri_tsv);

/* A labelled TSV loader in batches of 16, shuffled; with `fixed`, in order with its label
 * names (validation data). */
tf_loader_t *tf_test_labeled(tf_ctx_t *ctx, tf_vocab_t *vocab, const char *path,
                             const tf_loader_t *fixed);

/* Language-model loader options: 8 streams, windows of 12 tokens. */
void tf_test_lm_opts(tf_loader_opts_t *lo);

/* Options of a small token model: embedding 16, `hidden` units, dropout 0.1. */
void tf_test_small_model_opts(tf_model_opts_t *mo, int32_t hidden);

/* A numeric model of `features` values a step (embedding 8, hidden 16, no dropout) pre-trained
 * on the next-step loader `next` for `first` steps, then on to `total` steps, whose validation
 * MSE on `next` must fall below `fall` times the first's; then fine-tuned in full for `epochs`
 * epochs at lr 1e-2 on `cls`, whose accuracy on `cls` must exceed 0.9. The caller frees it. */
tf_model_t *tf_test_numeric_pretrain_finetune(tf_ctx_t *ctx, tf_loader_t *next, tf_loader_t *cls,
                                              int32_t features, int64_t first, int64_t total,
                                              double fall, int32_t epochs);

#endif
