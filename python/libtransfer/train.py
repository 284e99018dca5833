# SPDX-License-Identifier: MIT
"""Vocabularies, loaders and models: pre-train, fine-tune, evaluate, predict, save and load.

    import libtransfer as lt
    with lt.Context(seed=1) as ctx:
        with lt.Loader.lm_with_vocab(ctx, ["corpus.txt"], max_size=8000) as (lm, vocab):
            model = lt.Model.create(ctx, vocab, embedding_dim=100, hidden_size=200)
            model.pretrain(lm, epochs=1, progress=lambda p: print(p.step, p.loss))
        with lt.Loader.labeled(ctx, model.vocab, "train.tsv") as train, \
             lt.Loader.labeled(ctx, model.vocab, "valid.tsv", labels=train.labels) as valid:
            model.finetune(train, valid, epochs=4, class_weight="balanced")
        print(model.predict_text("Subject: free money"), model.labels)
        print(model.adapt_prior("later.txt"))   # decide for the class balance of new texts

Options are keyword arguments named like the fields of the C options structs (`batch_size`,
`bptt`, `epochs`, `lr`, ...); enumerations also take their names as strings (`split="train"`,
`strategy="gradual"`, `metric="macro_f1"`, `class_weight="balanced"`). Every failing call raises
TransferError.

A classifier decides for the class frequencies of its training data. Model.prior() reads them,
Model.set_prior() sets the frequencies to decide for, Model.adapt_prior() estimates them from
unlabelled texts of new data, and Model.calibrate() fits the temperature that makes the
probabilities fit for that estimate (fine-tuning with a validation loader does it).
"""
from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ._lib import EINVAL, ECANCELED, Handle, TransferValueError, check, declare, lib
from .core import Context, shape_of

#: A file name: str, bytes or os.PathLike.
PathLike = Union[str, bytes, "os.PathLike[str]"]
#: One file name or several.
Paths = Union[PathLike, Sequence[PathLike]]

try:
    import numpy as _np
except ImportError:  # numpy is optional: lists work too
    _np = None

_u32, _i32, _i64, _u64, _dbl, _vp = (ctypes.c_uint32, ctypes.c_int32, ctypes.c_int64,
                                     ctypes.c_uint64, ctypes.c_double, ctypes.c_void_p)


# ---- the C structs, field for field ---------------------------------------------------------

class _VocabOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("kind", _i32), ("lowercase", _i32),
                ("split_punct", _i32), ("min_count", _i32), ("max_size", _i32)]


class _LoaderOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("batch_size", _i32), ("bptt", _i32),
                ("bptt_random", _i32), ("shuffle", _i32), ("drop_last", _i32), ("max_len", _i32),
                ("bucket", _i32), ("skip_bad_lines", _i32), ("split", _i32),
                ("num_features", _i32), ("has_label", _i32), ("next_step", _i32),
                ("standardize", _i32), ("num_labels", _i32),
                ("labels", ctypes.POINTER(ctypes.c_char_p)), ("valid_fraction", _dbl),
                ("seed", _u64)]


class _ModelOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("input", _i32), ("num_features", _i32),
                ("embedding_dim", _i32), ("hidden_size", _i32), ("num_layers", _i32),
                ("bidirectional", _i32), ("dropout", _dbl), ("tie_weights", _i32),
                ("reserved", _i32), ("cell", _i32), ("softmax", _i32), ("div_value", _dbl),
                ("cutoffs", _i32 * 8)]


class _ImportOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32),
                ("labels", ctypes.POINTER(ctypes.c_char_p)), ("num_labels", _i32),
                ("multi_label", _i32), ("pooling", _u32), ("reserved", _i32),
                ("head_dropout", _dbl)]


class _ExportOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("dtype", _u32), ("reserved", _u32),
                ("min_elements", _i64)]


class _OptimOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("algorithm", _i32), ("amsgrad", _i32),
                ("lr", _dbl), ("momentum", _dbl), ("dampening", _dbl), ("nesterov", _i32),
                ("schedule", _i32), ("weight_decay", _dbl), ("beta1", _dbl), ("beta2", _dbl),
                ("eps", _dbl), ("max_grad_norm", _dbl), ("total_steps", _i64),
                ("warmup_steps", _i64), ("min_lr_ratio", _dbl), ("cut_frac", _dbl),
                ("ratio", _dbl), ("pct_start", _dbl), ("div_factor", _dbl),
                ("final_div_factor", _dbl)]


class Progress(ctypes.Structure):
    """What a progress callback receives (tf_progress_t): phase, epoch, step, total_steps,
    epoch_fraction, loss, lr, items_per_s, eta_s, valid_metric (NaN before validation)."""
    _fields_ = [("struct_size", _u32), ("version", _u32), ("phase", _i32), ("epoch", _i32),
                ("step", _i64), ("total_steps", _i64), ("epoch_fraction", _dbl), ("loss", _dbl),
                ("lr", _dbl), ("items_per_s", _dbl), ("eta_s", _dbl), ("valid_metric", _dbl)]


_PROGRESS_CB = ctypes.CFUNCTYPE(_i32, ctypes.POINTER(Progress), _vp)


class _PretrainOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("epochs", _i32), ("reserved", _i32),
                ("max_steps", _i64), ("stop_after_steps", _i64),
                ("optim", ctypes.POINTER(_OptimOpts)), ("clip_norm", _dbl),
                ("valid_every", _i64), ("progress_every", _i64), ("progress", _PROGRESS_CB),
                ("progress_payload", _vp)]


class _FinetuneOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("strategy", _i32), ("pooling", _u32),
                ("epochs", _i32), ("patience", _i32), ("metric", _i32), ("reserved", _i32),
                ("stop_after_steps", _i64), ("lr", _dbl), ("discriminative", _dbl),
                ("weight_decay", _dbl), ("head_dropout", _dbl), ("clip_norm", _dbl),
                ("schedule", _i32), ("reset_head", _i32), ("progress_every", _i64),
                ("progress", _PROGRESS_CB), ("progress_payload", _vp),
                # version 2
                ("class_weight", _i32), ("calibrate", _i32),
                ("class_weights", ctypes.POINTER(ctypes.c_float)), ("num_class_weights", _i64),
                # version 3
                ("optim", ctypes.POINTER(_OptimOpts))]


class _DistillOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("epochs", _i32), ("patience", _i32),
                ("metric", _i32), ("pooling", _u32), ("temperature", _dbl), ("alpha", _dbl),
                ("lr", _dbl), ("weight_decay", _dbl), ("head_dropout", _dbl), ("clip_norm", _dbl),
                ("stop_after_steps", _i64), ("progress_every", _i64),
                ("progress", _PROGRESS_CB), ("progress_payload", _vp),
                ("optim", ctypes.POINTER(_OptimOpts)), ("calibrate", _i32), ("reserved", _i32),
                ("max_steps", _i64)]


class _AdaptOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("max_iter", _i32), ("reserved", _i32),
                ("tol", _dbl), ("min_prior", _dbl)]


class _Report(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("steps", _i64), ("epochs", _i32),
                ("best_epoch", _i32), ("train_loss", _dbl), ("valid_loss", _dbl),
                ("valid_metric", _dbl), ("best_metric", _dbl), ("seconds", _dbl),
                ("items_per_s", _dbl)]


class _Metrics(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("num_sequences", _i64),
                ("num_classes", _i32), ("reserved", _i32), ("loss", _dbl), ("accuracy", _dbl), ("macro_f1", _dbl)]


class _ExplainOpts(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("steps", _i32), ("rule", _i32),
                ("baseline", _i32), ("target_class", _i32), ("batch_size", _i32),
                ("reserved", _i32)]


class _ExplainResult(ctypes.Structure):
    _fields_ = [("struct_size", _u32), ("version", _u32), ("num_steps", _i64),
                ("target_class", _i32), ("predicted_class", _i32), ("f_input", _dbl),
                ("f_baseline", _dbl), ("sum", _dbl), ("gap", _dbl)]


# Versions of the structs above (the TF_*_VERSION macros).
_VOCAB_OPTS_V = _LOADER_OPTS_V = _OPTIM_OPTS_V = 1
_MODEL_OPTS_V = 3
_PRETRAIN_OPTS_V = _REPORT_V = _METRICS_V = _ADAPT_OPTS_V = _IMPORT_OPTS_V = 1
_DISTILL_OPTS_V = 2
_EXPORT_OPTS_V = 1
_EXPORT_DTYPES = {"f32": 1, "f16": 2, "int8": 3}
_EXPLAIN_OPTS_V = _EXPLAIN_RESULT_V = 1
_FINETUNE_OPTS_V = 3

# Names accepted for enumerations.
_ENUMS = {
    "kind": {"word": 1, "byte": 2, "bpe": 3},
    "split": {"all": 0, "train": 1, "valid": 2},
    "input": {"tokens": 1, "features": 2},
    "cell": {"lstm": 0, "gru": 1},
    "softmax": {"full": 0, "adaptive": 1},
    "strategy": {"full": 1, "frozen": 2, "gradual": 3},
    "metric": {"accuracy": 1, "macro_f1": 2, "loss": 3},
    "algorithm": {"sgd": 1, "adam": 2, "adamw": 3},
    "schedule": {"constant": 0, "warmup_cosine": 1, "warmup_linear": 2,
                 "slanted_triangular": 3, "one_cycle": 4},
    "class_weight": {"none": 1, "balanced": 2},  # 3 (given) comes from a dict of weights
    "rule": {"gl": 1, "trapezoid": 2},
    "baseline": {"zero": 1, "pad": 2, "unk": 3},
}
_CLASS_WEIGHT_GIVEN = 3
_PRIOR_KINDS = {"train": 1, "model": 2, "target": 3}
_POOL = {"last": 1, "mean": 2, "max": 4}

P, H = ctypes.POINTER, ctypes.POINTER(_vp)
declare("tf_vocab_opts_init", "status", [P(_VocabOpts), _u32])
declare("tf_loader_opts_init", "status", [P(_LoaderOpts), _u32])
declare("tf_model_opts_init", "status", [P(_ModelOpts), _u32])
declare("tf_optimizer_opts_init", "status", [P(_OptimOpts), _u32])
declare("tf_pretrain_opts_init", "status", [P(_PretrainOpts), _u32])
declare("tf_finetune_opts_init", "status", [P(_FinetuneOpts), _u32])
declare("tf_distill_opts_init", "status", [P(_DistillOpts), _u32])
declare("tf_train_report_init", "status", [P(_Report), _u32])
declare("tf_metrics_init", "status", [P(_Metrics), _u32])
declare("tf_adapt_opts_init", "status", [P(_AdaptOpts), _u32])
declare("tf_explain_opts_init", "status", [P(_ExplainOpts), _u32])
declare("tf_explain_result_init", "status", [P(_ExplainResult), _u32])
declare("tf_explain_text", "status", [_vp, ctypes.c_char_p, ctypes.c_size_t, P(_ExplainOpts),
                                      P(ctypes.c_float), P(_i32), ctypes.c_size_t,
                                      P(_ExplainResult)])
declare("tf_explain_features", "status", [_vp, P(ctypes.c_float), _i64, P(_ExplainOpts),
                                          P(ctypes.c_float), ctypes.c_size_t, P(_ExplainResult)])

declare("tf_vocab_build_files", "status", [H, _vp, P(ctypes.c_char_p), _u32, P(_VocabOpts)],
        paths=(2,))
declare("tf_vocab_load", "status", [H, _vp, ctypes.c_char_p],
        paths=(2,))
declare("tf_vocab_save", "status", [_vp, ctypes.c_char_p])
declare("tf_vocab_free", None, [_vp])
declare("tf_vocab_size", _i32, [_vp])
declare("tf_vocab_kind", _i32, [_vp])
declare("tf_vocab_token", ctypes.c_char_p, [_vp, _i32, P(ctypes.c_size_t)])
declare("tf_vocab_lookup", _i32, [_vp, ctypes.c_char_p, ctypes.c_size_t])
declare("tf_vocab_serialize", ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_size_t,
                                             P(ctypes.c_size_t)])
declare("tf_vocab_deserialize", "status", [H, _vp, ctypes.c_char_p, ctypes.c_size_t])
declare("tf_vocab_encode", ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_size_t, P(_i32),
                                          ctypes.c_size_t, P(ctypes.c_size_t)])

declare("tf_loader_create_lm", "status", [H, _vp, _vp, P(ctypes.c_char_p), _u32, P(_LoaderOpts)],
        paths=(3,))
declare("tf_loader_create_lm_vocab", "status", [H, H, _vp, P(ctypes.c_char_p), _u32,
                                                P(_VocabOpts), P(_LoaderOpts)],
        paths=(3,))
declare("tf_loader_create_labeled", "status", [H, _vp, _vp, ctypes.c_char_p, P(_LoaderOpts)],
        paths=(3,))
declare("tf_loader_create_multilabel", "status", [H, _vp, _vp, ctypes.c_char_p, P(_LoaderOpts)],
        paths=(3,))
declare("tf_loader_create_tokens", "status", [H, _vp, P(_i32), P(_i64), _i64, P(_i32),
                                              P(_LoaderOpts)])
declare("tf_loader_is_multilabel", _i32, [_vp])
declare("tf_loader_free", None, [_vp])
declare("tf_loader_reset", "status", [_vp])
declare("tf_loader_epoch", _i64, [_vp])
declare("tf_loader_num_items", _i64, [_vp])
declare("tf_loader_num_batches", _i64, [_vp])
declare("tf_loader_num_sequences", _i64, [_vp])
declare("tf_loader_num_labels", _i32, [_vp])
declare("tf_loader_label_name", ctypes.c_char_p, [_vp, _i32])
declare("tf_loader_label_counts", "status", [_vp, P(_i64), ctypes.c_size_t])
declare("tf_loader_num_tokens", _u64, [_vp])
declare("tf_loader_unknown_tokens", _u64, [_vp])

declare("tf_model_create", "status", [H, _vp, _vp, P(_ModelOpts)])
declare("tf_model_free", None, [_vp])
declare("tf_model_vocab", _vp, [_vp])
declare("tf_model_num_classes", _i32, [_vp])
declare("tf_model_is_multilabel", _i32, [_vp])
declare("tf_model_label_name", ctypes.c_char_p, [_vp, _i32])
declare("tf_model_num_params", _i64, [_vp])
declare("tf_model_encoder", _vp, [_vp])
declare("tf_module_num_params", _u32, [_vp])
declare("tf_module_param_at", "status", [P(ctypes.c_char_p), H, H, _vp, _u32])
declare("tf_model_save", "status", [_vp, ctypes.c_char_p])
declare("tf_model_load", "status", [H, _vp, ctypes.c_char_p, _u32],
        paths=(2,))
declare("tf_import_opts_init", "status", [P(_ImportOpts), _u32])
declare("tf_export_opts_init", "status", [P(_ExportOpts), _u32])
declare("tf_model_export", "status", [_vp, ctypes.c_char_p, P(_ExportOpts)], paths=(1,))
declare("tf_model_import", "status", [H, _vp, ctypes.c_char_p, _vp, P(_ModelOpts), P(_ImportOpts)],
        paths=(2,))
declare("tf_model_init_embeddings_file", "status", [_vp, ctypes.c_char_p, P(_i32)], paths=(1,))
# Training calls are checked by hand: a cancel must re-raise the callback's own exception.
declare("tf_pretrain", ctypes.c_int, [_vp, _vp, _vp, P(_PretrainOpts), P(_Report)])
declare("tf_finetune", ctypes.c_int, [_vp, _vp, _vp, P(_FinetuneOpts), P(_Report)])
declare("tf_distill", ctypes.c_int, [_vp, _vp, _vp, _vp, _vp, P(_DistillOpts), P(_Report)])
declare("tf_evaluate", "status", [_vp, _vp, P(_Metrics), P(_i64), ctypes.c_size_t])
declare("tf_predict_ids", "status", [_vp, P(_i32), _i64, P(ctypes.c_float), ctypes.c_size_t])
declare("tf_predict_text", "status", [_vp, ctypes.c_char_p, ctypes.c_size_t, P(ctypes.c_float),
                                      ctypes.c_size_t])
declare("tf_lm_score_text", "status", [_vp, ctypes.c_char_p, ctypes.c_size_t, P(_dbl)])
declare("tf_model_extend_vocab_files", "status", [_vp, P(ctypes.c_char_p), _u32, _i32, _i32,
                                                  P(_i32)],
        paths=(1,))
declare("tf_train_state_save", "status", [_vp, _vp, ctypes.c_char_p])
declare("tf_train_state_load", "status", [_vp, _vp, ctypes.c_char_p],
        paths=(2,))
declare("tf_model_calibrate", "status", [_vp, _vp, P(_dbl)])
declare("tf_adapt_prior", "status", [_vp, _vp, P(_AdaptOpts), P(_i32)])
declare("tf_model_prior", "status", [_vp, _i32, P(_dbl), ctypes.c_size_t])
declare("tf_model_set_prior", "status", [_vp, P(_dbl), ctypes.c_size_t])
declare("tf_model_temperature", _dbl, [_vp])

_MODEL_LOAD_BACKBONE = 0x1


def _invalid(message: str) -> TransferValueError:
    """The error of a bad argument found before calling the library (EINVAL)."""
    return TransferValueError(EINVAL, message)


def _name_of(enum: str, value: int) -> str:
    """The name of an enumeration value (the number itself when it has none)."""
    return next((k for k, v in _ENUMS[enum].items() if v == value), str(value))


def _paths(paths: Paths) -> Tuple[Any, int]:
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    enc = [os.fsencode(p) for p in paths]
    return (ctypes.c_char_p * len(enc))(*enc), len(enc)


def _apply(struct: ctypes.Structure, options: Mapping, what: str,
           hidden: Iterable[str] = ()) -> None:
    """Set struct fields from keyword options (enum names, bools and pooling tuples allowed);
    `hidden` fields are the bindings' own (pointers and their lengths)."""
    names = {f[0] for f in struct._fields_} - {"struct_size", "version", "reserved", *hidden}
    for key, value in options.items():
        if key not in names:
            raise TypeError(f"{what}: unknown option '{key}' (known: {', '.join(sorted(names))})")
        if key in _ENUMS and isinstance(value, str):
            if value not in _ENUMS[key]:
                raise _invalid(f"{what}: {key} must be one of {sorted(_ENUMS[key])}")
            value = _ENUMS[key][value]
        elif key == "cutoffs":
            field = type(getattr(struct, key))
            if len(value) > len(field()):
                raise _invalid(f"{what}: at most {len(field())} cutoffs")
            value = field(*value)
        elif key == "pooling" and not isinstance(value, int):
            value = sum(_POOL[v] for v in ([value] if isinstance(value, str) else value))
        elif isinstance(value, bool):
            value = int(value)
        setattr(struct, key, value)


def _floats_out(buf: Any) -> Any:
    if _np is not None:
        return _np.ctypeslib.as_array(buf).copy()
    return list(buf)


def _array(values: Any, ctype: Any) -> Tuple[Any, Any, int]:
    """A C array of `values` (a list or numpy array): (owner to keep alive, pointer, length)."""
    if _np is not None:
        a = _np.ascontiguousarray(values, dtype=_np.dtype(ctype))
        return a, a.ctypes.data_as(ctypes.POINTER(ctype)), a.size
    a = (ctype * len(values))(*values)
    return a, ctypes.cast(a, ctypes.POINTER(ctype)), len(values)


def _by_label(labels: Sequence[str], values: Any, what: str,
              default: Optional[float] = None) -> List[float]:
    """The values of a {label: value} mapping in the order of `labels`; a label not named gets
    `default`, or is an error without one."""
    if not isinstance(values, Mapping):
        raise TypeError(f"{what}: expected a dict {{label: value}}, got {type(values).__name__}")
    unknown = [k for k in values if k not in labels]
    if unknown:
        raise _invalid(f"{what}: unknown label {unknown[0]!r} (the labels are "
                         f"{', '.join(map(repr, labels))})")
    missing = [name for name in labels if name not in values]
    if missing and default is None:
        raise _invalid(f"{what}: no value for label {missing[0]!r} (give one for each of "
                         f"{', '.join(map(repr, labels))})")
    return [float(values.get(name, default)) for name in labels]


def _read_lines(path: PathLike) -> List[bytes]:
    """The lines of a text file as bytes, without their line ends (the library reads UTF-8)."""
    with open(path, "rb") as f:
        return [line.rstrip(b"\r\n") for line in f]


class Vocab(Handle):
    """A vocabulary (tf_vocab_t). Build one with Vocab.build() or Loader.lm_with_vocab()."""

    _free = staticmethod(lib.tf_vocab_free)

    @classmethod
    def build(cls, ctx: Context, paths: Paths, **options: Any) -> "Vocab":
        """Build from text files (one text per line). Options: kind ("word", "bpe" for
        byte-level BPE subwords, or "byte"), lowercase, split_punct, min_count, max_size."""
        opts = _VocabOpts()
        lib.tf_vocab_opts_init(ctypes.byref(opts), _VOCAB_OPTS_V)
        _apply(opts, options, "Vocab.build")
        arr, n = _paths(paths)
        h = _vp()
        lib.tf_vocab_build_files(ctypes.byref(h), ctx.handle, arr, n, ctypes.byref(opts))
        return cls(ctx, h)

    @classmethod
    def load(cls, ctx: Context, path: PathLike) -> "Vocab":
        """Load a vocabulary saved by save()."""
        h = _vp()
        lib.tf_vocab_load(ctypes.byref(h), ctx.handle, os.fsencode(path))
        return cls(ctx, h)

    def save(self, path: PathLike) -> None:
        """Write the vocabulary to a file (replaced atomically)."""
        lib.tf_vocab_save(self.handle, os.fsencode(path))

    def copy(self) -> "Vocab":
        """An independent copy (owned by the caller)."""
        n = ctypes.c_size_t()
        check(lib.tf_vocab_serialize(self.handle, None, 0, ctypes.byref(n)))
        buf = ctypes.create_string_buffer(n.value + 1)
        check(lib.tf_vocab_serialize(self.handle, buf, n.value + 1, ctypes.byref(n)))
        h = _vp()
        lib.tf_vocab_deserialize(ctypes.byref(h), self._ctx.handle, buf, n.value)
        return Vocab(self._ctx, h)

    def __len__(self) -> int:
        """The number of tokens, special ones included."""
        return lib.tf_vocab_size(self.handle)

    def token(self, i: int) -> str:
        """The token of id `i` (IndexError out of range)."""
        t = lib.tf_vocab_token(self.handle, i, None)
        if t is None:
            raise IndexError(i)
        return t.decode("utf-8", "replace")

    def lookup(self, token: str) -> int:
        """The id of a token (the id of <unk> for an unknown one)."""
        b = token.encode()
        return lib.tf_vocab_lookup(self.handle, b, len(b))

    def encode(self, text: Union[str, bytes]) -> Any:
        """Token ids of a text, str or UTF-8 bytes (a numpy int32 array when numpy is present,
        else a list)."""
        b = text.encode() if isinstance(text, str) else bytes(text)
        n = ctypes.c_size_t()
        check(lib.tf_vocab_encode(self.handle, b, len(b), None, 0, ctypes.byref(n)))
        buf = (_i32 * max(n.value, 1))()
        check(lib.tf_vocab_encode(self.handle, b, len(b), buf, n.value, ctypes.byref(n)))
        ids = list(buf)[:n.value]
        return _np.array(ids, dtype=_np.int32) if _np is not None else ids


    @property
    def kind(self) -> str:
        """How texts are cut into tokens: "word", "bpe" or "byte"."""
        return _name_of("kind", lib.tf_vocab_kind(self.handle))

    def __repr__(self) -> str:
        return self._repr(lambda: f"kind={self.kind} size={len(self)}")


class Loader(Handle):
    """A data loader (tf_loader_t). Options: batch_size, bptt, bptt_random, shuffle, drop_last,
    max_len, bucket, skip_bad_lines, split ("all", "train", "valid"), valid_fraction, seed."""

    _free = staticmethod(lib.tf_loader_free)
    _labels_keep: Any = None  # label names and token ids the library reads in place
    _tokens_keep: Any = None

    @staticmethod
    def _opts(options: Mapping, what: str,
              labels: Optional[Sequence[str]] = None) -> Tuple[_LoaderOpts, Any]:
        opts = _LoaderOpts()
        lib.tf_loader_opts_init(ctypes.byref(opts), _LOADER_OPTS_V)
        _apply(opts, options, what)
        keep = None
        if labels is not None:
            keep = (ctypes.c_char_p * len(labels))(*[str(s).encode() for s in labels])
            opts.labels = ctypes.cast(keep, ctypes.POINTER(ctypes.c_char_p))
            opts.num_labels = len(labels)
        return opts, keep

    @classmethod
    def lm(cls, ctx: Context, vocab: Vocab, paths: Paths, **options: Any) -> "Loader":
        """A language-model stream over text files, encoded with `vocab`."""
        opts, _ = cls._opts(options, "Loader.lm")
        arr, n = _paths(paths)
        h = _vp()
        lib.tf_loader_create_lm(ctypes.byref(h), ctx.handle, vocab.handle, arr, n,
                                ctypes.byref(opts))
        return cls(ctx, h)

    @classmethod
    def lm_with_vocab(cls, ctx: Context, paths: Paths,
                      vocab_options: Optional[Mapping[str, Any]] = None,
                      **options: Any) -> "_Pair":
        """Build a vocabulary and a language-model loader in one pass; returns a _Pair
        (loader, vocab) usable as a context manager that closes both."""
        opts, _ = cls._opts(options, "Loader.lm_with_vocab")
        vopts = _VocabOpts()
        lib.tf_vocab_opts_init(ctypes.byref(vopts), _VOCAB_OPTS_V)
        _apply(vopts, vocab_options or {}, "Loader.lm_with_vocab vocab_options")
        arr, n = _paths(paths)
        h, v = _vp(), _vp()
        lib.tf_loader_create_lm_vocab(ctypes.byref(h), ctypes.byref(v), ctx.handle, arr, n,
                                      ctypes.byref(vopts), ctypes.byref(opts))
        return _Pair((cls(ctx, h), Vocab(ctx, v)))

    @classmethod
    def labeled(cls, ctx: Context, vocab: Vocab, path: PathLike,
                labels: Optional[Sequence[str]] = None, **options: Any) -> "Loader":
        """`label<TAB>text` lines. `labels` fixes the label names and their ids (e.g. a
        training loader's .labels, or a model's .labels)."""
        return cls._labeled(lib.tf_loader_create_labeled, "Loader.labeled", ctx, vocab, path,
                            labels, options)

    @classmethod
    def multilabel(cls, ctx: Context, vocab: Vocab, path: PathLike,
                   labels: Optional[Sequence[str]] = None, **options: Any) -> "Loader":
        """`labels<TAB>text` lines whose labels are a comma-separated set (possibly empty).
        Fine-tuning on it trains one yes/no output per label."""
        return cls._labeled(lib.tf_loader_create_multilabel, "Loader.multilabel", ctx, vocab,
                            path, labels, options)

    @classmethod
    def tokens(cls, ctx: Context, sequences: Iterable[Sequence[int]],
               targets: Optional[Sequence[int]] = None,
               labels: Optional[Sequence[str]] = None, **options: Any) -> "Loader":
        """Sequences of token ids (lists or arrays, e.g. from Vocab.encode; each non-empty).
        `targets` are their label ids, indexes into `labels`, the label names; without targets
        the loader is unlabelled (for Model.adapt_prior). The ids are copied once into buffers
        that live as long as the loader."""
        if targets is not None and labels is None:
            raise _invalid("Loader.tokens: targets need labels, the names of the label ids")
        opts, keep = cls._opts(options, "Loader.tokens", labels)
        sequences = list(sequences)
        offsets = [0]
        for s in sequences:
            offsets.append(offsets[-1] + len(s))
        flat = [int(i) for s in sequences for i in s]
        bufs = [_array(flat, _i32), _array(offsets, _i64)]
        if targets is not None:
            bufs.append(_array([int(t) for t in targets], _i32))
            if bufs[2][2] != len(offsets) - 1:
                raise _invalid(f"Loader.tokens: {bufs[2][2]} targets for "
                                 f"{len(offsets) - 1} sequences")
        h = _vp()
        lib.tf_loader_create_tokens(ctypes.byref(h), ctx.handle, bufs[0][1], bufs[1][1],
                                    len(offsets) - 1, bufs[2][1] if targets is not None else None,
                                    ctypes.byref(opts))
        loader = cls(ctx, h)
        loader._labels_keep = keep
        loader._tokens_keep = bufs  # the loader reads the ids in place
        return loader

    @classmethod
    def _labeled(cls, create: Any, what: str, ctx: Context, vocab: Vocab, path: PathLike,
                 labels: Optional[Sequence[str]], options: Mapping) -> "Loader":
        opts, keep = cls._opts(options, what, labels)
        h = _vp()
        create(ctypes.byref(h), ctx.handle, vocab.handle, os.fsencode(path), ctypes.byref(opts))
        loader = cls(ctx, h)
        loader._labels_keep = keep  # the names stay valid as long as the loader
        return loader

    @property
    def is_multilabel(self) -> bool:
        """True for a multi-label loader (a set of labels per line)."""
        return bool(lib.tf_loader_is_multilabel(self.handle))

    def reset(self) -> None:
        """Start again from the first batch of the first epoch."""
        lib.tf_loader_reset(self.handle)

    @property
    def epoch(self) -> int:
        """The current epoch, from 0."""
        return lib.tf_loader_epoch(self.handle)

    @property
    def num_batches(self) -> int:
        """Batches in one epoch."""
        return lib.tf_loader_num_batches(self.handle)

    @property
    def num_sequences(self) -> int:
        """Sequences (texts, or language-model rows) in one epoch."""
        return lib.tf_loader_num_sequences(self.handle)

    @property
    def labels(self) -> List[str]:
        """Label names in id order ([] for an unlabelled loader)."""
        return [lib.tf_loader_label_name(self.handle, i).decode()
                for i in range(lib.tf_loader_num_labels(self.handle))]

    def label_counts(self) -> Dict[str, int]:
        """{label: number of sequences carrying it} over the whole loader (its split)."""
        names = self.labels
        counts = (_i64 * max(len(names), 1))()
        lib.tf_loader_label_counts(self.handle, counts, len(names))
        return dict(zip(names, counts[:len(names)]))

    @property
    def num_tokens(self) -> int:
        """Tokens read from text (0 for loaders of token ids)."""
        return lib.tf_loader_num_tokens(self.handle)

    @property
    def unknown_tokens(self) -> int:
        """How many of num_tokens were not in the vocabulary (mapped to <unk>)."""
        return lib.tf_loader_unknown_tokens(self.handle)

    @property
    def unknown_rate(self) -> float:
        """unknown_tokens / num_tokens: how badly the vocabulary fits this text (NaN when no
        token was read from text)."""
        n = self.num_tokens
        return self.unknown_tokens / n if n else math.nan


    def __repr__(self) -> str:
        return self._repr(self._describe)

    def _describe(self) -> str:
        labels = self.labels
        what = (f"labels={labels}" + (" multilabel" if self.is_multilabel else "")
                if labels else "unlabelled")
        return f"sequences={self.num_sequences} batches={self.num_batches} {what}"


class _Pair(tuple):
    """(loader, vocab) that closes both on exit."""

    def __enter__(self) -> "_Pair":
        return self

    def __exit__(self, *exc: object) -> None:
        for obj in self:
            obj.close()

    def close(self) -> None:
        """Close the loader and the vocabulary."""
        self.__exit__()


class _Callback:
    """Wraps a Python callable as a tf_progress_cb; an exception in it cancels training and is
    re-raised from the training call."""

    def __init__(self, fn: Callable[[Progress], Any]):
        self.fn = fn
        self.error: Optional[BaseException] = None
        self.c = _PROGRESS_CB(self._call)

    def _call(self, p: Any, _payload: Any) -> int:
        try:
            return 1 if self.fn(p.contents) else 0
        except BaseException as e:  # noqa: B902 - re-raised after the call returns
            self.error = e
            return 1


def _report(rep: _Report) -> Dict[str, Any]:
    names = (f[0] for f in rep._fields_)
    return {k: getattr(rep, k) for k in names if k not in ("struct_size", "version")}


class Model(Handle):
    """A model (tf_model_t): backbone, language-model head, task head, vocabulary, labels."""

    _free = staticmethod(lib.tf_model_free)
    _vocab: Optional[Vocab] = None  # the private copy `vocab` hands out

    @classmethod
    def create(cls, ctx: Context, vocab: Optional[Vocab], **options: Any) -> "Model":
        """New model. Options: embedding_dim, hidden_size, num_layers, dropout, tie_weights,
        bidirectional, cell ("lstm", the default, or "gru"), softmax ("full", the default, or
        "adaptive": an adaptive softmax language-model head with `cutoffs`, e.g. [2000, 6000],
        and div_value, default 4.0)."""
        opts = _ModelOpts()
        lib.tf_model_opts_init(ctypes.byref(opts), _MODEL_OPTS_V)
        _apply(opts, options, "Model.create")
        h = _vp()
        lib.tf_model_create(ctypes.byref(h), ctx.handle, vocab.handle if vocab else None,
                            ctypes.byref(opts))
        return cls(ctx, h)

    @classmethod
    def load(cls, ctx: Context, path: PathLike, backbone_only: bool = False) -> "Model":
        """Load a saved model; backbone_only drops the task head (to fine-tune a new task)."""
        h = _vp()
        lib.tf_model_load(ctypes.byref(h), ctx.handle, os.fsencode(path),
                          _MODEL_LOAD_BACKBONE if backbone_only else 0)
        return cls(ctx, h)

    @classmethod
    def import_torch(cls, ctx: Context, path: PathLike, vocab: Optional[Vocab],
                     labels: Optional[Sequence[str]] = None, pooling: int = 7,
                     multi_label: bool = False, **options: Any) -> "Model":
        """A model from weights PyTorch saved (safetensors.torch.save_file of a state_dict under
        libtransfer's parameter names; docs/pytorch.md). The architecture is given as for
        create(); `labels` name the rows of a `head.*` in the file (two labels: one logit),
        `pooling` is the OR of 1 last, 2 mean, 4 max the head reads. Every tensor is checked by
        name, dtype and shape (ValueError naming it)."""
        opts = _ModelOpts()
        lib.tf_model_opts_init(ctypes.byref(opts), _MODEL_OPTS_V)
        _apply(opts, options, "Model.import_torch")
        io = _ImportOpts()
        lib.tf_import_opts_init(ctypes.byref(io), _IMPORT_OPTS_V)
        names = [str(x).encode() for x in labels or ()]
        arr = (ctypes.c_char_p * max(1, len(names)))(*names)
        if names:
            io.labels = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
            io.num_labels = len(names)
        io.pooling = pooling
        io.multi_label = int(multi_label)
        h = _vp()
        lib.tf_model_import(ctypes.byref(h), ctx.handle, os.fsencode(path),
                            vocab.handle if vocab else None, ctypes.byref(opts), ctypes.byref(io))
        return cls(ctx, h)

    def init_embeddings(self, path: PathLike) -> int:
        """Set the embedding rows of the words listed in a word2vec/GloVe/fastText text file
        (`.vec`: optional `count dim` header, then `word v1 ... vE`); other rows keep their
        weights. Returns how many vocabulary words were found."""
        found = _i32()
        lib.tf_model_init_embeddings_file(self.handle, os.fsencode(path), ctypes.byref(found))
        return found.value

    def save(self, path: PathLike) -> None:
        """Write the model to a safetensors file (replaced atomically), PyTorch parameter
        names, readable by safetensors.torch.load_file."""
        lib.tf_model_save(self.handle, os.fsencode(path))

    def export(self, path: PathLike, dtype: str = "int8", min_elements: int = 1024) -> None:
        """Write the classifier for prediction only (replaced atomically): without the
        language-model head, the matrices of at least `min_elements` elements in `dtype`
        ("f32", "f16" or "int8" with one F32 scale per row). Model.load reads it back; such a
        model predicts and evaluates but does not train."""
        if dtype not in _EXPORT_DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {sorted(_EXPORT_DTYPES)}")
        eo = _ExportOpts()
        lib.tf_export_opts_init(ctypes.byref(eo), _EXPORT_OPTS_V)
        eo.dtype = _EXPORT_DTYPES[dtype]
        eo.min_elements = min_elements
        lib.tf_model_export(self.handle, os.fsencode(path), ctypes.byref(eo))

    @property
    def vocab(self) -> Optional[Vocab]:
        """The model's vocabulary (a private copy, opened on first use and closed with the
        model, so loaders may encode with it); None for numeric models."""
        if self._vocab is None:
            v = lib.tf_model_vocab(self.handle)
            if not v:
                return None
            self._vocab = Vocab(self._ctx, _vp(v), owned=False).copy()
        return self._vocab

    def close(self) -> None:
        """Free the model (and the Vocab taken from `vocab`) now."""
        if self._vocab is not None:
            self._vocab.close()
            self._vocab = None
        super().close()

    @property
    def num_classes(self) -> int:
        """Classes of the task head (0 before fine-tuning)."""
        return lib.tf_model_num_classes(self.handle)

    @property
    def labels(self) -> List[str]:
        """The class names in id order, the order of predict_*()'s probabilities."""
        return [lib.tf_model_label_name(self.handle, i).decode() for i in range(self.num_classes)]

    @property
    def is_multilabel(self) -> bool:
        """True when the head gives each label its own probability (a multi-label loader)."""
        return bool(lib.tf_model_is_multilabel(self.handle))

    @property
    def architecture(self) -> Dict[str, Any]:
        """The backbone's shape, read from its parameters: cell ("lstm" or "gru"), input_size
        (the embedding dimension of a token model), hidden_size, num_layers, bidirectional."""
        enc = lib.tf_model_encoder(self.handle)
        shapes = {}
        for i in range(lib.tf_module_num_params(enc)):
            name, t = ctypes.c_char_p(), _vp()
            lib.tf_module_param_at(ctypes.byref(name), ctypes.byref(t), None, enc, i)
            shapes[(name.value or b"").decode()] = shape_of(t)
        cell = next(n for n in shapes if n.endswith(".weight_hh_l0")).split(".")[0]
        hh, ih = shapes[f"{cell}.weight_hh_l0"], shapes[f"{cell}.weight_ih_l0"]
        return {"cell": cell, "input_size": ih[1], "hidden_size": hh[1],
                "num_layers": sum(1 for n in shapes if n.startswith(f"{cell}.weight_hh_l")
                                  and not n.endswith("_reverse")),
                "bidirectional": f"{cell}.weight_hh_l0_reverse" in shapes}

    def __repr__(self) -> str:
        return self._repr(self._describe)

    def _describe(self) -> str:
        a = self.architecture
        v = self.vocab
        return (f"cell={a['cell']} input_size={a['input_size']} hidden_size={a['hidden_size']} "
                f"num_layers={a['num_layers']}{' bidirectional' if a['bidirectional'] else ''} "
                f"vocab={len(v) if v is not None else None} labels={self.labels}")

    @property
    def num_params(self) -> int:
        """The number of parameters (all modules)."""
        return lib.tf_model_num_params(self.handle)

    def _train(self, fn: Any, opts: Any, train: Loader, valid: Optional[Loader],
               progress: Optional[Callable[[Progress], Any]]) -> Dict[str, Any]:
        cb = None
        if progress is not None:
            cb = _Callback(progress)
            opts.progress = cb.c
        rep = _Report()
        lib.tf_train_report_init(ctypes.byref(rep), _REPORT_V)
        st = fn(self.handle, train.handle, valid.handle if valid is not None else None,
                ctypes.byref(opts), ctypes.byref(rep))
        if st == ECANCELED and cb is not None and cb.error is not None:
            raise cb.error
        check(st)
        return _report(rep)

    def pretrain(self, train: Loader, valid: Optional[Loader] = None,
                 progress: Optional[Callable[[Progress], Any]] = None,
                 optim: Optional[Mapping[str, Any]] = None, lr: Optional[float] = None,
                 **options: Any) -> Dict[str, Any]:
        """Language-model pre-training; returns the report as a dict. Options: epochs,
        max_steps, stop_after_steps, clip_norm, valid_every, progress_every. `lr` (or `optim`,
        a dict of optimizer options) replaces the default AdamW settings. `progress(p)` gets a
        Progress; returning True stops training (TransferError ECANCELED)."""
        opts = _PretrainOpts()
        lib.tf_pretrain_opts_init(ctypes.byref(opts), _PRETRAIN_OPTS_V)
        _apply(opts, options, "Model.pretrain")
        oo = None
        if optim is not None or lr is not None:
            oo = _OptimOpts()
            lib.tf_optimizer_opts_init(ctypes.byref(oo), _OPTIM_OPTS_V)
            _apply(oo, {"algorithm": "adamw", "weight_decay": 0.01,
                        "schedule": "warmup_cosine"}, "optim")
            _apply(oo, dict(optim or {}, **({"lr": lr} if lr is not None else {})), "optim")
            opts.optim = ctypes.pointer(oo)
        return self._train(lib.tf_pretrain, opts, train, valid, progress)

    def finetune(self, train: Loader, valid: Optional[Loader] = None,
                 progress: Optional[Callable[[Progress], Any]] = None,
                 class_weight: Union[str, Mapping[str, float]] = "none",
                 optim: Optional[Mapping[str, Any]] = None, **options: Any) -> Dict[str, Any]:
        """Fine-tuning with a new task head; returns the report as a dict. Options: strategy
        ("full", "frozen", "gradual"), pooling (e.g. ("last", "mean", "max")), epochs, patience,
        metric ("accuracy", "macro_f1", "loss"), lr, discriminative, weight_decay,
        head_dropout, clip_norm, schedule, reset_head, stop_after_steps, progress_every.

        `class_weight` weighs the classes of the loss: "none", "balanced" (every class weighs
        the same in all; multi-label: positives weigh negatives / positives) or a dict
        {label: weight > 0} over `train`'s labels (labels not named weigh 1). With `valid`,
        `calibrate` (default True) fits the temperature on it afterwards (see calibrate()).
        `optim`, a dict of optimizer options, replaces the default AdamW with betas
        (0.8, 0.99) and this call's lr, weight_decay and schedule (its unnamed fields keep those
        values)."""
        opts = _FinetuneOpts()
        lib.tf_finetune_opts_init(ctypes.byref(opts), _FINETUNE_OPTS_V)
        _apply(opts, options, "Model.finetune", hidden=("class_weight", "class_weights",
                                                         "num_class_weights", "optim"))
        oo = None
        if optim is not None:
            oo = _OptimOpts()
            lib.tf_optimizer_opts_init(ctypes.byref(oo), _OPTIM_OPTS_V)
            _apply(oo, {"algorithm": "adamw", "beta1": 0.8, "beta2": 0.99}, "optim")
            oo.lr, oo.weight_decay, oo.schedule = opts.lr, opts.weight_decay, opts.schedule
            _apply(oo, dict(optim), "optim")
            opts.optim = ctypes.pointer(oo)
        if isinstance(class_weight, Mapping):  # _keep holds the weights through the call
            weights = _by_label(train.labels, class_weight, "Model.finetune class_weight", 1.0)
            _keep, opts.class_weights, opts.num_class_weights = _array(weights, ctypes.c_float)
            opts.class_weight = _CLASS_WEIGHT_GIVEN
        elif isinstance(class_weight, str):
            _apply(opts, {"class_weight": class_weight}, "Model.finetune")
        else:
            raise TypeError("Model.finetune: class_weight must be \"none\", \"balanced\" or a "
                            f"dict {{label: weight}}, not {type(class_weight).__name__}")
        return self._train(lib.tf_finetune, opts, train, valid, progress)

    def distill(self, teacher: "Model", unlabeled: Loader, labeled: Optional[Loader] = None,
                valid: Optional[Loader] = None,
                progress: Optional[Callable[[Progress], Any]] = None,
                optim: Optional[Mapping[str, Any]] = None, **options: Any) -> Dict[str, Any]:
        """Knowledge distillation: train this (smaller) model to give the fine-tuned `teacher`'s
        predictions on the sequences of `unlabeled` (any token loader; its labels, if any, are
        ignored), with T^2 KL of the outputs softened by `temperature` (Hinton et al. 2015);
        with `labeled`, each step also learns a batch of its labels with weight `alpha`. This
        model needs the teacher's vocabulary (create it with teacher.vocab) and gets the
        teacher's labels. Returns the report as a dict. Options: epochs (or max_steps, the
        steps of the whole run), patience, metric,
        pooling, temperature, alpha, lr, weight_decay, head_dropout, clip_norm,
        stop_after_steps, progress_every, calibrate; `optim` as for finetune()."""
        opts = _DistillOpts()
        lib.tf_distill_opts_init(ctypes.byref(opts), _DISTILL_OPTS_V)
        _apply(opts, options, "Model.distill", hidden=("optim",))
        oo = None
        if optim is not None:
            oo = _OptimOpts()
            lib.tf_optimizer_opts_init(ctypes.byref(oo), _OPTIM_OPTS_V)
            _apply(oo, {"algorithm": "adamw", "schedule": "warmup_cosine"}, "optim")
            oo.lr, oo.weight_decay = opts.lr, opts.weight_decay
            _apply(oo, dict(optim), "optim")
            opts.optim = ctypes.pointer(oo)
        if not isinstance(teacher, Model):
            raise TypeError(f"Model.distill: teacher must be a Model, not {type(teacher).__name__}")
        cb = None
        if progress is not None:
            cb = _Callback(progress)
            opts.progress = cb.c
        rep = _Report()
        lib.tf_train_report_init(ctypes.byref(rep), _REPORT_V)
        st = lib.tf_distill(self.handle, teacher.handle, unlabeled.handle,
                            labeled.handle if labeled is not None else None,
                            valid.handle if valid is not None else None,
                            ctypes.byref(opts), ctypes.byref(rep))
        if st == ECANCELED and cb is not None and cb.error is not None:
            raise cb.error
        check(st)
        return _report(rep)

    # ---- decisions under a new class prior (see include/transfer/train.h) ----

    def calibrate(self, data: Loader) -> float:
        """Fit the temperature on a labelled loader with the model's labels (temperature
        scaling); returns it. Decisions stay as they were, probabilities become calibrated.
        finetune() does this on its validation loader unless calibrate=False."""
        t = _dbl()
        lib.tf_model_calibrate(self.handle, data.handle, ctypes.byref(t))
        return t.value

    @property
    def temperature(self) -> float:
        """The temperature dividing the head's logits (1 until calibrated; saved with the
        model)."""
        return lib.tf_model_temperature(self.handle)

    def prior(self, kind: str = "target") -> Dict[str, float]:
        """{label: p}: the class frequencies of the training data ("train"), what the loss saw
        with its class weights ("model"), or the prior decisions are made for ("target": the
        model prior until set_prior() or adapt_prior())."""
        if kind not in _PRIOR_KINDS:
            raise _invalid(f"Model.prior: kind must be one of {sorted(_PRIOR_KINDS)}")
        c = self.num_classes
        out = (_dbl * max(c, 1))()
        lib.tf_model_prior(self.handle, _PRIOR_KINDS[kind], out, c)
        return dict(zip(self.labels, out[:c]))

    def set_prior(self, prior: Optional[Mapping[str, float]]) -> None:
        """Decide for a known class balance, {label: p} for every label in (0, 1) (summing to 1
        unless multi-label, where p is each label's own rate), or None to decide as trained
        again. Predictions and evaluate() use it; save() keeps it."""
        labels = self.labels
        if prior is None or not labels:  # a model without a head gets the library's ESTATE
            lib.tf_model_set_prior(self.handle, None, 0)
            return
        _keep, ptr, n = _array(_by_label(labels, prior, "Model.set_prior"), _dbl)
        lib.tf_model_set_prior(self.handle, ptr, n)

    def adapt_prior(self, unlabeled: Union[Loader, PathLike, Iterable[Union[str, bytes]]],
                    **options: Any) -> Dict[str, Any]:
        """Estimate the class prior of new data from unlabelled examples (EM of Saerens et al.
        2002 on the calibrated probabilities) and decide for it from now on. `unlabeled` is a
        Loader, a list of texts, or the path of a text file with one text per line (texts
        without a token are left out). Options: max_iter, tol, min_prior. Returns
        {"iterations": n, "prior": {label: p}}."""
        opts = _AdaptOpts()
        lib.tf_adapt_opts_init(ctypes.byref(opts), _ADAPT_OPTS_V)
        _apply(opts, options, "Model.adapt_prior")
        data = unlabeled if isinstance(unlabeled, Loader) else self._texts_loader(unlabeled)
        iterations = _i32()
        try:
            lib.tf_adapt_prior(self.handle, data.handle, ctypes.byref(opts),
                               ctypes.byref(iterations))
        finally:
            if data is not unlabeled:
                data.close()
        return {"iterations": iterations.value, "prior": self.prior("target")}

    def _texts_loader(self, texts: Any) -> Loader:
        """An unlabelled loader of texts (or of a file's lines) encoded with the vocabulary."""
        if self.vocab is None:
            raise _invalid("Model.adapt_prior: a model without a vocabulary needs a Loader")
        if isinstance(texts, (str, bytes, os.PathLike)):
            texts = _read_lines(texts)
        ids = [seq for seq in (self.vocab.encode(t) for t in texts) if len(seq)]
        if not ids:
            raise _invalid("Model.adapt_prior: no text with a token to classify")
        return Loader.tokens(self._ctx, ids, batch_size=64, shuffle=False)

    def evaluate(self, data: Loader) -> Dict[str, Any]:
        """Loss, accuracy, macro-F1, count and the confusion matrix (rows = true class). For a
        multi-label model, accuracy counts whole label sets and the confusion is one
        [[TN, FP], [FN, TP]] matrix per label, shape (C, 2, 2)."""
        m = _Metrics()
        lib.tf_metrics_init(ctypes.byref(m), _METRICS_V)
        c = max(self.num_classes, 1)
        n = 4 * c if self.is_multilabel else c * c
        cm = (_i64 * n)()
        lib.tf_evaluate(self.handle, data.handle, ctypes.byref(m), cm, n)
        flat = list(cm)
        if self.is_multilabel:
            rows = [[flat[4 * i:4 * i + 2], flat[4 * i + 2:4 * i + 4]] for i in range(c)]
        else:
            rows = [flat[i * c:(i + 1) * c] for i in range(c)]
        return {"loss": m.loss, "accuracy": m.accuracy, "macro_f1": m.macro_f1,
                "count": m.num_sequences,
                "confusion": _np.array(rows, dtype=_np.int64) if _np is not None else rows}

    def predict_text(self, text: Union[str, bytes]) -> Any:
        """Class probabilities of a text (numpy float32 array, or a list without numpy)."""
        b = text.encode() if isinstance(text, str) else bytes(text)
        out = (ctypes.c_float * max(self.num_classes, 1))()
        lib.tf_predict_text(self.handle, b, len(b), out, len(out))
        return _floats_out(out)

    def _explain_opts(self, options: Mapping) -> "_ExplainOpts":
        opts = _ExplainOpts()
        lib.tf_explain_opts_init(ctypes.byref(opts), _EXPLAIN_OPTS_V)
        options = dict(options)
        target = options.pop("target", None)
        if isinstance(target, str):
            if target not in self.labels:
                raise _invalid(f"Model.explain: no class '{target}' (classes: {self.labels})")
            target = self.labels.index(target)
        _apply(opts, options, "Model.explain", hidden=("target_class",))
        if target is not None:
            opts.target_class = target
        return opts

    def _explained(self, res: "_ExplainResult", attributions: Any) -> Dict[str, Any]:
        labels = self.labels
        return {"attributions": attributions, "target": labels[res.target_class],
                "predicted": labels[res.predicted_class], "f_input": res.f_input,
                "f_baseline": res.f_baseline, "sum": res.sum, "gap": res.gap}

    def explain(self, text: Union[str, bytes], **options: Any) -> Dict[str, Any]:
        """How much each token of `text` moved the probability of a class: integrated
        gradients over the embedding (docs/explain.md). Options: steps (default 32), rule
        ("gl" or "trapezoid"), baseline ("zero", "pad" or "unk"), target (a label or class id;
        default the predicted class), batch_size. Returns {"tokens": [...], "ids": [...],
        "attributions": one value per token, "target", "predicted", "f_input", "f_baseline",
        "sum", "gap"}: the attributions sum to f_input - f_baseline up to the gap."""
        b = text.encode() if isinstance(text, str) else bytes(text)
        opts = self._explain_opts(options)
        res = _ExplainResult()
        lib.tf_explain_result_init(ctypes.byref(res), _EXPLAIN_RESULT_V)
        lib.tf_explain_text(self.handle, b, len(b), ctypes.byref(opts), None, None, 0,
                            ctypes.byref(res))
        n = res.num_steps
        attr, ids = (ctypes.c_float * n)(), (_i32 * n)()
        lib.tf_explain_text(self.handle, b, len(b), ctypes.byref(opts), attr, ids, n,
                            ctypes.byref(res))
        out = self._explained(res, _floats_out(attr))
        vocab = self.vocab
        out["ids"] = list(ids)
        out["tokens"] = [vocab.token(i) for i in ids]
        return out

    def explain_features(self, x: Any, **options: Any) -> Dict[str, Any]:
        """Integrated gradients of a numeric sequence `x` (steps x features, raw values as
        predict_features takes them) against the zero input after the model's standardisation
        (the training mean): "attributions" holds one value per step and
        feature (a (steps, features) array with numpy, a flat list otherwise). Options and the
        other keys as explain()."""
        if _np is not None:
            x = _np.asarray(x, dtype=_np.float32)
            steps = x.shape[0] if x.ndim == 2 else 0
        else:
            steps = len(x)
            x = [v for row in x for v in row]
        _keep, ptr, n = _array(x, ctypes.c_float)
        opts = self._explain_opts(options)
        res = _ExplainResult()
        lib.tf_explain_result_init(ctypes.byref(res), _EXPLAIN_RESULT_V)
        attr = (ctypes.c_float * max(n, 1))()
        lib.tf_explain_features(self.handle, ptr, steps, ctypes.byref(opts), attr, n,
                                ctypes.byref(res))
        values = _floats_out(attr)
        if _np is not None:
            values = values.reshape(steps, -1)
        return self._explained(res, values)

    def predict_ids(self, ids: Sequence[int]) -> Any:
        """Class probabilities of a sequence of token ids (list or numpy array)."""
        _keep, ptr, n = _array(ids, _i32)
        out = (ctypes.c_float * max(self.num_classes, 1))()
        lib.tf_predict_ids(self.handle, ptr, n, out, len(out))
        return _floats_out(out)

    def lm_score(self, text: str) -> float:
        """Mean next-token cross-entropy of a text under the language model."""
        b = text.encode()
        loss = _dbl()
        lib.tf_lm_score_text(self.handle, b, len(b), ctypes.byref(loss))
        return loss.value

    def extend_vocab(self, paths: Paths, min_count: int = 1, max_size: int = 0) -> int:
        """Grow the vocabulary with the words of text files that it lacks, seen at least
        `min_count` times, the most frequent first, up to `max_size` tokens (0: no limit), to
        pre-train further on new text; new embedding and language-model rows start at the mean
        of the old ones. Returns how many words were added. A Vocab taken from `vocab` before
        is closed then: ask `vocab` again."""
        arr, n = _paths(paths)
        added = _i32()
        lib.tf_model_extend_vocab_files(self.handle, arr, n, min_count, max_size,
                                        ctypes.byref(added))
        if added.value and self._vocab is not None:
            self._vocab.close()
            self._vocab = None
        return added.value

    def save_train_state(self, path: PathLike, loader: Optional[Loader] = None) -> None:
        """Save the optimizer, schedule and random state (and `loader`'s position) of the
        training under way, to continue it with load_train_state()."""
        lib.tf_train_state_save(self.handle, loader.handle if loader else None, os.fsencode(path))

    def load_train_state(self, path: PathLike, loader: Optional[Loader] = None) -> None:
        """Restore what save_train_state() saved (into this model of the same architecture
        and `loader` over the same data), so the next training call continues it."""
        lib.tf_train_state_load(self.handle, loader.handle if loader else None, os.fsencode(path))
