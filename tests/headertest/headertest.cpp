// Compiled as strict C++11: the umbrella header must be clean and usable from C++.
#include <transfer.h>
#include <cstdio>
#include <cstring>

// Every static initializer compiles as C++11 (aggregate initialisation, no narrowing).
static bool initializers_compile()
{
    tf_ctx_opts_t ctx = TF_CTX_OPTS_INIT;
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
    return ctx.version == TF_CTX_OPTS_VERSION && vocab.version == TF_VOCAB_OPTS_VERSION &&
           loader.version == TF_LOADER_OPTS_VERSION &&
           tensorfile.version == TF_TENSORFILE_OPTS_VERSION &&
           embedding.version == TF_EMBEDDING_OPTS_VERSION &&
           linear.version == TF_LINEAR_OPTS_VERSION && dropout.version == TF_DROPOUT_OPTS_VERSION &&
           lstm.version == TF_LSTM_OPTS_VERSION && encoder.version == TF_ENCODER_OPTS_VERSION &&
           optimizer.version == TF_OPTIMIZER_OPTS_VERSION &&
           model.version == TF_MODEL_OPTS_VERSION && pretrain.version == TF_PRETRAIN_OPTS_VERSION &&
           finetune.version == TF_FINETUNE_OPTS_VERSION && adapt.version == TF_ADAPT_OPTS_VERSION;
}

int main()
{
    if (!initializers_compile())
        return 4;
    tf_ctx_t *ctx = nullptr;
    if (tf_ctx_create(&ctx, nullptr) != TF_STATUS_OK)
        return 1;
    const int64_t shape[2] = {2, 3};
    tf_tensor_t *t = nullptr;
    if (tf_tensor_create(&t, ctx, TF_DTYPE_F32, shape, 2) != TF_STATUS_OK)
        return 2;
    tf_tensor_free(t);
    tf_ctx_free(ctx);
    if (std::strcmp(tf_version_string(), LIBTRANSFER_VERSION_STRING) != 0)
        return 3;
    std::printf("C++11: libtransfer %s\n", tf_version_string());
    return 0;
}
