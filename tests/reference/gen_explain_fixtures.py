#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Integrated gradients computed by PyTorch (autograd, float64) on small models of libtransfer's
architecture, for tf_explain_text and tf_explain_features (run with Debian's /usr/bin/python3,
torch 1.13, safetensors):

    /usr/bin/python3 tests/reference/gen_explain_fixtures.py

The path's points are numpy's Gauss-Legendre nodes (numpy.polynomial.legendre.leggauss) mapped
to (0, 1), or the trapezoid rule's equal steps; f is the probability of the class (softmax, or
the sigmoid of the single logit of a two-class head).

Writes to tests/reference/fixtures/ (the vocabulary is torch_import_vocab.txt):
  explain_cls3.safetensors  embedding 8 + 2-layer LSTM 12 + 3-class head over last|mean|max
  explain_bin.safetensors   embedding 6 + GRU 10 + one-logit head over last|mean
  explain_num.safetensors   projection 3 -> 5 + LSTM 7 + 4-class head over last|mean (no max:
                            its kinks would blur the finite differences of the gradient check)
  explain_expect.tfx        per probe k of model M: "M.in.<k>" (ids, or steps x 3 values),
                            "M.class.<k>", "M.steps.<k>", for token models "M.baseline.<k>"
                            (-1 zero, else the token id whose embedding is the baseline), and
                            per rule R (gl, trap):
                            "M.R.attr.<k>" (per token, or per step and feature), "M.fx.<k>",
                            "M.fb.<k>" (f at the input and at the baseline)
Read by tests/unit/train/test_explain.c.
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
V = 50


class Model(torch.nn.Module):
    """Embedding (or projection), a recurrent stack, the language-model head, pooling and a task
    head, under the parameter names libtransfer uses."""

    def __init__(self, cell, inp, E, H, L, K, pools, numeric=False):
        super().__init__()
        if numeric:
            self.proj = torch.nn.Linear(inp, E)
        else:
            self.embedding = torch.nn.Embedding(inp, E)
        rnn = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        setattr(self, cell, rnn(E, H, num_layers=L))
        self.cell, self.pools, self.numeric = cell, pools, numeric
        self.lm_head = torch.nn.Linear(H, inp)  # next token (or step): unused here, but saved
        self.head = torch.nn.Linear(len(pools) * H, K)

    def prob(self, X, c):
        """X: (T, S, E) embedding outputs or (T, S, F) numeric inputs; the probability of class
        c per column."""
        y, _ = getattr(self, self.cell)(self.proj(X) if self.numeric else X)
        parts = {"last": y[-1], "mean": y.mean(0), "max": y.max(0).values}
        z = self.head(torch.cat([parts[p] for p in self.pools], 1))
        if z.shape[1] == 1:
            p1 = torch.sigmoid(z[:, 0])
            return p1 if c == 1 else 1 - p1
        return torch.softmax(z, 1)[:, c]


def points(rule, steps):
    if rule == "gl":
        x, w = np.polynomial.legendre.leggauss(steps)
        return (x + 1) / 2, w / 2
    a = np.arange(steps + 1) / steps
    w = np.full(steps + 1, 1.0 / steps)
    w[0] = w[-1] = 0.5 / steps
    return a, w


def integrated_gradients(model, x, base, c, rule, steps):
    """x, base: (T, E) float64 backbone inputs. Returns the (T, E) products, f(x), f(base)."""
    a, w = points(rule, steps)
    alpha = torch.tensor(a)[None, :, None]
    X = (base[:, None, :] + alpha * (x - base)[:, None, :]).requires_grad_(True)
    f = model.prob(X, c)
    (g,) = torch.autograd.grad((f * torch.tensor(w)).sum(), X)
    ends = model.prob(torch.stack([x, base], 1), c).detach()
    return (x - base) * g.sum(1), float(ends[0]), float(ends[1])


def init(model, scale):
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-scale, scale)


def main():
    torch.manual_seed(23)
    models = {
        "cls3": Model("lstm", V, 8, 12, 2, 3, ["last", "mean", "max"]),
        "bin": Model("gru", V, 6, 10, 1, 1, ["last", "mean"]),
        "num": Model("lstm", 3, 5, 7, 1, 4, ["last", "mean"], numeric=True),
    }
    for name, m in models.items():
        init(m, 0.8)
        m.eval()
        save_file(m.state_dict(), os.path.join(OUT, f"explain_{name}.safetensors"))
    entries = {}
    # (model, input, class, steps, baseline): ids for token models, a (T, 3) array otherwise
    probes = [
        ("cls3", [4, 9, 17, 33, 5], 0, 16, "zero"),
        ("cls3", [48, 12, 7, 7, 30, 21, 44, 6, 19, 25], 2, 24, "pad"),
        ("bin", [13, 40, 11, 1, 22, 8], 1, 16, "unk"),
        ("bin", [5, 6, 7], 0, 8, "zero"),
        ("num", np.sin(np.arange(18).reshape(6, 3) * 0.7) * 1.5, 3, 16, "zero"),
        ("num", np.cos(np.arange(9).reshape(3, 3) * 1.3), 1, 12, "zero"),
    ]
    counts = {}
    for name, inp, c, steps, baseline in probes:
        k = counts.get(name, 0)
        counts[name] = k + 1
        m = models[name].double()
        with torch.no_grad():
            if m.numeric:
                x = torch.tensor(inp, dtype=torch.float64)
                base = torch.zeros_like(x)
                entries[f"{name}.in.{k}"] = x.float()
            else:
                ids = torch.tensor(inp)
                x = m.embedding(ids)
                row = {"zero": None, "pad": 0, "unk": 1}[baseline]
                base = torch.zeros_like(x) if row is None else m.embedding.weight[row].expand_as(x)
                entries[f"{name}.in.{k}"] = ids.int()
                entries[f"{name}.baseline.{k}"] = np.array([-1 if row is None else row],
                                                           dtype=np.int32)
        entries[f"{name}.class.{k}"] = np.array([c], dtype=np.int32)
        entries[f"{name}.steps.{k}"] = np.array([steps], dtype=np.int32)
        for rule in ("gl", "trap"):
            prod, fx, fb = integrated_gradients(m, x, base, c, rule, steps)
            attr = prod if m.numeric else prod.sum(1)
            entries[f"{name}.{rule}.attr.{k}"] = attr.detach().numpy().astype(np.float64)
            entries[f"{name}.fx.{k}"] = np.array([fx])
            entries[f"{name}.fb.{k}"] = np.array([fb])
    write_fixture(os.path.join(OUT, "explain_expect.tfx"), entries)


if __name__ == "__main__":
    main()
