/* SPDX-License-Identifier: MIT */
/* The LSTM for prediction only: one direction of one layer over a batch sorted by length
 * (longest first), with no cache for a backward pass.
 *
 * Three differences from the training kernel (lib/nn/lstm_kernel.c), all about what prediction
 * does not need:
 *   - W_hh^T is packed for the per-step products (step_gemm.h) once, when the predictor is made,
 *     not on every call;
 *   - since the rows are sorted by length, the sequences still running at step t are the first
 *     n_t rows: each step's product and gate pass cover those rows only (PyTorch's packed
 *     sequences do the same), and padded steps cost nothing;
 *   - the input projection runs over chunks of CHUNK steps, so its buffer is CHUNK*B*4H floats
 *     instead of T*B*4H; with an input table there is none, each step's gates read the table;
 *   - a step with one row left is one fused pass (lstm_step.c), the product over a W_hh packed
 *     for it and the gates block by block; with threads to spare, a run of such steps is split
 *     over them by blocks of units (split_part), with int8 weights too (over a W_hh packed by
 *     blocks of units, tf__pred_lstm_i8_blocks_pack).
 * The gates run on lstm_step.c's kernels (the same activations as the training kernel's). */
#include "predict_internal.h"
#include "../nn/step_gemm.h"
#include "../tensor/blas.h"
#include "gemm_i8.h"
#include "../core/team.h"

#include <stdatomic.h>
#include <string.h>

/* Steps whose input projection is one GEMM: CHUNK*B rows keep it efficient even at B = 1. */
#define CHUNK 32

size_t tf__pred_lstm_packed_floats(int64_t K, int64_t H)
{
    return tf__step_gemm_packed_floats_max(K, 4 * H);
}

int64_t tf__pred_lstm_pack(int64_t K, int64_t H, const float *w, float *dst)
{
    tf__step_gemm_t g;
    tf__step_gemm_plan(&g, 1, 4 * H, K, K, 4 * H, 1);
    tf__step_gemm_pack(&g, dst, w, 1);
    return g.pw;
}

/* Rows of one input-projection product on the packed W_ih. */
#define ROWS 32

/* gbuf (rows x 4H) = x (rows x I, stride ldx) W_ih^T, on the packed W_ih where the step kernels
 * have its panel width, else through tf__sgemm. Not with a table (each step reads its rows). */
static void project(const tf__pred_lstm_t *s, const float *x, int64_t ldx, int64_t r0_all, int64_t rows,
                    float *gbuf)
{
    const int64_t G4 = 4 * s->H;
    x += r0_all * ldx;
    if (s->q_ih) {
        tf__i8_gemm(rows, G4, s->I, x, ldx, s->q_ih, s->s_ih, 0, gbuf, G4, s->q_work);
        return;
    }
    tf__step_gemm_t g;
    int64_t planned = -1;
    for (int64_t r0 = 0; r0 < rows; r0 += ROWS) {
        const int64_t m = rows - r0 < ROWS ? rows - r0 : ROWS;
        if (m != planned) {
            tf__step_gemm_plan(&g, m, G4, s->I, ldx, G4, 0);
            planned = m;
        }
        if (g.pw != s->pw || s->packed_ih == NULL) {
            tf__sgemm(s->threads, 0, 1, rows - r0, G4, s->I, 1.0f, x + r0 * ldx, ldx, s->w_ih, s->I, 0.0f,
                      gbuf + r0 * G4, G4);
            return;
        }
        tf__step_gemm_run(&g, x + r0 * ldx, s->packed_ih, 0, G4, gbuf + r0 * G4);
    }
}

/* One-row steps split over threads: at most MAX_PARTS parts and one per processor, each of at
 * least MIN_PART_BLOCKS blocks of units (smaller steps cost less than the wait for the other
 * parts; MIN_PART_BLOCKS_I8 with int8 weights, whose steps cost about a third of f32's), over
 * runs of at least MIN_SPLIT_STEPS steps (a run costs one hand-over to the helpers). */
#define MAX_PARTS 8
#define MIN_PART_BLOCKS 4
#define MIN_PART_BLOCKS_I8 6
#define MIN_SPLIT_STEPS 4

/* A part that waits LATE_NS for another (past LATE_SPINS spins, then through the scheduler) has
 * a partner that lost its core to another process (a loaded machine; waking a helper takes
 * microseconds): every step would wait for the scheduler, far slower than one thread, so after
 * LATE_RUNS such runs in a row one-row steps run unsplit for a while (tf__pred_split_pause). One
 * late run alone does not pause: on a quiet virtual machine a processor is sometimes away for
 * milliseconds, and a pause each time cost a quarter of the split's gain. */
#define LATE_SPINS 4000
#define LATE_NS 200000
#define LATE_RUNS 2
static atomic_llong pause_ns = 500000000; /* 0.5 s */
static atomic_llong resume_ns;            /* no split before this time */
static atomic_int late_runs;              /* split runs in a row with a late part */

static int64_t clock_ns(void)
{
    return (int64_t)(tf__now() * 1e9);
}

void tf__pred_split_pause(double seconds)
{
    atomic_store(&pause_ns, (long long)(seconds * 1e9));
    atomic_store(&resume_ns, 0);
    atomic_store(&late_runs, 0);
}

/* The int8 W_hh of the split steps: rows regrouped by blocks of units, so that int8 panel j
 * (gemm_i8.h) is block j's rows of gates i, f, g, o, in the order of a block of tf__pred_step1's
 * packing, and a part's products are whole panels. */
#define U TF__PRED_UNITS
_Static_assert(4 * U == TF__I8_PANEL, "a block of units is one int8 panel");

static int64_t unit_blocks(int64_t H)
{
    return (H + U - 1) / U;
}

int64_t tf__pred_lstm_parts(int64_t H, int32_t threads, int int8)
{
    const int64_t most = unit_blocks(H) / (int8 ? MIN_PART_BLOCKS_I8 : MIN_PART_BLOCKS);
    int64_t parts = threads < MAX_PARTS ? threads : MAX_PARTS;
    if (parts > tf__team_cores()) /* a part waiting for a part that has no core */
        parts = tf__team_cores();
    if (parts > most)
        parts = most;
    return parts > 1 ? parts : 1;
}

size_t tf__pred_lstm_i8_blocks_bytes(int64_t H)
{
    return tf__i8_packed_bytes(4 * U * unit_blocks(H), H);
}

size_t tf__pred_lstm_i8_blocks_scale_floats(int64_t H)
{
    return tf__i8_scale_floats(4 * U * unit_blocks(H));
}

void tf__pred_lstm_i8_blocks_pack(int64_t H, const int8_t *q, const float *scale, int8_t *tmp, float *tmp_scale,
                                  int8_t *dst, float *dst_scale)
{
    const int64_t N = 4 * U * unit_blocks(H);
    for (int64_t r = 0; r < N; r++) { /* row r: unit u of gate g */
        const int64_t g = r % (4 * U) / U, u = r / (4 * U) * U + r % U;
        if (u < H)
            memcpy(tmp + r * H, q + (g * H + u) * H, (size_t)H);
        else
            memset(tmp + r * H, 0, (size_t)H);
        tmp_scale[r] = u < H ? scale[g * H + u] : 0.0f;
    }
    tf__i8_pack(N, H, tmp, tmp_scale, dst, dst_scale);
}

/* Floats of one part's quantised state: whole cache lines, not shared with another part's. */
static int64_t qu_floats(int64_t H)
{
    return ((int64_t)tf__i8_row_work_floats(H) + 15) / 16 * 16;
}

/* Floats the int8 split steps take from tf__pred_lstm_t::q_work: the products by blocks, each
 * part's gate inputs (8 per unit), each part's quantised state. */
static size_t i8_split_floats(int64_t H)
{
    return (size_t)(4 * U * unit_blocks(H) + 8 * H + MAX_PARTS * qu_floats(H));
}

/* Steps ka..kb-1 of a chunk of n steps (times from t0) with one row, split by
 * blocks of units: part p owns blocks blk[p]..blk[p+1]-1 (their c and h, and W_hh's rows for them,
 * which stay in its core's cache). The state alternates between hb[0] and hb[1], so one wait per
 * step suffices: a part starts step i once every part has counted step i-1 done. */
typedef struct split {
    const tf__pred_lstm_t *s;
    int reverse;
    const float *bias, *gbuf;
    float *hb[2], *c, *y;
    float *qg, *qz, *qu; /* int8: the products by blocks, the gate inputs, the quantised states */
    int64_t ldy, n, t0, ka, kb, parts;
    int64_t blk[MAX_PARTS + 1];
    atomic_int late; /* a part waited LATE_NS for another */
    struct {
        _Alignas(64) atomic_llong steps; /* steps done by the part */
    } done[MAX_PARTS];
} split_t;

/* Wait until *done >= want, noting in S a partner late. */
static void part_wait(split_t *S, atomic_llong *done, int64_t want)
{
    for (int spins = 0; atomic_load_explicit(done, memory_order_acquire) < want; spins++) {
        if (spins == LATE_SPINS) { /* the clock only on this slow way */
            const int64_t t0 = clock_ns();
            tf__team_wait(done, want);
            if (clock_ns() - t0 > LATE_NS)
                atomic_store_explicit(&S->late, 1, memory_order_relaxed);
            return;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

/* The input (x W_ih^T) of the one row at time t of the chunk from t0: the table's row or the
 * projection's. */
static const float *step_input(const tf__pred_lstm_t *s, const float *gbuf, int64_t t, int64_t t0)
{
    return s->table ? s->table + (int64_t)s->tok[t * s->B] * 4 * s->H : gbuf + (t - t0) * s->B * 4 * s->H;
}

/* Part p's units of one int8 step, as the unsplit step computes them: the products of its
 * panels onto the step's input (or alone, with a table), the state quantised by each part alike;
 * then its units' gate inputs in tf__pred_gates' order (the bias added where the unsplit pass
 * adds it) and the gates, into hn. Block by block, U units of a gate at a time. */
static void split_step_i8(const split_t *S, int64_t p, const float *gx, const float *gx_next, const float *h,
                          float *hn)
{
    const tf__pred_lstm_t *s = S->s;
    const int64_t H = s->H, N = 4 * U * unit_blocks(H), b0 = S->blk[p], b1 = S->blk[p + 1];
    const int64_t u0 = b0 * U, u1 = b1 * U < H ? b1 * U : H, n = u1 - u0;
    const float *bias = S->bias;
    float *z = S->qz + 8 * u0, *zb = z + 4 * n;
    for (int64_t g = 0; gx_next && g < 4; g++) /* the next step's table row, meanwhile */
        for (int64_t u = u0; u < u1; u += U) {
            TF__PRED_PREFETCH(gx_next + g * H + u);
            TF__PRED_PREFETCH(gx_next + g * H + (u + U < u1 ? u + U : u1) - 1);
        }
    for (int64_t b = b0; !s->table && b < b1; b++)
        for (int64_t g = 0; g < 4; g++) {
            float *r = S->qg + b * 4 * U + g * U;
            const int64_t w = H - b * U < U ? H - b * U : U;
            memcpy(r, gx + g * H + b * U, (size_t)w * sizeof(float));
            memset(r + w, 0, (size_t)(U - w) * sizeof(float));
        }
    tf__i8_gemm_cols(1, N, H, h, H, s->q_blk, s->s_blk, b0 * 4 * U, b1 * 4 * U, !s->table, S->qg, N,
                     S->qu + p * qu_floats(H));
    for (int64_t b = b0; b < b1; b++)
        for (int64_t g = 0; g < 4; g++) {
            const float *r = S->qg + b * 4 * U + g * U;
            const int64_t j0 = b * U - u0, w = H - b * U < U ? H - b * U : U, at = g * H + b * U;
            float *zg = z + g * n + j0, *zbg = zb + g * n + j0;
            if (s->table)
                for (int64_t j = 0; j < w; j++) {
                    zg[j] = r[j] + bias[at + j];
                    zbg[j] = gx[at + j];
                }
            else
                for (int64_t j = 0; j < w; j++) {
                    zg[j] = r[j];
                    zbg[j] = bias[at + j];
                }
        }
    tf__pred_gates(n, 1, z, 4 * n, NULL, NULL, zb, S->c + u0, hn + u0);
}

static void split_part(void *arg, int64_t step, int64_t p)
{
    split_t *S = arg;
    const tf__pred_lstm_t *s = S->s;
    const int64_t H = s->H, u0 = S->blk[p] * TF__PRED_UNITS;
    const int64_t u1 = S->blk[p + 1] * TF__PRED_UNITS < H ? S->blk[p + 1] * TF__PRED_UNITS : H;
    (void)step;
    for (int64_t k = S->ka; k < S->kb; k++) {
        const int64_t i = k - S->ka, t = S->reverse ? S->t0 + S->n - 1 - k : S->t0 + k;
        for (int64_t q = 0; q < S->parts && i > 0; q++)
            if (q != p)
                part_wait(S, &S->done[q].steps, i);
        const int64_t tn = S->reverse ? t - 1 : t + 1;
        const float *gx_next = s->table && k + 1 < S->kb ? step_input(s, S->gbuf, tn, S->t0) : NULL;
        float *hn = S->hb[(i + 1) & 1];
        if (s->q_blk)
            split_step_i8(S, p, step_input(s, S->gbuf, t, S->t0), gx_next, S->hb[i & 1], hn);
        else
            tf__pred_step1(H, s->step1, step_input(s, S->gbuf, t, S->t0), gx_next, S->bias, S->hb[i & 1], hn,
                           S->c, S->blk[p], S->blk[p + 1]);
        if (S->y)
            memcpy(S->y + t * s->B * S->ldy + u0, hn + u0, (size_t)(u1 - u0) * sizeof(float));
        atomic_store_explicit(&S->done[p].steps, i + 1, memory_order_release);
    }
}

/* The number of parts to split one-row steps into (1: not split): f32 on the fused step's
 * packing, int8 on W_hh by blocks (and q_work room for their buffers). */
static int64_t split_parts(const tf__pred_lstm_t *s)
{
    const int kernel = s->q_hh ? s->q_blk && i8_split_floats(s->H) <= tf__i8_work_floats(s->H) : s->step1 != NULL;
    return kernel ? tf__pred_lstm_parts(s->H, s->threads, s->q_hh != NULL) : 1;
}

/* Sequences still running at time t: a prefix, as the rows are sorted by length. */
static int64_t running(const int32_t *len, int64_t B, int64_t t)
{
    int64_t m = 0;
    while (m < B && len[m] > t)
        m++;
    return m;
}

static atomic_llong split_runs;

int64_t tf__pred_split_runs(void)
{
    return atomic_load_explicit(&split_runs, memory_order_relaxed);
}

/* Runs one-row steps ka..kb-1 of the chunk split over `parts` threads, the state from h (row 0)
 * back into it; 0 when the threads are busy or splitting is paused (nothing done). */
static int run_split(split_t *S, float *h, float *hn)
{
    const int64_t H = S->s->H, blocks = (H + TF__PRED_UNITS - 1) / TF__PRED_UNITS;
    S->hb[0] = h;
    S->hb[1] = hn;
    for (int64_t p = 0; p <= S->parts; p++) /* blocks near H*p/parts units each */
        S->blk[p] = p == S->parts ? blocks : (H * p / S->parts + TF__PRED_UNITS / 2) / TF__PRED_UNITS;
    for (int64_t p = 0; p < S->parts; p++)
        atomic_init(&S->done[p].steps, 0);
    atomic_init(&S->late, 0);
    if (clock_ns() < atomic_load_explicit(&resume_ns, memory_order_relaxed) ||
        !tf__team_try_together((int32_t)S->parts, split_part, S))
        return 0;
    if (!atomic_load_explicit(&S->late, memory_order_relaxed))
        atomic_store_explicit(&late_runs, 0, memory_order_relaxed);
    else if (atomic_fetch_add_explicit(&late_runs, 1, memory_order_relaxed) + 1 >= LATE_RUNS) {
        atomic_store_explicit(&late_runs, 0, memory_order_relaxed);
        atomic_store_explicit(&resume_ns, clock_ns() + atomic_load(&pause_ns), memory_order_relaxed);
    }
    if ((S->kb - S->ka) & 1)
        memcpy(h, hn, (size_t)H * sizeof(float));
    atomic_fetch_add_explicit(&split_runs, 1, memory_order_relaxed);
    return 1;
}

size_t tf__pred_lstm_work_floats(int64_t H, int64_t T, int64_t B)
{
    const int64_t tc = T < CHUNK ? T : CHUNK;
    return (size_t)(4 * H + tc * B * 4 * H + 3 * B * H);
}

void tf__pred_lstm_forward(const tf__pred_lstm_t *s, int reverse, const float *x, int64_t ldx, const int32_t *len,
                           float *y, int64_t ldy, float *work)
{
    const int64_t H = s->H, T = s->T, B = s->B, G4 = 4 * H;
    const int64_t tc = T < CHUNK ? T : CHUNK;
    float *bias = work, *gbuf = bias + G4, *h = gbuf + tc * B * G4, *c = h + B * H, *hn = c + B * H;
    for (int64_t j = 0; j < G4; j++)
        bias[j] = s->b_ih[j] + s->b_hh[j];
    memset(h, 0, (size_t)(2 * B * H) * sizeof(float));
    tf__step_gemm_t plan = {0};
    int64_t planned = -1; /* rows of the current plan */
    const int64_t parts = split_parts(s);
    for (int64_t k0 = 0; k0 < T; k0 += tc) {
        /* Chunk of steps k0..k1-1 in the direction's order: times t0..t0+n-1. */
        const int64_t n = T - k0 < tc ? T - k0 : tc;
        const int64_t t0 = reverse ? T - k0 - n : k0;
        if (!s->table)
            project(s, x, ldx, t0 * B, n * B, gbuf);
        for (int64_t k = 0; k < n; k++) {
            const int64_t t = reverse ? t0 + n - 1 - k : t0 + k;
            const int64_t m = running(len, B, t);
            /* With a table, the product goes to one step's rows (the same, kept in cache) and the
             * gates add the table's rows. */
            float *g = s->table ? gbuf : gbuf + (t - t0) * B * G4;
            const float *gx = s->table && m > 0 ? s->table + (int64_t)s->tok[t * B] * G4 : g;
            if (m == 1 && parts > 1) { /* a run of one-row steps split over threads */
                split_t S = {.s = s, .reverse = reverse, .bias = bias, .gbuf = gbuf, .c = c, .y = y,
                             .ldy = ldy, .n = n, .t0 = t0, .ka = k, .kb = k + 1, .parts = parts};
                if (s->q_blk) {
                    S.qg = s->q_work;
                    S.qz = S.qg + 4 * U * unit_blocks(H);
                    S.qu = S.qz + 8 * H;
                }
                while (S.kb < n && running(len, B, reverse ? t0 + n - 1 - S.kb : t0 + S.kb) == 1)
                    S.kb++;
                if (S.kb - S.ka >= MIN_SPLIT_STEPS && run_split(&S, h, hn)) {
                    for (int64_t j = S.ka; y && j < S.kb; j++) /* the finished rows' outputs */
                        for (int64_t b = 1; b < B; b++)
                            memset(y + ((reverse ? t0 + n - 1 - j : t0 + j) * B + b) * ldy, 0,
                                   (size_t)H * sizeof(float));
                    k = S.kb - 1;
                    continue;
                }
            }
            if (m > 0 && s->q_hh) {
                tf__i8_gemm(m, G4, H, h, H, s->q_hh, s->s_hh, !s->table, g, G4, s->q_work);
                tf__pred_gates(H, m, g, G4, s->table, s->table ? s->tok + t * B : NULL, bias, c, h);
            } else if (m == 1 && s->step1) { /* one row: the fused step */
                const int64_t tn = reverse ? t - 1 : t + 1;
                const float *gx_next = s->table && tn >= 0 && tn < T && len[0] > tn
                                           ? s->table + (int64_t)s->tok[tn * B] * G4
                                           : NULL;
                tf__pred_step1(H, s->step1, gx, gx_next, bias, h, hn, c, 0, (H + TF__PRED_UNITS - 1) / TF__PRED_UNITS);
                memcpy(h, hn, (size_t)H * sizeof(float));
            } else if (m > 0) {
                if (m != planned) {
                    tf__step_gemm_plan(&plan, m, G4, H, H, G4, !s->table);
                    planned = m;
                }
                if (plan.pw == s->pw)
                    tf__step_gemm_run(&plan, h, s->packed, 0, G4, g);
                else /* no kernel of the packed panel width for this row count */
                    tf__sgemm(1, 0, 1, m, G4, H, 1.0f, h, H, s->w_hh, H, s->table ? 0.0f : 1.0f, g, G4);
                tf__pred_gates(H, m, g, G4, s->table, s->table ? s->tok + t * B : NULL, bias, c, h);
            }
            for (int64_t b = 0; y && b < m; b++)
                memcpy(y + (t * B + b) * ldy, h + b * H, (size_t)H * sizeof(float));
            for (int64_t b = m; y && b < B; b++)
                memset(y + (t * B + b) * ldy, 0, (size_t)H * sizeof(float));
        }
    }
}
