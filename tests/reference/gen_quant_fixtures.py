#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""numpy reference fixtures for the int8 and half-precision weight formats (lib/tensor/quant.h).

Run from the repository root:  /usr/bin/python3 tests/reference/gen_quant_fixtures.py

Writes tests/reference/fixtures/quant.tfx:

  f16_in (f32, N):     floats to convert, with the edge cases (ties, the f16 range's ends,
                       subnormal halves, values that round to zero or to infinity)
  f16_bits (i32, N):   numpy's float32 -> float16 conversion (round to nearest even), as bits
  h_bits (i32, M):     half bit patterns (every 64th, plus every subnormal and the specials)
  h_f32 (f32, M):      numpy's float16 -> float32 value of each (NaNs left out)
  i8_x (f32, R x C):   a matrix with a zero row, a row of tiny subnormals, rows of ties
  i8_q (i32, R x C):   q = clip(rint(x / s), -127, 127) per row
  i8_scale (f32, R):   s = max|row| / 127 (f32), the smallest subnormal if that underflows,
                       one ulp lower if 127 * s overflows
  i8_deq (f32, R x C): q * s in f32
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
f32 = np.float32


def f16_inputs(rng):
    edge = [0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 65519.996, 65520.0, 65536.0, 1e10, -1e10,
            np.inf, -np.inf, 2.0 ** -14, 2.0 ** -24, -(2.0 ** -24), 2.0 ** -25, 3 * 2.0 ** -26,
            2.0 ** -25 * 1.0000001, 2.0 ** -26, 1e-30, 6.1e-5, 5.9604645e-8, 1.0 + 2.0 ** -11,
            1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20, 2049.0, 2051.0, 0.1, 1 / 3]
    # ties and near-ties at every binade of the subnormal and normal range
    for e in range(-24, 16):
        for k in (1, 3, 5, 1023, 2047):
            edge.append((k + 0.5) * 2.0 ** (e - 10))
    x = np.concatenate([np.array(edge, dtype=np.float64).astype(f32),
                        (rng.standard_normal(600) * 10.0 ** rng.uniform(-9, 5, 600)).astype(f32)])
    return x


def half_patterns():
    pats = set(range(0, 65536, 64)) | set(range(0, 1024)) | set(range(0x8000, 0x8400))
    pats |= {0x7c00, 0xfc00, 0x7bff, 0xfbff, 0x0400, 0x03ff, 0x3c00, 0x3c01}
    pats = np.array(sorted(pats), dtype=np.uint16)
    vals = pats.view(np.float16).astype(f32)
    keep = ~np.isnan(vals)
    return pats[keep].astype(np.int32), vals[keep]


def quantize(x):
    amax = np.max(np.abs(x), axis=1)
    s = amax / f32(127)
    s[(s == 0) & (amax > 0)] = np.finfo(f32).smallest_subnormal
    with np.errstate(over="ignore"):
        over = ~(s * f32(127) <= np.finfo(f32).max)
    s[over] = np.nextafter(s[over], f32(0))
    safe = np.where(s == 0, f32(1), s)
    q = np.clip(np.rint(x / safe[:, None]), -127, 127)
    q[s == 0] = 0
    return q.astype(np.int32), s.astype(f32)


def int8_matrix(rng):
    R, C = 12, 37
    x = (rng.standard_normal((R, C)) * 10.0 ** rng.uniform(-4, 3, (R, 1))).astype(f32)
    x[2] = 0.0
    x[3] = (rng.standard_normal(C) * 1e-44).astype(f32)  # subnormal row: scale underflows
    x[4] = np.arange(C, dtype=f32) - 18.0                  # max 18: many exact ties k / 127 * 18
    x[5] = (np.arange(C, dtype=f32) - 18.0) * f32(0.5)
    x[6, :] = 0.0
    x[6, 7] = -3.0                                          # one non-zero, negative
    x[7] = rng.uniform(-1e30, 1e30, C).astype(f32)
    x[9, 3] = np.finfo(f32).max                             # 127 * scale must not overflow
    x[8] = (np.arange(C, dtype=f32) % 9 - 4) + f32(0.5)     # max 4.5: no ties
    x[10] = (np.arange(C, dtype=f32) - 18.0) * f32(3.5) + f32(0.5)
    x[10, 0] = 127.0                                        # scale exactly 1: every x.5 is a tie
    x[10, 1] = -127.0
    x[11] = x[10] * f32(0.25)                               # scale 0.25: ties again
    return x


def main():
    rng = np.random.default_rng(20261206)
    x16 = f16_inputs(rng)
    with np.errstate(over="ignore"):
        bits = x16.astype(np.float16).view(np.uint16).astype(np.int32)
    hb, hv = half_patterns()
    x8 = int8_matrix(rng)
    q, s = quantize(x8)
    deq = (q.astype(f32) * s[:, None]).astype(f32)
    write_fixture(os.path.join(OUT, "quant.tfx"),
                  {"f16_in": x16, "f16_bits": bits, "h_bits": hb, "h_f32": hv,
                   "i8_x": x8, "i8_q": q, "i8_scale": s, "i8_deq": deq})


if __name__ == "__main__":
    main()
