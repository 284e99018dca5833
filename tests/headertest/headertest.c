/* Compiled as strict C99: the umbrella header must be clean, and the header version must match
 * the library actually loaded. */
#include <transfer.h>
#include <stdio.h>

/* Every static initializer compiles under -Wall -Wextra -pedantic -Werror (no missing field,
 * no narrowing); tests/unit/core/test_opts_static.c checks their values. */
static int initializers_compile(void)
{
    tf_vocab_opts_t vocab = TF_VOCAB_OPTS_INIT;
    tf_loader_opts_t loader = TF_LOADER_OPTS_INIT;
    tf_tensorfile_opts_t tensorfile = TF_TENSORFILE_OPTS_INIT;
    tf_embedding_opts_t embedding = TF_EMBEDDING_OPTS_INIT;
    tf_linear_opts_t linear = TF_LINEAR_OPTS_INIT;
    tf_dropout_opts_t dropout = TF_DROPOUT_OPTS_INIT;
    tf_lstm_opts_t lstm = TF_LSTM_OPTS_INIT;
    tf_encoder_opts_t encoder = TF_ENCODER_OPTS_INIT;
    tf_optimizer_opts_t optimizer = TF_OPTIMIZER_OPTS_INIT;
    tf_model_opts_t model = TF_MODEL_OPTS_INIT;
    tf_pretrain_opts_t pretrain = TF_PRETRAIN_OPTS_INIT;
    tf_finetune_opts_t finetune = TF_FINETUNE_OPTS_INIT;
    tf_adapt_opts_t adapt = TF_ADAPT_OPTS_INIT;
    return vocab.version == TF_VOCAB_OPTS_VERSION && loader.version == TF_LOADER_OPTS_VERSION &&
           tensorfile.version == TF_TENSORFILE_OPTS_VERSION &&
           embedding.version == TF_EMBEDDING_OPTS_VERSION &&
           linear.version == TF_LINEAR_OPTS_VERSION && dropout.version == TF_DROPOUT_OPTS_VERSION &&
           lstm.version == TF_LSTM_OPTS_VERSION && encoder.version == TF_ENCODER_OPTS_VERSION &&
           optimizer.version == TF_OPTIMIZER_OPTS_VERSION &&
           model.version == TF_MODEL_OPTS_VERSION && pretrain.version == TF_PRETRAIN_OPTS_VERSION &&
           finetune.version == TF_FINETUNE_OPTS_VERSION && adapt.version == TF_ADAPT_OPTS_VERSION;
}

int main(void)
{
    tf_ctx_opts_t defaults = TF_CTX_OPTS_INIT;
    if (!initializers_compile())
        return 4;
    tf_ctx_opts_t o;
    if (tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION) != TF_STATUS_OK)
        return 1;
    if (defaults.struct_size != o.struct_size || defaults.seed != o.seed ||
        defaults.log_level != o.log_level || defaults.num_threads != o.num_threads)
        return 2; /* the static initializer and the init function disagree */
    if (tf_version_number() != LIBTRANSFER_VERSION_NUMBER)
        return 3;
    printf("C99: libtransfer %s\n", tf_version_string());
    return 0;
}
