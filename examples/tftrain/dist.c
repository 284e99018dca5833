/* SPDX-License-Identifier: MIT */
/* tftrain under mpirun (builds with TF_WITH_MPI): started by an MPI launcher, it initialises MPI
 * itself and trains with every process of the job; rank 0 alone prints progress and results and
 * writes files. Started otherwise, or built without MPI, it is one process as always. */
#include "tftrain.h"

#include <stdlib.h>

#ifdef TF_HAVE_MPI
#include <transfer/mpi.h>

static int g_mpi, g_rank, g_size = 1;
static tf_ctx_t *g_ctx;
static tf_dist_t *g_dist;

/* Open MPI, MPICH and PMIx launchers set one of these in every process they start. */
static int launched_by_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL ||
           getenv("PMI_RANK") != NULL;
}

int tt_dist_init(int *argc, char ***argv)
{
    int provided;
    if (!launched_by_mpi())
        return TT_EXIT_OK;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fputs("tftrain: cannot initialise MPI\n", stderr);
        return TT_EXIT_FAILED;
    }
    g_mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_rank > 0 && freopen("/dev/null", "w", stdout) == NULL)
        return TT_EXIT_FAILED;
    return TT_EXIT_OK;
}

tf_dist_t *tt_dist(const char *cmd)
{
    tf_status_t st;
    if (g_size < 2 || g_dist != NULL)
        return g_dist;
    st = tf_ctx_create(&g_ctx, NULL);
    if (st == TF_STATUS_OK)
        st = tf_dist_create(&g_dist, g_ctx, MPI_COMM_WORLD);
    if (st != TF_STATUS_OK) {
        tt_fail(cmd, st, "cannot set up training over MPI");
        tt_dist_finish(TT_EXIT_FAILED);
    }
    return g_dist;
}

int tt_dist_rank(void)
{
    return g_rank;
}

int tt_dist_finish(int rc)
{
    if (!g_mpi)
        return rc;
    /* Every rank reaches a finished run or an interrupted one together (the training calls
     * agree); any other failure may be one rank's alone, so it ends the whole job. */
    if (g_size > 1 && rc != TT_EXIT_OK && rc != TT_EXIT_INTERRUPTED) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    tf_dist_free(g_dist);
    tf_ctx_free(g_ctx);
    g_dist = NULL;
    MPI_Finalize();
    g_mpi = 0;
    return rc;
}

#else

int tt_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return TT_EXIT_OK;
}

tf_dist_t *tt_dist(const char *cmd)
{
    (void)cmd;
    return NULL;
}

int tt_dist_rank(void)
{
    return 0;
}

int tt_dist_finish(int rc)
{
    return rc;
}

#endif
