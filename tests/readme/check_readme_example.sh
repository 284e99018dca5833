#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile and run the C block of README.md that follows the marker <!-- example:minimal -->.
set -eu
readme=$1 work=$2 cc=$3 inc1=$4 inc2=$5 lib=$6 sanitize=${7:-}
mkdir -p "$work"
awk '/<!-- example:minimal -->/ {armed=1; next}
     armed && /^```c/ {inblock=1; next}
     inblock && /^```/ {exit}
     inblock {print}' "$readme" >"$work/example.c"
[ -s "$work/example.c" ] || { echo "no C example after <!-- example:minimal --> in $readme"; exit 1; }
extra=""
case "$lib" in *.a) extra="-lopenblas -lm -lpthread" ;; esac
"$cc" -std=c99 -Wall -Wextra -Werror $sanitize -I"$inc1" -I"$inc2" "$work/example.c" "$lib" $extra -o "$work/example"
LD_LIBRARY_PATH="$(dirname "$lib")" "$work/example"
