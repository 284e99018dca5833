#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the nn modules (run with Debian's /usr/bin/python3, torch 1.13).

    /usr/bin/python3 tests/reference/gen_nn_fixtures.py

Writes tests/reference/fixtures/nn_*.tfx. Every case stores its inputs, the parameters under their
PyTorch names ("p.<name>"), the outputs, and the gradients ("g.<name>", "g.input", ...) of a loss.
For the LSTM cases the loss is sum(y*gy) + sum(h_n*ghn) + sum(c_n*gcn) with random gy/ghn/gcn
(stored), so every output path has a gradient. Variable lengths use packed sequences
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


def run_lstm(lstm, x, lengths, h0, c0):
    T = x.shape[0]
    state = None if h0 is None else (h0, c0)
    if lengths is None:
        y, (hn, cn) = lstm(x, state)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        yp, (hn, cn) = lstm(packed, state)
        y, _ = pad_packed_sequence(yp, total_length=T)
    return y, hn, cn


def lstm_case(name, seed, I, H, L, bi, T, B, lengths, with_state):
    torch.manual_seed(seed)
    D = 2 if bi else 1
    lstm = nn.LSTM(I, H, num_layers=L, bidirectional=bi)
    x = torch.randn(T, B, I, requires_grad=True)
    h0 = c0 = None
    if with_state:
        h0 = torch.randn(L * D, B, H, requires_grad=True)
        c0 = torch.randn(L * D, B, H, requires_grad=True)
    y, hn, cn = run_lstm(lstm, x, lengths, h0, c0)
    gy = torch.randn_like(y)
    if lengths is not None:
        for b, n in enumerate(lengths):
            gy[n:, b] = 0.0  # padded outputs are constant zeros: no gradient reaches them
    ghn, gcn = torch.randn_like(hn), torch.randn_like(cn)
    loss = (y * gy).sum() + (hn * ghn).sum() + (cn * gcn).sum()
    loss.backward()
    e = {"cfg": np.array([I, H, L, D, T, B], dtype=np.int32), "x": x, "y": y, "h_n": hn, "c_n": cn,
         "gy": gy, "ghn": ghn, "gcn": gcn, "g.input": x.grad}
    if lengths is not None:
        e["lengths"] = np.array(lengths, dtype=np.int32)
    if with_state:
        e.update({"h0": h0, "c0": c0, "g.h0": h0.grad, "g.c0": c0.grad})
    for n, p in lstm.named_parameters():
        e["p." + n] = p
        e["g." + n] = p.grad
    write_fixture(os.path.join(OUT, name), e)


class Model(nn.Module):
    def __init__(self, V, E, H, bi, out, pad):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=pad)
        self.lstm = nn.LSTM(E, H, bidirectional=bi)
        self.head = nn.Linear(H * (2 if bi else 1), out)


def model_ce(name, seed):
    """Embedding + LSTM + per-step linear head, cross-entropy ignoring the padding token 0."""
    torch.manual_seed(seed)
    V, E, H, T, B, pad = 11, 5, 6, 6, 3, 0
    lengths = [6, 3, 5]
    m = Model(V, E, H, False, V, pad)
    tokens = torch.randint(1, V, (T, B))
    targets = torch.randint(1, V, (T, B))
    for b, n in enumerate(lengths):
        tokens[n:, b] = pad
        targets[n:, b] = pad
    targets[1, 0] = pad  # one ignored target inside a sequence
    emb = m.embedding(tokens)
    y, hn, cn = run_lstm(m.lstm, emb, lengths, None, None)
    logits = m.head(y)
    loss = nn.functional.cross_entropy(logits.reshape(T * B, V), targets.reshape(T * B), ignore_index=pad)
    loss.backward()
    e = {"cfg": np.array([V, E, H, T, B, pad], dtype=np.int32), "tokens": tokens.int(), "targets": targets.int(),
         "lengths": np.array(lengths, dtype=np.int32), "loss": np.array([loss.item()], dtype=np.float64),
         "logits": logits}
    for n, p in m.named_parameters():
        e["p." + n] = p
        e["g." + n] = p.grad
    write_fixture(os.path.join(OUT, name), e)


def model_bce(name, seed):
    """Embedding + bidirectional LSTM, last-step pooling (= h_n of both directions), linear, BCE."""
    torch.manual_seed(seed)
    V, E, H, T, B, pad = 9, 4, 5, 5, 4, 0
    lengths = [5, 2, 4, 1]
    m = Model(V, E, H, True, 1, pad)
    tokens = torch.randint(1, V, (T, B))
    for b, n in enumerate(lengths):
        tokens[n:, b] = pad
    labels = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    emb = m.embedding(tokens)
    y, hn, cn = run_lstm(m.lstm, emb, lengths, None, None)
    pooled = torch.cat([hn[-2], hn[-1]], dim=1)  # forward final state, reverse final state
    logits = m.head(pooled)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    loss.backward()
    e = {"cfg": np.array([V, E, H, T, B, pad], dtype=np.int32), "tokens": tokens.int(), "labels": labels,
         "lengths": np.array(lengths, dtype=np.int32), "loss": np.array([loss.item()], dtype=np.float64),
         "pooled": pooled, "logits": logits}
    for n, p in m.named_parameters():
        e["p." + n] = p
        e["g." + n] = p.grad
    write_fixture(os.path.join(OUT, name), e)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    lstm_case("nn_lstm_l1.tfx", 1, 3, 4, 1, False, 5, 3, None, True)
    lstm_case("nn_lstm_l1_len.tfx", 2, 3, 4, 1, False, 5, 3, [5, 2, 4], True)
    lstm_case("nn_lstm_l2_len.tfx", 3, 3, 4, 2, False, 6, 3, [3, 6, 1], False)
    lstm_case("nn_lstm_bi.tfx", 4, 3, 4, 1, True, 5, 2, None, True)
    lstm_case("nn_lstm_bi2_len.tfx", 5, 2, 3, 2, True, 5, 3, [4, 5, 2], True)
    model_ce("nn_model_ce.tfx", 6)
    model_bce("nn_model_bce.tfx", 7)


if __name__ == "__main__":
    main()
