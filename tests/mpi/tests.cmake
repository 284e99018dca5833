# SPDX-License-Identifier: MIT
# Data-parallel training over MPI (builds with TF_WITH_MPI): every case of test_mpi_train.c in a
# job of two ranks, and a job whose rank 1 dies early, which must end with an error in bounded
# time (timeout kills a job that waits for ever; its status 124 fails the test).
if(TF_WITH_MPI)
  find_program(TF_MPIEXEC NAMES mpiexec mpirun REQUIRED)
  set(_mpi_run ${TF_MPIEXEC} -np 2 --oversubscribe --allow-run-as-root)
  add_executable(test_mpi_train ${CMAKE_CURRENT_LIST_DIR}/test_mpi_train.c)
  set_target_properties(test_mpi_train PROPERTIES C_STANDARD 11 C_EXTENSIONS OFF)
  tf_target_warnings(test_mpi_train)
  target_compile_options(test_mpi_train PRIVATE -Wno-missing-prototypes)
  target_link_libraries(test_mpi_train PRIVATE tf_test_support transfer::transfer MPI::MPI_C)
  file(READ ${CMAKE_CURRENT_LIST_DIR}/test_mpi_train.c _src)
  string(REGEX MATCHALL "static void test_[A-Za-z0-9_]+\\(void \\*\\*" _cases "${_src}")
  foreach(_c IN LISTS _cases)
    string(REGEX REPLACE "static void (test_[A-Za-z0-9_]+)\\(.*" "\\1" _name "${_c}")
    string(REGEX REPLACE "^test_" "" _short "${_name}")
    add_test(NAME mpi_train.${_short} COMMAND ${_mpi_run} $<TARGET_FILE:test_mpi_train> ${_name})
    set_tests_properties(mpi_train.${_short} PROPERTIES LABELS mpi TIMEOUT 300 RUN_SERIAL TRUE)
  endforeach()
  add_test(NAME mpi_train.rank_exits_early
    COMMAND sh -c "timeout 120 \"$0\" \"$@\"; rc=$?; echo \"job status $rc\"; [ $rc -ne 0 ] && [ $rc -ne 124 ]"
            ${_mpi_run} $<TARGET_FILE:test_mpi_train> exit_early)
  set_tests_properties(mpi_train.rank_exits_early PROPERTIES LABELS mpi TIMEOUT 300 RUN_SERIAL TRUE)
  if(TARGET tftrain)
    add_test(NAME mpi_tftrain.two_ranks
      COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/tftrain_mpi.sh ${TF_MPIEXEC} $<TARGET_FILE:tftrain>
              ${PROJECT_SOURCE_DIR}/tests/data/sotu_sample.txt ${CMAKE_CURRENT_BINARY_DIR}/tftrain_mpi)
    set_tests_properties(mpi_tftrain.two_ranks PROPERTIES LABELS mpi TIMEOUT 600 RUN_SERIAL TRUE)
  endif()
  tf_test_environment()
endif()
