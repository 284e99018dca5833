/* SPDX-License-Identifier: MIT */
/* One-row steps split over threads (lib/predict/lstm_infer.c) when a thread of the split loses
 * its core: with a busy thread on the one processor the process may use, the helper waits for
 * the scheduler, a run finds it late and the next runs stay on one thread for the pause
 * (tf__pred_split_pause); with no pause every run splits again. The outputs are one thread's
 * bits throughout. Its own program: the test pins the process's threads to one processor. */
#define _GNU_SOURCE
#include "tf_test.h"
#include "predict/predict_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { I = 8, H = 200, T = 8, G4 = 4 * H };

static atomic_int stop;

/* A thread that never yields its processor. */
static void *hog(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        ;
    return NULL;
}

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / 16777216.0f - 0.5f) * 0.2f;
}

typedef struct net {
    float w_ih[G4 * I], w_hh[G4 * H], b[G4], x[T * I];
    float *packed, *packed_ih, *step1, *work;
    tf__pred_lstm_t s;
} net_t;

static void make_net(net_t *n)
{
    uint32_t s = 17u;
    for (int64_t i = 0; i < G4 * I; i++)
        n->w_ih[i] = frand(&s);
    for (int64_t i = 0; i < G4 * H; i++)
        n->w_hh[i] = frand(&s);
    for (int64_t i = 0; i < G4; i++)
        n->b[i] = frand(&s);
    for (int64_t i = 0; i < T * I; i++)
        n->x[i] = frand(&s) * 5.0f;
    n->packed = malloc(sizeof(float) * tf__pred_lstm_packed_floats(H, H));
    n->packed_ih = malloc(sizeof(float) * tf__pred_lstm_packed_floats(I, H));
    n->step1 = malloc(sizeof(float) * tf__pred_step1_floats(H));
    n->work = malloc(sizeof(float) * tf__pred_lstm_work_floats(H, T, 1));
    assert_non_null(n->work);
    memset(&n->s, 0, sizeof n->s);
    n->s.I = I;
    n->s.H = H;
    n->s.T = T;
    n->s.B = 1;
    n->s.w_ih = n->w_ih;
    n->s.w_hh = n->w_hh;
    n->s.b_ih = n->s.b_hh = n->b;
    n->s.pw = tf__pred_lstm_pack(H, H, n->w_hh, n->packed);
    n->s.packed = n->packed;
    tf__pred_lstm_pack(I, H, n->w_ih, n->packed_ih);
    n->s.packed_ih = n->packed_ih;
    tf__pred_step1_pack(H, n->w_hh, n->step1);
    n->s.step1 = n->step1;
    n->s.threads = 1;
}

static void free_net(net_t *n)
{
    free(n->packed);
    free(n->packed_ih);
    free(n->step1);
    free(n->work);
}

/* `runs` forward passes of one text on two threads, each checked against one thread's `want`;
 * returns the split runs they made. */
static int64_t passes(net_t *n, int runs, const float *want)
{
    static const int32_t len[1] = {T};
    float y[T * H];
    const int64_t before = tf__pred_split_runs();
    n->s.threads = 2;
    for (int r = 0; r < runs; r++) {
        tf__pred_lstm_forward(&n->s, 0, n->x, I, len, y, H, n->work);
        if (memcmp(y, want, sizeof y) != 0)
            fail_msg("pass %d: other bits than one thread", r);
    }
    n->s.threads = 1;
    return tf__pred_split_runs() - before;
}

static void test_late_thread_pauses_splitting(void **state)
{
    (void)state;
#if !defined(__linux__)
    skip(); /* pinning threads is Linux's */
#else
    cpu_set_t one;
    CPU_ZERO(&one);
    assert_int_equal(sched_getaffinity(0, sizeof one, &one), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &one))
        cpu++;
    if (tf__pred_lstm_parts(H, 2, 0) < 2) /* one processor online: nothing splits */
        skip();
    /* This thread, the helpers it starts and the hog on one processor. */
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
    static net_t n;
    make_net(&n);
    static const int32_t len[1] = {T};
    static float want[T * H];
    tf__pred_lstm_forward(&n.s, 0, n.x, I, len, want, H, n.work);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hog, NULL), 0);
    tf__pred_split_pause(60.0); /* longer than the test: no split after the first late run */
    const int64_t paused = passes(&n, 100, want);
    tf__pred_split_pause(0.0);
    const int64_t unpaused = passes(&n, 3, want);
    atomic_store(&stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    free_net(&n);
    /* a run need not find the helper late (the two may pass the processor back and forth
     * between the hog's turns), but one of the first few does */
    if (paused < 1 || paused > 10)
        fail_msg("%lld of 100 runs split with a late thread and a pause (want 1 to 10)", (long long)paused);
    assert_int_equal(unpaused, 3);
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_thread_pauses_splitting),
    };
    return TF_TEST_RUN(tests);
}
