/* SPDX-License-Identifier: MIT */
/* The model: backbone encoder, pre-training head, task head, vocabulary and labels. */
#include "transfer/train.h"
#include "train_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TF__OPTS_LAYOUT(tf__model_opts_layout,
                tf_model_opts_t,
                TF_MODEL_OPTS_VERSION,
                TF__OPTS_END(tf_model_opts_t, reserved),
                TF__OPTS_END(tf_model_opts_t, cell),
                TF__OPTS_END(tf_model_opts_t, cutoffs));

static void model_opts_defaults(tf_model_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
    o->version = TF_MODEL_OPTS_VERSION;
    o->input = TF_MODEL_INPUT_TOKENS;
    o->embedding_dim = 100;
    o->hidden_size = 200;
    o->num_layers = 1;
    o->dropout = 0.2;
    o->cell = TF_CELL_LSTM;
    o->softmax = TF_MODEL_SOFTMAX_FULL;
    o->div_value = 4.0;
}

tf_status_t tf_model_opts_init(tf_model_opts_t *opts, uint32_t version)
{
    tf_model_opts_t d;
    model_opts_defaults(&d);
    return tf__opts_init(opts, version, &d, &tf__model_opts_layout, __func__);
}

/* The adaptive head's options from the model's (cut-offs up to the first zero). */
static void asoft_opts(const tf_model_opts_t *c, int32_t vocab_size, tf__asoft_opts_t *a)
{
    memset(a, 0, sizeof *a);
    a->in_features = c->hidden_size;
    a->n_classes = vocab_size;
    while (a->n_cutoffs < TF_MODEL_MAX_CUTOFFS && c->cutoffs[a->n_cutoffs] != 0) {
        a->cutoffs[a->n_cutoffs] = c->cutoffs[a->n_cutoffs];
        a->n_cutoffs++;
    }
    a->div_value = c->div_value;
    a->name = "lm_head";
}

tf_status_t tf__model_check_softmax(const char *fn, const tf_model_opts_t *o, const tf_vocab_t *vocab)
{
    int32_t n = 0;
    while (n < TF_MODEL_MAX_CUTOFFS && o->cutoffs[n] != 0)
        n++;
    for (int32_t i = n; i < TF_MODEL_MAX_CUTOFFS; i++)
        if (o->cutoffs[i] != 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: cutoffs[%d] is 0 but cutoffs[%d] is %d; the cut-offs end at the first 0",
                    fn, n, i, o->cutoffs[i]);
    if (o->softmax == TF_MODEL_SOFTMAX_FULL) {
        if (n != 0)
            TF_FAIL(TF_STATUS_EINVAL, "%s: cut-offs are for the adaptive softmax; the full softmax takes none", fn);
        return TF_STATUS_OK;
    }
    if (o->softmax != TF_MODEL_SOFTMAX_ADAPTIVE)
        TF_FAIL(TF_STATUS_EINVAL, "%s: softmax %d is not a tf_model_softmax_t", fn, o->softmax);
    if (o->input != TF_MODEL_INPUT_TOKENS || o->tie_weights || o->bidirectional)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the adaptive softmax needs a unidirectional token model without "
                "tie_weights", fn);
    if (n == 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the adaptive softmax needs at least one cut-off", fn);
    tf__asoft_opts_t a;
    asoft_opts(o, tf_vocab_size(vocab), &a);
    return tf__asoft_check_opts(fn, &a);
}

static tf_status_t check_model_opts(const tf_model_opts_t *o, const tf_vocab_t *vocab)
{
    const char *fn = "tf_model_create";
    if (o->input != TF_MODEL_INPUT_TOKENS && o->input != TF_MODEL_INPUT_FEATURES)
        TF_FAIL(TF_STATUS_EINVAL, "%s: input %d is not a tf_model_input_t", fn, o->input);
    if (tf__cell_get(o->cell) == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: cell %d is not a tf_cell_t", fn, o->cell);
    if (o->input == TF_MODEL_INPUT_TOKENS && vocab == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: a token model needs a vocabulary", fn);
    if (o->input == TF_MODEL_INPUT_FEATURES && o->num_features < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: num_features is %d; a numeric model needs at least 1", fn,
                o->num_features);
    if (o->embedding_dim < 1 || o->hidden_size < 1 || o->num_layers < 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: embedding_dim %d, hidden_size %d and num_layers %d must be "
                "at least 1", fn, o->embedding_dim, o->hidden_size, o->num_layers);
    if (o->bidirectional != 0 && o->bidirectional != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: bidirectional is %d, not 0 or 1", fn, o->bidirectional);
    if (!(o->dropout >= 0.0 && o->dropout < 1.0))
        TF_FAIL(TF_STATUS_EINVAL, "%s: dropout %g is outside [0, 1)", fn, o->dropout);
    if (o->tie_weights != 0 && o->tie_weights != 1)
        TF_FAIL(TF_STATUS_EINVAL, "%s: tie_weights is %d, not 0 or 1", fn, o->tie_weights);
    if (o->tie_weights && (o->input != TF_MODEL_INPUT_TOKENS || o->embedding_dim != o->hidden_size ||
                           o->bidirectional))
        TF_FAIL(TF_STATUS_EINVAL, "%s: tie_weights needs a unidirectional token model with "
                "embedding_dim == hidden_size (%d != %d)", fn, o->embedding_dim, o->hidden_size);
    if (o->reserved != 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: reserved must be 0", fn);
    return tf__model_check_softmax(fn, o, vocab);
}

tf_status_t tf__vocab_copy(tf_ctx_t *ctx, const tf_vocab_t *src, tf_vocab_t **out)
{
    size_t len = 0;
    TF_CHECK(tf_vocab_serialize(src, NULL, 0, &len));
    char *buf = tf__alloc(ctx, len + 1);
    if (buf == NULL)
        return TF_STATUS_ENOMEM;
    tf_status_t st = tf_vocab_serialize(src, buf, len + 1, &len);
    if (st == TF_STATUS_OK)
        st = tf_vocab_deserialize(out, ctx, buf, len);
    tf__free(ctx, buf);
    return st;
}

/* Builds the modules of a model whose cfg and vocab are set. */
static tf_status_t build_modules(tf_model_t *m)
{
    const tf_model_opts_t *c = &m->cfg;
    tf_encoder_opts_t eo;
    tf_dropout_opts_t dop;
    tf_linear_opts_t lo;
    tf_encoder_opts_init(&eo, TF_ENCODER_OPTS_VERSION);
    eo.embedding_dim = c->embedding_dim;
    eo.hidden_size = c->hidden_size;
    eo.num_layers = c->num_layers;
    eo.bidirectional = c->bidirectional;
    eo.dropout = c->dropout;
    eo.cell = c->cell;
    if (c->input == TF_MODEL_INPUT_TOKENS) {
        eo.vocab_size = tf_vocab_size(m->vocab);
        eo.padding_idx = TF_VOCAB_PAD;
    } else {
        eo.input_features = c->num_features;
    }
    TF_CHECK(tf_encoder_create(&m->encoder, m->ctx, &eo));
    tf_dropout_opts_init(&dop, TF_DROPOUT_OPTS_VERSION);
    dop.p = c->dropout;
    TF_CHECK(tf_dropout_create(&m->lm_dropout, m->ctx, &dop));
    if (c->bidirectional)
        return TF_STATUS_OK; /* no language-model head for a bidirectional backbone */
    tf_linear_opts_init(&lo, TF_LINEAR_OPTS_VERSION);
    lo.in_features = c->hidden_size;
    lo.out_features = c->input == TF_MODEL_INPUT_TOKENS ? tf_vocab_size(m->vocab) : c->num_features;
    lo.name = "lm_head";
    if (c->softmax == TF_MODEL_SOFTMAX_ADAPTIVE) {
        tf__asoft_opts_t a;
        asoft_opts(c, (int32_t)lo.out_features, &a);
        return tf__asoft_new(&m->lm_head, m->ctx, &a);
    }
    if (c->tie_weights)
        return tf_linear_create_tied(&m->lm_head, m->ctx, m->encoder, &lo);
    return tf_linear_create(&m->lm_head, m->ctx, &lo);
}

tf_status_t tf__model_new(tf_model_t **out, tf_ctx_t *ctx, tf_vocab_t *vocab, const tf_model_opts_t *cfg)
{
    tf_model_t *m = tf__calloc(ctx, 1, sizeof *m);
    if (m == NULL) {
        tf_vocab_free(vocab);
        return TF_STATUS_ENOMEM;
    }
    m->ctx = ctx;
    m->cfg = *cfg;
    m->vocab = vocab;
    m->temperature = 1.0;
    tf__object_created(ctx);
    tf_status_t st = build_modules(m);
    if (st != TF_STATUS_OK) {
        tf_model_free(m);
        return st;
    }
    *out = m;
    return TF_STATUS_OK;
}

tf_status_t tf_model_create(tf_model_t **out,
                            tf_ctx_t *ctx,
                            const tf_vocab_t *vocab,
                            const tf_model_opts_t *opts)
{
    tf_model_opts_t o;
    tf_vocab_t *copy = NULL;
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    model_opts_defaults(&o);
    TF_CHECK(tf__opts_read(&o, opts, &tf__model_opts_layout, __func__));
    TF_CHECK(check_model_opts(&o, vocab));
    if (o.input == TF_MODEL_INPUT_TOKENS)
        TF_CHECK(tf__vocab_copy(ctx, vocab, &copy));
    return tf__model_new(out, ctx, copy, &o);
}

static void free_labels(tf_model_t *m)
{
    for (int32_t i = 0; m->labels != NULL && i < m->num_classes; i++)
        tf__free(m->ctx, m->labels[i]);
    tf__free(m->ctx, m->labels);
    m->labels = NULL;
}

void tf__model_drop_head(tf_model_t *m)
{
    tf_module_free(m->head);
    tf_module_free(m->head_dropout);
    m->head = m->head_dropout = NULL;
    free_labels(m);
    tf__decision_clear(m);
    m->num_classes = 0;
    m->multilabel = 0;
    m->pool_modes = 0;
}

void tf_model_free(tf_model_t *m)
{
    if (m == NULL)
        return;
    tf_ctx_t *ctx = m->ctx;
    tf__phase_reset(m);
    tf__model_drop_head(m);
    tf_module_free(m->lm_head);
    tf_module_free(m->lm_dropout);
    tf_module_free(m->encoder);
    tf_vocab_free(m->vocab);
    tf__scratch_free(ctx, &m->dy);
    tf__scratch_free(ctx, &m->dpred);
    tf__scratch_free(ctx, &m->pooled);
    tf__scratch_free(ctx, &m->dpooled);
    tf__scratch_free(ctx, &m->targets);
    tf__scratch_free(ctx, &m->dlogits);
    tf__scratch_free(ctx, &m->adj);
    tf__model_free_standardization(m);
    tf__free(ctx, m->class_w);
    tf__free(ctx, m->ids);
    tf__free(ctx, m);
    tf__object_freed(ctx);
}

static int32_t popcount3(uint32_t x)
{
    return (int32_t)((x & 1u) + ((x >> 1) & 1u) + ((x >> 2) & 1u));
}

tf_status_t tf__model_make_head(tf_model_t *m,
                                int32_t num_classes,
                                int32_t multilabel,
                                const char *const *labels,
                                uint32_t pool_modes,
                                double dropout)
{
    tf_linear_opts_t lo;
    tf_dropout_opts_t dop;
    tf_status_t st;
    tf__model_drop_head(m);
    m->labels = tf__calloc(m->ctx, (size_t)num_classes, sizeof *m->labels);
    if (m->labels == NULL)
        return TF_STATUS_ENOMEM;
    m->num_classes = num_classes;
    for (int32_t i = 0; i < num_classes; i++) {
        m->labels[i] = tf__strdup(m->ctx, labels[i]);
        if (m->labels[i] == NULL) {
            tf__model_drop_head(m);
            return TF_STATUS_ENOMEM;
        }
    }
    m->multilabel = multilabel;
    m->pool_modes = pool_modes;
    m->head_p = dropout;
    tf_linear_opts_init(&lo, TF_LINEAR_OPTS_VERSION);
    lo.in_features = popcount3(pool_modes) * tf__model_out_dim(m);
    lo.out_features = num_classes == 2 && !multilabel ? 1 : num_classes;
    lo.name = "head";
    tf_dropout_opts_init(&dop, TF_DROPOUT_OPTS_VERSION);
    dop.p = dropout;
    st = tf_linear_create(&m->head, m->ctx, &lo);
    if (st == TF_STATUS_OK)
        st = tf_dropout_create(&m->head_dropout, m->ctx, &dop);
    if (st != TF_STATUS_OK)
        tf__model_drop_head(m);
    return st;
}

uint32_t tf__model_modules(tf_model_t *m, tf_module_t **mods)
{
    uint32_t n = 0;
    mods[n++] = m->encoder;
    if (m->lm_head != NULL)
        mods[n++] = m->lm_head;
    if (m->head != NULL)
        mods[n++] = m->head;
    return n;
}

int32_t tf__model_dirs(const tf_model_t *m)
{
    return m->cfg.bidirectional ? 2 : 1;
}

int64_t tf__model_out_dim(const tf_model_t *m)
{
    return (int64_t)m->cfg.hidden_size * tf__model_dirs(m);
}

void tf__model_set_training(tf_model_t *m, int32_t training)
{
    tf__module_set_mode(m->encoder, training);
    tf__module_set_mode(m->lm_dropout, training);
    if (m->lm_head != NULL)
        tf__module_set_mode(m->lm_head, training);
    if (m->head != NULL) {
        tf__module_set_mode(m->head, training);
        tf__module_set_mode(m->head_dropout, training);
    }
}

void tf__model_zero_grad(tf_model_t *m)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n; i++)
        tf_module_zero_grad(mods[i]);
}

size_t tf__model_param_floats(tf_model_t *m)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        float *p, *g;
        size_t k;
        tf__module_param_buffers(mods[i], &p, &g, &k);
        total += k;
    }
    return total;
}

static void copy_params(tf_model_t *m, float *snap, int to_snapshot)
{
    tf_module_t *mods[3];
    uint32_t n = tf__model_modules(m, mods);
    for (uint32_t i = 0; i < n; i++) {
        float *p, *g;
        size_t k;
        tf__module_param_buffers(mods[i], &p, &g, &k);
        if (to_snapshot)
            memcpy(snap, p, k * sizeof *p);
        else
            memcpy(p, snap, k * sizeof *p);
        snap += k;
    }
}

void tf__model_snapshot(tf_model_t *m, float *dst)
{
    copy_params(m, dst, 1);
}

void tf__model_restore(tf_model_t *m, const float *src)
{
    copy_params(m, (float *)src, 0);
}

static tf_status_t attach_modules(tf_optimizer_t *opt, tf_module_t *const *mods, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < tf_module_num_params(mods[i]); j++) {
            const char *name;
            tf_tensor_t *p, *g;
            TF_CHECK(tf_module_param_at(&name, &p, &g, mods[i], j));
            TF_CHECK(tf_optimizer_add_param(opt, name, p, g));
        }
    return TF_STATUS_OK;
}

tf_status_t tf__optimizer_attach(tf_model_t *m, tf_optimizer_t *opt)
{
    tf_module_t *mods[3];
    return attach_modules(opt, mods, tf__model_modules(m, mods));
}

tf_status_t tf__optimizer_attach_lm(tf_model_t *m, tf_optimizer_t *opt)
{
    tf_module_t *const mods[2] = {m->encoder, m->lm_head};
    return attach_modules(opt, mods, 2);
}

tf_status_t tf__optimizer_attach_cls(tf_model_t *m, tf_optimizer_t *opt)
{
    tf_module_t *const mods[2] = {m->encoder, m->head};
    return attach_modules(opt, mods, 2);
}

tf_status_t tf__scratch_f32(tf_ctx_t *ctx, tf__scratch_t *s, const int64_t *shape, uint32_t ndim)
{
    size_t n = 1;
    for (uint32_t i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    TF_CHECK(tf__buf_reserve(ctx, &s->data, &s->cap, n));
    tf__view_set(&s->view, ctx, s->data, shape, ndim);
    return TF_STATUS_OK;
}

void tf__scratch_free(tf_ctx_t *ctx, tf__scratch_t *s)
{
    tf__free(ctx, s->data);
    s->data = NULL;
    s->cap = 0;
}

tf_vocab_t *tf_model_vocab(tf_model_t *m)
{
    return m ? m->vocab : NULL;
}

tf_module_t *tf_model_encoder(tf_model_t *m)
{
    return m ? m->encoder : NULL;
}

int32_t tf_model_is_multilabel(const tf_model_t *m)
{
    return m ? m->multilabel : 0;
}

int32_t tf_model_num_classes(const tf_model_t *m)
{
    return m ? m->num_classes : 0;
}

const char *tf_model_label_name(const tf_model_t *m, int32_t id)
{
    return (m && id >= 0 && id < m->num_classes) ? m->labels[id] : NULL;
}

int64_t tf_model_num_params(const tf_model_t *m)
{
    return m ? (int64_t)tf__model_param_floats((tf_model_t *)m) : 0;
}

tf_status_t tf__model_lm_loss(tf_model_t *m,
                              const tf_tensor_t *y,
                              const tf_tensor_t *targets,
                              int32_t backward,
                              double *loss,
                              int64_t *count,
                              tf_tensor_t *dy)
{
    if (tf_module_kind(m->lm_head) == TF_MODULE_ADAPTIVE_SOFTMAX)
        return tf__asoft_loss(m->lm_head, y, targets, TF_NN_INDEX_NONE, backward, loss, count, NULL, dy);
    return tf_linear_cross_entropy(m->lm_head, y, targets, TF_NN_INDEX_NONE, backward, loss, count, dy);
}
