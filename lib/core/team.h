/* SPDX-License-Identifier: MIT */
/* A team of threads for the library's own parallel loops.
 *
 * The main use is a recurrence: `steps` steps, each made of `chunks` independent pieces of
 * work, where every chunk of step k may need everything step k-1 wrote (an LSTM's time loop: the
 * chunks are blocks of hidden units, a step needs the whole previous hidden state).
 *
 * Chunks are handed out dynamically, in order, from one counter: a thread takes the next chunk,
 * waits until every chunk of the previous steps is done, runs it, and marks it done. No thread owns
 * a fixed share, so a thread the operating system deschedules (a loaded machine, valgrind) delays
 * at most the one chunk it holds, and the others carry on with the rest; the calling thread alone
 * finishes the job if no helper thread can be started. Which thread runs a chunk never changes
 * what it computes, so the results are the same for any number of threads.
 *
 * Helper threads are started on first use and kept: between calls they watch for the next job for
 * a short while, then sleep until one comes (waking one costs microseconds, starting one tens). A
 * call returns only when every helper has left its job. A call made while another is using the
 * helpers (another application thread, a team inside a team) starts helpers of its own for its
 * length. The caller decides when a job is big enough to be worth it. */
#ifndef TF_CORE_TEAM_H
#define TF_CORE_TEAM_H

#include <stdatomic.h>
#include <stdint.h>

/* Work of one chunk of one step. */
typedef void (*tf__team_chunk_fn)(void *arg, int64_t step, int64_t chunk);

/* Run fn(arg, k, c) for k in 0..steps-1 and c in 0..chunks-1 on up to `threads` threads (the
 * caller is one of them), every chunk of step k after every chunk of step k-1. threads <= 1 runs
 * the plain loop on the calling thread. */
void tf__team_run_steps(int32_t threads, int64_t steps, int64_t chunks, tf__team_chunk_fn fn, void *arg);

/* Independent pieces: fn(arg, 0, c) for c in 0..chunks-1 on up to `threads` threads. */
void tf__team_for(int32_t threads, int64_t chunks, tf__team_chunk_fn fn, void *arg);

/* Chunks that wait for each other: fn(arg, 0, c) for c in 0..threads-1, all at once, on the caller
 * and threads-1 kept helpers (each thread takes one chunk: none can finish before all have started).
 * Returns 1 when they ran; 0, running none, when the helpers are busy (another call has them) or
 * could not be started: the caller then does the work alone. */
int tf__team_try_together(int32_t threads, tf__team_chunk_fn fn, void *arg);

/* The processors online (read once): chunks that wait for each other need one each, or every
 * wait becomes a trip through the scheduler. */
int32_t tf__team_cores(void);

/* Wait until *counter >= want (acquire): spin, then yield the core. */
void tf__team_wait(atomic_llong *counter, int64_t want);

#endif
