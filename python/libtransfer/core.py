# SPDX-License-Identifier: MIT
"""Context and tensors."""
from __future__ import annotations

import ctypes
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ._lib import EINVAL, Handle, Owner, TransferValueError, close_all, declare, lib

try:
    import numpy as _np
except ImportError:  # numpy is optional: lists work too
    _np = None

#: Element types of a Tensor: 32-bit float and 32-bit signed integer.
F32, I32 = 1, 2
_DTYPE_NAME = {F32: "F32", I32: "I32"}
_CTYPE: Dict[int, Any] = {F32: ctypes.c_float, I32: ctypes.c_int32}
_NP_DTYPE = {F32: "float32", I32: "int32"}


class _CtxOpts(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32), ("version", ctypes.c_uint32),
        ("allocator", ctypes.c_void_p), ("num_threads", ctypes.c_int32),
        ("log_level", ctypes.c_int32), ("seed", ctypes.c_uint64),
        ("log_cb", ctypes.c_void_p), ("log_payload", ctypes.c_void_p),
    ]


_LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)

declare("tf_ctx_opts_init", "status", [ctypes.POINTER(_CtxOpts), ctypes.c_uint32])
declare("tf_ctx_create", "status", [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_CtxOpts)])
declare("tf_ctx_free", None, [ctypes.c_void_p])
declare("tf_ctx_num_threads", ctypes.c_int32, [ctypes.c_void_p])
declare("tf_ctx_seed", ctypes.c_uint64, [ctypes.c_void_p])
declare("tf_ctx_live_objects", ctypes.c_uint64, [ctypes.c_void_p])
declare("tf_ctx_allocated_bytes", ctypes.c_uint64, [ctypes.c_void_p])
declare("tf_tensor_create", "status", [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                                       ctypes.c_int32, ctypes.POINTER(ctypes.c_int64), ctypes.c_uint32])
declare("tf_tensor_free", None, [ctypes.c_void_p])
declare("tf_tensor_dtype", ctypes.c_int32, [ctypes.c_void_p])
declare("tf_tensor_ndim", ctypes.c_uint32, [ctypes.c_void_p])
declare("tf_tensor_dim", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_uint32])
declare("tf_tensor_numel", ctypes.c_int64, [ctypes.c_void_p])
declare("tf_tensor_nbytes", ctypes.c_size_t, [ctypes.c_void_p])
declare("tf_tensor_copy_from", "status", [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t])
declare("tf_tensor_copy_to", "status", [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t])
declare("tf_tensor_fill", "status", [ctypes.c_void_p, ctypes.c_double])


class Context(Owner):
    """A libtransfer context: allocator, threads, random seed and log of the objects made from
    it. Use as a context manager, or call close(); a collected context is freed too (its objects
    keep it alive until they are closed or collected).

    ``threads`` is the number of worker threads (0: the machine's cores), ``seed`` the random
    seed, ``log`` an optional callable ``log(level, message)`` receiving the library's messages
    of ``log_level`` and more urgent."""

    def __init__(self, threads: int = 0, seed: int = 42,
                 log: Optional[Callable[[int, str], None]] = None, log_level: int = 2):
        super().__init__()
        self._h = ctypes.c_void_p()
        opts = _CtxOpts()
        lib.tf_ctx_opts_init(ctypes.byref(opts), 1)
        opts.num_threads = threads
        opts.seed = seed
        opts.log_level = log_level
        self._log_cb = None
        if log is not None:
            self._log_cb = _LOG_CB(lambda lvl, msg, _p: log(lvl, msg.decode("utf-8", "replace")))
            opts.log_cb = ctypes.cast(self._log_cb, ctypes.c_void_p)
        lib.tf_ctx_create(ctypes.byref(self._h), ctypes.byref(opts))
        # The callback stays alive as long as the context it is called from.
        self._fin = weakref.finalize(self, _free_context, self._finalizers, self._h,
                                     self._log_cb)

    @property
    def handle(self) -> ctypes.c_void_p:
        """The C handle; a closed context raises ValueError (a TransferError, EINVAL)."""
        if not self._fin.alive:
            raise TransferValueError(EINVAL, "Context is closed")
        return self._h

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return not self._fin.alive

    @property
    def threads(self) -> int:
        """The number of worker threads."""
        return lib.tf_ctx_num_threads(self.handle)

    @property
    def seed(self) -> int:
        """The random seed."""
        return lib.tf_ctx_seed(self.handle)

    @property
    def live_objects(self) -> int:
        """How many library objects made from this context are not freed yet."""
        return lib.tf_ctx_live_objects(self.handle)

    @property
    def allocated_bytes(self) -> int:
        """Bytes currently allocated through this context's allocator."""
        return lib.tf_ctx_allocated_bytes(self.handle)

    def close(self) -> None:
        """Free the context; objects created from it are closed first."""
        self._fin()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<libtransfer.Context closed>"
        return (f"<libtransfer.Context threads={self.threads} seed={self.seed} "
                f"live_objects={self.live_objects}>")


def _free_context(children: Dict[int, weakref.finalize], h: ctypes.c_void_p,
                  _log_cb: object) -> None:
    close_all(children)
    lib.tf_ctx_free(h)


class Tensor(Handle):
    """A tensor owned by libtransfer (F32 or I32, 1 to 4 dimensions), made from a context."""

    _free = staticmethod(lib.tf_tensor_free)

    def __init__(self, ctx: Context, shape: Sequence[int], dtype: int = F32):
        shape = tuple(int(s) for s in shape)
        arr = (ctypes.c_int64 * len(shape))(*shape)
        h = ctypes.c_void_p()
        lib.tf_tensor_create(ctypes.byref(h), ctx.handle, dtype, arr, len(shape))
        super().__init__(ctx, h)

    @classmethod
    def from_array(cls, ctx: Context, data: Any, dtype: Optional[int] = None) -> "Tensor":
        """Copy a numpy array (or nested lists) into a new tensor; integers give I32 and
        anything else F32 unless `dtype` says."""
        if _np is not None:
            a = _np.asarray(data)
            if dtype is None:
                dtype = I32 if a.dtype.kind in "iu" else F32
            a = _np.ascontiguousarray(a, dtype=_NP_DTYPE[dtype])
            t = cls(ctx, a.shape, dtype)
            lib.tf_tensor_copy_from(t.handle, a.ctypes.data, a.nbytes)
            return t
        flat, shape = _flatten(data)
        if dtype is None:
            dtype = I32 if all(isinstance(v, int) for v in flat) else F32
        t = cls(ctx, shape, dtype)
        buf = (_CTYPE[dtype] * len(flat))(*flat)
        lib.tf_tensor_copy_from(t.handle, buf, ctypes.sizeof(buf))
        return t

    @property
    def shape(self) -> Tuple[int, ...]:
        """The dimensions."""
        return shape_of(self.handle)

    @property
    def dtype(self) -> int:
        """The element type, F32 or I32."""
        return lib.tf_tensor_dtype(self.handle)

    def fill(self, value: float) -> None:
        """Set every element to `value`."""
        lib.tf_tensor_fill(self.handle, float(value))

    def to_list(self) -> List[Any]:
        """A copy of the elements as nested lists."""
        n = lib.tf_tensor_numel(self.handle)
        buf = (_CTYPE[self.dtype] * n)()
        lib.tf_tensor_copy_to(self.handle, buf, ctypes.sizeof(buf))
        return _reshape(list(buf), self.shape)

    def numpy(self) -> Any:
        """A copy of the elements as a numpy array (needs numpy)."""
        if _np is None:
            raise RuntimeError("numpy is not installed; use to_list()")
        a = _np.empty(self.shape, dtype=_NP_DTYPE[self.dtype])
        lib.tf_tensor_copy_to(self.handle, a.ctypes.data, a.nbytes)
        return a

    def __repr__(self) -> str:
        return self._repr(lambda: f"shape={self.shape} dtype={_DTYPE_NAME[self.dtype]}")


def shape_of(h: Any) -> Tuple[int, ...]:
    """The dimensions of a tensor handle."""
    return tuple(lib.tf_tensor_dim(h, i) for i in range(lib.tf_tensor_ndim(h)))


def _flatten(data: Any) -> Tuple[List[Any], Tuple[int, ...]]:
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], (list, tuple)):
        parts = [_flatten(d) for d in data]
        flat = [v for p in parts for v in p[0]]
        return flat, (len(data),) + parts[0][1]
    return list(data), (len(data),)


def _reshape(flat: List[Any], shape: Tuple[int, ...]) -> List[Any]:
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
