/* SPDX-License-Identifier: MIT */
/* Byte-level BPE: merges (a pair of token ids and the token they make), encoding a pre-token by
 * lowest-rank merges first, and training from counted pre-tokens. Pair counts are kept up to
 * date as words change, with a lazy max-heap to pick the next merge and, per pair, a list of the
 * words that have held it, so each merge touches only the words it changes. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

static void pair_bytes(int32_t l, int32_t r, char key[8])
{
    memcpy(key, &l, 4);
    memcpy(key + 4, &r, 4);
}

static int32_t merge_rank(const tf_vocab_t *v, int32_t l, int32_t r)
{
    char key[8];
    pair_bytes(l, r, key);
    return tf__strtab_find(&v->merge_tab, key, 8, tf__hash_bytes(key, 8));
}

void tf__bpe_merge(const tf_vocab_t *v, int32_t rank, int32_t *left, int32_t *right)
{
    const char *key = tf__strtab_str(&v->merge_tab, rank);
    memcpy(left, key, 4);
    memcpy(right, key + 4, 4);
}

int32_t tf__bpe_num_merges(const tf_vocab_t *v)
{
    return v->merge_tab.count;
}

/* The id of the token spelled `s`, if it is a special; -1 otherwise. */
static int32_t special_id(const tf_vocab_t *v, const char *s, size_t n)
{
    int32_t id = tf__strtab_find(&v->tab, s, n, tf__hash_bytes(s, n));
    return id >= 0 && id < TF_VOCAB_NUM_SPECIALS ? id : -1;
}

tf_status_t tf__bpe_add_merge(tf_vocab_t *v, int32_t l, int32_t r, const char *fn, long line)
{
    char buf[TF__BPE_MAX_PIECE], key[8];
    int32_t n = v->tab.count, out, rank;
    int added;
    if (l < TF_VOCAB_NUM_SPECIALS || r < TF_VOCAB_NUM_SPECIALS || l >= n || r >= n)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: merge %d %d refers to a token that does not "
                "exist yet (ids %d to %d)", fn, line, l, r, TF_VOCAB_NUM_SPECIALS, n - 1);
    size_t ll = v->tab.len[l], rl = v->tab.len[r];
    if (ll + rl > TF__BPE_MAX_PIECE)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: merge %d %d makes a token of %zu bytes; the "
                "limit is %d", fn, line, l, r, ll + rl, TF__BPE_MAX_PIECE);
    memcpy(buf, tf__strtab_str(&v->tab, l), ll);
    memcpy(buf + ll, tf__strtab_str(&v->tab, r), rl);
    if (special_id(v, buf, ll + rl) >= 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: merge %d %d spells a special token", fn, line,
                l, r);
    pair_bytes(l, r, key);
    if (merge_rank(v, l, r) >= 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: line %ld: merge %d %d is given twice", fn, line, l, r);
    /* Room first, so a failure leaves the tables as they were. */
    TF_CHECK(tf__grow_i32(v->ctx, &v->merge_out, &v->merge_cap, (size_t)v->merge_tab.count + 1));
    TF_CHECK(tf__strtab_add(&v->tab, v->ctx, buf, ll + rl, tf__hash_bytes(buf, ll + rl), &out,
                            &added));
    TF_CHECK(tf__strtab_add(&v->merge_tab, v->ctx, key, 8, tf__hash_bytes(key, 8), &rank, &added));
    v->merge_out[rank] = out;
    return TF_STATUS_OK;
}

/* Replace every (l, r) in sym[0..m), left to right without overlap, by o; returns the new length. */
static size_t replace_pair(int32_t *sym, size_t m, int32_t l, int32_t r, int32_t o)
{
    size_t j = 0;
    for (size_t i = 0; i < m;) {
        if (i + 1 < m && sym[i] == l && sym[i + 1] == r) {
            sym[j++] = o;
            i += 2;
        } else {
            sym[j++] = sym[i++];
        }
    }
    return j;
}

/* Apply the merges to one chunk: repeatedly the lowest-rank pair present, everywhere. */
static size_t apply_merges(const tf_vocab_t *v, int32_t *sym, size_t m)
{
    while (m > 1) {
        int32_t best = -1;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t rank = merge_rank(v, sym[i], sym[i + 1]);
            if (rank >= 0 && (best < 0 || rank < best))
                best = rank;
        }
        if (best < 0)
            break;
        int32_t l, r;
        tf__bpe_merge(v, best, &l, &r);
        m = replace_pair(sym, m, l, r, v->merge_out[best]);
    }
    return m;
}

tf_status_t tf__bpe_encode(const tf_vocab_t *v, tf_ctx_t *owner, const char *s, size_t n,
                           int32_t **ids, size_t *num, size_t *cap)
{
    TF_CHECK(tf__grow_i32(owner, ids, cap, *num + n));
    int32_t *out = *ids + *num;
    size_t total = 0;
    for (size_t c = 0; c < n; c += TF__BPE_MAX_PIECE) {
        size_t m = n - c < TF__BPE_MAX_PIECE ? n - c : TF__BPE_MAX_PIECE;
        int32_t *sym = out + total;
        for (size_t i = 0; i < m; i++)
            sym[i] = TF_VOCAB_NUM_SPECIALS + (unsigned char)s[c + i];
        total += apply_merges(v, sym, m);
    }
    *num += total;
    return TF_STATUS_OK;
}

/* ---- training -------------------------------------------------------------------------------- */

/* A pair's running count (over all words, each weighted by its count), the head of its list of
 * words, and whether it was refused (it would spell a special). Key 0 is an empty slot. */
typedef struct pair_slot {
    uint64_t key;
    int64_t count;
    int32_t head, banned;
} pair_slot_t;

typedef struct heap_entry {
    int64_t count;
    uint64_t key;
} heap_entry_t;

typedef struct trainer {
    tf_ctx_t *ctx;
    pair_slot_t *slots;
    size_t nslots, used;
    heap_entry_t *heap;
    size_t nheap, heap_cap;
    int32_t *lword, *lnext; /* list nodes: a word, the next node (-1 ends) */
    size_t nlinks, lword_cap, lnext_cap;
    int32_t *sym;    /* every word's symbols, word w at woff[w] */
    size_t *woff;
    int32_t *wlen, *wstamp;
    int64_t *wcount;
    size_t nwords;
} trainer_t;

static uint64_t pair_key(int32_t l, int32_t r)
{
    return ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
}

static size_t slot_of(const trainer_t *t, uint64_t key)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    size_t mask = t->nslots - 1, i = (size_t)h & mask;
    while (t->slots[i].key != 0 && t->slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

/* The slot of a pair, added with count 0 if new. */
static tf_status_t pair_get(trainer_t *t, uint64_t key, size_t *out)
{
    if ((t->used + 1) * 2 > t->nslots) {
        size_t n = t->nslots ? t->nslots * 2 : 1024, bytes;
        pair_slot_t *old = t->slots;
        size_t old_n = t->nslots;
        if (!tf__mul_size(n, sizeof *old, &bytes))
            return TF_STATUS_ENOMEM;
        pair_slot_t *s = tf__calloc(t->ctx, n, sizeof *s);
        if (s == NULL)
            return TF_STATUS_ENOMEM;
        t->slots = s;
        t->nslots = n;
        for (size_t i = 0; i < old_n; i++)
            if (old[i].key != 0)
                t->slots[slot_of(t, old[i].key)] = old[i];
        tf__free(t->ctx, old);
    }
    size_t i = slot_of(t, key);
    if (t->slots[i].key == 0) {
        t->slots[i].key = key;
        t->slots[i].count = 0;
        t->slots[i].head = -1;
        t->slots[i].banned = 0;
        t->used++;
    }
    *out = i;
    return TF_STATUS_OK;
}

/* Heap order: larger count first, then the smaller (left, right) pair. */
static int before(const heap_entry_t *a, const heap_entry_t *b)
{
    return a->count > b->count || (a->count == b->count && a->key < b->key);
}

static tf_status_t heap_push(trainer_t *t, int64_t count, uint64_t key)
{
    void *p = t->heap;
    TF_CHECK(tf__grow_bytes(t->ctx, &p, &t->heap_cap, t->nheap + 1, sizeof *t->heap));
    t->heap = p;
    size_t i = t->nheap++;
    heap_entry_t e = {count, key};
    while (i > 0 && before(&e, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = e;
    return TF_STATUS_OK;
}

static heap_entry_t heap_pop(trainer_t *t)
{
    heap_entry_t top = t->heap[0], last = t->heap[--t->nheap];
    size_t i = 0, n = t->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&t->heap[c + 1], &t->heap[c]))
            c++;
        if (!before(&t->heap[c], &last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n > 0)
        t->heap[i] = last;
    return top;
}

/* Note that word w holds the pair in slot i (once per word in a row). */
static tf_status_t link_word(trainer_t *t, size_t i, int32_t w)
{
    int32_t head = t->slots[i].head;
    if (head >= 0 && t->lword[head] == w)
        return TF_STATUS_OK;
    if (t->nlinks >= (size_t)INT32_MAX)
        TF_FAIL(TF_STATUS_EOVERFLOW, "BPE training: too many pair occurrences");
    TF_CHECK(tf__grow_i32(t->ctx, &t->lword, &t->lword_cap, t->nlinks + 1));
    TF_CHECK(tf__grow_i32(t->ctx, &t->lnext, &t->lnext_cap, t->nlinks + 1));
    t->lword[t->nlinks] = w;
    t->lnext[t->nlinks] = head;
    t->slots[i].head = (int32_t)t->nlinks++;
    return TF_STATUS_OK;
}

/* Add sign * count of word w to each of its pairs; with sign > 0, pairs holding `fresh` (a new
 * token) are linked to w and pushed, as their counts only grow here. */
static tf_status_t count_pairs(trainer_t *t, size_t w, int64_t sign, int32_t fresh)
{
    const int32_t *s = t->sym + t->woff[w];
    for (int32_t k = 0; k + 1 < t->wlen[w]; k++) {
        size_t i;
        TF_CHECK(pair_get(t, pair_key(s[k], s[k + 1]), &i));
        t->slots[i].count += sign * t->wcount[w];
        if (sign > 0 && (fresh < 0 || s[k] == fresh || s[k + 1] == fresh)) {
            TF_CHECK(link_word(t, i, (int32_t)w));
            if (fresh >= 0)
                TF_CHECK(heap_push(t, t->slots[i].count, t->slots[i].key));
        }
    }
    return TF_STATUS_OK;
}

/* The words: every counted pre-token cut into chunks of at most TF__BPE_MAX_PIECE bytes. */
static tf_status_t make_words(trainer_t *t, const tf__counter_t *c)
{
    size_t nsym = 0, nw = 0;
    for (int32_t i = 0; i < c->tab.count; i++) {
        nsym += c->tab.len[i];
        nw += (c->tab.len[i] + TF__BPE_MAX_PIECE - 1) / TF__BPE_MAX_PIECE;
    }
    if (nw >= (size_t)INT32_MAX)
        TF_FAIL(TF_STATUS_EOVERFLOW, "BPE training: too many distinct words");
    size_t b1, b2, b3;
    if (!tf__mul_size(nsym + 1, sizeof *t->sym, &b1) || !tf__mul_size(nw + 1, sizeof *t->woff, &b2) ||
        !tf__mul_size(nw + 1, sizeof *t->wcount, &b3))
        return TF_STATUS_ENOMEM;
    t->sym = tf__alloc(t->ctx, b1);
    t->woff = tf__alloc(t->ctx, b2);
    t->wcount = tf__alloc(t->ctx, b3);
    t->wlen = tf__alloc(t->ctx, (nw + 1) * sizeof *t->wlen);
    t->wstamp = tf__alloc(t->ctx, (nw + 1) * sizeof *t->wstamp);
    if (t->sym == NULL || t->woff == NULL || t->wcount == NULL || t->wlen == NULL ||
        t->wstamp == NULL)
        return TF_STATUS_ENOMEM;
    size_t o = 0;
    for (int32_t i = 0; i < c->tab.count; i++) {
        const unsigned char *s = (const unsigned char *)tf__strtab_str(&c->tab, i);
        size_t len = c->tab.len[i];
        for (size_t k = 0; k < len; k += TF__BPE_MAX_PIECE) {
            size_t m = len - k < TF__BPE_MAX_PIECE ? len - k : TF__BPE_MAX_PIECE;
            t->woff[t->nwords] = o;
            t->wlen[t->nwords] = (int32_t)m;
            t->wcount[t->nwords] = c->counts[i];
            t->wstamp[t->nwords] = -1;
            for (size_t j = 0; j < m; j++)
                t->sym[o++] = TF_VOCAB_NUM_SPECIALS + s[k + j];
            t->nwords++;
        }
    }
    return TF_STATUS_OK;
}

static int word_has_pair(const trainer_t *t, size_t w, int32_t l, int32_t r)
{
    const int32_t *s = t->sym + t->woff[w];
    for (int32_t k = 0; k + 1 < t->wlen[w]; k++)
        if (s[k] == l && s[k + 1] == r)
            return 1;
    return 0;
}

/* The next pair to merge: the largest count of at least `floor`, ties to the smaller pair; a
 * stale heap entry (its count changed since) goes back with the current count. 0 if none. */
static tf_status_t next_pair(trainer_t *t, tf_vocab_t *v, int64_t floor, uint64_t *key_out)
{
    while (t->nheap > 0) {
        heap_entry_t e = heap_pop(t);
        pair_slot_t *p = &t->slots[slot_of(t, e.key)];
        if (p->banned || p->count < floor)
            continue;
        if (p->count != e.count) {
            TF_CHECK(heap_push(t, p->count, e.key));
            continue;
        }
        int32_t l = (int32_t)(e.key >> 32), r = (int32_t)(e.key & 0xffffffffu);
        size_t ll = v->tab.len[l], rl = v->tab.len[r];
        char buf[TF__BPE_MAX_PIECE];
        memcpy(buf, tf__strtab_str(&v->tab, l), ll);
        memcpy(buf + ll, tf__strtab_str(&v->tab, r), rl);
        if (special_id(v, buf, ll + rl) >= 0) {
            p->banned = 1; /* never merged: the token would read as a special */
            continue;
        }
        *key_out = e.key;
        return TF_STATUS_OK;
    }
    *key_out = 0;
    return TF_STATUS_OK;
}

static void trainer_free(trainer_t *t)
{
    tf__free(t->ctx, t->slots);
    tf__free(t->ctx, t->heap);
    tf__free(t->ctx, t->lword);
    tf__free(t->ctx, t->lnext);
    tf__free(t->ctx, t->sym);
    tf__free(t->ctx, t->woff);
    tf__free(t->ctx, t->wlen);
    tf__free(t->ctx, t->wstamp);
    tf__free(t->ctx, t->wcount);
}

static tf_status_t train(trainer_t *t, tf_vocab_t *v, const tf__counter_t *c,
                         const tf_vocab_opts_t *o)
{
    int64_t floor = o->min_count > 2 ? o->min_count : 2;
    TF_CHECK(make_words(t, c));
    for (size_t w = 0; w < t->nwords; w++)
        TF_CHECK(count_pairs(t, w, 1, -1));
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i].key != 0)
            TF_CHECK(heap_push(t, t->slots[i].count, t->slots[i].key));
    while (o->max_size == 0 || v->tab.count < o->max_size) {
        uint64_t key;
        TF_CHECK(next_pair(t, v, floor, &key));
        if (key == 0)
            break;
        int32_t l = (int32_t)(key >> 32), r = (int32_t)(key & 0xffffffffu);
        TF_CHECK(tf__bpe_add_merge(v, l, r, "BPE training", 0));
        int32_t rank = v->merge_tab.count - 1, fresh = v->merge_out[rank];
        /* The list may grow while it is walked: new nodes go to the heads of other pairs. */
        for (int32_t it = t->slots[slot_of(t, key)].head; it >= 0; it = t->lnext[it]) {
            size_t w = (size_t)t->lword[it];
            if (t->wstamp[w] == rank || !word_has_pair(t, w, l, r))
                continue;
            t->wstamp[w] = rank;
            TF_CHECK(count_pairs(t, w, -1, -1));
            t->wlen[w] = (int32_t)replace_pair(t->sym + t->woff[w], (size_t)t->wlen[w], l, r,
                                               fresh);
            TF_CHECK(count_pairs(t, w, 1, fresh));
        }
    }
    return TF_STATUS_OK;
}

tf_status_t tf__bpe_train(tf_vocab_t *v, const tf__counter_t *c, const tf_vocab_opts_t *o)
{
    trainer_t t;
    memset(&t, 0, sizeof t);
    t.ctx = c->ctx;
    tf_status_t st = train(&t, v, c, o);
    trainer_free(&t);
    return st;
}
