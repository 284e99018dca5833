/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/data.h
 * @brief Vocabularies, tokenisers and data loaders: text files, TSV, CSV and caller memory in,
 *        time-major batches out.
 *
 * **Vocabularies.** A word vocabulary splits text on whitespace (and, optionally, makes every
 * punctuation character or symbol its own token), optionally lower-cases, keeps tokens seen at
 * least `min_count` times, most frequent first (ties in byte order), up to `max_size` entries.
 * A byte vocabulary has one token per byte value and never produces #TF_VOCAB_UNK. All kinds
 * start with four special tokens at fixed ids: #TF_VOCAB_PAD (0, "<pad>"), #TF_VOCAB_UNK (1,
 * "<unk>"), #TF_VOCAB_BOS (2, "<bos>"), #TF_VOCAB_EOS (3, "<eos>").
 *
 * **Subwords (#TF_VOCAB_KIND_BPE).** Text is split into words and punctuation as for a word
 * vocabulary, and a word that follows whitespace keeps one leading space byte (" the"). Each
 * such pre-token is a sequence of bytes (ids 4 to 259), which merges join into longer tokens: a
 * merge is a pair of token ids and makes the token spelled by their bytes one after the other.
 * Training starts from the bytes of the distinct pre-tokens, weighted by their counts, and
 * repeatedly merges the adjacent pair seen most often (overlapping pairs counted; ties go to the
 * smaller left id, then the smaller right id), everywhere left to right, until the vocabulary has
 * `max_size` tokens or no pair is seen `max(2, min_count)` times. A merge whose token already
 * exists reuses it; one that would spell a special is never made. Encoding applies, to each
 * pre-token, the present pair of the earliest merge, everywhere left to right, until none
 * applies. Pre-tokens longer than 64 bytes are trained on and encoded in chunks of 64 bytes, so
 * no token is longer. A BPE vocabulary never produces #TF_VOCAB_UNK: a new word is spelled with
 * known pieces, at worst its bytes.
 * Text is UTF-8: every invalid byte is replaced by U+FFFD before tokenising; replacements are
 * counted (tf_vocab_invalid_utf8(), tf_loader_invalid_utf8()) and reported through the log
 * callback at #TF_LOG_WARN, never an error.
 *
 * **Unicode text** (vocabularies built by this version; serialised format 2). A text with
 * non-ASCII bytes is first normalised to NFKC, and lower-casing is Unicode full case folding
 * (so "Straße" and "STRASSE" both give "strasse", and U+0130 gives "i" + U+0307: no
 * language-specific rules). Characters of the categories Z* and Cc separate tokens; P* and S*
 * (emoji among them) are punctuation, each a token together with the marks and modifiers of its
 * grapheme cluster; a CJK ideograph is always a token of its own; every other character (letters,
 * marks, digits, format characters, and U+FFFD) belongs to words. Pure ASCII text is split
 * exactly as before. Vocabularies read from format 1 keep the rules of the release that wrote
 * them: non-ASCII bytes are word bytes and only ASCII letters are lower-cased.
 *
 * **Serialised vocabulary** (tf_vocab_serialize(), a UTF-8 string without NUL bytes):
 * @code
 * libtransfer-vocab 2\n
 * kind word\n            (or: kind byte)
 * lowercase 0|1\n
 * split_punct 0|1\n
 * unicode 1\n
 * size N\n
 * token 0\n ... token N-1\n    (word vocabularies only: one escaped token per line, by id)
 * merges M\n             (BPE vocabularies only, then M lines:)
 * left right\n           (the ids of a merge, in decimal; merges in rank order)
 * @endcode
 * A BPE vocabulary lists no tokens: the specials and bytes are implied and merge k makes token
 * `size` as counted so far (unless its token exists). `size` must match at the end.
 * Format 1 is the same without the `unicode` line (the first line reads `libtransfer-vocab 1`);
 * it is read, and a vocabulary read from it is written in it again.
 * Escapes in tokens: a backslash is written `\\`, and a byte below 0x20 or 0x7f as `\xHH`
 * (two lower-case hex digits); every other byte is written as is. So each token is exactly one
 * line, and any token round-trips.
 *
 * **Text files.** Lines end with LF or CRLF (the CR is dropped). Blank lines are ignored. A line
 * longer than #TF_DATA_MAX_LINE bytes, or containing a NUL byte, is a bad line. Bad lines (and,
 * for TSV/CSV, lines without a tab, with empty text, non-numeric fields, unknown labels) fail the
 * call with #TF_STATUS_EFORMAT and a message `function: file:line: what`, unless the loader
 * option tf_loader_opts_t::skip_bad_lines is set: then they are skipped, counted
 * (tf_loader_skipped_lines()) and logged at #TF_LOG_WARN. A file that cannot be opened or read
 * fails with #TF_STATUS_EIO naming it; a file with no usable line fails with #TF_STATUS_EFORMAT.
 *
 * **Batches** are time-major: tokens (T, B) i32, targets (T, B) i32, lengths (B) i32, labels
 * (B) i32 or label sets (B, C) f32, features (T, B, F) f32, feature targets (T, B, F) f32. B is the number of sequences
 * actually in the batch: the last batch of an epoch may be smaller than the batch size unless
 * tf_loader_opts_t::drop_last is set (then it is dropped). Padding positions hold #TF_VOCAB_PAD
 * or 0.0f.
 *
 * **Epochs.** tf_loader_next() returns #TF_STATUS_OK with `*batch == NULL` at the end of an
 * epoch (and keeps doing so); tf_loader_reset() starts the next epoch, reshuffled.
 *
 * @defgroup data Data: vocabularies and loaders
 * @{
 */
#ifndef LIBTRANSFER_DATA_H
#define LIBTRANSFER_DATA_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "tensor.h"

TF_BEGIN_DECLS

/** Id of the padding token. */
#define TF_VOCAB_PAD 0
/** Id of the unknown-token token. */
#define TF_VOCAB_UNK 1
/** Id of the beginning-of-sequence token. */
#define TF_VOCAB_BOS 2
/** Id of the end-of-sequence token (put between lines by the language-model loader). */
#define TF_VOCAB_EOS 3
/** Number of special tokens; the first ordinary token has this id. */
#define TF_VOCAB_NUM_SPECIALS 4

/** Longest line (in bytes, without the line end) the readers accept: 1 MiB. */
#define TF_DATA_MAX_LINE (1 << 20)

/** @brief Opaque vocabulary handle. */
typedef struct tf_vocab tf_vocab_t;
/** @brief Opaque data loader handle. */
typedef struct tf_loader tf_loader_t;
/** @brief Opaque batch, borrowed from its loader. */
typedef struct tf_batch tf_batch_t;

/** @brief Kind of vocabulary (tf_vocab_opts_t::kind). Values are stable. */
typedef enum tf_vocab_kind {
    TF_VOCAB_KIND_WORD = 1, /**< Whitespace (and punctuation) separated words. */
    TF_VOCAB_KIND_BYTE = 2, /**< One token per byte: ids 4..259 are bytes 0..255. */
    TF_VOCAB_KIND_BPE = 3   /**< Byte-level BPE subwords: ids 4..259 are bytes, then merges. */
} tf_vocab_kind_t;

/** Current version of ::tf_vocab_opts_t. */
#define TF_VOCAB_OPTS_VERSION 1

/** @brief Options for building a vocabulary. Fill with tf_vocab_opts_init(). */
typedef struct tf_vocab_opts {
    uint32_t struct_size; /**< sizeof(tf_vocab_opts_t), set by the init function. */
    uint32_t version;     /**< #TF_VOCAB_OPTS_VERSION, set by the init function. */
    int32_t kind;         /**< A ::tf_vocab_kind_t; default #TF_VOCAB_KIND_WORD. */
    int32_t lowercase;    /**< 1: lower-case (Unicode case folding) before lookup. Default 0. */
    int32_t split_punct;  /**< 1: each punctuation character or symbol is its own token.
                               Default 1. */
    int32_t min_count;    /**< Keep words seen at least this often (>= 1); BPE: merge pairs
                               seen at least max(2, this) times. Default 1. */
    int32_t max_size;     /**< Largest size including the specials (BPE: at least 260, the
                               specials and bytes); 0 = no limit. Default 0. */
} tf_vocab_opts_t;

/** Static initializer with the same defaults as tf_vocab_opts_init() (current version). */
#define TF_VOCAB_OPTS_INIT                                                                         \
    {                                                                                              \
        (uint32_t)sizeof(tf_vocab_opts_t), TF_VOCAB_OPTS_VERSION, TF_VOCAB_KIND_WORD, 0, 1, 1, 0   \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_VOCAB_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_vocab_opts_init(tf_vocab_opts_t *opts, uint32_t version);

/**
 * @brief Build a vocabulary by streaming over text files (one text per line).
 * @param[out] out Receives the vocabulary; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] paths `num_paths` file names (a byte vocabulary may pass 0 files and NULL).
 * @param[in] num_paths Number of files.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (bad argument or option); #TF_STATUS_EVERSION;
 *         #TF_STATUS_EIO (a file cannot be read; the message names it); #TF_STATUS_EFORMAT (a
 *         line longer than #TF_DATA_MAX_LINE or with a NUL byte, naming file and line; or no
 *         token at all in a word vocabulary's files); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_vocab_free().
 * @threadsafety Uses `ctx`.
 */
TF_API tf_status_t tf_vocab_build_files(tf_vocab_t **out,
                                        tf_ctx_t *ctx,
                                        const char *const *paths,
                                        uint32_t num_paths,
                                        const tf_vocab_opts_t *opts);

/**
 * @brief Build a vocabulary from caller strings.
 * @param[out] out Receives the vocabulary; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] texts `num_texts` UTF-8 strings.
 * @param[in] lengths Byte length of each text, or NULL when they are NUL-terminated.
 * @param[in] num_texts Number of texts.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EFORMAT (no token in
 *         the texts of a word vocabulary); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_vocab_free(). The texts are not kept.
 * @threadsafety Uses `ctx`.
 */
TF_API tf_status_t tf_vocab_build_texts(tf_vocab_t **out,
                                        tf_ctx_t *ctx,
                                        const char *const *texts,
                                        const size_t *lengths,
                                        uint32_t num_texts,
                                        const tf_vocab_opts_t *opts);

/**
 * @brief Free a vocabulary. NULL is a no-op.
 * @param[in] vocab The vocabulary.
 * @ownership Takes ownership of `vocab`.
 * @threadsafety One thread at a time with `vocab`'s context (it allocates through it).
 */
TF_API void tf_vocab_free(tf_vocab_t *vocab);

/**
 * @brief Number of tokens, specials included.
 * @param[in] vocab The vocabulary.
 * @return The size, or 0 if `vocab` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_vocab_size(const tf_vocab_t *vocab);

/**
 * @brief The kind of vocabulary.
 * @param[in] vocab The vocabulary.
 * @return A ::tf_vocab_kind_t, or 0 if `vocab` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_vocab_kind(const tf_vocab_t *vocab);

/**
 * @brief The text of token `id`.
 * @param[in] vocab The vocabulary.
 * @param[in] id 0 to size-1.
 * @param[out] len_out Receives the byte length (may be NULL); useful for the byte token 0.
 * @return A NUL-terminated string, or NULL for a NULL vocabulary or an id out of range.
 * @ownership borrowed: valid until the vocabulary is freed.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API const char *tf_vocab_token(const tf_vocab_t *vocab, int32_t id, size_t *len_out);

/**
 * @brief The id of a token, exactly as stored (no lower-casing or splitting is applied).
 * @param[in] vocab The vocabulary.
 * @param[in] token Token bytes.
 * @param[in] len Byte length of `token`.
 * @return The id, or -1 if absent (or on a NULL argument).
 * @ownership The arguments are borrowed for the call only; nothing is kept.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_vocab_lookup(const tf_vocab_t *vocab, const char *token, size_t len);

/**
 * @brief Tokenise text into ids (words not in the vocabulary become #TF_VOCAB_UNK).
 * @param[in,out] vocab The vocabulary (its invalid-UTF-8 counter and scratch space change).
 * @param[in] text UTF-8 text (may be NULL when `len` is 0).
 * @param[in] len Byte length of `text`.
 * @param[out] ids Receives the ids; NULL with `capacity` 0 only asks for the count.
 * @param[in] capacity Number of ids `ids` can hold.
 * @param[out] num_out Receives the number of ids the text has (also on #TF_STATUS_EBUFSIZE).
 * @return #TF_STATUS_OK (also for the count query); #TF_STATUS_EINVAL; #TF_STATUS_EBUFSIZE
 *         (`ids` too small; call again with `*num_out`); #TF_STATUS_EOVERFLOW (a text over
 *         1 GiB); #TF_STATUS_ENOMEM.
 * @threadsafety Changes `vocab`; one thread at a time with its context.
 * @ownership `text` and `ids` stay the caller's; nothing is kept after the call.
 */
TF_API tf_status_t tf_vocab_encode(tf_vocab_t *vocab,
                                   const char *text,
                                   size_t len,
                                   int32_t *ids,
                                   size_t capacity,
                                   size_t *num_out);

/**
 * @brief Turn ids back into text. Word vocabularies join tokens with one space and write
 *        specials as their names ("<unk>"), except #TF_VOCAB_PAD, which is left out; byte and
 *        BPE vocabularies write the bytes of the tokens one after the other and leave every
 *        special out (so a BPE encoding decodes to the normalised text with each run of
 *        whitespace one space).
 * @param[in] vocab The vocabulary.
 * @param[in] ids Ids.
 * @param[in] num_ids Number of ids.
 * @param[out] buf Receives the text and a NUL; NULL with `capacity` 0 only asks for the length.
 * @param[in] capacity Size of `buf` in bytes.
 * @param[out] len_out Receives the text length without the NUL (also on #TF_STATUS_EBUFSIZE).
 * @return #TF_STATUS_OK (also for the length query); #TF_STATUS_EINVAL (NULL argument, id out
 *         of range); #TF_STATUS_EBUFSIZE (`buf` given and `capacity` below `*len_out` + 1).
 * @ownership `ids` and `buf` stay the caller's; nothing is kept after the call.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_vocab_decode(const tf_vocab_t *vocab,
                                   const int32_t *ids,
                                   size_t num_ids,
                                   char *buf,
                                   size_t capacity,
                                   size_t *len_out);

/**
 * @brief How many invalid UTF-8 bytes were replaced by U+FFFD while building and encoding.
 * @param[in] vocab The vocabulary.
 * @return The count, or 0 if `vocab` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API uint64_t tf_vocab_invalid_utf8(const tf_vocab_t *vocab);

/**
 * @brief Write the vocabulary as one UTF-8 string (format in the file description above).
 * @param[in] vocab The vocabulary.
 * @param[out] buf Receives the string and a NUL; NULL with `capacity` 0 only asks for the length.
 * @param[in] capacity Size of `buf`.
 * @param[out] len_out Receives the length without the NUL (also on #TF_STATUS_EBUFSIZE).
 * @return #TF_STATUS_OK (also for the length query); #TF_STATUS_EINVAL; #TF_STATUS_EBUFSIZE
 *         (`buf` given and `capacity` below `*len_out` + 1).
 * @ownership `buf` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_vocab_serialize(const tf_vocab_t *vocab,
                                      char *buf,
                                      size_t capacity,
                                      size_t *len_out);

/**
 * @brief Read a vocabulary written by tf_vocab_serialize().
 * @param[out] out Receives the vocabulary; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] text The serialised form.
 * @param[in] len Its byte length.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EFORMAT (malformed, with the line);
 *         #TF_STATUS_EVERSION (a newer format); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_vocab_free().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_vocab_deserialize(tf_vocab_t **out,
                                        tf_ctx_t *ctx,
                                        const char *text,
                                        size_t len);

/**
 * @brief Write the serialised vocabulary to a file (replacing it).
 * @param[in] vocab The vocabulary.
 * @param[in] path File name.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EIO; #TF_STATUS_ENOMEM.
 * @ownership The arguments are borrowed for the call only; nothing is kept.
 * @threadsafety Reads `vocab` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_vocab_save(const tf_vocab_t *vocab, const char *path);

/**
 * @brief Read a vocabulary file written by tf_vocab_save().
 * @param[out] out Receives the vocabulary; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] path File name.
 * @return As tf_vocab_deserialize(), plus #TF_STATUS_EIO.
 * @ownership caller: free with tf_vocab_free().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_vocab_load(tf_vocab_t **out, tf_ctx_t *ctx, const char *path);

/** @brief Which part of a file a loader reads (tf_loader_opts_t::split). Values are stable. */
typedef enum tf_loader_split {
    TF_LOADER_SPLIT_ALL = 0,   /**< Every line. */
    TF_LOADER_SPLIT_TRAIN = 1, /**< Lines not chosen for validation. */
    TF_LOADER_SPLIT_VALID = 2  /**< Lines chosen for validation. */
} tf_loader_split_t;

/** Current version of ::tf_loader_opts_t. */
#define TF_LOADER_OPTS_VERSION 1

/**
 * @brief Options shared by every loader. Fill with tf_loader_opts_init(); each loader reads
 *        the fields that apply to it.
 *
 * The train/validation split is by a stable 64-bit hash of each line's bytes (without its line
 * end): a line is a validation line when hash / 2^64 < `valid_fraction`. The same file and
 * fraction give the same split on every machine.
 */
typedef struct tf_loader_opts {
    uint32_t struct_size;   /**< sizeof(tf_loader_opts_t), set by the init function. */
    uint32_t version;       /**< #TF_LOADER_OPTS_VERSION, set by the init function. */
    int32_t batch_size;     /**< B: sequences (or LM streams) per batch. Default 32. */
    int32_t bptt;           /**< LM: window length T. Default 64. */
    int32_t bptt_random;    /**< LM: 1 = AWD-LSTM random window lengths around `bptt`. */
    int32_t shuffle;        /**< 1 = new random order each epoch (LM: window order). Default 1. */
    int32_t drop_last;      /**< 1 = drop the smaller last batch of an epoch. Default 0. */
    int32_t max_len;        /**< Truncate sequences to this many steps; 0 = no limit. */
    int32_t bucket;         /**< >0: sort by length within pools of `bucket` batches. Default 0. */
    int32_t skip_bad_lines; /**< 1 = skip and count bad lines instead of failing. Default 0. */
    int32_t split;          /**< A ::tf_loader_split_t; default #TF_LOADER_SPLIT_ALL. */
    int32_t num_features;   /**< Numeric: F values per step. Default 1. */
    int32_t has_label;      /**< Numeric CSV: 1 = the first field is a label name. Default 0. */
    int32_t next_step;      /**< Numeric: 1 = targets are the next step (T = length - 1). */
    int32_t standardize;    /**< Numeric: 1 = per-feature (x-mean)/std. Default 1. */
    int32_t num_labels;     /**< Length of `labels`; 0 = find the labels in the data. */
    const char *const *labels; /**< Fixed label names (ids in this order), e.g. a training
                                    loader's; unknown labels are then bad lines. */
    double valid_fraction;  /**< Fraction of lines in the validation split (0 to 1). Default 0.1. */
    uint64_t seed;          /**< Shuffling seed; 0 = the context's seed. Default 0. */
} tf_loader_opts_t;

/** Static initializer with the same defaults as tf_loader_opts_init() (current version). */
#define TF_LOADER_OPTS_INIT                                                                        \
    {                                                                                              \
        (uint32_t)sizeof(tf_loader_opts_t), TF_LOADER_OPTS_VERSION, 32, 64, 0, 1, 0, 0, 0, 0, 0,   \
        1, 0, 0, 1, 0, NULL, 0.1, 0u                                                               \
    }

/**
 * @brief Fill `opts` with defaults.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_LOADER_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `opts`); #TF_STATUS_EVERSION.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_loader_opts_init(tf_loader_opts_t *opts, uint32_t version);

/**
 * @brief Language-model stream over text files: all tokens concatenated (#TF_VOCAB_EOS after
 *        each line), cut into B equal streams (the remainder is dropped), read in windows of T
 *        steps; targets are the next tokens. Memory: 4 bytes per token.
 *
 * Without `shuffle` the windows come in order, so a model may carry its hidden state from one
 * batch to the next (batch b of window k+1 continues batch b of window k). With `bptt_random`,
 * each window is `bptt` long with probability 0.95 (else `bptt`/2), then drawn from a normal of
 * standard deviation 5 around that, at least 5 steps. Every batch has B = batch_size columns and
 * all lengths equal T; the last window may be shorter.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] vocab Vocabulary to encode with (used only during this call).
 * @param[in] paths `num_paths` text files.
 * @param[in] num_paths At least 1.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EIO;
 *         #TF_STATUS_EFORMAT (bad line, or too few tokens for two steps per stream);
 *         #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_loader_free().
 * @threadsafety Uses `ctx` and `vocab`.
 */
TF_API tf_status_t tf_loader_create_lm(tf_loader_t **out,
                                       tf_ctx_t *ctx,
                                       tf_vocab_t *vocab,
                                       const char *const *paths,
                                       uint32_t num_paths,
                                       const tf_loader_opts_t *opts);

/**
 * @brief Build a vocabulary from text files and load them as a language-model stream, in one
 *        pass over the text (about twice as fast as tf_vocab_build_files() followed by
 *        tf_loader_create_lm()). The vocabulary is built from the lines the loader keeps (its
 *        split), so a training split never sees validation words.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[out] vocab_out Receives the vocabulary; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] paths `num_paths` text files.
 * @param[in] num_paths At least 1.
 * @param[in] vocab_opts Vocabulary options, or NULL for the defaults.
 * @param[in] opts Loader options, or NULL for the defaults.
 * @return As tf_loader_create_lm() and tf_vocab_build_files().
 * @ownership caller: free the loader with tf_loader_free() and the vocabulary with
 *            tf_vocab_free() (in either order).
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_lm_vocab(tf_loader_t **out,
                                             tf_vocab_t **vocab_out,
                                             tf_ctx_t *ctx,
                                             const char *const *paths,
                                             uint32_t num_paths,
                                             const tf_vocab_opts_t *vocab_opts,
                                             const tf_loader_opts_t *opts);

/**
 * @brief Labelled text from a TSV file of `label<TAB>text` lines (text may contain further
 *        tabs, which are whitespace). Labels are numbered in byte order of their names, unless
 *        tf_loader_opts_t::labels fixes them; invalid UTF-8 in a label name is replaced too. Batches: tokens (T, B) padded with #TF_VOCAB_PAD,
 *        T the longest (truncated) sequence of the batch; lengths; labels.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] vocab Vocabulary (used only during this call).
 * @param[in] path TSV file.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EIO;
 *         #TF_STATUS_EFORMAT (no tab, empty label or text, unknown label, bad line, no data;
 *         naming file and line); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_loader_free().
 * @threadsafety Uses `ctx` and `vocab`: not concurrently with other calls on `ctx` or its objects.
 */
TF_API tf_status_t tf_loader_create_labeled(tf_loader_t **out,
                                            tf_ctx_t *ctx,
                                            tf_vocab_t *vocab,
                                            const char *path,
                                            const tf_loader_opts_t *opts);

/**
 * @brief Multi-label text from a TSV file of `labels<TAB>text` lines, where `labels` is a
 *        comma-separated set of label names (`sport,politics`; spaces around a name are
 *        ignored, a name repeated in a line counts once, and an empty field is a text with no
 *        label). Label names (which cannot contain a comma) are numbered as in
 *        tf_loader_create_labeled(). Batches: tokens and lengths as there, label sets from
 *        tf_batch_label_sets(), and no tf_batch_labels(). tf_finetune() on such a loader trains
 *        one independent yes/no output (BCE) per label.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] vocab Vocabulary (used only during this call).
 * @param[in] path TSV file.
 * @param[in] opts Options, or NULL for the defaults (`labels`/`num_labels` fix the label set).
 * @return As tf_loader_create_labeled(); #TF_STATUS_EFORMAT also for an empty name in a set
 *         (`a,,b`, or a trailing comma).
 * @ownership caller: free with tf_loader_free().
 * @threadsafety Uses `ctx` and `vocab`: not concurrently with other calls on `ctx` or its objects.
 */
TF_API tf_status_t tf_loader_create_multilabel(tf_loader_t **out,
                                               tf_ctx_t *ctx,
                                               tf_vocab_t *vocab,
                                               const char *path,
                                               const tf_loader_opts_t *opts);

/**
 * @brief Token sequences in caller memory, zero-copy: sequence i is `ids[offsets[i]]` to
 *        `ids[offsets[i+1]-1]`. Batches as for tf_loader_create_labeled().
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] ids All token ids, back to back (each >= 0).
 * @param[in] offsets `num_seqs + 1` increasing offsets into `ids`, starting at 0.
 * @param[in] num_seqs Number of sequences (>= 1); each must have at least one token.
 * @param[in] labels `num_seqs` labels in [0, tf_loader_opts_t::num_labels), or NULL.
 * @param[in] opts Options, or NULL for the defaults (`labels`/`num_labels` name the classes).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (bad offsets, negative id, empty sequence, label
 *         out of range); #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller owns the loader; `ids`, `offsets` and `labels` stay the caller's and must
 *            live (unchanged) until the loader is freed. Ids are not checked against a
 *            vocabulary.
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_tokens(tf_loader_t **out,
                                           tf_ctx_t *ctx,
                                           const int32_t *ids,
                                           const int64_t *offsets,
                                           int64_t num_seqs,
                                           const int32_t *labels,
                                           const tf_loader_opts_t *opts);

/**
 * @brief Padded token sequences in caller memory, zero-copy: sequence i is the first
 *        `lengths[i]` ids of row i of the (num_seqs, stride) array `ids`.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] ids Row-major (num_seqs, stride) ids.
 * @param[in] stride Row length (>= 1).
 * @param[in] lengths `num_seqs` lengths in [1, stride].
 * @param[in] num_seqs Number of sequences (>= 1).
 * @param[in] labels `num_seqs` labels, or NULL.
 * @param[in] opts Options, or NULL for the defaults.
 * @return As tf_loader_create_tokens().
 * @ownership As tf_loader_create_tokens().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_tokens_padded(tf_loader_t **out,
                                                  tf_ctx_t *ctx,
                                                  const int32_t *ids,
                                                  int32_t stride,
                                                  const int32_t *lengths,
                                                  int64_t num_seqs,
                                                  const int32_t *labels,
                                                  const tf_loader_opts_t *opts);

/**
 * @brief Numeric sequences from a CSV file: one sequence per line, comma-separated numbers
 *        (spaces around them allowed), optionally preceded by a label name when
 *        tf_loader_opts_t::has_label is 1. With F = num_features, the values are step-major:
 *        `x0f0,x0f1,...,x0fF-1,x1f0,...`, so a line holds a multiple of F numbers. NaN and
 *        infinities are rejected. Batches: features (T, B, F), lengths, labels; with
 *        `next_step`, features are steps 0..n-2 and feature targets steps 1..n-1. Features
 *        are standardised with per-feature mean and standard deviation of the loaded data
 *        unless tf_loader_set_standardization() sets other values.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] path CSV file.
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EIO;
 *         #TF_STATUS_EFORMAT (non-numeric field, wrong count, bad line, no data; naming file
 *         and line); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_loader_free().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_numeric(tf_loader_t **out,
                                            tf_ctx_t *ctx,
                                            const char *path,
                                            const tf_loader_opts_t *opts);

/**
 * @brief Numeric sequences in caller memory, zero-copy: sequence i is steps `offsets[i]` to
 *        `offsets[i+1]-1` of the (steps, F) array `values`.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] values Row-major (total steps, F) floats, all finite.
 * @param[in] offsets `num_seqs + 1` increasing step offsets starting at 0.
 * @param[in] num_seqs Number of sequences (>= 1).
 * @param[in] labels `num_seqs` labels, or NULL.
 * @param[in] opts Options (num_features = F), or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller owns the loader; the arrays stay the caller's and must outlive it.
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_numeric_memory(tf_loader_t **out,
                                                   tf_ctx_t *ctx,
                                                   const float *values,
                                                   const int64_t *offsets,
                                                   int64_t num_seqs,
                                                   const int32_t *labels,
                                                   const tf_loader_opts_t *opts);

/**
 * @brief Images from an IDX file (the MNIST format) as numeric sequences: image i of `rows` x
 *        `cols` pixels is a sequence of `rows` steps of F = `cols` features (row by row, top to
 *        bottom), labelled from an IDX label file.
 *
 * The image file has the magic 0x00000803 (unsigned bytes, 3 dimensions) and the label file
 * 0x00000801 (unsigned bytes, 1 dimension), both followed by their sizes as big-endian 32-bit
 * numbers and then exactly that many bytes of data. Files are read as they are: a
 * gzip-compressed file (as distributed) is refused with a message saying to decompress it.
 * Pixels are scaled to [0, 1] (value / 255); with tf_loader_opts_t::standardize (the default)
 * they are then standardised with one mean and one standard deviation over every pixel of the
 * loaded images, given to every feature (per-column statistics would blow up the columns that are
 * nearly always blank), so tf_loader_standardization() returns F equal pairs and
 * tf_loader_set_standardization() may set others. Labels are named by their decimal value ("0",
 * "1", ...) and numbered in increasing value, unless tf_loader_opts_t::labels fixes the names (a
 * label whose name is not among them is then an error). Which images are loaded: with
 * `max_per_class` > 0 the first `max_per_class` images of each label in file order (a
 * class-balanced subset, the same on every machine), then those of the loader's split
 * (tf_loader_opts_t::split, by a hash of each image's bytes, as a line's for text). Options
 * num_features, has_label and skip_bad_lines do not apply (a bad file always fails). Batches as
 * for tf_loader_create_numeric(). Memory: 4 bytes per pixel loaded, and the files while loading.
 * @param[out] out Receives the loader; NULL on failure.
 * @param[in] ctx Context.
 * @param[in] images IDX image file.
 * @param[in] labels IDX label file with one label per image, or NULL (unlabelled images, e.g.
 *                   for next-row pre-training with tf_loader_opts_t::next_step).
 * @param[in] max_per_class 0 for every image, or the number kept per label (needs `labels`).
 * @param[in] opts Options, or NULL for the defaults.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_EIO (cannot open or
 *         read a file); #TF_STATUS_EFORMAT (gzip-compressed, wrong magic, element type or
 *         dimension count, sizes that overflow or do not match the file's length, no images,
 *         a label count unlike the image count, an unknown label, no image in the split; naming
 *         the file); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_loader_free().
 * @threadsafety One thread at a time with `ctx` (it allocates through it).
 */
TF_API tf_status_t tf_loader_create_idx(tf_loader_t **out,
                                        tf_ctx_t *ctx,
                                        const char *images,
                                        const char *labels,
                                        int32_t max_per_class,
                                        const tf_loader_opts_t *opts);

/**
 * @brief Free a loader (and its batch). NULL is a no-op.
 * @param[in] loader The loader.
 * @ownership Takes ownership of `loader`.
 * @threadsafety One thread at a time with `loader`'s context (it allocates through it).
 */
TF_API void tf_loader_free(tf_loader_t *loader);

/**
 * @brief The next batch of the current epoch.
 * @param[out] batch Receives the batch, or NULL at the end of the epoch.
 * @param[in,out] loader The loader.
 * @return #TF_STATUS_OK (also at the end of the epoch); #TF_STATUS_EINVAL; #TF_STATUS_ENOMEM
 *         (the batch buffers grow to the longest batch seen; the position does not advance).
 * @ownership borrowed: the batch and its tensors are valid until the next call on `loader`;
 *            never pass them to tf_tensor_free().
 * @threadsafety One thread at a time with `loader`'s context (it allocates through it).
 */
TF_API tf_status_t tf_loader_next(tf_batch_t **batch, tf_loader_t *loader);

/**
 * @brief Make the loader return one shard of every batch: the same batches as before, each cut
 *        by its sequences into `count` nearly equal parts (a language-model loader's streams,
 *        a sequence loader's sequences), of which this loader returns part `index`.
 *
 * This is how the processes of a data-parallel run (tf_pretrain_opts_t::dist) share the data:
 * loaders made alike (same files, options and seed) in `count` processes, sharded with indices
 * 0 to `count` - 1, return disjoint parts that together are exactly the unsharded batches, in
 * the same order; part `index` of a batch of B sequences is sequences B * index / count to
 * B * (index + 1) / count - 1, so it may be empty (B = 0) when B < count. The training calls
 * shard their loaders themselves when they are distributed. Epochs, positions and the saved
 * state (tf_loader_export_state()) stay those of the whole batches.
 * @param[in,out] loader The loader.
 * @param[in] index This shard, 0 to `count` - 1.
 * @param[in] count Shards (1: whole batches again).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `loader`, `count` < 1 or above the batch size,
 *         `index` outside [0, `count`)).
 * @ownership Nothing changes hands.
 * @threadsafety One thread at a time with `loader`'s context.
 */
TF_API tf_status_t tf_loader_set_shard(tf_loader_t *loader, int32_t index, int32_t count);

/**
 * @brief Start the next epoch (epoch number + 1, a fresh order).
 * @param[in,out] loader The loader.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL.
 * @ownership Nothing changes hands.
 * @threadsafety One thread at a time with `loader`'s context (it allocates through it).
 */
TF_API tf_status_t tf_loader_reset(tf_loader_t *loader);

/**
 * @brief The current epoch, counted from 0.
 * @param[in] loader The loader.
 * @return The epoch, or -1 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_epoch(const tf_loader_t *loader);

/**
 * @brief Items in one epoch: sequences, or for the LM loader, windows.
 * @param[in] loader The loader.
 * @return The count (for bptt_random, of the current epoch), or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_num_items(const tf_loader_t *loader);

/**
 * @brief Items returned so far in the current epoch.
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_items_read(const tf_loader_t *loader);

/**
 * @brief Batches in the current epoch.
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_num_batches(const tf_loader_t *loader);

/**
 * @brief Fraction of the current epoch done, 0 to 1.
 * @param[in] loader The loader.
 * @return The fraction, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API double tf_loader_epoch_fraction(const tf_loader_t *loader);

/**
 * @brief Number of sequences (LM: tokens) the loader holds.
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_num_sequences(const tf_loader_t *loader);

/**
 * @brief Lines skipped as bad (tf_loader_opts_t::skip_bad_lines).
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int64_t tf_loader_skipped_lines(const tf_loader_t *loader);

/**
 * @brief Invalid UTF-8 bytes replaced by U+FFFD while loading.
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API uint64_t tf_loader_invalid_utf8(const tf_loader_t *loader);

/**
 * @brief Tokens the loader read from text (labelled and language-model loaders; the
 *        #TF_VOCAB_EOS put between lines not included; skipped lines not included).
 *
 * With tf_loader_unknown_tokens() it tells how well a vocabulary fits new data: a rising share
 * of unknown tokens means the vocabulary was built from text unlike this.
 * @param[in] loader The loader.
 * @return The count; 0 for loaders of token ids or numbers, or if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API uint64_t tf_loader_num_tokens(const tf_loader_t *loader);

/**
 * @brief How many of the tokens counted by tf_loader_num_tokens() were mapped to
 *        #TF_VOCAB_UNK (not in the vocabulary, or cut by its size limit when it was built by
 *        tf_loader_create_lm_vocab()).
 * @param[in] loader The loader.
 * @return The count (0 with a byte vocabulary), or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API uint64_t tf_loader_unknown_tokens(const tf_loader_t *loader);

/**
 * @brief Number of labels (classes); 0 for a loader without labels.
 * @param[in] loader The loader.
 * @return The count, or 0 if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_loader_num_labels(const tf_loader_t *loader);

/**
 * @brief Whether the loader gives label sets (tf_loader_create_multilabel()).
 * @param[in] loader The loader.
 * @return 1 for a multi-label loader; 0 otherwise or if `loader` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_loader_is_multilabel(const tf_loader_t *loader);

/**
 * @brief The name of label `id` (for checkpoints and for a validation loader's
 *        tf_loader_opts_t::labels).
 * @param[in] loader The loader.
 * @param[in] id 0 to num_labels-1.
 * @return A NUL-terminated name, or NULL (no names were given, or bad argument).
 * @ownership borrowed: valid until the loader is freed.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API const char *tf_loader_label_name(const tf_loader_t *loader, int32_t id);

/**
 * @brief How many of the loader's sequences carry each label (for class weights and class
 *        priors): single-label, the sequences of class c; multi-label, the sequences whose set
 *        contains label c. Counts the whole loader (its split), whatever its position.
 * @param[in] loader A labelled loader.
 * @param[out] counts Receives tf_loader_num_labels() counts.
 * @param[in] capacity Elements `counts` can hold.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a loader without labels);
 *         #TF_STATUS_EBUFSIZE (`capacity` below the label count).
 * @ownership `counts` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_loader_label_counts(const tf_loader_t *loader, int64_t *counts, size_t capacity);

/**
 * @brief Feature count F of a numeric loader.
 * @param[in] loader The loader.
 * @return F, or 0 for token loaders and NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_loader_num_features(const tf_loader_t *loader);

/**
 * @brief Copy out the per-feature standardisation of a numeric loader.
 * @param[in] loader The loader.
 * @param[out] mean Receives F means.
 * @param[out] std Receives F standard deviations (1 when standardisation is off).
 * @param[in] num_features Capacity of both arrays; must equal F.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL, not numeric); #TF_STATUS_EBUFSIZE.
 * @ownership `mean` and `std` stay the caller's; nothing is kept after the call.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_loader_standardization(const tf_loader_t *loader,
                                             float *mean,
                                             float *std,
                                             int32_t num_features);

/**
 * @brief Use given means and standard deviations (e.g. a training loader's) from now on.
 * @param[in,out] loader A numeric loader.
 * @param[in] mean F means.
 * @param[in] std F standard deviations, each finite and > 0.
 * @param[in] num_features Must equal F.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EBUFSIZE.
 * @ownership `mean` and `std` are copied and stay the caller's.
 * @threadsafety Changes `loader`; one thread at a time with its context.
 */
TF_API tf_status_t tf_loader_set_standardization(tf_loader_t *loader,
                                                 const float *mean,
                                                 const float *std,
                                                 int32_t num_features);

/**
 * @brief Save the loader's position (epoch, batch, random state) so a run can resume
 *        bit-exactly with tf_loader_import_state() on a loader made from the same data and
 *        options. The blob is a fixed-size binary record in the machine's byte order (store it
 *        as bytes, e.g. base64, and restore it on the same kind of machine).
 * @param[in] loader The loader.
 * @param[out] buf Receives the blob; NULL with `capacity` 0 only asks for the size.
 * @param[in] capacity Size of `buf`.
 * @param[out] len_out Receives the blob size (also on #TF_STATUS_EBUFSIZE).
 * @return #TF_STATUS_OK (also for the size query); #TF_STATUS_EINVAL; #TF_STATUS_EBUFSIZE
 *         (`buf` given and `capacity` below `*len_out`).
 * @ownership `buf` stays the caller's; nothing is kept after the call.
 * @threadsafety Reads `loader` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_loader_export_state(const tf_loader_t *loader,
                                          void *buf,
                                          size_t capacity,
                                          size_t *len_out);

/**
 * @brief Restore a position saved by tf_loader_export_state().
 * @param[in,out] loader A loader made from the same data and options.
 * @param[in] buf The blob.
 * @param[in] len Its size.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EFORMAT (not a state blob, or from a
 *         loader with other data); #TF_STATUS_ENOMEM. The loader is unchanged on failure.
 * @ownership `buf` is read during the call only.
 * @threadsafety Changes `loader`; one thread at a time with its context.
 */
TF_API tf_status_t tf_loader_import_state(tf_loader_t *loader, const void *buf, size_t len);

/**
 * @brief B: the number of sequences in the batch.
 * @param[in] batch The batch.
 * @return B, or 0 if `batch` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `batch` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_batch_size(const tf_batch_t *batch);

/**
 * @brief T: the number of time steps of the batch's tensors.
 * @param[in] batch The batch.
 * @return T, or 0 if `batch` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `batch` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_batch_steps(const tf_batch_t *batch);

/**
 * @brief Token ids, (T, B) i32.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (numeric batch, NULL batch).
 * @ownership borrowed: valid until the next call on the loader; do not free.
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_tokens(tf_batch_t *batch);

/**
 * @brief Next-token targets of an LM batch, (T, B) i32.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (not an LM batch).
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_targets(tf_batch_t *batch);

/**
 * @brief Sequence lengths, (B) i32, each in [1, T].
 * @param[in] batch The batch.
 * @return The tensor, or NULL for a NULL batch.
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_lengths(tf_batch_t *batch);

/**
 * @brief Labels, (B) i32.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (no labels).
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_labels(tf_batch_t *batch);

/**
 * @brief Label sets of a multi-label batch, (B, C) f32: 1 where sequence b has label c, else 0.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (not a multi-label batch).
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_label_sets(tf_batch_t *batch);

/**
 * @brief Standardised features of a numeric batch, (T, B, F) f32.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (token batch).
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_features(tf_batch_t *batch);

/**
 * @brief Next-step targets of a numeric batch (tf_loader_opts_t::next_step), (T, B, F) f32.
 * @param[in] batch The batch.
 * @return The tensor, or NULL (not a next-step batch).
 * @ownership borrowed, as tf_batch_tokens().
 * @threadsafety As the batch: one thread at a time with its loader's context.
 */
TF_API tf_tensor_t *tf_batch_feature_targets(tf_batch_t *batch);

TF_END_DECLS

#endif /* LIBTRANSFER_DATA_H */
/** @} */
