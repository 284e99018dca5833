/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/mpi.h
 * @brief Data-parallel training over MPI: a group handle made from an MPI communicator, for
 *        tf_pretrain_opts_t::dist and tf_finetune_opts_t::dist. Only in builds configured with
 *        `-DTF_WITH_MPI=ON`; the other headers never include `mpi.h`.
 *
 * Every process of the communicator (a *rank*) builds the same vocabulary, model and loaders
 * (same files, options and seeds) and makes the same training call with the handle in its
 * options. The call then
 * - checks that the ranks have the same options, architecture, vocabulary and labels, and
 *   gives every rank rank 0's weights;
 * - shards the loaders (tf_loader_set_shard()): each rank computes on its part of every batch;
 * - sums the gradients of every step over the ranks (MPI_Iallreduce in buckets; the head's
 *   start while the backbone's backward pass runs), weighted by each rank's share of the batch,
 *   so that N ranks take the step one process would take on the whole batch;
 * - agrees after every step and every validation on whether some rank failed: then every rank
 *   returns an error naming the failing rank and its message, at the same step.
 *
 * The host program owns MPI: it calls MPI_Init (MPI_THREAD_FUNNELED is enough: the library calls
 * MPI from the thread that calls it) and MPI_Finalize, and keeps the communicator for as long as
 * the handle lives. Saving files (models, training state) is the host's choice; `tftrain` saves
 * from rank 0 only. See docs/distributed.md.
 *
 * @defgroup mpi Distributed training (MPI)
 * @{
 */
#ifndef LIBTRANSFER_MPI_H
#define LIBTRANSFER_MPI_H

/* Only MPI's C interface is needed: C++ programs are spared the old C++ bindings' library. */
#if defined(__cplusplus) && !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if defined(__cplusplus) && !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "common.h"
#include "error.h"
#include "context.h"
#include "train.h"

TF_BEGIN_DECLS

/**
 * @brief Make a group handle over the ranks of `comm`. Collective: every rank of `comm` calls
 *        it (it duplicates the communicator, so the library's messages never meet the host's).
 * @param[out] out Receives the handle; NULL on failure.
 * @param[in] ctx Context for the handle's memory.
 * @param[in] comm An intra-communicator; MPI_COMM_WORLD for every process of the job.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL `out` or `ctx`, MPI_COMM_NULL);
 *         #TF_STATUS_ESTATE (MPI is not initialised, or already finalised); #TF_STATUS_EIO (an
 *         MPI call failed); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_dist_free(), before MPI_Finalize.
 * @threadsafety One thread at a time with `ctx`.
 */
TF_API tf_status_t tf_dist_create(tf_dist_t **out, tf_ctx_t *ctx, MPI_Comm comm);

/**
 * @brief Free a group handle (and its communicator). NULL is a no-op.
 * @param[in] dist The handle.
 * @ownership Takes ownership of `dist`.
 * @threadsafety One thread at a time with its context.
 */
TF_API void tf_dist_free(tf_dist_t *dist);

/**
 * @brief This process's rank in the group, 0 to tf_dist_size() - 1.
 * @param[in] dist The handle.
 * @return The rank, or -1 if `dist` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `dist` only.
 */
TF_API int32_t tf_dist_rank(const tf_dist_t *dist);

/**
 * @brief The number of processes in the group.
 * @param[in] dist The handle.
 * @return The count, or 0 if `dist` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `dist` only.
 */
TF_API int32_t tf_dist_size(const tf_dist_t *dist);

TF_END_DECLS

/** @} */

#endif
