/* SPDX-License-Identifier: MIT */
/* tftrain: the texts of files, one per line, tokenised into one array of ids with offsets, for a
 * loader of token sequences (adapt, distill). */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int texts_push(tt_texts_t *t, tf_vocab_t *vocab, const char *line, size_t len)
{
    size_t got;
    if (t->nids + len + 8 > t->cap_ids) {
        size_t cap = (t->cap_ids + len + 8) * 2;
        int32_t *p = (int32_t *)realloc(t->ids, cap * sizeof *p);
        if (p == NULL)
            return -1;
        t->ids = p;
        t->cap_ids = cap;
    }
    if (t->n + 2 > t->cap_off) {
        int64_t cap = (t->cap_off + 2) * 2;
        int64_t *p = (int64_t *)realloc(t->off, (size_t)cap * sizeof *p);
        if (p == NULL)
            return -1;
        t->off = p;
        t->cap_off = cap;
    }
    if (tf_vocab_encode(vocab, line, len, t->ids + t->nids, t->cap_ids - t->nids, &got) !=
        TF_STATUS_OK)
        return -1;
    if (got == 0)
        return 0; /* no token: nothing to learn from */
    t->off[t->n] = (int64_t)t->nids;
    t->nids += got;
    t->n++;
    t->off[t->n] = (int64_t)t->nids;
    return 0;
}

int tt_read_texts(const char *cmd, const char *path, int tsv, tf_vocab_t *vocab, tt_texts_t *t)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        fprintf(stderr, "tftrain %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return TT_EXIT_DATA;
    }
    while ((n = getline(&line, &cap, in)) >= 0) {
        const char *text = line;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (tsv) { /* label<TAB>text: the text only */
            const char *tab = memchr(line, '\t', (size_t)n);
            if (tab == NULL)
                continue;
            text = tab + 1;
            n -= (ssize_t)(text - line);
        }
        if (texts_push(t, vocab, text, (size_t)n) != 0) {
            fprintf(stderr, "tftrain %s: %s: %s\n", cmd, path,
                    errno == ENOMEM ? "out of memory" : tf_last_error_message());
            fclose(in);
            free(line);
            return TT_EXIT_FAILED;
        }
    }
    int bad = ferror(in);
    if (bad)
        fprintf(stderr, "tftrain %s: cannot read '%s': %s\n", cmd, path, strerror(errno));
    fclose(in);
    free(line);
    return bad ? TT_EXIT_DATA : TT_EXIT_OK;
}

void tt_texts_free(tt_texts_t *t)
{
    free(t->ids);
    free(t->off);
    memset(t, 0, sizeof *t);
}
