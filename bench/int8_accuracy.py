#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Accuracy of a classifier's int8 export with the predictor's int8 weights kept resident
(tf_predictor_opts_t::int8_weights, docs/deployment.md) against the same export dequantised and
the f32 checkpoint, on a labelled TSV (label TAB text), through the Python package:

    LIBTRANSFER_PATH=build/libtransfer.so /usr/bin/python3 bench/int8_accuracy.py MODEL VALID_TSV

Writes MODEL's int8 export next to it (MODEL-int8.safetensors) and prints the accuracy of each
way, the labels that change between the int8 ways and the largest probability change."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402

import libtransfer as lt  # noqa: E402


def main() -> None:
    model_path, valid = sys.argv[1], sys.argv[2]
    ctx = lt.Context(threads=1, seed=1)
    labels = lt.Model.load(ctx, model_path).labels
    with open(valid, encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line]
    texts = [r[1] for r in rows]
    truth = np.array([labels.index(r[0]) for r in rows])
    out = model_path.replace(".safetensors", "") + "-int8.safetensors"
    lt.Model.load(ctx, model_path).export(out, dtype="int8")
    probs = {}
    for name, path, mode in (("f32", model_path, "dequantize"), ("int8 dequantised", out, "dequantize"),
                             ("int8 resident", out, "resident")):
        probs[name] = np.asarray(lt.Predictor.load(ctx, path, int8=mode).predict(texts))
        acc = 100 * (probs[name].argmax(1) == truth).mean()
        print(f"{name}: accuracy {acc:.2f}% of {len(texts)}")
    a, b = probs["int8 dequantised"], probs["int8 resident"]
    print(f"resident vs dequantised: {(a.argmax(1) != b.argmax(1)).sum()} labels changed, "
          f"largest probability change {np.abs(a - b).max():.4f}")


if __name__ == "__main__":
    main()
