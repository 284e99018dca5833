#!/usr/bin/env python3
"""A libtransfer checkpoint loads into an equivalent PyTorch model and predicts the same.

usage: test_torch_checkpoint.py TORCH_TOOL WORKDIR
Exits 77 (CTest: skipped) when torch or safetensors is not installed.
"""
import os
import random
import subprocess
import sys

try:
    import torch
    from safetensors.torch import load_file
except ImportError as e:  # reported as skipped, never as passed
    print(f"skipped: {e}")
    sys.exit(77)

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rnd = random.Random(5)
subj = ["the cat", "a dog", "my bird", "the old man", "a small child"]
verb = ["sees", "likes", "chases", "finds", "wants"]
obj = ["the ball", "a red apple", "the big house", "some warm milk", "a toy"]
corpus, tsv = os.path.join(work, "corpus.txt"), os.path.join(work, "train.tsv")
with open(corpus, "w") as f:
    for _ in range(300):
        f.write(f"{rnd.choice(subj)} {rnd.choice(verb)} {rnd.choice(obj)} .\n")
with open(tsv, "w") as f:
    for _ in range(120):
        a, b = rnd.randrange(5), rnd.randrange(5)
        label = ["like", "hunt", "want"][min(b // 2, 2)]
        f.write(f"{label}\t{subj[a]} {verb[b]} {rnd.choice(obj)} .\n")
probes = ["the cat likes the ball .", "a small child wants a toy", "my bird chases some warm milk ."]


class Reference(torch.nn.Module):
    """The architecture libtransfer saves: embedding, LSTM stack, pooling (last|mean|max), head."""

    def __init__(self, sd, layers, pooling):
        super().__init__()
        V, E = sd["embedding.weight"].shape
        H = sd["lstm.weight_hh_l0"].shape[1]
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, num_layers=layers)
        self.lm_head = torch.nn.Linear(H, V)
        self.head = torch.nn.Linear(sd["head.weight"].shape[1], sd["head.weight"].shape[0])
        self.pooling = pooling
        self.load_state_dict(sd)  # strict: every name and shape must match

    def forward(self, ids):
        y, _ = self.lstm(self.embedding(ids[:, None]))  # (T, 1, H)
        y = y[:, 0, :]
        parts = []
        if self.pooling & 1:
            parts.append(y[-1])
        if self.pooling & 2:
            parts.append(y.mean(0))
        if self.pooling & 4:
            parts.append(y.max(0).values)
        z = self.head(torch.cat(parts))
        if z.numel() == 1:
            p = torch.sigmoid(z)
            return torch.cat([1 - p, p])
        return torch.softmax(z, 0)


worst = 0.0
for pooling in (7, 1, 6):
    model_path = os.path.join(work, f"model{pooling}.safetensors")
    out = subprocess.run([tool, corpus, tsv, model_path, str(pooling)], input="\n".join(probes) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    sd = load_file(model_path)
    ref = Reference(sd, layers=2, pooling=pooling).eval()
    for line in filter(None, out):
        ids_part, probs_part = line.split(" ")
        ids = torch.tensor([int(v) for v in ids_part[4:].split(",")])
        got = torch.tensor([float(v) for v in probs_part[6:].split(",")])
        with torch.no_grad():
            want = ref(ids)
        err = (got - want).abs().max().item()
        worst = max(worst, err)
        if err > 1e-5:
            print(f"FAIL pooling {pooling}: libtransfer {got.tolist()} vs PyTorch {want.tolist()}")
            sys.exit(1)
print(f"libtransfer and PyTorch agree on {len(probes) * 3} predictions (max abs difference {worst:.2e})")
