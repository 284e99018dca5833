# SPDX-License-Identifier: MIT
"""Interop of libtransfer tensor files with the reference safetensors implementation.

usage: test_interop.py IO_ROUNDTRIP_TOOL WORKDIR

- A file written by libtransfer loads in safetensors.numpy and safetensors.torch with identical
  values, and its CRC metadata matches zlib.crc32.
- Files written by safetensors.torch / safetensors.numpy load in libtransfer with identical bytes;
  F16 and I8 (with its per-row scale) load as F32; other dtypes are refused with
  TF_STATUS_ENOTSUP, fake libtransfer files with EFORMAT.

Exits 77 (skipped) when safetensors, numpy or torch cannot be imported.
"""
import os
import struct
import subprocess
import sys
import zlib

try:
    import numpy as np
    import torch
    from safetensors import safe_open
    from safetensors.numpy import load_file as np_load, save_file as np_save
    from safetensors.torch import load_file as torch_load, save_file as torch_save
except ImportError as exc:  # pragma: no cover
    print(f"SKIP: {exc} (install with: /usr/bin/python3 -m pip install --break-system-packages "
          "safetensors)")
    sys.exit(77)

TOOL, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def dump(path):
    """Run the C tool; returns (entries, metadata) or the error line."""
    out = subprocess.run([TOOL, "dump", path], capture_output=True, text=True)
    if out.returncode != 0:
        return out.stdout.strip()
    entries, meta = {}, {}
    for line in out.stdout.splitlines():
        f = line.split(" ")
        unhex = lambda s: b"" if s == "-" else bytes.fromhex(s)
        if f[0] == "T":
            entries[unhex(f[1]).decode()] = (f[2], tuple(int(d) for d in f[3].split(",")), unhex(f[4]))
        elif f[0] == "B":
            entries[unhex(f[1]).decode()] = ("U8", None, unhex(f[2]))
        elif f[0] == "M":
            meta[unhex(f[1]).decode()] = unhex(f[2]).decode()
    return entries, meta


# ---- libtransfer -> reference ------------------------------------------------------------------
# The values io_roundtrip_tool writes, computed here independently.
ramp = np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1.5)
expected = {
    "emb.weight": ramp.reshape(3, 4),
    "ids": (np.arange(5, dtype=np.int64) * 123457 - 300000).astype(np.int32),
    "lstm.weight_4d": ramp.reshape(2, 1, 3, 2),
    "state": (np.arange(50) * 37 % 256).astype(np.uint8),
}
ours = os.path.join(WORK, "from_libtransfer.safetensors")
rc = subprocess.run([TOOL, "write", ours]).returncode
check(rc == 0, "io_roundtrip_tool write")

got = np_load(ours)
check(sorted(got) == sorted(expected), "numpy: same tensor names")
for name, want in expected.items():
    g = got.get(name)
    check(g is not None and g.dtype == want.dtype and g.shape == want.shape
          and np.array_equal(g, want), f"numpy: {name} identical ({want.dtype}, {want.shape})")
got_t = torch_load(ours)
for name, want in expected.items():
    check(torch.equal(got_t[name], torch.from_numpy(want)), f"torch: {name} identical")

with safe_open(ours, framework="np") as f:
    meta = f.metadata()
check(meta.get("format") == "libtransfer", "metadata format = libtransfer")
check(meta.get("format_version") == "1", "metadata format_version = 1")
check(bool(meta.get("library_version")), "metadata library_version present")
check(meta.get("note") == "h\u00e9llo \"world\"\n", "user metadata round-trips")
for name, want in expected.items():
    check(meta.get("crc32." + name) == "%08x" % zlib.crc32(want.tobytes()),
          f"crc32.{name} equals zlib.crc32 of the data")
canon = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                 for k, v in sorted(meta.items()) if not k.startswith("crc32."))
check(meta.get("crc32.__metadata__") == "%08x" % zlib.crc32(canon),
      "crc32.__metadata__ equals zlib.crc32 of the canonical metadata")

raw = open(ours, "rb").read()
(hlen,) = struct.unpack("<Q", raw[:8])
check(hlen % 8 == 0 and raw[8 + hlen - 1:8 + hlen] in (b" ", b"}"), "header padded to 8 bytes")
import json
hdr = json.loads(raw[8:8 + hlen])
check(all(v["data_offsets"][0] % 4 == 0 for k, v in hdr.items()
          if k != "__metadata__" and v["dtype"] in ("F32", "I32")), "4-byte tensors 4-aligned")

# ---- reference -> libtransfer ------------------------------------------------------------------
g = torch.Generator().manual_seed(1234)
special = torch.tensor([0.0, -0.0, 1e-45, -3.4028235e38, 1.0 / 3.0, 65504.0, -1e-38],
                       dtype=torch.float32)
theirs_tensors = {
    "special": special,
    "w2": torch.randn(3, 5, generator=g),
    "w3": torch.randn(2, 3, 4, generator=g),
    "w4": torch.randn(2, 2, 2, 3, generator=g),
    "i32": torch.randint(-2**31, 2**31 - 1, (9,), generator=g, dtype=torch.int64).to(torch.int32),
    "bytes": torch.randint(0, 256, (17,), generator=g, dtype=torch.int64).to(torch.uint8),
    "empty_bytes": torch.zeros(0, dtype=torch.uint8),
    "a.b/c d": torch.ones(1),
}
theirs = os.path.join(WORK, "from_torch.safetensors")
torch_save(theirs_tensors, theirs, metadata={"format": "pt", "k": "v\u00fc"})
res = dump(theirs)
check(isinstance(res, tuple), f"libtransfer loads the torch file ({res if isinstance(res, str) else 'ok'})")
if isinstance(res, tuple):
    entries, meta = res
    check(sorted(entries) == sorted(theirs_tensors), "same names")
    for name, t in theirs_tensors.items():
        e = entries.get(name)
        want_dtype = {torch.float32: "F32", torch.int32: "I32", torch.uint8: "U8"}[t.dtype]
        ok = e is not None and e[0] == want_dtype and e[2] == t.numpy().tobytes()
        if want_dtype != "U8":
            ok = ok and e[1] == tuple(t.shape)
        check(ok, f"{name}: identical bytes and shape ({want_dtype}, {tuple(t.shape)})")
    check(meta == {"format": "pt", "k": "v\u00fc"}, "metadata identical")

# numpy writer, and the libtransfer file re-saved by the reference writer
np_file = os.path.join(WORK, "from_numpy.safetensors")
np_save({k: v for k, v in expected.items()}, np_file)
res = dump(np_file)
check(isinstance(res, tuple) and all(res[0][k][2] == v.tobytes() for k, v in expected.items()),
      "libtransfer loads the numpy file with identical bytes")

# F16 tensors, and I8 tensors with their per-row F32 scales (docs/checkpoints.md), load as F32
g = torch.Generator().manual_seed(5)
half = (torch.randn(3, 7, generator=g) * 100).half()
q8 = torch.randint(-127, 128, (4, 5), generator=g, dtype=torch.int8)
s8 = torch.rand(4, generator=g) * 0.1
path = os.path.join(WORK, "quantized.safetensors")
torch_save({"h": half, "w": q8, "w.scale": s8}, path)
res = dump(path)
check(isinstance(res, tuple) and sorted(res[0]) == ["h", "w"], f"quantised file: entries {res}")
if isinstance(res, tuple):
    check(res[0]["h"][:2] == ("F32", (3, 7)) and res[0]["h"][2] == half.float().numpy().tobytes(),
          "F16: the same values as torch's .float()")
    deq = q8.float() * s8[:, None]
    check(res[0]["w"][:2] == ("F32", (4, 5)) and res[0]["w"][2] == deq.numpy().tobytes(),
          "I8 + scale: the same values as torch's q.float() * scale[:, None]")
torch_save({"w": q8}, path)
res = dump(path)
check(isinstance(res, str) and res.startswith("ERROR TF_STATUS_EFORMAT") and "w.scale" in res,
      f"I8 without its scale: {res}")

# unsupported dtypes are refused with ENOTSUP, not misread
for dt in (torch.bfloat16, torch.float64, torch.int64, torch.bool):
    path = os.path.join(WORK, f"unsupported_{str(dt).split('.')[-1]}.safetensors")
    torch_save({"x": torch.zeros(4, dtype=dt)}, path)
    res = dump(path)
    check(isinstance(res, str) and res.startswith("ERROR TF_STATUS_ENOTSUP"), f"{dt}: {res}")

# a file that claims to be libtransfer's but carries no CRCs is rejected
fake = os.path.join(WORK, "fake_libtransfer.safetensors")
torch_save({"x": torch.ones(2)}, fake, metadata={"format": "libtransfer", "format_version": "1"})
res = dump(fake)
check(isinstance(res, str) and res.startswith("ERROR TF_STATUS_EFORMAT"), f"fake libtransfer file: {res}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all interop checks passed")
