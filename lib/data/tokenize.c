/* SPDX-License-Identifier: MIT */
/* The tokeniser: one pass over the bytes with a class table; UTF-8 is validated and invalid
 * bytes become U+FFFD; tokens are copied (lower-cased) into a scratch buffer and hashed on the
 * way. With TF__TOK_UNICODE, a text with non-ASCII bytes is first normalised by utf8proc (NFKC,
 * and case folding when lower-casing), and non-ASCII characters are classed by their Unicode
 * category; ASCII text takes the table path unchanged either way. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>
#include <utf8proc.h>

/* C_IDEO: a CJK ideograph, a token of its own (there are no spaces between such words). */
enum { C_WORD = 0, C_SPACE = 1, C_PUNCT = 2, C_HIGH = 3, C_IDEO = 4 };

/* Byte classes: control characters and ASCII blanks separate tokens. */
static const unsigned char byte_class[256] = {
#define S C_SPACE
#define P C_PUNCT
#define W C_WORD
#define H C_HIGH
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x00 */
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x10 */
    S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x20 ' ' ! " # ... / */
    W, W, W, W, W, W, W, W, W, W, P, P, P, P, P, P, /* 0x30 digits : ; < = > ? */
    P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, /* 0x40 @ A.. */
    W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, P, /* 0x50 ..Z [ \ ] ^ _ */
    P, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, /* 0x60 ` a.. */
    W, W, W, W, W, W, W, W, W, W, W, P, P, P, P, S, /* 0x70 ..z { | } ~ DEL */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
#undef S
#undef P
#undef W
#undef H
};

static tf_status_t reserve(tf__toks_t *tk, tf_ctx_t *ctx, size_t n)
{
    size_t bytes, toks = n + 1;
    if (!tf__mul_size(n, 3, &bytes))
        TF_FAIL(TF_STATUS_ENOMEM, "tokenizer: text of %zu bytes is too large", n);
    bytes += 16; /* slack: token hashing reads whole 8-byte words */
    if (bytes > tk->bytes_cap) {
        void *p = tk->bytes;
        size_t cap = tk->bytes_cap;
        tf__free(ctx, p);
        tk->bytes = NULL;
        tk->bytes_cap = 0;
        p = NULL;
        TF_CHECK(tf__grow_bytes(ctx, &p, &cap, bytes, 1));
        tk->bytes = p;
        tk->bytes_cap = cap;
    }
    if (toks > tk->cap) {
        size_t cap = 0;
        void *a = NULL, *b = NULL, *c = NULL, *k = NULL;
        tf__free(ctx, tk->off);
        tf__free(ctx, tk->len);
        tf__free(ctx, tk->hash);
        tf__free(ctx, tk->key);
        tk->off = tk->len = tk->hash = NULL;
        tk->key = NULL;
        tk->cap = 0;
        TF_CHECK(tf__grow_bytes(ctx, &a, &cap, toks, sizeof(uint32_t)));
        tk->off = a;
        cap = 0;
        TF_CHECK(tf__grow_bytes(ctx, &b, &cap, toks, sizeof(uint32_t)));
        tk->len = b;
        cap = 0;
        TF_CHECK(tf__grow_bytes(ctx, &c, &cap, toks, sizeof(uint32_t)));
        tk->hash = c;
        cap = 0;
        TF_CHECK(tf__grow_bytes(ctx, &k, &cap, toks, sizeof(uint64_t)));
        tk->key = k;
        tk->cap = cap;
    }
    return TF_STATUS_OK;
}

/* The byte classes with punctuation joined to words (punctuation splitting off). */
static const unsigned char class_nopunct[256] = {
    C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE,
    C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE, C_SPACE,
    C_SPACE, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD,
    C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD,
    C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD,
    C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD,
    C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD,
    C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_WORD, C_SPACE,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
    C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH, C_HIGH,
};

/* ASCII lower-casing. */
static const unsigned char lower_map[256] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
    128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
    144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
    160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
    192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207,
    208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
    240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};

/* Identity. */
static const unsigned char same_map[256] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
    128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
    144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
    160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175,
    176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
    192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207,
    208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
    240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
};

/* Output byte of each word byte (lower-cased, punctuation split off); 0 ends a word. */
static const unsigned char word_lower_split[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Output byte of each word byte (lower-cased, punctuation inside words); 0 ends a word. */
static const unsigned char word_lower_joined[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Output byte of each word byte (as is, punctuation split off); 0 ends a word. */
static const unsigned char word_same_split[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
    0, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Output byte of each word byte (as is, punctuation inside words); 0 ends a word. */
static const unsigned char word_same_joined[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* tf__hash_bytes and tf__slot_key of a token in the scratch buffer, by whole 8-byte words: the
 * buffer has slack after the last token, and the bytes past the token are masked off. Gives the
 * same values as the byte-wise functions on little-endian machines; others use those. */
static void hash_and_key(const unsigned char *p, size_t n, uint32_t *h_out, uint64_t *k_out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* low_mask[m]: the low m bytes. */
    static const uint64_t low_mask[8] = {0,
                                         0xffULL,
                                         0xffffULL,
                                         0xffffffULL,
                                         0xffffffffULL,
                                         0xffffffffffULL,
                                         0xffffffffffffULL,
                                         0xffffffffffffffULL};
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL), w, first;
    memcpy(&first, p, 8);
    if (n < 8) {
        /* Most tokens: one word, no loop. */
        w = first & low_mask[n];
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        *k_out = n < 7 ? w | ((uint64_t)n << 56) : (w & low_mask[7]) | (0xffULL << 56);
    } else {
        size_t m = n;
        while (m >= 8) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 31;
            p += 8;
            m -= 8;
        }
        if (m > 0) {
            memcpy(&w, p, 8);
            w &= low_mask[m];
            h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 31;
        }
        *k_out = (first & low_mask[7]) | (0xffULL << 56);
    }
    h *= 0x94d049bb133111ebULL;
    *h_out = (uint32_t)(h >> 32);
#else
    *h_out = tf__hash_bytes((const char *)p, n);
    *k_out = tf__slot_key((const char *)p, n);
#endif
}

/* Whether a code point is a CJK ideograph (the unified and compatibility blocks): such text has
 * no spaces between words, so each ideograph is a token; the categories say only "letter". */
static int is_ideograph(int32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2ebef) ||
           (c >= 0x30000 && c <= 0x3134f) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0x2f800 && c <= 0x2fa1f);
}

/* The class of a non-ASCII code point from its Unicode category: separators and controls split,
 * punctuation and symbols (emoji among them) are tokens of their own when splitting punctuation,
 * and everything else (letters, marks, digits, format characters) belongs to words. U+FFFD
 * stands for invalid bytes, which stay inside words as before. */
static unsigned unicode_class(int32_t c, uint32_t flags)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
        return C_SPACE;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return (flags & TF__TOK_PUNCT) && c != 0xfffd ? C_PUNCT : C_WORD;
    default:
        return is_ideograph(c) ? C_IDEO : C_WORD;
    }
}

/* The code point at s[i] (valid UTF-8 after normalisation) and its length. */
static size_t next_cp(const unsigned char *s, size_t n, size_t i, int32_t *c)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
    if (k <= 0) {
        *c = 0xfffd; /* unreachable on normalised text; keeps a byte a word byte */
        return 1;
    }
    *c = cp;
    return (size_t)k;
}

/* Byte length of the extended grapheme cluster (UAX #29) starting at s[i]: a punctuation or
 * ideograph token keeps its combining marks, an emoji its modifiers and joined sequence. */
static size_t cluster_len(const unsigned char *s, size_t n, size_t i)
{
    utf8proc_int32_t state = 0;
    int32_t prev, next;
    size_t j = i + next_cp(s, n, i, &prev);
    while (j < n) {
        size_t k = next_cp(s, n, j, &next);
        if (utf8proc_grapheme_break_stateful(prev, next, &state))
            break;
        j += k;
        prev = next;
    }
    return j - i;
}

/* Copy s to out with every invalid UTF-8 byte replaced by U+FFFD (counted) and ASCII bytes
 * mapped through `low`; returns the output length (at most 3n). */
static size_t clean_utf8(unsigned char *out, const unsigned char *s, size_t n,
                         const unsigned char *low, uint64_t *invalid)
{
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            out[o++] = low[c];
            i++;
        } else {
            size_t k = tf__utf8_seq_len(s + i, n - i);
            if (k == 0) {
                memcpy(out + o, "\xef\xbf\xbd", 3);
                o += 3;
                (*invalid)++;
                i++;
            } else {
                memcpy(out + o, s + i, k);
                o += k;
                i += k;
            }
        }
    }
    return o;
}

/* NFKC, with full case folding when lower-casing, of a text into tk->cps (as UTF-8, in place:
 * utf8proc re-encodes into its code point buffer); invalid bytes become U+FFFD first. Every
 * buffer is the context's: utf8proc only writes into the ones given. */
static tf_status_t normalize(tf__toks_t *tk, tf_ctx_t *ctx, const unsigned char *s, size_t n,
                             uint32_t flags, uint64_t *invalid, size_t *len_out)
{
    utf8proc_option_t opt = (utf8proc_option_t)(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                UTF8PROC_COMPAT |
                                                ((flags & TF__TOK_LOWER) ? UTF8PROC_CASEFOLD : 0));
    TF_CHECK(reserve(tk, ctx, n));
    size_t clean = clean_utf8((unsigned char *)tk->bytes, s, n, same_map, invalid);
    size_t want = clean + 16;
    for (;;) {
        if (want + 1 > tk->cps_cap) {
            size_t bytes;
            if (!tf__mul_size(want + 1, sizeof *tk->cps, &bytes))
                TF_FAIL(TF_STATUS_ENOMEM, "tokenizer: text of %zu bytes is too large", n);
            tf__free(ctx, tk->cps);
            tk->cps_cap = 0;
            tk->cps = tf__alloc(ctx, bytes);
            if (tk->cps == NULL)
                return TF_STATUS_ENOMEM;
            tk->cps_cap = want + 1;
        }
        /* One slot is kept free: re-encoding writes a NUL after the text. */
        utf8proc_ssize_t m = utf8proc_decompose((const utf8proc_uint8_t *)tk->bytes,
                                                (utf8proc_ssize_t)clean, tk->cps,
                                                (utf8proc_ssize_t)(tk->cps_cap - 1), opt);
        if (m < 0)
            TF_FAIL(TF_STATUS_EFORMAT, "tokenizer: cannot normalise the text: %s",
                    utf8proc_errmsg(m));
        if ((size_t)m + 1 > tk->cps_cap) {
            want = (size_t)m;
            continue;
        }
        utf8proc_ssize_t b = utf8proc_reencode(tk->cps, m, opt);
        if (b < 0)
            TF_FAIL(TF_STATUS_EFORMAT, "tokenizer: cannot normalise the text: %s",
                    utf8proc_errmsg(b));
        *len_out = (size_t)b;
        return TF_STATUS_OK;
    }
}

static int has_high_byte(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80)
            return 1;
    return 0;
}

tf_status_t tf__tokenize(tf__toks_t *tk, tf_ctx_t *ctx, const char *text, size_t n,
                         uint32_t flags, uint64_t *invalid)
{
    const unsigned char *s = (const unsigned char *)text;
    const int uni = (flags & TF__TOK_UNICODE) != 0;
    if (n > (size_t)(UINT32_MAX / 4))
        TF_FAIL(TF_STATUS_EOVERFLOW, "tokenizer: a text of %zu bytes is too long (limit 1 GiB)", n);
    if (uni && has_high_byte(s, n)) {
        TF_CHECK(normalize(tk, ctx, s, n, flags, invalid, &n));
        s = (const unsigned char *)tk->cps;
        if (n > (size_t)(UINT32_MAX / 4))
            TF_FAIL(TF_STATUS_EOVERFLOW, "tokenizer: the normalised text has %zu bytes (limit "
                    "1 GiB)", n);
    }
    TF_CHECK(reserve(tk, ctx, n));
    unsigned char *out = (unsigned char *)tk->bytes;
    size_t o = 0, ntok = 0, i = 0;
    const unsigned char *cls_of = (flags & TF__TOK_PUNCT) ? byte_class : class_nopunct;
    const unsigned char *low = (flags & TF__TOK_LOWER) ? lower_map : same_map;
    const unsigned char *word =
        (flags & TF__TOK_LOWER) ? ((flags & TF__TOK_PUNCT) ? word_lower_split : word_lower_joined)
                                : ((flags & TF__TOK_PUNCT) ? word_same_split : word_same_joined);
    if (flags & TF__TOK_BYTES) {
        /* Byte vocabularies: clean and lower-case only; the caller maps bytes to ids. */
        o = clean_utf8(out, s, n, low, invalid);
        tk->off[0] = 0;
        tk->len[0] = (uint32_t)o;
        tk->hash[0] = 0;
        tk->key[0] = 0;
        tk->n = 1;
        return TF_STATUS_OK;
    }
    int gap = 0; /* whitespace since the last token */
    while (i < n) {
        unsigned cls = cls_of[s[i]];
        size_t k = 1;
        if (cls == C_HIGH && uni) {
            int32_t c;
            k = next_cp(s, n, i, &c);
            cls = unicode_class(c, flags);
        }
        if (cls == C_SPACE) {
            i += k;
            gap = 1;
            continue;
        }
        size_t start = o;
        if ((flags & TF__TOK_SPACE) && gap && ntok > 0)
            out[o++] = ' ';
        gap = 0;
        if (cls == C_PUNCT || cls == C_IDEO) {
            k = uni ? cluster_len(s, n, i) : 1;
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            /* A word: runs of word bytes, with UTF-8 sequences checked (or classed). */
            for (;;) {
                /* The hot loop: one table gives "still a word" and the output byte. */
                const unsigned char *p = s + i, *e = s + n;
                unsigned char *q = out + o, x;
                while (p < e && (x = word[*p]) != 0) {
                    *q++ = x;
                    p++;
                }
                i = (size_t)(p - s);
                o = (size_t)(q - out);
                if (i >= n || cls_of[s[i]] != C_HIGH)
                    break;
                if (uni) {
                    int32_t c;
                    k = next_cp(s, n, i, &c);
                    if (unicode_class(c, flags) != C_WORD)
                        break;
                } else {
                    k = tf__utf8_seq_len(s + i, n - i);
                }
                if (k == 0) {
                    memcpy(out + o, "\xef\xbf\xbd", 3);
                    o += 3;
                    (*invalid)++;
                    i += 1;
                } else {
                    memcpy(out + o, s + i, k);
                    o += k;
                    i += k;
                }
            }
        }
        tk->off[ntok] = (uint32_t)start;
        tk->len[ntok] = (uint32_t)(o - start);
        hash_and_key(out + start, o - start, &tk->hash[ntok], &tk->key[ntok]);
        ntok++;
    }
    tk->n = ntok;
    return TF_STATUS_OK;
}

void tf__toks_free(tf__toks_t *tk, tf_ctx_t *ctx)
{
    tf__free(ctx, tk->bytes);
    tf__free(ctx, tk->off);
    tf__free(ctx, tk->len);
    tf__free(ctx, tk->hash);
    tf__free(ctx, tk->key);
    tf__free(ctx, tk->cps);
    memset(tk, 0, sizeof *tk);
}
