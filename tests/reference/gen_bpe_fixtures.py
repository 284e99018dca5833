#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference for libtransfer's byte-level BPE, written independently of the C code from the rules
in include/transfer/data.h: writes a small corpus (fixtures/bpe_corpus.txt) and, for two
configurations, the merges BPE learns on it and the ids and decoded text of a few encodings
(fixtures/bpe_expected.txt). Plain Python (no third-party packages); the output is committed and
the C test (tests/unit/data/test_bpe.c) compares against it, so CI never runs this.

Run: /usr/bin/python3 tests/reference/gen_bpe_fixtures.py
"""
import collections
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
SPECIALS = [b"<pad>", b"<unk>", b"<bos>", b"<eos>"]
NUM_SPECIALS = 4
CHUNK = 64

# (lowercase, split_punct, min_count, max_size); the last runs until no pair repeats and meets
# merges that would spell "<pad>", which are refused.
CONFIGS = [(1, 1, 1, 400), (0, 0, 3, 330), (0, 0, 2, 0)]

ENCODE = [
    "The walkers walked and talked, un-walkable!",
    "  Caf\u00c9   r\u00e9sum\u00e9\tNA\u00cfVE  \u00fcber-talking <pad> zyzzyva 42 ",
    "supercalifragilisticexpialidocious" * 3,
    "",
]


def corpus_lines():
    rng = random.Random(7)
    stems = ["walk", "talk", "jump", "play", "work", "read", "spam", "mail", "offer", "money"]
    suffixes = ["", "", "s", "ed", "ing", "er", "ers", "able"]
    extra = ["the", "The", "a", "and", "of", "FREE", "caf\u00e9", "r\u00e9sum\u00e9", "na\u00efve",
             "\u00fcber", "se\u00f1or", "<pad>", "<unk>", "2024", "42", "x"]
    punct = [",", ".", "!", "?", "--", "'s", "(", ")"]
    lines = []
    for i in range(240):
        words = []
        for _ in range(rng.randint(4, 12)):
            r = rng.random()
            if r < 0.55:
                w = rng.choice(stems) + rng.choice(suffixes)
                if rng.random() < 0.15:
                    w = w.capitalize()
            elif r < 0.85:
                w = rng.choice(extra)
            else:
                w = rng.choice(punct)
            if rng.random() < 0.2:
                w += rng.choice(punct)
            words.append(w)
        if i % 40 == 5:
            words.append("supercalifragilisticexpialidocious" * 3)
        sep = "  " if i % 17 == 0 else " "
        lines.append(sep.join(words))
        if i % 50 == 0:
            lines.append("")
    return lines


def normalise(text, lower):
    text = unicodedata.normalize("NFKC", text)
    return unicodedata.normalize("NFKC", text.casefold()) if lower else text


def is_space(ch):
    return ord(ch) <= 0x20 or ord(ch) == 0x7F or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc")


def is_punct(ch):
    return unicodedata.category(ch)[0] in "PS"


def pretokens(text, lower, split_punct):
    """Words and punctuation; a token after whitespace (not the first) starts with a space."""
    toks, cur, gap = [], None, False
    for ch in normalise(text, lower):
        if is_space(ch):
            if cur is not None:
                toks.append(cur)
                cur = None
            gap = True
            continue
        lead = " " if gap and (toks or cur is not None) else ""
        if split_punct and is_punct(ch):
            if cur is not None:
                toks.append(cur)
                cur = None
            toks.append(lead + ch)
        elif cur is None:
            cur = lead + ch
        else:
            cur += ch
        gap = False
    if cur is not None:
        toks.append(cur)
    return [t.encode("utf-8") for t in toks]


def replace(sym, pair, out):
    res, i = [], 0
    while i < len(sym):
        if i + 1 < len(sym) and (sym[i], sym[i + 1]) == pair:
            res.append(out)
            i += 2
        else:
            res.append(sym[i])
            i += 1
    return res


def chunks(b):
    return [b[k:k + CHUNK] for k in range(0, len(b), CHUNK)]


def train(lines, lower, split_punct, min_count, max_size):
    counts = collections.Counter()
    for line in lines:
        counts.update(pretokens(line, lower, split_punct))
    words = [[[NUM_SPECIALS + x for x in c], n] for tok, n in counts.items() for c in chunks(tok)]
    vocab = SPECIALS + [bytes([i]) for i in range(256)]
    index = {t: i for i, t in enumerate(vocab)}
    merges, banned = [], set()
    floor = max(2, min_count)
    while max_size == 0 or len(vocab) < max_size:
        pairs = collections.Counter()
        for sym, n in words:
            for p in zip(sym, sym[1:]):
                pairs[p] += n
        cands = [(-n, p) for p, n in pairs.items() if n >= floor and p not in banned]
        if not cands:
            break
        best = min(cands)[1]
        spelled = vocab[best[0]] + vocab[best[1]]
        if spelled in SPECIALS:
            banned.add(best)
            continue
        out = index.get(spelled)
        if out is None:
            out = len(vocab)
            vocab.append(spelled)
            index[spelled] = out
        merges.append((best, out))
        for w in words:
            w[0] = replace(w[0], best, out)
    return vocab, merges, banned


def encode(text, lower, split_punct, merges):
    rank = {pair: (r, out) for r, (pair, out) in enumerate(merges)}
    ids = []
    for tok in pretokens(text, lower, split_punct):
        for c in chunks(tok):
            sym = [NUM_SPECIALS + x for x in c]
            while len(sym) > 1:
                present = [rank[p] for p in zip(sym, sym[1:]) if p in rank]
                if not present:
                    break
                r, out = min(present)
                sym = replace(sym, merges[r][0], out)
            ids += sym
    return ids


def main():
    lines = corpus_lines()
    fixtures = os.path.join(HERE, "fixtures")
    with open(os.path.join(fixtures, "bpe_corpus.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = ["# Byte-level BPE reference from tests/reference/gen_bpe_fixtures.py; do not edit."]
    for lower, split_punct, min_count, max_size in CONFIGS:
        vocab, merges, banned = train(lines, lower, split_punct, min_count, max_size)
        out.append(f"# {len(banned)} merges refused as they would spell a special")
        out.append(f"config {lower} {split_punct} {min_count} {max_size}")
        out.append(f"size {len(vocab)}")
        out.append(f"merges {len(merges)}")
        out += [f"{a} {b}" for (a, b), _ in merges]
        for text in ENCODE:
            ids = encode(text, lower, split_punct, merges)
            decoded = b"".join(vocab[i] for i in ids)
            out.append("text " + text.encode("utf-8").hex())
            out.append("ids " + " ".join(map(str, ids)))
            out.append("decoded " + decoded.hex())
    out.append("end")
    with open(os.path.join(fixtures, "bpe_expected.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
