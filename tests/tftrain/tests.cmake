# SPDX-License-Identifier: MIT
# The tftrain tool and the C++ example, driven by tests/tftrain/tftrain_test.py on tiny data it
# writes itself: exit statuses and messages, --help, a small end-to-end run, continued
# pre-training with a grown vocabulary, cpp_predict agreeing with `tftrain predict`, the --out
# check, the epoch table, checkpoints, --resume, real signals, inference export and
# the explanation page (in chromium, headless).
if(TARGET tftrain)
  foreach(_case usage help data_errors end_to_end pretrain_init multi_label adapt tokenizer_bpe
                cell adaptive_softmax cpp_predict out_checked small_flags epoch_table resume
                interrupt import init_embeddings numeric numeric_errors distill images export explain
                explain_browser)
    add_test(NAME train_tftrain_${_case}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/tftrain_test.py $<TARGET_FILE:tftrain>
              ${CMAKE_CURRENT_BINARY_DIR}/tftrain_work ${_case} $<TARGET_FILE:cpp_predict>)
    set_tests_properties(train_tftrain_${_case} PROPERTIES LABELS train TIMEOUT 300)
  endforeach()
  # Without chromium the page cannot be rendered: skipped (77), unless scripts/test requires it
  # (TF_TEST_REQUIRE_CHROMIUM).
  set_tests_properties(train_tftrain_explain_browser PROPERTIES SKIP_RETURN_CODE 77)
endif()

# The committed man page (installed where help2man is missing) is the one help2man makes now
# (the first two lines, with the tool's version and the month, aside).
if(TARGET tftrain_man)
  add_test(NAME train_tftrain_man_page
    COMMAND /usr/bin/python3 -c "import sys
a, b = (open(p).read().split('\\n')[2:] for p in sys.argv[1:3])
if a != b:
    sys.exit(sys.argv[2] + ' is out of date: copy ' + sys.argv[1] + ' over it')"
            ${PROJECT_BINARY_DIR}/examples/tftrain.1 ${PROJECT_SOURCE_DIR}/examples/tftrain/tftrain.1)
  set_tests_properties(train_tftrain_man_page PROPERTIES LABELS train)
endif()
