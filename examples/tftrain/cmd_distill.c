/* SPDX-License-Identifier: MIT */
/* tftrain distill: a smaller classifier trained to predict as a fine-tuned one does. */
#include "tftrain.h"

#include <stdint.h>
#include <string.h>

static const char distill_help[] =
    "usage: tftrain distill --teacher MODEL --unlabeled FILE [--unlabeled FILE ...] --out MODEL\n"
    "                       [--hidden N] [--emb N] [--init LM] [--train TSV] [--valid TSV]\n"
    "                       [options]\n"
    "\n"
    "Knowledge distillation (Hinton, Vinyals and Dean, 2015): train a smaller student\n"
    "classifier to give the teacher's predictions, so that a large fine-tuned model can be\n"
    "deployed as a small, fast one. The student reads unlabelled texts (one per line, and\n"
    "the texts of --train) and learns the teacher's probabilities softened by a temperature\n"
    "T (loss T^2 KL(teacher || student)); with --train, each step also learns the hard\n"
    "labels of a batch of it with weight --alpha. The student has the teacher's vocabulary\n"
    "and labels and decides for the teacher's class balance; with --valid, the best epoch\n"
    "by validation accuracy is kept and the student's probabilities are calibrated.\n"
    "\n";

static const char distill_help_options[] =
    "  --teacher MODEL    fine-tuned model to learn from (`tftrain finetune`)\n"
    "  --unlabeled FILE   texts to distil on, one per line (repeat for several files)\n"
    "  --out MODEL        where to write the student\n"
    "  --hidden N         the student's recurrent hidden size (default 64)\n"
    "  --emb N            the student's embedding size (default: the teacher's)\n"
    "  --layers N         the student's recurrent layers (default 1)\n"
    "  --cell C           lstm or gru (default: the teacher's cell)\n"
    "  --init LM          start the student from this language model (`tftrain pretrain`\n"
    "                     on the teacher's corpus with the same vocabulary) instead of\n"
    "                     random weights; its architecture replaces the four flags above\n"
    "  --train TSV        labelled texts: their labels are learnt with weight --alpha,\n"
    "                     and their texts are distilled on too\n"
    "  --valid TSV        labelled validation texts (the teacher's label names)\n"
    "  --temperature T    softening temperature (default 2)\n"
    "  --alpha A          weight of the hard labels of --train, in [0, 1) (default 0.5)\n"
    "  --epochs N         passes over the texts; the best one's weights are kept with\n"
    "                     --valid (default 3)\n"
    "  --steps N          train exactly N optimizer steps instead of whole epochs (with\n"
    "                     --valid, a last partial epoch is validated too)\n"
    "  --patience N       early stopping: stop after N epochs without a better validation\n"
    "                     accuracy (default 0: every epoch runs)\n"
    "  --lr X             peak learning rate of AdamW (default 1e-2; warmup, cosine decay)\n"
    "  --head-dropout P   dropout before the student's head, in [0, 1) (default 0.1)\n"
    "  --max-len N        truncate texts to N tokens (default 256)\n"
    "  --batch N          texts per batch (default 32)\n"
    "  --threads N        compute threads, 0 = all cores (default 0)\n"
    "  --seed N           random seed (default 42)\n"
    "  --save-every N     every N steps, save a checkpoint: the student in\n"
    "                     MODEL.resume.safetensors, its training state in\n"
    "                     MODEL.resume.state (each file replaced whole, atomically)\n"
    "  --resume STATE     continue an interrupted run from its state file: give the same\n"
    "                     options and data\n"
    "Ctrl-C (or SIGTERM) saves the same checkpoint, prints the command that resumes\n"
    "and exits with status 4. A run that completes deletes its checkpoint.\n"
    "\n"
    "Progress goes to stderr as for finetune. The last line on stdout is a summary:\n"
    "  epochs=N steps=N best_epoch=N valid_accuracy=X train_loss=X params=N\n"
    "  teacher_params=N seconds=X\n"
    "\n" TT_EXIT_HELP;

typedef struct distill_call {
    tf_model_t *student, *teacher;
    tf_loader_t *unlabeled, *train, *valid;
    const tf_distill_opts_t *opts;
} distill_call_t;

static tf_status_t distill_step(void *arg, tf_train_report_t *report)
{
    const distill_call_t *c = (const distill_call_t *)arg;
    return tf_distill(c->student, c->teacher, c->unlabeled, c->train, c->valid, c->opts, report);
}

/* A labelled loader of `path` with the teacher's label names. */
static int labelled(const char *cmd, tf_ctx_t *ctx, tf_model_t *teacher, const char *path,
                    const char *what, tf_loader_opts_t *lopts, tf_loader_t **out)
{
    tf_status_t st = tf_loader_create_labeled(out, ctx, tf_model_vocab(teacher), path, lopts);
    return st == TF_STATUS_OK ? TT_EXIT_OK : tt_fail(cmd, st, "cannot read %s '%s'", what, path);
}

int tt_cmd_distill(int argc, char **argv)
{
    static const char *cmd = "distill";
    const char *teacher_path = NULL, *out = NULL, *init = NULL, *train_path = NULL;
    const char *valid_path = NULL, *cell_name = NULL, *resume = NULL;
    tt_strings_t unlabeled_files = {{0}, 0};
    int32_t hidden = 64, emb = 0, layers = 1, epochs = 3, patience = 0, max_len = 256;
    int32_t batch = 32, threads = 0;
    int64_t steps = 0, seed = 42, save_every = 0;
    double temperature = 2.0, alpha = 0.5, lr = 1e-2, head_dropout = 0.1;
    tt_opt_t opts[] = {
        {"--teacher", TT_OPT_STRING, &teacher_path, 0, 0, 0},
        {"--unlabeled", TT_OPT_STRINGS, &unlabeled_files, 0, 0, 0},
        {"--out", TT_OPT_STRING, &out, 0, 0, 0},
        TT_ARCH_OPTS(emb, hidden, layers, cell_name),
        {"--init", TT_OPT_STRING, &init, 0, 0, 0},
        {"--train", TT_OPT_STRING, &train_path, 0, 0, 0},
        {"--valid", TT_OPT_STRING, &valid_path, 0, 0, 0},
        {"--temperature", TT_OPT_DOUBLE, &temperature, 0, 0, 0},
        {"--alpha", TT_OPT_FRACTION, &alpha, 0, 0, 0},
        TT_CLS_OPTS(epochs, patience, lr, head_dropout, max_len, batch),
        {"--steps", TT_OPT_I64, &steps, 1, INT64_MAX, 0},
        TT_RUN_OPTS(threads, seed, save_every, resume),
    };
    static const char *const arch_flags[] = {"--hidden", "--emb", "--layers", "--cell"};
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    static const char *const required[] = {"--teacher MODEL", "--out MODEL", NULL};
    const char *label_names[4096];
    tf_ctx_t *ctx = NULL;
    tf_model_t *teacher = NULL, *student = NULL;
    tf_loader_t *unlabeled = NULL, *train = NULL, *valid = NULL;
    tf_loader_opts_t lopts;
    tf_model_opts_t mopts;
    tf_distill_opts_t dopts;
    tf_train_report_t report;
    tt_progress_t progress;
    tt_ckpt_t ck = {NULL, NULL, 0};
    tt_texts_t texts;
    distill_call_t call;
    tt_run_t run;
    double t0;
    tf_status_t st;
    int32_t i, c, cell;
    unsigned f;
    int rc;

    memset(&texts, 0, sizeof texts);
    if (!tt_parse_command(cmd, argc, argv, opts, nopts, distill_help, distill_help_options,
                          required, &rc))
        return rc;
    if (unlabeled_files.count == 0 && train_path == NULL)
        return tt_usage_error(cmd, "--unlabeled FILE (or --train TSV) is required");
    if (tt_opt(opts, nopts, "--epochs")->seen && tt_opt(opts, nopts, "--steps")->seen)
        return tt_usage_error(cmd, "give --epochs or --steps, not both");
    if (init != NULL)
        for (i = 0; i < (int32_t)(sizeof arch_flags / sizeof arch_flags[0]); i++)
            if (tt_opt(opts, nopts, arch_flags[i])->seen)
                return tt_usage_error(cmd, "%s cannot be used with --init (the architecture "
                                      "comes from the language model)", arch_flags[i]);
    rc = tt_ckpt_paths(cmd, out, resume, &ck);
    if (rc != TT_EXIT_OK)
        return rc;
    rc = tt_load_classifier(cmd, threads, teacher_path, &ctx, &teacher, &c);
    if (rc != TT_EXIT_OK)
        goto done;
    if (tf_model_vocab(teacher) == NULL) {
        fprintf(stderr, "tftrain %s: %s: a numeric model; distill takes text classifiers\n", cmd,
                teacher_path);
        rc = TT_EXIT_DATA;
        goto done;
    }
    if (ck.resuming) {
        rc = tt_ckpt_load_model(cmd, ctx, &ck, &student);
    } else if (init != NULL) {
        rc = tt_model_load(cmd, ctx, init, TF_MODEL_LOAD_BACKBONE, &student);
    } else {
        rc = tt_cell(cmd, cell_name, &cell);
        if (rc != TT_EXIT_OK)
            goto done;
        /* The teacher's embedding size and cell unless given. */
        tf_tensor_t *w = NULL;
        tf_model_opts_init(&mopts, TF_MODEL_OPTS_VERSION);
        tf_module_param_find(&w, NULL, tf_model_encoder(teacher), "embedding.weight");
        mopts.embedding_dim = emb > 0 ? emb : (int32_t)tf_tensor_dim(w, 1);
        mopts.hidden_size = hidden;
        mopts.num_layers = layers;
        mopts.cell = cell;
        if (cell_name == NULL &&
            tf_module_param_find(NULL, NULL, tf_model_encoder(teacher), "gru.weight_ih_l0") ==
                TF_STATUS_OK)
            mopts.cell = TF_CELL_GRU;
        st = tf_model_create(&student, ctx, tf_model_vocab(teacher), &mopts);
        if (st != TF_STATUS_OK)
            rc = tt_fail(cmd, st, "cannot create the student");
    }
    if (rc != TT_EXIT_OK)
        goto done;

    for (f = 0; f < unlabeled_files.count && rc == TT_EXIT_OK; f++)
        rc = tt_read_texts(cmd, unlabeled_files.items[f], 0, tf_model_vocab(teacher), &texts);
    if (rc == TT_EXIT_OK && train_path != NULL)
        rc = tt_read_texts(cmd, train_path, 1, tf_model_vocab(teacher), &texts);
    if (rc != TT_EXIT_OK)
        goto done;
    if (texts.n == 0) {
        fprintf(stderr, "tftrain %s: the texts to distil on are empty\n", cmd);
        rc = TT_EXIT_DATA;
        goto done;
    }
    tf_loader_opts_init(&lopts, TF_LOADER_OPTS_VERSION);
    lopts.batch_size = batch;
    lopts.max_len = max_len;
    lopts.shuffle = 1;
    st = tf_loader_create_tokens(&unlabeled, ctx, texts.ids, texts.off, texts.n, NULL, &lopts);
    if (st != TF_STATUS_OK) {
        rc = tt_fail(cmd, st, "the texts to distil on");
        goto done;
    }
    for (i = 0; i < c && i < 4096; i++)
        label_names[i] = tf_model_label_name(teacher, i);
    lopts.labels = label_names;
    lopts.num_labels = c;
    if (train_path != NULL) {
        rc = labelled(cmd, ctx, teacher, train_path, "training data", &lopts, &train);
        if (rc != TT_EXIT_OK)
            goto done;
    }
    lopts.shuffle = 0;
    if (valid_path != NULL) {
        rc = labelled(cmd, ctx, teacher, valid_path, "validation data", &lopts, &valid);
        if (rc != TT_EXIT_OK)
            goto done;
    }
    fprintf(stderr,
            "tftrain %s: teacher %.2fM parameters, student %.2fM (%s), %lld texts to distil "
            "on, %d classes\n",
            cmd, (double)tf_model_num_params(teacher) / 1e6,
            (double)tf_model_num_params(student) / 1e6, init != NULL ? "from the language model"
                                                                     : "new",
            (long long)texts.n, (int)c);
    rc = tt_ckpt_load_state(cmd, student, unlabeled, &ck);
    if (rc != TT_EXIT_OK)
        goto done;
    tf_distill_opts_init(&dopts, TF_DISTILL_OPTS_VERSION);
    dopts.epochs = epochs;
    dopts.max_steps = steps;
    dopts.patience = patience;
    dopts.temperature = temperature;
    dopts.alpha = alpha;
    dopts.lr = lr;
    dopts.head_dropout = head_dropout;
    tt_progress_init(&progress, cmd, save_every);
    dopts.progress_every = tt_progress_every(&progress, 5);
    dopts.progress = tt_progress_cb;
    dopts.progress_payload = &progress;
    tf_train_report_init(&report, TF_TRAIN_REPORT_VERSION);
    call = (distill_call_t){student, teacher, unlabeled, train, valid, &dopts};
    run = (tt_run_t){cmd, "distillation failed", distill_step, &call, student, unlabeled,
                     &progress, &ck, argc, argv, NULL};
    rc = tt_run_and_save(&run, &report, out, &t0);
    if (rc != TT_EXIT_OK)
        goto done;
    printf("epochs=%d steps=%lld best_epoch=%d valid_accuracy=%.4f train_loss=%.4f "
           "params=%lld teacher_params=%lld seconds=%.1f\n",
           (int)report.epochs, (long long)report.steps, (int)report.best_epoch,
           report.best_metric, report.train_loss,
           (long long)tf_model_num_params(student), (long long)tf_model_num_params(teacher),
           tt_now() - t0);
done:
    tt_ckpt_free(&ck);
    tf_loader_free(valid);
    tf_loader_free(train);
    tf_loader_free(unlabeled);
    tt_texts_free(&texts);
    tf_model_free(student);
    tf_model_free(teacher);
    tf_ctx_free(ctx);
    return rc;
}
