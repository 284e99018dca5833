# SPDX-License-Identifier: MIT
"""Python bindings for libtransfer through ctypes.

    import libtransfer as lt
    with lt.Context(seed=7) as ctx:
        t = lt.Tensor.from_array(ctx, [[1.0, 2.0], [3.0, 4.0]])
        print(t.shape, t.to_list())

`pip install ./python` puts the shared library inside the package, where it is found first;
$LIBTRANSFER_PATH overrides it, and without it an uninstalled copy finds a build directory of
this source tree, or the system library path.

Every failing call raises a TransferError carrying the library's status and message, which is
also the built-in exception that fits (ValueError, MemoryError, FileNotFoundError, OSError, ...).
Objects are freed by close(), at the end of a ``with`` block, when collected, or with their
Context.

Training (pre-train, fine-tune, evaluate, predict, decide for a new class prior) is in Vocab,
Loader and Model; see train.py. Serving predictions from many threads is Predictor (predict.py).
"""
from ._lib import (ABI_VERSION, TransferDivergedError, TransferError, TransferFileNotFoundError,
                   TransferLookupError, TransferMemoryError, TransferNotSupportedError,
                   TransferOSError, TransferStateError, TransferValueError, lib)
from .core import F32, I32, Context, Tensor
from .train import Loader, Model, Progress, Vocab
from .predict import Predictor


# Public classes show as libtransfer.Name in reprs and tracebacks.
for _cls in (Context, Tensor, Vocab, Loader, Model, Predictor, Progress, TransferError,
             TransferDivergedError, TransferFileNotFoundError, TransferLookupError,
             TransferMemoryError, TransferNotSupportedError, TransferOSError, TransferStateError,
             TransferValueError):
    _cls.__module__ = __name__
del _cls


def version() -> str:
    """The version string of the loaded library ("major.minor.patch")."""
    return lib.tf_version_string().decode()


#: The version of the loaded library, which is the package's.
__version__ = version()

__all__ = ["ABI_VERSION", "Context", "F32", "I32", "Loader", "Model", "Predictor", "Progress", "Tensor",
           "TransferDivergedError", "TransferError", "TransferFileNotFoundError",
           "TransferLookupError", "TransferMemoryError", "TransferNotSupportedError",
           "TransferOSError", "TransferStateError", "TransferValueError", "Vocab", "__version__",
           "version"]
