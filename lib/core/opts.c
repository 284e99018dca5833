/* The options-struct convention: {struct_size, version, ...}, read up to the caller's size. */
#include "internal.h"

#include <string.h>

tf_status_t tf__opts_read(void *dst,
                          size_t dst_size,
                          const void *src,
                          size_t min_size,
                          uint32_t current_version,
                          const char *what)
{
    uint32_t head[2];
    if (src == NULL)
        return TF_STATUS_OK; /* NULL options: keep the defaults in dst */
    memcpy(head, src, sizeof head);
    if (head[1] == 0 || head[1] > current_version)
        TF_FAIL(TF_STATUS_EVERSION,
                "%s: version %u is not supported (this library knows 1 to %u); "
                "initialise the struct with its *_opts_init function",
                what, head[1], current_version);
    if (head[0] < min_size)
        TF_FAIL(TF_STATUS_EINVAL,
                "%s: struct_size %u is smaller than the first version's %zu bytes; "
                "initialise the struct with its *_opts_init function",
                what, head[0], min_size);
    memcpy(dst, src, head[0] < dst_size ? head[0] : dst_size);
    /* The library's own view always describes its own layout. */
    memcpy(dst, &(uint32_t[2]){(uint32_t)dst_size, current_version}, sizeof head);
    return TF_STATUS_OK;
}

tf_status_t tf__opts_init_check(void *opts, uint32_t version, uint32_t current, const char *what)
{
    if (opts == NULL)
        TF_FAIL(TF_STATUS_EINVAL, "%s: argument 'opts' is NULL", what);
    if (version == 0 || version > current)
        TF_FAIL(TF_STATUS_EVERSION, "%s: version %u is not supported (this library knows 1 to %u)",
                what, version, current);
    return TF_STATUS_OK;
}
