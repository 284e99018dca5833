#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails if the library imports a function that prints to the terminal or ends the process:
# library code reports through status codes, the last-error message and the log callback only.
set -eu
lib=$1
forbidden='^(printf|vprintf|fprintf|vfprintf|puts|fputs|putchar|putc|fputc|perror|exit|_exit|_Exit|abort|__assert_fail|quick_exit|__printf_chk|__fprintf_chk|__vfprintf_chk)$'
bad=$(nm -D --undefined-only "$lib" | awk '{print $2}' | sed 's/@.*//' | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
    echo "$lib imports functions that print or end the process:"
    echo "$bad"
    exit 1
fi
echo "no printing or process-ending imports in $lib"
