/* SPDX-License-Identifier: MIT */
/* Embedding rows from pre-trained word vectors in the text format of word2vec, GloVe and
 * fastText, streamed line by line into a staging copy that replaces the rows only on success. */
#include "transfer/train.h"
#include "train_internal.h"

#include "../data/data_internal.h"
#include <string.h>

/* The fields of a line split on spaces: at most `max` (start, end) pairs; the count found, which
 * may exceed `max` (the extra fields are only counted). */
static size_t split_fields(const char *s, size_t len, const char **start, const char **end, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t b = i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        if (n < max) {
            start[n] = s + b;
            end[n] = s + i;
        }
        n++;
    }
    return n;
}

/* A header line: exactly two fields, both decimal integers (count, dim). */
static int header_dim(const char **fs, const char **fe, size_t n, long long *dim)
{
    if (n != 2)
        return 0;
    for (size_t k = 0; k < 2; k++) {
        if (fe[k] - fs[k] > 12)
            return 0;
        for (const char *c = fs[k]; c < fe[k]; c++)
            if (*c < '0' || *c > '9')
                return 0;
    }
    *dim = 0;
    for (const char *c = fs[1]; c < fe[1]; c++)
        *dim = *dim * 10 + (*c - '0');
    return 1;
}

static tf_status_t embedding_param(tf_model_t *m, tf_tensor_t **out)
{
    for (uint32_t j = 0; j < tf_module_num_params(m->encoder); j++) {
        const char *name;
        TF_CHECK(tf_module_param_at(&name, out, NULL, m->encoder, j));
        if (strcmp(name, "embedding.weight") == 0)
            return TF_STATUS_OK;
    }
    TF_FAIL(TF_STATUS_ESTATE, "tf_model_init_embeddings_file: the model has no embedding.weight");
}

typedef struct {
    tf_model_t *m;
    const char *path;
    int32_t dim;
    float *rows;           /* staging copy of the embedding, V x dim */
    unsigned char *seen;   /* 1 for rows already set from the file */
    const char **fs, **fe; /* field bounds, dim + 1 of each */
    int32_t found;
} vec_state_t;

/* One word line: EFORMAT for a wrong number of values or a bad number. */
static tf_status_t word_line(vec_state_t *s, const char *line, size_t len, long long lineno)
{
    const char *fn = "tf_model_init_embeddings_file";
    size_t n = split_fields(line, len, s->fs, s->fe, (size_t)s->dim + 1);
    if (n == 0)
        return TF_STATUS_OK;
    if (n != (size_t)s->dim + 1)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: %zu values after the word, the model's embedding_dim is %d", fn,
                s->path, lineno, n - 1, s->dim);
    size_t wlen = (size_t)(s->fe[0] - s->fs[0]);
    int32_t id = -1;
    if (tf__utf8_valid(s->fs[0], wlen))
        id = tf_vocab_lookup(s->m->vocab, s->fs[0], wlen);
    float *row = id >= 0 && !s->seen[id] ? s->rows + (size_t)id * (size_t)s->dim : NULL;
    for (int32_t k = 0; k < s->dim; k++) {
        float v;
        if (!tf__parse_float(s->fs[k + 1], s->fe[k + 1], &v))
            TF_FAIL(TF_STATUS_EFORMAT, "%s: %s:%lld: value %d is not a finite number", fn, s->path, lineno, k + 1);
        if (row != NULL)
            row[k] = v;
    }
    if (row != NULL) {
        s->seen[id] = 1;
        s->found++;
    }
    return TF_STATUS_OK;
}

static tf_status_t read_vectors(vec_state_t *s, tf__lines_t *lr)
{
    const char *fn = "tf_model_init_embeddings_file";
    for (int first = 1;; first = 0) {
        const char *line;
        size_t len;
        TF_CHECK(tf__lines_next(lr, &line, &len));
        if (line == NULL)
            return TF_STATUS_OK;
        long long dim;
        if (first && header_dim(s->fs, s->fe, split_fields(line, len, s->fs, s->fe, 2), &dim)) {
            if (dim != s->dim)
                TF_FAIL(TF_STATUS_EFORMAT, "%s: %s: the vectors have %lld dimensions (header), the model's "
                        "embedding_dim is %d", fn, s->path, dim, s->dim);
            continue;
        }
        TF_CHECK(word_line(s, line, len, (long long)lr->lineno));
    }
}

tf_status_t tf__model_init_embeddings_lines(tf_model_t *m, tf__lines_t *lr, int32_t *num_found)
{
    tf_tensor_t *emb;
    vec_state_t s;
    tf_status_t st;
    *num_found = 0;
    TF_CHECK(embedding_param(m, &emb));
    memset(&s, 0, sizeof s);
    s.m = m;
    s.path = lr->name;
    s.dim = (int32_t)tf_tensor_dim(emb, 1);
    size_t V = (size_t)tf_tensor_dim(emb, 0);
    s.rows = tf__alloc(m->ctx, tf_tensor_nbytes(emb));
    s.seen = tf__calloc(m->ctx, V, 1);
    s.fs = tf__calloc(m->ctx, (size_t)s.dim + 1, sizeof *s.fs);
    s.fe = tf__calloc(m->ctx, (size_t)s.dim + 1, sizeof *s.fe);
    if (s.rows == NULL || s.seen == NULL || s.fs == NULL || s.fe == NULL) {
        st = TF_STATUS_ENOMEM;
        goto out;
    }
    memcpy(s.rows, tf_tensor_data(emb), tf_tensor_nbytes(emb));
    TF_CHECK_GOTO(st, read_vectors(&s, lr), out);
    TF_CHECK_GOTO(st, tf_tensor_copy_from(emb, s.rows, tf_tensor_nbytes(emb)), out);
    *num_found = s.found;
out:
    tf__free(m->ctx, s.rows);
    tf__free(m->ctx, s.seen);
    tf__free(m->ctx, (void *)s.fs);
    tf__free(m->ctx, (void *)s.fe);
    return st;
}

tf_status_t tf_model_init_embeddings_file(tf_model_t *m, const char *path, int32_t *num_found)
{
    tf__lines_t lr;
    int32_t found = 0;
    if (num_found != NULL)
        *num_found = 0;
    TF_REQUIRE_ARG(m);
    TF_REQUIRE_ARG(path);
    if (m->cfg.input != TF_MODEL_INPUT_TOKENS || m->vocab == NULL)
        TF_FAIL(TF_STATUS_ESTATE, "%s: a numeric model has no word embedding", __func__);
    TF_CHECK(tf__lines_open_file(&lr, m->ctx, path, __func__));
    tf_status_t st = tf__model_init_embeddings_lines(m, &lr, &found);
    tf__lines_close(&lr);
    if (st == TF_STATUS_OK && num_found != NULL)
        *num_found = found;
    return st;
}
