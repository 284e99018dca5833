/* SPDX-License-Identifier: MIT */
/* tftrain export: a fine-tuned classifier for prediction only, smaller (tf_model_export). */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <string.h>
#include <sys/stat.h>

static const char export_help[] =
    "usage: tftrain export --model MODEL --out FILE [--dtype f32|f16|int8]\n"
    "                      [--min-elements N]\n"
    "\n"
    "Write a fine-tuned classifier for prediction only: without its language-model\n"
    "head (which classification never uses) and with its large matrices (embedding,\n"
    "recurrent weights, a large task head) in f32, f16 or int8 (one scale per row).\n"
    "`tftrain eval` and `predict` read the file as any model; `finetune --init` and\n"
    "`pretrain --init` refuse it (keep the full model for further training).\n"
    "\n"
    "  --model MODEL   fine-tuned model (from `tftrain finetune` or `adapt`)\n"
    "  --out FILE      where to write the exported model\n"
    "  --dtype D       f32 | f16 | int8 (default int8)\n"
    "  --min-elements N  matrices of at least N elements take the dtype; smaller\n"
    "                  tensors and biases stay f32 (default 1024)\n"
    "\n"
    "The last line on stdout is a summary:\n"
    "  dtype=D bytes=N model_bytes=N ratio=X\n"
    "Exit status: 0 success, 1 usage error, 2 data/file/format error, 3 failed otherwise.\n";

static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int tt_cmd_export(int argc, char **argv)
{
    static const char *cmd = "export";
    static const char *const names[] = {"f32", "f16", "int8"};
    const char *model_path = NULL, *out = NULL, *dtype = "int8";
    int64_t min_elements = TF_EXPORT_MIN_ELEMENTS;
    tt_opt_t opts[] = {
        {"--model", TT_OPT_STRING, &model_path, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        {"--dtype", TT_OPT_STRING, &dtype, 0, 0, 0},
        {"--min-elements", TT_OPT_I64, &min_elements, 1, INT64_MAX, 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    tf_ctx_t *ctx = NULL;
    tf_model_t *model = NULL;
    tf_export_opts_t eo;
    int32_t classes;
    int rc;
    if (!tt_parse_command(cmd, argc, argv, opts, nopts, export_help, NULL, NULL, &rc))
        return rc;
    if (model_path == NULL || out == NULL)
        return tt_usage_error(cmd, "--model and --out are required");
    tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION);
    eo.dtype = 0;
    for (uint32_t i = 0; i < 3; i++)
        if (strcmp(dtype, names[i]) == 0)
            eo.dtype = TF_EXPORT_DTYPE_F32 + i;
    if (eo.dtype == 0)
        return tt_usage_error(cmd, "--dtype '%s' is not f32, f16 or int8", dtype);
    eo.min_elements = min_elements;
    rc = tt_check_out(cmd, "--out", out);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_load_classifier(cmd, 1, model_path, &ctx, &model, &classes);
    if (rc != TT_EXIT_OK)
        return rc;
    tf_status_t st = tf_model_export(model, out, &eo);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "cannot export '%s'", model_path);
    } else {
        long long in = file_bytes(model_path), n = file_bytes(out);
        fprintf(stderr, "tftrain %s: saved %s\n", cmd, out);
        printf("dtype=%s bytes=%lld model_bytes=%lld ratio=%.2f\n", dtype, n, in,
               n > 0 ? (double)in / (double)n : 0.0);
    }
    tf_model_free(model);
    tf_ctx_free(ctx);
    return rc;
}
