# SPDX-License-Identifier: MIT
# Interop of tensor files with the reference safetensors implementation (Python package
# `safetensors` with numpy and torch, under /usr/bin/python3). The test reports itself skipped
# (exit 77) when those modules are missing.
add_executable(io_roundtrip_tool ${CMAKE_CURRENT_LIST_DIR}/io_roundtrip_tool.c)
set_target_properties(io_roundtrip_tool PROPERTIES C_STANDARD 11 C_EXTENSIONS OFF)
tf_target_warnings(io_roundtrip_tool)
target_link_libraries(io_roundtrip_tool PRIVATE transfer::transfer)
add_test(NAME io_safetensors_interop
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_interop.py
          $<TARGET_FILE:io_roundtrip_tool> ${CMAKE_CURRENT_BINARY_DIR}/io_interop)
set_tests_properties(io_safetensors_interop PROPERTIES LABELS io SKIP_RETURN_CODE 77 TIMEOUT 300)
