#!/bin/sh
# SPDX-License-Identifier: MIT
# How the bundled samples were made from the project's shared data sets (see ../../README.md).
#   examples/data/make_samples.sh /path/to/shared/data
# spam/unlabeled.txt  : the full unlabelled SpamAssassin texts (in-domain pre-training corpus)
# spam/train-10pct.tsv: every 10th row of spam/train.tsv (rows 1, 11, 21, ...): the small labelled set
# spam/valid.tsv      : the validation split as is
set -eu
src=${1:?usage: make_samples.sh SHARED_DATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cp "$src/spam/unlabeled.txt" "$here/spam/unlabeled.txt"
awk 'NR % 10 == 1' "$src/spam/train.tsv" >"$here/spam/train-10pct.tsv"
cp "$src/spam/valid.tsv" "$here/spam/valid.tsv"
cp "$src/spam/NOTICE" "$here/spam/NOTICE"
