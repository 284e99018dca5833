#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch's training step of the seed language model with a full softmax and with
torch.nn.AdaptiveLogSoftmaxWithLoss, the counterpart of `bench_lstm --model seed-lm` and
`bench_lstm --model seed-lm-adaptive`: vocabulary 10000, embedding 100, LSTM hidden 200, T=64,
B=32, Adam; the adaptive head has cut-offs 2000, 6000 and div_value 4.0. The targets are the
word ranks bench_lstm uses (Zipf, s = 1: log-uniform over the golden-ratio quantiles), which
decide how much of the adaptive softmax's tail runs; the full softmax does not depend on them.

    /usr/bin/python3 bench/torch_adaptive_bench.py [threads]

Prints one line per head: milliseconds per step (best of 5 repetitions of at least 1 s) and
training tokens per second.
"""
import math
import sys
import time

import torch
from torch import nn

V, E, H, T, B = 10000, 100, 200, 64, 32
CUTOFFS = [2000, 6000]


class SeedLM(nn.Module):
    def __init__(self, adaptive):
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H)
        self.adaptive = adaptive
        self.head = (nn.AdaptiveLogSoftmaxWithLoss(H, V, CUTOFFS, div_value=4.0) if adaptive
                     else nn.Linear(H, V))

    def loss(self, x, y):
        out, _ = self.lstm(self.emb(x))
        out = out.reshape(-1, H)
        if self.adaptive:
            return self.head(out, y.reshape(-1)).loss
        return nn.functional.cross_entropy(self.head(out), y.reshape(-1))


def targets():
    u = [math.fmod(i * 0.6180339887498949, 1.0) for i in range(T * B)]
    ranks = [min(V - 1, math.floor(math.exp(v * math.log(V + 1.0))) - 1) for v in u]
    return torch.tensor(ranks, dtype=torch.long).reshape(T, B)


def bench(adaptive):
    torch.manual_seed(0)
    m = SeedLM(adaptive)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.randint(0, V, (T, B))
    y = targets() if adaptive else torch.randint(0, V, (T, B))

    def step():
        opt.zero_grad()
        m.loss(x, y).backward()
        opt.step()

    for _ in range(2):
        step()
    best = float("inf")
    for _ in range(5):
        steps, t0 = 0, time.perf_counter()
        while True:
            step()
            steps += 1
            dt = time.perf_counter() - t0
            if dt >= 1.0:
                break
        best = min(best, dt / steps)
    name = "seed-lm-adaptive" if adaptive else "seed-lm"
    print(f"torch {name} V={V} E={E} H={H} T={T} B={B} threads={torch.get_num_threads()} "
          f"ms_per_step={best * 1e3:.2f} train_tok_s={T * B / best:.0f}", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    bench(False)
    bench(True)
