/* SPDX-License-Identifier: MIT */
/* Data-parallel training, the part the trainers see: a group handle whose collective operations
 * are a table of functions (lib/mpi fills it in builds with TF_WITH_MPI, so that nothing here
 * names MPI), and the steps of a distributed call (dist.c). */
#ifndef TF_TRAIN_DIST_H
#define TF_TRAIN_DIST_H

#include "transfer/train.h"

#include <stddef.h>
#include <stdint.h>

/* The group's collective operations; every rank calls them in the same order. Each returns OK
 * or records an error naming `fn`. */
typedef struct tf__dist_ops {
    /* Sum n doubles over the ranks, in place. */
    tf_status_t (*sum_f64)(tf_dist_t *d, double *v, int32_t n, const char *fn);
    /* The largest of the ranks' status codes and the lowest rank that has it. */
    tf_status_t (*max_status)(tf_dist_t *d, int32_t *status, int32_t *rank, const char *fn);
    /* Whether every rank has the same 64-bit value. */
    tf_status_t (*same_u64)(tf_dist_t *d, uint64_t v, int *same, const char *fn);
    /* Rank `root`'s bytes to every rank. */
    tf_status_t (*bcast)(tf_dist_t *d, void *buf, size_t bytes, int32_t root, const char *fn);
    /* Start summing n floats in place without waiting (at most one bucket: n <= bucket). */
    tf_status_t (*start_sum_f32)(tf_dist_t *d, float *buf, size_t n, const char *fn);
    /* Wait until every started sum is done. */
    tf_status_t (*wait_sums)(tf_dist_t *d, const char *fn);
} tf__dist_ops_t;

struct tf_dist {
    tf_ctx_t *ctx;
    const tf__dist_ops_t *ops;
    int32_t rank, size;
    size_t bucket; /* floats per non-blocking sum */
};

struct tf_model;
struct tf_module;
struct tf_loader;

/* A call that would continue a phase refuses to do it on another number of processes than
 * the run that trained (or saved) it: EINVAL naming `fn`. `dist` may be NULL (one process). */
tf_status_t tf__dist_check_resume(struct tf_model *m, int32_t phase, uint64_t fingerprint,
                                  const tf_dist_t *dist, const char *fn);

/* The loaders' shards a call set, to put back at its end. */
typedef struct tf__dist_shards {
    struct tf_loader *loader[2];
    int32_t index[2], count[2];
} tf__dist_shards_t;

/* The start of a distributed training call, on every rank, also one whose own checks failed
 * (`st`): shard `train` and `valid_shard` (NULL: none), agree on the status, check that the
 * ranks have the same configuration (`fingerprint`: the call's, hashed with the loader's batch
 * count and the model's architecture, vocabulary, labels and parameter count), then take rank
 * 0's weights. `head` and `body` are the modules whose gradients the call sums, the head first
 * (its gradients are ready first). On failure, nothing is left changed but the weights. */
tf_status_t tf__dist_begin_call(struct tf_model *m, tf_dist_t *d, tf_status_t st,
                                uint64_t fingerprint, struct tf_loader *train,
                                struct tf_loader *valid_shard, struct tf_module *head,
                                struct tf_module *body, tf__dist_shards_t *shards, const char *fn);
/* The end of the call: the loaders' shards as they were. */
void tf__dist_end_call(struct tf_model *m, tf__dist_shards_t *shards);

/* Agree on a status: OK on every rank, or the worst rank's status on every rank with its
 * message ("fn: rank r: ..." on the others). */
tf_status_t tf__dist_agree(struct tf_model *m, tf_status_t st, const char *fn);

/* One module's gradients are complete for this step (a head before the backbone's backward
 * pass): scale them by the rank's loss weight `w` and start summing them. */
void tf__dist_grads_ready(struct tf_model *m, struct tf_module *mod, double w);

/* The end of a step's backward pass on every rank: start what is not started, wait, agree on
 * `st`, and turn the sums into the mean gradient of the whole batch (weights w summed);
 * *loss becomes the whole batch's mean loss and *items the ranks' sum. */
tf_status_t tf__dist_step(struct tf_model *m, tf_status_t st, double w, double *loss,
                          double *items, const char *fn);

/* Agree on `st` and make n values rank 0's on every rank. */
tf_status_t tf__dist_share(struct tf_model *m, tf_status_t st, double *v, int32_t n, const char *fn);
/* Agree on `st` and sum n values over the ranks. */
tf_status_t tf__dist_sum(struct tf_model *m, tf_status_t st, double *v, int32_t n, const char *fn);

#endif
