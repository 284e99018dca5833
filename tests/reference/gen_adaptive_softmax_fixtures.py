#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the adaptive softmax (run with Debian's /usr/bin/python3).

    /usr/bin/python3 tests/reference/gen_adaptive_softmax_fixtures.py

Writes tests/reference/fixtures/nn_asoft_*.tfx (read by tests/unit/nn/test_adaptive_softmax_internal.c):
the configuration "cfg" = [in_features, n_classes, head_bias, N], the cut-offs, div_value, the
input x (N, in), targets (N) with at least one in every cluster, the parameters under
torch.nn.AdaptiveLogSoftmaxWithLoss's state_dict names ("p.<name>"), the mean loss, each row's
log-probability of its target ("output"), log_prob(x) for every word of the first rows
("log_prob"), and the gradients of the loss ("g.<name>", "g.input").
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def case(name, seed, in_features, n_classes, cutoffs, div_value, head_bias, N, scored_rows):
    torch.manual_seed(seed)
    asm = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=div_value,
                                        head_bias=head_bias)
    with torch.no_grad():  # larger weights than the default, so the clusters' distributions differ
        for p in asm.parameters():
            p.mul_(3.0)
    x = torch.randn(N, in_features, requires_grad=True)
    bounds = [0] + cutoffs + [n_classes]
    targets = torch.randint(0, n_classes, (N,))
    for i in range(len(bounds) - 1):  # one target in every cluster, its first and last word too
        targets[3 * i] = bounds[i]
        targets[3 * i + 1] = bounds[i + 1] - 1
        targets[3 * i + 2] = torch.randint(bounds[i], bounds[i + 1], ()).item()
    res = asm(x, targets)
    res.loss.backward()
    with torch.no_grad():
        lp = asm.log_prob(x[:scored_rows])
    e = {"cfg": np.array([in_features, n_classes, int(head_bias), N], dtype=np.int32),
         "cutoffs": np.array(cutoffs, dtype=np.int32),
         "div_value": np.array([div_value], dtype=np.float64),
         "x": x, "targets": targets.to(torch.int32),
         "loss": np.array([res.loss.item()], dtype=np.float64),
         "output": res.output, "log_prob": lp, "g.input": x.grad}
    for n, p in asm.state_dict().items():
        e["p." + n] = p
    for n, p in asm.named_parameters():
        e["g." + n] = p.grad
    write_fixture(os.path.join(OUT, name), e)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    case("nn_asoft_two.tfx", 21, 16, 40, [8, 20], 4.0, False, 24, 4)
    case("nn_asoft_three_bias.tfx", 22, 32, 60, [5, 17, 30], 2.0, True, 30, 5)
    case("nn_asoft_one.tfx", 23, 8, 12, [4], 4.0, True, 9, 3)


if __name__ == "__main__":
    main()
