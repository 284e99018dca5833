# SPDX-License-Identifier: MIT
# Make tftrain.1 with help2man from `tftrain --help` and `--version`, with a COMMANDS section
# holding each command's own --help (help2man reads the top-level one only).
# Usage: cmake -DTFTRAIN=EXE -DHELP2MAN=EXE -DOUT=FILE -P man.cmake
set(include "[COMMANDS]\n")
foreach(cmd pretrain finetune eval predict adapt distill import)
  execute_process(COMMAND ${TFTRAIN} ${cmd} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TFTRAIN} ${cmd} --help failed (${rc})")
  endif()
  # roff: a backslash is \e; a line starting with . or ' would be a request.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND include ".SS \"tftrain ${cmd}\"\n.nf\n${help}.fi\n")
endforeach()
get_filename_component(dir ${OUT} DIRECTORY)
file(WRITE ${dir}/tftrain.h2m "${include}")
execute_process(COMMAND ${HELP2MAN} --no-info --section=1
                        "--name=pre-train and fine-tune LSTM text classifiers"
                        --include=${dir}/tftrain.h2m --output=${OUT} ${TFTRAIN}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc})")
endif()
