#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the built library into a scratch prefix, then build and run a consumer against the
# installed files only: through find_package(transfer) (C and C++) and through pkg-config. The
# tool comes with it: bin/tftrain (running without LD_LIBRARY_PATH), its man page, and the API
# reference when the build has a docs target (built here first).
# Usage: check_install.sh BUILD WORK CC CXX [SANITIZE]; SANITIZE (e.g. -fsanitize=address) is the
# flag the library was built with, which its consumers must compile and link with too.
set -eu
build=$1 work=$2 cc=$3 cxx=$4 sanitize=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
docs=0
if [ -f "$build/docs/Doxyfile" ]; then
    docs=1
    cmake --build "$build" --target docs >"$work/docs.log"
fi
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

if [ -f "$build/examples/tftrain" ]; then
    echo "== bin/tftrain, share/man/man1/tftrain.1"
    version=$(env -u LD_LIBRARY_PATH "$prefix/bin/tftrain" --version)
    case $version in
    "tftrain (libtransfer) "[0-9]*) ;;
    *) echo "installed tftrain --version: '$version'"; exit 1 ;;
    esac
    man=$prefix/share/man/man1/tftrain.1
    head -n 2 "$man" | grep -q '^\.TH TFTRAIN "1"' || { echo "$man: not a tftrain(1) page"; exit 1; }
    for section in '^\.SH NAME' '^\.SS "tftrain pretrain"' '^\.SS "tftrain finetune"' 'save\\-every'; do
        grep -q "$section" "$man" || { echo "$man: no $section"; exit 1; }
    done
fi
if [ "$docs" = 1 ]; then
    echo "== share/doc/libtransfer/html"
    html=$prefix/share/doc/libtransfer/html
    [ -f "$html/index.html" ] || { echo "$html/index.html missing"; exit 1; }
    for page in examples.html train_predict_8c-example.html tftrain_2main_8c-example.html tftrain_2resume_8c-example.html; do
        [ -f "$html/$page" ] || { echo "$html/$page missing: the examples are not in the reference"; exit 1; }
    done
fi
libdir=$(find "$prefix" -name 'libtransfer.*' -path '*lib*' | head -n 1 | xargs dirname)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "== find_package(transfer)"
cmake -S "$here/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
      -DCMAKE_EXE_LINKER_FLAGS="$sanitize" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer_c"
"$work/cmake-build/consumer_cxx"

echo "== pkg-config libtransfer"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
static=""
[ -e "$libdir/libtransfer.so" ] || static="--static"
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror $sanitize "$here/consumer/consumer.c" -o "$work/pc_c" \
      $(pkg-config --cflags libtransfer) $(pkg-config $static --libs libtransfer)
"$work/pc_c"
"$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror $sanitize "$here/consumer/consumer.cpp" -o "$work/pc_cxx" \
      $(pkg-config --cflags libtransfer) $(pkg-config $static --libs libtransfer)
"$work/pc_cxx"
echo "installed package OK"
