/* SPDX-License-Identifier: MIT */
/* tftrain: numeric sequences (--format csv --features F) and images (--format idx): the data
 * format flags, loaders that share the model's standardisation, and the lines `predict` reads. */
#include "tftrain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int tt_format(const char *cmd, const char *name, int features_seen, int *format)
{
    if (name == NULL || strcmp(name, "text") == 0)
        *format = TT_FORMAT_TEXT;
    else if (strcmp(name, "csv") == 0)
        *format = TT_FORMAT_CSV;
    else if (strcmp(name, "idx") == 0)
        *format = TT_FORMAT_IDX;
    else
        return tt_usage_error(cmd, "--format: '%s' is not text, csv or idx", name);
    if (features_seen && *format == TT_FORMAT_TEXT)
        return tt_usage_error(cmd, "--features is for numeric data (--format csv)");
    return TT_EXIT_OK;
}

int tt_text_flags(const char *cmd, tt_opt_t *opts, int num, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (tt_opt(opts, num, names[i])->seen)
            return tt_usage_error(cmd, "%s is for text; numeric data (--format csv) take none",
                                  names[i]);
    return TT_EXIT_OK;
}

int32_t tt_model_features(tf_model_t *model)
{
    tf_tensor_t *w = NULL;
    /* A numeric model's input projection is (E, F); a text model has none. */
    if (tf_model_vocab(model) != NULL ||
        tf_module_param_find(&w, NULL, tf_model_encoder(model), "proj.weight") != TF_STATUS_OK)
        return 0;
    return (int32_t)tf_tensor_dim(w, 1);
}

int tt_check_input(const char *cmd, const char *path, tf_model_t *model, int format,
                   int32_t features, int features_seen)
{
    const int32_t F = tt_model_features(model);
    if (format != TT_FORMAT_TEXT && F == 0) {
        fprintf(stderr, "tftrain %s: %s: a text model; --format %s needs a numeric model\n", cmd,
                path, format == TT_FORMAT_IDX ? "idx" : "csv");
        return TT_EXIT_DATA;
    }
    if (format == TT_FORMAT_TEXT && F > 0) {
        fprintf(stderr, "tftrain %s: %s: a numeric model of %d features; give --format csv\n",
                cmd, path, (int)F);
        return TT_EXIT_DATA;
    }
    if (features_seen && features != F) {
        fprintf(stderr, "tftrain %s: %s: the model has %d features, --features says %d\n", cmd,
                path, (int)F, (int)features);
        return TT_EXIT_DATA;
    }
    return TT_EXIT_OK;
}

int32_t tt_idx_features(const char *path)
{
    unsigned char h[16];
    FILE *f = fopen(path, "rb");
    size_t got = f != NULL ? fread(h, 1, sizeof h, f) : 0;
    if (f != NULL)
        fclose(f);
    if (got < sizeof h || h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] != 3 || h[12] >= 0x80)
        return 0;
    return (int32_t)((uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15]);
}

int tt_numeric_loader(const char *cmd, tf_ctx_t *ctx, const char *path, const char *shown,
                      const tf_loader_opts_t *lopts, const tt_idx_t *idx, tf_model_t *model,
                      int flags, tf_loader_t **out)
{
    const int learn = (flags & TT_NUM_LEARN) != 0;
    const int32_t F = lopts->num_features;
    tf_loader_opts_t o = *lopts;
    float *stats = (float *)malloc(2 * sizeof *stats * (size_t)F);
    tf_status_t st = TF_STATUS_OK;
    int rc = TT_EXIT_OK, has;
    *out = NULL;
    if (stats == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        return TT_EXIT_FAILED;
    }
    has = model != NULL && tf_model_standardization(model, stats, stats + F, F) == TF_STATUS_OK;
    if (!has && !learn)
        o.standardize = 0; /* a model without statistics takes values as they are */
    if (idx != NULL)
        st = tf_loader_create_idx(out, ctx, path, idx->labels, idx->per_class, &o);
    else
        st = tf_loader_create_numeric(out, ctx, path, &o);
    if (st != TF_STATUS_OK && (flags & TT_NUM_EMPTY_OK) &&
        (strstr(tf_last_error_message(), "no data lines") != NULL ||
         strstr(tf_last_error_message(), "no image is in the loader's split") != NULL)) {
        fprintf(stderr, "tftrain %s: note: no validation lines in %s; training without them\n",
                cmd, shown);
        goto done; /* a bad line is still an error */
    }
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot read '%s'", shown);
        goto done;
    }
    if (tf_loader_num_features(*out) != F) {
        fprintf(stderr, "tftrain %s: %s: images of %d columns; the model reads %d features\n",
                cmd, shown, (int)tf_loader_num_features(*out), (int)F);
        rc = TT_EXIT_DATA;
        goto done;
    }
    if (has) {
        st = tf_loader_set_standardization(*out, stats, stats + F, F);
    } else if (learn && model != NULL) {
        st = tf_loader_standardization(*out, stats, stats + F, F);
        if (st == TF_STATUS_OK)
            st = tf_model_set_standardization(model, stats, stats + F, F);
    }
    if (st != TF_STATUS_OK)
        rc = tt_fail(cmd, st, "standardising '%s'", shown);
done:
    if (rc != TT_EXIT_OK) {
        tf_loader_free(*out);
        *out = NULL;
    }
    free(stats);
    return rc;
}

/* A field without the blanks around it, NUL-terminated in place. */
static char *trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = '\0';
    return s;
}

static int is_number(const char *s, float *out)
{
    char *end = NULL;
    double v;
    if (*s == '\0')
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || !isfinite((float)v))
        return 0;
    *out = (float)v;
    return 1;
}

int tt_parse_csv_values(char *line, size_t len, int32_t F, float **values, size_t *cap,
                        int64_t *steps, char *why, size_t why_size)
{
    size_t fields = 1, n = 0, skip = 0;
    char *p = line, *end = line + len;
    for (size_t i = 0; i < len; i++)
        fields += line[i] == ',';
    /* The first field is a label when it is not a number, or when it is the one field more
     * than a whole number of steps. */
    {
        char *c = memchr(line, ',', len);
        char *fe = c != NULL ? c : end;
        char save = *fe;
        float v;
        *fe = '\0';
        int numeric = is_number(trim(line, fe), &v);
        *fe = save;
        if (c != NULL && (!numeric || (F > 1 && fields % (size_t)F == 1)))
            skip = 1;
    }
    if (fields - skip > *cap) {
        float *q = (float *)realloc(*values, sizeof *q * (fields - skip));
        if (q == NULL) {
            snprintf(why, why_size, "out of memory");
            return 0;
        }
        *values = q;
        *cap = fields - skip;
    }
    for (size_t k = 0; k < fields; k++) {
        char *c = memchr(p, ',', (size_t)(end - p));
        char *fe = c != NULL ? c : end;
        char *s = trim(p, fe);
        if (k >= skip && !is_number(s, &(*values)[n++])) {
            snprintf(why, why_size, "value %zu ('%.32s') is not a finite number", k - skip + 1, s);
            return 0;
        }
        p = fe + 1;
    }
    if (n % (size_t)F != 0) {
        snprintf(why, why_size, "%zu values; need a multiple of %d", n, (int)F);
        return 0;
    }
    *steps = (int64_t)(n / (size_t)F);
    return 1;
}
