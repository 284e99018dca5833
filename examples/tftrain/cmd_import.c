/* SPDX-License-Identifier: MIT */
/* tftrain import: a model from weights saved by PyTorch (safetensors.torch.save_file of a
 * state_dict), the architecture read from a small JSON file. */
#include "tftrain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char import_help[] =
    "usage: tftrain import --torch FILE --config JSON --vocab FILE --out MODEL\n"
    "\n"
    "Make a libtransfer model from weights trained or edited in PyTorch and saved with\n"
    "safetensors.torch.save_file(model.state_dict(), FILE) under libtransfer's names:\n"
    "embedding.weight, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0,\n"
    "lstm.bias_hh_l0 (gru.* for a GRU; _l1... for more layers, _reverse for the second\n"
    "direction), lm_head.weight, lm_head.bias, and head.weight, head.bias for a classifier\n"
    "(whose input is the last, mean and max states concatenated, as `pooling` says). Every\n"
    "tensor must be F32 (call .float() first) with the shape the configuration implies.\n"
    "\n"
    "  --torch FILE    the safetensors file\n"
    "  --config JSON   the architecture, a JSON object with the keys (defaults in ()):\n"
    "                    embedding_dim (100), hidden_size (200), num_layers (1),\n"
    "                    bidirectional (0), tie_weights (0), cell (\"lstm\" or \"gru\"),\n"
    "                  and for a file with head.*: labels (the class names in the order of\n"
    "                  the head's rows, a JSON array of strings; two labels make one\n"
    "                  logit), pooling (OR of 1 last, 2 mean, 4 max; default 7),\n"
    "                  multi_label (0)\n"
    "  --vocab FILE    the tokens of embedding.weight's rows: a vocabulary saved by\n"
    "                  libtransfer, or one token per line whose first four lines are\n"
    "                  <pad> <unk> <bos> <eos>\n"
    "  --out MODEL     where to write the model\n"
    "\n" TT_EXIT_HELP;

#define MAX_LABELS 4096

typedef struct {
    const char *p, *end;
    char err[160];
} json_t;

static void skip_ws(json_t *j)
{
    while (j->p < j->end && isspace((unsigned char)*j->p))
        j->p++;
}

/* A JSON string without escapes other than \" and \\, into a malloc'd copy. */
static char *json_string(json_t *j)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p != '"') {
        snprintf(j->err, sizeof j->err, "a string was expected");
        return NULL;
    }
    j->p++;
    char *out = malloc((size_t)(j->end - j->p) + 1), *o = out;
    if (out == NULL)
        return NULL;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p == '\\') {
            if (j->p + 1 >= j->end || (j->p[1] != '"' && j->p[1] != '\\')) {
                snprintf(j->err, sizeof j->err, "only the escapes \\\" and \\\\ are supported");
                free(out);
                return NULL;
            }
            j->p++;
        }
        *o++ = *j->p++;
    }
    if (j->p >= j->end) {
        snprintf(j->err, sizeof j->err, "a string is not closed");
        free(out);
        return NULL;
    }
    j->p++;
    *o = '\0';
    return out;
}

/* An integer in [lo, hi]. */
static int json_int(json_t *j, const char *key, long lo, long hi, int32_t *out)
{
    skip_ws(j);
    char buf[32];
    size_t n = 0;
    while (j->p < j->end && (isalnum((unsigned char)*j->p) || strchr("+-.", *j->p) != NULL)) {
        if (n + 1 < sizeof buf)
            buf[n++] = *j->p;
        j->p++;
    }
    buf[n] = '\0';
    char *e;
    long v = strtol(buf, &e, 10);
    if (n == 0 || *e != '\0' || v < lo || v > hi) {
        snprintf(j->err, sizeof j->err, "'%s' is not an integer in [%ld, %ld]", key, lo, hi);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

typedef struct {
    tf_model_opts_t mo;
    tf_import_opts_t io;
    char *labels[MAX_LABELS];
    int32_t num_labels;
} config_t;

static int parse_labels(json_t *j, config_t *c)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p != '[') {
        snprintf(j->err, sizeof j->err, "'labels' is not an array of strings");
        return -1;
    }
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (c->num_labels == MAX_LABELS) {
            snprintf(j->err, sizeof j->err, "more than %d labels", MAX_LABELS);
            return -1;
        }
        if ((c->labels[c->num_labels] = json_string(j)) == NULL)
            return -1;
        c->num_labels++;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        snprintf(j->err, sizeof j->err, "'labels': ',' or ']' expected");
        return -1;
    }
}

static int parse_value(json_t *j, const char *key, config_t *c)
{
    tf_model_opts_t *m = &c->mo;
    if (strcmp(key, "embedding_dim") == 0)
        return json_int(j, key, 1, 65536, &m->embedding_dim);
    if (strcmp(key, "hidden_size") == 0)
        return json_int(j, key, 1, 65536, &m->hidden_size);
    if (strcmp(key, "num_layers") == 0)
        return json_int(j, key, 1, 64, &m->num_layers);
    if (strcmp(key, "bidirectional") == 0)
        return json_int(j, key, 0, 1, &m->bidirectional);
    if (strcmp(key, "tie_weights") == 0)
        return json_int(j, key, 0, 1, &m->tie_weights);
    if (strcmp(key, "multi_label") == 0)
        return json_int(j, key, 0, 1, &c->io.multi_label);
    if (strcmp(key, "pooling") == 0) {
        int32_t v;
        if (json_int(j, key, 1, 7, &v) != 0)
            return -1;
        c->io.pooling = (uint32_t)v;
        return 0;
    }
    if (strcmp(key, "cell") == 0) {
        char *s = json_string(j);
        int rc = s == NULL ? -1 : 0;
        if (s != NULL && strcmp(s, "lstm") != 0 && strcmp(s, "gru") != 0) {
            snprintf(j->err, sizeof j->err, "'cell' is not \"lstm\" or \"gru\"");
            rc = -1;
        } else if (s != NULL) {
            m->cell = strcmp(s, "gru") == 0 ? TF_CELL_GRU : TF_CELL_LSTM;
        }
        free(s);
        return rc;
    }
    if (strcmp(key, "labels") == 0)
        return parse_labels(j, c);
    snprintf(j->err, sizeof j->err, "unknown key '%.40s'", key);
    return -1;
}

static int parse_config(json_t *j, config_t *c)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p != '{') {
        snprintf(j->err, sizeof j->err, "not a JSON object");
        return -1;
    }
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            char *key = json_string(j);
            if (key == NULL)
                return -1;
            skip_ws(j);
            int rc = j->p < j->end && *j->p == ':' ? (j->p++, parse_value(j, key, c)) : -1;
            if (rc != 0 && j->err[0] == '\0')
                snprintf(j->err, sizeof j->err, "':' expected after '%.40s'", key);
            free(key);
            if (rc != 0)
                return -1;
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            snprintf(j->err, sizeof j->err, "',' or '}' expected");
            return -1;
        }
    }
    skip_ws(j);
    if (j->p != j->end) {
        snprintf(j->err, sizeof j->err, "text after the object");
        return -1;
    }
    return 0;
}

/* The whole file into a malloc'd, NUL-terminated buffer (at most `max` bytes). */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A vocabulary file of libtransfer, or a plain token list in row order (specials first). */
static int load_vocab(const char *cmd, tf_ctx_t *ctx, const char *path, tf_vocab_t **out)
{
    size_t len;
    char *text = read_file(path, (size_t)1 << 30, &len);
    if (text == NULL) {
        fprintf(stderr, "tftrain %s: cannot read --vocab '%s'\n", cmd, path);
        return TT_EXIT_DATA;
    }
    tf_status_t st;
    if (strncmp(text, "libtransfer-vocab ", 18) == 0) {
        st = tf_vocab_deserialize(out, ctx, text, len);
    } else {
        /* Serialise the list: backslashes doubled, CR dropped, the size counted. */
        size_t lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += text[i] == '\n' || (i + 1 == len);
        char *ser = malloc(2 * len + 128), *o = ser;
        if (ser == NULL) {
            free(text);
            return tt_fail(cmd, TF_STATUS_ENOMEM, "cannot read --vocab '%s'", path);
        }
        o += sprintf(o, "libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 0\nunicode 1\nsize %zu\n", lines);
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '\r' && (i + 1 == len || text[i + 1] == '\n'))
                continue;
            if (text[i] == '\\')
                *o++ = '\\';
            *o++ = text[i];
        }
        if (len > 0 && text[len - 1] != '\n')
            *o++ = '\n';
        st = tf_vocab_deserialize(out, ctx, ser, (size_t)(o - ser));
        free(ser);
    }
    free(text);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "--vocab '%s'", path);
    return TT_EXIT_OK;
}

int tt_cmd_import(int argc, char **argv)
{
    static const char *cmd = "import";
    const char *torch = NULL, *config_path = NULL, *vocab_path = NULL, *out = NULL;
    tt_opt_t opts[] = {
        {"--torch", TT_OPT_STRING, &torch, 0, 0, 0},
        {"--config", TT_OPT_STRING, &config_path, 0, 0, 0},
        {"--vocab", TT_OPT_STRING, &vocab_path, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    config_t c;
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_model_t *model = NULL;
    char *text = NULL;
    size_t len;
    int rc;
    if (!tt_parse_command(cmd, argc, argv, opts, nopts, import_help, NULL, NULL, &rc))
        return rc;
    if (torch == NULL || config_path == NULL || vocab_path == NULL || out == NULL)
        return tt_usage_error(cmd, "--torch, --config, --vocab and --out are required");
    memset(&c, 0, sizeof c);
    tf_model_opts_init(&c.mo, TF_MODEL_OPTS_VERSION);
    tf_import_opts_init(&c.io, TF_IMPORT_OPTS_VERSION);
    rc = tt_check_out(cmd, "--out", out);
    if (rc != TT_EXIT_OK)
        return rc;
    text = read_file(config_path, (size_t)1 << 24, &len);
    if (text == NULL) {
        fprintf(stderr, "tftrain %s: cannot read --config '%s'\n", cmd, config_path);
        return TT_EXIT_DATA;
    }
    json_t j = {text, text + len, ""};
    if (parse_config(&j, &c) != 0) {
        fprintf(stderr, "tftrain %s: --config '%s': %s\n", cmd, config_path,
                j.err[0] ? j.err : "out of memory");
        rc = TT_EXIT_DATA;
        goto done;
    }
    c.io.labels = (const char *const *)c.labels;
    c.io.num_labels = c.num_labels;
    rc = tt_ctx_create(cmd, &ctx, 1, 42);
    if (rc != TT_EXIT_OK)
        goto done;
    rc = load_vocab(cmd, ctx, vocab_path, &vocab);
    if (rc != TT_EXIT_OK)
        goto done;
    tf_status_t st = tf_model_import(&model, ctx, torch, vocab, &c.mo, &c.io);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot import '%s'", torch);
        goto done;
    }
    rc = tt_model_save(cmd, model, out);
done:
    for (int32_t i = 0; i < c.num_labels; i++)
        free(c.labels[i]);
    free(text);
    tf_model_free(model);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return rc;
}
