# SPDX-License-Identifier: MIT
# The getting-started page's programs run as written, with tiny settings: the C example
# (examples/train_predict.c, shown by the page) and the page's python snippet.
if(TARGET train_predict)
  add_test(NAME docs_getting_started_c
    COMMAND train_predict ${PROJECT_SOURCE_DIR}/examples/data/spam
            ${CMAKE_CURRENT_BINARY_DIR}/getting_started.safetensors 4 1)
  set_tests_properties(docs_getting_started_c PROPERTIES LABELS train TIMEOUT 300
    PASS_REGULAR_EXPRESSION "P\\(ham\\) = 0\\.[0-9]+\nP\\(spam\\) = 0\\.[0-9]+")
endif()
# A sanitizer build cannot be loaded into an unsanitized interpreter.
if(BUILD_SHARED_LIBS AND NOT TF_SANITIZE)
  add_test(NAME docs_getting_started_python
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/run_snippets.py
            ${PROJECT_SOURCE_DIR}/docs/getting-started.md ${CMAKE_CURRENT_BINARY_DIR}/getting_started 1
            --link examples=${PROJECT_SOURCE_DIR}/examples)
  set_tests_properties(docs_getting_started_python PROPERTIES LABELS train TIMEOUT 300
    ENVIRONMENT "LIBTRANSFER_PATH=$<TARGET_FILE:transfer>;PYTHONPATH=${PROJECT_SOURCE_DIR}/python;PYTHONDONTWRITEBYTECODE=1")
endif()
