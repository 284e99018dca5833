/* SPDX-License-Identifier: MIT */
/* The step team (lib/core/team.c): every chunk of every step runs exactly once, and only after
 * every chunk of the step before has finished, for any number of threads; with the kept helpers,
 * from several application threads at once and in a child of fork(). */
#include "tf_test.h"
#include "core/team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ThreadSanitizer cannot start threads in a child of a multi-threaded fork(). */
#if defined(__SANITIZE_THREAD__)
#define TEAM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEAM_TSAN 1
#endif
#endif

enum { MAX_STEPS = 60, MAX_CHUNKS = 9 };

typedef struct record {
    int64_t chunks;
    atomic_int runs[MAX_STEPS][MAX_CHUNKS];     /* times each chunk ran */
    atomic_int finished[MAX_STEPS][MAX_CHUNKS]; /* set when a chunk's work is over */
    atomic_int early;                           /* chunks that started before their step was due */
    int slow_chunk;                             /* this chunk of every step yields a few times */
} record_t;

static void chunk(void *arg, int64_t step, int64_t c)
{
    record_t *r = arg;
    if (step > 0)
        for (int64_t p = 0; p < r->chunks; p++)
            if (atomic_load(&r->finished[step - 1][p]) == 0)
                atomic_fetch_add(&r->early, 1);
    atomic_fetch_add(&r->runs[step][c], 1);
    if (c == r->slow_chunk) /* give the other threads time to run ahead, if they could */
        for (int k = 0; k < 3; k++)
            sched_yield();
    atomic_store(&r->finished[step][c], 1);
}

static void check_with(record_t *r, int32_t threads, int64_t steps, int64_t chunks)
{
    memset(r, 0, sizeof *r);
    r->chunks = chunks;
    r->slow_chunk = (int)(chunks / 2);
    tf__team_run_steps(threads, steps, chunks, chunk, r);
    assert_int_equal(atomic_load(&r->early), 0);
    for (int64_t k = 0; k < MAX_STEPS; k++)
        for (int64_t c = 0; c < MAX_CHUNKS; c++) {
            const int want = k < steps && c < chunks ? 1 : 0;
            if (atomic_load(&r->runs[k][c]) != want)
                fail_msg("threads=%d steps=%lld chunks=%lld: chunk (%lld, %lld) ran %d times", threads,
                         (long long)steps, (long long)chunks, (long long)k, (long long)c,
                         atomic_load(&r->runs[k][c]));
        }
}

static void check(int32_t threads, int64_t steps, int64_t chunks)
{
    static record_t r;
    check_with(&r, threads, steps, chunks);
}

static void test_each_chunk_once_and_in_step_order(void **state)
{
    (void)state;
    const int32_t threads[] = {0, 1, 2, 3, 8, 40};
    const int64_t chunks[] = {1, 2, 5, 9};
    for (size_t a = 0; a < sizeof threads / sizeof threads[0]; a++)
        for (size_t b = 0; b < sizeof chunks / sizeof chunks[0]; b++)
            check(threads[a], MAX_STEPS, chunks[b]);
    check(2, 1, 1);
    check(2, 1, 9);
}

static void test_nothing_to_do(void **state)
{
    (void)state;
    check(2, 0, 5);
    check(2, 5, 0);
}

/* Two application threads run teams at once: one gets the kept helpers, the other starts its own;
 * both jobs are whole. */
static void *run_many(void *arg)
{
    record_t *r = arg;
    for (int i = 0; i < 40; i++)
        check_with(r, 3, MAX_STEPS, 1 + i % MAX_CHUNKS);
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    static record_t a, b;
    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, run_many, &a), 0);
    run_many(&b);
    assert_int_equal(pthread_join(other, NULL), 0);
}

/* A child of fork() has none of its parent's helpers; a team there still runs every chunk (it
 * would wait for helpers that do not exist if the pool were inherited). */
static void test_team_in_forked_child(void **state)
{
    (void)state;
#if defined(TEAM_TSAN)
    skip();
#endif
    check(2, MAX_STEPS, 4); /* the parent's helpers are running */
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static record_t r;
        memset(&r, 0, sizeof r);
        r.chunks = 4;
        r.slow_chunk = -1;
        tf__team_run_steps(2, MAX_STEPS, 4, chunk, &r);
        int bad = atomic_load(&r.early) != 0;
        for (int64_t k = 0; k < MAX_STEPS; k++)
            for (int64_t c = 0; c < 4; c++)
                bad |= atomic_load(&r.runs[k][c]) != 1;
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    /* A child stuck waiting for its parent's helpers is killed after a while and fails the test. */
    for (int waited = 0; waited < 300 && waitpid(pid, &status, WNOHANG) == 0; waited++)
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the team in the forked child did not finish");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    check(2, MAX_STEPS, 4); /* and the parent's helpers still work */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_chunk_once_and_in_step_order),
        cmocka_unit_test(test_nothing_to_do),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_team_in_forked_child),
    };
    return TF_TEST_RUN(tests);
}
