#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails if the shared library exports a symbol without the tf_ prefix, or an internal tf__ one.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" { print $3 }' | sed 's/@.*//')
[ -n "$syms" ] || { echo "no exported symbols found in $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^tf_' || true)
internal=$(printf '%s\n' "$syms" | grep '^tf__' || true)
if [ -n "$bad" ] || [ -n "$internal" ]; then
    echo "symbols that must not be exported from $lib:"
    printf '%s\n' $bad $internal
    exit 1
fi
echo "$(printf '%s\n' "$syms" | wc -l) exported symbols, all tf_*"
