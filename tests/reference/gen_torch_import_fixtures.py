#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch models of libtransfer's default architecture saved as a PyTorch user would, for
tf_model_import (run with Debian's /usr/bin/python3, torch 1.13, safetensors):

    /usr/bin/python3 tests/reference/gen_torch_import_fixtures.py

Writes to tests/reference/fixtures/:
  torch_import_vocab.txt         a serialised word vocabulary: the 4 specials, then w4 ... w49
  torch_import_lm.safetensors    embedding + 2-layer LSTM + LM head, safetensors.torch.save_file
                                 of the plain state_dict (no metadata)
  torch_import_cls.safetensors   the same with a 3-class head over last|mean|max pooling
  torch_import_expect.tfx        probes "ids.<k>", PyTorch's mean next-token loss "lm.<k>" and
                                 class probabilities "probs.<k>"
Read by tests/unit/train/test_import.c.
"""
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
V, E, H, L, C = 50, 8, 12, 2, 3


class Model(torch.nn.Module):
    """Embedding, LSTM stack, LM head and (optionally) a task head over last|mean|max pooling,
    under the parameter names libtransfer uses."""

    def __init__(self, classes):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, num_layers=L)
        self.lm_head = torch.nn.Linear(H, V)
        if classes:
            self.head = torch.nn.Linear(3 * H, classes)

    def states(self, ids):
        y, _ = self.lstm(self.embedding(ids[:, None]))
        return y[:, 0, :]

    def lm_loss(self, ids):
        y = self.states(ids[:-1])
        return torch.nn.functional.cross_entropy(self.lm_head(y), ids[1:]).double()

    def probs(self, ids):
        y = self.states(ids)
        z = self.head(torch.cat([y[-1], y.mean(0), y.max(0).values]))
        return torch.softmax(z.double(), 0)


def main():
    torch.manual_seed(11)
    with open(os.path.join(OUT, "torch_import_vocab.txt"), "w") as f:
        f.write("libtransfer-vocab 2\nkind word\nlowercase 0\nsplit_punct 0\nunicode 1\n")
        f.write(f"size {V}\n<pad>\n<unk>\n<bos>\n<eos>\n")
        for i in range(4, V):
            f.write(f"w{i}\n")
    lm, cls = Model(0).eval(), Model(C).eval()
    for m in (lm, cls):  # weights on a scale that moves the predictions well away from uniform
        with torch.no_grad():
            for p in m.parameters():
                p.uniform_(-0.6, 0.6)
    save_file(lm.state_dict(), os.path.join(OUT, "torch_import_lm.safetensors"))
    save_file(cls.state_dict(), os.path.join(OUT, "torch_import_cls.safetensors"))
    probes = [[4, 9, 17, 33, 5], [48, 12], [7, 7, 30, 21, 44, 6, 19, 25], [13, 40, 11]]
    entries = {}
    with torch.no_grad():
        for k, ids in enumerate(probes):
            t = torch.tensor(ids)
            entries[f"ids.{k}"] = t.int()
            entries[f"lm.{k}"] = lm.lm_loss(t).reshape(1)
            entries[f"probs.{k}"] = cls.probs(t)
    write_fixture(os.path.join(OUT, "torch_import_expect.tfx"), entries)


if __name__ == "__main__":
    main()
