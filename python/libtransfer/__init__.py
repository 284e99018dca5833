"""Python bindings for libtransfer through ctypes.

    import libtransfer as lt
    with lt.Context(seed=7) as ctx:
        t = lt.Tensor.from_array(ctx, [[1.0, 2.0], [3.0, 4.0]])
        print(t.shape, t.to_list())

`pip install ./python` puts the shared library inside the package, where it is found first;
$LIBTRANSFER_PATH overrides it, and without it an uninstalled copy finds a build directory of
this source tree, or the system library path. Every failing call raises TransferError with the
library's message.

Training (pre-train, fine-tune, evaluate, predict, decide for a new class prior) is in Vocab,
Loader and Model; see train.py.
"""
from ._lib import ABI_VERSION, TransferError, lib
from .core import F32, I32, Context, Tensor
from .train import Loader, Model, Progress, Vocab


def version():
    """The version string of the loaded library."""
    return lib.tf_version_string().decode()


__all__ = ["ABI_VERSION", "Context", "F32", "I32", "Loader", "Model", "Progress", "Tensor",
           "TransferError", "Vocab", "version"]
