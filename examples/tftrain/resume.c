/* SPDX-License-Identifier: MIT */
/* tftrain: training that does not lose work: checkpoints of the model and its training state every
 * N steps and on Ctrl-C or SIGTERM, and --resume from one. */
#define _POSIX_C_SOURCE 200809L
#include "tftrain.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char state_suffix[] = ".state";
static const char model_suffix[] = ".safetensors";

/* `s` without its last `cut` bytes, then `add`; NULL when out of memory. */
static char *with_suffix(const char *s, size_t cut, const char *add)
{
    size_t n = strlen(s) - cut, m = strlen(add);
    char *r = (char *)malloc(n + m + 1);
    if (r != NULL) {
        memcpy(r, s, n);
        memcpy(r + n, add, m + 1);
    }
    return r;
}

int tt_ckpt_paths(const char *cmd, const char *out, const char *resume, tt_ckpt_t *ck)
{
    size_t ns = strlen(state_suffix);
    int rc = tt_check_out(cmd, "--out", out);
    ck->state = ck->model = NULL;
    ck->resuming = resume != NULL;
    if (rc != TT_EXIT_OK)
        return rc;
    if (resume != NULL) {
        size_t n = strlen(resume);
        if (n <= ns || strcmp(resume + n - ns, state_suffix) != 0)
            return tt_usage_error(cmd, "--resume: '%s' does not end in %s (the state file that "
                                  "an interrupted run named)", resume, state_suffix);
        ck->state = with_suffix(resume, 0, "");
        ck->model = with_suffix(resume, ns, model_suffix);
    } else {
        ck->state = with_suffix(out, 0, ".resume.state");
        ck->model = with_suffix(out, 0, ".resume.safetensors");
    }
    if (ck->state == NULL || ck->model == NULL) {
        tt_ckpt_free(ck);
        fprintf(stderr, "tftrain %s: out of memory\n", cmd);
        return TT_EXIT_FAILED;
    }
    return TT_EXIT_OK;
}

void tt_ckpt_free(tt_ckpt_t *ck)
{
    free(ck->state);
    free(ck->model);
    ck->state = ck->model = NULL;
}

static int newer(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

int tt_ckpt_load_model(const char *cmd, tf_ctx_t *ctx, const tt_ckpt_t *ck, tf_model_t **model)
{
    struct stat ms, ss;
    if (stat(ck->state, &ss) != 0) {
        fprintf(stderr, "tftrain %s: --resume %s: no such file\n", cmd, ck->state);
        return TT_EXIT_DATA;
    }
    /* save() writes the model before the state: a model written after its state is from a
     * checkpoint whose state was never written. */
    if (stat(ck->model, &ms) == 0 && newer(&ms.st_mtim, &ss.st_mtim)) {
        fprintf(stderr, "tftrain %s: --resume %s: its model %s is newer than the state (the run "
                "stopped while saving it); the checkpoint cannot be resumed\n", cmd, ck->state,
                ck->model);
        return TT_EXIT_DATA;
    }
    return tt_model_load(cmd, ctx, ck->model, 0, model);
}

int tt_ckpt_load_state(const char *cmd, tf_model_t *model, tf_loader_t *train,
                       const tt_ckpt_t *ck)
{
    if (!ck->resuming)
        return TT_EXIT_OK;
    tf_status_t st = tf_train_state_load(model, train, ck->state);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot resume from '%s'", ck->state);
    fprintf(stderr, "tftrain %s: resuming from %s\n", cmd, ck->state);
    return TT_EXIT_OK;
}

/* The model first, then the state: each file is replaced atomically, so either is always whole;
 * a crash between the two leaves a model newer than its state, which tt_ckpt_load_model()
 * refuses. */
static int save(const char *cmd, tf_model_t *model, tf_loader_t *train, const tt_ckpt_t *ck)
{
    if (tt_dist_rank() > 0)
        return TT_EXIT_OK; /* rank 0 writes the job's files */
    tf_status_t st = tf_model_save(model, ck->model);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot write checkpoint '%s'", ck->model);
    st = tf_train_state_save(model, train, ck->state);
    if (st != TF_STATUS_OK)
        return tt_fail(cmd, st, "cannot write checkpoint '%s'", ck->state);
    return TT_EXIT_OK;
}

/* One shell word: as is when it is plain, else in single quotes. */
static void put_word(const char *w)
{
    const char *c;
    if (*w != '\0' && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "-_./=,:+@%") == strlen(w)) {
        fputs(w, stderr);
        return;
    }
    fputc('\'', stderr);
    for (c = w; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", stderr);
        else
            fputc(*c, stderr);
    }
    fputc('\'', stderr);
}

/* The command line that continues this run: argv with --resume STATE (in place of any). */
static void print_resume_command(const char *cmd, int argc, char **argv, const char *state)
{
    int i;
    fprintf(stderr, "tftrain %s: resume with:\n  tftrain %s", cmd, cmd);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--resume=", 9) == 0)
            continue;
        fputc(' ', stderr);
        put_word(argv[i]);
    }
    fputs(" --resume ", stderr);
    put_word(state);
    fputc('\n', stderr);
}

int tt_run_phase(const tt_run_t *run, tf_train_report_t *report)
{
    for (;;) {
        tf_status_t st;
        int rc;
        run->progress->save_due = 0;
        st = run->step(run->arg, report);
        tt_progress_done(run->progress);
        if (st == TF_STATUS_ECANCELED) {
            const int interrupted = tt_interrupted() || !run->progress->save_due;
            rc = save(run->cmd, run->model, run->train, run->ckpt);
            if (rc != TT_EXIT_OK)
                return rc;
            if (interrupted) {
                fprintf(stderr, "tftrain %s: interrupted at step %lld; the model and its "
                        "training state are saved in %s and %s\n", run->cmd,
                        (long long)report->steps, run->ckpt->model, run->ckpt->state);
                print_resume_command(run->cmd, run->argc, run->argv, run->ckpt->state);
                return TT_EXIT_INTERRUPTED;
            }
            fprintf(stderr, "tftrain %s: checkpoint at step %lld: %s\n", run->cmd,
                    (long long)report->steps, run->ckpt->state);
            continue;
        }
        if (st != TF_STATUS_OK)
            return tt_fail(run->cmd, st, "%s", run->what);
        tt_progress_finish(run->progress, report);
        return TT_EXIT_OK;
    }
}

int tt_run_and_save(const tt_run_t *run, tf_train_report_t *report, const char *out,
                    double *started)
{
    int rc;
    tt_catch_interrupt();
    *started = tt_now();
    rc = tt_run_phase(run, report);
    if (rc != TT_EXIT_OK)
        return rc;
    if (run->finished != NULL)
        run->finished(run);
    rc = tt_model_save(run->cmd, run->model, out);
    if (rc != TT_EXIT_OK)
        return rc;
    tt_ckpt_remove(run->ckpt);
    return TT_EXIT_OK;
}

void tt_ckpt_remove(const tt_ckpt_t *ck)
{
    if (tt_dist_rank() > 0)
        return;
    /* The run is complete: its checkpoint would only start the phase anew. */
    unlink(ck->state);
    unlink(ck->model);
}

static volatile sig_atomic_t g_interrupted = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

void tt_catch_interrupt(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int tt_interrupted(void)
{
    return g_interrupted != 0;
}
