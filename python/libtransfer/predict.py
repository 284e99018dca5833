# SPDX-License-Identifier: MIT
"""Serving predictions: Predictor (tf_predictor_t, transfer/predict.h), a read-only copy of a
fine-tuned model that any number of Python threads share.

    p = lt.Predictor.load(ctx, "spam.safetensors")
    probs = p.predict(["Subject: free money", "Subject: lunch?"])   # (2, C) numpy array
    p.top_k(probs, 1)                   # the best class of each row, and its probability
    p.label_sets(probs, [0.3, 0.6])     # a multi-label model: a bool per label and row
    p.predict_features([x1, x2])        # a numeric model: (steps, F) arrays

The C calls run without the GIL (ctypes releases it around every foreign call), so threads
predicting at once run in parallel on the cores."""
from __future__ import annotations

import ctypes
import os
from typing import Any, List, Optional, Sequence, Tuple, Union

from ._lib import EINVAL, Handle, TransferValueError, declare, lib
from .core import Context

try:
    import numpy as _np
except ImportError:  # numpy is optional: lists work too
    _np = None

_u32, _i32, _i64, _vp, _sz = (ctypes.c_uint32, ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p,
                              ctypes.c_size_t)
P = ctypes.POINTER
H = P(_vp)
_f32 = ctypes.c_float


class _PredictorOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("num_threads", _i32),
                ("max_batch", _i32), ("dtype", _i32), ("reserved", _i32), ("input_table", _i32),
                ("int8_weights", _i32)]


_PREDICTOR_OPTS_V = 2

declare("tf_predictor_opts_init", "status", [P(_PredictorOpts), _u32])
declare("tf_predictor_create", "status", [H, _vp, P(_PredictorOpts)])
declare("tf_predictor_load", "status", [H, _vp, ctypes.c_char_p, P(_PredictorOpts)], paths=(2,))
declare("tf_predictor_free", None, [_vp])
declare("tf_predictor_num_classes", _i32, [_vp])
declare("tf_predictor_multilabel", _i32, [_vp])
declare("tf_predictor_num_features", _i32, [_vp])
declare("tf_predictor_resident_bytes", _sz, [_vp])
declare("tf_predict_texts", "status", [_vp, P(ctypes.c_char_p), P(_sz), _sz, P(_f32), _sz])
declare("tf_predict_ids_batch", "status", [_vp, P(P(_i32)), P(_i64), _sz, P(_f32), _sz])
declare("tf_predict_features_batch", "status", [_vp, P(P(_f32)), P(_i64), _sz, P(_f32), _sz])
declare("tf_predict_top_k", "status", [_vp, P(_f32), _sz, _i32, P(_i32), P(_f32), _sz, P(_sz)])
declare("tf_predict_label_sets", "status", [_vp, P(_f32), _sz, P(_f32), P(ctypes.c_uint8), _sz,
                                            P(_sz)])


_INT8 = {"auto": 0, "dequantize": 1, "resident": 2}  # TF_PREDICT_INT8_*


def _opts(num_threads: int, max_batch: int, input_table: Optional[bool], int8: str) -> _PredictorOpts:
    o = _PredictorOpts()
    lib.tf_predictor_opts_init(ctypes.byref(o), _PREDICTOR_OPTS_V)
    o.num_threads = num_threads
    o.max_batch = max_batch
    o.input_table = -1 if input_table is None else int(input_table)
    if int8 not in _INT8:
        raise TransferValueError(EINVAL, f"Predictor: int8 is {int8!r}; use 'auto', 'dequantize' or "
                                 "'resident'")
    o.int8_weights = _INT8[int8]
    return o


class Predictor(Handle):
    """A read-only predictor (tf_predictor_t) made from a fine-tuned Model or a checkpoint.
    Thread-safe: share one between threads. `num_threads` are the threads of one call (0: the
    context's), `max_batch` the sequences run together, `input_table` precomputes every word's
    first-layer input projection (faster, more memory; a token LSTM model only; None: when the
    table takes at most 64 MiB), `int8` how
    int8 recurrent weights run (tf_predictor_opts_t::int8_weights): 'auto' keeps an int8
    export's where that is as fast, 'dequantize' never, 'resident' always (an f32 model's are
    quantised)."""

    _free = staticmethod(lib.tf_predictor_free)

    @classmethod
    def from_model(cls, model: Any, num_threads: int = 0, max_batch: int = 64,
                   input_table: Optional[bool] = None, int8: str = "auto") -> "Predictor":
        """Copy what prediction needs from a fine-tuned model (which may then change or go)."""
        h = _vp()
        o = _opts(num_threads, max_batch, input_table, int8)
        lib.tf_predictor_create(ctypes.byref(h), model.handle, ctypes.byref(o))
        return cls(model._ctx, h)

    @classmethod
    def load(cls, ctx: Context, path: Union[str, bytes, "os.PathLike[str]"], num_threads: int = 0,
             max_batch: int = 64, input_table: Optional[bool] = None, int8: str = "auto") -> "Predictor":
        """A predictor straight from a checkpoint of a fine-tuned model."""
        h = _vp()
        o = _opts(num_threads, max_batch, input_table, int8)
        lib.tf_predictor_load(ctypes.byref(h), ctx.handle, os.fsencode(path), ctypes.byref(o))
        return cls(ctx, h)

    @property
    def num_classes(self) -> int:
        """C: the probabilities per input."""
        return lib.tf_predictor_num_classes(self.handle)

    @property
    def is_multilabel(self) -> bool:
        """True when each label has its own probability."""
        return bool(lib.tf_predictor_multilabel(self.handle))

    @property
    def num_features(self) -> int:
        """F: the values per step of a numeric predictor (0 for a token one)."""
        return lib.tf_predictor_num_features(self.handle)

    @property
    def resident_bytes(self) -> int:
        """Bytes held: weights, vocabulary and the workspaces grown so far."""
        return lib.tf_predictor_resident_bytes(self.handle)

    def _out(self, n: int) -> Any:
        C = self.num_classes
        if _np is not None:
            a = _np.empty((n, C), dtype=_np.float32)
            return a, a.ctypes.data_as(P(_f32)), a
        buf = (_f32 * max(n * C, 1))()
        return buf, ctypes.cast(buf, P(_f32)), None

    def _rows(self, buf: Any, array: Any, n: int) -> Any:
        if array is not None:
            return array
        C = self.num_classes
        return [list(buf[i * C:(i + 1) * C]) for i in range(n)]

    def predict(self, texts: Sequence[Union[str, bytes]]) -> Any:
        """Class probabilities of texts: an (N, C) float32 numpy array (a list of N lists
        without numpy), rows in the order of `texts`."""
        enc = [t.encode() if isinstance(t, str) else bytes(t) for t in texts]
        n = len(enc)
        arr = (ctypes.c_char_p * max(n, 1))(*enc)
        lens = (_sz * max(n, 1))(*[len(b) for b in enc])
        buf, ptr, array = self._out(n)
        lib.tf_predict_texts(self.handle, arr, lens, n, ptr, n * self.num_classes)
        return self._rows(buf, array, n)

    def predict_ids(self, seqs: Sequence[Sequence[int]]) -> Any:
        """Class probabilities of sequences of token ids (lists or numpy arrays), as predict()."""
        n = len(seqs)
        keep: List[Any] = []
        ptrs = (P(_i32) * max(n, 1))()
        lens = (_i64 * max(n, 1))()
        for i, s in enumerate(seqs):
            if _np is not None:
                a = _np.ascontiguousarray(s, dtype=_np.int32)
                ptrs[i] = a.ctypes.data_as(P(_i32))
            else:
                a = (_i32 * max(len(s), 1))(*s)
                ptrs[i] = ctypes.cast(a, P(_i32))
            keep.append(a)
            lens[i] = len(s)
        buf, ptr, array = self._out(n)
        lib.tf_predict_ids_batch(self.handle, ptrs, lens, n, ptr, n * self.num_classes)
        return self._rows(buf, array, n)

    def predict_features(self, seqs: Sequence[Any]) -> Any:
        """Class probabilities of numeric sequences (a numeric predictor): each a (steps, F)
        array or a list of `steps` rows of F floats, raw values (the model's standardisation
        is applied inside); rows of the result as predict()."""
        F = self.num_features
        n = len(seqs)
        keep: List[Any] = []
        ptrs = (P(_f32) * max(n, 1))()
        steps = (_i64 * max(n, 1))()
        for i, s in enumerate(seqs):
            if _np is not None:
                a = _np.ascontiguousarray(s, dtype=_np.float32)
                shape = a.shape
            else:
                rows = [[float(v) for v in row] for row in s]
                shape = (len(rows), len(rows[0]) if rows else 0)
                if any(len(row) != shape[1] for row in rows):
                    shape = (len(rows), -1)
                flat = [v for row in rows for v in row]
                a = (_f32 * max(len(flat), 1))(*flat)
            if F and (len(shape) != 2 or shape[1] != F):
                raise TransferValueError(EINVAL, f"Predictor.predict_features: sequence {i} has "
                                         f"shape {tuple(shape)}; give (steps, {F}) values")
            ptrs[i] = ctypes.cast(a.ctypes.data if _np is not None else a, P(_f32))
            steps[i] = shape[0]
            keep.append(a)
        buf, ptr, array = self._out(n)
        lib.tf_predict_features_batch(self.handle, ptrs, steps, n, ptr, n * self.num_classes)
        return self._rows(buf, array, n)

    def top_k(self, probs: Any, k: int) -> Tuple[Any, Any]:
        """The k most probable classes of each row of `probs` (as predict() returns them), best
        first: (class ids, their probabilities), each N x k."""
        C = self.num_classes
        if _np is not None:
            p = _np.ascontiguousarray(probs, dtype=_np.float32).reshape(-1, C)
            n = p.shape[0]
            ids = _np.empty((n, k), dtype=_np.int32)
            scores = _np.empty((n, k), dtype=_np.float32)
            lib.tf_predict_top_k(self.handle, p.ctypes.data_as(P(_f32)), n, k,
                                 ids.ctypes.data_as(P(_i32)), scores.ctypes.data_as(P(_f32)),
                                 ids.size, None)
            return ids, scores
        flat = [v for row in probs for v in row]
        n = len(flat) // C if C else 0
        pin = (_f32 * max(len(flat), 1))(*flat)
        ids_c = (_i32 * max(n * k, 1))()
        sc_c = (_f32 * max(n * k, 1))()
        lib.tf_predict_top_k(self.handle, pin, n, k, ids_c, sc_c, n * k, None)
        return ([list(ids_c[i * k:(i + 1) * k]) for i in range(n)],
                [list(sc_c[i * k:(i + 1) * k]) for i in range(n)])

    def label_sets(self, probs: Any, thresholds: Any = None) -> Any:
        """The label sets of a multi-label predictor's probabilities (as predict() returns them):
        label c is in row i's set when probs[i][c] >= thresholds[c]. `thresholds` holds C values
        in [0, 1], or one value for every label; None is 0.5 each. Returns an (N, C) bool numpy
        array (N lists of C bools without numpy)."""
        C = self.num_classes
        if thresholds is not None:
            th = [float(thresholds)] * C if isinstance(thresholds, (int, float)) \
                else [float(v) for v in thresholds]
            if len(th) != C:
                raise TransferValueError(EINVAL, f"Predictor.label_sets: {len(th)} thresholds "
                                         f"for {C} labels")
            th_c = (_f32 * C)(*th)
        else:
            th_c = None
        if _np is not None:
            p = _np.ascontiguousarray(probs, dtype=_np.float32).reshape(-1, C)
            n = p.shape[0]
            sets = _np.empty((n, C), dtype=_np.uint8)
            lib.tf_predict_label_sets(self.handle, p.ctypes.data_as(P(_f32)), n, th_c,
                                      sets.ctypes.data_as(P(ctypes.c_uint8)), sets.size, None)
            return sets.astype(bool)
        flat = [v for row in probs for v in row]
        n = len(flat) // C if C else 0
        pin = (_f32 * max(len(flat), 1))(*flat)
        out = (ctypes.c_uint8 * max(n * C, 1))()
        lib.tf_predict_label_sets(self.handle, pin, n, th_c, out, n * C, None)
        return [[bool(v) for v in out[i * C:(i + 1) * C]] for i in range(n)]
