/* SPDX-License-Identifier: MIT */
/* Thread-local last error: the status and message of the most recent failure on each thread. */
#include "transfer/error.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TF__ERRMSG_CAP 512

static _Thread_local tf_status_t last_code = TF_STATUS_OK;
static _Thread_local char last_message[TF__ERRMSG_CAP];

tf_status_t tf__error(tf_status_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

const char *tf_status_str(tf_status_t status)
{
    switch (status) {
    case TF_STATUS_OK: return "TF_STATUS_OK";
    case TF_STATUS_EINVAL: return "TF_STATUS_EINVAL";
    case TF_STATUS_ENOMEM: return "TF_STATUS_ENOMEM";
    case TF_STATUS_ESHAPE: return "TF_STATUS_ESHAPE";
    case TF_STATUS_EDTYPE: return "TF_STATUS_EDTYPE";
    case TF_STATUS_EBUFSIZE: return "TF_STATUS_EBUFSIZE";
    case TF_STATUS_EIO: return "TF_STATUS_EIO";
    case TF_STATUS_EFORMAT: return "TF_STATUS_EFORMAT";
    case TF_STATUS_EVERSION: return "TF_STATUS_EVERSION";
    case TF_STATUS_ESTATE: return "TF_STATUS_ESTATE";
    case TF_STATUS_ENOTSUP: return "TF_STATUS_ENOTSUP";
    case TF_STATUS_ECANCELED: return "TF_STATUS_ECANCELED";
    case TF_STATUS_EINTERNAL: return "TF_STATUS_EINTERNAL";
    case TF_STATUS_EOVERFLOW: return "TF_STATUS_EOVERFLOW";
    case TF_STATUS_ENOTFOUND: return "TF_STATUS_ENOTFOUND";
    case TF_STATUS_EDIVERGED: return "TF_STATUS_EDIVERGED";
    }
    return "TF_STATUS_UNKNOWN";
}

const char *tf_last_error_message(void)
{
    return last_message;
}

tf_status_t tf_last_error_code(void)
{
    return last_code;
}

void tf_last_error_clear(void)
{
    last_code = TF_STATUS_OK;
    last_message[0] = '\0';
}
