/* SPDX-License-Identifier: MIT */
/* tftrain adapt: make a fine-tuned classifier decide for the class balance of new data. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char adapt_help[] =
    "usage: tftrain adapt --model MODEL (--unlabeled FILE [--unlabeled FILE ...] | --prior P)\n"
    "                     --out MODEL2 [--threads N]\n"
    "\n"
    "A classifier learns how common each class was in its training data. Where new data\n"
    "have another balance (more spam than before, say), its decisions lean towards the\n"
    "old majority. `adapt` estimates the class balance of the new data from unlabelled\n"
    "texts of it (one text per line), by the EM procedure of Saerens, Latinne and\n"
    "Decaestecker (2002) on the model's calibrated probabilities, and writes a model that\n"
    "decides for that balance; `tftrain eval` and `predict` use it. The texts need no\n"
    "labels; a few hundred are enough.\n"
    "\n"
    "  --model MODEL      fine-tuned model (from `tftrain finetune`)\n"
    "  --unlabeled FILE   texts of the new data, one per line (repeat for several files)\n"
    "  --prior P          a known balance instead: LABEL=P,... for every label, summing\n"
    "                     to 1 (each label's own rate for a multi-label model), or\n"
    "                     `train` to decide as trained again\n"
    "  --out MODEL2       where to write the adapted model\n"
    "  --threads N        compute threads, 0 = all cores (default 0)\n"
    "\n"
    "The last line on stdout is a summary:\n"
    "  texts=N iterations=N temperature=X prior=LABEL:P,... train_prior=LABEL:P,...\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error, 3 failed otherwise.\n";

/* Every non-empty line of the files. */
static int read_texts(const char *cmd, const tt_strings_t *files, tf_vocab_t *vocab, tt_texts_t *t)
{
    unsigned f;
    for (f = 0; f < files->count; f++) {
        int rc = tt_read_texts(cmd, files->items[f], 0, vocab, t);
        if (rc != TT_EXIT_OK)
            return rc;
    }
    if (t->n == 0) {
        fprintf(stderr, "tftrain %s: the unlabelled files have no text\n", cmd);
        return TT_EXIT_DATA;
    }
    return TT_EXIT_OK;
}

static void print_prior(tf_model_t *model, int32_t kind, int32_t c, double *buf)
{
    int32_t i;
    if (tf_model_prior(model, kind, buf, (size_t)c) != TF_STATUS_OK) {
        fputs("-", stdout);
        return;
    }
    for (i = 0; i < c; i++)
        printf("%s%s:%.4f", i ? "," : "", tf_model_label_name(model, i), buf[i]);
}

int tt_cmd_adapt(int argc, char **argv)
{
    static const char *cmd = "adapt";
    const char *model_path = NULL, *out = NULL, *prior = NULL;
    tt_strings_t unlabeled = {{0}, 0};
    int32_t threads = 0, c, iterations = 0;
    tt_opt_t opts[] = {
        {"--model", TT_OPT_STRING, &model_path, 0, 0, 0},
        {"--unlabeled", TT_OPT_STRINGS, &unlabeled, 0, 0, 0},
        {"--prior", TT_OPT_STRING, &prior, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--threads", TT_OPT_INT, &threads, 0, 1024, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--model MODEL", "--out MODEL2", NULL};
    tf_ctx_t *ctx = NULL;
    tf_model_t *model = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *data = NULL;
    tf_loader_opts_t lopts;
    tt_texts_t texts;
    double *buf = NULL;
    tf_status_t st;
    int rc;

    memset(&texts, 0, sizeof texts);
    if (!tt_parse_command(cmd, argc, argv, opts, nopts, adapt_help, NULL, required, &rc))
        return rc;
    if ((unlabeled.count > 0) == (prior != NULL))
        return tt_usage_error(cmd, "give either --unlabeled FILE or --prior P");
    rc = tt_check_out(cmd, "--out", out);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_load_classifier(cmd, threads, model_path, &ctx, &model, &c);
    if (rc != TT_EXIT_OK)
        return rc;
    buf = (double *)malloc(sizeof *buf * (size_t)c);
    if (buf == NULL) {
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        rc = TT_EXIT_FAILED;
        goto done;
    }
    if (prior != NULL) {
        if (strcmp(prior, "train") == 0) {
            st = tf_model_set_prior(model, NULL, 0);
        } else {
            rc = tt_label_values(cmd, "--prior", prior, model, NULL, c, NAN, buf);
            if (rc != TT_EXIT_OK)
                goto done;
            st = tf_model_set_prior(model, buf, (size_t)c);
        }
        if (st != TF_STATUS_OK) {
            rc = st == TF_STATUS_EINVAL ? tt_usage_error(cmd, "--prior: %s", tf_last_error_message())
                                        : tt_fail(cmd, st, "%s", model_path);
            goto done;
        }
    } else {
        rc = tt_model_vocab(cmd, model, &vocab);
        if (rc != TT_EXIT_OK)
            goto done;
        rc = read_texts(cmd, &unlabeled, vocab, &texts);
        if (rc != TT_EXIT_OK)
            goto done;
        tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
        lopts.batch_size = 64;
        lopts.shuffle = 0;
        st = tf_loader_create_tokens(&data, ctx, texts.ids, texts.off, texts.n, NULL, &lopts);
        if (st == TF_STATUS_OK)
            st = tf_adapt_prior(model, data, NULL, &iterations);
        if (st != TF_STATUS_OK) {
            rc = tt_fail(cmd, st, "adapting %s", model_path);
            goto done;
        }
    }
    rc = tt_model_save(cmd, model, out);
    if (rc != TT_EXIT_OK)
        goto done;
    printf("texts=%lld iterations=%d temperature=%.4f prior=", (long long)texts.n, (int)iterations,
           tf_model_temperature(model));
    print_prior(model, TF_PRIOR_TARGET, c, buf);
    printf(" train_prior=");
    print_prior(model, TF_PRIOR_TRAIN, c, buf);
    printf("\n");
done:
    free(buf);
    tt_texts_free(&texts);
    tf_loader_free(data);
    tf_model_free(model);
    tf_ctx_free(ctx);
    return rc;
}
