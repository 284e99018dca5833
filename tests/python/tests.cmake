# SPDX-License-Identifier: MIT
# The Python package in python/ (context, tensors, vocabularies, loaders, models), tested
# through ctypes against the built shared library.
# Debian's python3 (/usr/bin/python3) is used because it has numpy; a sanitizer build cannot be
# loaded into an unsanitized interpreter, so the test is left out there.
if(BUILD_SHARED_LIBS AND NOT TF_SANITIZE)
  add_test(NAME train_python_bindings
    COMMAND /usr/bin/python3 -m unittest discover -s ${PROJECT_SOURCE_DIR}/python/tests -v)
  set_tests_properties(train_python_bindings PROPERTIES
    ENVIRONMENT "LIBTRANSFER_PATH=$<TARGET_FILE:transfer>;PYTHONDONTWRITEBYTECODE=1")
endif()
