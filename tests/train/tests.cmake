# SPDX-License-Identifier: MIT
# A libtransfer checkpoint loads into an equivalent PyTorch model (Debian's torch under
# /usr/bin/python3, safetensors from PyPI) and predicts the same; skipped without them.
add_executable(train_torch_tool ${CMAKE_CURRENT_LIST_DIR}/torch_tool.c)
target_link_libraries(train_torch_tool PRIVATE transfer::transfer)
if(NOT TF_SANITIZE)
  add_test(NAME train_torch_checkpoint
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_torch_checkpoint.py
            $<TARGET_FILE:train_torch_tool> ${CMAKE_CURRENT_BINARY_DIR}/torch_checkpoint)
  set_tests_properties(train_torch_checkpoint PROPERTIES LABELS train SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()

# The snippets of docs/pytorch.md (PyTorch weights imported with tftrain, the checkpoint read
# back into PyTorch, an int8 export dequantised in PyTorch) run as written.
if(NOT TF_SANITIZE AND TARGET tftrain)
  add_test(NAME train_pytorch_doc
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/docs/run_snippets.py
            ${PROJECT_SOURCE_DIR}/docs/pytorch.md ${CMAKE_CURRENT_BINARY_DIR}/pytorch_doc 3
            --require torch --require safetensors --path $<TARGET_FILE_DIR:tftrain>)
  set_tests_properties(train_pytorch_doc PROPERTIES LABELS train SKIP_RETURN_CODE 77 TIMEOUT 300
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endif()
