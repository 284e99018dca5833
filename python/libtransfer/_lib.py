"""Loading the shared library and turning status codes into exceptions."""
import ctypes
import ctypes.util
import os

_STATUS_NAMES = {
    0: "OK", 1: "EINVAL", 2: "ENOMEM", 3: "ESHAPE", 4: "EDTYPE", 5: "EBUFSIZE", 6: "EIO",
    7: "EFORMAT", 8: "EVERSION", 9: "ESTATE", 10: "ENOTSUP", 11: "ECANCELED",
    13: "EINTERNAL", 14: "EOVERFLOW", 15: "ENOTFOUND", 16: "EDIVERGED",
}

#: The ABI major version these bindings were written for.
ABI_VERSION = 0


class TransferError(Exception):
    """A libtransfer call failed. ``status`` is the numeric code, ``name`` its short name
    (``"EINVAL"``), and the message is the library's own last-error message."""

    def __init__(self, status, message):
        self.status = status
        self.name = _STATUS_NAMES.get(status, f"E{status}")
        super().__init__(f"{self.name}: {message}")


def _find_library():
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


def check(status):
    """Raise TransferError for a non-zero status (read the message on this thread, right now)."""
    if status != 0:
        raise TransferError(status, lib.tf_last_error_message().decode("utf-8", "replace"))


def declare(name, restype, argtypes):
    """Give a C function its signature; status-returning functions are checked automatically."""
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    if restype == "status":
        fn.restype = ctypes.c_int
        fn.errcheck = lambda result, func, args: check(result) or result
    else:
        fn.restype = restype
    return fn
