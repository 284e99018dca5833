/* SPDX-License-Identifier: MIT */
/* tftrain eval and tftrain predict: use a fine-tuned model. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char eval_help[] =
    "usage: tftrain eval --model MODEL --data FILE [--format text|csv|idx] [--features F]\n"
    "                    [--labels FILE] [--threads N]\n"
    "\n"
    "Evaluate a fine-tuned model on `label<TAB>text` lines (labels as in training;\n"
    "for a multi-label model, `labels<TAB>text` with comma-separated label sets);\n"
    "--data - reads them from stdin. A numeric model (--format csv, the default for\n"
    "one) reads `label,x0f0,...,x0fF-1,x1f0,...` lines: a label, then F values per step,\n"
    "standardised with the statistics the model learnt in training; --features, when\n"
    "given, must be the model's F. With --format idx, FILE is an IDX image file\n"
    "(MNIST's format, decompressed), each image a sequence of its rows, and --labels\n"
    "FILE its IDX label file.\n"
    "Prints one line\n"
    "  accuracy=X macro_f1=X loss=X\n"
    "then a per-class table (precision, recall, F1 and support, from the confusion\n"
    "matrix; rows are the true classes) and the confusion matrix itself. For a\n"
    "multi-label model, accuracy is the fraction of texts whose whole label set is\n"
    "right, and the table gives each label's counts (TP, FP, FN) instead of a matrix.\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error.\n";

static const char predict_help[] =
    "usage: tftrain predict --model MODEL --input FILE [--format text|csv] [--features F]\n"
    "                       [--threads N]\n"
    "\n"
    "Classify each line of FILE (one text per line; `-` reads stdin). A numeric model\n"
    "(--format csv, the default for one) reads one sequence per line, F comma-separated\n"
    "values per step; a first field that is not a number (or one field more than whole\n"
    "steps) is a label and ignored, so labelled files serve too. For each input\n"
    "line, one line on stdout, so that outputs line up with inputs: the predicted\n"
    "label, then the probability of every class in the model's class order,\n"
    "tab-separated:\n"
    "  LABEL<TAB>p(CLASS0)=0.9731<TAB>p(CLASS1)=0.0269...\n"
    "A blank input line (empty or only white space) has no text to classify: its\n"
    "output line is empty.\n"
    "For a multi-label model, LABEL is the comma-separated set of labels with a\n"
    "probability of 0.5 or more (`-` for none), and each probability is that label's own.\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error.\n";

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

static int name_width(const tf_model_t *model, int32_t c)
{
    int32_t i;
    int width = 5;
    for (i = 0; i < c; i++) {
        int n = (int)strlen(tf_model_label_name(model, i));
        if (n > width)
            width = n;
    }
    return width;
}

static void print_row(int width, const char *name, int64_t tp, int64_t predicted, int64_t actual)
{
    double p = ratio(tp, predicted), r = ratio(tp, actual);
    double f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    printf("%-*s  %9.4f  %9.4f  %9.4f  %9lld", width, name, p, r, f, (long long)actual);
}

/* Multi-label: each label's own 2 x 2 counts {TN, FP, FN, TP}. */
static void print_label_table(const tf_model_t *model, const int64_t *counts, int32_t c)
{
    int32_t i;
    int width = name_width(model, c);
    printf("%-*s  %9s  %9s  %9s  %9s  %7s  %7s  %7s\n", width, "label", "precision", "recall",
           "f1", "support", "tp", "fp", "fn");
    for (i = 0; i < c; i++) {
        const int64_t *k = counts + 4 * i;
        print_row(width, tf_model_label_name(model, i), k[3], k[3] + k[1], k[3] + k[2]);
        printf("  %7lld  %7lld  %7lld\n", (long long)k[3], (long long)k[1], (long long)k[2]);
    }
}

static void print_class_table(const tf_model_t *model, const int64_t *cm, int32_t c)
{
    int32_t i, j;
    int width = name_width(model, c);
    printf("%-*s  %9s  %9s  %9s  %9s\n", width, "class", "precision", "recall", "f1", "support");
    for (i = 0; i < c; i++) {
        int64_t row = 0, col = 0;
        for (j = 0; j < c; j++) {
            row += cm[i * c + j];
            col += cm[j * c + i];
        }
        print_row(width, tf_model_label_name(model, i), cm[i * c + i], col, row);
        printf("\n");
    }
    printf("confusion matrix (row = true class, column = predicted):\n");
    for (i = 0; i < c; i++) {
        printf("%-*s ", width, tf_model_label_name(model, i));
        for (j = 0; j < c; j++)
            printf(" %7lld", (long long)cm[i * c + j]);
        printf("\n");
    }
}

int tt_cmd_eval(int argc, char **argv)
{
    static const char *cmd = "eval";
    const char *model_path = NULL, *data_path = NULL, *source, *shown, *format_name = NULL;
    int32_t threads = 0, features = 1;
    int format;
    tt_idx_t idx = {NULL, 0};
    tt_opt_t opts[] = {
        {"--model", TT_OPT_STRING, &model_path, 0, 0, 0},
        {"--data", TT_OPT_STRING, &data_path, 0, 0, 0},
        {"--threads", TT_OPT_INT, &threads, 0, 1024, 0},
        {"--format", TT_OPT_STRING, &format_name, 0, 0, 0},
        {"--features", TT_OPT_INT, &features, 1, 1 << 24, 0},
        {"--labels", TT_OPT_STRING, &idx.labels, 0, 0, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--model MODEL", "--data TSV", NULL};
    tf_ctx_t *ctx = NULL;
    tf_model_t *model = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *data = NULL;
    tf_loader_opts_t lopts;
    tf_metrics_t metrics;
    const char **names = NULL;
    int64_t *cm = NULL;
    int32_t c, i, multi;
    size_t ncounts;
    tf_status_t st;
    int rc;

    if (!tt_parse_command(cmd, argc, argv, opts, nopts, eval_help, NULL, required, &rc))
        return rc;
    /* Without --format, the model's kind decides, and --features is checked against it. */
    rc = tt_format(cmd, format_name, format_name != NULL && tt_opt(opts, nopts, "--features")->seen,
                   &format);
    if (rc != TT_EXIT_OK)
        return rc;
    if ((format == TT_FORMAT_IDX) != (idx.labels != NULL))
        return tt_usage_error(cmd, "--format idx and --labels FILE go together");
    /* The loader reads its file once, front to back, so a pipe will do. */
    source = strcmp(data_path, "-") == 0 ? "/dev/stdin" : data_path;
    shown = strcmp(data_path, "-") == 0 ? "stdin" : data_path;
    rc = tt_load_classifier(cmd, threads, model_path, &ctx, &model, &c);
    if (rc != TT_EXIT_OK)
        return rc;
    if (format_name == NULL && tt_model_features(model) > 0)
        format = TT_FORMAT_CSV;
    rc = tt_check_input(cmd, model_path, model, format, features,
                        tt_opt(opts, nopts, "--features")->seen);
    if (rc == TT_EXIT_OK && format == TT_FORMAT_TEXT)
        rc = tt_model_vocab(cmd, model, &vocab);
    if (rc != TT_EXIT_OK)
        goto done;
    multi = tf_model_is_multilabel(model);
    ncounts = multi ? 4 * (size_t)c : (size_t)c * (size_t)c;
    names = (const char **)malloc(sizeof *names * (size_t)c);
    cm = (int64_t *)calloc(ncounts, sizeof *cm);
    if (names == NULL || cm == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        rc = TT_EXIT_FAILED;
        goto done;
    }
    for (i = 0; i < c; i++)
        names[i] = tf_model_label_name(model, i);
    tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
    lopts.batch_size = 64;
    lopts.shuffle = 0;
    lopts.labels = names;
    lopts.num_labels = c;
    if (format != TT_FORMAT_TEXT) {
        lopts.num_features = tt_model_features(model);
        lopts.has_label = 1;
        rc = tt_numeric_loader(cmd, ctx, source, shown, &lopts,
                               format == TT_FORMAT_IDX ? &idx : NULL, model, 0, &data);
        if (rc != TT_EXIT_OK)
            goto done;
    } else {
        st = multi ? tf_loader_create_multilabel(&data, ctx, vocab, source, &lopts)
                   : tf_loader_create_labeled(&data, ctx, vocab, source, &lopts);
        if (st != TF_STATUS_OK) {
            rc = tt_fail(cmd, st, "cannot read '%s'", shown);
            goto done;
        }
        tt_report_unknown(cmd, data, shown);
    }
    tf_metrics_init(&metrics, TF_METRICS_VERSION);
    st = tf_evaluate(model, data, &metrics, cm, ncounts);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "evaluating %s on %s failed", model_path, shown);
        goto done;
    }
    printf("accuracy=%.4f macro_f1=%.4f loss=%.4f\n", metrics.accuracy, metrics.macro_f1,
           metrics.loss);
    if (multi)
        print_label_table(model, cm, c);
    else
        print_class_table(model, cm, c);
    rc = TT_EXIT_OK;
done:
    free(cm);
    free(names);
    tf_loader_free(data);
    tf_model_free(model);
    tf_ctx_free(ctx);
    return rc;
}

int tt_cmd_predict(int argc, char **argv)
{
    static const char *cmd = "predict";
    const char *model_path = NULL, *input = NULL, *format_name = NULL;
    int32_t threads = 0, features = 1, F = 0;
    int format;
    tt_opt_t opts[] = {
        {"--model", TT_OPT_STRING, &model_path, 0, 0, 0},
        {"--input", TT_OPT_STRING, &input, 0, 0, 0},
        {"--threads", TT_OPT_INT, &threads, 0, 1024, 0},
        {"--format", TT_OPT_STRING, &format_name, 0, 0, 0},
        {"--features", TT_OPT_INT, &features, 1, 1 << 24, 0},
    };
    float *values = NULL;
    size_t values_cap = 0;
    char why[128];
    int64_t steps;
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--model MODEL", "--input FILE", NULL};
    tf_ctx_t *ctx = NULL;
    tf_model_t *model = NULL;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    float *probs = NULL;
    int32_t c, i, best;
    tf_status_t st;
    int rc;

    if (!tt_parse_command(cmd, argc, argv, opts, nopts, predict_help, NULL, required, &rc))
        return rc;
    /* Without --format, the model's kind decides, and --features is checked against it. */
    rc = tt_format(cmd, format_name, format_name != NULL && tt_opt(opts, nopts, "--features")->seen,
                   &format);
    if (rc != TT_EXIT_OK)
        return rc;
    if (format == TT_FORMAT_IDX)
        return tt_usage_error(cmd, "reads text or CSV lines; for IDX images use `tftrain eval`");
    rc = tt_load_classifier(cmd, threads, model_path, &ctx, &model, &c);
    if (rc != TT_EXIT_OK)
        return rc;
    F = tt_model_features(model);
    if (format_name == NULL && F > 0)
        format = TT_FORMAT_CSV;
    rc = tt_check_input(cmd, model_path, model, format, features,
                        tt_opt(opts, nopts, "--features")->seen);
    if (rc != TT_EXIT_OK)
        goto done;
    probs = (float *)malloc(sizeof *probs * (size_t)c);
    if (probs == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        rc = TT_EXIT_FAILED;
        goto done;
    }
    in = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
    if (in == NULL) {
        fprintf(stderr, "tftrain %s: cannot open '%s': %s\n", cmd, input, strerror(errno));
        rc = TT_EXIT_DATA;
        goto done;
    }
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (tt_is_blank(line, (size_t)n)) {
            fputc('\n', stdout);
            continue;
        }
        if (format == TT_FORMAT_CSV) {
            if (!tt_parse_csv_values(line, (size_t)n, F, &values, &values_cap, &steps, why,
                                     sizeof why)) {
                fprintf(stderr, "tftrain %s: %s:%ld: %s\n", cmd, input, lineno, why);
                rc = TT_EXIT_DATA;
                goto done;
            }
            st = tf_predict_features(model, values, steps, probs, (size_t)c);
        } else {
            st = tf_predict_text(model, line, n, probs, (size_t)c);
        }
        if (st != TF_STATUS_OK) {
            rc = tt_fail(cmd, st, "%s:%ld", input, lineno);
            goto done;
        }
        if (tf_model_is_multilabel(model)) {
            int any = 0;
            for (i = 0; i < c; i++)
                if (probs[i] >= 0.5f)
                    printf("%s%s", any++ ? "," : "", tf_model_label_name(model, i));
            if (!any)
                fputs("-", stdout);
        } else {
            best = 0;
            for (i = 1; i < c; i++)
                if (probs[i] > probs[best])
                    best = i;
            fputs(tf_model_label_name(model, best), stdout);
        }
        for (i = 0; i < c; i++)
            printf("\tp(%s)=%.4f", tf_model_label_name(model, i), (double)probs[i]);
        fputc('\n', stdout);
    }
    if (ferror(in)) {
        fprintf(stderr, "tftrain %s: cannot read '%s': %s\n", cmd, input, strerror(errno));
        rc = TT_EXIT_DATA;
        goto done;
    }
    rc = TT_EXIT_OK;
done:
    if (in != NULL && in != stdin)
        fclose(in);
    free(line);
    free(values);
    free(probs);
    tf_model_free(model);
    tf_ctx_free(ctx);
    return rc;
}
