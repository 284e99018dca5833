/* SPDX-License-Identifier: MIT */
/* What libxsmm's own printing and process-ending calls become inside libtransfer.so: the build
 * renames them in a private copy of libxsmm's archive (CMakeLists.txt), because library code never
 * prints or ends the process. libxsmm prints only diagnostics (LIBXSMM_VERBOSE) and calls exit only
 * when its code generator meets an instruction it cannot encode, an internal invariant; that ends
 * in a trap, as a crash would, instead of a silent exit. */
#if defined(TF_HAVE_XSMM)
#include <stddef.h>
#include <stdio.h>

int tf__xsmm_fprintf(FILE *f, const char *fmt, ...);
int tf__xsmm_printf(const char *fmt, ...);
int tf__xsmm_puts(const char *s);
int tf__xsmm_fputs(const char *s, FILE *f);
int tf__xsmm_fputc(int c, FILE *f);
size_t tf__xsmm_fwrite(const void *p, size_t size, size_t n, FILE *f);
void tf__xsmm_exit(int code);

int tf__xsmm_fprintf(FILE *f, const char *fmt, ...)
{
    (void)f;
    (void)fmt;
    return 0;
}

int tf__xsmm_printf(const char *fmt, ...)
{
    (void)fmt;
    return 0;
}

int tf__xsmm_puts(const char *s)
{
    (void)s;
    return 0;
}

int tf__xsmm_fputs(const char *s, FILE *f)
{
    (void)s;
    (void)f;
    return 0;
}

int tf__xsmm_fputc(int c, FILE *f)
{
    (void)f;
    return c;
}

size_t tf__xsmm_fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    (void)p;
    (void)size;
    (void)f;
    return n;
}

void tf__xsmm_exit(int code)
{
    (void)code;
    __builtin_trap();
}
#else
typedef int tf__xsmm_quiet_unused; /* ISO C wants a translation unit to declare something */
#endif
