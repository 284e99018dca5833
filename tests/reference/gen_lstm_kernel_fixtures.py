# SPDX-License-Identifier: MIT
"""PyTorch reference fixtures for the LSTM kernel (one layer, both directions).

Run with Debian's Python (torch 1.13):  /usr/bin/python3 tests/reference/gen_lstm_kernel_fixtures.py
Writes tests/reference/fixtures/lstm_kernel_*.tfx, read by tests/unit/nn/test_lstm_kernel_torch_internal.c.

A bidirectional torch.nn.LSTM (one layer) runs in float64 on float32-representable inputs, so the
recorded outputs and gradients are exact to float32 rounding. Its forward half is the kernel with
reverse = 0, its backward half the kernel with reverse = 1. With lengths the input goes through
pack_padded_sequence(enforce_sorted=False) and the output through pad_packed_sequence, which is the
kernel's packed-sequence contract. The scalar loss is
    L = sum(y * dy) + sum(h_n * dh_n) + sum(c_n * dc_n)
so dy, dh_n, dc_n are the upstream gradients and autograd gives every other gradient.

Entries (time-major, PyTorch layouts): x (T,B,I), lengths (B,) when present, per direction
d in {fwd, rev}: w_ih_d (4H,I), w_hh_d (4H,H), b_ih_d, b_hh_d (4H), h0_d, c0_d, h_n_d, c_n_d,
dh_n_d, dc_n_d (B,H) and the gradients dw_ih_d, dw_hh_d, db_ih_d, db_hh_d, dh0_d, dc0_d; y and dy
(T,B,2H) with the forward half first; dx (T,B,I) summed over both directions.
"""
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fixture_io import write_fixture

HERE = os.path.dirname(os.path.abspath(__file__))


def f32(t):
    """Round to float32 and back, so the float64 run sees exactly the stored inputs."""
    return t.float().double()


def make(name, I, H, T, B, lengths, seed):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return f32((torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * scale)

    lstm = torch.nn.LSTM(I, H, num_layers=1, bidirectional=True).double()
    with torch.no_grad():
        for pname, p in lstm.named_parameters():
            p.copy_(rnd(*p.shape, scale=0.6))
    x = rnd(T, B, I).requires_grad_()
    h0 = rnd(2, B, H, scale=0.8).requires_grad_()
    c0 = rnd(2, B, H, scale=1.5).requires_grad_()
    dy = rnd(T, B, 2 * H)
    dh_n = rnd(2, B, H)
    dc_n = rnd(2, B, H)

    if lengths is None:
        y, (h_n, c_n) = lstm(x, (h0, c0))
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out, (h_n, c_n) = lstm(packed, (h0, c0))
        y, _ = pad_packed_sequence(out, total_length=T)
    loss = (y * dy).sum() + (h_n * dh_n).sum() + (c_n * dc_n).sum()
    loss.backward()

    e = {"x": x.detach().float()}
    if lengths is not None:
        e["lengths"] = torch.tensor(lengths, dtype=torch.int32)
    for d, sfx in ((0, "fwd"), (1, "rev")):
        tail = "_l0" + ("_reverse" if d else "")
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            param = getattr(lstm, p + tail)
            short = p.replace("weight", "w").replace("bias", "b")
            e[f"{short}_{sfx}"] = param.detach().float()
            e[f"d{short}_{sfx}"] = param.grad.float()
        e[f"h0_{sfx}"] = h0[d].detach().float()
        e[f"c0_{sfx}"] = c0[d].detach().float()
        e[f"h_n_{sfx}"] = h_n[d].detach().float()
        e[f"c_n_{sfx}"] = c_n[d].detach().float()
        e[f"dh_n_{sfx}"] = dh_n[d].float()
        e[f"dc_n_{sfx}"] = dc_n[d].float()
        e[f"dh0_{sfx}"] = h0.grad[d].float()
        e[f"dc0_{sfx}"] = c0.grad[d].float()
    e["y"] = y.detach().float()
    e["dy"] = dy.float()
    e["dx"] = x.grad.float()
    path = os.path.join(HERE, "fixtures", name)
    write_fixture(path, e)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(os.path.join(HERE, "fixtures"), exist_ok=True)
    make("lstm_kernel_bi.tfx", I=3, H=4, T=5, B=3, lengths=None, seed=1)
    # H = 17 exercises the vector tails of the fused passes; lengths unsorted, with 1 and T.
    make("lstm_kernel_bi_lengths.tfx", I=5, H=17, T=6, B=4, lengths=[3, 6, 1, 4], seed=2)
    # B = 66 takes the kernel's BLAS path for the per-step products (smaller batches have their
    # own packed product); lengths from 1 to T in a fixed pseudo-random order.
    make("lstm_kernel_bi_lengths_b66.tfx", I=4, H=5, T=3, B=66,
         lengths=[1 + (7 * b) % 3 for b in range(66)], seed=3)

if __name__ == "__main__":
    main()
