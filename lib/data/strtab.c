/* SPDX-License-Identifier: MIT */
/* Interned strings: an open-addressing hash table (linear probing) over one byte arena. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

uint32_t tf__hash_bytes(const char *s, size_t n)
{
    /* Eight bytes at a time, multiply-xorshift mixing: tokens are short, so this is a few
     * multiplications per token instead of one per byte. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL), w;
    while (n >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        w = 0;
        for (size_t k = 0; k < n; k++)
            w |= (uint64_t)(unsigned char)s[k] << (8 * k);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebULL;
    return (uint32_t)(h >> 32);
}


/* The slot key: strings of up to 7 bytes are stored whole (bytes, then the length in the top
 * byte), so most lookups touch only the slot; longer strings keep 7 bytes and 0xff on top. */
uint64_t tf__slot_key(const char *s, size_t n)
{
    uint64_t k = 0;
    size_t m = n < 7 ? n : 7;
    for (size_t i = 0; i < m; i++)
        k |= (uint64_t)(unsigned char)s[i] << (8 * i);
    return k | ((uint64_t)(n < 7 ? n : 0xff) << 56);
}

int32_t tf__strtab_find(const tf__strtab_t *t, const char *s, size_t n, uint32_t h)
{
    return tf__strtab_find_key(t, s, n, h, tf__slot_key(s, n));
}

static void slot_put(tf__slot_t *slots, uint32_t nslots, uint64_t key, uint32_t h, int32_t id)
{
    uint32_t i = h & (nslots - 1);
    while (slots[i].id >= 0)
        i = (i + 1) & (nslots - 1);
    slots[i].key = key;
    slots[i].hash = h;
    slots[i].id = id;
}

static tf_status_t rehash(tf__strtab_t *t, tf_ctx_t *ctx, uint32_t nslots)
{
    tf__slot_t *slots = tf__alloc(ctx, (size_t)nslots * sizeof *slots);
    if (slots == NULL)
        return TF_STATUS_ENOMEM;
    memset(slots, 0xff, (size_t)nslots * sizeof *slots);
    for (int32_t id = 0; id < t->count; id++)
        slot_put(slots, nslots, tf__slot_key(t->arena + t->off[id], t->len[id]), t->hash[id], id);
    tf__free(ctx, t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return TF_STATUS_OK;
}

tf_status_t tf__strtab_add(tf__strtab_t *t, tf_ctx_t *ctx, const char *s, size_t n, uint32_t h,
                           int32_t *id_out, int *added)
{
    int32_t id = tf__strtab_find(t, s, n, h);
    *added = 0;
    if (id >= 0) {
        *id_out = id;
        return TF_STATUS_OK;
    }
    if (n > UINT32_MAX || t->count == INT32_MAX - 1)
        TF_FAIL(TF_STATUS_EOVERFLOW, "data: too many or too long strings in a table");
    /* Keep the load factor at most 1/2. */
    if ((uint32_t)(t->count + 1) * 2 > t->nslots) {
        if (t->nslots >= (1u << 30))
            TF_FAIL(TF_STATUS_EOVERFLOW, "data: string table is full");
        TF_CHECK(rehash(t, ctx, t->nslots ? t->nslots * 2 : 64));
    }
    if (t->count == t->cap) {
        size_t c1 = (size_t)t->cap, c2 = c1, c3 = c1;
        void *p1 = t->off, *p2 = t->len, *p3 = t->hash;
        /* Grow the three arrays together; any failure leaves the table consistent. */
        TF_CHECK(tf__grow_bytes(ctx, &p1, &c1, c1 + 1, sizeof(size_t)));
        t->off = p1;
        TF_CHECK(tf__grow_bytes(ctx, &p2, &c2, c1, sizeof(uint32_t)));
        t->len = p2;
        TF_CHECK(tf__grow_bytes(ctx, &p3, &c3, c1, sizeof(uint32_t)));
        t->hash = p3;
        t->cap = (int32_t)(c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3));
        if (t->cap > INT32_MAX / 2)
            t->cap = INT32_MAX / 2;
    }
    size_t need;
    if (!tf__add_size(t->arena_len, n + 1, &need))
        TF_FAIL(TF_STATUS_ENOMEM, "data: string table is too large");
    void *a = t->arena;
    TF_CHECK(tf__grow_bytes(ctx, &a, &t->arena_cap, need, 1));
    t->arena = a;
    id = t->count++;
    t->off[id] = t->arena_len;
    t->len[id] = (uint32_t)n;
    t->hash[id] = h;
    if (n > 0)
        memcpy(t->arena + t->arena_len, s, n);
    t->arena[t->arena_len + n] = '\0';
    t->arena_len = need;
    slot_put(t->slots, t->nslots, tf__slot_key(s, n), h, id);
    *id_out = id;
    *added = 1;
    return TF_STATUS_OK;
}

void tf__strtab_free(tf__strtab_t *t, tf_ctx_t *ctx)
{
    tf__free(ctx, t->arena);
    tf__free(ctx, t->off);
    tf__free(ctx, t->len);
    tf__free(ctx, t->hash);
    tf__free(ctx, t->slots);
    memset(t, 0, sizeof *t);
}
