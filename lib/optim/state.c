/* SPDX-License-Identifier: MIT */
/* Optimizer state blob for resuming training bit-exactly. Little-endian layout, version 1:
 *
 *   offset  size  field
 *   0       4     magic "TFOS"
 *   4       4     u32 format version (1)
 *   8       4     u32 algorithm (tf_optimizer_algorithm_t)
 *   12      4     u32 amsgrad
 *   16      4     u32 state floats per element (0 to 3)
 *   20      4     u32 parameter count
 *   24      8     u64 fingerprint: FNV-1a 64 of every parameter's name, NUL, ndim (u32), dims (i64)
 *   32      8     i64 optimizer step (the schedule position)
 *   40      ...   per parameter, in registration order: i64 step, u32 has_buf, u32 0,
 *                 then nstate * numel f32 (momentum buffer, or exp_avg, exp_avg_sq, max_exp_avg_sq)
 *   end-4   4     u32 CRC32 (IEEE) of every byte before it
 */
#include "transfer/optim.h"
#include "optim_internal.h"

#include <string.h>

#define STATE_MAGIC "TFOS"
#define STATE_VERSION 1u
#define HEADER_BYTES 40u
#define PARAM_HEADER_BYTES 16u

static void put_u32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *b)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)b[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static int host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static void put_f32s(unsigned char *b, const float *x, int64_t n)
{
    if (n == 0)
        return;
    if (host_is_le()) {
        memcpy(b, x, (size_t)n * 4);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(b + 4 * i, u);
    }
}

static void get_f32s(float *x, const unsigned char *b, int64_t n)
{
    if (n == 0)
        return;
    if (host_is_le()) {
        memcpy(x, b, (size_t)n * 4);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = get_u32(b + 4 * i);
        memcpy(&x[i], &u, 4);
    }
}

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static uint64_t fnv_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t fingerprint(const tf_optimizer_t *opt)
{
    uint64_t h = 14695981039346656037ull;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        const tf__optim_param_t *q = &opt->params[i];
        unsigned char b[8];
        h = fnv_bytes(h, (const unsigned char *)q->name, strlen(q->name) + 1);
        put_u32(b, q->param->ndim);
        h = fnv_bytes(h, b, 4);
        for (uint32_t d = 0; d < q->param->ndim; d++) {
            put_u64(b, (uint64_t)q->param->shape[d]);
            h = fnv_bytes(h, b, 8);
        }
    }
    return h;
}

static tf_status_t blob_size(const tf_optimizer_t *opt, size_t *out)
{
    size_t total = HEADER_BYTES + 4u;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        size_t floats, bytes;
        if (!tf__mul_size((size_t)opt->params[i].numel, opt->nstate, &floats) ||
            !tf__mul_size(floats, 4u, &bytes) || !tf__add_size(total, bytes, &total) ||
            !tf__add_size(total, PARAM_HEADER_BYTES, &total))
            TF_FAIL(TF_STATUS_EOVERFLOW,
                    "tf_optimizer_state_save: the state does not fit in size_t");
    }
    *out = total;
    return TF_STATUS_OK;
}

tf_status_t
tf_optimizer_state_save(const tf_optimizer_t *opt, void *buf, size_t capacity, size_t *len_out)
{
    size_t need;
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(len_out);
    *len_out = 0;
    if (buf == NULL && capacity > 0)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'buf' is NULL", __func__);
    TF_CHECK(blob_size(opt, &need));
    *len_out = need;
    if (buf == NULL)
        return TF_STATUS_OK; /* a size query */
    if (capacity < need)
        TF_FAIL(TF_STATUS_EBUFSIZE, "%s: needs %zu bytes; buf has %zu", __func__, need, capacity);
    unsigned char *b = buf;
    memcpy(b, STATE_MAGIC, 4);
    put_u32(b + 4, STATE_VERSION);
    put_u32(b + 8, (uint32_t)opt->o.algorithm);
    put_u32(b + 12, (uint32_t)opt->o.amsgrad);
    put_u32(b + 16, opt->nstate);
    put_u32(b + 20, opt->nparams);
    put_u64(b + 24, fingerprint(opt));
    put_u64(b + 32, (uint64_t)opt->step);
    size_t off = HEADER_BYTES;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        const tf__optim_param_t *q = &opt->params[i];
        put_u64(b + off, (uint64_t)q->step);
        put_u32(b + off + 8, (uint32_t)q->has_buf);
        put_u32(b + off + 12, 0);
        off += PARAM_HEADER_BYTES;
        int64_t n = q->numel * (int64_t)opt->nstate;
        put_f32s(b + off, q->state, n);
        off += (size_t)n * 4u;
    }
    put_u32(b + off, crc32_ieee(b, off));
    return TF_STATUS_OK;
}

tf_status_t tf_optimizer_state_load(tf_optimizer_t *opt, const void *buf, size_t size)
{
    const char *fn = __func__;
    size_t need;
    TF_REQUIRE_ARG(opt);
    TF_REQUIRE_ARG(buf);
    const unsigned char *b = buf;
    if (size < HEADER_BYTES + 4u)
        TF_FAIL(TF_STATUS_EFORMAT,
                "%s: %zu bytes is too short for an optimizer state (%u at least)", fn, size,
                HEADER_BYTES + 4u);
    if (memcmp(b, STATE_MAGIC, 4) != 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: not an optimizer state (bad magic at byte 0)", fn);
    uint32_t version = get_u32(b + 4);
    if (version == 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: format version 0 at byte 4 is invalid", fn);
    if (version > STATE_VERSION)
        TF_FAIL(TF_STATUS_EVERSION, "%s: format version %u is newer than this library's %u", fn,
                version, STATE_VERSION);
    uint32_t stored_crc = get_u32(b + size - 4);
    if (crc32_ieee(b, size - 4) != stored_crc)
        TF_FAIL(TF_STATUS_EFORMAT,
                "%s: checksum mismatch over %zu bytes (truncated or corrupt state)", fn, size);
    uint32_t alg = get_u32(b + 8), ams = get_u32(b + 12), nstate = get_u32(b + 16);
    uint32_t nparams = get_u32(b + 20);
    if (alg != (uint32_t)opt->o.algorithm || ams != (uint32_t)opt->o.amsgrad ||
        nstate != opt->nstate)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the state is for algorithm %u (amsgrad %u, %u state values per element); "
                "this optimizer uses %d (amsgrad %d, %u)",
                fn, alg, ams, nstate, opt->o.algorithm, opt->o.amsgrad, opt->nstate);
    if (nparams != opt->nparams)
        TF_FAIL(TF_STATUS_EINVAL, "%s: the state holds %u parameters; this optimizer has %u", fn,
                nparams, opt->nparams);
    if (get_u64(b + 24) != fingerprint(opt))
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: the state was saved for other parameters (names or shapes differ)", fn);
    TF_CHECK(blob_size(opt, &need));
    if (size != need)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: %zu bytes, but these parameters need %zu", fn, size, need);
    int64_t step = (int64_t)get_u64(b + 32);
    if (step < 0)
        TF_FAIL(TF_STATUS_EFORMAT, "%s: negative step counter at byte 32", fn);
    size_t off = HEADER_BYTES;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        int64_t ps = (int64_t)get_u64(b + off);
        uint32_t hb = get_u32(b + off + 8), pad = get_u32(b + off + 12);
        if (ps < 0 || ps > step || hb > 1 || pad != 0)
            TF_FAIL(TF_STATUS_EFORMAT, "%s: bad header of parameter %u ('%s') at byte %zu", fn, i,
                    opt->params[i].name, off);
        off += PARAM_HEADER_BYTES + (size_t)opt->params[i].numel * opt->nstate * 4u;
    }
    /* Everything checked: now apply. */
    off = HEADER_BYTES;
    for (uint32_t i = 0; i < opt->nparams; i++) {
        tf__optim_param_t *q = &opt->params[i];
        q->step = (int64_t)get_u64(b + off);
        q->has_buf = (int32_t)get_u32(b + off + 8);
        off += PARAM_HEADER_BYTES;
        int64_t n = q->numel * (int64_t)opt->nstate;
        get_f32s(q->state, b + off, n);
        off += (size_t)n * 4u;
    }
    opt->step = step;
    return TF_STATUS_OK;
}
