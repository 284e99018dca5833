# SPDX-License-Identifier: MIT
"""Loading the shared library, turning status codes into exceptions, and owning handles."""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import weakref
from typing import Any, Callable, Dict, Iterable, Optional, Sequence

_STATUS_NAMES = {
    0: "OK", 1: "EINVAL", 2: "ENOMEM", 3: "ESHAPE", 4: "EDTYPE", 5: "EBUFSIZE", 6: "EIO",
    7: "EFORMAT", 8: "EVERSION", 9: "ESTATE", 10: "ENOTSUP", 11: "ECANCELED",
    13: "EINTERNAL", 14: "EOVERFLOW", 15: "ENOTFOUND", 16: "EDIVERGED",
}
EINVAL, ENOMEM, EIO, ECANCELED, ENOTFOUND = 1, 2, 6, 11, 15

#: The ABI major version these bindings were written for.
ABI_VERSION = 0


class TransferError(Exception):
    """A libtransfer call failed. ``status`` is the numeric code (``tf_status_t``), ``name`` its
    short name (``"EINVAL"``), and the message is the library's own last-error message.

    Each error is also an instance of the built-in exception that fits it: ``ValueError`` for a
    bad argument, shape, type, size or file format, ``MemoryError``, ``FileNotFoundError`` for a
    missing file, ``OSError`` for another input/output failure, ``LookupError`` for a missing
    named item, ``RuntimeError`` for a call in the wrong state, ``NotImplementedError`` and
    ``ArithmeticError`` for a diverged training."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.name = _STATUS_NAMES.get(status, f"E{status}")
        self.message = f"{self.name}: {message}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class TransferValueError(TransferError, ValueError):
    """A bad argument, shape, element type, buffer size or file format (EINVAL, ESHAPE, EDTYPE,
    EBUFSIZE, EFORMAT, EVERSION, EOVERFLOW)."""


class TransferMemoryError(TransferError, MemoryError):
    """The library's allocator returned NULL (ENOMEM)."""


class TransferOSError(TransferError, OSError):
    """A file could not be opened, read, written or synced (EIO)."""


class TransferFileNotFoundError(TransferError, FileNotFoundError):
    """A file to read does not exist (``filename`` names it; ``errno`` is ENOENT)."""

    def __init__(self, status: int, message: str, filename: str):
        super().__init__(status, message)
        self.errno = errno.ENOENT
        self.strerror = os.strerror(errno.ENOENT)
        self.filename = filename


class TransferLookupError(TransferError, LookupError):
    """A named item (parameter, entry, label) does not exist (ENOTFOUND)."""


class TransferStateError(TransferError, RuntimeError):
    """The call is not valid in the object's state, or an internal invariant broke (ESTATE,
    EINTERNAL)."""


class TransferNotSupportedError(TransferError, NotImplementedError):
    """Not supported by this build or object (ENOTSUP)."""


class TransferDivergedError(TransferError, ArithmeticError):
    """Training produced a non-finite loss and was stopped (EDIVERGED)."""


_CLASSES = {
    1: TransferValueError, 2: TransferMemoryError, 3: TransferValueError, 4: TransferValueError,
    5: TransferValueError, 6: TransferOSError, 7: TransferValueError, 8: TransferValueError,
    9: TransferStateError, 10: TransferNotSupportedError, 13: TransferStateError,
    14: TransferValueError, 15: TransferLookupError, 16: TransferDivergedError,
}


def error(status: int, message: str, paths: Iterable[bytes] = ()) -> TransferError:
    """The exception for a status: a FileNotFoundError when the call failed to read one of
    `paths` and that file does not exist."""
    if status in (EIO, ENOTFOUND):
        for p in paths:
            if p and not os.path.exists(p):
                return TransferFileNotFoundError(status, message, os.fsdecode(p))
    return _CLASSES.get(status, TransferError)(status, message)


def _find_library() -> str:
    """$LIBTRANSFER_PATH when set; else the copy installed next to this module (a wheel built
    by pyproject.toml); else a build directory of this source tree; else the system's."""
    explicit = os.environ.get("LIBTRANSFER_PATH")
    if explicit:
        return explicit
    here = os.path.dirname(os.path.abspath(__file__))
    for rel in (".", "../../build/demo", "../../build/test-release", "../../build/dev",
                "../../build"):
        cand = os.path.normpath(os.path.join(here, rel, "libtransfer.so"))
        if os.path.exists(cand):
            return cand
    found = ctypes.util.find_library("transfer")
    if found:
        return found
    raise OSError("libtransfer.so not found: pip install the package, build the library, "
                  "or set LIBTRANSFER_PATH")


lib = ctypes.CDLL(_find_library())
lib.tf_last_error_message.restype = ctypes.c_char_p
lib.tf_last_error_message.argtypes = []
lib.tf_status_str.restype = ctypes.c_char_p
lib.tf_status_str.argtypes = [ctypes.c_int]
lib.tf_version_string.restype = ctypes.c_char_p
lib.tf_version_number.restype = ctypes.c_uint32
lib.tf_abi_version.restype = ctypes.c_uint32

if lib.tf_abi_version() != ABI_VERSION:
    raise ImportError(f"libtransfer ABI {lib.tf_abi_version()} loaded; these bindings need {ABI_VERSION}")


def _last_message() -> str:
    return lib.tf_last_error_message().decode("utf-8", "replace")


def check(status: int, paths: Iterable[bytes] = ()) -> None:
    """Raise the TransferError of a non-zero status (read the message on this thread, right
    now); `paths` are the files the call read (see error())."""
    if status != 0:
        raise error(status, _last_message(), paths)


def _path_args(args: Sequence[Any], positions: Sequence[int]) -> Iterable[bytes]:
    """The file names among a call's arguments: a path, or an array of them."""
    for i in positions:
        a = args[i]
        if isinstance(a, bytes):
            yield a
        elif isinstance(a, ctypes.Array):
            yield from (p for p in a if p)


def declare(name: str, restype: Any, argtypes: Sequence[Any], paths: Sequence[int] = ()) -> Any:
    """Give a C function its signature; status-returning functions are checked automatically.
    `paths` are the positions of arguments naming files to read (a missing one raises
    FileNotFoundError)."""
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    if restype == "status":
        fn.restype = ctypes.c_int

        def errcheck(result: int, func: Any, args: Sequence[Any]) -> int:
            if result != 0:
                check(result, _path_args(args, paths))
            return result
        fn.errcheck = errcheck
    else:
        fn.restype = restype
    return fn


class Owner:
    """Frees library objects when they are closed, collected, or when their context closes.

    Each object's free function runs once, through weakref.finalize; the context keeps the
    finalizers of its live objects (not the objects) and runs them, newest first, before freeing
    itself."""

    def __init__(self) -> None:
        self._finalizers: Dict[int, weakref.finalize] = {}

    def _adopt(self, obj: object, free: Callable[..., None], *args: Any) -> weakref.finalize:
        children = self._finalizers

        def release() -> None:
            children.pop(key, None)
            free(*args)
        fin = weakref.finalize(obj, release)
        key = id(fin)
        children[key] = fin
        return fin



def close_all(finalizers: Dict[int, weakref.finalize]) -> None:
    """Run an Owner's finalizers, the newest first."""
    for fin in reversed(list(finalizers.values())):
        fin()
    finalizers.clear()


class Handle:
    """One library object owned by a context: closed by close(), at the end of a ``with``
    block, when collected, or when its context closes."""

    _free: Optional[Callable[[ctypes.c_void_p], None]] = None

    def __init__(self, ctx: Any, handle: ctypes.c_void_p, owned: bool = True):
        self._ctx = ctx
        self._h = handle
        self._fin: Optional[weakref.finalize] = None
        if owned:
            self._fin = ctx._adopt(self, type(self)._free, handle)

    @property
    def handle(self) -> ctypes.c_void_p:
        """The C handle; a closed object raises ValueError (a TransferError, EINVAL)."""
        if self.closed:
            raise TransferValueError(EINVAL, f"{type(self).__name__} is closed")
        return self._h

    @property
    def closed(self) -> bool:
        """True once close() ran (or the context closed)."""
        return not self._h or (self._fin is not None and not self._fin.alive)

    def close(self) -> None:
        """Free the library object now (again is harmless)."""
        if self._fin is not None:
            self._fin()
        self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr(self, fields: Callable[[], str]) -> str:
        """``<libtransfer.Type fields()>``, or ``<libtransfer.Type closed>``."""
        return f"<libtransfer.{type(self).__name__} {'closed' if self.closed else fields()}>"
