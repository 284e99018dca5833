/* SPDX-License-Identifier: MIT */
/* Prediction throughput of a text classifier through the predictor (transfer/predict.h), on the
 * setup of bench/torch_predict_bench.py (shared with PyTorch): vocabulary 8000, embedding 100,
 * hidden 200, one LSTM layer, two classes, the last step pooled; 512 texts of 20-200 random token
 * ids (fixed seed), predicted `batch` texts per call after one warm-up pass.
 *
 * Usage: bench_predict [threads,...] [batch,...] [input_table] [int8] [level]   (default 1,2 and
 * 1,64 and -1 and 2 and -1; input_table sets tf_predictor_opts_t::input_table: -1 automatic (on
 * for this model), 1 on, 0 off; int8 is the int8 lines' tf_predictor_opts_t::int8_weights: 0
 * automatic, 1 dequantised, 2 resident; level forces the ISA level of the predictor's own kernels,
 * the one-row step, the gates and the int8 products: 3 x86-64-v3 (AVX2, no VNNI), 0 baseline
 * x86-64, -1 the CPU's best. With LIBXSMM_TARGET=hsw and ONEDNN_MAX_CPU_ISA=AVX2 in the
 * environment, level 3 times on an AVX-512 CPU the code an AVX2 CPU runs.)
 * Prints one line per combination:
 *   predict dtype=f32|int8 threads=T batch=B texts_s=X resident_bytes=N
 * dtype=int8 predicts with a predictor loaded from the model's int8 export (tf_model_export); by
 * default its recurrent weights stay int8 (TF_PREDICT_INT8_RESIDENT, lib/predict/gemm_i8.h).
 * resident_bytes is tf_predictor_resident_bytes(): weights, vocabulary and the workspaces grown.
 * stderr gets the texts per CPU-second of each line's pass. */
#include "transfer/predict.h"
#include "predict/gemm_i8.h"
#include "predict/predict_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define V 8000
#define NTEXTS 512

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, tf_status_t st)
{
    fprintf(stderr, "bench_predict: %s: %s: %s\n", what, tf_status_str(st), tf_last_error_message());
    exit(1);
}

#define CHECK(what, expr)                                                                          \
    do {                                                                                           \
        tf_status_t st_ = (expr);                                                                  \
        if (st_ != TF_STATUS_OK)                                                                   \
            die(what, st_);                                                                        \
    } while (0)

/* A classifier of V words with fresh weights: a vocabulary of V - 4 words plus the specials,
 * and a two-class head attached by one fine-tuning step. */
static tf_model_t *make_model(tf_ctx_t *ctx)
{
    static char words[V * 7];
    size_t at = 0;
    for (int i = 0; i < V - 4; i++)
        at += (size_t)snprintf(words + at, sizeof words - at, "w%d ", i);
    const char *texts[1] = {words};
    tf_vocab_opts_t vo;
    tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION);
    vo.min_count = 1;
    vo.max_size = V;
    tf_vocab_t *vocab;
    CHECK("vocabulary", tf_vocab_build_texts(&vocab, ctx, texts, NULL, 1, &vo));
    if (tf_vocab_size(vocab) != V) {
        fprintf(stderr, "bench_predict: the vocabulary has %d words, not %d\n", tf_vocab_size(vocab), V);
        exit(1);
    }
    tf_model_opts_t mo;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 100;
    mo.hidden_size = 200;
    mo.num_layers = 1;
    tf_model_t *m;
    CHECK("model", tf_model_create(&m, ctx, vocab, &mo));
    tf_vocab_free(vocab);
    static const int32_t ids[4] = {5, 6, 7, 8};
    static const int64_t offsets[3] = {0, 2, 4};
    static const int32_t labels[2] = {0, 1};
    static const char *const names[2] = {"a", "b"};
    tf_loader_opts_t lo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 2;
    lo.labels = names;
    lo.num_labels = 2;
    tf_loader_t *train;
    CHECK("loader", tf_loader_create_tokens(&train, ctx, ids, offsets, 2, labels, &lo));
    tf_finetune_opts_t fo;
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.pooling = TF_POOL_LAST;
    fo.stop_after_steps = 1;
    CHECK("head", tf_finetune(m, train, NULL, &fo, NULL));
    tf_loader_free(train);
    return m;
}

static void parse_list(const char *s, int *out, int *n)
{
    *n = 0;
    while (*s && *n < 8) {
        out[(*n)++] = atoi(s);
        s = strchr(s, ',');
        if (s == NULL)
            break;
        s++;
    }
}

int main(int argc, char **argv)
{
    int threads[8] = {1, 2}, batches[8] = {1, 64}, nt = 2, nb = 2;
    if (argc > 1)
        parse_list(argv[1], threads, &nt);
    if (argc > 2)
        parse_list(argv[2], batches, &nb);
    const int table = argc > 3 ? atoi(argv[3]) : -1;
    const int int8 = argc > 4 ? atoi(argv[4]) : TF_PREDICT_INT8_RESIDENT;
    const int level = argc > 5 ? atoi(argv[5]) : -1;
    if (level == 3 || level == 0) {
        tf__pred_step_force(level);
        if (tf__i8_force(level == 3 ? TF__I8_V3 : TF__I8_BASE) != 0) {
            fprintf(stderr, "bench_predict: this CPU cannot run level %d\n", level);
            return 1;
        }
    } else if (level != -1) {
        fprintf(stderr, "bench_predict: level wants 3, 0 or -1\n");
        return 1;
    }
    tf_ctx_t *ctx;
    tf_ctx_opts_t co;
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = 1;
    CHECK("context", tf_ctx_create(&ctx, &co));
    tf_model_t *m = make_model(ctx);

    /* Texts of 20-200 ids from a fixed generator. */
    static int32_t buf[NTEXTS * 200];
    static const int32_t *ids[NTEXTS];
    static int64_t lens[NTEXTS];
    uint64_t s = 1;
    for (int i = 0; i < NTEXTS; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        lens[i] = 20 + (int64_t)((s >> 33) % 181);
        ids[i] = buf + i * 200;
        for (int64_t t = 0; t < lens[i]; t++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            buf[i * 200 + t] = (int32_t)((s >> 33) % V);
        }
    }
    static float probs[NTEXTS * 2];
    char int8_path[64];
    snprintf(int8_path, sizeof int8_path, "/tmp/bench_predict_%ld.safetensors", (long)getpid());
    tf_export_opts_t eo;
    tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION);
    eo.dtype = TF_EXPORT_DTYPE_INT8;
    CHECK("int8 export", tf_model_export(m, int8_path, &eo));
    for (int dt = 0; dt < 2; dt++)
    for (int a = 0; a < nt; a++)
        for (int b = 0; b < nb; b++) {
            tf_predictor_opts_t po;
            tf_predictor_opts_init(&po, TF_PREDICTOR_OPTS_VERSION);
            po.num_threads = threads[a];
            po.max_batch = batches[b];
            po.input_table = table;
            if (dt == 1)
                po.int8_weights = int8;
            tf_predictor_t *p;
            if (dt == 0)
                CHECK("predictor", tf_predictor_create(&p, m, &po));
            else
                CHECK("int8 predictor", tf_predictor_load(&p, ctx, int8_path, &po));
            double wall = 0.0, cpu = 0.0;
            for (int pass = 0; pass < 2; pass++) {
                const double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                for (int i = 0; i < NTEXTS; i += batches[b]) {
                    const size_t n = (size_t)(NTEXTS - i < batches[b] ? NTEXTS - i : batches[b]);
                    CHECK("predict", tf_predict_ids_batch(p, ids + i, lens + i, n, probs + 2 * i, 2 * n));
                }
                wall = clock_s(CLOCK_MONOTONIC) - t0;
                cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            }
            printf("predict dtype=%s threads=%d batch=%d texts_s=%.1f resident_bytes=%zu\n", dt ? "int8" : "f32",
                   threads[a], batches[b], NTEXTS / wall, tf_predictor_resident_bytes(p));
            fflush(stdout);
            /* On a loaded machine the wall time measures the load; the CPU time of the pass
             * says what the code costs (texts per CPU-second, all threads added up). */
            fprintf(stderr, "  cpu: %.1f texts per CPU-second\n", NTEXTS / cpu);
            tf_predictor_free(p);
        }
    unlink(int8_path);
    tf_model_free(m);
    tf_ctx_free(ctx);
    return 0;
}
