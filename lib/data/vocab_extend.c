/* SPDX-License-Identifier: MIT */
/* Growing a word vocabulary with the frequent words of new text: existing ids stay, new words
 * are appended. */
#include "transfer/data.h"
#include "data_internal.h"

#include <string.h>

/* A copy of `base` (a word vocabulary): specials, then its tokens in id order. */
static tf_status_t copy_words(const tf_vocab_t *base, tf_vocab_t **out)
{
    tf_vocab_t *v;
    TF_CHECK(tf__vocab_new(&v, base->ctx, base->kind, base->lowercase, base->split_punct,
                           base->unicode));
    for (int32_t id = TF_VOCAB_NUM_SPECIALS; id < base->tab.count; id++) {
        int32_t nid;
        int added;
        tf_status_t st = tf__strtab_add(&v->tab, base->ctx, tf__strtab_str(&base->tab, id),
                                        base->tab.len[id], base->tab.hash[id], &nid, &added);
        if (st != TF_STATUS_OK) {
            tf_vocab_free(v);
            return st;
        }
    }
    *out = v;
    return TF_STATUS_OK;
}

tf_status_t tf__vocab_extend_files(const tf_vocab_t *base, const char *const *paths,
                                   uint32_t num_paths, int32_t min_count, int32_t max_size,
                                   const char *fn, tf_vocab_t **out, int32_t *added)
{
    tf_vocab_opts_t o;
    tf__counter_t c;
    tf_vocab_t *cand = NULL, *v = NULL;
    tf_status_t st;
    *out = NULL;
    *added = 0;
    /* Candidates: the new text's words under the base's own rules, most frequent first. */
    tf_vocab_opts_init(&o, TF_VOCAB_OPTS_VERSION);
    o.lowercase = base->lowercase;
    o.split_punct = base->split_punct;
    o.min_count = min_count;
    memset(&c, 0, sizeof c);
    c.ctx = base->ctx;
    c.flags = tf__vocab_tok_flags(base);
    st = tf__counter_files(&c, paths, num_paths, 1, fn);
    if (st == TF_STATUS_OK)
        st = tf__counter_finish(&c, &o, &cand, fn);
    tf__counter_free(&c);
    TF_CHECK(st);
    TF_CHECK_GOTO(st, copy_words(base, &v), fail);
    for (int32_t id = TF_VOCAB_NUM_SPECIALS; id < cand->tab.count; id++) {
        int32_t nid;
        int is_new;
        if (max_size > 0 && v->tab.count >= max_size)
            break;
        TF_CHECK_GOTO(st, tf__strtab_add(&v->tab, base->ctx, tf__strtab_str(&cand->tab, id),
                                         cand->tab.len[id], cand->tab.hash[id], &nid, &is_new),
                      fail);
        *added += is_new;
    }
    tf_vocab_free(cand);
    *out = v;
    return TF_STATUS_OK;
fail:
    *added = 0;
    tf_vocab_free(cand);
    tf_vocab_free(v);
    return st;
}
