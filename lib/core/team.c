/* SPDX-License-Identifier: MIT */
/* The step team (team.h): one claim counter, one done counter, spin-then-yield waits, run by
 * helper threads kept between calls. */
#include "team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Helper threads beyond this are not started (the callers split a step into about four chunks per
 * thread, and the machines this runs on rarely have more cores for one recurrence). */
#define TEAM_MAX_HELPERS 15

/* Busy-wait rounds before a waiting thread starts yielding its core: a chunk takes microseconds to
 * tens of microseconds, so a short spin catches the common case and yielding keeps a descheduled
 * partner from being starved on a busy machine. */
#define TEAM_SPINS 2000

/* How long an idle helper keeps watching for the next job before it sleeps: a training step runs
 * its parallel parts (GEMMs, time loops) a few microseconds apart, and waking a sleeping thread
 * costs about as much as the gap; past this the helper leaves its core to other work. */
#define TEAM_IDLE_NS 200000

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

void tf__team_wait(atomic_llong *counter, int64_t want)
{
    int spins = 0;
    while (atomic_load_explicit(counter, memory_order_acquire) < want) {
        if (spins < TEAM_SPINS) {
            spins++;
            cpu_relax();
        } else {
            sched_yield();
        }
    }
}

/* Wait until at least `want` chunks are done. */
static void wait_done(team_t *t, int64_t want)
{
    tf__team_wait(&t->done, want);
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

/* ---- helpers kept between calls ---------------------------------------------------------------- */

/* The process's helpers. One call at a time uses them (`use`); a call that finds them busy (another
 * thread of the application, or a team inside a team) starts helpers of its own for its length, as
 * every call did before the pool. Helper i waits for its slot's generation to change, runs the job
 * in it, and counts itself out in `left`; the caller returns only when `left` is zero, so a job on
 * the caller's stack is never touched after it returns. */
typedef struct slot {
    _Alignas(64) atomic_ullong gen;
    team_t *_Atomic job;
    unsigned long long born; /* gen when the helper was started: jobs after it are its own */
} slot_t;

static struct pool {
    pthread_mutex_t use;  /* held by the call running on the helpers */
    pthread_mutex_t lock; /* with `wake`: helpers going to sleep and being woken */
    pthread_cond_t wake;
    pthread_t threads[TEAM_MAX_HELPERS];
    int started, quit;
    atomic_int sleepers;
    _Alignas(64) atomic_int left; /* helpers still in the current job */
    slot_t slots[TEAM_MAX_HELPERS];
} pool = {.use = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wait until slot s moves past `seen`: spin, then yield, then sleep. Returns the new generation, or
 * `seen` when the pool is shutting down. */
static unsigned long long await_job(slot_t *s, unsigned long long seen)
{
    const int64_t until = now_ns() + TEAM_IDLE_NS;
    for (int spins = 0;; spins++) {
        const unsigned long long g = atomic_load_explicit(&s->gen, memory_order_acquire);
        if (g != seen)
            return g;
        if (spins < TEAM_SPINS) {
            cpu_relax();
        } else if ((spins & 15) || now_ns() < until) {
            sched_yield();
        } else {
            break;
        }
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1); /* seq_cst, against the caller's generation bump */
    unsigned long long g;
    while ((g = atomic_load(&s->gen)) == seen && !pool.quit)
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *pool_main(void *p)
{
    slot_t *s = p;
    unsigned long long seen = s->born;
    for (;;) {
        const unsigned long long g = await_job(s, seen);
        if (g == seen)
            return NULL;
        seen = g;
        work(atomic_load_explicit(&s->job, memory_order_relaxed));
        atomic_fetch_sub_explicit(&pool.left, 1, memory_order_release);
    }
}

/* A child of fork() has none of the parent's helpers: it starts with an empty pool. */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool.use, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.started = 0;
    pool.quit = 0;
    atomic_init(&pool.sleepers, 0);
    atomic_init(&pool.left, 0);
}

static void pool_register(void)
{
    pthread_atfork(NULL, NULL, pool_after_fork);
}

/* When the library is unloaded or the process exits: the helpers are woken and joined, unless a
 * call is still using them. */
__attribute__((destructor)) static void pool_stop(void)
{
    if (pthread_mutex_trylock(&pool.use) != 0)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.quit = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int h = 0; h < pool.started; h++)
        pthread_join(pool.threads[h], NULL);
    pool.started = 0;
    pool.quit = 0;
    pthread_mutex_unlock(&pool.use);
}

/* Runs t on the caller and up to `want` pooled helpers; 0 when the pool is busy, or with `all`
 * when fewer than `want` helpers could be started (then nothing ran). */
static int run_on_pool(team_t *t, int want, int all)
{
    pthread_once(&pool_once, pool_register);
    if (pthread_mutex_trylock(&pool.use) != 0)
        return 0;
    while (pool.started < want) {
        slot_t *s = &pool.slots[pool.started];
        s->born = atomic_load(&s->gen);
        if (pthread_create(&pool.threads[pool.started], NULL, pool_main, s) != 0)
            break;
        pool.started++;
    }
    const int n = want < pool.started ? want : pool.started;
    if (all && n < want) {
        pthread_mutex_unlock(&pool.use);
        return 0;
    }
    atomic_store_explicit(&pool.left, n, memory_order_relaxed);
    for (int h = 0; h < n; h++) {
        atomic_store_explicit(&pool.slots[h].job, t, memory_order_relaxed);
        atomic_fetch_add(&pool.slots[h].gen, 1); /* seq_cst: publishes the job, then sleepers is read */
    }
    if (n > 0 && atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    work(t);
    wait_done(t, t->total);
    for (int spins = 0; atomic_load_explicit(&pool.left, memory_order_acquire) > 0; spins++) {
        if (spins < TEAM_SPINS)
            cpu_relax();
        else
            sched_yield();
    }
    pthread_mutex_unlock(&pool.use);
    return 1;
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
    const int want = threads - 1 < TEAM_MAX_HELPERS ? threads - 1 : TEAM_MAX_HELPERS;
    if (run_on_pool(&t, want, 0))
        return;
    pthread_t helpers[TEAM_MAX_HELPERS];
    int started = 0;
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

int32_t tf__team_cores(void)
{
    static atomic_int cores; /* 0 until read */
    int n = atomic_load_explicit(&cores, memory_order_relaxed);
    if (n == 0) {
        const long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)(c > 1024 ? 1024 : c) : 1;
        atomic_store_explicit(&cores, n, memory_order_relaxed);
    }
    return n;
}

int tf__team_try_together(int32_t threads, tf__team_chunk_fn fn, void *arg)
{
    if (threads < 2 || threads - 1 > TEAM_MAX_HELPERS)
        return 0;
    team_t t = {.fn = fn, .arg = arg, .chunks = threads, .total = threads};
    atomic_init(&t.next, 0);
    atomic_init(&t.done, 0);
    return run_on_pool(&t, threads - 1, 1);
}
