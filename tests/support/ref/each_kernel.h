/* SPDX-License-Identifier: MIT */
/* Run a CMocka group once per kernel the per-step product dispatcher can pick (nn/step_gemm.h):
 * the portable packed kernel, then libxsmm's (which is the portable one again in builds or on
 * CPUs without libxsmm); then once more with every large GEMM on oneDNN's sgemm (tensor/blas.h;
 * the BLAS again in builds without oneDNN), whatever its size; last with the portable kernel and
 * the kernel's own loops at their AVX2 level (x86-64-v3: nn/lstm_kernel.h, nn/nn_internal.h), so
 * that code runs on AVX-512 CPUs too (the best level again on CPUs without AVX2). A case named on
 * the command line runs under each. */
#ifndef TF_TEST_EACH_KERNEL_H
#define TF_TEST_EACH_KERNEL_H

#include "tf_test.h"
#include "nn/lstm_kernel.h"
#include "nn/nn_internal.h"
#include "nn/step_gemm.h"
#include "tensor/blas.h"

#define TF_TEST_RUN_EACH_KERNEL(tests)                                                              \
    (tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0                         \
         ? 1                                                                                        \
         : ((tf__step_gemm_force(TF__STEP_PORTABLE), cmocka_run_group_tests(tests, NULL, NULL)) |   \
            (tf__step_gemm_force(TF__STEP_XSMM), cmocka_run_group_tests(tests, NULL, NULL)) |       \
            (tf__sgemm_force(TF__GEMM_DNNL), cmocka_run_group_tests(tests, NULL, NULL)) |            \
            (tf__sgemm_force(TF__GEMM_AUTO), tf__step_gemm_force(TF__STEP_PORTABLE),                \
             tf__lstm_level_force(3), tf__vec_level_force(3), cmocka_run_group_tests(tests, NULL, NULL))))

#endif
