/* SPDX-License-Identifier: MIT */
/* Every *_OPTS_INIT static initializer gives exactly what its *_opts_init function gives for the
 * current version. Fields are compared one by one as bytes (a double exactly, padding never
 * looked at); the function's struct starts filled with 0xab so a field it forgets shows. The
 * listed fields must reach the end of the struct: a field appended to a struct but not to its
 * macro (or to this list) fails here. */
#include "tf_test.h"
#include <stddef.h>
#include <string.h>

/* Declares `macro` (from the initializer) and `fn` (from the init function) of type T. */
#define BEGIN(T, INIT, init_fn, VERSION)                                                           \
    T macro = INIT;                                                                                \
    T fn;                                                                                          \
    size_t end = 0, gaps = 0;                                                                      \
    (void)state;                                                                                   \
    (void)gaps;                                                                                    \
    memset(&fn, 0xab, sizeof fn);                                                                  \
    assert_ok(init_fn(&fn, VERSION))

/* One field, in declaration order: equal bytes, and it starts after the previous one. */
#define SAME(T, f)                                                                                 \
    do {                                                                                           \
        assert_memory_equal(&macro.f, &fn.f, sizeof fn.f);                                         \
        assert_true(offsetof(T, f) >= end);                                                        \
        gaps += offsetof(T, f) - end;                                                              \
        end = offsetof(T, f) + sizeof fn.f;                                                        \
    } while (0)

/* Only tail padding may follow the last field listed. */
#define END(T) assert_true(sizeof(T) - end < _Alignof(T))

/* No padding at all: the training calls hash these structs as bytes (their phase fingerprint). */
#define NO_PADDING(T) assert_true(gaps == 0 && end == sizeof(T))

static void test_ctx(void **state)
{
    BEGIN(tf_ctx_opts_t, TF_CTX_OPTS_INIT, tf_ctx_opts_init, TF_CTX_OPTS_VERSION);
    SAME(tf_ctx_opts_t, struct_size);
    SAME(tf_ctx_opts_t, version);
    SAME(tf_ctx_opts_t, allocator);
    SAME(tf_ctx_opts_t, num_threads);
    SAME(tf_ctx_opts_t, log_level);
    SAME(tf_ctx_opts_t, seed);
    SAME(tf_ctx_opts_t, log_cb);
    SAME(tf_ctx_opts_t, log_payload);
    END(tf_ctx_opts_t);
}

static void test_vocab(void **state)
{
    BEGIN(tf_vocab_opts_t, TF_VOCAB_OPTS_INIT, tf_vocab_opts_init, TF_VOCAB_OPTS_VERSION);
    SAME(tf_vocab_opts_t, struct_size);
    SAME(tf_vocab_opts_t, version);
    SAME(tf_vocab_opts_t, kind);
    SAME(tf_vocab_opts_t, lowercase);
    SAME(tf_vocab_opts_t, split_punct);
    SAME(tf_vocab_opts_t, min_count);
    SAME(tf_vocab_opts_t, max_size);
    END(tf_vocab_opts_t);
}

static void test_loader(void **state)
{
    BEGIN(tf_loader_opts_t, TF_LOADER_OPTS_INIT, tf_loader_opts_init, TF_LOADER_OPTS_VERSION);
    SAME(tf_loader_opts_t, struct_size);
    SAME(tf_loader_opts_t, version);
    SAME(tf_loader_opts_t, batch_size);
    SAME(tf_loader_opts_t, bptt);
    SAME(tf_loader_opts_t, bptt_random);
    SAME(tf_loader_opts_t, shuffle);
    SAME(tf_loader_opts_t, drop_last);
    SAME(tf_loader_opts_t, max_len);
    SAME(tf_loader_opts_t, bucket);
    SAME(tf_loader_opts_t, skip_bad_lines);
    SAME(tf_loader_opts_t, split);
    SAME(tf_loader_opts_t, num_features);
    SAME(tf_loader_opts_t, has_label);
    SAME(tf_loader_opts_t, next_step);
    SAME(tf_loader_opts_t, standardize);
    SAME(tf_loader_opts_t, num_labels);
    SAME(tf_loader_opts_t, labels);
    SAME(tf_loader_opts_t, valid_fraction);
    SAME(tf_loader_opts_t, seed);
    END(tf_loader_opts_t);
}

static void test_tensorfile(void **state)
{
    BEGIN(tf_tensorfile_opts_t, TF_TENSORFILE_OPTS_INIT, tf_tensorfile_opts_init,
          TF_TENSORFILE_OPTS_VERSION);
    SAME(tf_tensorfile_opts_t, struct_size);
    SAME(tf_tensorfile_opts_t, version);
    SAME(tf_tensorfile_opts_t, flags);
    SAME(tf_tensorfile_opts_t, reserved);
    SAME(tf_tensorfile_opts_t, max_header_bytes);
    END(tf_tensorfile_opts_t);
}

static void test_embedding(void **state)
{
    BEGIN(tf_embedding_opts_t, TF_EMBEDDING_OPTS_INIT, tf_embedding_opts_init,
          TF_EMBEDDING_OPTS_VERSION);
    SAME(tf_embedding_opts_t, struct_size);
    SAME(tf_embedding_opts_t, version);
    SAME(tf_embedding_opts_t, num_embeddings);
    SAME(tf_embedding_opts_t, embedding_dim);
    SAME(tf_embedding_opts_t, padding_idx);
    SAME(tf_embedding_opts_t, name);
    END(tf_embedding_opts_t);
}

static void test_linear(void **state)
{
    BEGIN(tf_linear_opts_t, TF_LINEAR_OPTS_INIT, tf_linear_opts_init, TF_LINEAR_OPTS_VERSION);
    SAME(tf_linear_opts_t, struct_size);
    SAME(tf_linear_opts_t, version);
    SAME(tf_linear_opts_t, in_features);
    SAME(tf_linear_opts_t, out_features);
    SAME(tf_linear_opts_t, bias);
    SAME(tf_linear_opts_t, reserved);
    SAME(tf_linear_opts_t, name);
    END(tf_linear_opts_t);
}

static void test_dropout(void **state)
{
    BEGIN(tf_dropout_opts_t, TF_DROPOUT_OPTS_INIT, tf_dropout_opts_init, TF_DROPOUT_OPTS_VERSION);
    SAME(tf_dropout_opts_t, struct_size);
    SAME(tf_dropout_opts_t, version);
    SAME(tf_dropout_opts_t, p);
    END(tf_dropout_opts_t);
}

static void test_lstm(void **state)
{
    BEGIN(tf_rnn_opts_t, TF_RNN_OPTS_INIT, tf_rnn_opts_init, TF_RNN_OPTS_VERSION);
    SAME(tf_rnn_opts_t, struct_size);
    SAME(tf_rnn_opts_t, version);
    SAME(tf_rnn_opts_t, input_size);
    SAME(tf_rnn_opts_t, hidden_size);
    SAME(tf_rnn_opts_t, num_layers);
    SAME(tf_rnn_opts_t, bidirectional);
    SAME(tf_rnn_opts_t, dropout);
    SAME(tf_rnn_opts_t, name);
    SAME(tf_rnn_opts_t, cell);
    END(tf_rnn_opts_t);
}

static void test_encoder(void **state)
{
    BEGIN(tf_encoder_opts_t, TF_ENCODER_OPTS_INIT, tf_encoder_opts_init, TF_ENCODER_OPTS_VERSION);
    SAME(tf_encoder_opts_t, struct_size);
    SAME(tf_encoder_opts_t, version);
    SAME(tf_encoder_opts_t, vocab_size);
    SAME(tf_encoder_opts_t, embedding_dim);
    SAME(tf_encoder_opts_t, padding_idx);
    SAME(tf_encoder_opts_t, input_features);
    SAME(tf_encoder_opts_t, hidden_size);
    SAME(tf_encoder_opts_t, num_layers);
    SAME(tf_encoder_opts_t, bidirectional);
    SAME(tf_encoder_opts_t, dropout);
    SAME(tf_encoder_opts_t, cell);
    END(tf_encoder_opts_t);
}

static void test_optimizer(void **state)
{
    BEGIN(tf_optimizer_opts_t, TF_OPTIMIZER_OPTS_INIT, tf_optimizer_opts_init,
          TF_OPTIMIZER_OPTS_VERSION);
    SAME(tf_optimizer_opts_t, struct_size);
    SAME(tf_optimizer_opts_t, version);
    SAME(tf_optimizer_opts_t, algorithm);
    SAME(tf_optimizer_opts_t, amsgrad);
    SAME(tf_optimizer_opts_t, lr);
    SAME(tf_optimizer_opts_t, momentum);
    SAME(tf_optimizer_opts_t, dampening);
    SAME(tf_optimizer_opts_t, nesterov);
    SAME(tf_optimizer_opts_t, schedule);
    SAME(tf_optimizer_opts_t, weight_decay);
    SAME(tf_optimizer_opts_t, beta1);
    SAME(tf_optimizer_opts_t, beta2);
    SAME(tf_optimizer_opts_t, eps);
    SAME(tf_optimizer_opts_t, max_grad_norm);
    SAME(tf_optimizer_opts_t, total_steps);
    SAME(tf_optimizer_opts_t, warmup_steps);
    SAME(tf_optimizer_opts_t, min_lr_ratio);
    SAME(tf_optimizer_opts_t, cut_frac);
    SAME(tf_optimizer_opts_t, ratio);
    SAME(tf_optimizer_opts_t, pct_start);
    SAME(tf_optimizer_opts_t, div_factor);
    SAME(tf_optimizer_opts_t, final_div_factor);
    END(tf_optimizer_opts_t);
    NO_PADDING(tf_optimizer_opts_t);
}

static void test_model(void **state)
{
    BEGIN(tf_model_opts_t, TF_MODEL_OPTS_INIT, tf_model_opts_init, TF_MODEL_OPTS_VERSION);
    SAME(tf_model_opts_t, struct_size);
    SAME(tf_model_opts_t, version);
    SAME(tf_model_opts_t, input);
    SAME(tf_model_opts_t, num_features);
    SAME(tf_model_opts_t, embedding_dim);
    SAME(tf_model_opts_t, hidden_size);
    SAME(tf_model_opts_t, num_layers);
    SAME(tf_model_opts_t, bidirectional);
    SAME(tf_model_opts_t, dropout);
    SAME(tf_model_opts_t, tie_weights);
    SAME(tf_model_opts_t, reserved);
    SAME(tf_model_opts_t, cell);
    SAME(tf_model_opts_t, softmax);
    SAME(tf_model_opts_t, div_value);
    SAME(tf_model_opts_t, cutoffs);
    END(tf_model_opts_t);
}

static void test_pretrain(void **state)
{
    BEGIN(tf_pretrain_opts_t, TF_PRETRAIN_OPTS_INIT, tf_pretrain_opts_init,
          TF_PRETRAIN_OPTS_VERSION);
    SAME(tf_pretrain_opts_t, struct_size);
    SAME(tf_pretrain_opts_t, version);
    SAME(tf_pretrain_opts_t, epochs);
    SAME(tf_pretrain_opts_t, reserved);
    SAME(tf_pretrain_opts_t, max_steps);
    SAME(tf_pretrain_opts_t, stop_after_steps);
    SAME(tf_pretrain_opts_t, optim);
    SAME(tf_pretrain_opts_t, clip_norm);
    SAME(tf_pretrain_opts_t, valid_every);
    SAME(tf_pretrain_opts_t, progress_every);
    SAME(tf_pretrain_opts_t, progress);
    SAME(tf_pretrain_opts_t, progress_payload);
    SAME(tf_pretrain_opts_t, dist);
    END(tf_pretrain_opts_t);
    NO_PADDING(tf_pretrain_opts_t);
}

static void test_import(void **state)
{
    BEGIN(tf_import_opts_t, TF_IMPORT_OPTS_INIT, tf_import_opts_init, TF_IMPORT_OPTS_VERSION);
    SAME(tf_import_opts_t, struct_size);
    SAME(tf_import_opts_t, version);
    SAME(tf_import_opts_t, labels);
    SAME(tf_import_opts_t, num_labels);
    SAME(tf_import_opts_t, multi_label);
    SAME(tf_import_opts_t, pooling);
    SAME(tf_import_opts_t, reserved);
    SAME(tf_import_opts_t, head_dropout);
    END(tf_import_opts_t);
}

static void test_finetune(void **state)
{
    BEGIN(tf_finetune_opts_t, TF_FINETUNE_OPTS_INIT, tf_finetune_opts_init,
          TF_FINETUNE_OPTS_VERSION);
    SAME(tf_finetune_opts_t, struct_size);
    SAME(tf_finetune_opts_t, version);
    SAME(tf_finetune_opts_t, strategy);
    SAME(tf_finetune_opts_t, pooling);
    SAME(tf_finetune_opts_t, epochs);
    SAME(tf_finetune_opts_t, patience);
    SAME(tf_finetune_opts_t, metric);
    SAME(tf_finetune_opts_t, reserved);
    SAME(tf_finetune_opts_t, stop_after_steps);
    SAME(tf_finetune_opts_t, lr);
    SAME(tf_finetune_opts_t, discriminative);
    SAME(tf_finetune_opts_t, weight_decay);
    SAME(tf_finetune_opts_t, head_dropout);
    SAME(tf_finetune_opts_t, clip_norm);
    SAME(tf_finetune_opts_t, schedule);
    SAME(tf_finetune_opts_t, reset_head);
    SAME(tf_finetune_opts_t, progress_every);
    SAME(tf_finetune_opts_t, progress);
    SAME(tf_finetune_opts_t, progress_payload);
    SAME(tf_finetune_opts_t, class_weight);
    SAME(tf_finetune_opts_t, calibrate);
    SAME(tf_finetune_opts_t, class_weights);
    SAME(tf_finetune_opts_t, num_class_weights);
    SAME(tf_finetune_opts_t, optim);
    SAME(tf_finetune_opts_t, dist);
    END(tf_finetune_opts_t);
    NO_PADDING(tf_finetune_opts_t);
}

static void test_distill(void **state)
{
    BEGIN(tf_distill_opts_t, TF_DISTILL_OPTS_INIT, tf_distill_opts_init, TF_DISTILL_OPTS_VERSION);
    SAME(tf_distill_opts_t, struct_size);
    SAME(tf_distill_opts_t, version);
    SAME(tf_distill_opts_t, epochs);
    SAME(tf_distill_opts_t, patience);
    SAME(tf_distill_opts_t, metric);
    SAME(tf_distill_opts_t, pooling);
    SAME(tf_distill_opts_t, temperature);
    SAME(tf_distill_opts_t, alpha);
    SAME(tf_distill_opts_t, lr);
    SAME(tf_distill_opts_t, weight_decay);
    SAME(tf_distill_opts_t, head_dropout);
    SAME(tf_distill_opts_t, clip_norm);
    SAME(tf_distill_opts_t, stop_after_steps);
    SAME(tf_distill_opts_t, progress_every);
    SAME(tf_distill_opts_t, progress);
    SAME(tf_distill_opts_t, progress_payload);
    SAME(tf_distill_opts_t, optim);
    SAME(tf_distill_opts_t, calibrate);
    SAME(tf_distill_opts_t, reserved);
    SAME(tf_distill_opts_t, max_steps);
    END(tf_distill_opts_t);
    NO_PADDING(tf_distill_opts_t);
}

static void test_adapt(void **state)
{
    BEGIN(tf_adapt_opts_t, TF_ADAPT_OPTS_INIT, tf_adapt_opts_init, TF_ADAPT_OPTS_VERSION);
    SAME(tf_adapt_opts_t, struct_size);
    SAME(tf_adapt_opts_t, version);
    SAME(tf_adapt_opts_t, max_iter);
    SAME(tf_adapt_opts_t, reserved);
    SAME(tf_adapt_opts_t, tol);
    SAME(tf_adapt_opts_t, min_prior);
    END(tf_adapt_opts_t);
}

static void test_explain(void **state)
{
    BEGIN(tf_explain_opts_t, TF_EXPLAIN_OPTS_INIT, tf_explain_opts_init, TF_EXPLAIN_OPTS_VERSION);
    SAME(tf_explain_opts_t, struct_size);
    SAME(tf_explain_opts_t, version);
    SAME(tf_explain_opts_t, steps);
    SAME(tf_explain_opts_t, rule);
    SAME(tf_explain_opts_t, baseline);
    SAME(tf_explain_opts_t, target_class);
    SAME(tf_explain_opts_t, batch_size);
    SAME(tf_explain_opts_t, reserved);
    END(tf_explain_opts_t);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx),        cmocka_unit_test(test_vocab),
        cmocka_unit_test(test_loader),     cmocka_unit_test(test_tensorfile),
        cmocka_unit_test(test_embedding),  cmocka_unit_test(test_linear),
        cmocka_unit_test(test_dropout),    cmocka_unit_test(test_lstm),
        cmocka_unit_test(test_encoder),    cmocka_unit_test(test_optimizer),
        cmocka_unit_test(test_model),      cmocka_unit_test(test_pretrain),
        cmocka_unit_test(test_finetune),   cmocka_unit_test(test_distill),   cmocka_unit_test(test_adapt), cmocka_unit_test(test_import),
        cmocka_unit_test(test_explain),
    };
    return TF_TEST_RUN(tests);
}
