/* SPDX-License-Identifier: MIT */
/* bench_lstm: speed of one recurrent layer, one direction: the LSTM's kernel (lib/nn/lstm_kernel.c)
 * or, with --cell, another cell's from the cell table (lib/nn/cell.h).
 *
 *   bench_lstm [--shape I,H,T,B] [--threads N] [--cell lstm|gru]
 *   bench_lstm --model seed-cls|seed-lm|seed-lm-adaptive [--threads N] [--phases]
 *   either with [--gemm auto|blas|dnnl]: the backend of the library's large GEMMs (tensor/blas.h;
 *   default auto, blas: OpenBLAS for every product, as in a build without oneDNN), and
 *   [--level 3|0]: the ISA level of the kernel's own loops (3: AVX2, 0: baseline; default best)
 *
 * --model times a whole training step of a seed configuration (see bench_model); --phases adds
 * one line with the mean milliseconds of each part of that step (embedding, recurrent layer,
 * head, optimizer, zeroing) and, for seed-lm, head_gemms_ms: the full softmax's three GEMMs alone
 * on the same chunks and threads, the least its head can take with OpenBLAS.
 * For each shape it prints one line (the first word is the cell)
 *   lstm I=.. H=.. T=.. B=.. fwd_tok_s=.. train_tok_s=.. train_gflops=.. sgemm_gflops=..
 * fwd:   forward in training mode (cache kept for backward), zero initial state;
 * train: forward + backward with dx, dW_ih, dW_hh, both bias gradients and dh0/dc0, weight gradients
 *        zeroed each step (as a training step does); d(loss)/dy random, no gradient into h_n/c_n;
 * FLOPs of a training step = 3 * (2 * GH * (I + H) * T * B) (forward once, backward twice), G the
 * cell's gate blocks (LSTM 4, GRU 3);
 * sgemm: OpenBLAS cblas_sgemm on all the threads, in the same run, at M = T*B, N = GH, K = I + H
 *        (the GEMM the kernel's work adds up to), 2*M*N*K FLOPs; 0 in a build without BLAS.
 * Timing: one warm-up call, then 5 repetitions of at least 0.2 s each (>= 1 s per figure); each
 * figure is the BEST repetition (least disturbed by other processes on a shared machine).
 * Without --shape it runs the six shapes of the project's benchmark table. --threads (default: all
 * online cores) sets the BLAS threads and the kernel's own time-loop threads; the two take turns
 * (the time loop runs between GEMMs), so cores are never oversubscribed. */
#include "nn/lstm_kernel.h"
#include "nn/nn_internal.h"
#include "core/internal.h"
#include "tensor/blas.h"
#include "transfer/nn.h"

#ifdef TF_HAVE_CBLAS
#include <cblas.h>
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS 5
#define REP_SECONDS 0.2

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *buf(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "bench_lstm: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * (float)((next_u64() >> 40) * (1.0 / 16777216.0)) - 1.0f);
}

/* The cell timed (--cell). */
static const tf__cell_ops_t *cell;

typedef struct layer {
    tf__lstm_shape_t s;
    float *x, *w_ih, *w_hh, *b_ih, *b_hh, *y, *cache, *work;
    float *dy, *dx, *dw_ih, *dw_hh, *db_ih, *db_hh, *dh0, *dc0;
    float *a, *b, *c; /* the sgemm comparison */
} layer_t;

static void run_forward(layer_t *L)
{
    const tf__lstm_shape_t *s = &L->s;
    cell->forward(s, 0, L->x, s->input_size, NULL, L->w_ih, L->w_hh, L->b_ih, L->b_hh, NULL,
                  NULL, L->y, s->hidden_size, NULL, NULL, L->cache, L->work);
}

static void run_train(layer_t *L)
{
    const tf__lstm_shape_t *s = &L->s;
    const size_t ni = (size_t)s->input_size, nh = (size_t)s->hidden_size, G = (size_t)cell->gates;
    memset(L->dw_ih, 0, G * nh * ni * sizeof(float));
    memset(L->dw_hh, 0, G * nh * nh * sizeof(float));
    memset(L->db_ih, 0, G * nh * sizeof(float));
    memset(L->db_hh, 0, G * nh * sizeof(float));
    memset(L->dh0, 0, (size_t)s->batch * nh * sizeof(float));
    memset(L->dc0, 0, (size_t)s->batch * nh * sizeof(float));
    run_forward(L);
    cell->backward(s, 0, L->x, s->input_size, NULL, L->w_ih, L->w_hh, NULL, NULL, L->dy,
                   s->hidden_size, NULL, NULL, L->cache, L->work, L->dx, s->input_size,
                   L->dw_ih, L->dw_hh, L->db_ih, L->db_hh, L->dh0, L->dc0);
}

#ifdef TF_HAVE_CBLAS
static void run_sgemm(layer_t *L)
{
    const tf__lstm_shape_t *s = &L->s;
    const int M = (int)(s->steps * s->batch), N = (int)(cell->gates * s->hidden_size),
              K = (int)(s->input_size + s->hidden_size);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, L->a, K, L->b, K, 0.0f,
                L->c, N);
}
#endif

/* Seconds per call: warm-up, then the best of REPS repetitions of >= REP_SECONDS each. */
static double time_best(void (*fn)(layer_t *), layer_t *L)
{
    double t0 = now();
    fn(L);
    double once = now() - t0;
    long per_rep = once > 0 ? (long)ceil(REP_SECONDS / once) : 1;
    if (per_rep < 1)
        per_rep = 1;
    double best = INFINITY;
    for (int r = 0; r < REPS; r++) {
        t0 = now();
        for (long i = 0; i < per_rep; i++)
            fn(L);
        const double dt = (now() - t0) / (double)per_rep;
        if (dt < best)
            best = dt;
    }
    return best;
}

/* (cblas.h pulls in complex.h, whose macro in_size rules out the usual names.) */
static void bench(int64_t in_size, int64_t hid, int64_t steps, int64_t batch, int32_t threads)
{
    layer_t L;
    memset(&L, 0, sizeof L);
    L.s = (tf__lstm_shape_t){in_size, hid, steps, batch, threads};
    const size_t nI = (size_t)in_size, nH = (size_t)hid, rows = (size_t)(steps * batch);
    const size_t G = (size_t)cell->gates;
    const float k = 1.0f / sqrtf((float)hid);
    L.x = buf(rows * nI);
    L.w_ih = buf(G * nH * nI);
    L.w_hh = buf(G * nH * nH);
    L.b_ih = buf(G * nH);
    L.b_hh = buf(G * nH);
    L.y = buf(rows * nH);
    L.cache = buf(cell->cache_floats(&L.s));
    L.work = buf(cell->work_floats(&L.s));
    L.dy = buf(rows * nH);
    L.dx = buf(rows * nI);
    L.dw_ih = buf(G * nH * nI);
    L.dw_hh = buf(G * nH * nH);
    L.db_ih = buf(G * nH);
    L.db_hh = buf(G * nH);
    L.dh0 = buf((size_t)batch * nH);
    L.dc0 = buf((size_t)batch * nH);
    fill(L.x, rows * nI, 1.0f);
    fill(L.w_ih, G * nH * nI, k);
    fill(L.w_hh, G * nH * nH, k);
    fill(L.b_ih, G * nH, k);
    fill(L.b_hh, G * nH, k);
    fill(L.dy, rows * nH, 1.0f);
    memset(L.dx, 0, rows * nI * sizeof(float));

    const double t_fwd = time_best(run_forward, &L);
    const double t_train = time_best(run_train, &L);
    for (size_t i = 0; i < G * nH * nH; i++)
        if (!isfinite(L.dw_hh[i])) {
            fprintf(stderr, "bench_lstm: non-finite gradient\n");
            exit(1);
        }
    double sgemm_gflops = 0;
#ifdef TF_HAVE_CBLAS
    const size_t K = nI + nH;
    L.a = buf(rows * K);
    L.b = buf(G * nH * K);
    L.c = buf(rows * G * nH);
    fill(L.a, rows * K, 1.0f);
    fill(L.b, G * nH * K, k);
    /* The yardstick is OpenBLAS on all the threads (the library runs it single-threaded and
     * splits GEMMs over its own threads). */
    openblas_set_num_threads((int)threads);
    const double t_gemm = time_best(run_sgemm, &L);
    sgemm_gflops = 2.0 * (double)rows * (double)G * (double)nH * (double)K / t_gemm / 1e9;
#endif
    const double tokens = (double)rows;
    const double flops = 3.0 * (2.0 * (double)G * (double)hid * (double)(in_size + hid) * (double)steps * (double)batch);
    printf("%s I=%lld H=%lld T=%lld B=%lld fwd_tok_s=%.0f train_tok_s=%.0f train_gflops=%.1f "
           "sgemm_gflops=%.1f\n",
           cell->name, (long long)in_size, (long long)hid, (long long)steps, (long long)batch, tokens / t_fwd,
           tokens / t_train, flops / t_train / 1e9, sgemm_gflops);
    fflush(stdout);
    float *all[] = {L.x,  L.w_ih,  L.w_hh,  L.b_ih,  L.b_hh,  L.y,   L.cache, L.work, L.dy, L.dx,
                    L.dw_ih, L.dw_hh, L.db_ih, L.db_hh, L.dh0, L.dc0, L.a,     L.b,    L.c};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}


/* ---- --model: a whole training step of the configuration users start from ----------------- */

#define MODEL_CHECK(call)                                                                          \
    do {                                                                                           \
        tf_status_t st_ = (call);                                                                  \
        if (st_ != TF_STATUS_OK) {                                                                 \
            fprintf(stderr, "bench_lstm: %s: %s\n", #call, tf_last_error_message());              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define SEED_PHASES 7

typedef struct {
    int lm; /* 1: LM head over the vocabulary (2: an adaptive softmax), 0: binary head on the last step */
    tf_module_t *enc, *head;
    tf_optimizer_t *opt;
    tf_tensor_t *tokens, *targets, *labels, *pooled, *dlogits, *dy, *dpooled_full;
    int phases;                /* --phases: time each part of the step */
    double phase_s[SEED_PHASES]; /* seconds spent in each part, summed over the steps */
} seed_t;

/* The parts of a step --phases times (the encoder's embedding and recurrent layer apart). */
enum { PH_EMB_FWD, PH_RNN_FWD, PH_HEAD, PH_RNN_BWD, PH_EMB_BWD, PH_STEP, PH_ZERO };
static const char *const phase_names[SEED_PHASES] = {"embedding_fwd", "lstm_fwd", "head_fwd_bwd", "lstm_bwd",
                                                     "embedding_bwd", "optimizer_step", "zero_grad"};

static double phase_mark(seed_t *s, int phase, double t0)
{
    const double t = now();
    s->phase_s[phase] += t - t0;
    return t;
}

/* Encoder -> (LM head + chunked cross-entropy | last step -> linear -> BCE), backward, Adam:
 * the same model and step as ../shared/bench/torch_lstm_bench.py. */
static void seed_step(seed_t *s)
{
    tf_tensor_t *x, *y, *logits, *dpooled, *dx;
    double loss, t = now();
    int64_t count;
    if (s->phases) { /* the encoder's two layers one after the other, as the encoder runs them */
        MODEL_CHECK(tf_module_forward(&x, tf__encoder_embedding(s->enc), s->tokens, NULL));
        t = phase_mark(s, PH_EMB_FWD, t);
        MODEL_CHECK(tf_module_forward(&y, tf__encoder_rnn(s->enc), x, NULL));
        t = phase_mark(s, PH_RNN_FWD, t);
    } else {
        MODEL_CHECK(tf_module_forward(&y, s->enc, s->tokens, NULL));
    }
    if (s->lm == 2) {
        MODEL_CHECK(tf__asoft_loss(s->head, y, s->targets, TF_NN_INDEX_NONE, 1, &loss, &count, NULL, s->dy));
    } else if (s->lm) {
        MODEL_CHECK(tf_linear_cross_entropy(s->head, y, s->targets, TF_NN_INDEX_NONE, 1, &loss,
                                            &count, s->dy));
    } else {
        MODEL_CHECK(tf_pool_forward(y, NULL, TF_POOL_LAST, 1, s->pooled));
        MODEL_CHECK(tf_module_forward(&logits, s->head, s->pooled, NULL));
        MODEL_CHECK(tf_loss_bce_with_logits(logits, s->labels, &loss, s->dlogits));
        MODEL_CHECK(tf_module_backward(&dpooled, s->head, s->dlogits));
        MODEL_CHECK(tf_pool_backward(y, NULL, TF_POOL_LAST, 1, dpooled, s->dy));
    }
    if (s->phases) {
        t = phase_mark(s, PH_HEAD, t);
        MODEL_CHECK(tf_module_backward(&dx, tf__encoder_rnn(s->enc), s->dy));
        t = phase_mark(s, PH_RNN_BWD, t);
        MODEL_CHECK(tf_module_backward(NULL, tf__encoder_embedding(s->enc), dx));
        t = phase_mark(s, PH_EMB_BWD, t);
    } else {
        MODEL_CHECK(tf_module_backward(NULL, s->enc, s->dy));
    }
    MODEL_CHECK(tf_optimizer_step(s->opt));
    if (s->phases)
        t = phase_mark(s, PH_STEP, t);
    MODEL_CHECK(tf_optimizer_zero_grad(s->opt));
    if (s->phases)
        (void)phase_mark(s, PH_ZERO, t);
}

/* The full softmax head's three GEMMs alone, as tf_linear_cross_entropy runs them (the same
 * chunks of rows, split over the context's threads): logits, input gradient, weight gradient.
 * Seconds per step, the best of 5 repetitions: the least the head can take with these GEMMs. */
static double head_gemms_best(tf_ctx_t *ctx, int64_t V, int64_t K, int64_t N)
{
    int64_t R = ((int64_t)1 << 22) / V; /* rows per chunk, as lib/nn/linear_ce.c */
    R = R < 8 ? 8 : (R > N ? N : R);
    float *x = buf((size_t)(N * K)), *w = buf((size_t)(V * K)), *z = buf((size_t)(R * V));
    float *gx = buf((size_t)(N * K)), *dw = buf((size_t)(V * K));
    fill(x, (size_t)(N * K), 1.0f);
    fill(w, (size_t)(V * K), 0.1f);
    fill(z, (size_t)(R * V), 1.0f);
    memset(dw, 0, (size_t)(V * K) * sizeof(float));
    const int32_t th = ctx->num_threads;
    double best = INFINITY;
    for (int rep = 0; rep < 5; rep++) {
        const double t0 = now();
        for (int64_t r0 = 0; r0 < N; r0 += R) {
            const int64_t n = N - r0 < R ? N - r0 : R;
            tf__sgemm(th, 0, 1, n, V, K, 1.0f, x + r0 * K, K, w, K, 1.0f, z, V);
            tf__sgemm(th, 0, 0, n, K, V, 1.0f, z, V, w, K, 0.0f, gx + r0 * K, K);
            tf__sgemm(th, 1, 0, V, K, n, 1.0f, z, V, x + r0 * K, K, 1.0f, dw, K);
        }
        const double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    free(x);
    free(w);
    free(z);
    free(gx);
    free(dw);
    return best;
}

static int bench_model(const char *which, long threads, int phases)
{
    const int64_t V = 10000, E = 100, H = 200, T = 64, B = 32;
    seed_t s = {0};
    tf_ctx_t *ctx;
    s.phases = phases;
    tf_ctx_opts_t co;
    if (strcmp(which, "seed-lm") == 0)
        s.lm = 1;
    else if (strcmp(which, "seed-lm-adaptive") == 0)
        s.lm = 2;
    else if (strcmp(which, "seed-cls") != 0) {
        fprintf(stderr, "bench_lstm: --model wants seed-cls, seed-lm or seed-lm-adaptive\n");
        return 2;
    }
    tf_ctx_opts_init(&co, TF_CTX_OPTS_VERSION);
    co.num_threads = (int32_t)threads;
    MODEL_CHECK(tf_ctx_create(&ctx, &co));
    tf_encoder_opts_t eo;
    tf_encoder_opts_init(&eo, TF_ENCODER_OPTS_VERSION);
    eo.vocab_size = V;
    eo.embedding_dim = E;
    eo.hidden_size = H;
    MODEL_CHECK(tf_encoder_create(&s.enc, ctx, &eo));
    tf_linear_opts_t lo;
    tf_linear_opts_init(&lo, TF_LINEAR_OPTS_VERSION);
    lo.in_features = H;
    lo.out_features = s.lm ? V : 1;
    lo.name = "head";
    if (s.lm == 2) { /* PyTorch's AdaptiveLogSoftmaxWithLoss(H, V, [2000, 6000]) */
        tf__asoft_opts_t ao = {.in_features = H, .n_classes = V, .n_cutoffs = 2, .cutoffs = {2000, 6000},
                               .div_value = 4.0, .name = "head"};
        MODEL_CHECK(tf__asoft_new(&s.head, ctx, &ao));
    } else {
        MODEL_CHECK(tf_linear_create(&s.head, ctx, &lo));
    }
    tf_optimizer_opts_t oo;
    tf_optimizer_opts_init(&oo, TF_OPTIMIZER_OPTS_VERSION);
    oo.algorithm = TF_OPTIMIZER_ADAM;
    oo.lr = 1e-3;
    MODEL_CHECK(tf_optimizer_create(&s.opt, ctx, &oo));
    tf_module_t *mods[2] = {s.enc, s.head};
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < tf_module_num_params(mods[k]); i++) {
            const char *name;
            tf_tensor_t *p, *g;
            MODEL_CHECK(tf_module_param_at(&name, &p, &g, mods[k], i));
            MODEL_CHECK(tf_optimizer_add_param(s.opt, name, p, g));
        }
    const int64_t tb[2] = {T, B}, bh[2] = {B, H}, b1[2] = {B, 1}, tbh[3] = {T, B, H};
    MODEL_CHECK(tf_tensor_create(&s.tokens, ctx, TF_DTYPE_I32, tb, 2));
    MODEL_CHECK(tf_tensor_create(&s.targets, ctx, TF_DTYPE_I32, tb, 2));
    MODEL_CHECK(tf_tensor_create(&s.labels, ctx, TF_DTYPE_F32, b1, 2));
    MODEL_CHECK(tf_tensor_create(&s.pooled, ctx, TF_DTYPE_F32, bh, 2));
    MODEL_CHECK(tf_tensor_create(&s.dlogits, ctx, TF_DTYPE_F32, b1, 2));
    MODEL_CHECK(tf_tensor_create(&s.dy, ctx, TF_DTYPE_F32, tbh, 3));
    int32_t *tok = tf_tensor_data(s.tokens), *tgt = tf_tensor_data(s.targets);
    float *lab = tf_tensor_data(s.labels);
    for (int64_t i = 0; i < T * B; i++) {
        tok[i] = (int32_t)(next_u64() % (uint64_t)V);
        tgt[i] = (int32_t)(next_u64() % (uint64_t)V);
        /* The adaptive softmax's work depends on where the targets fall: word ranks as in text
         * (Zipf, s = 1: log-uniform), from the quantiles of the golden-ratio sequence, exactly as
         * bench/torch_adaptive_bench.py makes them (82% in the head, 12% and 6% in the clusters). */
        if (s.lm == 2) {
            double u = fmod((double)i * 0.6180339887498949, 1.0);
            tgt[i] = (int32_t)fmin((double)(V - 1), floor(exp(u * log((double)V + 1.0))) - 1.0);
        }
    }
    for (int64_t i = 0; i < B; i++)
        lab[i] = (float)(next_u64() & 1);
    for (int w = 0; w < 2; w++)
        seed_step(&s);
    memset(s.phase_s, 0, sizeof s.phase_s);
    /* Best of 5 repetitions of at least 1 s each (the machine is shared). */
    double best = 1e30;
    long all_steps = 0;
    for (int rep = 0; rep < 5; rep++) {
        int steps = 0;
        double t0 = now(), dt;
        do {
            seed_step(&s);
            steps++;
            dt = now() - t0;
        } while (dt < 1.0);
        all_steps += steps;
        if (dt / steps < best)
            best = dt / steps;
    }
    if (phases) { /* the mean over every timed step, not the best repetition */
        printf("phases %s threads=%ld steps=%ld", which, threads, all_steps);
        for (int p = 0; p < SEED_PHASES; p++)
            printf(" %s_ms=%.2f", phase_names[p], 1e3 * s.phase_s[p] / (double)all_steps);
        if (s.lm == 1)
            printf(" head_gemms_ms=%.2f", 1e3 * head_gemms_best(ctx, V, H, T * B));
        printf("\n");
    }
    printf("model %s V=%lld E=%lld H=%lld T=%lld B=%lld threads=%ld ms_per_step=%.2f "
           "train_tok_s=%.0f\n",
           which, (long long)V, (long long)E, (long long)H, (long long)T, (long long)B, threads,
           best * 1e3, (double)(T * B) / best);
    tf_tensor_free(s.tokens);
    tf_tensor_free(s.targets);
    tf_tensor_free(s.labels);
    tf_tensor_free(s.pooled);
    tf_tensor_free(s.dlogits);
    tf_tensor_free(s.dy);
    tf_optimizer_free(s.opt);
    tf_module_free(s.head);
    tf_module_free(s.enc);
    tf_ctx_free(ctx);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_lstm [--shape I,H,T,B | --model seed-cls|seed-lm|seed-lm-adaptive] [--threads N]\n"
               "                  [--cell lstm|gru] [--phases]\n"
               "  times one recurrent layer (forward; forward + backward) and OpenBLAS sgemm\n"
               "  --cell: the layer's cell (default lstm)\n"
               "  without --shape: the six shapes of the benchmark table\n"
               "  --model: a whole training step (Adam included) of vocabulary 10000, embedding\n"
               "  100, hidden 200, T=64, B=32, with a binary (seed-cls) or LM (seed-lm) head, or an\n"
               "  adaptive softmax LM head (seed-lm-adaptive: cut-offs 2000,6000, Zipf targets)\n"
               "  --phases: with --model, also the mean milliseconds of each part of the step\n"
               "  --gemm auto|blas|dnnl: the backend of the library's large GEMMs (default auto)\n"
               "  --level 3|0: the ISA level of the kernel's own loops (x86-64-v3: the AVX2 code,\n"
               "  with LIBXSMM_TARGET=hsw ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell for\n"
               "  the rest; 0: baseline x86-64; default the CPU's best)\n");
}

int main(int argc, char **argv)
{
    long long shape[4] = {0, 0, 0, 0};
    int have_shape = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model = NULL;
    int phases = 0;
    cell = tf__cell_get(TF_CELL_LSTM);
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--shape") == 0 && a + 1 < argc) {
            char tail;
            if (sscanf(argv[++a], "%lld,%lld,%lld,%lld%c", &shape[0], &shape[1], &shape[2],
                       &shape[3], &tail) != 4 ||
                shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[3] < 1 ||
                shape[0] > 100000 || shape[1] > 100000 || shape[2] > 100000 ||
                shape[3] > 100000) {
                fprintf(stderr, "bench_lstm: --shape wants four positive integers I,H,T,B\n");
                return 2;
            }
            have_shape = 1;
        } else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            char *end;
            threads = strtol(argv[++a], &end, 10);
            if (*end != '\0' || threads < 1 || threads > 1024) {
                fprintf(stderr, "bench_lstm: --threads wants a number from 1 to 1024\n");
                return 2;
            }
        } else if (strcmp(argv[a], "--cell") == 0 && a + 1 < argc) {
            cell = tf__cell_get(tf__cell_find(argv[++a]));
            if (cell == NULL) {
                fprintf(stderr, "bench_lstm: --cell wants lstm or gru\n");
                return 2;
            }
        } else if (strcmp(argv[a], "--model") == 0 && a + 1 < argc) {
            model = argv[++a];
        } else if (strcmp(argv[a], "--gemm") == 0 && a + 1 < argc) {
            const char *g = argv[++a];
            if (strcmp(g, "auto") != 0 && strcmp(g, "blas") != 0 && strcmp(g, "dnnl") != 0) {
                fprintf(stderr, "bench_lstm: --gemm wants auto, blas or dnnl\n");
                return 2;
            }
            tf__sgemm_force(g[0] == 'a' ? TF__GEMM_AUTO : g[0] == 'b' ? TF__GEMM_BLAS : TF__GEMM_DNNL);
        } else if (strcmp(argv[a], "--level") == 0 && a + 1 < argc) {
            const int level = atoi(argv[++a]);
            if (level != 3 && level != 0) {
                fprintf(stderr, "bench_lstm: --level wants 3 or 0\n");
                return 2;
            }
            tf__lstm_level_force(level);
            tf__vec_level_force(level);
        } else if (strcmp(argv[a], "--phases") == 0) {
            phases = 1;
        } else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (threads < 1)
        threads = 1;
    if (model != NULL)
        return bench_model(model, threads, phases);
    if (have_shape) {
        bench(shape[0], shape[1], shape[2], shape[3], (int32_t)threads);
        return 0;
    }
    static const int64_t shapes[6][4] = {{100, 200, 64, 32}, {256, 512, 64, 32},
                                         {512, 512, 64, 64}, {1024, 1024, 64, 64},
                                         {128, 128, 256, 1}, {256, 256, 35, 20}};
    for (int i = 0; i < 6; i++)
        bench(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], (int32_t)threads);
    return 0;
}
