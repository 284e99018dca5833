/* SPDX-License-Identifier: MIT */
/* Runtime version of the loaded library (compare with the LIBTRANSFER_VERSION_* macros). */
#include "transfer/version.h"

const char *tf_version_string(void)
{
    return LIBTRANSFER_VERSION_STRING;
}

uint32_t tf_version_number(void)
{
    return (uint32_t)LIBTRANSFER_VERSION_NUMBER;
}

uint32_t tf_abi_version(void)
{
    return (uint32_t)LIBTRANSFER_VERSION_MAJOR;
}
