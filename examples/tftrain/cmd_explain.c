/* SPDX-License-Identifier: MIT */
/* tftrain explain: integrated-gradient explanations of a fine-tuned model's predictions, one
 * section per input line of a self-contained HTML page (report_html.c). */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char explain_help[] =
    "usage: tftrain explain --model MODEL --input FILE --out REPORT.html [--steps N]\n"
    "                       [--class LABEL] [--rule gl|trapezoid] [--baseline zero|pad|unk]\n"
    "                       [--threads N]\n"
    "\n"
    "Explain the predictions of a fine-tuned text model: for each line of FILE (one text\n"
    "per line; `-` reads stdin; blank lines are skipped), how much each token moved the\n"
    "probability of the class, by integrated gradients over the embedding (docs/explain.md).\n"
    "The page REPORT.html needs no server and fetches nothing: each text's tokens are\n"
    "highlighted, red for the class and blue against it, the stronger the larger the\n"
    "token's share; hovering a token shows its value. Each text also shows the predicted\n"
    "label and its probability, f(x) and f(baseline) of the class explained, and the\n"
    "quadrature's gap (sum of the attributions minus f(x) - f(baseline)); a gap above\n"
    "1% of f(x) - f(baseline) is reported on stderr: more --steps make it smaller.\n"
    "Prints one line: texts=N max_gap=X out=REPORT.html\n"
    "\n"
    "  --steps N          quadrature steps along the path, 1 to 4096 (default 32)\n"
    "  --class LABEL      the class to explain (default: each text's predicted class)\n"
    "  --rule R           gl: Gauss-Legendre nodes (default); trapezoid: equal steps\n"
    "  --baseline B       zero: an all-zero embedding (default); pad or unk: the\n"
    "                     embedding of <pad> or <unk> at every position\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error.\n";

/* The index of `name` in the model's labels, or -1. */
static int32_t label_index(const tf_model_t *model, int32_t c, const char *name)
{
    int32_t i;
    for (i = 0; i < c; i++)
        if (strcmp(tf_model_label_name(model, i), name) == 0)
            return i;
    return -1;
}

/* Options from the command line into `o`; a usage error's exit status otherwise. */
static int explain_opts(const char *cmd, tf_model_t *model, int32_t c, int32_t steps,
                        const char *label, const char *rule, const char *baseline,
                        tf_explain_opts_t *o)
{
    tf_explain_opts_init(o, TF_EXPLAIN_OPTS_VERSION);
    o->steps = steps;
    if (label != NULL && (o->target_class = label_index(model, c, label)) < 0)
        return tt_usage_error(cmd, "--class: the model has no class '%s'", label);
    if (rule == NULL || strcmp(rule, "gl") == 0)
        o->rule = TF_EXPLAIN_GAUSS_LEGENDRE;
    else if (strcmp(rule, "trapezoid") == 0)
        o->rule = TF_EXPLAIN_TRAPEZOID;
    else
        return tt_usage_error(cmd, "--rule is '%s'; use gl or trapezoid", rule);
    if (baseline == NULL || strcmp(baseline, "zero") == 0)
        o->baseline = TF_EXPLAIN_BASELINE_ZERO;
    else if (strcmp(baseline, "pad") == 0)
        o->baseline = TF_EXPLAIN_BASELINE_PAD;
    else if (strcmp(baseline, "unk") == 0)
        o->baseline = TF_EXPLAIN_BASELINE_UNK;
    else
        return tt_usage_error(cmd, "--baseline is '%s'; use zero, pad or unk", baseline);
    return TT_EXIT_OK;
}

/* Explain one text into the report. */
static int explain_line(const char *cmd, tt_report_t *rep, tf_model_t *model, int32_t c,
                        const tf_explain_opts_t *o, const char *line, size_t n, const char *input,
                        long lineno, double *max_gap)
{
    tf_explain_result_t r;
    float *attr = NULL, *probs = NULL;
    int32_t *ids = NULL;
    size_t cap;
    tf_status_t st;
    int rc = TT_EXIT_FAILED;
    tf_explain_result_init(&r, TF_EXPLAIN_RESULT_VERSION);
    st = tf_explain_text(model, line, n, o, NULL, NULL, 0, &r);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "%s:%ld", input, lineno);
    cap = (size_t)r.num_steps;
    attr = (float *)malloc(cap * sizeof *attr);
    ids = (int32_t *)malloc(cap * sizeof *ids);
    probs = (float *)malloc((size_t)c * sizeof *probs);
    if (attr == NULL || ids == NULL || probs == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        goto done;
    }
    st = tf_predict_text(model, line, n, probs, (size_t)c);
    if (st == TF_STATUS_OK)
        st = tf_explain_text(model, line, n, o, attr, ids, cap, &r);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "%s:%ld", input, lineno);
        goto done;
    }
    if (fabs(r.gap) > *max_gap)
        *max_gap = fabs(r.gap);
    if (fabs(r.gap) > 0.01 * fabs(r.f_input - r.f_baseline) && fabs(r.gap) > 1e-4)
        fprintf(stderr,
                "tftrain %s: %s:%ld: the shares miss f(x) - f(baseline) = %.4f by %.4f; the "
                "model is steep along the path: more --steps follow it better\n",
                cmd, input, lineno, r.f_input - r.f_baseline, r.gap);
    tt_report_text(rep, lineno, line, n, &r, probs, attr, ids);
    rc = TT_EXIT_OK;
done:
    free(attr);
    free(ids);
    free(probs);
    return rc;
}

int tt_cmd_explain(int argc, char **argv)
{
    static const char *cmd = "explain";
    const char *model_path = NULL, *input = NULL, *out = NULL, *label = NULL, *rule = NULL;
    const char *baseline = NULL;
    int32_t threads = 0, steps = 32;
    tt_opt_t opts[] = {
        {"--model", TT_OPT_STRING, &model_path, 0, 0, 0},
        {"--input", TT_OPT_STRING, &input, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--steps", TT_OPT_INT, &steps, 1, TF_EXPLAIN_MAX_STEPS, 0},
        {"--class", TT_OPT_STRING, &label, 0, 0, 0},
        {"--rule", TT_OPT_STRING, &rule, 0, 0, 0},
        {"--baseline", TT_OPT_STRING, &baseline, 0, 0, 0},
        {"--threads", TT_OPT_INT, &threads, 0, 1024, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--model MODEL", "--input FILE", "--out REPORT.html",
                                           NULL};
    tf_ctx_t *ctx = NULL;
    tf_model_t *model = NULL;
    tf_explain_opts_t o;
    tt_report_t rep;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, texts = 0;
    double max_gap = 0;
    int32_t c;
    int rc;

    memset(&rep, 0, sizeof rep);
    if (!tt_parse_command(cmd, argc, argv, opts, nopts, explain_help, NULL, required, &rc))
        return rc;
    rc = tt_check_out(cmd, "--out", out);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_load_classifier(cmd, threads, model_path, &ctx, &model, &c);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = explain_opts(cmd, model, c, steps, label, rule, baseline, &o);
    if (rc != TT_EXIT_OK)
        goto done;
    in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
    if (in == NULL) {
        fprintf(stderr, "tftrain %s: cannot open '%s': %s\n", cmd, input, strerror(errno));
        rc = TT_EXIT_DATA;
        goto done;
    }
    rc = tt_report_open(cmd, &rep, out, model, model_path, &o);
    if (rc != TT_EXIT_OK)
        goto done;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (tt_is_blank(line, (size_t)n))
            continue;
        rc = explain_line(cmd, &rep, model, c, &o, line, (size_t)n, input, lineno, &max_gap);
        if (rc != TT_EXIT_OK)
            goto done;
        texts++;
    }
    if (ferror(in)) {
        fprintf(stderr, "tftrain %s: cannot read '%s': %s\n", cmd, input, strerror(errno));
        rc = TT_EXIT_DATA;
        goto done;
    }
    rc = tt_report_close(cmd, &rep, texts);
    if (rc == TT_EXIT_OK)
        printf("texts=%ld max_gap=%.6f out=%s\n", texts, max_gap, out);
done:
    tt_report_abandon(&rep);
    if (in != NULL && in != stdin)
        fclose(in);
    free(line);
    tf_model_free(model);
    tf_ctx_free(ctx);
    return rc;
}
