# SPDX-License-Identifier: MIT
"""The baseline of scripts/shift: TF-IDF over word unigrams and bigrams, then a class-balanced
logistic regression (scikit-learn), trained on a labelled TSV and scored on another.

    shift_baseline.py --train TRAIN.tsv --test TEST.tsv [--seeds 1 2 3]

Fits once per seed (random_state) and prints one line per seed, `seed=S accuracy=X macro_f1=X`,
then a last line `deterministic=1` when every seed predicted exactly the same labels (the lbfgs
solver uses no randomness), `deterministic=0` otherwise. Nothing is tuned: scikit-learn's defaults
except the n-gram range, the balanced class weights and enough iterations to converge.
"""
import argparse
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score


def read_tsv(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                sys.exit(f"shift_baseline.py: {path}:{n}: no tab between label and text")
            labels.append(label)
            texts.append(text)
    return labels, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    y_train, x_train = read_tsv(args.train)
    y_test, x_test = read_tsv(args.test)
    vec = TfidfVectorizer(ngram_range=(1, 2))
    train = vec.fit_transform(x_train)
    test = vec.transform(x_test)
    classes = sorted(set(y_train))
    predictions = []
    for seed in args.seeds:
        clf = LogisticRegression(class_weight="balanced", solver="lbfgs", max_iter=1000,
                                 random_state=seed)
        clf.fit(train, y_train)
        pred = clf.predict(test)
        predictions.append(list(pred))
        acc = accuracy_score(y_test, pred)
        f1 = f1_score(y_test, pred, average="macro", labels=classes)
        print(f"seed={seed} accuracy={acc:.6f} macro_f1={f1:.6f}")
    print(f"deterministic={int(all(p == predictions[0] for p in predictions))}")


if __name__ == "__main__":
    main()
