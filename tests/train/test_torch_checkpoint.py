#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A libtransfer checkpoint loads into an equivalent PyTorch model and predicts the same,
the decision metadata (temperature and class priors) applied as train.h describes it; the
language model's next-token loss agrees too, also after the vocabulary grew with the words of new
text (the configuration's size matching the tensors).

usage: test_torch_checkpoint.py TORCH_TOOL WORKDIR
Exits 77 (CTest: skipped) when torch or safetensors is not installed.
"""
import json
import os
import random
import subprocess
import sys

try:
    import torch
    from safetensors import safe_open
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
binary_tsv = os.path.join(work, "binary.tsv")
with open(corpus, "w") as f:
    for _ in range(300):
        f.write(f"{rnd.choice(subj)} {rnd.choice(verb)} {rnd.choice(obj)} .\n")
with open(tsv, "w") as f:
    for _ in range(120):
        a, b = rnd.randrange(5), rnd.randrange(5)
        label = ["like", "hunt", "want"][min(b // 2, 2)]
        f.write(f"{label}\t{subj[a]} {verb[b]} {rnd.choice(obj)} .\n")
with open(binary_tsv, "w") as f:  # a two-class task (one logit), a fifth of it mislabelled so
    for _ in range(120):            # that the calibrated temperature stays off its bounds
        a = rnd.randrange(5)
        label = ["animal", "person"][(a >= 3) != (rnd.random() < 0.2)]
        f.write(f"{label}\t{subj[a]} {rnd.choice(verb)} {rnd.choice(obj)} .\n")
probes = ["the cat likes the ball .", "a small child wants a toy", "my bird chases some warm milk ."]
# New text for a grown vocabulary: six new words beside the old ones.
new_corpus = os.path.join(work, "new.txt")
with open(new_corpus, "w") as f:
    for _ in range(100):
        f.write(f"{rnd.choice(subj)} {rnd.choice(['eats', 'paints', 'sells'])} a "
                f"{rnd.choice(['mango', 'kite', 'violin'])} .\n")
new_probes = probes + ["the cat paints a violin .", "a dog sells a mango"]


class Reference(torch.nn.Module):
    """The architecture libtransfer saves: embedding, LSTM or GRU stack, pooling
    (last|mean|max), head."""

    def __init__(self, sd, layers, pooling, cell):
        super().__init__()
        V, E = sd["embedding.weight"].shape
        H = sd[cell + ".weight_hh_l0"].shape[1]
        self.embedding = torch.nn.Embedding(V, E)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](E, H, num_layers=layers)
        setattr(self, cell, rnn)  # the parameter names of the checkpoint: lstm.* or gru.*
        self.rnn = lambda x: rnn(x)
        self.lm_head = torch.nn.Linear(H, V)
        self.head = torch.nn.Linear(sd["head.weight"].shape[1], sd["head.weight"].shape[0])
        self.pooling = pooling
        self.load_state_dict(sd)  # strict: every name and shape must match

    def forward(self, ids):
        y, _ = self.rnn(self.embedding(ids[:, None]))  # (T, 1, H)
        y = y[:, 0, :]
        parts = []
        if self.pooling & 1:
            parts.append(y[-1])
        if self.pooling & 2:
            parts.append(y.mean(0))
        if self.pooling & 4:
            parts.append(y.max(0).values)
        return self.head(torch.cat(parts))

    def lm_loss(self, ids):
        """Mean cross-entropy of each next token, as tf_lm_score_text."""
        y, _ = self.rnn(self.embedding(ids[:-1, None]))
        return torch.nn.functional.cross_entropy(self.lm_head(y[:, 0, :]), ids[1:]).item()


def decide(z, decision):
    """softmax(z / T + log(prior) - log(model_prior)), with the log-odds for a single logit."""
    z = z.double() / decision["temperature"]
    mp = torch.tensor(decision["model_prior"], dtype=torch.float64)
    p = torch.tensor(decision.get("prior", decision["model_prior"]), dtype=torch.float64)
    if z.numel() == 1:
        q = torch.sigmoid(z + torch.log(p[1] / p[0]) - torch.log(mp[1] / mp[0]))
        return torch.cat([1 - q, q])
    return torch.softmax(z + torch.log(p) - torch.log(mp), 0)


worst = 0.0
# (task, pooling, flags of torch_tool, grown vocabulary): flags 1 = calibrated and a new prior,
# 2 = balanced class weights, 0 keeps the identity decision, 4 = a GRU backbone (torch.nn.GRU);
# grown: the vocabulary took in the words of new_corpus before more pre-training.
cases = [(tsv, 7, 0, 0), (tsv, 1, 0, 0), (tsv, 6, 0, 0), (tsv, 7, 3, 0), (binary_tsv, 7, 0, 0),
         (binary_tsv, 6, 3, 0), (binary_tsv, 1, 1, 0), (tsv, 7, 0, 1), (tsv, 7, 4, 0),
         (binary_tsv, 6, 7, 0), (tsv, 1, 4, 1)]
checked = 0
for k, (task, pooling, flags, grown) in enumerate(cases):
    model_path = os.path.join(work, f"model{k}.safetensors")
    texts = new_probes if grown else probes
    out = subprocess.run([tool, corpus, task, model_path, str(pooling), str(flags)]
                         + ([new_corpus] if grown else []),
                         input="\n".join(texts) + "\n", capture_output=True, text=True,
                         check=True).stdout.split("\n")
    sd = load_file(model_path)
    with safe_open(model_path, "pt") as f:
        decision = json.loads(f.metadata()["libtransfer.decision"])
        config = json.loads(f.metadata()["libtransfer.config"])
    vocab_size = config["vocab_size"]
    cell = "gru" if flags & 4 else "lstm"
    if config.get("cell") != cell:
        print(f"FAIL: configuration cell {config.get('cell')!r}, expected {cell!r}")
        sys.exit(1)
    if vocab_size != sd["embedding.weight"].shape[0] or vocab_size != sd["lm_head.weight"].shape[0]:
        print(f"FAIL: configuration vocab_size {vocab_size}, tensors {sd['embedding.weight'].shape}")
        sys.exit(1)
    ref = Reference(sd, layers=2, pooling=pooling, cell=cell).eval()
    if flags & 1 and (decision["temperature"] == 1.0 or decision["prior"] == decision["model_prior"]):
        print(f"FAIL: the decision of case {flags} is the identity: {decision}")
        sys.exit(1)
    if flags & 2 and max(abs(a - b) for a, b in zip(decision["train_prior"], decision["model_prior"])) < 0.01:
        print(f"FAIL: balanced weights left the model prior at the training prior: {decision}")
        sys.exit(1)
    moved = 0.0
    new_ids = 0
    for line in filter(None, out):
        ids_part, probs_part, lm_part = line.split(" ")
        ids = torch.tensor([int(v) for v in ids_part[4:].split(",")])
        got = torch.tensor([float(v) for v in probs_part[6:].split(",")], dtype=torch.float64)
        got_lm = float(lm_part[3:])
        with torch.no_grad():
            z = ref(ids)
            want_lm = ref.lm_loss(ids)
        want = decide(z, decision)
        plain = decide(z, {"temperature": 1.0, "model_prior": decision["model_prior"]})
        moved = max(moved, (want - plain).abs().max().item())
        new_ids += int((ids >= vocab_size - 6).sum())  # a grown model's six new words come last
        err = max((got - want).abs().max().item(), abs(got_lm - want_lm) / max(1.0, want_lm))
        worst = max(worst, err)
        checked += 1
        if err > 1e-5:
            print(f"FAIL {os.path.basename(task)} pooling {pooling} decision {flags} grown {grown}: "
                  f"libtransfer {got.tolist()} lm {got_lm} vs PyTorch {want.tolist()} lm {want_lm}")
            sys.exit(1)
    if flags & 1 and moved < 1e-3:  # the comparison must be able to tell the decision apart
        print(f"FAIL: the decision of case {flags} moves no probability ({moved:.1e})")
        sys.exit(1)
    if grown and new_ids < 4:
        print(f"FAIL: the probes of the grown model hold {new_ids} new ids, expected 4")
        sys.exit(1)
print(f"libtransfer and PyTorch agree on {checked} predictions and language-model losses, LSTM "
      f"and GRU models, with a grown vocabulary among them (max difference {worst:.2e})")
