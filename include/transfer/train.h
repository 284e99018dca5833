/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/train.h
 * @brief The two-phase API: a model (backbone, heads, vocabulary, labels), tf_pretrain(),
 *        tf_finetune(), tf_evaluate(), prediction and model checkpoints.
 *
 * The user's path:
 * @code
 * tf_model_create(&model, ctx, vocab, &model_opts);            // embedding + LSTM backbone
 * tf_pretrain(model, lm_train, lm_valid, &pre_opts, &report);   // next-token LM; LM head kept
 * tf_model_save(model, "lm.safetensors");
 * // later, new text: load, grow the vocabulary, pre-train further (domain adaptation)
 * tf_model_extend_vocab_files(model, new_paths, n, 2, 0, &added);
 * tf_pretrain(model, lm_new, NULL, &pre_opts, &report);
 * tf_finetune(model, cls_train, cls_valid, &ft_opts, &report);  // new task head
 * tf_evaluate(model, cls_valid, &metrics, confusion, capacity);
 * tf_predict_text(model, "Subject: free money", -1, probs, capacity);
 * @endcode
 *
 * **Training state.** A model keeps the state of its current training phase (optimizer moments,
 * step, schedule position, best weights so far) between calls. A call limited with
 * `stop_after_steps` returns early; calling again with the same options continues where it
 * stopped. "The same" covers every option and the optimizer options as the call resolves them,
 * except those that only steer one call (`stop_after_steps`, `progress_every`, the callback and
 * its payload; pre-training's `valid_every`; fine-tuning's `reset_head` and `calibrate`); any
 * other difference starts the phase anew. tf_train_state_save() and tf_train_state_load() carry
 * that state (and the loader's position and the context's random generator) across processes, so `N
 * steps, save, load, N more steps` gives the same weights as `2N steps` at one thread.
 *
 * **Threads.** Training and prediction use tf_ctx_num_threads() threads inside matrix products.
 * A model must not be used from two threads at once; two models from two contexts may.
 *
 * @defgroup train Training
 * @{
 */
#ifndef LIBTRANSFER_TRAIN_H
#define LIBTRANSFER_TRAIN_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "tensor.h"
#include "nn.h"
#include "optim.h"
#include "data.h"

TF_BEGIN_DECLS

/** @brief Opaque handle of a group of processes that train one model together (data-parallel
 *         training over MPI). Made by tf_dist_create() of `transfer/mpi.h`, in builds with
 *         `TF_WITH_MPI`; the training options point to it (tf_pretrain_opts_t::dist,
 *         tf_finetune_opts_t::dist). docs/distributed.md describes the scheme. */
typedef struct tf_dist tf_dist_t;

/** @brief Opaque model: backbone (embedding or input projection + LSTM stack), the pre-training
 *         head, the task head once fine-tuned, the vocabulary and the label names. */
typedef struct tf_model tf_model_t;

/** Input of a model (tf_model_opts_t::input). Values are stable. */
typedef enum tf_model_input {
    TF_MODEL_INPUT_TOKENS = 1,  /**< Token ids through a vocabulary and an embedding. */
    TF_MODEL_INPUT_FEATURES = 2 /**< Numeric sequences (T, B, F) through a linear projection. */
} tf_model_input_t;

/** Language-model head of a token model (tf_model_opts_t::softmax). Values are stable. */
typedef enum tf_model_softmax {
    TF_MODEL_SOFTMAX_FULL = 0,    /**< A linear layer and a softmax over the whole vocabulary. */
    TF_MODEL_SOFTMAX_ADAPTIVE = 1 /**< Adaptive softmax (Grave et al. 2017), as
                                       torch.nn.AdaptiveLogSoftmaxWithLoss: a head over the words
                                       below the first cut-off and one entry per tail cluster, each
                                       cluster a projection to hidden_size / div_value^(i+1)
                                       features and then to its words. Same likelihood, far less
                                       work per token for a large vocabulary. */
} tf_model_softmax_t;

/** Most cut-offs of an adaptive softmax (tf_model_opts_t::cutoffs). */
#define TF_MODEL_MAX_CUTOFFS 8

/** Current version of ::tf_model_opts_t (2 added `cell`, 3 the adaptive softmax). */
#define TF_MODEL_OPTS_VERSION 3

/** @brief Architecture of a new model. Fill with tf_model_opts_init(). */
typedef struct tf_model_opts {
    uint32_t struct_size;  /**< sizeof(tf_model_opts_t), set by the init function. */
    uint32_t version;      /**< #TF_MODEL_OPTS_VERSION, set by the init function. */
    int32_t input;         /**< A ::tf_model_input_t; default #TF_MODEL_INPUT_TOKENS. */
    int32_t num_features;  /**< Features per step for #TF_MODEL_INPUT_FEATURES (>= 1). */
    int32_t embedding_dim; /**< Embedding (or input projection) size; default 100. */
    int32_t hidden_size;   /**< Recurrent hidden size; default 200. */
    int32_t num_layers;    /**< Stacked recurrent layers; default 1. */
    int32_t bidirectional; /**< 1: bidirectional layers (no language-model pre-training then). */
    double dropout;        /**< Dropout between recurrent layers and before every head, [0, 1);
                                default 0.2. */
    int32_t tie_weights;   /**< 1: the LM head shares the embedding matrix (needs
                                embedding_dim == hidden_size). Default 0. */
    int32_t reserved;      /**< Must be 0. */
    int32_t cell;          /**< ::tf_cell_t of the recurrent layers; default #TF_CELL_LSTM. Saved in
                                checkpoints (files without it load as LSTM). Since version 2. */
    int32_t softmax;       /**< ::tf_model_softmax_t of the language-model head; default
                                #TF_MODEL_SOFTMAX_FULL. #TF_MODEL_SOFTMAX_ADAPTIVE needs a token
                                model without tie_weights and at least one cut-off. Saved in
                                checkpoints (files without it load as full). Since version 3. */
    double div_value;      /**< Adaptive softmax: cluster i projects to
                                floor(hidden_size / div_value^(i+1)) features (at least 1);
                                default 4.0, PyTorch's. Since version 3. */
    int32_t cutoffs[TF_MODEL_MAX_CUTOFFS]; /**< Adaptive softmax: the cut-offs, strictly
                                increasing and below the vocabulary size, then zeros (PyTorch's
                                `cutoffs`: 2000, 6000 split 10000 words into a head of 2000 and
                                clusters of 4000 and 4000). All zero for the full softmax. Since
                                version 3. */
} tf_model_opts_t;

/** Static initializer with the same defaults as tf_model_opts_init() (current version). */
#define TF_MODEL_OPTS_INIT                                                                         \
    {                                                                                              \
        (uint32_t)sizeof(tf_model_opts_t), TF_MODEL_OPTS_VERSION, TF_MODEL_INPUT_TOKENS, 0, 100,   \
        200, 1, 0, 0.2, 0, 0, TF_CELL_LSTM, TF_MODEL_SOFTMAX_FULL, 4.0, {0}                       \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_MODEL_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_model_opts_init(tf_model_opts_t *opts, uint32_t version);

/**
 * @brief Create a model with freshly initialised weights (drawn from the context's generator).
 * @param[out] out Receives the model; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] vocab Vocabulary for token input (copied into the model; the caller keeps and frees
 *            its own); NULL for numeric input.
 * @param[in] opts Architecture, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `out` or `ctx`, a missing vocabulary, a size
 *         below 1, dropout outside [0, 1), tying with different sizes); #TF_STATUS_EVERSION;
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_model_free().
 * @threadsafety Uses `ctx`.
 */
TF_API tf_status_t tf_model_create(tf_model_t **out,
                                   tf_ctx_t *ctx,
                                   const tf_vocab_t *vocab,
                                   const tf_model_opts_t *opts);

/**
 * @brief Free a model, its modules, vocabulary copy and training state. NULL is a no-op.
 * @param[in] model The model.
 * @ownership Takes ownership of `model` (its vocabulary copy included; loaders and vocabularies
 *            given to it stay the caller's).
 * @threadsafety One thread at a time with `model`'s context (it allocates through it).
 */
TF_API void tf_model_free(tf_model_t *model);

/**
 * @brief The model's vocabulary (NULL for numeric input), for building loaders that match it.
 * @param[in] model The model.
 * @return The vocabulary, borrowed: valid until the model is freed or its vocabulary grows
 *         (tf_model_extend_vocab_files()); or NULL. It belongs to the model: do not free it, and
 *         do not use it while the model is used from another thread.
 * @ownership Borrowed, as described under Returns; do not free.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API tf_vocab_t *tf_model_vocab(tf_model_t *model);

/**
 * @brief The backbone encoder module (parameters `embedding.weight` or `proj.*`, then `lstm.*`),
 *        for inspection, freezing or custom training loops.
 * @param[in] model The model.
 * @return The module, borrowed (valid until the model is freed or its vocabulary grows); or NULL
 *         if `model` is NULL.
 * @ownership Borrowed, as described under Returns; do not free.
 * @threadsafety As the model: one thread at a time with its context.
 */
TF_API tf_module_t *tf_model_encoder(tf_model_t *model);

/**
 * @brief Number of task classes (0 before fine-tuning).
 * @param[in] model The model.
 * @return The class count, or 0.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_model_num_classes(const tf_model_t *model);

/**
 * @brief Name of task class `id`.
 * @param[in] model The model.
 * @param[in] id 0 to tf_model_num_classes() - 1.
 * @return The label name, borrowed (valid until the model is freed or fine-tuned again); NULL
 *         for a bad id.
 * @ownership Borrowed, as described under Returns.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API const char *tf_model_label_name(const tf_model_t *model, int32_t id);

/**
 * @brief Whether the task head is multi-label (fine-tuned on tf_loader_create_multilabel()):
 *        one independent probability per label instead of one distribution over classes.
 * @param[in] model The model.
 * @return 1 for a multi-label head; 0 otherwise (no head, single-label, NULL).
 * @ownership Nothing changes hands.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_model_is_multilabel(const tf_model_t *model);

/**
 * @brief Total number of parameter elements (backbone and heads).
 * @param[in] model The model.
 * @return The count, or 0.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_model_num_params(const tf_model_t *model);

/**
 * @brief Record the per-feature standardisation of a numeric model's input: a value x of
 *        feature f enters the model as (x - mean[f]) / std[f].
 *
 * The statistics belong to the backbone: they are saved in the checkpoint (metadata
 * `libtransfer.standardization`), kept by tf_model_load() with #TF_MODEL_LOAD_BACKBONE, and
 * applied by tf_predict_features(). tf_pretrain() and tf_finetune() record the training
 * loader's (tf_loader_standardization()) in a numeric model that has none, so a model carries
 * the statistics of the data it first learnt from; loaders of later data should use them
 * (tf_loader_set_standardization() with the values of tf_model_standardization()).
 * @param[in,out] model A numeric model.
 * @param[in] mean F means, each finite.
 * @param[in] std F standard deviations, each finite and > 0.
 * @param[in] num_features Length of both arrays; must equal the model's F.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a value that is not finite, a
 *         std not above 0, `num_features` not F); #TF_STATUS_ESTATE (a token model);
 *         #TF_STATUS_ENOMEM.
 * @ownership `mean` and `std` are copied and stay the caller's.
 * @threadsafety Changes `model`; one thread at a time with its context.
 */
TF_API tf_status_t tf_model_set_standardization(tf_model_t *model,
                                                const float *mean,
                                                const float *std,
                                                int32_t num_features);

/**
 * @brief Copy out the per-feature standardisation a numeric model records.
 * @param[in] model The model.
 * @param[out] mean Receives F means.
 * @param[out] std Receives F standard deviations.
 * @param[in] num_features Capacity of both arrays; must equal the model's F.
 * @return #TF_STATUS_OK; #TF_STATUS_ENOTFOUND (the model records none: a token model, or a
 *         numeric one never trained nor given one); #TF_STATUS_EINVAL (NULL argument);
 *         #TF_STATUS_EBUFSIZE (`num_features` not F).
 * @ownership `mean` and `std` stay the caller's; nothing is kept after the call.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_model_standardization(const tf_model_t *model,
                                            float *mean,
                                            float *std,
                                            int32_t num_features);

/* ---- progress and reports ------------------------------------------------------------------- */

/** Phase of a training call (tf_progress_t::phase). */
typedef enum tf_train_phase {
    TF_TRAIN_PHASE_PRETRAIN = 1, /**< tf_pretrain(). */
    TF_TRAIN_PHASE_FINETUNE = 2, /**< tf_finetune(). */
    TF_TRAIN_PHASE_DISTILL = 3   /**< tf_distill(). */
} tf_train_phase_t;

/**
 * @brief What a progress callback receives. Fields are only ever appended; read `struct_size`
 *        before reading a field added after version 1.
 */
typedef struct tf_progress {
    uint32_t struct_size;  /**< sizeof the struct the library filled. */
    uint32_t version;      /**< 1. */
    int32_t phase;         /**< A ::tf_train_phase_t. */
    int32_t epoch;         /**< Epoch, counted from 0. */
    int64_t step;          /**< Optimizer steps done in this phase. */
    int64_t total_steps;   /**< Steps the phase will take in all. */
    double epoch_fraction; /**< Fraction of the current epoch read, 0 to 1. */
    double loss;           /**< Mean training loss since the previous report. */
    double lr;             /**< Current base learning rate. */
    double items_per_s;    /**< Tokens (pre-training) or sequences (fine-tuning) per second. */
    double eta_s;          /**< Estimated seconds to the end of the phase. */
    double valid_metric;   /**< Last validation metric (perplexity, MSE or the chosen
                                fine-tuning metric); NaN before the first validation. */
} tf_progress_t;

/** @brief Progress callback: return 0 to go on, non-zero to stop (the call then returns
 *         #TF_STATUS_ECANCELED with the model consistent and resumable). */
typedef int32_t TF_CALLBACK(tf_progress_cb)(const tf_progress_t *progress, void *payload);

/** Current version of ::tf_train_report_t. */
#define TF_TRAIN_REPORT_VERSION 1

/**
 * @brief Results of a training call. Set `struct_size` and `version` (or call
 *        tf_train_report_init()) before passing it; the library fills the fields that fit.
 */
typedef struct tf_train_report {
    uint32_t struct_size;   /**< sizeof(tf_train_report_t), set by the caller. */
    uint32_t version;       /**< #TF_TRAIN_REPORT_VERSION. */
    int64_t steps;          /**< Optimizer steps done in the phase so far. */
    int32_t epochs;         /**< Epochs completed. */
    int32_t best_epoch;     /**< Fine-tuning: epoch whose weights were kept (-1: none). */
    double train_loss;      /**< Mean training loss of the last epoch (or of the steps run). */
    double valid_loss;      /**< Last validation loss; NaN without validation. */
    double valid_metric;    /**< Last validation metric: perplexity (LM), MSE (numeric) or the
                                 fine-tuning metric (accuracy or macro-F1); NaN without. */
    double best_metric;     /**< Best validation metric seen (fine-tuning). */
    double seconds;         /**< Wall time of the call. */
    double items_per_s;     /**< Throughput of the call (tokens or sequences per second). */
} tf_train_report_t;

/**
 * @brief Fill a report with its size and version (and NaN metrics).
 * @param[out] report The report.
 * @param[in] version Pass #TF_TRAIN_REPORT_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `report` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_train_report_init(tf_train_report_t *report, uint32_t version);

/* ---- pre-training --------------------------------------------------------------------------- */

/** Current version of ::tf_pretrain_opts_t (2 added `dist`). */
#define TF_PRETRAIN_OPTS_VERSION 2

/** @brief Options of tf_pretrain(). Fill with tf_pretrain_opts_init(). */
typedef struct tf_pretrain_opts {
    uint32_t struct_size;           /**< sizeof(tf_pretrain_opts_t), set by the init function. */
    uint32_t version;               /**< #TF_PRETRAIN_OPTS_VERSION. */
    int32_t epochs;                 /**< Epochs when `max_steps` is 0; default 1. */
    int32_t reserved;               /**< Must be 0. */
    int64_t max_steps;              /**< Steps of the whole phase (the schedule's length); 0 =
                                         `epochs` epochs. */
    int64_t stop_after_steps;       /**< Return after this many steps of this call (a later call
                                         continues); 0 = run to the end. */
    const tf_optimizer_opts_t *optim; /**< Optimizer and schedule; NULL = AdamW, lr 1e-2,
                                           weight decay 0.01, linear warmup (1%) then cosine
                                           decay. `total_steps` 0 is filled in from the budget. */
    double clip_norm;               /**< Global gradient-norm clipping; 0 = off. Default 0.5. */
    int64_t valid_every;            /**< Validate every this many steps; 0 = at the end of each
                                         epoch (and of the phase). */
    int64_t progress_every;         /**< Call `progress` every this many steps; default 50. */
    tf_progress_cb progress;        /**< Progress callback, or NULL. */
    void *progress_payload;         /**< Passed to `progress`. */
    /* version 2 */
    tf_dist_t *dist;                /**< Train together with the other processes of this group
                                         (tf_dist_create()), each on its shard of every batch;
                                         NULL (default) = this process alone. Every process makes
                                         the same call with the same options, vocabulary and
                                         loaders (docs/distributed.md). Since version 2. */
} tf_pretrain_opts_t;

/** Static initializer with the same defaults as tf_pretrain_opts_init() (current version). */
#define TF_PRETRAIN_OPTS_INIT                                                                      \
    {                                                                                              \
        (uint32_t)sizeof(tf_pretrain_opts_t), TF_PRETRAIN_OPTS_VERSION, 1, 0, 0, 0, NULL, 0.5, 0,  \
        50, NULL, NULL, NULL                                                                       \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_PRETRAIN_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_pretrain_opts_init(tf_pretrain_opts_t *opts, uint32_t version);

/**
 * @brief Pre-train the backbone: next-token prediction (cross-entropy over the vocabulary through
 *        the LM head) on a language-model loader (tf_loader_create_lm()), or next-step regression
 *        (MSE) on a numeric loader made with `next_step` = 1.
 *
 * A model that was pre-trained before (in this process or loaded with tf_model_load()) trains on
 * from its current weights, language-model head included: a call that does not continue an
 * unfinished phase (see `stop_after_steps`) starts a new phase with a new optimizer and schedule.
 * This is how a general language model is adapted to the text of a domain, after
 * tf_model_extend_vocab_files() for the domain's new words. Only the backbone and the
 * language-model head train; a task head is left as it is.
 *
 * A non-finite loss or gradient stops training with #TF_STATUS_EDIVERGED before the bad update,
 * so the model keeps its last good weights.
 * @param[in,out] model The model (unidirectional).
 * @param[in] train Training loader; read from its current position (epochs continue).
 * @param[in] valid Validation loader, or NULL.
 * @param[in] opts Options, or NULL for the defaults.
 * @param[out] report Filled with results (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model or loader, a loader of the wrong kind, a
 *         bidirectional model, bad options); #TF_STATUS_EVERSION; #TF_STATUS_ECANCELED (the
 *         callback stopped it; resumable); #TF_STATUS_EDIVERGED; #TF_STATUS_ENOMEM; a loader's
 *         errors.
 * @ownership `train`, `valid`, `opts` and `report` stay the caller's and are used during the call
 *            only; the model keeps its training state (see tf_train_state_save()).
 * @threadsafety One thread at a time with the contexts of `model`, `train` and `valid`; the progress
 *               callback runs on the calling thread.
 */
TF_API tf_status_t tf_pretrain(tf_model_t *model,
                               tf_loader_t *train,
                               tf_loader_t *valid,
                               const tf_pretrain_opts_t *opts,
                               tf_train_report_t *report);

/**
 * @brief Grow a token model's vocabulary with the frequent words of new text, before pre-training
 *        it further on that text (domain adaptation, ULMFiT's second stage).
 *
 * The files are read one text per line and split with the model's own tokenisation rules
 * (lower-casing, punctuation). Words seen at least `min_count` times that the vocabulary lacks
 * are appended, the most frequent first (ties in byte order), until the vocabulary holds
 * `max_size` tokens. Existing tokens keep their ids. Each new word gets an embedding row equal
 * to the mean of the old rows, and the language-model head an output row equal to the mean of
 * its old rows with the mean of its old biases (a tied head follows the embedding), so the model
 * predicts as before until it is trained. Every other parameter, the task head and its labels
 * are unchanged; frozen parameters stay frozen.
 *
 * When words are added, the model's training state is reset (the next tf_pretrain() or
 * tf_finetune() starts a new phase), and the pointers returned earlier by tf_model_vocab() and
 * tf_model_encoder() become invalid: ask for them again, and make loaders with the new
 * vocabulary. On any failure the model is unchanged.
 * @code
 * tf_model_load(&model, ctx, "general-lm.safetensors", TF_MODEL_LOAD_BACKBONE);
 * tf_model_extend_vocab_files(model, paths, 1, 2, tf_vocab_size(tf_model_vocab(model)) + 2000,
 *                             &added);
 * tf_loader_create_lm(&lm, ctx, tf_model_vocab(model), paths, 1, &lm_opts);
 * tf_pretrain(model, lm, NULL, &pre_opts, &report);
 * @endcode
 * @param[in,out] model A token model with a word vocabulary.
 * @param[in] paths `num_paths` text files.
 * @param[in] num_paths Number of files, at least 1.
 * @param[in] min_count Append only words seen at least this often in all the files (>= 1).
 * @param[in] max_size Largest vocabulary size, special tokens included: at least the current
 *            size (which adds nothing); 0 = no limit.
 * @param[out] num_added Receives the number of words appended (0 on failure); may be NULL.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `model` or `paths`, no file, `min_count`
 *         below 1, `max_size` below the current size); #TF_STATUS_ESTATE (a numeric model, or a
 *         byte or BPE vocabulary, which already covers every input); #TF_STATUS_EIO (a file cannot be
 *         read); #TF_STATUS_EFORMAT (bad lines, or no word at all in the files);
 *         #TF_STATUS_ENOMEM.
 * @threadsafety Uses the model's context.
 * @ownership `paths` is read during the call only; the vocabulary and encoder borrowed from the
 *            model before (tf_model_vocab(), tf_model_encoder()) become invalid.
 */
TF_API tf_status_t tf_model_extend_vocab_files(tf_model_t *model,
                                               const char *const *paths,
                                               uint32_t num_paths,
                                               int32_t min_count,
                                               int32_t max_size,
                                               int32_t *num_added);

/**
 * @brief Set embedding rows from pre-trained word vectors in the common text format (word2vec,
 *        GloVe, fastText `.vec`): an optional header line `count dim`, then one line per word,
 *        `word v1 ... vE`, separated by spaces (LF or CRLF line ends). The file is streamed.
 *
 * A vocabulary token found in the file gets its vector (the first line of a word listed twice
 * wins); every other row keeps its weights. Words are matched exactly as the vocabulary spells
 * its tokens (a lower-casing vocabulary only has lower-case tokens); words that are not valid
 * UTF-8 match nothing. On failure the model is unchanged.
 * @param[in,out] model A token model.
 * @param[in] path The vectors file.
 * @param[out] num_found Receives how many vocabulary tokens got a vector (0 on failure); may be
 *             NULL.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_ESTATE (a numeric model);
 *         #TF_STATUS_EIO (the file cannot be read); #TF_STATUS_EFORMAT (vectors of another size than
 *         the model's embedding_dim, a line with a number that is not finite, too many or too few
 *         values, a line longer than #TF_DATA_MAX_LINE: the message names file and line);
 *         #TF_STATUS_ENOMEM.
 * @ownership `path` is read during the call only.
 * @threadsafety Uses the model's context.
 */
TF_API tf_status_t tf_model_init_embeddings_file(tf_model_t *model, const char *path, int32_t *num_found);

/* ---- fine-tuning ---------------------------------------------------------------------------- */

/** Fine-tuning strategy (tf_finetune_opts_t::strategy). Values are stable. */
typedef enum tf_finetune_strategy {
    TF_FINETUNE_FULL = 1,    /**< Every parameter trains from the start. */
    TF_FINETUNE_FROZEN = 2,  /**< The backbone stays frozen: only the head trains. */
    TF_FINETUNE_GRADUAL = 3  /**< ULMFiT's gradual unfreezing: the head in epoch 0, then one more
                                  layer (top LSTM layer first, the embedding last) each epoch. */
} tf_finetune_strategy_t;

/** Validation metric for early stopping and for keeping the best weights. Values are stable. */
typedef enum tf_metric {
    TF_METRIC_ACCURACY = 1, /**< Fraction correct (higher is better). */
    TF_METRIC_MACRO_F1 = 2, /**< Mean F1 over classes (higher is better). */
    TF_METRIC_LOSS = 3      /**< Validation loss (lower is better). */
} tf_metric_t;

/** How the classes of a fine-tuning loss are weighted (tf_finetune_opts_t::class_weight).
 *  Values are stable. */
typedef enum tf_class_weight {
    TF_CLASS_WEIGHT_NONE = 1,     /**< Every sequence counts the same. */
    TF_CLASS_WEIGHT_BALANCED = 2, /**< Class c weighs n / (C n_c) from the training counts (as
                                       scikit-learn's "balanced"), so every class weighs the
                                       same in all; multi-label: the positive side of label c
                                       weighs n_neg / n_pos (PyTorch's `pos_weight`). */
    TF_CLASS_WEIGHT_GIVEN = 3     /**< The weights in tf_finetune_opts_t::class_weights. */
} tf_class_weight_t;

/** Current version of ::tf_finetune_opts_t (2 added class weights and calibration, 3 optimizer
 *  options, 4 `dist`). */
#define TF_FINETUNE_OPTS_VERSION 4

/** @brief Options of tf_finetune(). Fill with tf_finetune_opts_init(). */
typedef struct tf_finetune_opts {
    uint32_t struct_size;         /**< sizeof(tf_finetune_opts_t), set by the init function. */
    uint32_t version;             /**< #TF_FINETUNE_OPTS_VERSION. */
    int32_t strategy;             /**< A ::tf_finetune_strategy_t; default #TF_FINETUNE_FULL
                                       (measured better than gradual unfreezing after a short
                                       pre-training; see the README's results). */
    uint32_t pooling;             /**< OR of TF_POOL_LAST, TF_POOL_MEAN, TF_POOL_MAX; default all
                                       three (concatenated, as in ULMFiT). */
    int32_t epochs;               /**< Epochs; default 8. */
    int32_t patience;             /**< Early stopping: epochs without improvement; 0 = off
                                       (default: every epoch runs, the best is kept). */
    int32_t metric;               /**< A ::tf_metric_t for keeping the best weights; default
                                       #TF_METRIC_ACCURACY. */
    int32_t reserved;             /**< Must be 0. */
    int64_t stop_after_steps;     /**< Return after this many steps of this call; 0 = to the end. */
    double lr;                    /**< Peak rate of the top layer; default 1e-2. */
    double discriminative;        /**< Rate divisor from one layer to the one below (2.6 in
                                       ULMFiT); 1 = the same rate everywhere (default). */
    double weight_decay;          /**< AdamW weight decay; default 0.01. */
    double head_dropout;          /**< Dropout before the task head; default 0.3. */
    double clip_norm;             /**< Gradient-norm clipping; 0 = off. Default 1.0. */
    int32_t schedule;             /**< A ::tf_optimizer_schedule_t; default slanted triangular
                                       (a run of under 10 steps gets one rising step). */
    int32_t reset_head;           /**< 1 = make a new head even if the model has one for the same
                                       labels; default 1. */
    int64_t progress_every;       /**< Call `progress` every this many steps; default 20. */
    tf_progress_cb progress;      /**< Progress callback, or NULL. */
    void *progress_payload;       /**< Passed to `progress`. */
    /* version 2 */
    int32_t class_weight;         /**< A ::tf_class_weight_t; default #TF_CLASS_WEIGHT_NONE
                                       (see the README's results on later e-mails). The weights
                                       act as PyTorch's CrossEntropyLoss `weight` (a weighted
                                       mean) or BCEWithLogitsLoss `pos_weight` (multi-label). */
    int32_t calibrate;            /**< 1 = after training, fit a temperature on the validation
                                       loader (tf_model_calibrate()) so that probabilities are
                                       calibrated; default 1. No effect without validation. */
    const float *class_weights;   /**< #TF_CLASS_WEIGHT_GIVEN: one finite weight > 0 per label,
                                       in the training loader's label order. */
    int64_t num_class_weights;    /**< Length of `class_weights`. */
    /* version 3 */
    const tf_optimizer_opts_t *optim; /**< Optimizer and schedule; NULL (default) = AdamW with
                                           ULMFiT's betas (0.8, 0.99) and the `lr`,
                                           `weight_decay` and `schedule` above. Given, it replaces
                                           those three fields; `total_steps` 0 is filled in from
                                           the epochs, `max_grad_norm` 0 from `clip_norm`.
                                           Not copied: it must live for the call. */
    /* version 4 */
    tf_dist_t *dist;              /**< Train together with the other processes of this group
                                       (tf_dist_create()), each on its shard of every batch;
                                       NULL (default) = this process alone. Every process makes
                                       the same call with the same options, model and loaders
                                       (docs/distributed.md). Since version 4. */
} tf_finetune_opts_t;

/** Static initializer with the same defaults as tf_finetune_opts_init() (current version). */
#define TF_FINETUNE_OPTS_INIT                                                                      \
    {                                                                                              \
        (uint32_t)sizeof(tf_finetune_opts_t), TF_FINETUNE_OPTS_VERSION, TF_FINETUNE_FULL,          \
            TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX, 8, 0, TF_METRIC_ACCURACY, 0, 0, 1e-2, 1.0,  \
            0.01, 0.3, 1.0, TF_OPTIMIZER_SCHED_SLANTED_TRIANGULAR, 1, 20, NULL, NULL,              \
            TF_CLASS_WEIGHT_NONE, 1, NULL, 0, NULL, NULL                                           \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_FINETUNE_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_finetune_opts_init(tf_finetune_opts_t *opts, uint32_t version);

/**
 * @brief Fine-tune on a labelled loader: attach a task head (pooling over valid steps, dropout,
 *        linear to C classes; one logit with BCE when there are 2 classes, softmax cross-entropy
 *        otherwise; on a multi-label loader, one logit per label with BCE averaged over
 *        sequences and labels, as PyTorch's BCEWithLogitsLoss), then train with the chosen
 *        strategy, discriminative rates and schedule. With
 *        a validation loader, the best weights by `metric` are kept and restored at the end, and
 *        training stops after `patience` epochs without improvement.
 * @param[in,out] model The model (pre-trained or fresh).
 * @param[in] train Labelled loader (tf_loader_create_labeled(), tf_loader_create_multilabel(),
 *            tf_loader_create_tokens(), or a numeric loader with labels); its label names
 *            become the model's classes.
 * @param[in] valid Validation loader with the same labels (and of the same kind), or NULL.
 * @param[in] opts Options, or NULL for the defaults.
 * @param[out] report Filled with results (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, unlabelled loader, fewer than 2
 *         classes or no label at all for multi-label, bad options, validation labels that
 *         differ); #TF_STATUS_EVERSION;
 *         #TF_STATUS_ECANCELED; #TF_STATUS_EDIVERGED; #TF_STATUS_ENOMEM; a loader's errors.
 * @ownership `train`, `valid`, `opts` and `report` stay the caller's and are used during the call
 *            only; the model keeps its training state (see tf_train_state_save()).
 *            `opts->class_weights` is copied.
 * @threadsafety One thread at a time with the contexts of `model`, `train` and `valid`; the progress
 *               callback runs on the calling thread.
 */
TF_API tf_status_t tf_finetune(tf_model_t *model,
                               tf_loader_t *train,
                               tf_loader_t *valid,
                               const tf_finetune_opts_t *opts,
                               tf_train_report_t *report);

/* ---- distillation --------------------------------------------------------------------------- */

/** Current version of ::tf_distill_opts_t (2 added `max_steps`). */
#define TF_DISTILL_OPTS_VERSION 2

/** @brief Options of tf_distill(). Fill with tf_distill_opts_init(). */
typedef struct tf_distill_opts {
    uint32_t struct_size;     /**< sizeof(tf_distill_opts_t), set by the init function. */
    uint32_t version;         /**< #TF_DISTILL_OPTS_VERSION. */
    int32_t epochs;           /**< Passes over the unlabelled loader when `max_steps` is 0;
                                   default 4. */
    int32_t patience;         /**< Early stopping: epochs without a better validation metric;
                                   0 = off (default: every epoch runs, the best is kept). */
    int32_t metric;           /**< A ::tf_metric_t for keeping the best weights; default
                                   #TF_METRIC_ACCURACY. */
    uint32_t pooling;         /**< OR of TF_POOL_LAST, TF_POOL_MEAN, TF_POOL_MAX that a new
                                   student head reads; 0 (default) = the teacher's. */
    double temperature;       /**< Softening temperature T of both models' outputs (> 0);
                                   default 2. */
    double alpha;             /**< Weight of the hard-label cross-entropy when a labelled loader
                                   is given, [0, 1]; the soft loss weighs 1 - alpha. Default 0.5.
                                   Ignored without labelled data. */
    double lr;                /**< Peak learning rate; default 1e-2. */
    double weight_decay;      /**< AdamW weight decay; default 0.01. */
    double head_dropout;      /**< Dropout before a new student head, [0, 1); default 0.1. */
    double clip_norm;         /**< Gradient-norm clipping; 0 = off. Default 1.0. */
    int64_t stop_after_steps; /**< Return after this many steps of this call; 0 = to the end. */
    int64_t progress_every;   /**< Call `progress` every this many steps; default 20. */
    tf_progress_cb progress;  /**< Progress callback, or NULL. */
    void *progress_payload;   /**< Passed to `progress`. */
    const tf_optimizer_opts_t *optim; /**< Optimizer and schedule; NULL (default) = AdamW with
                                           the `lr` and `weight_decay` above, 10% linear warmup
                                           then cosine decay. Given, it replaces those two
                                           fields; `total_steps` 0 is filled in from the epochs,
                                           `max_grad_norm` 0 from `clip_norm`. Not copied: it
                                           must live for the call. */
    int32_t calibrate;        /**< 1 = after training, fit the student's temperature on the
                                   validation loader (tf_model_calibrate()); default 1. No effect
                                   without validation. */
    int32_t reserved;         /**< Must be 0. */
    int64_t max_steps;        /**< Steps of the whole phase (the schedule's length) in place of
                                   `epochs` epochs; 0 (default) = `epochs` epochs. With a
                                   validation loader, a last partial epoch is validated too
                                   before the best weights are restored. Since version 2. */
} tf_distill_opts_t;

/** Static initializer with the same defaults as tf_distill_opts_init() (current version). */
#define TF_DISTILL_OPTS_INIT                                                                       \
    {                                                                                              \
        (uint32_t)sizeof(tf_distill_opts_t), TF_DISTILL_OPTS_VERSION, 4, 0, TF_METRIC_ACCURACY, 0, \
            2.0, 0.5, 1e-2, 0.01, 0.1, 1.0, 0, 20, NULL, NULL, NULL, 1, 0, 0                       \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_DISTILL_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_distill_opts_init(tf_distill_opts_t *opts, uint32_t version);

/**
 * @brief Knowledge distillation (Hinton, Vinyals and Dean, 2015): train a smaller `student` to
 *        reproduce a fine-tuned `teacher`'s predictions on unlabelled sequences, so that the
 *        teacher can be deployed as the student.
 *
 * Each step reads a batch of the unlabelled loader, runs the teacher (evaluation mode, no
 * gradient) and the student on it, and minimises T^2 KL(p_T || q_T), the Kullback-Leibler
 * divergence from the teacher's softened distribution p_T = softmax(z_teacher / T) to the
 * student's q_T = softmax(z_student / T), averaged over the batch (a two-class head's single
 * logit and each label of a multi-label head are a distribution over {no, yes}, averaged over
 * sequences and labels as the hard loss is). The factor T^2 keeps the gradients' scale
 * independent of T. The teacher's raw head logits are used, not its calibrated decisions. With a
 * labelled loader, each step also reads one of its batches (starting it over at its end) and the
 * loss becomes (1 - alpha) times the soft loss plus alpha times the student's cross-entropy on
 * the labels (the loss of tf_finetune()).
 *
 * The student is a model of the teacher's vocabulary (or number of features) with any
 * architecture, typically tf_model_create() with a smaller `hidden_size`, or a small pre-trained
 * language model. It gets a new task head with the teacher's labels (unless it already has one
 * with those labels and pooling, which then trains on) and the teacher's class priors, so it
 * decides as the teacher does (see "Decisions under a new class prior"). Every parameter of the
 * student trains, the language-model head excepted. With a validation loader the student is
 * evaluated after each epoch, the best weights are kept and restored at the end, training stops
 * after `patience` epochs without improvement, and the student's temperature is calibrated.
 *
 * The call is a training phase like tf_pretrain() and tf_finetune(): `stop_after_steps`, the
 * progress callback, the divergence guard and tf_train_state_save() / tf_train_state_load()
 * work the same way (the training state holds the unlabelled loader's position; a labelled
 * loader is read on from wherever it is).
 * @param[in,out] student The model to train.
 * @param[in,out] teacher A fine-tuned model with the student's vocabulary; its weights are not
 *                changed (its scratch buffers are used).
 * @param[in] unlabeled Loader of the sequences to distil on (tokens or features; labels, if any,
 *            are ignored), e.g. tf_loader_create_tokens() without labels; one epoch is one pass.
 * @param[in] labeled Labelled loader with the teacher's labels, or NULL.
 * @param[in] valid Validation loader with the teacher's labels, or NULL.
 * @param[in] opts Options, or NULL for the defaults.
 * @param[out] report Filled with results (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, the same model twice, a vocabulary,
 *         input kind or feature count that differs, a student head or loader labels that differ
 *         from the teacher's, a loader without the models' input, bad options: the message says
 *         which); #TF_STATUS_ESTATE (the teacher is not fine-tuned); #TF_STATUS_EVERSION;
 *         #TF_STATUS_ECANCELED; #TF_STATUS_EDIVERGED; #TF_STATUS_ENOMEM; a loader's errors.
 * @ownership Every argument stays the caller's and is used during the call only; the student
 *            keeps its training state (see tf_train_state_save()).
 * @threadsafety One thread at a time with the contexts of the two models and the loaders; the
 *               progress callback runs on the calling thread.
 */
TF_API tf_status_t tf_distill(tf_model_t *student,
                              tf_model_t *teacher,
                              tf_loader_t *unlabeled,
                              tf_loader_t *labeled,
                              tf_loader_t *valid,
                              const tf_distill_opts_t *opts,
                              tf_train_report_t *report);

/* ---- evaluation and prediction -------------------------------------------------------------- */

/** Current version of ::tf_metrics_t. */
#define TF_METRICS_VERSION 1

/** @brief Classification metrics of tf_evaluate(). Set `struct_size` and `version` first (or
 *         call tf_metrics_init()). */
typedef struct tf_metrics {
    uint32_t struct_size;  /**< sizeof(tf_metrics_t), set by the caller. */
    uint32_t version;      /**< #TF_METRICS_VERSION. */
    int64_t num_sequences; /**< Sequences evaluated. */
    int32_t num_classes;   /**< C. */
    int32_t reserved;      /**< 0. */
    double loss;           /**< Mean loss. */
    double accuracy;       /**< Fraction correct (multi-label: fraction of sequences whose
                                whole label set is right, at probability 0.5). */
    double macro_f1;       /**< Mean of the per-class F1 scores over the classes that occur in
                                the labels or the predictions. */
} tf_metrics_t;

/**
 * @brief Fill a metrics struct with its size and version.
 * @param[out] metrics The struct.
 * @param[in] version Pass #TF_METRICS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `metrics` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_metrics_init(tf_metrics_t *metrics, uint32_t version);

/**
 * @brief Evaluate a fine-tuned model on a labelled loader (one full pass from the loader's start;
 *        the loader is reset before and after).
 * @param[in,out] model The model (fine-tuned).
 * @param[in] data Labelled loader with the model's labels.
 * @param[out] metrics Receives loss, accuracy and macro-F1.
 * @param[out] confusion Receives the C x C confusion matrix, row = true class, column =
 *             predicted (may be NULL). For a multi-label model: one 2 x 2 matrix per label,
 *             `{TN, FP, FN, TP}` (4*C elements).
 * @param[in] confusion_capacity Elements `confusion` can hold (at least C*C, or 4*C for a
 *            multi-label model, when non-NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, labels that differ); #TF_STATUS_ESTATE
 *         (not fine-tuned); #TF_STATUS_EBUFSIZE; a loader's errors.
 * @ownership `data`, `metrics` and `confusion` stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with the contexts of `model` and `data`.
 */
TF_API tf_status_t tf_evaluate(tf_model_t *model,
                               tf_loader_t *data,
                               tf_metrics_t *metrics,
                               int64_t *confusion,
                               size_t confusion_capacity);

/**
 * @brief Class probabilities for one sequence of token ids.
 * @param[in,out] model A fine-tuned token model.
 * @param[in] ids Token ids (each in [0, vocabulary size)).
 * @param[in] num_ids Number of ids, at least 1 (longer inputs are used whole).
 * @param[out] probs Receives C probabilities (softmax; for two classes, 1 - p and p; for a
 *             multi-label model, each label's own probability).
 * @param[in] capacity Elements `probs` can hold (at least C).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_ESTATE (not fine-tuned, or a numeric
 *         model); #TF_STATUS_EBUFSIZE; #TF_STATUS_ENOMEM.
 * @ownership `ids` and `probs` stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_predict_ids(tf_model_t *model,
                                  const int32_t *ids,
                                  int64_t num_ids,
                                  float *probs,
                                  size_t capacity);

/**
 * @brief Class probabilities for a text, tokenised with the model's vocabulary.
 * @param[in,out] model A fine-tuned token model.
 * @param[in] text UTF-8 text (invalid bytes are replaced).
 * @param[in] len Length in bytes (the text needs no NUL).
 * @param[out] probs Receives C probabilities.
 * @param[in] capacity Elements `probs` can hold.
 * @return As tf_predict_ids(); #TF_STATUS_EINVAL also for a text without any token.
 * @ownership `text` and `probs` stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_predict_text(tf_model_t *model,
                                   const char *text,
                                   size_t len,
                                   float *probs,
                                   size_t capacity);

/**
 * @brief Class probabilities for one numeric sequence of `steps` x F floats (row-major, raw
 *        values: a model with a standardisation (tf_model_standardization()) applies it; one
 *        without takes the values as they are).
 * @param[in,out] model A fine-tuned numeric model.
 * @param[in] x The values.
 * @param[in] steps Number of steps, at least 1.
 * @param[out] probs Receives C probabilities.
 * @param[in] capacity Elements `probs` can hold.
 * @return As tf_predict_ids().
 * @ownership `x` and `probs` stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_predict_features(tf_model_t *model,
                                       const float *x,
                                       int64_t steps,
                                       float *probs,
                                       size_t capacity);

/**
 * @brief Mean next-token cross-entropy (natural log) of a text under the pre-trained language
 *        model; exp() of it is the perplexity.
 * @param[in,out] model A token model.
 * @param[in] text UTF-8 text.
 * @param[in] len Length in bytes (the text needs no NUL).
 * @param[out] loss_out Receives the mean loss per predicted token.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, fewer than 2 tokens);
 *         #TF_STATUS_ESTATE (numeric model); #TF_STATUS_ENOMEM.
 * @ownership `text` stays the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_lm_score_text(tf_model_t *model,
                                    const char *text,
                                    size_t len,
                                    double *loss_out);

/* ---- explanations --------------------------------------------------------------------------- */

/**
 * @name Explanations: integrated gradients
 * tf_explain_text() and tf_explain_features() say how much each token (or each step and feature)
 * of one input moved the model's probability of a class, by integrated gradients (Sundararajan,
 * Taly and Yan, 2017) over the embedding output (or the numeric input) x:
 * `a_i = (x_i - x'_i) * integral over s in [0, 1] of d f(x' + s (x - x')) / d x_i`, where x' is a
 * baseline and f the probability of the class as tf_predict_text() reports it (temperature and
 * prior included). A token's attribution is the sum of its embedding dimensions'. The integral is
 * a quadrature over `steps` points of the path, run as batches of copies of the input: by the
 * method's completeness axiom the attributions sum to f(x) - f(x'), and the result reports how far
 * the quadrature is from that (tf_explain_result_t::gap); more steps make the gap smaller.
 * docs/explain.md describes the method, its axioms and its cost.
 * @{
 */

/** Quadrature rule over the path (tf_explain_opts_t::rule). Values are stable. */
typedef enum tf_explain_rule {
    TF_EXPLAIN_GAUSS_LEGENDRE = 1, /**< Gauss-Legendre nodes on (0, 1): `steps` gradient points,
                                        exact for polynomials of degree 2 * steps - 1, the
                                        default; f(x) and f(x') cost two more forward rows. */
    TF_EXPLAIN_TRAPEZOID = 2       /**< The trapezoid rule on `steps` equal intervals:
                                        `steps + 1` points including both ends. */
} tf_explain_rule_t;

/** Baseline x' of an explanation (tf_explain_opts_t::baseline). Values are stable. */
typedef enum tf_explain_baseline {
    TF_EXPLAIN_BASELINE_ZERO = 1, /**< The zero vector (an all-zero embedding or input), the
                                       default. */
    TF_EXPLAIN_BASELINE_PAD = 2,  /**< Token models: every position holds the embedding of
                                       #TF_VOCAB_PAD (zero unless imported otherwise). */
    TF_EXPLAIN_BASELINE_UNK = 3   /**< Token models: every position holds the embedding of
                                       #TF_VOCAB_UNK, a word the model does not know. */
} tf_explain_baseline_t;

/** Most quadrature points tf_explain_opts_t::steps may ask for. */
#define TF_EXPLAIN_MAX_STEPS 4096

/** Current version of ::tf_explain_opts_t. */
#define TF_EXPLAIN_OPTS_VERSION 1

/** @brief Options of tf_explain_text() and tf_explain_features(). Fill with
 *         tf_explain_opts_init() (or #TF_EXPLAIN_OPTS_INIT). */
typedef struct tf_explain_opts {
    uint32_t struct_size; /**< sizeof(tf_explain_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_EXPLAIN_OPTS_VERSION, set by the init function. */
    int32_t steps;        /**< Quadrature steps, 1 to #TF_EXPLAIN_MAX_STEPS; default 32. */
    int32_t rule;         /**< A ::tf_explain_rule_t; default #TF_EXPLAIN_GAUSS_LEGENDRE. */
    int32_t baseline;     /**< A ::tf_explain_baseline_t; default #TF_EXPLAIN_BASELINE_ZERO. */
    int32_t target_class; /**< Class to explain, 0 to C - 1; -1 (default): the class the model
                               predicts (the most probable one). */
    int32_t batch_size;   /**< Path points per forward and backward pass; 0 (default): as many
                               as keep tokens x points at or under 16,384 rows (one pass for a
                               text of up to 512 tokens at 32 steps). */
    int32_t reserved;     /**< Must be 0. */
} tf_explain_opts_t;

/** Static initializer with the same defaults as tf_explain_opts_init() (current version). */
#define TF_EXPLAIN_OPTS_INIT                                                                       \
    {                                                                                              \
        (uint32_t)sizeof(tf_explain_opts_t), TF_EXPLAIN_OPTS_VERSION, 32,                          \
            TF_EXPLAIN_GAUSS_LEGENDRE, TF_EXPLAIN_BASELINE_ZERO, -1, 0, 0                          \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_EXPLAIN_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_explain_opts_init(tf_explain_opts_t *opts, uint32_t version);

/** Current version of ::tf_explain_result_t. */
#define TF_EXPLAIN_RESULT_VERSION 1

/** @brief What an explanation found besides the attributions. Set `struct_size` and `version`
 *         (or call tf_explain_result_init()) before passing it; the library fills the fields
 *         that fit. */
typedef struct tf_explain_result {
    uint32_t struct_size;    /**< sizeof(tf_explain_result_t), set by the caller. */
    uint32_t version;        /**< #TF_EXPLAIN_RESULT_VERSION. */
    int64_t num_steps;       /**< Tokens of the text (or steps of the sequence): attributions
                                  hold this many values (times F for features). */
    int32_t target_class;    /**< The class explained. */
    int32_t predicted_class; /**< The model's most probable class for the input. */
    double f_input;          /**< f(x): the probability of the target class for the input. */
    double f_baseline;       /**< f(x'): the same for the baseline. */
    double sum;              /**< Sum of the attributions. */
    double gap;              /**< sum - (f_input - f_baseline): the quadrature's error, 0 for
                                  the exact integral. */
} tf_explain_result_t;

/**
 * @brief Fill a result with its size and version (and zero fields).
 * @param[out] result The result.
 * @param[in] version Pass #TF_EXPLAIN_RESULT_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `result` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_explain_result_init(tf_explain_result_t *result, uint32_t version);

/**
 * @brief Attribute the probability of a class to each token of a text (integrated gradients
 *        over the embedding output).
 *
 * A call with `attributions` NULL only tokenises: it fills `result->num_steps` and returns
 * #TF_STATUS_OK, so that the caller can size its buffers.
 * @param[in,out] model A fine-tuned token model (its gradient buffers are left as they were).
 * @param[in] text UTF-8 text (invalid bytes are replaced), as tf_predict_text().
 * @param[in] len Length in bytes (the text needs no NUL).
 * @param[in] opts Options, or NULL for the defaults.
 * @param[out] attributions Receives one value per token, in text order; or NULL (size query).
 * @param[out] token_ids Receives the token ids (may be NULL).
 * @param[in] capacity Elements `attributions` (and `token_ids`) can hold.
 * @param[out] result Receives the token count, the classes, f(x), f(x') and the gap.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model, text or result, a text without tokens,
 *         bad options, a class out of range); #TF_STATUS_EVERSION; #TF_STATUS_ESTATE (not
 *         fine-tuned, or a numeric model); #TF_STATUS_EBUFSIZE (`capacity` below the token count,
 *         which `result->num_steps` then holds); #TF_STATUS_ENOMEM.
 * @ownership `text`, `opts` and the buffers stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_explain_text(tf_model_t *model,
                                   const char *text,
                                   size_t len,
                                   const tf_explain_opts_t *opts,
                                   float *attributions,
                                   int32_t *token_ids,
                                   size_t capacity,
                                   tf_explain_result_t *result);

/**
 * @brief Attribute the probability of a class to each step and feature of a numeric sequence
 *        (integrated gradients over the input; the baseline is zero after the model's
 *        standardisation, so each feature's training mean for a model that records one: the
 *        same attributions as the raw values against that mean).
 *
 * A call with `attributions` NULL fills `result->num_steps` and returns #TF_STATUS_OK.
 * @param[in,out] model A fine-tuned numeric model (its gradient buffers are left as they were).
 * @param[in] x `steps` x F finite floats, row-major, raw values as tf_predict_features()
 *            takes them.
 * @param[in] steps Number of steps, at least 1.
 * @param[in] opts Options, or NULL for the defaults (baseline #TF_EXPLAIN_BASELINE_ZERO only).
 * @param[out] attributions Receives `steps` x F values, row-major; or NULL (size query).
 * @param[in] capacity Elements `attributions` can hold.
 * @param[out] result Receives the step count, the classes, f(x), f(x') and the gap.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model, x or result, steps below 1, a value
 *         that is not finite, bad options, a class out of range); #TF_STATUS_EVERSION;
 *         #TF_STATUS_ESTATE (not fine-tuned, or a token model); #TF_STATUS_EBUFSIZE;
 *         #TF_STATUS_ENOMEM.
 * @ownership `x`, `opts` and the buffers stay the caller's; nothing is kept after the call.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_explain_features(tf_model_t *model,
                                       const float *x,
                                       int64_t steps,
                                       const tf_explain_opts_t *opts,
                                       float *attributions,
                                       size_t capacity,
                                       tf_explain_result_t *result);

/** @} */

/* ---- calibration and class priors ------------------------------------------------------------ */

/**
 * @name Decisions under a new class prior
 * A classifier learns the class frequencies of its training data (its *prior*) along with the
 * task. Where the new data have other frequencies (spam is 15% of the training e-mails and half
 * of later ones), its decisions are biased towards the old majority. A fine-tuned model
 * therefore turns its head's logits z into probabilities as
 * `softmax(z / T + log(prior) - log(model_prior))` (for a single logit or a multi-label head,
 * the same per label with the log-odds): T is a temperature fitted on validation data
 * (tf_model_calibrate(); 1 until then), `model_prior` the class frequencies the loss saw
 * (the training counts times the class weights, normalised) and `prior` the frequencies
 * expected in use. Until a prior is set, `prior` is `model_prior`: the model decides as
 * trained. tf_adapt_prior() estimates the prior of new data from unlabelled examples.
 * Predictions and tf_evaluate() use the adjusted probabilities; all of it is saved in the
 * checkpoint (metadata `libtransfer.decision`).
 * @{
 */

/** Which prior tf_model_prior() reads. Values are stable. */
typedef enum tf_prior_kind {
    TF_PRIOR_TRAIN = 1, /**< Class frequencies of the training data (single-label: sum to 1;
                             multi-label: the fraction of sequences with each label). */
    TF_PRIOR_MODEL = 2, /**< What the loss saw: the training frequencies times the class weights,
                             normalised (equal to #TF_PRIOR_TRAIN without class weights). */
    TF_PRIOR_TARGET = 3 /**< The prior decisions are made for (#TF_PRIOR_MODEL until set). */
} tf_prior_kind_t;

/**
 * @brief Fit the temperature T that minimises the cross-entropy of a labelled loader
 *        (temperature scaling, Guo et al. 2017), with the model deciding for the training
 *        prior; store it in the model. The targets are smoothed as Platt (1999) does:
 *        (n + 1) / (n + 2) for the true class of n labelled rows, not 1, so that a small
 *        validation set the model separates perfectly does not drive T to zero. Decisions are unchanged while the model decides as
 *        trained; the probabilities become calibrated.
 * @param[in,out] model A fine-tuned model.
 * @param[in] data A labelled loader with the model's labels (one pass; reset before and after).
 * @param[out] temperature Receives T (may be NULL); T lies in [0.05, 20].
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model or loader, labels that differ);
 *         #TF_STATUS_ESTATE (not fine-tuned); #TF_STATUS_EDIVERGED (a non-finite logit; the
 *         model is left as it was); #TF_STATUS_ENOMEM; a loader's errors.
 * @ownership `data` stays the caller's and is used during the call only.
 * @threadsafety One thread at a time with the contexts of `model` and `data`.
 */
TF_API tf_status_t tf_model_calibrate(tf_model_t *model, tf_loader_t *data, double *temperature);

/** Current version of ::tf_adapt_opts_t. */
#define TF_ADAPT_OPTS_VERSION 1

/** @brief Options of tf_adapt_prior(). Fill with tf_adapt_opts_init(). */
typedef struct tf_adapt_opts {
    uint32_t struct_size; /**< sizeof(tf_adapt_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_ADAPT_OPTS_VERSION. */
    int32_t max_iter;     /**< EM iterations at most; default 1000. */
    int32_t reserved;     /**< Must be 0. */
    double tol;           /**< Stop when no class prior moves by more than this; default 1e-6. */
    double min_prior;     /**< Floor of every estimated prior (and 1 - it the ceiling of a
                               multi-label one); default 1e-4. */
} tf_adapt_opts_t;

/** Static initializer with the same defaults as tf_adapt_opts_init() (current version). */
#define TF_ADAPT_OPTS_INIT                                                                         \
    {                                                                                              \
        (uint32_t)sizeof(tf_adapt_opts_t), TF_ADAPT_OPTS_VERSION, 1000, 0, 1e-6, 1e-4              \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_ADAPT_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_adapt_opts_init(tf_adapt_opts_t *opts, uint32_t version);

/**
 * @brief Estimate the class prior of new data from unlabelled sequences and make it the
 *        model's target prior: the EM procedure of Saerens, Latinne and Decaestecker (2002) on
 *        the model's calibrated probabilities (calibrate first with tf_model_calibrate(), as
 *        tf_finetune() does when it has validation data). Multi-label heads get one estimate
 *        per label.
 * @param[in,out] model A fine-tuned model.
 * @param[in] unlabeled A loader of the new sequences (labels, if any, are ignored), e.g.
 *            tf_loader_create_tokens() with no labels; one pass, reset before and after.
 * @param[in] opts Options, or NULL for the defaults.
 * @param[out] iterations Receives the EM iterations run (may be NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model or loader, bad options, a loader without
 *         sequences); #TF_STATUS_EVERSION; #TF_STATUS_ESTATE (not fine-tuned);
 *         #TF_STATUS_EDIVERGED (a non-finite logit; the model is left as it was);
 *         #TF_STATUS_ENOMEM; a loader's errors.
 * @ownership `unlabeled` and `opts` stay the caller's and are used during the call only.
 * @threadsafety One thread at a time with the contexts of `model` and `unlabeled`.
 */
TF_API tf_status_t tf_adapt_prior(tf_model_t *model,
                                  tf_loader_t *unlabeled,
                                  const tf_adapt_opts_t *opts,
                                  int32_t *iterations);

/**
 * @brief Read one of the model's priors.
 * @param[in] model A fine-tuned model.
 * @param[in] kind A ::tf_prior_kind_t.
 * @param[out] prior Receives tf_model_num_classes() values.
 * @param[in] capacity Elements `prior` can hold.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, unknown kind); #TF_STATUS_ESTATE
 *         (not fine-tuned, or a model saved before priors were recorded); #TF_STATUS_EBUFSIZE.
 * @ownership `prior` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_model_prior(const tf_model_t *model, int32_t kind, double *prior, size_t capacity);

/**
 * @brief Set the target prior (a known class balance of the data the model will see), or go back
 *        to deciding as trained.
 * @param[in,out] model A fine-tuned model.
 * @param[in] prior tf_model_num_classes() values in (0, 1) (single-label: summing to 1 within
 *            1e-6), or NULL to clear the target prior.
 * @param[in] num_classes Number of values (ignored when `prior` is NULL).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL model, wrong count, values out of range);
 *         #TF_STATUS_ESTATE (not fine-tuned, or no recorded model prior); #TF_STATUS_ENOMEM.
 * @ownership `prior` is copied and stays the caller's.
 * @threadsafety Changes `model`; one thread at a time with its context.
 */
TF_API tf_status_t tf_model_set_prior(tf_model_t *model, const double *prior, size_t num_classes);

/**
 * @brief The model's temperature (1 until calibrated).
 * @param[in] model The model.
 * @return T, or 0 for a NULL model.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `model` only; one thread at a time per context (see context.h).
 */
TF_API double tf_model_temperature(const tf_model_t *model);

/** @} */

/* ---- checkpoints ---------------------------------------------------------------------------- */

/** Load flag: keep only the backbone (and the pre-training head), dropping the task head and its
 *  labels, to fine-tune for a new task. */
#define TF_MODEL_LOAD_BACKBONE 0x1u

/**
 * @brief Save the model atomically as a safetensors file: PyTorch-named tensors
 *        (`embedding.weight`, `lstm.weight_ih_l0`, ..., `lm_head.weight`, `head.weight`) and
 *        metadata with the configuration (`libtransfer.config`, JSON), the vocabulary
 *        (`libtransfer.vocab`), the label names (`libtransfer.labels`, JSON) and a CRC32 per
 *        tensor. A failed save leaves any previous file at `path` untouched.
 * @param[in] model The model.
 * @param[in] path Target file.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EIO; #TF_STATUS_ENOMEM.
 * @ownership `path` is read during the call only.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_model_save(tf_model_t *model, const char *path);

/**
 * @brief Load a model saved by tf_model_save() or tf_model_export() (whose F16 or int8 weights
 *        are widened to F32).
 * @param[out] out Receives the model; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] path The file.
 * @param[in] flags 0, or #TF_MODEL_LOAD_BACKBONE.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_ENOTFOUND (no file); #TF_STATUS_EIO;
 *         #TF_STATUS_EFORMAT (corrupt, not a libtransfer model, tensors missing or of the wrong
 *         shape: the message names them); #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_model_free().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_model_load(tf_model_t **out, tf_ctx_t *ctx, const char *path, uint32_t flags);

/** Current version of ::tf_export_opts_t. */
#define TF_EXPORT_OPTS_VERSION 1

/** Export dtype: every tensor stays F32 (only the language-model head is left out). */
#define TF_EXPORT_DTYPE_F32 1
/** Export dtype: the large matrices as IEEE half precision (`F16`), rounded to nearest even. */
#define TF_EXPORT_DTYPE_F16 2
/** Export dtype: the large matrices as symmetric int8 (`I8`) with one F32 scale per row. */
#define TF_EXPORT_DTYPE_INT8 3

/** Default tf_export_opts_t::min_elements. */
#define TF_EXPORT_MIN_ELEMENTS 1024

/** @brief Options of tf_model_export(). Fill with tf_export_opts_init() (or
 *         #TF_EXPORT_OPTS_INIT). */
typedef struct tf_export_opts {
    uint32_t struct_size;  /**< sizeof(tf_export_opts_t), set by the init function. */
    uint32_t version;      /**< #TF_EXPORT_OPTS_VERSION, set by the init function. */
    uint32_t dtype;        /**< #TF_EXPORT_DTYPE_F32 (default), #TF_EXPORT_DTYPE_F16 or
                                #TF_EXPORT_DTYPE_INT8. */
    uint32_t reserved;     /**< Must be 0. */
    int64_t min_elements;  /**< Tensors of 2 or more dimensions with at least this many elements
                                are stored in `dtype`; the others (biases, small heads) stay F32.
                                Default #TF_EXPORT_MIN_ELEMENTS; at least 1. */
} tf_export_opts_t;

/** Static initializer with the same defaults as tf_export_opts_init() (current version). */
#define TF_EXPORT_OPTS_INIT                                                                        \
    {                                                                                              \
        (uint32_t)sizeof(tf_export_opts_t), TF_EXPORT_OPTS_VERSION, TF_EXPORT_DTYPE_F32, 0u,       \
            TF_EXPORT_MIN_ELEMENTS                                                                 \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_EXPORT_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_export_opts_init(tf_export_opts_t *opts, uint32_t version);

/**
 * @brief Save a classifier for prediction only: without its language-model head (`lm_head.*`,
 *        which classification never uses), with its large matrices in F32, F16 or int8.
 *
 * The file is a checkpoint as tf_model_save() writes (safetensors, a CRC32 per tensor, the
 * configuration, vocabulary, labels and decision metadata) plus the metadata key
 * `libtransfer.inference` naming the dtype (`f32`, `f16` or `int8`). With int8, a matrix
 * `<name>` of R rows is stored as an `I8` tensor and an `F32` tensor `<name>.scale` of shape [R]:
 * scale = max|row| / 127, q = round(x / scale), x = q * scale (docs/checkpoints.md). tf_model_load()
 * reads the file back, widening every weight to F32; the model predicts, evaluates, calibrates
 * and adapts its prior as any other, but refuses tf_pretrain(), tf_finetune() and vocabulary
 * growth with #TF_STATUS_ESTATE (it has no language-model head, and its weights are rounded).
 * @param[in] model A model with a task head (after tf_finetune(), or loaded with one).
 * @param[in] path Target file, written atomically.
 * @param[in] opts Options, or NULL for the defaults (F32).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, bad option, a model without a task
 *         head, a weight outside the f16 range or not finite); #TF_STATUS_EVERSION;
 *         #TF_STATUS_EIO; #TF_STATUS_ENOMEM. A failed export leaves any previous file at `path`
 *         untouched.
 * @ownership `path` and `opts` are read during the call only.
 * @threadsafety One thread at a time with `model`'s context.
 */
TF_API tf_status_t tf_model_export(tf_model_t *model, const char *path, const tf_export_opts_t *opts);

/** Current version of ::tf_import_opts_t. */
#define TF_IMPORT_OPTS_VERSION 1

/** @brief What tf_model_import() needs beyond the architecture: the task head of a classifier.
 *         Fill with tf_import_opts_init() (or #TF_IMPORT_OPTS_INIT). */
typedef struct tf_import_opts {
    uint32_t struct_size;       /**< sizeof(tf_import_opts_t), set by the init function. */
    uint32_t version;           /**< #TF_IMPORT_OPTS_VERSION, set by the init function. */
    const char *const *labels;  /**< Class names of the file's task head (`head.*`), in the order
                                     of its outputs; NULL (the default) for a file without one. */
    int32_t num_labels;         /**< Entries of `labels`: at least 2, or 1 for a multi-label
                                     head; 0 without a head. */
    int32_t multi_label;        /**< 1: the head scores each label on its own (one logit per
                                     label); 0 (default): one class per text (one logit for two
                                     classes, else one per class). */
    uint32_t pooling;           /**< OR of TF_POOL_LAST, TF_POOL_MEAN, TF_POOL_MAX that the head
                                     reads, concatenated in that order; default all three. */
    int32_t reserved;           /**< Must be 0. */
    double head_dropout;        /**< Dropout before the head in later fine-tuning, [0, 1);
                                     default 0.3 as tf_finetune_opts_t. */
} tf_import_opts_t;

/** Static initializer with the same defaults as tf_import_opts_init() (current version). */
#define TF_IMPORT_OPTS_INIT                                                                        \
    {                                                                                              \
        (uint32_t)sizeof(tf_import_opts_t), TF_IMPORT_OPTS_VERSION, NULL, 0, 0,                    \
            TF_POOL_LAST | TF_POOL_MEAN | TF_POOL_MAX, 0, 0.3                                      \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_IMPORT_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @ownership `opts` stays the caller's; nothing is kept.
 * @threadsafety Safe from any thread.
 */
TF_API tf_status_t tf_import_opts_init(tf_import_opts_t *opts, uint32_t version);

/**
 * @brief Load weights saved elsewhere (PyTorch's `safetensors.torch.save_file(model.state_dict())`)
 *        into a new model of an architecture given here, not read from the file.
 *
 * The file holds F32 tensors under the parameter names of the equivalent PyTorch model, the
 * names tf_model_save() writes: `embedding.weight`, `lstm.weight_ih_l0`, `lstm.weight_hh_l0`,
 * `lstm.bias_ih_l0`, `lstm.bias_hh_l0` (`gru.*` for a GRU, `_reverse` for the second direction,
 * `_l1`... for more layers), `lm_head.weight`, `lm_head.bias`, and `head.weight`, `head.bias` for
 * a task head. Any metadata is ignored. Every tensor of the architecture must be present with
 * its exact shape and no other tensor may be; F16 tensors are widened to F32 exactly, BF16 ones
 * are refused: convert them with `.float()` before saving. The model then saves with tf_model_save() as any
 * other (with a CRC32 per tensor computed then).
 * @param[out] out Receives the model; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] path The safetensors file.
 * @param[in] vocab Vocabulary of a token model whose order is the rows of `embedding.weight`
 *            (copied); NULL for a numeric model.
 * @param[in] arch The architecture, as for tf_model_create().
 * @param[in] opts The task head's labels and pooling, or NULL for a file without `head.*`.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (bad argument or architecture, a `head.*` without
 *         labels); #TF_STATUS_ENOTFOUND (no file); #TF_STATUS_EIO; #TF_STATUS_EFORMAT (not
 *         safetensors, a tensor missing, unexpected, of the wrong shape or dtype: the message
 *         names it); #TF_STATUS_ENOTSUP (a dtype libtransfer cannot read, as BF16);
 *         #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_model_free(); `vocab`, `arch` and `opts` stay the caller's.
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_model_import(tf_model_t **out,
                                   tf_ctx_t *ctx,
                                   const char *path,
                                   const tf_vocab_t *vocab,
                                   const tf_model_opts_t *arch,
                                   const tf_import_opts_t *opts);

/**
 * @brief Save the training state of the model's current phase (optimizer moments, step, schedule
 *        position, best weights bookkeeping), the loader's position and the context's random
 *        generator, atomically, to resume later with tf_train_state_load().
 * @param[in] model The model (after a tf_pretrain() or tf_finetune() call).
 * @param[in] train The training loader (its position is saved), or NULL.
 * @param[in] path Target file.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_ESTATE (no training state yet);
 *         #TF_STATUS_EIO; #TF_STATUS_ENOMEM.
 * @ownership `train` and `path` are used during the call only.
 * @threadsafety One thread at a time with the contexts of `model` and `train`.
 */
TF_API tf_status_t tf_train_state_save(tf_model_t *model, tf_loader_t *train, const char *path);

/**
 * @brief Restore a training state into a model (saved or loaded with the same weights) and a
 *        loader made from the same data and options. The next tf_pretrain() or tf_finetune()
 *        call of the same phase and options continues from it.
 * @param[in,out] model The model.
 * @param[in,out] train The training loader, or NULL (if the state has a loader position, it
 *                is then ignored).
 * @param[in] path The file.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_ENOTFOUND; #TF_STATUS_EIO;
 *         #TF_STATUS_EFORMAT (corrupt or from another model); #TF_STATUS_ENOMEM.
 * @ownership `train` and `path` are used during the call only.
 * @threadsafety One thread at a time with the contexts of `model` and `train`.
 */
TF_API tf_status_t tf_train_state_load(tf_model_t *model, tf_loader_t *train, const char *path);

TF_END_DECLS

#endif /* LIBTRANSFER_TRAIN_H */
/** @} */
