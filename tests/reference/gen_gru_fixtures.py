#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the GRU (run with Debian's /usr/bin/python3, torch 1.13).

    /usr/bin/python3 tests/reference/gen_gru_fixtures.py

Writes tests/reference/fixtures/nn_gru_*.tfx in the layout of gen_nn_fixtures.py's LSTM cases
(read by tests/unit/nn/test_parity.c): inputs, the parameters under torch.nn.GRU's names ("p.<name>"),
the outputs y and h_n, and the gradients ("g.<name>", "g.input", "g.h0") of the loss
sum(y*gy) + sum(h_n*ghn) with random gy/ghn (stored). Variable lengths use packed sequences
(enforce_sorted=False), outputs padded back to T (zeros at padded steps).
"""
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def run_gru(gru, x, lengths, h0):
    T = x.shape[0]
    if lengths is None:
        return gru(x, h0)
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    yp, hn = gru(packed, h0)
    y, _ = pad_packed_sequence(yp, total_length=T)
    return y, hn


def gru_case(name, seed, I, H, L, bi, T, B, lengths, with_state):
    torch.manual_seed(seed)
    D = 2 if bi else 1
    gru = nn.GRU(I, H, num_layers=L, bidirectional=bi)
    x = torch.randn(T, B, I, requires_grad=True)
    h0 = torch.randn(L * D, B, H, requires_grad=True) if with_state else None
    y, hn = run_gru(gru, x, lengths, h0)
    gy = torch.randn_like(y)
    if lengths is not None:
        for b, n in enumerate(lengths):
            gy[n:, b] = 0.0  # padded outputs are constant zeros: no gradient reaches them
    ghn = torch.randn_like(hn)
    loss = (y * gy).sum() + (hn * ghn).sum()
    loss.backward()
    e = {"cfg": np.array([I, H, L, D, T, B], dtype=np.int32), "x": x, "y": y, "h_n": hn,
         "gy": gy, "ghn": ghn, "g.input": x.grad}
    if lengths is not None:
        e["lengths"] = np.array(lengths, dtype=np.int32)
    if with_state:
        e.update({"h0": h0, "g.h0": h0.grad})
    for n, p in gru.named_parameters():
        e["p." + n] = p
        e["g." + n] = p.grad
    write_fixture(os.path.join(OUT, name), e)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    gru_case("nn_gru_l1.tfx", 11, 3, 4, 1, False, 5, 3, None, True)
    gru_case("nn_gru_l2_len.tfx", 12, 3, 4, 2, False, 6, 3, [3, 6, 1], False)
    gru_case("nn_gru_bi2_len.tfx", 13, 2, 3, 2, True, 5, 3, [4, 5, 2], True)
    # A batch above the small-batch limit, so the per-step products go through sgemm, not the
    # packed GEMM.
    gru_case("nn_gru_bi2_len_b66.tfx", 14, 3, 5, 2, True, 4, 66, [1 + (b * 7) % 4 for b in range(66)], True)


if __name__ == "__main__":
    main()
