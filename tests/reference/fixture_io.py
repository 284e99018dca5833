# SPDX-License-Identifier: MIT
"""Write reference fixtures in the "TFX1" format read by tests/support/tf_fixture.c.

    magic "TFX1", uint32 count, then per entry: uint32 name_len, name, uint32 dtype
    (1 f32, 2 i32, 3 f64), uint32 ndim, int64 dims[ndim], little-endian data.
"""
import struct

import numpy as np

_DTYPES = {np.dtype(np.float32): 1, np.dtype(np.int32): 2, np.dtype(np.float64): 3}


def write_fixture(path, entries):
    """entries: dict name -> array-like (numpy array or torch tensor; f32, i32 or f64)."""
    with open(path, "wb") as f:
        f.write(b"TFX1")
        f.write(struct.pack("<I", len(entries)))
        for name, value in entries.items():
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            arr = np.ascontiguousarray(np.asarray(value))
            if arr.dtype == np.int64:
                arr = arr.astype(np.int32)
            if arr.dtype not in _DTYPES:
                raise TypeError(f"{name}: dtype {arr.dtype} is not f32, i32 or f64")
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)))
            f.write(raw)
            f.write(struct.pack("<II", _DTYPES[arr.dtype], arr.ndim))
            for d in arr.shape:
                f.write(struct.pack("<q", d))
            f.write(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
