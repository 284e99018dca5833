/* SPDX-License-Identifier: MIT */
/* The step team (team.h): one claim counter, one done counter, spin-then-yield waits. */
#include "team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* Helper threads beyond this are not started (the callers split a step into about four chunks per
 * thread, and the machines this runs on rarely have more cores for one recurrence). */
#define TEAM_MAX_HELPERS 15

/* Busy-wait rounds before a waiting thread starts yielding its core: a chunk takes microseconds to
 * tens of microseconds, so a short spin catches the common case and yielding keeps a descheduled
 * partner from being starved on a busy machine. */
#define TEAM_SPINS 2000

typedef struct team {
    tf__team_chunk_fn fn;
    void *arg;
    int64_t chunks, total; /* chunks per step, chunks in all */
    /* The two counters sit on separate cache lines: one is written on every claim, the other on
     * every completion. */
    _Alignas(64) atomic_llong next;
    _Alignas(64) atomic_llong done;
} team_t;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Wait until at least `want` chunks are done. */
static void wait_done(team_t *t, int64_t want)
{
    int spins = 0;
    while (atomic_load_explicit(&t->done, memory_order_acquire) < want) {
        if (spins < TEAM_SPINS) {
            spins++;
            cpu_relax();
        } else {
            sched_yield();
        }
    }
}

/* Claim and run chunks until none is left. */
static void work(team_t *t)
{
    for (;;) {
        const int64_t g = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
        if (g >= t->total)
            return;
        const int64_t step = g / t->chunks, chunk = g % t->chunks;
        wait_done(t, step * t->chunks); /* everything of the steps before */
        t->fn(t->arg, step, chunk);
        atomic_fetch_add_explicit(&t->done, 1, memory_order_release);
    }
}

static void *helper_main(void *p)
{
    work((team_t *)p);
    return NULL;
}

void tf__team_run_steps(int32_t threads, int64_t steps, int64_t chunks, tf__team_chunk_fn fn, void *arg)
{
    if (steps <= 0 || chunks <= 0)
        return;
    if (threads <= 1 || steps * chunks < 2) {
        for (int64_t k = 0; k < steps; k++)
            for (int64_t c = 0; c < chunks; c++)
                fn(arg, k, c);
        return;
    }
    team_t t = {.fn = fn, .arg = arg, .chunks = chunks, .total = steps * chunks};
    atomic_init(&t.next, 0);
    atomic_init(&t.done, 0);
    pthread_t helpers[TEAM_MAX_HELPERS];
    int started = 0;
    const int want = threads - 1 < TEAM_MAX_HELPERS ? threads - 1 : TEAM_MAX_HELPERS;
    /* A helper that cannot be started is simply not there: the others do its share. */
    while (started < want && pthread_create(&helpers[started], NULL, helper_main, &t) == 0)
        started++;
    work(&t);
    wait_done(&t, t.total);
    for (int h = 0; h < started; h++)
        pthread_join(helpers[h], NULL);
}

void tf__team_for(int32_t threads, int64_t chunks, tf__team_chunk_fn fn, void *arg)
{
    tf__team_run_steps(threads, 1, chunks, fn, arg);
}
