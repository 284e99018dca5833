#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the distillation loss (torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/reference/gen_distill_fixtures.py

Writes tests/reference/fixtures/train_distill_*.tfx. Each holds "cfg" (i32: per_logit), "T"
(f64), the student's and the teacher's logits "zs", "zt" (f32, B x K), the loss "loss" (f64)
and its gradient with respect to the student's logits "grad" (f32, B x K), from autograd in
float64 on the stored f32 logits. The loss is Hinton et al.'s soft-target term, T^2 times the
Kullback-Leibler divergence from the teacher's softened distribution to the student's, as
torch.nn.functional.kl_div computes it:

  soft3:  K = 3 classes, one softmax per row, T = 2: T^2 kl_div(log_softmax(zs/T),
          log_softmax(zt/T), log_target=True, reduction='batchmean').
  bin1:   two classes with one logit (K = 1), T = 3: each logit is the softmax of [0, z], the
          same kl_div summed and divided by B.
  multi4: multi-label, K = 4 logits, T = 1.5: each logit as bin1, divided by B * K.

Some logits are large (|z| up to 60) so an overflowing exp would show.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def softmax_kl(zs, zt, T, reduction):
    return T * T * F.kl_div(F.log_softmax(zs / T, dim=1), F.log_softmax(zt / T, dim=1),
                            log_target=True, reduction=reduction)


def pairs(z):
    """Each logit as a two-way distribution: softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]."""
    flat = z.reshape(-1, 1)
    return torch.cat([torch.zeros_like(flat), flat], dim=1)


def store(name, per_logit, T, zs32, zt32):
    zs = zs32.double().requires_grad_()
    zt = zt32.double()
    if per_logit:
        loss = softmax_kl(pairs(zs), pairs(zt), T, "sum") / zs.numel()
    else:
        loss = softmax_kl(zs, zt, T, "batchmean")
    loss.backward()
    write_fixture(os.path.join(OUT, name), {
        "cfg": np.array([per_logit], dtype=np.int32), "T": np.array([T], dtype=np.float64),
        "zs": zs32, "zt": zt32, "loss": np.array([loss.item()], dtype=np.float64),
        "grad": zs.grad.float()})


def soft3():
    torch.manual_seed(21)
    B, K = 8, 3
    zs, zt = (torch.randn(B, K) * 2).float(), (torch.randn(B, K) * 3).float()
    zt[0] = torch.tensor([60.0, -60.0, 0.0])
    zs[1] = torch.tensor([-45.0, 2.0, 45.0])
    zs[2] = zt[2]  # a row the student already matches
    store("train_distill_soft3.tfx", 0, 2.0, zs, zt)


def bin1():
    torch.manual_seed(22)
    B = 10
    zs, zt = (torch.randn(B, 1) * 2).float(), (torch.randn(B, 1) * 3).float()
    zt[0, 0], zs[1, 0], zt[2, 0] = 60.0, -50.0, -55.0
    store("train_distill_bin1.tfx", 1, 3.0, zs, zt)


def multi4():
    torch.manual_seed(23)
    B, K = 6, 4
    zs, zt = (torch.randn(B, K) * 2).float(), (torch.randn(B, K) * 3).float()
    zt[0] = torch.tensor([50.0, -50.0, 0.5, 3.0])
    store("train_distill_multi4.tfx", 1, 1.5, zs, zt)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    soft3()
    bin1()
    multi4()


if __name__ == "__main__":
    main()
