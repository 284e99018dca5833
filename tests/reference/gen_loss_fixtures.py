#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the class-weighted fine-tuning losses (torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/reference/gen_loss_fixtures.py

Writes tests/reference/fixtures/train_wloss_*.tfx. Each holds "cfg" (i32: C, multilabel), the
logits (f32, B x K with K = 1 for two single-label classes, else C), "labels" (i32, B) or "sets"
(f32, B x C), the class weights "weight" (f64, C), the loss "loss" (f64) and its gradient with
respect to the logits "grad" (f32, B x K), both from autograd in float64 on the stored f32 logits:

  ce4:    C = 4, CrossEntropyLoss(weight=w): sum_i w[y_i] l_i / sum_i w[y_i].
  bce1:   two classes, one logit: (w[y] * BCEWithLogits(reduction='none')).sum() / w[y].sum().
  multi3: multi-label C = 3, BCEWithLogitsLoss(pos_weight=w), mean over all B x C elements.

Some logits are large (|z| up to 60) so an overflowing exp would show.
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def weights(C):
    return torch.rand(C, dtype=torch.float64) * 2.8 + 0.2


def store(name, C, multilabel, logits32, target, w, loss, z):
    loss.backward()
    e = {"cfg": np.array([C, multilabel], dtype=np.int32), "logits": logits32, "weight": w,
         "loss": np.array([loss.item()], dtype=np.float64), "grad": z.grad.float()}
    e["sets" if multilabel else "labels"] = target
    write_fixture(os.path.join(OUT, name), e)


def ce4():
    torch.manual_seed(11)
    B, C = 9, 4
    logits32 = (torch.randn(B, C) * 2).float()
    logits32[0] = torch.tensor([40.0, -40.0, 0.0, 5.0])
    logits32[1] = torch.tensor([-60.0, 1.0, 2.0, 60.0])
    labels = torch.randint(0, C, (B,))
    labels[0], labels[1] = 1, 3
    w = weights(C)
    z = logits32.double().requires_grad_()
    loss = nn.CrossEntropyLoss(weight=w)(z, labels)
    store("train_wloss_ce4.tfx", C, 0, logits32, labels.int(), w, loss, z)


def bce1():
    torch.manual_seed(12)
    B = 10
    logits32 = (torch.randn(B, 1) * 2).float()
    logits32[0, 0], logits32[1, 0] = 45.0, -50.0
    labels = torch.randint(0, 2, (B,))
    labels[0], labels[1] = 0, 0
    w = weights(2)
    z = logits32.double().requires_grad_()
    wy = w[labels]
    per = nn.functional.binary_cross_entropy_with_logits(z[:, 0], labels.double(), reduction="none")
    loss = (wy * per).sum() / wy.sum()
    store("train_wloss_bce1.tfx", 2, 0, logits32, labels.int(), w, loss, z)


def multi3():
    torch.manual_seed(13)
    B, C = 7, 3
    logits32 = (torch.randn(B, C) * 2).float()
    logits32[0] = torch.tensor([50.0, -50.0, 0.5])
    sets = (torch.rand(B, C) < 0.4).float()
    sets[0] = torch.tensor([0.0, 1.0, 1.0])
    w = weights(C)
    z = logits32.double().requires_grad_()
    loss = nn.BCEWithLogitsLoss(pos_weight=w)(z, sets.double())
    store("train_wloss_multi3.tfx", C, 1, logits32, sets, w, loss, z)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    ce4()
    bce1()
    multi3()


if __name__ == "__main__":
    main()
