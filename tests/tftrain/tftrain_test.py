#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the tftrain tool (and the C++ example): exit statuses, messages, --help, and a tiny
end-to-end run on data written here. Usage: tftrain_test.py TFTRAIN WORKDIR CASE [CPP_PREDICT]
with CASE one of: usage, help, data_errors, end_to_end, pretrain_init, multi_label, adapt,
tokenizer_bpe, cell, adaptive_softmax, cpp_predict, out_checked, small_flags, epoch_table, resume,
interrupt, import, init_embeddings, numeric, numeric_errors, distill, images, export, explain,
explain_browser."""
import html.parser
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

HAM = "meeting project schedule report team lunch code review kernel patch thanks".split()
SPAM = "free money offer click win prize cash now credit loan deal".split()
SMALL = ["--vocab-size", "64", "--emb", "8", "--hidden", "12", "--threads", "1"]
FAILURES = []


def run(*args, stdin=None):
    p = subprocess.run([TFTRAIN] + [str(a) for a in args], input=stdin, capture_output=True,
                       text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def expect_exit(code, args, needle=None, stdin=None, last_line_only=False):
    rc, out, err = run(*args, stdin=stdin)
    shown = " ".join(str(a) for a in args)
    lines = err.strip("\n").split("\n") if err.strip() else []
    expect(rc == code, f"`tftrain {shown}`: exit {rc}, expected {code} (stderr: {err!r})")
    if code != 0:
        expect(len(lines) >= 1, f"`tftrain {shown}`: no message on stderr")
        if not last_line_only:
            expect(len(lines) == 1, f"`tftrain {shown}`: message is not one line: {err!r}")
        msg = lines[-1] if lines else ""
        expect(msg.startswith("tftrain"), f"`tftrain {shown}`: message {msg!r}")
        if needle is not None:
            expect(needle in msg, f"`tftrain {shown}`: {needle!r} not in message {msg!r}")
    return rc, out, err


def text(rng, words, n=10):
    return " ".join(rng.choice(words) for _ in range(n))


def write_data(d):
    rng = random.Random(11)
    files = {}
    files["corpus"] = os.path.join(d, "corpus.txt")
    with open(files["corpus"], "w") as f:
        for i in range(300):
            f.write(text(rng, HAM if i % 2 else SPAM) + " .\n")
    for name, n in (("train", 80), ("valid", 30)):
        files[name] = os.path.join(d, name + ".tsv")
        with open(files[name], "w") as f:
            for i in range(n):
                label = "spam" if i % 3 == 0 else "ham"
                f.write(f"{label}\t{text(rng, SPAM if label == 'spam' else HAM)}\n")
    files["notab"] = os.path.join(d, "notab.tsv")
    with open(files["notab"], "w") as f:
        f.write("ham\tmeeting report\nspam free money without a tab\n")
    files["unknown_label"] = os.path.join(d, "unknown-label.tsv")
    with open(files["unknown_label"], "w") as f:
        f.write("ham\tmeeting report\neggs\tfree money\n")
    files["corrupt"] = os.path.join(d, "corrupt.safetensors")
    with open(files["corrupt"], "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all" + bytes(range(64)))
    files["inputs"] = os.path.join(d, "inputs.txt")
    with open(files["inputs"], "w") as f:
        f.write("free money offer now\n\nteam meeting report thanks\r\n   \nwin cash prize\n")
    return files


def case_usage(d, f):
    expect_exit(1, [], "missing command")
    expect_exit(1, ["bogus"], "unknown command 'bogus'")
    pre = ["pretrain", "--corpus", f["corpus"], "--out", os.path.join(d, "m.st")]
    expect_exit(1, pre + ["--bogus", "1"], "unknown option '--bogus'")
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--out"], "--out needs a value")
    expect_exit(1, ["pretrain", "--corpus", "--out", "x"], "--corpus needs a value")
    expect_exit(1, pre + ["--epochs", "3x"], "--epochs: '3x' is not a whole number")
    expect_exit(1, pre + ["--epochs", "-1"], "--epochs")
    expect_exit(1, pre + ["--epochs", "1.5"], "--epochs")
    expect_exit(1, pre + ["--epochs", ""], "--epochs")
    expect_exit(1, pre + ["--hidden", "0"], "--hidden")
    expect_exit(1, pre + ["--vocab-size=-5"], "--vocab-size")
    expect_exit(1, pre + ["--steps", "99999999999999999999"], "--steps")
    expect_exit(1, pre + ["--lr", "abc"], "--lr: 'abc' is not a number")
    expect_exit(1, pre + ["--lr", "-0.1"], "--lr")
    expect_exit(1, pre + ["--lr", "nan"], "--lr")
    expect_exit(1, pre + ["--epochs", "1", "--steps", "5"], "not both")
    expect_exit(1, pre + ["--epochs", "1", "--epochs", "2"], "twice")
    expect_exit(1, pre + ["stray"], "unexpected argument 'stray'")
    expect_exit(1, ["pretrain", "--out", "m.st"], "--corpus FILE is required")
    expect_exit(1, ["pretrain", "--corpus", f["corpus"]], "--out MODEL is required")
    expect_exit(1, ["finetune", "--out", "m.st"], "--train TSV is required")
    expect_exit(1, ["finetune", "--train", f["train"]], "--out MODEL is required")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--strategy", "half"],
                "--strategy")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--discriminative", "0.5"],
                "--discriminative")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--head-dropout", "1"],
                "--head-dropout")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--head-dropout", "-0.1"],
                "--head-dropout")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--init", "lm",
                    "--hidden", "8"], "--hidden cannot be used with --init")
    expect_exit(1, ["finetune", "--train", f["train"], "--out", "m", "--max-len", "0"],
                "--max-len")
    expect_exit(1, ["eval", "--model", "m"], "--data TSV is required")
    expect_exit(1, ["eval", "--data", f["valid"]], "--model MODEL is required")
    expect_exit(1, ["predict", "--model", "m"], "--input FILE is required")
    expect_exit(1, ["predict", "--input", f["inputs"]], "--model MODEL is required")
    expect_exit(1, ["predict", "--model", "m", "--input", f["inputs"], "--threads", "x"],
                "--threads")


def case_help(d, f):
    for args, head in ((["--help"], "usage: tftrain COMMAND"), (["help"], "usage: tftrain COMMAND"),
                       (["pretrain", "--help"], "usage: tftrain pretrain"),
                       (["finetune", "--help"], "usage: tftrain finetune"),
                       (["eval", "--help"], "usage: tftrain eval"),
                       (["predict", "-h"], "usage: tftrain predict"),
                       (["adapt", "--help"], "usage: tftrain adapt"),
                       (["distill", "--help"], "usage: tftrain distill")):
        rc, out, err = run(*args)
        expect(rc == 0, f"`tftrain {' '.join(args)}`: exit {rc}")
        expect(out.startswith(head), f"`tftrain {' '.join(args)}`: stdout {out[:60]!r}")
        expect(err == "", f"`tftrain {' '.join(args)}`: stderr {err!r}")
        expect("Exit status" in out, f"`tftrain {' '.join(args)}`: exit statuses not documented")
    # --help wins even after other options
    rc, out, _ = run("finetune", "--train", "x", "--help")
    expect(rc == 0 and out.startswith("usage: tftrain finetune"), "--help after options")


def case_data_errors(d, f):
    missing = os.path.join(d, "missing.txt")
    out = os.path.join(d, "never.st")
    expect_exit(2, ["pretrain", "--corpus", missing, "--out", out] + SMALL, "missing.txt")
    expect_exit(2, ["finetune", "--train", f["notab"], "--out", out] + SMALL, "notab.tsv")
    expect_exit(2, ["finetune", "--train", os.path.join(d, "nope.tsv"), "--out", out] + SMALL,
                "nope.tsv")
    expect_exit(2, ["finetune", "--train", f["train"], "--valid", f["notab"], "--out", out]
                + SMALL, "notab.tsv")
    expect_exit(2, ["finetune", "--train", f["train"], "--init", f["corrupt"], "--out", out],
                "corrupt.safetensors")
    expect_exit(2, ["eval", "--model", os.path.join(d, "absent.st"), "--data", f["valid"]],
                "absent.st")
    expect_exit(2, ["eval", "--model", f["corrupt"], "--data", f["valid"]],
                "corrupt.safetensors")
    expect_exit(2, ["predict", "--model", f["corrupt"], "--input", f["inputs"]],
                "corrupt.safetensors")
    expect(not os.path.exists(out), "a failed run wrote its output")


def check_eval_output(out, data_path, what):
    lines = out.rstrip("\n").split("\n")
    expect(re.fullmatch(r"accuracy=[01]\.\d{4} macro_f1=[01]\.\d{4} loss=\d+\.\d{4}", lines[0])
           is not None, f"{what}: first line {lines[0]!r}")
    expect(re.fullmatch(r"class\s+precision\s+recall\s+f1\s+support", lines[1]) is not None,
           f"{what}: table header {lines[1]!r}")
    truth = {}
    with open(data_path) as fh:
        for line in fh:
            if line.strip():
                lab = line.split("\t", 1)[0]
                truth[lab] = truth.get(lab, 0) + 1
    rows = {}
    for line in lines[2:2 + len(truth)]:
        parts = line.split()
        expect(len(parts) == 5, f"{what}: table row {line!r}")
        if len(parts) == 5:
            rows[parts[0]] = parts
            for v in parts[1:4]:
                expect(re.fullmatch(r"[01]\.\d{4}", v) is not None, f"{what}: value {v!r}")
    expect({k: int(v[4]) for k, v in rows.items()} == truth,
           f"{what}: supports {rows} != label counts {truth}")
    expect(lines[2 + len(truth)].startswith("confusion matrix"), f"{what}: no confusion matrix")
    cm = [[int(x) for x in l.split()[1:]] for l in lines[3 + len(truth):3 + 2 * len(truth)]]
    correct = sum(cm[i][i] for i in range(len(cm)))
    total = sum(map(sum, cm))
    acc = float(lines[0].split()[0].split("=")[1])
    expect(total == sum(truth.values()), f"{what}: confusion total {total}")
    expect(abs(acc - correct / max(total, 1)) < 1e-4, f"{what}: accuracy vs confusion matrix")
    return acc


def check_predict_output(out, labels, n, what, blank=()):
    """`n` output lines, empty at the 0-based line numbers in `blank`, a prediction elsewhere."""
    lines = out.split("\n")
    expect(lines[-1] == "", f"{what}: output does not end with a newline")
    lines = lines[:-1]
    expect(len(lines) == n, f"{what}: {len(lines)} lines, expected {n}")
    expect([i for i, l in enumerate(lines) if l == ""] == list(blank),
           f"{what}: empty lines at {[i for i, l in enumerate(lines) if l == '']}, expected {blank}")
    pat = re.compile("^([^\t]+)" + "".join(r"\tp\(" + re.escape(l) + r"\)=([01]\.\d{4})"
                                           for l in labels) + "$")
    preds = []
    for line in (l for l in lines if l != ""):
        m = pat.match(line)
        expect(m is not None, f"{what}: line {line!r}")
        if m:
            probs = [float(x) for x in m.groups()[1:]]
            expect(abs(sum(probs) - 1) < 2e-3, f"{what}: probabilities {probs}")
            expect(m.group(1) == labels[probs.index(max(probs))], f"{what}: label not argmax")
            preds.append(m.group(1))
    return preds


def case_end_to_end(d, f):
    lm = os.path.join(d, "lm.safetensors")
    clf = os.path.join(d, "clf.safetensors")
    scratch = os.path.join(d, "scratch.safetensors")
    rc, out, err = expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--corpus", f["corpus"],
                                   "--out", lm, "--steps", "6", "--bptt", "8", "--batch", "4",
                                   "--lr", "0.01", "--seed", "3"] + SMALL)
    expect(re.fullmatch(r"steps=6 train_loss=\d+\.\d{4} valid_ppl=\S+ seconds=\d+\.\d\n", out)
           is not None, f"pretrain summary {out!r}")
    expect(re.search(r"^epoch +train_loss +valid_ppl +time\n +0 +\d+\.\d{4} +\d+\.\d{4} +\d+:\d\d\n",
                     err, re.M) is not None, f"pretrain: no epoch table on stderr: {err!r}")
    expect(os.path.getsize(lm) > 1000, "pretrain: model file")
    # A pre-trained model has no classes yet.
    expect_exit(2, ["eval", "--model", lm, "--data", f["valid"]], "not a fine-tuned model")

    rc, out, err = expect_exit(0, ["finetune", "--init", lm, "--train", f["train"], "--valid",
                                   f["valid"], "--out", clf, "--epochs", "2", "--batch", "8",
                                   "--threads", "1", "--strategy", "full", "--lr", "0.01"])
    expect(re.fullmatch(r"epochs=\d+ best_epoch=-?\d+ valid_accuracy=\S+ train_loss=\S+ "
                        r"seconds=\d+\.\d\n", out) is not None, f"finetune summary {out!r}")
    rc, out, err = expect_exit(0, ["eval", "--model", clf, "--data", f["valid"], "--threads", "1"])
    acc = check_eval_output(out, f["valid"], "eval")
    unknown_line = r"tftrain {}: (\d+\.\d)% of ([\d,]+) tokens in {} are unknown to the vocabulary\n"
    m = re.search(unknown_line.format("eval", re.escape(f["valid"])), err)
    expect(m is not None and m.group(1) == "0.0", f"eval: no unknown-token line: {err!r}")
    # Two words of six are not in the vocabulary.
    novel = os.path.join(d, "novel.tsv")
    with open(novel, "w") as fh:
        fh.write("ham\tmeeting xylophone report quokka\nspam\tfree money\n")
    rc, out, err = expect_exit(0, ["eval", "--model", clf, "--data", novel, "--threads", "1"])
    m = re.search(unknown_line.format("eval", re.escape(novel)), err)
    expect(m is not None and m.groups() == ("33.3", "6"), f"eval: unknown tokens {err!r}")
    expect_exit(2, ["eval", "--model", clf, "--data", f["unknown_label"]], "unknown-label.tsv")
    expect_exit(2, ["eval", "--model", clf, "--data", f["notab"]], "notab.tsv")

    rc, out, err = expect_exit(0, ["predict", "--model", clf, "--input", f["inputs"]])
    # inputs.txt: text, empty line, text, spaces only, text: one output line each.
    check_predict_output(out, ["ham", "spam"], 5, "predict", blank=(1, 3))
    rc2, out2, _ = expect_exit(0, ["predict", "--model", clf, "--input", "-"],
                               stdin=open(f["inputs"]).read())
    expect(out2 == out, "predict from stdin differs from predict from the file")
    expect_exit(2, ["predict", "--model", clf, "--input", os.path.join(d, "none.txt")],
                "none.txt")
    # Predictions at batch 1 agree with the batched evaluation.
    texts, labels = [], []
    with open(f["valid"]) as fh:
        for line in fh:
            lab, t = line.rstrip("\n").split("\t", 1)
            labels.append(lab)
            texts.append(t)
    vin = os.path.join(d, "valid-texts.txt")
    with open(vin, "w") as fh:
        fh.write("\n".join(texts) + "\n")
    rc, out, _ = expect_exit(0, ["predict", "--model", clf, "--input", vin])
    preds = check_predict_output(out, ["ham", "spam"], len(texts), "predict valid")
    if len(preds) == len(labels):
        pacc = sum(p == l for p, l in zip(preds, labels)) / len(labels)
        expect(abs(pacc - acc) < 1e-4, f"predict accuracy {pacc} != eval accuracy {acc}")

    # From scratch, validation split by hash of --train.
    rc, out, err = expect_exit(0, ["finetune", "--train", f["train"], "--out", scratch,
                                   "--epochs", "1", "--batch", "8"] + SMALL)
    expect(out.startswith("epochs="), f"scratch summary {out!r}")
    # A corrupt (truncated) copy of a real model.
    trunc = os.path.join(d, "truncated.safetensors")
    with open(clf, "rb") as src, open(trunc, "wb") as dst:
        data = src.read()
        dst.write(data[:len(data) // 2])
    expect_exit(2, ["eval", "--model", trunc, "--data", f["valid"]], "truncated.safetensors")
    # An output that cannot be written.
    expect_exit(2, ["finetune", "--train", f["train"], "--out",
                    os.path.join(d, "no-dir", "m.st"), "--epochs", "1", "--batch", "8"] + SMALL, "no-dir",
                last_line_only=True)


def case_tokenizer_bpe(d, f):
    lm = os.path.join(d, "lm-bpe.safetensors")
    clf = os.path.join(d, "clf-bpe.safetensors")
    small = ["--emb", "8", "--hidden", "12", "--threads", "1"]
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--tokenizer", "words"],
                "--tokenizer")
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--tokenizer", "bpe",
                    "--vocab-size", "100"], "--vocab-size")
    rc, out, err = expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--steps",
                                   "4", "--bptt", "8", "--batch", "4", "--tokenizer", "bpe",
                                   "--vocab-size", "300"] + small)
    m = re.search(r"tftrain pretrain: vocabulary (\d+) ", err)
    expect(m is not None and m.group(1) == "300", f"pretrain --tokenizer bpe: {err!r}")
    expect_exit(1, ["finetune", "--init", lm, "--train", f["train"], "--out", clf,
                    "--tokenizer", "bpe"], "--tokenizer cannot be used with --init")
    expect_exit(0, ["finetune", "--init", lm, "--train", f["train"], "--valid", f["valid"],
                    "--out", clf, "--epochs", "1", "--batch", "8", "--threads", "1"])
    # Words the corpus never had are spelled with pieces: more tokens than words, none unknown.
    novel = os.path.join(d, "novel.tsv")
    with open(novel, "w") as fh:
        fh.write("ham\tmeeting xylophone report quokka\nspam\tfree money\n")
    rc, out, err = expect_exit(0, ["eval", "--model", clf, "--data", novel, "--threads", "1"])
    m = re.search(r"tftrain eval: (\d+\.\d)% of ([\d,]+) tokens in .*novel\.tsv are unknown", err)
    expect(m is not None and m.group(1) == "0.0" and int(m.group(2)) > 6,
           f"eval with a BPE vocabulary: {err!r}")
    check_eval_output(out, novel, "eval bpe")
    # From scratch, and the byte kind.
    for kind in ("bpe", "byte"):
        expect_exit(0, ["finetune", "--train", f["train"], "--out", os.path.join(d, kind + ".st"),
                        "--epochs", "1", "--batch", "8", "--tokenizer", kind, "--vocab-size",
                        "300"] + small)


def case_cell(d, f):
    """--cell gru makes GRU models (gru.* tensors of 3H rows, "cell":"gru" in the saved
    configuration) that pre-train, fine-tune from the pre-trained model and predict; the cell is
    the pre-trained model's with --init; an unknown cell is a usage error."""
    lm = os.path.join(d, "lm-gru.safetensors")
    clf = os.path.join(d, "clf-gru.safetensors")
    scratch = os.path.join(d, "scratch-gru.safetensors")
    for cmd in (["pretrain", "--corpus", f["corpus"], "--out", lm],
                ["finetune", "--train", f["train"], "--out", clf]):
        expect_exit(1, cmd + ["--cell", "rnn"], "--cell: 'rnn' is not lstm or gru")
    expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--steps", "4", "--bptt", "8",
                    "--batch", "4", "--cell", "gru"] + SMALL)
    header = safetensors_header(lm)
    expect(header.get("gru.weight_hh_l0", {}).get("shape") == [36, 12],
           f"pretrain --cell gru: tensors {sorted(k for k in header if '.' in k)[:6]}")
    expect(not any(k.startswith("lstm.") for k in header), "pretrain --cell gru wrote lstm.* tensors")
    config = json.loads(header["__metadata__"]["libtransfer.config"])
    expect(config.get("cell") == "gru", f"pretrain --cell gru: configuration {config}")
    expect_exit(1, ["finetune", "--init", lm, "--train", f["train"], "--out", clf, "--cell", "gru"],
                "--cell cannot be used with --init")
    expect_exit(0, ["finetune", "--init", lm, "--train", f["train"], "--valid", f["valid"], "--out",
                    clf, "--epochs", "2", "--batch", "8", "--strategy", "gradual", "--threads", "1"])
    expect("gru.weight_ih_l0" in safetensors_header(clf), "finetune --init of a GRU: no gru.* tensors")
    rc, out, err = expect_exit(0, ["predict", "--model", clf, "--input", f["inputs"], "--threads",
                                   "1"])
    expect(len(out.strip().split("\n")) >= 3, f"predict with a GRU model: {out!r}")
    expect_exit(0, ["finetune", "--train", f["train"], "--out", scratch, "--epochs", "1", "--batch",
                    "8", "--cell", "gru"] + SMALL)
    expect("gru.bias_hh_l0" in safetensors_header(scratch), "finetune --cell gru from scratch")
    # Without --cell: an LSTM, as before.
    plain = os.path.join(d, "lm-lstm.safetensors")
    expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", plain, "--steps", "2", "--bptt", "8",
                    "--batch", "4"] + SMALL)
    header = safetensors_header(plain)
    expect(header.get("lstm.weight_hh_l0", {}).get("shape") == [48, 12], "pretrain default cell")


def safetensors_header(path):
    """The JSON header of a safetensors file (tensor shapes and metadata)."""
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        return json.loads(fh.read(n))


def vocab_tokens(header):
    """The tokens of a model's serialised vocabulary, by id (after the header's 'size N' line)."""
    lines = header["__metadata__"]["libtransfer.vocab"].split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("size ")) + 1
    return lines[start:start + int(lines[start - 1].split()[1])]


def case_pretrain_init(d, f):
    lm = os.path.join(d, "lm.safetensors")
    lm2 = os.path.join(d, "lm2.safetensors")
    clf = os.path.join(d, "clf.safetensors")
    new = os.path.join(d, "new.txt")
    rng = random.Random(5)
    # 40, 30, 20 and 20 times (ties in byte order), and "once" once: the expected new ids
    fresh = ["invoice", "shipment", "bitcoin", "wallet"]
    with open(new, "w") as fh:
        for i in range(40):
            words = [fresh[0]] + [fresh[1]] * (i < 30) + [fresh[3], fresh[2]] * (i < 20)
            fh.write(" ".join(words) + " " + text(rng, HAM, 5) + " .\n")
        fh.write("once meeting .\n")
    train = ["--steps", "4", "--bptt", "8", "--batch", "4", "--threads", "1"]
    small = [a for a in SMALL if a not in ("--threads", "1")]
    expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--seed", "3"] + small + train)
    old = safetensors_header(lm)
    v0 = old["embedding.weight"]["shape"][0]

    init = ["pretrain", "--init", lm, "--corpus", new, "--out", lm2]
    for flag in ("--emb", "--hidden", "--layers"):
        expect_exit(1, init + [flag, "8"], f"{flag} cannot be used with --init")
    expect_exit(1, init + ["--vocab-size", str(v0 - 1)], "below the vocabulary")
    expect_exit(2, ["pretrain", "--init", os.path.join(d, "none.st"), "--corpus", new, "--out",
                    lm2], "none.st")
    expect_exit(2, ["pretrain", "--init", f["corrupt"], "--corpus", new, "--out", lm2],
                "corrupt.safetensors")
    expect_exit(2, init + ["--corpus", os.path.join(d, "none.txt")], "none.txt")
    expect(not os.path.exists(lm2), "a failed pretrain --init wrote its output")

    # The default limit lets every new word seen twice in (the most frequent first).
    rc, out, err = expect_exit(0, init + train)
    expect(f"4 new words added to the vocabulary of '{lm}' ({v0} -> {v0 + 4} words)" in err,
           f"pretrain --init: stderr {err!r}")
    expect(re.fullmatch(r"steps=4 train_loss=\d+\.\d{4} valid_ppl=\S+ seconds=\d+\.\d\n", out)
           is not None, f"pretrain --init summary {out!r}")
    hdr = safetensors_header(lm2)
    config = json.loads(hdr["__metadata__"]["libtransfer.config"])
    expect(config["vocab_size"] == v0 + 4, f"config vocab_size {config['vocab_size']}")
    expect(hdr["embedding.weight"]["shape"] == [v0 + 4, 8], f"embedding {hdr['embedding.weight']}")
    expect(hdr["lm_head.weight"]["shape"] == [v0 + 4, 12], f"lm_head {hdr['lm_head.weight']}")
    expect(hdr["lm_head.bias"]["shape"] == [v0 + 4], f"lm_head.bias {hdr['lm_head.bias']}")
    words = vocab_tokens(hdr)
    expect(words[:v0] == vocab_tokens(old), "the old words changed ids")
    expect(len(words) == v0 + 4, f"{len(words)} tokens in the vocabulary, expected {v0 + 4}")
    expect(words[v0:] == fresh, f"new words {words[v0:]}, expected {fresh}")

    # --vocab-size caps the growth; the grown model fine-tunes and predicts new words.
    rc, out, err = expect_exit(0, init + train + ["--vocab-size", str(v0 + 2)])
    expect(f"2 new words added to the vocabulary of '{lm}' ({v0} -> {v0 + 2} words)" in err,
           f"pretrain --init --vocab-size: stderr {err!r}")
    hdr = safetensors_header(lm2)
    expect(hdr["embedding.weight"]["shape"][0] == v0 + 2, "--vocab-size limit")
    expect_exit(0, ["finetune", "--init", lm2, "--train", f["train"], "--out", clf, "--epochs",
                    "1", "--batch", "8", "--threads", "1"])
    rc, out, _ = expect_exit(0, ["predict", "--model", clf, "--input", new])
    check_predict_output(out, ["ham", "spam"], 41, "predict with new words")
    # A fine-tuned model as --init: its task head is dropped, the language model goes on.
    expect_exit(0, ["pretrain", "--init", clf, "--corpus", new, "--out", lm2] + train)
    expect(not any(k.startswith("head.") for k in safetensors_header(lm2)),
           "pretrain --init kept a task head")
    # A subword vocabulary spells new words with its pieces: nothing to add, training goes on.
    bpe = os.path.join(d, "bpe.safetensors")
    expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", bpe, "--tokenizer", "bpe",
                    "--vocab-size", "300", "--emb", "8", "--hidden", "12"] + train)
    expect_exit(1, ["pretrain", "--init", bpe, "--corpus", new, "--out", lm2, "--tokenizer",
                    "bpe"], "--tokenizer cannot be used with --init")
    rc, out, err = expect_exit(0, ["pretrain", "--init", bpe, "--corpus", new, "--out", lm2] + train)
    expect(f"the subword vocabulary of '{bpe}' spells new words with its own pieces: none added"
           in err, f"pretrain --init on a BPE model: {err!r}")
    expect(safetensors_header(lm2)["embedding.weight"]["shape"][0] == 300, "the BPE vocabulary grew")


def case_multi_label(d, f):
    """--multi-label: label sets in, per-label table and sets out, eval agreeing with predict."""
    rng = random.Random(5)
    topics = {"money": SPAM[:5], "work": HAM[:5], "food": ["pizza", "soup", "bread", "cake", "tea"]}
    paths = {}
    for name, n in (("train", 240), ("valid", 60)):
        paths[name] = os.path.join(d, f"multi-{name}.tsv")
        with open(paths[name], "w") as fh:
            for _ in range(n):
                labels = sorted(t for t in topics if rng.random() < 0.4)
                words = [w for t in labels for w in rng.sample(topics[t], 2)]
                words += [rng.choice(["the", "a", "and", "so"]) for _ in range(3)]
                rng.shuffle(words)
                fh.write(",".join(labels) + "\t" + " ".join(words) + "\n")
    clf = os.path.join(d, "multi.safetensors")
    expect_exit(1, ["finetune", "--train", paths["train"], "--out", clf, "--multi-label=1"],
                "takes no value")
    rc, out, err = expect_exit(0, ["finetune", "--multi-label", "--train", paths["train"],
                                   "--valid", paths["valid"], "--out", clf, "--epochs", "6",
                                   "--batch", "8", "--lr", "0.02"] + SMALL)
    expect("3 labels (multi-label)" in err, f"finetune: no multi-label note in {err!r}")
    rc, out, _ = expect_exit(0, ["eval", "--model", clf, "--data", paths["valid"]])
    lines = out.rstrip("\n").split("\n")
    expect(re.fullmatch(r"accuracy=[01]\.\d{4} macro_f1=[01]\.\d{4} loss=\d+\.\d{4}", lines[0])
           is not None, f"multi eval: first line {lines[0]!r}")
    expect(lines[1].split() == ["label", "precision", "recall", "f1", "support", "tp", "fp", "fn"],
           f"multi eval: header {lines[1]!r}")
    truth_sets = []
    with open(paths["valid"]) as fh:
        for line in fh:
            labs, t = line.rstrip("\n").split("\t", 1)
            truth_sets.append((set(labs.split(",")) - {""}, t))
    for line in lines[2:5]:
        parts = line.split()
        expect(len(parts) == 8, f"multi eval: row {line!r}")
        if len(parts) == 8:
            support = sum(parts[0] in s for s, _ in truth_sets)
            expect(int(parts[4]) == support, f"multi eval: support of {parts[0]}: {parts[4]} != {support}")
            expect(int(parts[5]) + int(parts[7]) == support, f"multi eval: tp + fn of {parts[0]}")
    acc = float(lines[0].split()[0].split("=")[1])
    expect(acc >= 0.8, f"multi eval: exact-set accuracy {acc} below 0.8")
    # predict: the set at p >= 0.5 (or -), then each label's own probability.
    vin = os.path.join(d, "multi-texts.txt")
    with open(vin, "w") as fh:
        fh.write("".join(t + "\n" for _, t in truth_sets))
    rc, out, _ = expect_exit(0, ["predict", "--model", clf, "--input", vin])
    names = sorted(topics)
    pat = re.compile(r"^([^\t]+)" + "".join(r"\tp\(" + n + r"\)=([01]\.\d{4})" for n in names) + "$")
    right = 0
    plines = out.rstrip("\n").split("\n")
    expect(len(plines) == len(truth_sets), f"multi predict: {len(plines)} lines")
    for line, (truth, _) in zip(plines, truth_sets):
        m = pat.match(line)
        expect(m is not None, f"multi predict: line {line!r}")
        if m:
            probs = dict(zip(names, (float(x) for x in m.groups()[1:])))
            pred = set() if m.group(1) == "-" else set(m.group(1).split(","))
            expect(pred == {n for n in names if probs[n] >= 0.5}, f"multi predict: set vs probs {line!r}")
            right += pred == truth
    expect(abs(right / len(truth_sets) - acc) < 2e-2,
           f"multi predict: exact sets {right}/{len(truth_sets)} vs eval accuracy {acc}")
    # Single-label data is not a label set of this model.
    expect_exit(2, ["eval", "--model", clf, "--data", f["valid"]], "valid.tsv")


def case_adapt(d, f):
    """adapt: a new class balance estimated from unlabelled texts, or given; used by eval and
    predict; finetune --class-weight."""
    rng = random.Random(8)
    # Training: spam is one text in six; the new texts: spam is two in three.
    paths = {}
    for name, n, spam_rate in (("train", 240, 1 / 6), ("valid", 60, 1 / 6), ("new", 150, 2 / 3)):
        paths[name] = os.path.join(d, f"adapt-{name}.tsv")
        with open(paths[name], "w") as fh:
            for _ in range(n):
                spam = rng.random() < spam_rate
                # Overlapping words, so probabilities are graded.
                words = [rng.choice(SPAM if (rng.random() < 0.7) == spam else HAM) for _ in range(6)]
                fh.write(("spam" if spam else "ham") + "\t" + " ".join(words) + "\n")
    new_txt = os.path.join(d, "adapt-new.txt")
    with open(paths["new"]) as src, open(new_txt, "w") as dst:
        dst.write("".join(line.split("\t", 1)[1] for line in src))
    clf = os.path.join(d, "adapt.safetensors")
    rc, out, err = expect_exit(0, ["finetune", "--train", paths["train"], "--valid", paths["valid"],
                                   "--out", clf, "--epochs", "6", "--batch", "8", "--lr", "0.02"]
                               + SMALL)
    expect(re.search(r"temperature \d+\.\d{4}", err) is not None, f"finetune: no temperature in {err!r}")
    adapted = os.path.join(d, "adapted.safetensors")
    rc, out, err = expect_exit(0, ["adapt", "--model", clf, "--unlabeled", new_txt, "--out", adapted])
    m = re.fullmatch(r"texts=150 iterations=(\d+) temperature=(\d+\.\d+) prior=ham:([01]\.\d{4}),"
                     r"spam:([01]\.\d{4}) train_prior=ham:([01]\.\d{4}),spam:([01]\.\d{4})\n", out)
    expect(m is not None, f"adapt summary {out!r}")
    if m:
        prior_spam, train_spam = float(m.group(4)), float(m.group(6))
        with open(paths["train"]) as fh:
            rows = fh.read().splitlines()
        true_train = sum(r.startswith("spam") for r in rows) / len(rows)
        expect(abs(train_spam - true_train) < 1e-3, f"adapt: train prior {train_spam} vs {true_train}")
        expect(prior_spam > 0.45, f"adapt: estimated spam rate {prior_spam}, the texts have 2/3")
    # The adapted model decides for the new balance: the spam recall on the new texts rises.
    def spam_recall(model):
        rc, out, _ = expect_exit(0, ["eval", "--model", model, "--data", paths["new"]])
        for line in out.split("\n"):
            if line.startswith("spam "):
                return float(line.split()[2])
        return -1.0
    expect(spam_recall(adapted) > spam_recall(clf), "adapt: spam recall did not rise")
    rc, out, _ = expect_exit(0, ["predict", "--model", adapted, "--input", new_txt])
    check_predict_output(out, ["ham", "spam"], 150, "predict adapted")
    # A known balance, and back to deciding as trained (the same predictions as the original).
    even = os.path.join(d, "even.safetensors")
    rc, out, _ = expect_exit(0, ["adapt", "--model", adapted, "--prior", "spam=0.5,ham=0.5", "--out", even])
    expect("prior=ham:0.5000,spam:0.5000" in out, f"adapt --prior summary {out!r}")
    back = os.path.join(d, "back.safetensors")
    expect_exit(0, ["adapt", "--model", adapted, "--prior", "train", "--out", back])
    _, p1, _ = run("predict", "--model", clf, "--input", new_txt)
    _, p2, _ = run("predict", "--model", back, "--input", new_txt)
    expect(p1 == p2, "adapt --prior train does not give the original predictions back")
    # Usage and data errors.
    base = ["adapt", "--model", clf, "--out", os.path.join(d, "x.st")]
    expect_exit(1, base, "either --unlabeled FILE or --prior P")
    expect_exit(1, base + ["--unlabeled", new_txt, "--prior", "train"], "either")
    expect_exit(1, base + ["--prior", "spam=0.5"], "no value for label 'ham'")
    expect_exit(1, base + ["--prior", "eggs=0.5,ham=0.5"], "'eggs' is not one of the labels")
    expect_exit(1, base + ["--prior", "spam=0.7,ham=0.7"], "sum")
    expect_exit(1, base + ["--prior", "spam=x,ham=0.5"], "not a number")
    expect_exit(1, ["adapt", "--unlabeled", new_txt, "--out", "x"], "--model MODEL is required")
    expect_exit(2, base + ["--unlabeled", os.path.join(d, "absent.txt")], "absent.txt")
    empty = os.path.join(d, "empty.txt")
    open(empty, "w").close()
    expect_exit(2, base + ["--unlabeled", empty], "no text")
    expect_exit(2, ["adapt", "--model", f["corrupt"], "--unlabeled", new_txt, "--out", "x"],
                "corrupt.safetensors")
    expect(not os.path.exists(os.path.join(d, "x.st")), "a failed adapt wrote its output")
    # finetune --class-weight
    ft = ["finetune", "--train", paths["train"], "--out", os.path.join(d, "w.st"), "--epochs", "1",
          "--batch", "8"] + SMALL
    expect_exit(1, ft + ["--class-weight", "heavy"], "--class-weight")
    expect_exit(1, ft + ["--class-weight", "spam=0"], "--class-weight")
    expect_exit(1, ft + ["--class-weight", "eggs=2"], "'eggs' is not one of the labels")
    expect_exit(0, ft + ["--class-weight", "spam=3"])
    expect_exit(0, ft + ["--class-weight", "balanced"])


def case_distill(d, f):
    """distill: a smaller student that predicts as a fine-tuned teacher does, from random
    weights or a small language model of the same vocabulary; mismatches refused."""
    teacher = os.path.join(d, "teacher.st")
    lm = os.path.join(d, "lm.st")
    pre = ["pretrain", "--corpus", f["corpus"], "--steps", "30", "--bptt", "8", "--batch", "4",
           "--vocab-size", "64", "--emb", "8", "--threads", "1"]
    expect_exit(0, pre + ["--hidden", "16", "--out", lm])
    expect_exit(0, ["finetune", "--init", lm, "--train", f["train"], "--valid", f["valid"],
                    "--out", teacher, "--epochs", "4", "--batch", "8", "--threads", "1"])
    student = os.path.join(d, "student.st")
    base = ["distill", "--teacher", teacher, "--unlabeled", f["corpus"], "--out", student,
            "--threads", "1", "--batch", "8"]
    rc, out, err = expect_exit(0, base + ["--hidden", "6", "--emb", "4", "--train", f["train"],
                                          "--valid", f["valid"], "--epochs", "3"])
    m = re.search(r"epochs=3 steps=\d+ best_epoch=(\d) valid_accuracy=([01]\.\d{4}) train_loss=(\S+) "
                  r"params=(\d+) teacher_params=(\d+) seconds=\S+\n$", out)
    expect(m is not None, f"distill summary {out!r}")
    if m:
        expect(int(m.group(4)) < int(m.group(5)) / 2,
               f"distill: student {m.group(4)} parameters, teacher {m.group(5)}")
    expect("380 texts to distil on" in err, f"distill: corpus and --train texts: {err!r}")
    acc = {}
    for name, model in (("teacher", teacher), ("student", student)):
        _, out, _ = expect_exit(0, ["eval", "--model", model, "--data", f["valid"]])
        acc[name] = float(re.search(r"accuracy=([01]\.\d+)", out).group(1))
    expect(acc["teacher"] >= 0.9, f"distill: the teacher learnt nothing ({acc})")
    expect(acc["student"] >= acc["teacher"] - 0.1, f"distill: student far below teacher ({acc})")
    rc, out, _ = expect_exit(0, ["predict", "--model", student, "--input", f["inputs"]])
    check_predict_output(out, ["ham", "spam"], 5, "predict distilled", blank=(1, 3))
    # From a small language model with the teacher's vocabulary (same corpus and size).
    small_lm = os.path.join(d, "small-lm.st")
    expect_exit(0, pre + ["--hidden", "6", "--out", small_lm])
    expect_exit(0, base + ["--init", small_lm, "--epochs", "1"])
    # A step budget: 380 texts in batches of 8 are 48 a pass; 60 steps end inside the second
    # pass, which --valid then validates as its second epoch.
    rc, out, _ = expect_exit(0, base + ["--init", small_lm, "--steps", "60", "--valid", f["valid"]])
    expect(re.search(r"^epochs=2 steps=60 best_epoch=[01] ", out, re.M) is not None,
           f"distill --steps 60: {out!r}")
    rc, out, _ = expect_exit(0, base + ["--init", small_lm, "--steps", "5"])
    expect(re.search(r"^epochs=0 steps=5 ", out, re.M) is not None, f"distill --steps 5: {out!r}")
    # Usage and data errors.
    expect_exit(1, ["distill", "--unlabeled", f["corpus"], "--out", student], "--teacher MODEL is required")
    expect_exit(1, ["distill", "--teacher", teacher, "--unlabeled", f["corpus"]], "--out MODEL is required")
    expect_exit(1, ["distill", "--teacher", teacher, "--out", student], "--unlabeled FILE")
    expect_exit(1, base + ["--init", small_lm, "--hidden", "6"], "--hidden cannot be used with --init")
    expect_exit(1, base + ["--alpha", "1"], "--alpha")
    expect_exit(1, base + ["--temperature", "0"], "--temperature")
    expect_exit(1, base + ["--epochs", "1", "--steps", "5"], "not both")
    expect_exit(1, base + ["--steps", "0"], "--steps")
    never = os.path.join(d, "never.st")
    bad = ["distill", "--teacher", teacher, "--unlabeled", f["corpus"], "--out", never,
           "--threads", "1"]
    other_lm = os.path.join(d, "other-lm.st")
    expect_exit(0, ["pretrain", "--corpus", f["train"], "--steps", "2", "--vocab-size", "64",
                    "--emb", "4", "--hidden", "6", "--threads", "1", "--out", other_lm])
    expect_exit(2, bad + ["--init", other_lm], "vocabulary", last_line_only=True)
    expect_exit(2, ["distill", "--teacher", lm, "--unlabeled", f["corpus"], "--out", never],
                "lm.st")
    expect_exit(2, bad + ["--valid", f["unknown_label"]], "unknown-label.tsv", last_line_only=True)
    expect_exit(2, bad + ["--unlabeled", os.path.join(d, "absent.txt")], "absent.txt")
    expect(not os.path.exists(never), "a failed distill wrote its output")


def case_adaptive_softmax(d, f):
    lm = os.path.join(d, "lm.safetensors")
    pre = ["pretrain", "--corpus", f["corpus"], "--out", lm, "--steps", "60", "--bptt", "8",
           "--batch", "4", "--seed", "3", "--vocab-size", "64", "--emb", "8", "--hidden", "16",
           "--threads", "1"]
    expect_exit(1, pre + ["--softmax", "fast"], "use full or adaptive")
    expect_exit(1, pre + ["--cutoffs", "8,16"], "--cutoffs is for --softmax adaptive")
    expect_exit(1, pre + ["--softmax", "adaptive"], "needs --cutoffs")
    for bad in ("10,x", "10,,30", "-5", "", "1,2,3,4,5,6,7,8,9", "10,30,"):
        expect_exit(1, pre + ["--softmax", "adaptive", "--cutoffs", bad], "--cutoffs")
    # Cut-offs the model refuses: not increasing, and one at the vocabulary's size (27 words).
    expect_exit(2, pre + ["--softmax", "adaptive", "--cutoffs", "16,8"], "strictly increasing",
                last_line_only=True)
    expect_exit(2, pre + ["--softmax", "adaptive", "--cutoffs", "8,27"], "below the vocabulary size (27)",
                last_line_only=True)
    # 60 steps: better than a uniform guess over the 27 words.
    rc, out, err = expect_exit(0, pre + ["--softmax", "adaptive", "--cutoffs", "8,16"])
    m = re.fullmatch(r"steps=60 train_loss=(\d+\.\d{4}) valid_ppl=(\S+) seconds=\d+\.\d\n", out)
    expect(m is not None and 1.0 < float(m.group(2)) < 27.0, f"pretrain --softmax adaptive summary {out!r}")
    cfg = json.loads(safetensors_header(lm)["__metadata__"]["libtransfer.config"])
    expect(cfg.get("softmax") == "adaptive" and cfg.get("cutoffs") == [8, 16] and cfg.get("div_value") == 4.0,
           f"adaptive model config {cfg!r}")
    expect("lm_head.tail.1.1.weight" in safetensors_header(lm), "adaptive model: no lm_head.tail.1.1.weight")
    # Continued pre-training keeps the model's head; fine-tuning does not use it.
    lm2 = os.path.join(d, "lm2.safetensors")
    expect_exit(1, ["pretrain", "--init", lm, "--corpus", f["corpus"], "--out", lm2, "--softmax", "full"],
                "--softmax cannot be used with --init")
    expect_exit(0, ["pretrain", "--init", lm, "--corpus", f["corpus"], "--out", lm2, "--steps", "3",
                    "--bptt", "8", "--batch", "4", "--threads", "1"])
    cfg = json.loads(safetensors_header(lm2)["__metadata__"]["libtransfer.config"])
    expect(cfg.get("softmax") == "adaptive", f"pretrain --init of an adaptive model: config {cfg!r}")
    clf = os.path.join(d, "clf.safetensors")
    expect_exit(0, ["finetune", "--init", lm2, "--train", f["train"], "--valid", f["valid"], "--out", clf,
                    "--epochs", "1", "--batch", "8", "--threads", "1"])


def case_cpp_predict(d, f):
    clf = os.path.join(d, "cpp.safetensors")
    expect_exit(0, ["finetune", "--train", f["train"], "--valid", f["valid"], "--out", clf,
                    "--epochs", "1", "--batch", "8"] + SMALL)
    rc, expected, _ = run("predict", "--model", clf, "--input", f["inputs"])
    p = subprocess.run([CPP, clf, f["inputs"]], capture_output=True, text=True, timeout=120)
    expect(p.returncode == 0, f"cpp_predict exit {p.returncode}: {p.stderr}")
    expect(p.stdout == expected, f"cpp_predict output {p.stdout!r} != tftrain {expected!r}")
    p = subprocess.run([CPP, clf], input=open(f["inputs"]).read(), capture_output=True,
                       text=True, timeout=120)
    expect(p.returncode == 0 and p.stdout == expected, "cpp_predict from stdin")
    p = subprocess.run([CPP, f["corrupt"]], capture_output=True, text=True, timeout=120)
    expect(p.returncode == 2 and "corrupt.safetensors" in p.stderr,
           f"cpp_predict on a corrupt model: {p.returncode} {p.stderr!r}")


def case_out_checked(d, f):
    """An --out that cannot be written fails before any data is read or training starts."""
    big = ["--epochs", "100000", "--batch", "1"] + SMALL
    for args, needle in (
            (["finetune", "--train", f["train"], "--out", "/no/such/dir/m.safetensors"] + big,
             "directory '/no/such/dir' does not exist"),
            (["pretrain", "--corpus", f["corpus"], "--out", "/no/such/dir/m.safetensors"] + big,
             "directory '/no/such/dir' does not exist"),
            (["finetune", "--train", f["train"], "--out", d] + big, "is a directory"),
            (["pretrain", "--corpus", f["corpus"], "--out", f["corpus"] + "/m.st"] + big,
             "is not a directory"),
            (["adapt", "--model", f["corrupt"], "--prior", "train", "--out",
              "/no/such/dir/m.st"], "does not exist")):
        start = time.monotonic()
        expect_exit(2, args, needle)  # one line: nothing was loaded or trained before it
        expect(time.monotonic() - start < 10, f"{args[0]}: the --out check came late")
    if os.geteuid() != 0:  # root writes anywhere
        ro = os.path.join(d, "read-only")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        expect_exit(2, ["finetune", "--train", f["train"], "--out", os.path.join(ro, "m.st")] + big,
                    "is not writable")


def case_small_flags(d, f):
    """--head-dropout 0, --patience, eval --data -."""
    clf = os.path.join(d, "clf.safetensors")
    ft = ["finetune", "--train", f["train"], "--valid", f["valid"], "--batch", "8"] + SMALL
    expect_exit(0, ft + ["--out", clf, "--epochs", "1", "--head-dropout", "0"])
    expect_exit(1, ft + ["--out", clf, "--head-dropout", "1"], "--head-dropout: 1 is not in [0, 1)")
    expect_exit(1, ft + ["--out", clf, "--patience", "-1"], "--patience")
    # The data are easy: validation accuracy peaks early and cannot rise past 1, so with
    # --patience 2 the run stops two epochs after its best of 30.
    rc, out, _ = expect_exit(0, ft + ["--out", clf, "--epochs", "30", "--patience", "2"])
    m = re.match(r"epochs=(\d+) best_epoch=(\d+) ", out)
    expect(m is not None, f"patience summary {out!r}")
    if m:
        epochs, best = int(m.group(1)), int(m.group(2))
        expect(epochs < 30 and epochs == best + 1 + 2,
               f"--patience 2: {epochs} epochs with the best at {best}")
    rc, out, _ = expect_exit(0, ft + ["--out", clf, "--epochs", "30"])
    expect(out.startswith("epochs=30 "), f"without --patience every epoch runs: {out!r}")
    rc, from_file, _ = expect_exit(0, ["eval", "--model", clf, "--data", f["valid"]])
    rc, from_stdin, err = expect_exit(0, ["eval", "--model", clf, "--data", "-"],
                                      stdin=open(f["valid"]).read())
    expect(from_stdin == from_file and from_file.startswith("accuracy="),
           f"eval --data - {from_stdin!r} != eval --data FILE {from_file!r}")
    expect("tokens in stdin are unknown" in err, f"eval --data -: stderr {err!r}")
    expect_exit(2, ["eval", "--model", clf, "--data", "-"], "stdin", stdin="ham\tno tab\neggs\tx\n")


def case_epoch_table(d, f):
    """Off a terminal: a header, one row per epoch (its number, mean training loss, validation
    metric, time) and the summary on stdout."""
    rc, out, err = expect_exit(0, ["finetune", "--train", f["train"], "--valid", f["valid"],
                                   "--out", os.path.join(d, "m.st"), "--epochs", "3",
                                   "--batch", "8"] + SMALL)
    rows = re.findall(r"^ +(\d+) +(\d+\.\d{4}) +([01]\.\d{4}) +\d+:\d\d$", err, re.M)
    expect(re.search(r"^epoch +train_loss +valid_metric +time$", err, re.M) is not None,
           f"finetune: no table header: {err!r}")
    expect([r[0] for r in rows] == ["0", "1", "2"], f"finetune: rows {rows}")
    expect(re.fullmatch(r"epochs=3 best_epoch=\d valid_accuracy=[01]\.\d{4} train_loss=\S+ "
                        r"seconds=\d+\.\d\n", out) is not None, f"finetune summary {out!r}")
    m = re.search(r"valid_accuracy=(\S+)", out)
    if rows and m:  # the best epoch's metric is the summary's
        expect(max(float(r[2]) for r in rows) == float(m.group(1)),
               f"summary {out!r} against the rows {rows}")
    expect("\r" not in err and "step " not in err, f"finetune: bar lines off a terminal: {err!r}")
    # Pre-training over 2 epochs and a bit (steps in all: 2 * batches per epoch + 3).
    rc, out, err = expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out",
                                   os.path.join(d, "lm.st"), "--bptt", "8", "--batch", "4",
                                   "--steps", "1"] + SMALL)
    per_epoch = int(re.search(r"(\d+) batches per epoch", err).group(1))
    rc, out, err = expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out",
                                   os.path.join(d, "lm.st"), "--bptt", "8", "--batch", "4",
                                   "--steps", str(2 * per_epoch + 3)] + SMALL)
    rows = re.findall(r"^ +(\d+) +\d+\.\d{4} +\d+\.\d{4} +\d+:\d\d$", err, re.M)
    expect(rows == ["0", "1", "2"], f"pretrain: rows {rows} in {err!r}")


def safetensors_tensors(path):
    """The raw bytes of every tensor of a safetensors file, by name."""
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(n))
        data = fh.read()
    return {k: data[v["data_offsets"][0]:v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}


def same_weights(a, b, what):
    ta, tb = safetensors_tensors(a), safetensors_tensors(b)
    expect(sorted(ta) == sorted(tb), f"{what}: tensors {sorted(ta)} != {sorted(tb)}")
    diff = [k for k in ta if ta[k] != tb.get(k)]
    expect(not diff, f"{what}: tensors differ: {diff}")


def summary(out):
    """The summary line without its timing."""
    return re.sub(r" seconds=\S+", "", out.strip())


PRE = ["pretrain", "--bptt", "8", "--batch", "4", "--seed", "3"] + SMALL
FT = ["finetune", "--batch", "8", "--seed", "3"] + SMALL


def case_resume(d, f):
    """--save-every: a run that saves checkpoints ends with the bytes of the straight run and
    deletes them; --resume refuses what is not a whole checkpoint (resuming itself: interrupt)."""
    pre = PRE + ["--corpus", f["corpus"], "--steps", "40"]
    ft = FT + ["--train", f["train"], "--valid", f["valid"], "--epochs", "6"]
    for name, args in (("pretrain", pre), ("finetune", ft)):
        straight = os.path.join(d, name + "-straight.st")
        saved = os.path.join(d, name + "-saved.st")
        rc, out_straight, _ = expect_exit(0, args + ["--out", straight])
        rc, out, err = expect_exit(0, args + ["--out", saved, "--save-every", "7"])
        expect(summary(out) == summary(out_straight), f"{name} --save-every: {out!r}")
        expect(re.search(r"checkpoint at step 7: \S+\.resume\.state\n", err) is not None,
               f"{name}: no checkpoint message: {err!r}")
        same_weights(straight, saved, f"{name} --save-every 7")
        expect(not os.path.exists(saved + ".resume.state") and
               not os.path.exists(saved + ".resume.safetensors"),
               f"{name}: a complete run left its checkpoint")
    expect_exit(1, pre + ["--out", os.path.join(d, "x.st"), "--resume", f["corpus"]],
                "does not end in .state")
    expect_exit(2, pre + ["--out", os.path.join(d, "x.st"), "--resume",
                          os.path.join(d, "absent.state")], "absent.state")
    # A state file that is not one.
    bad = os.path.join(d, "bad.state")
    shutil.copy(f["corrupt"], bad)
    shutil.copy(os.path.join(d, "pretrain-straight.st"), os.path.join(d, "bad.safetensors"))
    expect_exit(2, pre + ["--out", os.path.join(d, "x.st"), "--resume", bad], "bad.state",
                last_line_only=True)
    # A checkpoint whose model was replaced after its state (a crash between the two writes)
    # would pair new weights with an old state: refused.
    long_pre = PRE + ["--corpus", f["corpus"], "--steps", "6000"]
    stopped = os.path.join(d, "stopped.st")
    rc, _, err = run_and_signal(long_pre + ["--out", stopped, "--save-every", "300"],
                                signal.SIGINT, "checkpoint at step 300:")
    expect(rc == 4, f"interrupted pretrain: exit {rc}: {err[-300:]!r}")
    state, model = stopped + ".resume.state", stopped + ".resume.safetensors"
    if os.path.exists(state) and os.path.exists(model):
        st = os.stat(state)
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        expect_exit(2, long_pre + ["--out", stopped, "--resume", state], "newer than",
                    last_line_only=True)


def run_and_signal(args, sig, wait_for):
    """Start tftrain, send `sig` once `wait_for` is on stderr; return (exit, stdout, stderr)."""
    proc = subprocess.Popen([TFTRAIN] + args, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    err = []
    for line in proc.stderr:
        err.append(line)
        if wait_for in line:
            proc.send_signal(sig)
            break
    rest_out, rest_err = proc.communicate(timeout=120)
    return proc.returncode, rest_out, "".join(err) + rest_err


def case_interrupt(d, f):
    """A real SIGINT or SIGTERM to a running tftrain: it saves a resumable state, exits with 4
    and prints the command that resumes, which ends as the straight run."""
    # The signal goes once the first checkpoint is reported, with most of the run (and its other
    # checkpoints) still to come.
    pre = PRE + ["--corpus", f["corpus"], "--steps", "6000"]
    ft = FT + ["--train", f["train"], "--valid", f["valid"], "--epochs", "100"]
    for name, args, sig, every in (("pretrain", pre, signal.SIGINT, 300),
                                   ("finetune", ft, signal.SIGTERM, 100)):
        straight = os.path.join(d, name + "-straight.st")
        out_path = os.path.join(d, name + "-stopped.st")
        rc, out_straight, _ = expect_exit(0, args + ["--out", straight])
        rc, out, err = run_and_signal(args + ["--out", out_path, "--save-every", str(every)], sig,
                                      f"checkpoint at step {every}:")
        expect(rc == 4, f"{name}: exit {rc} after {sig!r}, expected 4 (stderr {err[-600:]!r})")
        expect(out == "", f"{name}: a summary after the interrupt: {out!r}")
        m = re.search(r"interrupted at step (\d+);", err)
        expect(m is not None and int(m.group(1)) > every,
               f"{name}: interrupt message {err[-600:]!r}")
        expect(not os.path.exists(out_path), f"{name}: the model was written though interrupted")
        lines = err.rstrip("\n").split("\n")
        expect(lines[-2] == f"tftrain {name}: resume with:", f"{name}: {lines[-2:]!r}")
        resume = lines[-1].split()
        expect(resume[:2] == ["tftrain", name] and resume[-2:] == ["--resume",
                                                                   out_path + ".resume.state"],
               f"{name}: resume command {lines[-1]!r}")
        rc, out, err = expect_exit(0, resume[1:])
        expect(summary(out) == summary(out_straight), f"{name} resumed: {out!r}")
        if os.path.exists(out_path):
            same_weights(straight, out_path, f"{name} interrupted and resumed")


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "fixtures")


def read_tfx(path):
    """The f64 and i32 entries of a TFX1 fixture (tests/reference/fixture_io.py), as lists."""
    import struct
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:4] == b"TFX1"
    (count,), at, out = struct.unpack_from("<I", data, 4), 8, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, at)
        name = data[at + 4:at + 4 + n].decode()
        at += 4 + n
        dtype, ndim = struct.unpack_from("<II", data, at)
        dims = struct.unpack_from(f"<{ndim}q", data, at + 8)
        at += 8 + 8 * ndim
        numel = 1
        for v in dims:
            numel *= v
        fmt, size = {1: ("f", 4), 2: ("i", 4), 3: ("d", 8)}[dtype]
        out[name] = list(struct.unpack_from(f"<{numel}{fmt}", data, at))
        at += numel * size
    return out


def case_import(d, f):
    """import: the PyTorch fixture (tests/reference/gen_torch_import_fixtures.py) becomes a model
    that predicts PyTorch's probabilities; bad configurations and files exit 2 naming the problem."""
    weights = os.path.join(FIXTURES, "torch_import_cls.safetensors")
    vocab = os.path.join(FIXTURES, "torch_import_vocab.txt")
    cfg = os.path.join(d, "cfg.json")
    with open(cfg, "w") as fh:
        json.dump({"embedding_dim": 8, "hidden_size": 12, "num_layers": 2, "cell": "lstm",
                   "labels": ["neg", "neu", "pos"], "pooling": 7}, fh)
    model = os.path.join(d, "imported.st")
    expect_exit(0, ["import", "--torch", weights, "--config", cfg, "--vocab", vocab, "--out", model])
    fx = read_tfx(os.path.join(FIXTURES, "torch_import_expect.tfx"))
    probes = [" ".join(f"w{i}" for i in fx[f"ids.{k}"]) for k in range(4)]
    rc, out, _ = expect_exit(0, ["predict", "--model", model, "--input", "-"], stdin="\n".join(probes) + "\n")
    lines = out.strip("\n").split("\n")
    expect(len(lines) == 4, f"import: predict gave {out!r}")
    for k, line in enumerate(lines[:4]):
        got = [float(v) for v in re.findall(r"p\(\w+\)=([0-9.]+)", line)]
        want = fx[f"probs.{k}"]
        expect(len(got) == 3 and max(abs(a - b) for a, b in zip(got, want)) < 1e-4,
               f"import: probe {k}: {got} vs PyTorch {want}")
    # A plain token list is a vocabulary too.
    plain = os.path.join(d, "tokens.txt")
    with open(vocab) as src, open(plain, "w") as dst:
        dst.write("".join(src.readlines()[6:]))
    expect_exit(0, ["import", "--torch", weights, "--config", cfg, "--vocab", plain, "--out", model])
    bad = os.path.join(d, "bad.json")
    for text, needle in (('{"embedding_dim": 8, "hiden": 3}', "unknown key 'hiden'"),
                         ('{"embedding_dim": 8, "hidden_size": 12}', "give its labels"),
                         ('{"embedding_dim": 8, "hidden_size": 10, "num_layers": 2, "labels": ["a", "b", "c"]}',
                          "lstm.weight_ih_l0"),
                         ('{"embedding_dim": 8, "hidden_size": 12, "num_layers": 1, "labels": ["a", "b", "c"]}',
                          "'lstm.bias_hh_l1' that the configuration does not describe"),
                         ('[1]', "not a JSON object"), ('{"num_layers": 1e9}', "num_layers")):
        with open(bad, "w") as fh:
            fh.write(text)
        expect_exit(2, ["import", "--torch", weights, "--config", bad, "--vocab", vocab, "--out", model], needle)
    expect_exit(1, ["import", "--torch", weights, "--out", model], "required")
    expect_exit(2, ["import", "--torch", os.path.join(d, "none.st"), "--config", cfg, "--vocab", vocab,
                    "--out", model], "none.st")


def probabilities(out):
    """The probabilities of every `tftrain predict` line."""
    return [[float(x) for x in re.findall(r"=([01]\.\d{4})", line)] for line in out.splitlines()
            if line]


def case_export(d, f):
    """export: no lm_head, the matrices in F16 or I8 with per-row F32 scales (checked here from
    the raw bytes against the full model's), CRCs kept, eval/predict as the full model within
    rounding, training refused."""
    import array
    import zlib
    clf = os.path.join(d, "clf.safetensors")
    expect_exit(0, ["finetune", "--train", f["train"], "--valid", f["valid"], "--out", clf,
                    "--epochs", "2", "--batch", "8", "--vocab-size", "64", "--emb", "32",
                    "--hidden", "32", "--threads", "1"])
    full_hdr, full = safetensors_header(clf), safetensors_tensors(clf)
    sizes = {"full": os.path.getsize(clf)}
    rc, want, _ = expect_exit(0, ["predict", "--model", clf, "--input", f["inputs"]])
    for dtype, big in (("f32", "F32"), ("f16", "F16"), ("int8", "I8")):
        out_path = os.path.join(d, f"clf-{dtype}.safetensors")
        rc, out, err = expect_exit(0, ["export", "--model", clf, "--out", out_path,
                                       "--dtype", dtype])
        sizes[dtype] = os.path.getsize(out_path)
        expect(out == f"dtype={dtype} bytes={sizes[dtype]} model_bytes={sizes['full']} "
               f"ratio={sizes['full'] / sizes[dtype]:.2f}\n", f"export {dtype}: summary {out!r}")
        hdr, raw = safetensors_header(out_path), safetensors_tensors(out_path)
        meta = hdr["__metadata__"]
        expect(meta.get("libtransfer.inference") == dtype, f"export {dtype}: metadata {meta}")
        expect(not [k for k in hdr if k.startswith("lm_head.")], f"export {dtype}: an lm_head")
        for key in ("libtransfer.vocab", "libtransfer.labels", "libtransfer.config",
                    "libtransfer.decision"):
            expect(meta.get(key) == full_hdr["__metadata__"].get(key), f"export {dtype}: {key}")
        for name, b in raw.items():
            expect(meta.get("crc32." + name) == "%08x" % zlib.crc32(b), f"export {dtype}: crc {name}")
        rounded = 0
        for name in ("embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0"):
            x = array.array("f", full[name])
            if len(x) < 1024:  # below the default min_elements: stays F32
                expect(hdr[name]["dtype"] == "F32" and raw[name] == full[name], f"{name} kept")
                continue
            rounded += 1
            expect(hdr[name]["dtype"] == big and hdr[name]["shape"] == full_hdr[name]["shape"],
                   f"export {dtype}: {name} {hdr[name]}")
            rows = full_hdr[name]["shape"][0]
            cols = len(x) // rows
            if dtype == "int8":
                q, sc = array.array("b", raw[name]), array.array("f", raw[name + ".scale"])
                expect(hdr[name + ".scale"] == {**hdr[name + ".scale"], "dtype": "F32",
                                                "shape": [rows]}, f"{name}.scale header")
                y = [q[i] * sc[i // cols] for i in range(len(q))]
            elif dtype == "f16":
                y = list(struct.unpack(f"<{len(x)}e", raw[name]))
            else:
                y = list(array.array("f", raw[name]))
            for r in range(rows):
                amax = max(abs(v) for v in x[r * cols:(r + 1) * cols])
                bound = {"f32": 0.0, "f16": amax * 2 ** -11, "int8": amax / 254 * 1.00001}[dtype]
                worst = max(abs(a - b) for a, b in zip(x[r * cols:(r + 1) * cols],
                                                      y[r * cols:(r + 1) * cols]))
                if worst > bound:
                    expect(False, f"export {dtype}: {name} row {r} off by {worst} > {bound}")
                    break
        expect(rounded >= 2, f"export {dtype}: {rounded} matrices checked")
        for name in ("lstm.bias_ih_l0", "head.weight", "head.bias"):
            expect(hdr[name]["dtype"] == "F32" and raw[name] == full[name],
                   f"export {dtype}: {name} stays F32")
        rc, got, _ = expect_exit(0, ["predict", "--model", out_path, "--input", f["inputs"]])
        diff = max(abs(a - b) for p, q in zip(probabilities(want), probabilities(got))
                   for a, b in zip(p, q))
        expect(len(got.splitlines()) == len(want.splitlines()) and
               diff <= {"f32": 0.0, "f16": 2e-4, "int8": 1e-2}[dtype],
               f"export {dtype}: predictions move by {diff}: {want!r} -> {got!r}")
        expect_exit(0, ["eval", "--model", out_path, "--data", f["valid"], "--threads", "1"])
        expect_exit(2, ["finetune", "--init", out_path, "--train", f["train"], "--out",
                        os.path.join(d, "again.st"), "--epochs", "1"], "inference export",
                    last_line_only=True)
        expect_exit(2, ["pretrain", "--init", out_path, "--corpus", f["corpus"], "--out",
                        os.path.join(d, "again.st"), "--steps", "1"], "inference export",
                    last_line_only=True)
    expect(sizes["int8"] < sizes["f16"] < sizes["f32"] < sizes["full"], f"export sizes {sizes}")
    # an export exports again (here to int8 from f16)
    expect_exit(0, ["export", "--model", os.path.join(d, "clf-f16.safetensors"), "--out",
                    os.path.join(d, "re.safetensors")])
    # usage and data errors
    expect_exit(1, ["export", "--model", clf, "--out", os.path.join(d, "x.st"), "--dtype", "int4"],
                "int4")
    expect_exit(1, ["export", "--model", clf], "--out")
    expect_exit(1, ["export", "--model", clf, "--out", os.path.join(d, "x.st"), "--min-elements",
                    "0"], "--min-elements")
    every = os.path.join(d, "every.safetensors")
    expect_exit(0, ["export", "--model", clf, "--out", every, "--min-elements", "1"])
    hdr = safetensors_header(every)
    expect(hdr["head.weight"]["dtype"] == "I8" and hdr["head.bias"]["dtype"] == "F32" and
           hdr["head.weight.scale"]["shape"] == [hdr["head.weight"]["shape"][0]],
           f"--min-elements 1: {hdr['head.weight']}")
    expect_exit(2, ["export", "--model", os.path.join(d, "none.st"), "--out",
                    os.path.join(d, "x.st")], "none.st")
    expect_exit(2, ["export", "--model", f["corrupt"], "--out", os.path.join(d, "x.st")],
                "corrupt.safetensors")
    expect_exit(2, ["export", "--model", clf, "--out", os.path.join(d, "no-dir", "x.st")], "no-dir")
    lm = os.path.join(d, "lm.safetensors")
    expect_exit(0, PRE + ["--corpus", f["corpus"], "--out", lm, "--steps", "2"])
    expect_exit(2, ["export", "--model", lm, "--out", os.path.join(d, "x.st")],
                "not a fine-tuned model")


def case_init_embeddings(d, f):
    """--init-embeddings: the words of a .vec file found in the vocabulary are counted on
    stderr; a file of another dimension exits 2; with --init it is a usage error."""
    vec = os.path.join(d, "words.vec")
    with open(vec, "w") as fh:
        fh.write("4 8\r\n")
        for w in ("meeting", "free", "zzzunknown", "money"):
            fh.write(w + " " + " ".join(["0.125"] * 8) + "\r\n")
    out = os.path.join(d, "m.st")
    _, _, err = expect_exit(0, PRE + ["--corpus", f["corpus"], "--steps", "2", "--out", out,
                                      "--init-embeddings", vec])
    m = re.search(r"(\d+) of (\d+) words found", err)
    expect(m is not None and m.group(1) == "3", f"pretrain --init-embeddings: {err!r}")
    _, _, err = expect_exit(0, FT + ["--train", f["train"], "--epochs", "1", "--out", out,
                                     "--init-embeddings", vec])
    expect("3 of" in err, f"finetune --init-embeddings: {err!r}")
    with open(vec, "w") as fh:
        fh.write("free 1 2 3\n")
    expect_exit(2, PRE + ["--corpus", f["corpus"], "--steps", "2", "--out", out, "--init-embeddings", vec],
                "3 values", last_line_only=True)
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--init", out, "--out", out, "--init-embeddings", vec],
                "--init-embeddings")


# Numeric sequences: F features per step; class "up" ramps up, "down" ramps down, each feature
# at its own scale (mean 10 * (f + 1), spread f + 1), so standardisation matters.
NUM_F = 3


def num_sequence(rng, label):
    steps = rng.randint(4, 9)
    slope = 0.4 if label == "up" else -0.4
    return [10.0 * (f + 1) + (f + 1) * (slope * t + rng.gauss(0, 0.3))
            for t in range(steps) for f in range(NUM_F)]


def write_numeric(d):
    rng = random.Random(5)
    files = {}
    for name, n, labelled in (("unlabeled", 200, False), ("train", 60, True), ("valid", 40, True)):
        files[name] = os.path.join(d, f"num-{name}.csv")
        rows = []
        with open(files[name], "w") as fh:
            for i in range(n):
                label = "up" if i % 2 else "down"
                values = num_sequence(rng, label)
                rows.append((label, values))
                fh.write((label + "," if labelled else "") + ",".join(f"{v:g}" for v in values)
                         + "\n")
        files[name + "_rows"] = rows
    return files


def meta_stats(path):
    """The standardisation a model file records: (mean, std) lists, or None."""
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        meta = json.loads(fh.read(n)).get("__metadata__", {})
    v = meta.get("libtransfer.standardization")
    return None if v is None else (json.loads(v)["mean"], json.loads(v)["std"])


def case_numeric(d, f):
    """--format csv end to end: pre-training saves the statistics of its data, fine-tuning from
    it keeps them, from scratch learns those of --train (checked against numbers computed here);
    eval and predict standardise with them, so predict's labels give eval's accuracy."""
    n = write_numeric(d)
    lm, clf, scratch = (os.path.join(d, x) for x in ("lm.st", "clf.st", "scratch.st"))
    arch = ["--emb", "8", "--hidden", "16", "--threads", "1", "--seed", "3"]
    rc, out, err = expect_exit(0, ["pretrain", "--format", "csv", "--features", NUM_F, "--corpus",
                                   n["unlabeled"], "--out", lm, "--epochs", "2", "--batch", "8"]
                               + arch)
    expect(re.fullmatch(r"steps=\d+ train_loss=\d+\.\d{4} valid_mse=\d+\.\d{4} seconds=\S+\n",
                        out) is not None, f"numeric pretrain summary {out!r}")
    expect("numeric sequences of 3 features" in err, f"numeric pretrain stderr {err!r}")
    expect(re.search(r"^epoch +train_loss +valid_mse +time$", err, re.M) is not None,
           f"numeric pretrain: the epoch table names its validation column valid_mse: {err!r}")
    lm_stats = meta_stats(lm)
    expect(lm_stats is not None and len(lm_stats[0]) == NUM_F, f"pretrain: statistics {lm_stats}")
    # the means of the (95% of) training lines: near each feature's centre, 10 * (f + 1)
    for i in range(NUM_F):
        expect(lm_stats is not None and abs(lm_stats[0][i] - 10.0 * (i + 1)) < 0.5 * (i + 1),
               f"pretrain: mean of feature {i} is {lm_stats and lm_stats[0][i]}")
    rc, out, err = expect_exit(0, ["finetune", "--format", "csv", "--init", lm, "--train",
                                   n["train"], "--valid", n["valid"], "--out", clf, "--epochs", "6",
                                   "--batch", "8", "--threads", "1", "--seed", "3"])
    expect(meta_stats(clf) == lm_stats, "finetune --init: the statistics are not the model's")
    # from scratch: the statistics of every --train value (population std), computed here
    expect_exit(0, ["finetune", "--format", "csv", "--features", NUM_F, "--train", n["train"],
                    "--valid", n["valid"], "--out", scratch, "--epochs", "2", "--batch", "8"]
                + arch)
    # --no-valid: every line trains, every epoch runs, the last one's weights are kept
    rc, out, err = expect_exit(0, ["finetune", "--format", "csv", "--init", lm, "--train",
                                   n["train"], "--no-valid", "--out", os.path.join(d, "nv.st"),
                                   "--epochs", "3", "--batch", "8", "--threads", "1"])
    expect(re.match(r"epochs=3 best_epoch=-1 valid_accuracy=nan ", out) is not None,
           f"finetune --no-valid summary {out!r}")
    expect("60 training and 0 validation sequences" in err, f"finetune --no-valid: {err!r}")
    got = meta_stats(scratch)
    for i in range(NUM_F):
        col = [v[t * NUM_F + i] for _, v in n["train_rows"] for t in range(len(v) // NUM_F)]
        mean = sum(col) / len(col)
        std = (sum((x - mean) ** 2 for x in col) / len(col)) ** 0.5
        expect(got is not None and abs(got[0][i] - mean) <= 1e-5 * abs(mean)
               and abs(got[1][i] - std) <= 1e-4 * std,
               f"scratch: feature {i}: {got and (got[0][i], got[1][i])} != ({mean}, {std})")
    rc, out, err = expect_exit(0, ["eval", "--model", clf, "--data", n["valid"], "--threads", "1"])
    m = re.match(r"accuracy=(\d\.\d{4}) macro_f1=\S+ loss=\S+\n", out)
    expect(m is not None and float(m.group(1)) >= 0.9, f"numeric eval: {out!r}")
    # --format csv is the default for a numeric model; --features must be the model's
    rc2, out2, _ = expect_exit(0, ["eval", "--model", clf, "--data", n["valid"], "--features",
                                   NUM_F, "--format", "csv", "--threads", "1"])
    expect(out2 == out, "eval with --format csv --features 3 differs from the default")
    # predict: labelled lines (valid.csv itself), unlabelled ones and blank ones
    inputs = os.path.join(d, "num-inputs.csv")
    rows = n["valid_rows"]
    with open(inputs, "w") as fh:
        for label, values in rows:
            fh.write(label + "," + ",".join(f"{v:g}" for v in values) + "\n")
        fh.write("\n")
        fh.write(" , ".join(f"{v:g}" for v in rows[0][1]) + "\r\n")
    rc, out, err = expect_exit(0, ["predict", "--model", clf, "--input", inputs, "--threads", "1"])
    lines = out.split("\n")
    expect(len(lines) == len(rows) + 3 and lines[-1] == "" and lines[len(rows)] == "",
           f"numeric predict: {len(lines)} lines for {len(rows) + 2} inputs")
    right = sum(1 for (label, _), line in zip(rows, lines) if line.split("\t")[0] == label)
    expect(m is not None and abs(right / len(rows) - float(m.group(1))) < 1e-4,
           f"predict gets {right}/{len(rows)} right, eval says {m and m.group(1)}")
    expect(lines[len(rows) + 1] == lines[0],
           "the same sequence without its label and with spaces predicted differently: "
           f"{lines[len(rows) + 1]!r} != {lines[0]!r}")
    for line in lines[:len(rows)]:
        probs = [float(x.split("=")[1]) for x in line.split("\t")[1:]]
        expect(len(probs) == 2 and abs(sum(probs) - 1) < 2e-3, f"predict line {line!r}")


def case_numeric_errors(d, f):
    """Numeric data: usage errors exit 1, bad data (wrong feature count, non-numeric field,
    NaN, empty sequence, ragged rows, a model of another kind) exit 2 naming file and line."""
    n = write_numeric(d)
    out = os.path.join(d, "never.st")
    lm = os.path.join(d, "lm.st")
    arch = ["--emb", "4", "--hidden", "6", "--threads", "1"]
    pre = ["pretrain", "--format", "csv", "--out", out]
    expect_exit(1, pre + ["--corpus", n["unlabeled"]], "--features")
    expect_exit(1, pre + ["--corpus", n["unlabeled"], "--features", "0"], "--features")
    expect_exit(1, pre + ["--corpus", n["unlabeled"], "--corpus", n["unlabeled"], "--features",
                          "3"], "one --corpus")
    for flag, value in (("--vocab-size", "50"), ("--tokenizer", "bpe"), ("--bptt", "8")):
        expect_exit(1, pre + ["--corpus", n["unlabeled"], "--features", "3", flag, value], flag)
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--out", out, "--features", "3"],
                "--format csv")
    expect_exit(1, ["pretrain", "--corpus", f["corpus"], "--out", out, "--format", "tsv"],
                "--format")
    expect_exit(1, ["finetune", "--format", "csv", "--train", n["train"], "--out", out], "--features")
    expect_exit(1, ["finetune", "--format", "csv", "--features", "3", "--train", n["train"],
                    "--out", out, "--multi-label"], "--multi-label")
    expect_exit(1, ["finetune", "--format", "csv", "--features", "3", "--train", n["train"],
                    "--valid", n["valid"], "--no-valid", "--out", out], "--no-valid")
    expect_exit(1, ["finetune", "--train", f["train"], "--patience", "2", "--no-valid", "--out",
                    out], "--no-valid")
    bad = {
        "count": ("up,1,2,3,4,5,6\ndown,1,2,3,4\n", ":2:", "need a multiple of 3"),
        "text": ("up,1,2,3\ndown,1,2,x\n", ":2:", "not a finite number"),
        "nan": ("up,1,2,3\ndown,1,nan,3\n", ":2:", "not a finite number"),
        "inf": ("up,1,2,3\ndown,1,2,-inf\n", ":2:", "not a finite number"),
        "empty": ("up,1,2,3\ndown,\n", ":2:", "not a finite number"),
        "nolabel": ("up,1,2,3\n1,2,3\n", ":2:", "need a multiple of 3"),
        "ragged": ("up,1,2,3,4,5,6\ndown,1,2,3,4,5,6,7,8\n", ":2:", "need a multiple of 3"),
    }
    for name, (content, where, why) in bad.items():
        path = os.path.join(d, f"bad-{name}.csv")
        with open(path, "w") as fh:
            fh.write(content * 1)
        _, _, err = expect_exit(2, ["finetune", "--format", "csv", "--features", "3", "--train",
                                    path, "--valid", n["valid"], "--out", out] + arch,
                                f"bad-{name}.csv{where}")
        expect(why in err, f"finetune on bad-{name}.csv: {why!r} not in {err!r}")
        _, _, err = expect_exit(2, pre + ["--corpus", path, "--features", "3"] + arch,
                                f"bad-{name}.csv")
    # a held-out line of --train is read as data too: a NaN there is an error, not skipped
    mixed = os.path.join(d, "bad-heldout.csv")
    with open(mixed, "w") as fh:
        for label, values in n["train_rows"]:
            fh.write(label + "," + ",".join(f"{v:g}" for v in values) + "\n")
        for i in range(20):
            fh.write(f"up,1,2,nan,{i},5,6\n")
    expect_exit(2, ["finetune", "--format", "csv", "--features", "3", "--train", mixed, "--out",
                    out] + arch, "bad-heldout.csv")
    expect(not os.path.exists(out), "a failed numeric run wrote its output")
    # models of the other kind, and --features that is not the model's
    expect_exit(0, pre[:-2] + ["--out", lm, "--corpus", n["unlabeled"], "--features", "3",
                               "--steps", "2"] + arch)
    clf = os.path.join(d, "clf.st")
    expect_exit(0, ["finetune", "--format", "csv", "--init", lm, "--train", n["train"], "--out",
                    clf, "--epochs", "1", "--threads", "1"])
    expect_exit(2, ["finetune", "--format", "csv", "--init", lm, "--features", "4", "--train",
                    n["train"], "--out", out], "4")
    expect_exit(2, ["finetune", "--init", lm, "--train", f["train"], "--out", out],
                "numeric")
    text_lm = os.path.join(d, "text-lm.st")
    expect_exit(0, PRE + ["--corpus", f["corpus"], "--steps", "2", "--out", text_lm])
    expect_exit(2, pre + ["--corpus", n["unlabeled"], "--init", text_lm], "text-lm.st: a text model")
    expect_exit(2, ["eval", "--model", clf, "--data", n["valid"], "--features", "4"],
                "the model has 3 features")
    expect_exit(2, ["eval", "--model", clf, "--data", f["valid"], "--format", "text"], "numeric")
    text_clf = os.path.join(d, "text.st")
    expect_exit(0, FT + ["--train", f["train"], "--epochs", "1", "--out", text_clf])
    expect_exit(2, ["eval", "--model", text_clf, "--data", n["valid"], "--format", "csv"],
                "text model")
    expect_exit(2, ["predict", "--model", text_clf, "--input", n["valid"], "--format", "csv"],
                "text model")
    for content, why in (("1,2,3,4,5\n", "need a multiple of 3"), ("1,2,nan\n", "value 3"),
                         ("up,1,x,3\n", "value 2"), ("up,\n", "value 1")):
        path = os.path.join(d, "bad-input.csv")
        with open(path, "w") as fh:
            fh.write("1,2,3\n" + content)
        _, _, err = expect_exit(2, ["predict", "--model", clf, "--input", path], "bad-input.csv:2: ")
        expect(why in err, f"predict on {content!r}: {why!r} not in {err!r}")
# ---- tftrain explain -------------------------------------------------------------------------

EXPLAIN_INPUTS = ["free money offer now click win prize",
                  "",
                  "team meeting report thanks & <script>alert('x')</script> kernel patch",
                  "win cash credit loan deal now"]


class ReportParser(html.parser.HTMLParser):
    """The sections of an explanation page: each one's prediction line, tokens (text, value,
    colour) and original text; any script, link or external reference is counted."""

    def __init__(self):
        super().__init__()
        self.sections, self.tag_stack, self.external, self.scripts = [], [], [], 0
        self.span = None
        self.cls = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tag_stack.append(tag)
        if tag in ("script", "link", "iframe", "img", "object", "embed"):
            self.scripts += 1
        for k, v in attrs:
            if v and ("http:" in v or "https:" in v or "//" in v.replace("data-a", "")) \
                    and k != "title":
                self.external.append((tag, k, v))
        if tag == "section":
            self.sections.append({"pred": "", "tokens": [], "orig": ""})
        elif tag == "p" and self.sections:
            self.cls = a.get("class")
        elif tag == "span" and "data-a" in a:
            m = re.match(r"background: rgba\((\d+), (\d+), (\d+), ([\d.]+)\)$", a.get("style", ""))
            self.span = {"text": "", "a": float(a["data-a"]), "title": a.get("title", ""),
                         "rgb": tuple(int(x) for x in m.groups()[:3]) if m else None,
                         "alpha": float(m.group(4)) if m else None, "unk": "unk" in a["class"]}

    def handle_endtag(self, tag):
        if self.tag_stack:
            self.tag_stack.pop()
        if tag == "span" and self.span is not None:
            self.sections[-1]["tokens"].append(self.span)
            self.span = None
        elif tag == "p":
            self.cls = None

    def handle_data(self, data):
        if self.span is not None:
            self.span["text"] += data
        elif self.sections and self.cls in ("pred", "orig"):
            self.sections[-1][self.cls] += data


def model_tokens(vocab, line):
    """The tokens the model sees, computed here: lower-cased ASCII words, each punctuation
    character its own token, words outside the vocabulary as <unk>."""
    toks = re.findall(r"[a-z0-9]+|[^\sa-z0-9]", line.lower())
    return [t if t in vocab else "<unk>" for t in toks]


def write_explain_inputs(d):
    path = os.path.join(d, "explain-inputs.txt")
    with open(path, "w") as fh:
        fh.write("\n".join(EXPLAIN_INPUTS) + "\n")
    return path


def explain_model(d, f):
    clf = os.path.join(d, "clf.safetensors")
    expect_exit(0, ["finetune", "--train", f["train"], "--valid", f["valid"], "--out", clf,
                    "--epochs", "4", "--batch", "8", "--lr", "0.02"] + SMALL)
    return clf


def case_explain(d, f):
    clf = explain_model(d, f)
    inputs = write_explain_inputs(d)
    report = os.path.join(d, "report.html")
    rc, out, err = expect_exit(0, ["explain", "--model", clf, "--input", inputs, "--out", report,
                                   "--steps", "64", "--threads", "1"])
    m = re.fullmatch(r"texts=3 max_gap=(\d+\.\d{6}) out=(.*)\n", out)
    expect(m is not None and m.group(2) == report, f"explain summary {out!r}")
    raw = open(report, encoding="utf-8").read()
    expect("<script" not in raw.lower(), "the page holds a <script> element")
    expect("&lt;script&gt;" in raw and "&amp;" in raw and "&#39;x&#39;" in raw,
           "the input's markup characters are not escaped")
    expect(not os.path.exists(report + ".tmp"), "the temporary page was left behind")
    page = ReportParser()
    page.feed(raw)
    expect(page.scripts == 0 and not page.external,
           f"the page loads something: {page.scripts} elements, {page.external}")
    vocab = set(vocab_tokens(safetensors_header(clf)))
    texts = [t for t in EXPLAIN_INPUTS if t]
    expect(len(page.sections) == 3, f"{len(page.sections)} sections for 3 texts")
    rc, pred_out, _ = expect_exit(0, ["predict", "--model", clf, "--input", inputs])
    preds = [l for l in pred_out.split("\n") if l]
    for sec, line, pred in zip(page.sections, texts, preds):
        want = model_tokens(vocab, line)
        got = [t["text"] for t in sec["tokens"]]
        expect(got == want, f"tokens {got} != {want}")
        expect(sec["orig"] == line, f"original text {sec['orig']!r} != {line!r}")
        label = pred.split("\t")[0]
        probs = dict(re.findall(r"p\((\w+)\)=(\d\.\d{4})", pred))
        pm = re.search(r"predicted (\w+) \(p = (\d\.\d{4})\)\. Explaining (\w+): p = (\d\.\d{4}) "
                       r"for the text, (\d\.\d{4}) for the baseline; the tokens' shares sum to "
                       r"([-+]\d\.\d{4}) \(gap (\S+)\)", sec["pred"])
        expect(pm is not None, f"prediction line {sec['pred']!r}")
        if pm is None:
            continue
        expect(pm.group(1) == label and pm.group(2) == probs[label] and pm.group(3) == label,
               f"prediction line {sec['pred']!r} against predict's {pred!r}")
        fx, fb, total, gap = (float(pm.group(i)) for i in (4, 5, 6, 7))
        values = [t["a"] for t in sec["tokens"]]
        expect(abs(sum(values) - total) < 2e-4, f"token values sum to {sum(values)}, not {total}")
        # the gap is the shares' sum minus f(x) - f(b) (completeness itself is the library's
        # test: a model this small and this quickly trained can be steep along the path)
        expect(abs(gap - (total - (fx - fb))) <= 3e-4 + 0.06 * abs(gap),
               f"gap {gap} against shares {total} and f(x) - f(b) = {fx - fb}")
        expect(abs(gap) <= float(m.group(1)) + 1e-6 if m else False, "gap above max_gap")
        top = max(abs(v) for v in values)
        for t in sec["tokens"]:
            colour = (214, 39, 40) if t["a"] >= 0 else (31, 119, 180)
            expect(t["rgb"] == colour, f"token {t['text']!r} ({t['a']}) coloured {t['rgb']}")
            expect(abs(t["alpha"] - 0.85 * abs(t["a"]) / top) < 2e-3,
                   f"token {t['text']!r}: opacity {t['alpha']} for {t['a']} of {top}")
            expect(t["title"] == f"{label} {t['a']:+.4f}", f"tooltip {t['title']!r}")
            expect(t["unk"] == (t["text"] == "<unk>"), f"unk class of {t['text']!r}")
    # both signs occur, so the page shows red and blue
    signs = {v["a"] > 0 for s in page.sections for v in s["tokens"] if v["a"] != 0}
    expect(signs == {True, False}, "the attributions all have one sign")
    # a chosen class, the other rule and baselines
    rc, out, _ = expect_exit(0, ["explain", "--model", clf, "--input", inputs, "--out", report,
                                 "--class", "spam", "--steps", "8", "--rule", "trapezoid",
                                 "--baseline", "unk"])
    page = ReportParser()
    page.feed(open(report, encoding="utf-8").read())
    expect(all("Explaining spam:" in s["pred"] for s in page.sections), "--class spam ignored")
    expect("8 trapezoid steps from the embedding of &lt;unk&gt;" in open(report).read(),
           "the method line does not name the rule and baseline")
    unk = [t for s in page.sections for t in s["tokens"] if t["unk"]]
    expect(unk and all(t["a"] == 0 for t in unk), "<unk> tokens are not exactly 0 with the unk "
           "baseline")
    # refusals
    lm = os.path.join(d, "lm.safetensors")
    expect_exit(0, ["pretrain", "--corpus", f["corpus"], "--out", lm, "--steps", "2", "--bptt",
                    "8", "--batch", "4"] + SMALL)
    expect_exit(2, ["explain", "--model", lm, "--input", inputs, "--out", report],
                "not a fine-tuned model")
    expect_exit(1, ["explain", "--model", clf, "--input", inputs, "--out", report, "--class",
                    "eggs"], "eggs")
    expect_exit(1, ["explain", "--model", clf, "--input", inputs, "--out", report, "--steps",
                    "0"], "--steps")
    expect_exit(1, ["explain", "--model", clf, "--input", inputs, "--out", report, "--rule",
                    "simpson"], "simpson")
    expect_exit(1, ["explain", "--model", clf, "--input", inputs, "--out", report,
                    "--baseline", "mean"], "mean")
    expect_exit(1, ["explain", "--model", clf, "--input", inputs], "--out")
    expect_exit(2, ["explain", "--model", clf, "--input", os.path.join(d, "none.txt"), "--out",
                    report], "none.txt")
    expect_exit(2, ["explain", "--model", clf, "--input", inputs, "--out",
                    os.path.join(d, "no-dir", "r.html")], "no-dir")


def png_pixels(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG, decoded here."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = (int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big"),
                                  body[8], body[9])
            assert depth == 8 and ctype in (2, 6) and body[12] == 0, "not 8-bit RGB(A), interlaced"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def case_explain_browser(d, f):
    """The page in a real browser: Debian's chromium renders it (a screenshot with red and blue
    token highlights) and its DOM holds every token."""
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("TF_TEST_REQUIRE_CHROMIUM"):
            expect(False, "chromium is not installed (scripts/deps --test installs it)")
            return
        print("SKIP: chromium is not installed; the explanation page was not rendered")
        sys.exit(77)
    clf = explain_model(d, f)
    inputs = write_explain_inputs(d)
    report = os.path.join(d, "report.html")
    expect_exit(0, ["explain", "--model", clf, "--input", inputs, "--out", report])
    shot = os.path.join(d, "report.png")
    profile = os.path.join(d, "chromium-profile")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--no-first-run", f"--user-data-dir={profile}"]
    url = "file://" + os.path.abspath(report)
    p = subprocess.run(common + [f"--screenshot={shot}", "--window-size=1000,800", url],
                       capture_output=True, text=True, timeout=120)
    expect(p.returncode == 0 and os.path.exists(shot), f"chromium screenshot failed: {p.stderr}")
    if os.path.exists(shot):
        w, h, rows = png_pixels(shot)
        expect((w, h) == (1000, 800), f"screenshot is {w}x{h}")
        # below the legend (its two sample colours end near y = 140): the tokens' highlights
        body = rows[180:]
        red = sum(1 for r in body for (R, G, B) in r if R > G + 20 and R > B + 20)
        blue = sum(1 for r in body for (R, G, B) in r if B > R + 15 and B >= G)
        dark = sum(1 for r in body for (R, G, B) in r if R + G + B < 200)
        expect(red > 100 and blue > 100 and dark > 500,
               f"the screenshot shows {red} red, {blue} blue and {dark} text pixels")
    p = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    expect(p.returncode == 0, f"chromium --dump-dom failed: {p.stderr}")
    dom = ReportParser()
    dom.feed(p.stdout)
    vocab = set(vocab_tokens(safetensors_header(clf)))
    texts = [t for t in EXPLAIN_INPUTS if t]
    expect(len(dom.sections) == len(texts), f"the DOM has {len(dom.sections)} sections")
    for sec, line in zip(dom.sections, texts):
        got = [t["text"] for t in sec["tokens"]]
        expect(got == model_tokens(vocab, line), f"DOM tokens {got} for {line!r}")
        expect(sec["orig"] == line, f"DOM text {sec['orig']!r} != {line!r}")
    expect(dom.scripts == 0, "the rendered DOM holds a script element")


def write_idx(path, dims, data):
    """An IDX file of unsigned bytes: magic 0x0000 08 ndim, big-endian sizes, the data."""
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x800 | len(dims)) + b"".join(struct.pack(">I", n) for n in dims))
        f.write(bytes(data))
    return path


def write_images(d, name, n, rows=6, cols=4, seed=1):
    """n images of rows x cols: label 1 has its bright half at the bottom, label 0 at the top."""
    rng = random.Random(seed)
    px, labels = [], []
    for i in range(n):
        lab = i % 2
        labels.append(lab)
        for r in range(rows):
            bright = (r >= rows // 2) == (lab == 1)
            px += [(160 if bright else 0) + rng.randrange(60) for _ in range(cols)]
    return (write_idx(os.path.join(d, f"{name}-images"), [n, rows, cols], px),
            write_idx(os.path.join(d, f"{name}-labels"), [n], labels))


def case_images(d, files):
    """--format idx: next-row pre-training on images without labels, fine-tuning on a
    class-balanced subset (--per-class), eval on other images; the errors of image files."""
    tr_img, tr_lab = write_images(d, "train", 80, seed=1)
    te_img, te_lab = write_images(d, "test", 40, seed=2)
    lm = os.path.join(d, "img-lm.safetensors")
    clf = os.path.join(d, "img-clf.safetensors")
    small = ["--emb", "8", "--hidden", "16", "--threads", "1"]
    _, out, err = expect_exit(0, ["pretrain", "--format", "idx", "--corpus", tr_img, "--out", lm,
                                  "--steps", "60", "--batch", "16"] + small)
    expect("numeric sequences of 4 features" in err, f"pretrain on images: {err!r}")
    expect("valid_mse=" in out, f"pretrain summary: {out!r}")
    # the first 10 images of each label: 20 in all, training and held-out together
    _, out, err = expect_exit(0, ["finetune", "--format", "idx", "--init", lm, "--train", tr_img,
                                  "--labels", tr_lab, "--per-class", "10", "--epochs", "15",
                                  "--batch", "8", "--out", clf, "--threads", "1"])
    m = re.search(r"2 classes, (\d+) training and (\d+) validation sequences", err)
    expect(m is not None and int(m.group(1)) + int(m.group(2)) == 20,
           f"finetune --per-class 10 on 2 labels: {err!r}")
    _, out, _ = expect_exit(0, ["eval", "--format", "idx", "--model", clf, "--data", te_img,
                                "--labels", te_lab, "--threads", "1"])
    acc = float(re.search(r"accuracy=([0-9.]+)", out).group(1))
    expect(acc >= 0.9, f"eval on images: accuracy {acc} (bands at the top or bottom)")
    # the head's input: two of the three poolings of 16 states make 32 features, not 48
    pooled = os.path.join(d, "img-pooled.safetensors")
    expect_exit(0, ["finetune", "--format", "idx", "--init", lm, "--train", tr_img, "--labels",
                    tr_lab, "--per-class", "10", "--epochs", "2", "--batch", "4", "--strategy", "frozen",
                    "--pooling", "max,mean", "--weight-decay", "0", "--out", pooled,
                    "--threads", "1"])
    shape = safetensors_header(pooled)["head.weight"]["shape"]
    expect(shape[-1] == 32, f"--pooling max,mean: head.weight {shape}")
    # --keep-head: the trained head goes on (at a negligible rate its weights stay the
    # classifier's); without it a new head starts from random weights (another seed's)
    def head_of(model):
        hdr = safetensors_header(model)
        begin, end = hdr["head.weight"]["data_offsets"]
        with open(model, "rb") as fh:
            fh.seek(8 + struct.unpack("<Q", fh.read(8))[0] + begin)
            raw = fh.read(end - begin)
        return struct.unpack(f"<{len(raw) // 4}f", raw)
    base = head_of(clf)
    for keep in (1, 0):
        again = os.path.join(d, f"img-again{keep}.safetensors")
        expect_exit(0, ["finetune", "--format", "idx", "--init", clf, "--train", tr_img,
                        "--labels", tr_lab, "--per-class", "10", "--epochs", "2", "--batch", "4",
                        "--lr", "1e-9", "--no-valid", "--seed", "7", "--out", again,
                        "--threads", "1"] + (["--keep-head"] if keep else []))
        moved = max(abs(a - b) for a, b in zip(head_of(again), base))
        expect((moved < 1e-6) == bool(keep), f"--keep-head {keep}: head weights moved by {moved}")
    # a classifier from scratch, validated on other images
    expect_exit(0, ["finetune", "--format", "idx", "--train", tr_img, "--labels", tr_lab,
                    "--valid", te_img, "--valid-labels", te_lab, "--epochs", "1", "--out",
                    os.path.join(d, "img-scratch.safetensors")] + small)
    # usage errors
    expect_exit(1, ["finetune", "--format", "idx", "--train", tr_img, "--out", clf], "--labels")
    expect_exit(1, ["finetune", "--format", "idx", "--train", tr_img, "--labels", tr_lab,
                    "--valid", te_img, "--out", clf], "--valid-labels")
    expect_exit(1, ["finetune", "--train", files["train"], "--per-class", "3", "--out", clf],
                "--per-class")
    for bad in ("mean,mean", "first", "", "last,"):
        expect_exit(1, ["finetune", "--format", "idx", "--init", lm, "--train", tr_img,
                        "--labels", tr_lab, "--pooling", bad, "--out", clf], "--pooling")
    for bad in ("-1", "nan", "1"):
        expect_exit(1, ["finetune", "--format", "idx", "--init", lm, "--train", tr_img,
                        "--labels", tr_lab, "--weight-decay", bad, "--out", clf], "--weight-decay")
    expect_exit(1, ["finetune", "--format", "idx", "--train", tr_img, "--labels", tr_lab,
                    "--keep-head", "--out", clf], "--keep-head")
    expect_exit(1, ["eval", "--format", "idx", "--model", clf, "--data", te_img], "--labels")
    expect_exit(1, ["predict", "--format", "idx", "--model", clf, "--input", te_img], "eval")
    # data errors name the file
    gz = os.path.join(d, "images.gz")
    with open(gz, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + bytes(16))
    expect_exit(2, ["pretrain", "--format", "idx", "--corpus", gz, "--out", lm + "2"], "gzip")
    wide_img, wide_lab = write_images(d, "wide", 20, cols=5)
    expect_exit(2, ["eval", "--format", "idx", "--model", clf, "--data", wide_img, "--labels",
                    wide_lab], "5 columns")
    expect_exit(2, ["eval", "--format", "idx", "--model", clf, "--data", te_img, "--labels",
                    tr_lab], "80 labels for the 40 images")
    cut = write_idx(os.path.join(d, "cut-images"), [40, 6, 4], [0] * 100)
    expect_exit(2, ["eval", "--format", "idx", "--model", clf, "--data", cut, "--labels", te_lab],
                "truncated")
    bad_lab = write_idx(os.path.join(d, "bad-labels"), [40], [7] * 40)
    expect_exit(2, ["eval", "--format", "idx", "--model", clf, "--data", te_img, "--labels",
                    bad_lab], "label 7")


if __name__ == "__main__":
    TFTRAIN, work, case = sys.argv[1], sys.argv[2], sys.argv[3]
    CPP = sys.argv[4] if len(sys.argv) > 4 else None
    work = os.path.join(work, case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    files = write_data(work)
    globals()["case_" + case](work, files)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
