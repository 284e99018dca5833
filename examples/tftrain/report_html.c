/* SPDX-License-Identifier: MIT */
/* The page tftrain explain writes: one self-contained HTML file (inline CSS, no script, nothing
 * fetched), every text from the input or the model escaped, written to a temporary file that
 * replaces REPORT.html only once complete. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Colours of the two signs (red for the class, blue against it) and the strongest opacity. */
#define RED "214, 39, 40"
#define BLUE "31, 119, 180"
#define MAX_ALPHA 0.85

static const char style[] =
    "body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222;\n"
    "       background: #fff; max-width: 62em; margin: 1.5em auto; padding: 0 1em; }\n"
    "h1 { font-size: 1.3em; margin-bottom: .2em; }\n"
    ".meta, .legend { color: #555; font-size: .9em; margin: .3em 0; }\n"
    ".legend .t { color: #222; }\n"
    "section { border-top: 1px solid #ddd; padding: .5em 0 .7em; }\n"
    ".pred { margin: .2em 0 .4em; font-size: .95em; }\n"
    ".pred .n { color: #888; }\n"
    ".tokens { line-height: 2.2; margin: 0; }\n"
    ".t { padding: .15em .2em; border-radius: 3px; white-space: pre-wrap; }\n"
    ".unk { font-style: italic; }\n"
    ".orig { color: #777; font-size: .85em; margin: .3em 0 0; overflow-wrap: anywhere; }\n";

/* Length of the valid UTF-8 character at s (n bytes left), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Text as HTML character data (also inside a quoted attribute): markup characters as entities,
 * control characters other than tab and invalid UTF-8 as U+FFFD. */
static void put_escaped(FILE *f, const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_char(s + i, n - i);
        if (k == 0 || (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
            fputs("\xef\xbf\xbd", f);
            i += k ? k : 1;
            continue;
        }
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fwrite(s + i, 1, k, f);
        }
        i += k;
    }
}

static void put_str(FILE *f, const char *s)
{
    put_escaped(f, s, strlen(s));
}

int tt_report_open(const char *cmd, tt_report_t *rep, const char *path, tf_model_t *model,
                   const char *model_path, const tf_explain_opts_t *o)
{
    static const char *baselines[] = {"", "an all-zero embedding", "the embedding of &lt;pad&gt;",
                                      "the embedding of &lt;unk&gt;"};
    size_t len = strlen(path);
    memset(rep, 0, sizeof *rep);
    rep->tmp = (char *)malloc(len + 5);
    if (rep->tmp == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        return TT_EXIT_FAILED;
    }
    memcpy(rep->tmp, path, len);
    memcpy(rep->tmp + len, ".tmp", 5);
    rep->path = path;
    rep->model = model;
    rep->vocab = tf_model_vocab(model);
    rep->words = rep->vocab != NULL && tf_vocab_kind(rep->vocab) == TF_VOCAB_KIND_WORD;
    rep->f = fopen(rep->tmp, "wb");
    if (rep->f == NULL) {
        fprintf(stderr, "tftrain %s: cannot write '%s'\n", cmd, rep->tmp);
        return TT_EXIT_DATA;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          rep->f);
    fputs("Explanations: ", rep->f);
    put_str(rep->f, model_path);
    fprintf(rep->f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    fputs("<h1>What the model looked at</h1>\n<p class=\"meta\">Model <code>", rep->f);
    put_str(rep->f, model_path);
    fprintf(rep->f,
            "</code>. Integrated gradients over the embedding, %d %s steps from %s "
            "(libtransfer %s).</p>\n",
            o->steps, o->rule == TF_EXPLAIN_TRAPEZOID ? "trapezoid" : "Gauss-Legendre",
            baselines[o->baseline], tf_version_string());
    fputs("<p class=\"legend\">Each token's share of the change in the explained class's "
          "probability, from the baseline to the text: <span class=\"t\" style=\"background: "
          "rgba(" RED ", 0.6)\">for the class</span> <span class=\"t\" style=\"background: "
          "rgba(" BLUE ", 0.6)\">against it</span>, stronger for a larger share (scaled to "
          "each text's largest); hover a token for its value.</p>\n",
          rep->f);
    return TT_EXIT_OK;
}

void tt_report_text(tt_report_t *rep, long lineno, const char *line, size_t n,
                    const tf_explain_result_t *r, const float *probs, const float *attr,
                    const int32_t *ids)
{
    FILE *f = rep->f;
    const char *target = tf_model_label_name(rep->model, r->target_class);
    double top = 0;
    int64_t t;
    for (t = 0; t < r->num_steps; t++)
        top = fmax(top, fabs((double)attr[t]));
    fprintf(f, "<section>\n<p class=\"pred\"><span class=\"n\">line %ld</span> predicted <b>",
            lineno);
    put_str(f, tf_model_label_name(rep->model, r->predicted_class));
    fprintf(f, "</b> (p = %.4f). Explaining <b>", (double)probs[r->predicted_class]);
    put_str(f, target);
    fprintf(f,
            "</b>: p = %.4f for the text, %.4f for the baseline; the tokens' shares sum to "
            "%+.4f (gap %.1e).</p>\n<p class=\"tokens\">",
            r->f_input, r->f_baseline, r->sum, r->gap);
    for (t = 0; t < r->num_steps; t++) {
        size_t len = 0;
        const char *tok = tf_vocab_token(rep->vocab, ids[t], &len);
        double a = attr[t], alpha = top > 0 ? MAX_ALPHA * fabs(a) / top : 0.0;
        if (t > 0 && rep->words)
            fputc(' ', f);
        fprintf(f, "<span class=\"t%s\" style=\"background: rgba(%s, %.3f)\" title=\"",
                ids[t] == TF_VOCAB_UNK ? " unk" : "", a >= 0 ? RED : BLUE, alpha);
        put_str(f, target);
        fprintf(f, " %+.4f\" data-a=\"%.9g\">", a, a);
        put_escaped(f, tok != NULL ? tok : "", tok != NULL ? len : 0);
        fputs("</span>", f);
    }
    fputs("</p>\n<p class=\"orig\">", f);
    put_escaped(f, line, n);
    fputs("</p>\n</section>\n", f);
}

int tt_report_close(const char *cmd, tt_report_t *rep, long texts)
{
    int bad;
    fprintf(rep->f, "<p class=\"meta\">%ld text%s.</p>\n</body>\n</html>\n", texts,
            texts == 1 ? "" : "s");
    bad = ferror(rep->f);
    bad |= fclose(rep->f) != 0;
    rep->f = NULL;
    if (bad || rename(rep->tmp, rep->path) != 0) {
        fprintf(stderr, "tftrain %s: cannot write '%s'\n", cmd, rep->path);
        return TT_EXIT_DATA;
    }
    free(rep->tmp);
    rep->tmp = NULL;
    return TT_EXIT_OK;
}

void tt_report_abandon(tt_report_t *rep)
{
    if (rep->f != NULL)
        fclose(rep->f);
    if (rep->tmp != NULL)
        remove(rep->tmp);
    free(rep->tmp);
    memset(rep, 0, sizeof *rep);
}
