/* SPDX-License-Identifier: MIT */
/* Compiled as strict C99: the umbrella header must be clean, and the header version must match
 * the library actually loaded. */
#include <transfer.h>
#include <stdio.h>

#include "initializers.inc"

int main(void)
{
    tf_ctx_opts_t defaults = TF_CTX_OPTS_INIT;
    if (!initializers_compile())
        return 4;
    tf_ctx_opts_t o;
    if (tf_ctx_opts_init(&o, TF_CTX_OPTS_VERSION) != TF_STATUS_OK)
        return 1;
    if (defaults.struct_size != o.struct_size || defaults.seed != o.seed ||
        defaults.log_level != o.log_level || defaults.num_threads != o.num_threads)
        return 2; /* the static initializer and the init function disagree */
    if (tf_version_number() != LIBTRANSFER_VERSION_NUMBER)
        return 3;
    printf("C99: libtransfer %s\n", tf_version_string());
    return 0;
}
