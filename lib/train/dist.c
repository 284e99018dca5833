/* SPDX-License-Identifier: MIT */
/* The steps of a distributed training call over the group's collective operations (dist.h):
 * the same start everywhere, gradients summed in buckets while the backward pass goes on, one
 * agreement per step so that a failing rank stops every rank at the same step. */
#include "transfer/train.h"
#include "train_internal.h"
#include "dist.h"
#include "../data/data_internal.h"

#include <math.h>
#include <string.h>

/* The longest message of a failing rank that the others repeat. */
#define TF__DIST_MSG 400

static uint64_t hash_i64(uint64_t h, int64_t v)
{
    return tf__fnv1a(h, &v, sizeof v);
}

/* What must be equal on every rank: the call's fingerprint, the architecture, the vocabulary,
 * the labels and the parameter count. */
static uint64_t config_hash(tf_model_t *m, uint64_t config)
{
    const tf_model_opts_t *c = &m->cfg;
    const int64_t f[] = {c->input,      c->num_features, c->embedding_dim, c->hidden_size,
                         c->num_layers, c->bidirectional, c->tie_weights,  c->cell,
                         c->softmax,    m->num_classes,   m->multilabel,
                         (int64_t)tf__model_param_floats(m)};
    uint64_t h = tf__fnv1a(config, f, sizeof f);
    h = tf__fnv1a(h, &c->dropout, sizeof c->dropout);
    h = tf__fnv1a(h, &c->div_value, sizeof c->div_value);
    h = tf__fnv1a(h, c->cutoffs, sizeof c->cutoffs);
    int32_t V = m->vocab != NULL ? tf_vocab_size(m->vocab) : 0;
    h = hash_i64(h, V);
    for (int32_t i = 0; i < V; i++) {
        size_t len;
        const char *t = tf_vocab_token(m->vocab, i, &len);
        h = tf__fnv1a(hash_i64(h, (int64_t)len), t, len);
    }
    for (int32_t i = 0; i < m->num_classes && m->labels != NULL; i++)
        h = tf__fnv1a(h, m->labels[i], strlen(m->labels[i]) + 1);
    return h;
}

tf_status_t tf__dist_agree(tf_model_t *m, tf_status_t st, const char *fn)
{
    tf_dist_t *d = m->dist;
    int32_t worst = (int32_t)st, who = d->rank;
    TF_CHECK(d->ops->max_status(d, &worst, &who, fn));
    if (worst == TF_STATUS_OK)
        return TF_STATUS_OK;
    /* The failing rank's message, so that every rank's error says what went wrong. */
    char msg[TF__DIST_MSG];
    memset(msg, 0, sizeof msg);
    if (who == d->rank)
        strncpy(msg, tf_last_error_message(), sizeof msg - 1);
    TF_CHECK(d->ops->bcast(d, msg, sizeof msg, who, fn));
    if (who == d->rank && st != TF_STATUS_OK)
        return st; /* its own message stands */
    return tf__error((tf_status_t)worst, "%s: rank %d of %d failed, so every rank stops: %s", fn,
                     who, d->size, msg);
}

tf_status_t tf__dist_check_resume(tf_model_t *m, int32_t phase, uint64_t fingerprint,
                                  const tf_dist_t *dist, const char *fn)
{
    int32_t now = dist != NULL && dist->size > 1 ? dist->size : 0;
    int continues = m->ph.phase == phase && m->ph.fingerprint == fingerprint && !m->ph.finished;
    if (continues && m->ph.ranks != now)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: this training was run on %d process%s; continue it on as many (mpirun -np "
                "%d), or start it anew",
                fn, m->ph.ranks > 1 ? m->ph.ranks : 1, m->ph.ranks > 1 ? "es" : "",
                m->ph.ranks > 1 ? m->ph.ranks : 1);
    return TF_STATUS_OK;
}

static tf_status_t shard(tf_loader_t *l, tf_dist_t *d, tf__dist_shards_t *s, int i)
{
    if (l == NULL)
        return TF_STATUS_OK;
    int32_t index = l->shard_index, count = l->shard_count;
    TF_CHECK(tf_loader_set_shard(l, d->rank, d->size));
    s->loader[i] = l;
    s->index[i] = index;
    s->count[i] = count;
    return TF_STATUS_OK;
}

tf_status_t tf__dist_begin_call(tf_model_t *m, tf_dist_t *d, tf_status_t st, uint64_t fingerprint,
                                tf_loader_t *train, tf_loader_t *valid_shard, tf_module_t *head,
                                tf_module_t *body, tf__dist_shards_t *shards, const char *fn)
{
    memset(shards, 0, sizeof *shards);
    m->dist = d;
    m->dist_fn = fn;
    m->dist_mods[0] = head;
    m->dist_mods[1] = body;
    m->dist_started = 0;
    m->dist_err = TF_STATUS_OK;
    if (st == TF_STATUS_OK)
        st = shard(train, d, shards, 0);
    if (st == TF_STATUS_OK)
        st = shard(valid_shard, d, shards, 1);
    st = tf__dist_agree(m, st, fn);
    const int64_t shape[] = {tf_loader_num_batches(train), tf_loader_num_sequences(train), d->size};
    uint64_t config = config_hash(m, tf__fnv1a(fingerprint, shape, sizeof shape));
    int same = 1;
    if (st == TF_STATUS_OK)
        st = d->ops->same_u64(d, config, &same, fn);
    if (st == TF_STATUS_OK && !same)
        st = tf__error(TF_STATUS_EINVAL,
                       "%s: the %d ranks differ in their options, data, model architecture, "
                       "vocabulary or labels; every rank must make the same call on the same "
                       "model and data",
                       fn, d->size);
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n && st == TF_STATUS_OK; i++) {
        float *p, *g;
        size_t k;
        tf__module_param_buffers(mods[i], &p, &g, &k);
        if (k > 0)
            st = d->ops->bcast(d, p, k * sizeof *p, 0, fn);
    }
    if (st != TF_STATUS_OK) {
        tf__dist_end_call(m, shards);
        return st;
    }
    m->ph.ranks = d->size > 1 ? d->size : 0;
    return TF_STATUS_OK;
}

void tf__dist_end_call(tf_model_t *m, tf__dist_shards_t *shards)
{
    for (int i = 0; i < 2; i++)
        if (shards->loader[i] != NULL)
            tf_loader_set_shard(shards->loader[i], shards->index[i], shards->count[i]);
    m->dist = NULL;
}

/* Scale module `i`'s gradients by w and start their sums, one bucket at a time. */
static void start_module(tf_model_t *m, int i, double w)
{
    tf_dist_t *d = m->dist;
    float *p, *g;
    size_t k;
    m->dist_started |= 1u << i;
    if (m->dist_mods[i] == NULL)
        return;
    tf__module_param_buffers(m->dist_mods[i], &p, &g, &k);
    if (w != 1.0)
        for (size_t j = 0; j < k; j++)
            g[j] = (float)(g[j] * w);
    for (size_t off = 0; off < k && m->dist_err == TF_STATUS_OK; off += d->bucket) {
        size_t n = k - off < d->bucket ? k - off : d->bucket;
        m->dist_err = d->ops->start_sum_f32(d, g + off, n, m->dist_fn);
    }
}

void tf__dist_grads_ready(tf_model_t *m, tf_module_t *mod, double w)
{
    /* Only the first module in the sums' order may start early: every rank starts the sums in
     * the same order. */
    if (m->dist != NULL && m->dist_started == 0 && mod == m->dist_mods[0])
        start_module(m, 0, w);
}

tf_status_t tf__dist_step(tf_model_t *m, tf_status_t st, double w, double *loss, double *items,
                          const char *fn)
{
    tf_dist_t *d = m->dist;
    /* A failed rank still takes part in the sums (with whatever its gradients hold) so that no
     * rank waits for it; the agreement below then stops all. */
    for (int i = 0; i < 2; i++)
        if (!(m->dist_started & (1u << i)))
            start_module(m, i, w);
    m->dist_started = 0;
    tf_status_t sums = d->ops->wait_sums(d, fn);
    if (m->dist_err != TF_STATUS_OK || sums != TF_STATUS_OK)
        return m->dist_err != TF_STATUS_OK ? m->dist_err : sums; /* the group is broken */
    TF_CHECK(tf__dist_agree(m, st, fn));
    double v[3] = {w, w * *loss, *items};
    TF_CHECK(d->ops->sum_f64(d, v, 3, fn));
    if (!(v[0] > 0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: no rank had data in this batch", fn);
    *loss = v[1] / v[0];
    *items = v[2];
    float scale = (float)(1.0 / v[0]);
    for (int i = 0; i < 2; i++) {
        float *p, *g;
        size_t k;
        if (m->dist_mods[i] == NULL)
            continue;
        tf__module_param_buffers(m->dist_mods[i], &p, &g, &k);
        for (size_t j = 0; j < k; j++)
            g[j] *= scale;
    }
    return TF_STATUS_OK;
}

tf_status_t tf__dist_sum(tf_model_t *m, tf_status_t st, double *v, int32_t n, const char *fn)
{
    TF_CHECK(tf__dist_agree(m, st, fn));
    return m->dist->ops->sum_f64(m->dist, v, n, fn);
}

tf_status_t tf__dist_share(tf_model_t *m, tf_status_t st, double *v, int32_t n, const char *fn)
{
    TF_CHECK(tf__dist_agree(m, st, fn));
    return m->dist->ops->bcast(m->dist, v, (size_t)n * sizeof *v, 0, fn);
}
