/* SPDX-License-Identifier: MIT */
/* bench_data FILE [T B]: build a word vocabulary from FILE, load it as a language-model stream
 * (T=64, B=32 by default) and read one epoch of batches; prints the input rate of the whole
 * pipeline (mb_per_s, MB = 10^6 bytes of FILE per second).
 *
 * Two pipelines are timed: the one-pass tf_loader_create_lm_vocab() (mb_per_s), and
 * tf_vocab_build_files() followed by tf_loader_create_lm(), which reads the text twice
 * (twopass_mb_per_s, with the rate of each phase). cpu_mb_per_s is the one-pass rate by the
 * process's CPU time, which a busy machine disturbs less than the wall clock. */
#include "transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this process: on a shared machine it shows the cost without the waiting. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_data FILE [T B]\n");
        return 2;
    }
    const char *path = argv[1];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "bench_data: cannot stat %s\n", path);
        return 1;
    }
    double mb = (double)sb.st_size / 1e6;
    tf_ctx_t *ctx = NULL;
    tf_vocab_t *vocab = NULL;
    tf_loader_t *lm = NULL;
    tf_vocab_opts_t vo;
    tf_loader_opts_t lo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.bptt = argc > 2 ? atoi(argv[2]) : 64;
    lo.batch_size = argc > 3 ? atoi(argv[3]) : 32;
    lo.shuffle = 1;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 1;
    double f0 = now(), c0 = cpu_now();
    if (tf_loader_create_lm_vocab(&lm, &vocab, ctx, &path, 1, &vo, &lo) != TF_STATUS_OK)
        goto fail;
    long fb = 0;
    for (;;) {
        tf_batch_t *b;
        if (tf_loader_next(&b, lm) != TF_STATUS_OK)
            goto fail;
        if (b == NULL)
            break;
        fb++;
    }
    double f1 = now(), c1 = cpu_now();
    tf_loader_free(lm);
    tf_vocab_free(vocab);
    lm = NULL;
    vocab = NULL;
    double t0 = now();
    if (tf_vocab_build_files(&vocab, ctx, &path, 1, &vo) != TF_STATUS_OK)
        goto fail;
    double t1 = now();
    if (tf_loader_create_lm(&lm, ctx, vocab, &path, 1, &lo) != TF_STATUS_OK)
        goto fail;
    double t2 = now();
    long batches = 0;
    int64_t checksum = 0;
    for (;;) {
        tf_batch_t *b;
        if (tf_loader_next(&b, lm) != TF_STATUS_OK)
            goto fail;
        if (b == NULL)
            break;
        const int32_t *tok = tf_tensor_data(tf_batch_tokens(b));
        checksum += tok[0];
        batches++;
    }
    double t3 = now();
    printf("file=%s bytes=%lld vocab=%d tokens=%lld batches=%ld checksum=%lld\n", path,
           (long long)sb.st_size, tf_vocab_size(vocab), (long long)tf_loader_num_sequences(lm),
           batches, (long long)checksum);
    printf("vocab_s=%.3f load_s=%.3f batches_s=%.3f\n", t1 - t0, t2 - t1, t3 - t2);
    printf("vocab_mb_per_s=%.1f load_mb_per_s=%.1f\n", mb / (t1 - t0), mb / (t2 - t1));
    printf("twopass_mb_per_s=%.1f\n", mb / (t3 - t0));
    printf("onepass_batches=%ld\n", fb);
    printf("cpu_mb_per_s=%.1f\n", mb / (c1 - c0));
    printf("mb_per_s=%.1f\n", mb / (f1 - f0));
    tf_loader_free(lm);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return 0;
fail:
    fprintf(stderr, "bench_data: %s\n", tf_last_error_message());
    tf_loader_free(lm);
    tf_vocab_free(vocab);
    tf_ctx_free(ctx);
    return 1;
}
