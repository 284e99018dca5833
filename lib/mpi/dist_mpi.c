/* SPDX-License-Identifier: MIT */
/* The group's collective operations over an MPI communicator (built with TF_WITH_MPI only). */
#include "transfer/mpi.h"
#include "../core/internal.h"
#include "../train/dist.h"

#include <limits.h>
#include <string.h>

/* Floats per non-blocking sum: a few large messages keep the network busy, more of them let the
 * sums start earlier (docs/distributed.md). */
#define TF__DIST_BUCKET ((size_t)1 << 20)

typedef struct mpi_dist {
    struct tf_dist base;
    MPI_Comm comm;
    MPI_Request *reqs;
    int nreqs, cap;
} mpi_dist_t;

static mpi_dist_t *md(tf_dist_t *d)
{
    return (mpi_dist_t *)d;
}

static tf_status_t mpi_failed(int rc, const char *fn, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    return tf__error(TF_STATUS_EIO, "%s: %s failed: %s", fn, what, len ? text : "MPI error");
}

#define MPI_CHECK(call, fn)                                                                        \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != MPI_SUCCESS)                                                                    \
            return mpi_failed(rc_, (fn), #call);                                                   \
    } while (0)

static tf_status_t sum_f64(tf_dist_t *d, double *v, int32_t n, const char *fn)
{
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, md(d)->comm), fn);
    return TF_STATUS_OK;
}

static tf_status_t max_status(tf_dist_t *d, int32_t *status, int32_t *rank, const char *fn)
{
    struct {
        int value, index;
    } in = {*status, *rank}, out;
    MPI_CHECK(MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, md(d)->comm), fn);
    *status = out.value;
    *rank = out.index;
    return TF_STATUS_OK;
}

static tf_status_t same_u64(tf_dist_t *d, uint64_t v, int *same, const char *fn)
{
    /* The largest v and the largest ~v are v and ~v only when no rank has another value. */
    uint64_t x[2] = {v, ~v};
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, x, 2, MPI_UINT64_T, MPI_MAX, md(d)->comm), fn);
    *same = x[0] == v && x[1] == ~v;
    return TF_STATUS_OK;
}

static tf_status_t bcast(tf_dist_t *d, void *buf, size_t bytes, int32_t root, const char *fn)
{
    for (size_t off = 0; off < bytes; off += INT_MAX) {
        int n = bytes - off < INT_MAX ? (int)(bytes - off) : INT_MAX;
        MPI_CHECK(MPI_Bcast((char *)buf + off, n, MPI_BYTE, root, md(d)->comm), fn);
    }
    return TF_STATUS_OK;
}

static tf_status_t start_sum_f32(tf_dist_t *d, float *buf, size_t n, const char *fn)
{
    mpi_dist_t *m = md(d);
    if (m->nreqs == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        MPI_Request *r = tf__calloc(d->ctx, (size_t)cap, sizeof *r);
        if (r == NULL)
            return TF_STATUS_ENOMEM;
        if (m->nreqs > 0)
            memcpy(r, m->reqs, (size_t)m->nreqs * sizeof *r);
        tf__free(d->ctx, m->reqs);
        m->reqs = r;
        m->cap = cap;
    }
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, m->comm,
                             &m->reqs[m->nreqs]),
              fn);
    m->nreqs++;
    return TF_STATUS_OK;
}

static tf_status_t wait_sums(tf_dist_t *d, const char *fn)
{
    mpi_dist_t *m = md(d);
    int n = m->nreqs;
    m->nreqs = 0;
    MPI_CHECK(MPI_Waitall(n, m->reqs, MPI_STATUSES_IGNORE), fn);
    return TF_STATUS_OK;
}

static const tf__dist_ops_t mpi_ops = {sum_f64, max_status, same_u64, bcast, start_sum_f32, wait_sums};

tf_status_t tf_dist_create(tf_dist_t **out, tf_ctx_t *ctx, MPI_Comm comm)
{
    TF_REQUIRE_ARG(out);
    *out = NULL;
    TF_REQUIRE_ARG(ctx);
    if (comm == MPI_COMM_NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the communicator is MPI_COMM_NULL", __func__);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        TF_FAIL(TF_STATUS_ESTATE, "%s: MPI is %s; call MPI_Init first", __func__,
                fin ? "already finalised" : "not initialised");
    mpi_dist_t *m = tf__calloc(ctx, 1, sizeof *m);
    if (m == NULL)
        return TF_STATUS_ENOMEM;
    m->base.ctx = ctx;
    m->base.ops = &mpi_ops;
    m->base.bucket = TF__DIST_BUCKET;
    m->comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &m->comm);
    if (rc == MPI_SUCCESS)
        /* Errors come back as codes (a status for the caller), not as the default abort. */
        rc = MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    int rank = 0, size = 0;
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(m->comm, &rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(m->comm, &size);
    if (rc != MPI_SUCCESS) {
        tf_dist_free(&m->base);
        return mpi_failed(rc, __func__, "MPI_Comm_dup");
    }
    m->base.rank = rank;
    m->base.size = size;
    tf__object_created(ctx);
    *out = &m->base;
    return TF_STATUS_OK;
}

void tf_dist_free(tf_dist_t *d)
{
    if (d == NULL)
        return;
    mpi_dist_t *m = md(d);
    int fin = 0;
    MPI_Finalized(&fin);
    if (m->comm != MPI_COMM_NULL && !fin)
        MPI_Comm_free(&m->comm);
    if (m->base.size > 0)
        tf__object_freed(d->ctx);
    tf__free(d->ctx, m->reqs);
    tf__free(d->ctx, m);
}

int32_t tf_dist_rank(const tf_dist_t *d)
{
    return d ? d->rank : -1;
}

int32_t tf_dist_size(const tf_dist_t *d)
{
    return d ? d->size : 0;
}
