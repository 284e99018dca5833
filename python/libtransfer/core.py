"""Context and tensors."""
import ctypes

from ._lib import declare, lib

try:
    import numpy as _np
except ImportError:  # numpy is optional: lists work too
    _np = None

F32, I32 = 1, 2
_CTYPE = {F32: ctypes.c_float, I32: ctypes.c_int32}
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


class Context:
    """A libtransfer context. Use as a context manager, or call close().

    ``log`` is an optional callable ``log(level, message)`` receiving the library's messages."""

    def __init__(self, threads=0, seed=42, log=None, log_level=2):
        self._h = ctypes.c_void_p()
        self._children = []
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

    @property
    def handle(self):
        if not self._h:
            raise ValueError("context is closed")
        return self._h

    @property
    def threads(self):
        return lib.tf_ctx_num_threads(self.handle)

    @property
    def seed(self):
        return lib.tf_ctx_seed(self.handle)

    @property
    def live_objects(self):
        return lib.tf_ctx_live_objects(self.handle)

    def close(self):
        """Free the context; objects created from it are closed first."""
        for child in reversed(self._children):
            child.close()
        self._children = []
        if self._h:
            lib.tf_ctx_free(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Tensor:
    """A tensor owned by libtransfer (f32 or i32, 1 to 4 dimensions)."""

    def __init__(self, ctx, shape, dtype=F32):
        shape = tuple(int(s) for s in shape)
        arr = (ctypes.c_int64 * len(shape))(*shape)
        self._ctx = ctx
        self._h = ctypes.c_void_p()
        lib.tf_tensor_create(ctypes.byref(self._h), ctx.handle, dtype, arr, len(shape))
        ctx._children.append(self)

    @classmethod
    def from_array(cls, ctx, data, dtype=None):
        """Copy a numpy array (or nested lists) into a new tensor."""
        if _np is not None:
            a = _np.asarray(data)
            if dtype is None:
                dtype = I32 if a.dtype.kind in "iu" else F32
            a = _np.ascontiguousarray(a, dtype=_NP_DTYPE[dtype])
            t = cls(ctx, a.shape, dtype)
            lib.tf_tensor_copy_from(t._h, a.ctypes.data, a.nbytes)
            return t
        flat, shape = _flatten(data)
        dtype = dtype or (I32 if all(isinstance(v, int) for v in flat) else F32)
        t = cls(ctx, shape, dtype)
        buf = (_CTYPE[dtype] * len(flat))(*flat)
        lib.tf_tensor_copy_from(t._h, buf, ctypes.sizeof(buf))
        return t

    @property
    def shape(self):
        return tuple(lib.tf_tensor_dim(self._h, i) for i in range(lib.tf_tensor_ndim(self._h)))

    @property
    def dtype(self):
        return lib.tf_tensor_dtype(self._h)

    def fill(self, value):
        lib.tf_tensor_fill(self._h, float(value))

    def to_list(self):
        n = lib.tf_tensor_numel(self._h)
        buf = (_CTYPE[self.dtype] * n)()
        lib.tf_tensor_copy_to(self._h, buf, ctypes.sizeof(buf))
        return _reshape(list(buf), self.shape)

    def numpy(self):
        """A copy of the elements as a numpy array (needs numpy)."""
        if _np is None:
            raise RuntimeError("numpy is not installed; use to_list()")
        a = _np.empty(self.shape, dtype=_NP_DTYPE[self.dtype])
        lib.tf_tensor_copy_to(self._h, a.ctypes.data, a.nbytes)
        return a

    def close(self):
        if self._h:
            lib.tf_tensor_free(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _flatten(data):
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], (list, tuple)):
        parts = [_flatten(d) for d in data]
        flat = [v for p in parts for v in p[0]]
        return flat, (len(data),) + parts[0][1]
    return list(data), (len(data),)


def _reshape(flat, shape):
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
