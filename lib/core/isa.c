/* SPDX-License-Identifier: MIT */
/* isa.h. */
#include "isa.h"

int tf__isa_best(void)
{
#if defined(TF__ISA_LEVELS)
    if (__builtin_cpu_supports("x86-64-v4"))
        return TF__ISA_V4;
    if (__builtin_cpu_supports("x86-64-v3"))
        return TF__ISA_V3;
#endif
    return TF__ISA_BASE;
}

int tf__isa_pick(const atomic_int *forced)
{
    const int f = atomic_load_explicit(forced, memory_order_relaxed), best = tf__isa_best();
    return f >= 0 && f <= best ? f : best;
}
