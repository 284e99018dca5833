/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/predict.h
 * @brief Serving predictions: a read-only predictor that many threads share, over batches of
 *        texts, token sequences or numeric sequences.
 *
 * A ::tf_predictor_t is made once from a fine-tuned model (tf_predictor_create()) or straight
 * from a checkpoint (tf_predictor_load()). It copies what prediction needs (embedding, recurrent
 * weights, task head, decisions, vocabulary) and never changes afterwards: the model may be
 * freed or trained on, and any number of threads may call the prediction functions on one
 * predictor at once.
 * @code
 * tf_predictor_t *p;
 * tf_predictor_load(&p, ctx, "spam.safetensors", NULL);
 * const char *texts[2] = {"Subject: free money", "Subject: meeting at noon"};
 * size_t lens[2] = {19, 24};
 * float probs[2 * 2];                                  // n x tf_predictor_num_classes(p)
 * tf_predict_texts(p, texts, lens, 2, probs, 4);
 * tf_predictor_free(p);
 * @endcode
 *
 * **Batches.** A call over N inputs sorts them by length and runs them `max_batch` at a time
 * (tf_predictor_opts_t), so sequences of similar length share the recurrent steps; the results
 * come back in input order. They equal predicting each input alone up to the rounding of the
 * matrix products (about 1e-6).
 *
 * **Threads.** Each call runs on the calling thread and up to `num_threads - 1` helper threads
 * started and joined inside the call. Calls from different threads run at once; each takes a
 * workspace from the predictor's pool (one per call in flight, kept for later calls) and the
 * results do not depend on how many calls run together. Errors go to the calling thread's
 * last-error message (tf_last_error_message()). The OpenBLAS thread count the application set is
 * the one it finds after any libtransfer call.
 *
 * **Memory.** In bytes, with V the vocabulary size (0 for numeric input), E the embedding (or
 * input projection) size, F the features of a numeric model, H the hidden size, L the layers,
 * D the directions (1 or 2), G the gate blocks (4 for the LSTM, 3 for the GRU), I the input of a
 * layer (E for the first, D*H after it), P = pooled width (D*H per pooling mode), K the head's
 * outputs, r(n) = n rounded up to a multiple of 64 and s(H) = H rounded up to a multiple of 16,
 * or of 8 when H mod 16 is 1 to 8:
 * - weights: 4 * (V*E + E*F + E + 2*F + sum over layers of D*G*H*(I + H + 2) + K*P + K), plus,
 *   for the LSTM, the recurrent and input weights packed for the step kernels,
 *   4 * sum over layers of D*((H + I)*r(4*H) + 4*H*s(H)); plus, with the input table
 *   (tf_predictor_opts_t::input_table, made by default up to #TF_PREDICTOR_TABLE_AUTO_BYTES),
 *   4*V*4*H*D; plus the vocabulary's own tables. With int8 recurrent weights
 *   (tf_predictor_opts_t::int8_weights), the packed copies and the 4*D*G*H*(I + H) bytes of W_ih
 *   and W_hh in the first term are replaced by sum over layers of D*(r4(H) + r4(I) + 16)*r(4*H)
 *   (int8 panels, their scales and row sums; r4: rounded up to a multiple of 4), the embedding's
 *   4*V*E by V*(E + 4), and each workspace gains 4 * 64 * max(I, H);
 * - each workspace (one per call in flight) for the largest batch it ran, B sequences of at most T
 *   steps, times the threads that run batches at once: 4 * (T*B*(E + F + 2*D*H) +
 *   min(T, 32)*B*4*H + 3*B*H + 4*H + B*(P + K)) for the LSTM (the GRU: T*B*G*H in place of the
 *   min(T, 32) term), plus the ids of the call's texts (4 bytes per token).
 * tf_predictor_resident_bytes() gives the sum as allocated.
 *
 * @defgroup predict Prediction
 * @{
 */
#ifndef LIBTRANSFER_PREDICT_H
#define LIBTRANSFER_PREDICT_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "train.h"

TF_BEGIN_DECLS

/** @brief Opaque predictor: a fine-tuned model's weights for prediction only, shareable by
 *         threads. */
typedef struct tf_predictor tf_predictor_t;

/** Current version of ::tf_predictor_opts_t (2 added `input_table`). */
#define TF_PREDICTOR_OPTS_VERSION 2

/** The largest input table (tf_predictor_opts_t::input_table) made by default: 64 MiB, e.g. a
 *  vocabulary of 20,000 words at H = 200, or 8,000 words at H = 512. */
#define TF_PREDICTOR_TABLE_AUTO_BYTES ((size_t)64 << 20)

/** @brief Options of a predictor. Fill with tf_predictor_opts_init(). */
typedef struct tf_predictor_opts {
    uint32_t struct_size; /**< sizeof(tf_predictor_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_PREDICTOR_OPTS_VERSION, set by the init function. */
    int32_t num_threads;  /**< Threads of one call (the caller's and helpers); 0 = the
                               context's tf_ctx_num_threads(). Default 0. */
    int32_t max_batch;    /**< Sequences run together in one pass, >= 1; default 64. */
    int32_t dtype;        /**< Weights as ::TF_DTYPE_F32 (the only one so far); default
                               #TF_DTYPE_F32. */
    int32_t reserved;     /**< Must be 0. */
    int32_t input_table;  /**< Precompute every word's input projection of the first LSTM layer
                               (V x 4H floats per direction, made once at creation), so a step
                               reads a row instead of multiplying the embedding by W_ih: a
                               third of the work of a step of the default classifier, for
                               4*V*4*H*D more bytes. -1 (the default): when the model has token
                               input and LSTM layers and the table takes at most
                               #TF_PREDICTOR_TABLE_AUTO_BYTES; 1: always (a token LSTM model
                               only); 0: never. Since version 2 (whose default was 0 before
                               -1 existed). */
    int32_t int8_weights; /**< How the recurrent weights (W_ih, W_hh) of an LSTM model run:
                               #TF_PREDICT_INT8_AUTO (default), #TF_PREDICT_INT8_DEQUANTIZE or
                               #TF_PREDICT_INT8_RESIDENT. Since version 2 (a reserved field that
                               had to be 0 before, so the default is unchanged). */
} tf_predictor_opts_t;

/** tf_predictor_opts_t::int8_weights: an LSTM model whose recurrent weights are int8 with row
 *  scales (loaded from an int8 export, #TF_EXPORT_DTYPE_INT8) keeps them, and its embedding when
 *  that is int8 too, as int8 when the int8 kernels are at least as fast as the f32 ones on this
 *  CPU for `max_batch` (docs/deployment.md); otherwise, and for other models, the weights run in
 *  f32. */
#define TF_PREDICT_INT8_AUTO 0
/** tf_predictor_opts_t::int8_weights: every model runs on f32 weights (an int8 export is
 *  dequantised once, at creation). */
#define TF_PREDICT_INT8_DEQUANTIZE 1
/** tf_predictor_opts_t::int8_weights: the recurrent weights of every LSTM layer, and the
 *  embedding of a token model, are kept as int8 with one scale per row (an f32 model's are
 *  quantised at creation, as tf_model_export() does) and the products run on them: about 4x less
 *  memory for those weights. Results differ from the f32
 *  ones by the rounding of the products (the weights are the same as after dequantising) or, for an
 *  f32 model, by the quantisation. A token or numeric LSTM model only. */
#define TF_PREDICT_INT8_RESIDENT 2

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_PREDICTOR_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_predictor_opts_init(tf_predictor_opts_t *opts, uint32_t version);

/**
 * @brief Make a predictor from a fine-tuned model (its weights, decisions and vocabulary are
 *        copied).
 * @param[out] out Receives the predictor; NULL on failure.
 * @param[in] model A fine-tuned model.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, bad option); #TF_STATUS_ESTATE (the
 *         model has no task head); #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_predictor_free(). Nothing of `model` is kept: it may be freed
 *            or trained afterwards.
 * @threadsafety One thread at a time with `model`'s context. The predictor allocates through a
 *               context of its own with the same allocator hooks, only while it holds its own
 *               lock; with custom hooks, they must allow calls while another thread uses the
 *               model's context.
 */
TF_API tf_status_t tf_predictor_create(tf_predictor_t **out,
                                       tf_model_t *model,
                                       const tf_predictor_opts_t *opts);

/**
 * @brief Make a predictor straight from a checkpoint of a fine-tuned model (tf_model_save()).
 * @param[out] out Receives the predictor; NULL on failure.
 * @param[in] ctx Context (its allocator and thread count are used; it may be freed afterwards).
 * @param[in] path The checkpoint.
 * @param[in] opts Options, or NULL for the defaults.
 * @return As tf_model_load() and tf_predictor_create().
 * @ownership caller: free with tf_predictor_free().
 * @threadsafety One thread at a time with `ctx`.
 */
TF_API tf_status_t tf_predictor_load(tf_predictor_t **out,
                                     tf_ctx_t *ctx,
                                     const char *path,
                                     const tf_predictor_opts_t *opts);

/**
 * @brief Free a predictor and its workspaces. NULL is a no-op.
 * @param[in] predictor The predictor; no call on it may be running.
 * @ownership Takes ownership of `predictor`.
 * @threadsafety Any thread, once every call on the predictor has returned.
 */
TF_API void tf_predictor_free(tf_predictor_t *predictor);

/**
 * @brief Number of classes C: the probabilities per input.
 * @param[in] predictor The predictor.
 * @return C, or 0 for NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Safe from any thread.
 */
TF_API int32_t tf_predictor_num_classes(const tf_predictor_t *predictor);

/**
 * @brief Whether the predictor's head is multi-label (one independent probability per label).
 * @param[in] predictor The predictor.
 * @return 1 for a multi-label head, else 0.
 * @ownership Nothing changes hands.
 * @threadsafety Safe from any thread.
 */
TF_API int32_t tf_predictor_multilabel(const tf_predictor_t *predictor);

/**
 * @brief Features per step F of a numeric predictor: the row width tf_predict_features_batch()
 *        reads.
 * @param[in] predictor The predictor.
 * @return F, or 0 for a token predictor or NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Safe from any thread.
 */
TF_API int32_t tf_predictor_num_features(const tf_predictor_t *predictor);

/**
 * @brief Bytes the predictor holds now: its weights and vocabulary and the workspaces its calls
 *        have grown (see the memory formula above).
 * @param[in] predictor The predictor.
 * @return The bytes, or 0 for NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Safe from any thread (a call in flight may grow it meanwhile).
 */
TF_API size_t tf_predictor_resident_bytes(const tf_predictor_t *predictor);

/**
 * @brief Class probabilities of N texts, tokenised with the model's vocabulary.
 * @param[in] predictor A predictor of a token model.
 * @param[in] texts N UTF-8 texts (invalid bytes are replaced).
 * @param[in] lens N lengths in bytes (the texts need no NUL), or NULL for NUL-terminated texts.
 * @param[in] n N; 0 does nothing.
 * @param[out] probs Receives N rows of C probabilities, in input order (softmax; for two
 *             classes 1 - p and p; for a multi-label model each label's own probability).
 * @param[in] capacity Elements `probs` can hold (at least N*C).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a text without any token: the
 *         message names it); #TF_STATUS_ESTATE (a numeric model); #TF_STATUS_EBUFSIZE;
 *         #TF_STATUS_ENOMEM.
 * @ownership `texts`, `lens` and `probs` stay the caller's; nothing is kept after the call.
 * @threadsafety Safe from any number of threads at once on one predictor.
 */
TF_API tf_status_t tf_predict_texts(const tf_predictor_t *predictor,
                                    const char *const *texts,
                                    const size_t *lens,
                                    size_t n,
                                    float *probs,
                                    size_t capacity);

/**
 * @brief Class probabilities of N sequences of token ids.
 * @param[in] predictor A predictor of a token model.
 * @param[in] ids N pointers, sequence i holding `lens[i]` ids in [0, vocabulary size).
 * @param[in] lens N lengths, each at least 1.
 * @param[in] n N; 0 does nothing.
 * @param[out] probs Receives N rows of C probabilities, in input order.
 * @param[in] capacity Elements `probs` can hold (at least N*C).
 * @return As tf_predict_texts(); #TF_STATUS_EINVAL also for an id outside the vocabulary or a
 *         length below 1.
 * @ownership The arguments stay the caller's; nothing is kept after the call.
 * @threadsafety Safe from any number of threads at once on one predictor.
 */
TF_API tf_status_t tf_predict_ids_batch(const tf_predictor_t *predictor,
                                        const int32_t *const *ids,
                                        const int64_t *lens,
                                        size_t n,
                                        float *probs,
                                        size_t capacity);

/**
 * @brief Class probabilities of N numeric sequences, sequence i `steps[i]` x F floats
 *        (row-major, F = tf_predictor_num_features(); raw values: the predictor applies the
 *        model's standardisation, as tf_predict_features() does).
 * @param[in] predictor A predictor of a numeric model.
 * @param[in] x N pointers to the values.
 * @param[in] steps N step counts, each at least 1.
 * @param[in] n N; 0 does nothing.
 * @param[out] probs Receives N rows of C probabilities, in input order.
 * @param[in] capacity Elements `probs` can hold (at least N*C).
 * @return As tf_predict_texts(); #TF_STATUS_EINVAL also for a value that is not finite;
 *         #TF_STATUS_ESTATE for a token model.
 * @ownership The arguments stay the caller's; nothing is kept after the call.
 * @threadsafety Safe from any number of threads at once on one predictor.
 */
TF_API tf_status_t tf_predict_features_batch(const tf_predictor_t *predictor,
                                             const float *const *x,
                                             const int64_t *steps,
                                             size_t n,
                                             float *probs,
                                             size_t capacity);

/**
 * @brief The k most probable classes of each of N rows of probabilities, best first (ties: the
 *        lower class id first).
 * @param[in] predictor The predictor that gave the probabilities (for C).
 * @param[in] probs N rows of C probabilities.
 * @param[in] n N.
 * @param[in] k Classes per row, 1 to C.
 * @param[out] classes Receives N rows of k class ids; NULL with `capacity` 0 only asks for the
 *             size.
 * @param[out] scores Receives their probabilities (N rows of k); may be NULL.
 * @param[in] capacity Elements `classes` (and `scores`) can hold.
 * @param[out] len_out Receives N*k (also on #TF_STATUS_EBUFSIZE); may be NULL.
 * @return #TF_STATUS_OK (also for the size query); #TF_STATUS_EINVAL (NULL argument, k outside
 *         1..C); #TF_STATUS_EBUFSIZE.
 * @ownership The arguments stay the caller's; nothing is kept after the call.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_predict_top_k(const tf_predictor_t *predictor,
                                    const float *probs,
                                    size_t n,
                                    int32_t k,
                                    int32_t *classes,
                                    float *scores,
                                    size_t capacity,
                                    size_t *len_out);

/**
 * @brief The label sets of N rows of a multi-label predictor's probabilities: label c is in
 *        the set of row i when probs[i*C + c] >= thresholds[c].
 * @param[in] predictor A multi-label predictor.
 * @param[in] probs N rows of C probabilities.
 * @param[in] n N.
 * @param[in] thresholds C thresholds in [0, 1], or NULL for 0.5 each.
 * @param[out] sets Receives N rows of C flags (1: in the set); NULL with `capacity` 0 only asks
 *             for the size.
 * @param[in] capacity Elements `sets` can hold.
 * @param[out] len_out Receives N*C (also on #TF_STATUS_EBUFSIZE); may be NULL.
 * @return #TF_STATUS_OK (also for the size query); #TF_STATUS_EINVAL (NULL argument, a
 *         threshold outside [0, 1]); #TF_STATUS_ESTATE (a single-label predictor: use
 *         tf_predict_top_k()); #TF_STATUS_EBUFSIZE.
 * @ownership The arguments stay the caller's; nothing is kept after the call.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_predict_label_sets(const tf_predictor_t *predictor,
                                         const float *probs,
                                         size_t n,
                                         const float *thresholds,
                                         uint8_t *sets,
                                         size_t capacity,
                                         size_t *len_out);

TF_END_DECLS

/** @} */

#endif
