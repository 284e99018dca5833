# SPDX-License-Identifier: MIT
# core_api_null_arguments: every public function, called with NULL pointers and zero numbers,
# returns TF_STATUS_EINVAL (status functions) or at least does not crash (the others). The list of
# functions comes from the headers at build time.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(_api_headers ${TF_PUBLIC_HEADERS})
set(_null_c ${CMAKE_CURRENT_BINARY_DIR}/api_null_calls.c)
add_custom_command(OUTPUT ${_null_c}
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/gen_null_calls.py ${_null_c} ${_api_headers}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/gen_null_calls.py ${_api_headers}
  COMMENT "Generating the NULL-argument test from the public headers"
  VERBATIM)
add_executable(api_null_calls ${_null_c})
target_link_libraries(api_null_calls PRIVATE transfer::transfer)
# Deliberately passing NULL to parameters the headers may one day mark nonnull.
target_compile_options(api_null_calls PRIVATE -Wno-nonnull)
add_test(NAME core_api_null_arguments COMMAND api_null_calls)
