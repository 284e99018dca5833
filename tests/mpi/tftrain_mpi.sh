#!/bin/sh
# SPDX-License-Identifier: MIT
# tftrain under mpiexec: `mpiexec -np 2 tftrain pretrain` trains as one process does (the same
# steps; the loss close, not equal: dropout draws other masks for half batches), rank 0 alone
# prints the progress table and the result and writes the model; finetune likewise; a rank
# whose corpus cannot be read ends the job with an error within the timeout.
# usage: tftrain_mpi.sh MPIEXEC TFTRAIN CORPUS WORKDIR
set -eu
mpiexec=$1 tftrain=$2 corpus=$3 work=$4
run2() { timeout 120 "$mpiexec" -np 2 --oversubscribe --allow-run-as-root "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
head -400 "$corpus" > c.txt
args="--corpus c.txt --steps 8 --batch 8 --threads 1 --emb 16 --hidden 16"
"$tftrain" pretrain $args --out one.safetensors > one.out 2> one.err || fail "one process"
run2 "$tftrain" pretrain $args --out two.safetensors > two.out 2> two.err || fail "two ranks: $(cat two.err)"
[ "$(grep -c '^steps=8 ' two.out)" = 1 ] || fail "the result line is not printed once: $(cat two.out)"
[ "$(grep -c 'train_loss' two.err)" = 1 ] || fail "the progress table is not printed once"
[ -f two.safetensors ] || fail "no model written"
loss1=$(sed -n 's/.*train_loss=\([0-9.]*\).*/\1/p' one.out)
loss2=$(sed -n 's/.*train_loss=\([0-9.]*\).*/\1/p' two.out)
awk -v a="$loss1" -v b="$loss2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.02 * a) }' ||
    fail "train_loss $loss2 on two ranks, $loss1 on one"
# Fine-tuning from it on two ranks, then evaluating the model rank 0 wrote.
awk 'NR <= 120 { print (NR % 3 == 0 ? "a" : "b") "\t" $0 }' c.txt > train.tsv
run2 "$tftrain" finetune --init two.safetensors --train train.tsv --epochs 2 --batch 8 \
    --threads 1 --out clf.safetensors > ft.out 2> ft.err || fail "finetune on two ranks: $(cat ft.err)"
"$tftrain" eval --model clf.safetensors --data train.tsv > eval.out || fail "eval"
grep -q '^accuracy=' eval.out || fail "eval printed no accuracy"
# Rank 1 cannot read its corpus: the job ends with an error, not a wait.
set +e
run2 sh -c 'c=c.txt; [ "${OMPI_COMM_WORLD_RANK:-0}" = 1 ] && c=missing.txt; exec "$0" pretrain --corpus "$c" --steps 8 --threads 1 --out bad.safetensors' \
    "$tftrain" > bad.out 2> bad.err
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a failing rank: job status $rc"
grep -q "missing.txt" bad.err || fail "the failing rank's message is missing: $(cat bad.err)"
echo "ok: train_loss $loss1 (one process), $loss2 (two ranks); failing rank: job status $rc"
