# SPDX-License-Identifier: MIT
# Warning flags for libtransfer's own code (library, tests, examples).
function(tf_target_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wvla -Wformat=2 -Wundef -Wno-unused-parameter>)
    if(TF_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
