/* SPDX-License-Identifier: MIT */
/**
 * tftrain: pre-train, fine-tune, evaluate and apply LSTM text classifiers from the command line.
 * Run `tftrain --help`.
 */
#include "tftrain.h"

#include <string.h>

static const char main_help[] =
    "usage: tftrain COMMAND [options]     (tftrain COMMAND --help for each command)\n"
    "\n"
    "Pre-train an LSTM language model on unlabelled text, then fine-tune it as a text\n"
    "classifier on a few labelled examples.\n"
    "\n"
    "commands:\n"
    "  pretrain   --corpus FILE [--corpus FILE ...] --out MODEL   language-model pre-training\n"
    "  finetune   --train TSV [--valid TSV] --out MODEL [--init PRETRAINED]   classifier\n"
    "  eval       --model MODEL --data TSV      accuracy, macro-F1, loss, per-class table\n"
    "  predict    --model MODEL --input FILE    label and class probabilities per line\n"
    "  adapt      --model MODEL --unlabeled FILE --out MODEL2   decide for the class\n"
    "             balance of new data, estimated from unlabelled texts of it\n"
    "  distill    --teacher MODEL --unlabeled FILE --out SMALL   a smaller classifier\n"
    "             that predicts as a fine-tuned one does (knowledge distillation)\n"
    "  import     --torch FILE --config JSON --vocab FILE --out MODEL   a model from\n"
    "             weights saved by PyTorch (safetensors)\n"
    "  export     --model MODEL --out FILE [--dtype f32|f16|int8]   a classifier for\n"
    "             prediction only: no language-model head, smaller weights\n"
    "  explain    --model MODEL --input FILE --out REPORT.html   an HTML page of\n"
    "             each token's share in the predictions (integrated gradients)\n"
    "\n"
    "Labelled data are `label<TAB>text` lines; unlabelled text is one text per line.\n"
    "Numeric sequences (--format csv --features F): one sequence per line, F comma-\n"
    "separated values per step, after a label in labelled files.\n"
    "Models are safetensors files. Progress goes to stderr (a bar on a terminal, a\n"
    "table of one row per epoch otherwise). pretrain and finetune save checkpoints\n"
    "with --save-every N and on Ctrl-C, and continue from one with --resume STATE.\n"
    "\n"
    "example:\n"
    "  tftrain pretrain --corpus unlabeled.txt --out lm.safetensors\n"
    "  tftrain finetune --init lm.safetensors --train train.tsv --out clf.safetensors\n"
    "  tftrain eval --model clf.safetensors --data valid.tsv\n"
    "  tftrain predict --model clf.safetensors --input texts.txt\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 data, file or format error (the message\n"
    "names the file), 3 training failed otherwise (diverged, out of memory),\n"
    "4 interrupted by Ctrl-C or SIGTERM (a resumable state was saved).\n";

static int run(int argc, char **argv)
{
    const char *c;
    if (argc < 2) {
        fputs("tftrain: missing command: pretrain, finetune, eval, predict, adapt, distill, import, "
              "export or explain (see 'tftrain --help')\n",
              stderr);
        return TT_EXIT_USAGE;
    }
    c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        fputs(main_help, stdout);
        return TT_EXIT_OK;
    }
    if (strcmp(c, "--version") == 0) {
        /* "PROGRAM (PACKAGE) VERSION", the first line help2man reads */
        printf("tftrain (libtransfer) %s\n", tf_version_string());
        return TT_EXIT_OK;
    }
    if (strcmp(c, "pretrain") == 0)
        return tt_cmd_pretrain(argc - 1, argv + 1);
    if (strcmp(c, "finetune") == 0)
        return tt_cmd_finetune(argc - 1, argv + 1);
    if (strcmp(c, "eval") == 0)
        return tt_cmd_eval(argc - 1, argv + 1);
    if (strcmp(c, "predict") == 0)
        return tt_cmd_predict(argc - 1, argv + 1);
    if (strcmp(c, "adapt") == 0)
        return tt_cmd_adapt(argc - 1, argv + 1);
    if (strcmp(c, "distill") == 0)
        return tt_cmd_distill(argc - 1, argv + 1);
    if (strcmp(c, "import") == 0)
        return tt_cmd_import(argc - 1, argv + 1);
    if (strcmp(c, "export") == 0)
        return tt_cmd_export(argc - 1, argv + 1);
    if (strcmp(c, "explain") == 0)
        return tt_cmd_explain(argc - 1, argv + 1);
    fprintf(stderr, "tftrain: unknown command '%s' (see 'tftrain --help')\n", c);
    return TT_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    int rc = tt_dist_init(&argc, &argv);
    return tt_dist_finish(rc != TT_EXIT_OK ? rc : run(argc, argv));
}
