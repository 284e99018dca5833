/* SPDX-License-Identifier: MIT */
/* Private definitions of the data layer: string hash table, tokeniser, line reader, loader. */
#ifndef TF_DATA_INTERNAL_H
#define TF_DATA_INTERNAL_H

#include "../tensor/tensor_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- strtab.c: interned strings with ids 0..count-1 (NUL-terminated, in one arena) ---------- */
typedef struct tf__slot {
    uint64_t key; /* short strings whole, else a prefix (see strtab.c) */
    uint32_t hash;
    int32_t id; /* -1 = empty */
} tf__slot_t;

typedef struct tf__strtab {
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;
    uint32_t *len;
    uint32_t *hash;
    int32_t count, cap;
    tf__slot_t *slots; /* nslots entries, a power of two */
    uint32_t nslots;
} tf__strtab_t;

uint32_t tf__hash_bytes(const char *s, size_t n);
/* The slot key of a string (see strtab.c); the tokeniser computes it along with the hash. */
uint64_t tf__slot_key(const char *s, size_t n);
int32_t tf__strtab_find(const tf__strtab_t *t, const char *s, size_t n, uint32_t h);
static inline int tf__same_bytes(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Lookup with the slot key already computed (inline: it is the tokeniser's hot path). */
static inline int32_t tf__strtab_find_key(const tf__strtab_t *t, const char *s, size_t n,
                                          uint32_t h, uint64_t key)
{
    if (t->nslots == 0)
        return -1;
    uint32_t mask = t->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const tf__slot_t *sl = &t->slots[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == h && sl->key == key) {
            if (n < 7)
                return sl->id;
            if (t->len[sl->id] == n && tf__same_bytes(t->arena + t->off[sl->id], s, n))
                return sl->id;
        }
    }
}
/* Find or insert; *id_out receives the id, *added 1 if new. */
tf_status_t tf__strtab_add(tf__strtab_t *t, tf_ctx_t *ctx, const char *s, size_t n, uint32_t h,
                           int32_t *id_out, int *added);
static inline const char *tf__strtab_str(const tf__strtab_t *t, int32_t id)
{
    return t->arena + t->off[id];
}
void tf__strtab_free(tf__strtab_t *t, tf_ctx_t *ctx);

/* ---- tokenize.c: UTF-8 cleaning and word splitting ------------------------------------------ */
/* Tokens of one text: bytes (cleaned, lower-cased), and per token offset/length/hash. */
typedef struct tf__toks {
    char *bytes;
    size_t bytes_cap;
    uint32_t *off, *len, *hash;
    uint64_t *key; /* tf__slot_key of each token */
    size_t n, cap;
    int32_t *cps; /* TF__TOK_UNICODE: the normalised text (code points, then UTF-8 in place) */
    size_t cps_cap;
} tf__toks_t;

#define TF__TOK_LOWER 1u
#define TF__TOK_PUNCT 2u
#define TF__TOK_BYTES 4u /* no splitting: the cleaned text is one "token" */
/* NFKC and Unicode case folding (with TF__TOK_LOWER) through utf8proc, and non-ASCII characters
 * classed by Unicode category; without it, non-ASCII bytes are word bytes (format 1 vocabularies) */
#define TF__TOK_UNICODE 8u
/* A token after whitespace starts with one space byte (BPE pre-tokens, so decoding restores the
 * spaces); the first token of a text never does. */
#define TF__TOK_SPACE 16u

/* Split `s` into tokens; returns ENOMEM; *invalid is increased by replaced bytes. */
tf_status_t tf__tokenize(tf__toks_t *tk, tf_ctx_t *ctx, const char *s, size_t n, uint32_t flags,
                         uint64_t *invalid);
void tf__toks_free(tf__toks_t *tk, tf_ctx_t *ctx);

/* ---- vocab.c --------------------------------------------------------------------------------- */
struct tf_vocab {
    tf_ctx_t *ctx;
    int32_t kind, lowercase, split_punct;
    int32_t unicode; /* 1: TF__TOK_UNICODE (every vocabulary built now); 0: read from format 1 */
    tf__strtab_t tab;
    /* BPE: merge rank r is the pair of ids stored as the 8 bytes of merge_tab string r (left,
     * right), and makes token merge_out[r] */
    tf__strtab_t merge_tab;
    int32_t *merge_out;
    size_t merge_cap;
    uint64_t invalid_utf8;
    tf__toks_t scratch;
};
tf_status_t tf__vocab_new(tf_vocab_t **out, tf_ctx_t *ctx, int32_t kind, int32_t lowercase,
                          int32_t split_punct, int32_t unicode);
/* Tokeniser flags of a vocabulary built now with options `o`. */
uint32_t tf__vocab_build_flags(const tf_vocab_opts_t *o);
/* Tokeniser flags of vocabulary `v` (its own rules, also for one read from an older format). */
uint32_t tf__vocab_tok_flags(const tf_vocab_t *v);
/* Append the ids of `s` to *ids (growable array of *n, capacity *cap); unknown -> UNK, counted
 * in *unknown (may be NULL). The array belongs to `owner` (the loader's context, which may differ
 * from the vocabulary's). */
tf_status_t tf__vocab_encode_append(tf_vocab_t *v, tf_ctx_t *owner, const char *s, size_t n,
                                    int32_t **ids, size_t *num, size_t *cap, uint64_t *invalid,
                                    uint64_t *unknown);
/* ---- bpe.c ----------------------------------------------------------------------------------- */
/* Longest BPE token, in bytes; longer pre-tokens are encoded (and trained on) in chunks of this
 * size, which also bounds the work of encoding one. */
#define TF__BPE_MAX_PIECE 64
/* Append merge (l, r) as the next rank: its token is found or added. EFORMAT (naming `fn` and
 * `line`) for ids out of range, a token over TF__BPE_MAX_PIECE bytes, a special's spelling or a
 * repeated pair. */
tf_status_t tf__bpe_add_merge(tf_vocab_t *v, int32_t l, int32_t r, const char *fn, long line);
void tf__bpe_merge(const tf_vocab_t *v, int32_t rank, int32_t *left, int32_t *right);
int32_t tf__bpe_num_merges(const tf_vocab_t *v);
/* Append the pieces of one pre-token (growable array of the context `owner`). */
tf_status_t tf__bpe_encode(const tf_vocab_t *v, tf_ctx_t *owner, const char *s, size_t n,
                           int32_t **ids, size_t *num, size_t *cap);
struct tf__counter;
/* Learn merges from the counted pre-tokens until the vocabulary has o->max_size tokens (0: no
 * limit) or no pair is seen max(2, o->min_count) times. */
tf_status_t tf__bpe_train(tf_vocab_t *v, const struct tf__counter *c, const tf_vocab_opts_t *o);

/* Token counting for building word vocabularies. */
typedef struct tf__counter {
    tf_ctx_t *ctx;
    tf__strtab_t tab;
    int64_t *counts;
    size_t counts_cap;
    tf__toks_t tk;
    uint32_t flags;
    uint64_t invalid;
} tf__counter_t;
tf_status_t tf__vocab_read_opts(tf_vocab_opts_t *o, const tf_vocab_opts_t *opts, const char *fn);
/* Count the tokens of a text; with `ids`, also append their counter ids (growable array). */
tf_status_t tf__counter_text(tf__counter_t *c, const char *s, size_t n, int32_t **ids,
                             size_t *num, size_t *cap);
/* Count the tokens of every line of the files (`count` 0: only read them, checking they can be
 * read); errors name `fn`. */
tf_status_t tf__counter_files(tf__counter_t *c, const char *const *paths, uint32_t num_paths,
                              int32_t count, const char *fn);
tf_status_t tf__counter_finish(tf__counter_t *c, const tf_vocab_opts_t *o, tf_vocab_t **out,
                               const char *fn);
void tf__counter_free(tf__counter_t *c);

/* ---- vocab_extend.c ---------------------------------------------------------------------------- */
/* A new vocabulary: word vocabulary `base` (ids unchanged), then the words of the files it lacks,
 * counted with its own tokenisation rules, seen at least `min_count` times, most frequent first
 * (ties in byte order), until it holds `max_size` tokens (0: no limit). *added receives how many
 * were appended. Errors name `fn`. */
tf_status_t tf__vocab_extend_files(const tf_vocab_t *base, const char *const *paths,
                                   uint32_t num_paths, int32_t min_count, int32_t max_size,
                                   const char *fn, tf_vocab_t **out, int32_t *added);

/* ---- lines.c: line reader over a file or memory ---------------------------------------------- */
typedef struct tf__lines {
    tf_ctx_t *ctx;
    const char *name; /* for messages */
    const char *fn;   /* public function, for messages */
    FILE *f;
    const char *mem;
    size_t mem_len, mem_pos;
    char *buf;
    size_t cap, beg, end, scan;
    int64_t lineno;
    int eof;
} tf__lines_t;

tf_status_t tf__lines_open_file(tf__lines_t *lr, tf_ctx_t *ctx, const char *path, const char *fn);
void tf__lines_open_mem(tf__lines_t *lr, tf_ctx_t *ctx, const char *name, const char *data,
                        size_t len, const char *fn);
/* OK with *line set (never NULL-terminated; CR stripped) or *line NULL at the end; EFORMAT for a
 * bad line (too long, NUL byte), which is consumed, so the caller may skip it; EIO. */
tf_status_t tf__lines_next(tf__lines_t *lr, const char **line, size_t *len);
void tf__lines_close(tf__lines_t *lr);
/* The whole of a file of at most `max` bytes, NUL-terminated, in memory of ctx (free with
 * tf__free); EIO naming `fn` and the file. */
tf_status_t tf__read_file(tf_ctx_t *ctx, const char *path, size_t max, char **buf, size_t *len,
                          const char *fn);
/* One number field [s, e), blanks around it allowed; 0 if it is not a finite number. */
int tf__parse_float(const char *s, const char *e, float *out);
/* The split rule: 1 if the line belongs to `split` for the fraction. */
int tf__line_in_split(const char *line, size_t len, double valid_fraction, int32_t split);

/* ---- loaders ------------------------------------------------------------------------------- */
/* The kinds' numbers, written in state blobs: never renumber. */
enum { TF__LOADER_LM = 1, TF__LOADER_SEQ = 2, TF__LOADER_NUM = 3 };

struct tf_batch {
    int32_t T, B, F;
    int32_t has_tokens, has_targets, has_labels, has_features, has_ftargets, has_label_sets;
    struct tf_tensor tokens, targets, lengths, labels, features, ftargets, label_sets;
};

/* Sequences of the sequence kinds (labelled text, token arrays, numeric): lengths, labels, the
 * epoch's order (seqs.c). */
typedef struct tf__seqs {
    int64_t n;
    const int64_t *off;    /* sequence i is [off[i], off[i+1]) of the kind's data, or */
    const int32_t *len;    /* (off NULL) the first len[i] items of row i */
    const int32_t *labels; /* one id per sequence, or NULL */
    /* multi-label: sequence i has the label ids lset_ids[lset_off[i] .. lset_off[i+1]) */
    int32_t multilabel;
    int32_t *lset_ids;
    int64_t *lset_off;
    size_t nlset, lset_cap, lset_off_cap;
    /* read from a file: offsets and labels owned (tf__seqs_own_begin, tf__seqs_add) */
    int64_t *own_off;
    int32_t *own_labels;
    size_t own_cap;
    int64_t *order; /* 2n: the epoch's permutation, then merge-sort scratch */
    int32_t *b_lab; /* batch buffers */
    float *b_lset;
    size_t b_lset_cap;
} tf__seqs_t;

static inline int64_t tf__seqs_len(const tf__seqs_t *s, int64_t i)
{
    return s->off != NULL ? s->off[i + 1] - s->off[i] : s->len[i];
}

/* What a kind of loader does; the shared part (loader.c, batch.c) calls nothing else of it. */
typedef struct tf__loader_ops {
    int32_t kind;      /* TF__LOADER_*: in state blobs */
    size_t state_size; /* the kind's state, allocated zeroed as l->state */
    /* Sequences held (LM: tokens): tf_loader_num_sequences, and checked by state blobs. */
    int64_t (*num_sequences)(const tf_loader_t *l);
    /* Once, after the data is read: set l->bcap (batches per epoch at most) and allocate what
     * plan_epoch needs. */
    tf_status_t (*prepare)(tf_loader_t *l, const char *fn);
    /* Lay out an epoch from l->rng: bstart/blen/nbatches and nitems_epoch; never allocates. */
    void (*plan_epoch)(tf_loader_t *l);
    /* Fill l->batch from plan entry (start, count) and add its items to l->items_read. */
    tf_status_t (*fill)(tf_loader_t *l, int64_t start, int32_t count);
    /* The kind's sequences (labels, label sets), or NULL (the op itself may be NULL). */
    tf__seqs_t *(*seqs)(const tf_loader_t *l);
    /* Free what the state owns (the shared part frees the state itself). */
    void (*free)(tf_loader_t *l);
} tf__loader_ops_t;

struct tf_loader {
    tf_ctx_t *ctx;
    const tf__loader_ops_t *ops;
    void *state; /* the kind's */
    tf_loader_opts_t o;
    tf__rng_t rng, rng_epoch_start;
    int64_t epoch, pos, items_read;
    /* the epoch's batches, from the kind's plan_epoch: LM: start position and window length;
     * sequence kinds: start in the order and count */
    int64_t *bstart;
    int32_t *blen;
    int64_t nbatches, bcap;
    int64_t nitems_epoch;
    /* labels: fixed by the options, or named by the data of the kinds that read them */
    tf__strtab_t labels;
    tf__toks_t scratch; /* label cleaning */
    int32_t num_labels, fixed_labels;
    /* what reading the data found */
    int64_t skipped;
    uint64_t invalid_utf8;
    uint64_t text_tokens, unknown_tokens; /* tokens read from text, and those mapped to UNK */
    int32_t *b_len;                       /* the batch's lengths (every kind has them) */
    tf_batch_t batch;
    int32_t shard_index, shard_count;     /* tf_loader_set_shard; count 1: whole batches */
};

/* Part `index` of `count` of n items: [*lo, *hi). */
static inline void tf__shard_range(int64_t n, int32_t index, int32_t count, int64_t *lo, int64_t *hi)
{
    *lo = n * index / count;
    *hi = n * (index + 1) / count;
}

/* A loader of kind `ops` with validated options, fixed labels installed and a zeroed state. */
tf_status_t tf__loader_new(tf_loader_t **out, tf_ctx_t *ctx, const tf__loader_ops_t *ops,
                           const tf_loader_opts_t *opts, const char *fn);
/* After the data is read: the kind's prepare, the batch plan, warnings about the data, epoch 0.
 * Frees nothing on failure (the caller frees). */
tf_status_t tf__loader_finish(tf_loader_t *l, const char *fn);
/* Shuffle the epoch's batches (bstart/blen pairs) with the loader's RNG. */
void tf__loader_shuffle_plan(tf_loader_t *l);
/* Report a bad line: fail, or (skip_bad_lines) count, log and return OK. The message of the
 * failing reader or parser is already recorded when `st` is not OK. */
tf_status_t tf__loader_bad_line(tf_loader_t *l, tf_status_t st);
/* Install fixed labels from the options. */
tf_status_t tf__loader_fixed_labels(tf_loader_t *l, const char *fn);
/* Label id of a name from a data line: fixed set -> -1 if absent; else added. */
tf_status_t tf__loader_label_id(tf_loader_t *l, const char *s, size_t n, int32_t *id);
/* Renumber labels found in data into byte order of their names. */
tf_status_t tf__loader_sort_labels(tf_loader_t *l, int32_t *labels, int64_t n);
/* A batch tensor viewing loader memory (4-byte elements); inline: every batch sets several. */
static inline void tf__batch_view(struct tf_tensor *t, tf_ctx_t *ctx, int32_t dtype, void *data,
                                  uint32_t ndim, int64_t d0, int64_t d1, int64_t d2)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->dtype = dtype;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->shape[2] = d2;
    t->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
    t->nbytes = (size_t)t->numel * 4;
    t->data = data;
    t->owned = 0;
    t->requires_grad = 0;
}

/* ---- seqs.c: the part of the sequence kinds they share ------------------------------------- */
/* Start owning offsets and labels (files): the fixed-labels check and the first entries. */
tf_status_t tf__seqs_own_begin(tf_loader_t *l, tf__seqs_t *s, const char *fn);
/* Append an owned sequence with `label` that ends at `end` in the kind's data. */
tf_status_t tf__seqs_add(tf_loader_t *l, tf__seqs_t *s, int32_t label, int64_t end);
/* The ops of every sequence kind: the sequence count, a plan of n batches at most and its
 * order, and the epoch (shuffle, buckets of similar lengths, batches of batch_size). */
int64_t tf__seqs_num_sequences(const tf_loader_t *l);
tf_status_t tf__seqs_prepare(tf_loader_t *l, const char *fn);
void tf__seqs_plan_epoch(tf_loader_t *l);
/* The shared part of a batch of sequences items[0..B): lengths (clipped to max_len, after
 * dropping `trim` final steps), labels or label sets, and the batch view reset with T and B;
 * *T receives the longest length. The kind fills its data and adds B to items_read. */
tf_status_t tf__seqs_fill(tf_loader_t *l, tf__seqs_t *s, const int64_t *items, int32_t B,
                          int32_t trim, int64_t *T);
void tf__seqs_free(tf_ctx_t *ctx, tf__seqs_t *s);

/* Memory entry points for text formats (used by the file loaders and the fuzz targets). */
/* `multilabel`: the label field is a comma-separated set of names (tf_loader_create_multilabel). */
tf_status_t tf__loader_labeled_from(tf_loader_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab,
                                    tf__lines_t *lr, const tf_loader_opts_t *opts,
                                    int32_t multilabel, const char *fn);
tf_status_t tf__loader_numeric_from(tf_loader_t **out, tf_ctx_t *ctx, tf__lines_t *lr,
                                    const tf_loader_opts_t *opts, const char *fn);

/* A numeric loader built by another reader (loader_idx.c): begin with F features, reserve room
 * for the values to come (optional), append sequences, end. append hands out room for `steps` x F
 * values to fill; end makes the labels the batches' (`labelled`), the standardisation (`pooled`:
 * one mean and deviation over all values, for every feature) and the plan. On failure the caller
 * frees the loader with tf_loader_free(). */
tf_status_t tf__loader_numeric_begin(tf_loader_t **out, tf_ctx_t *ctx, const tf_loader_opts_t *opts,
                                     int32_t F, const char *fn);
tf_status_t tf__loader_numeric_reserve(tf_loader_t *l, size_t nvals, const char *fn);
tf_status_t tf__loader_numeric_append(tf_loader_t *l, int64_t steps, int32_t label, float **dst);
tf_status_t tf__loader_numeric_end(tf_loader_t *l, int labelled, int pooled, const char *fn);
/* IDX images (and labels, or NULL) in memory; `max_per_class` as tf_loader_create_idx(). */
tf_status_t tf__loader_idx_from(tf_loader_t **out, tf_ctx_t *ctx, const char *img_name,
                                const unsigned char *img, size_t img_len, const char *lab_name,
                                const unsigned char *lab, size_t lab_len, int32_t max_per_class,
                                const tf_loader_opts_t *opts, const char *fn);

#endif
