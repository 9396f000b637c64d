"""ctypes loader for `_libm_vec.c`: C-library log, cos and pow over NumPy arrays, and the
gamma engine (`gamma_rows`) that draws every component of many substreams in C.

The samplers need the C library's scalar results bit-for-bit (spec 03 §0) and NumPy's
vector kernels do not guarantee them. The shared object is compiled when the package is
built or installed (setup.py, python_udfs/_libm_build.py), never here: a missing or
stale build is a clear error telling to reinstall (`make venv`).
"""
from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy as np

from ._libm_build import LibmBuildError, library_name

__all__ = ["LibmBuildError", "vlog", "vcos", "vpow", "gamma_rows", "library_path"]


def _load() -> ctypes.CDLL:
    target = Path(__file__).with_name(library_name())
    if not target.is_file():
        raise LibmBuildError(
            f"the C helper {target.name} is not built for this source (it is compiled when seg3a is "
            "installed): run `make venv`, or `pip install -e .` in the project")
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as exc:
        raise LibmBuildError(f"cannot load {target}: {exc}") from exc
    vec2 = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    for name in ("seg3a_vlog", "seg3a_vcos"):
        getattr(lib, name).argtypes = vec2
        getattr(lib, name).restype = None
    lib.seg3a_vpow.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_size_t]
    lib.seg3a_vpow.restype = None
    lib.seg3a_vpow_scalar.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_void_p, ctypes.c_size_t]
    lib.seg3a_vpow_scalar.restype = None
    lib.seg3a_gamma_rows.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_size_t] + [ctypes.c_void_p] * 3
    lib.seg3a_gamma_rows.restype = None
    return lib


_LIB = _load()


def library_path() -> str:
    """File system path of the loaded shared object (for diagnostics)."""
    return _LIB._name


def _as_input(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def vlog(x) -> np.ndarray:
    """Elementwise C-library `log` (no warnings; log(0) = -inf, log(<0) = nan)."""
    x = _as_input(x)
    out = np.empty_like(x)
    _LIB.seg3a_vlog(x.ctypes.data, out.ctypes.data, x.size)
    return out


def vcos(x) -> np.ndarray:
    """Elementwise C-library `cos`."""
    x = _as_input(x)
    out = np.empty_like(x)
    _LIB.seg3a_vcos(x.ctypes.data, out.ctypes.data, x.size)
    return out


def vpow(x, y) -> np.ndarray:
    """Elementwise C-library `pow(x, y)`; `y` may be a Python float or an array of x's shape."""
    x = _as_input(x)
    out = np.empty_like(x)
    if np.ndim(y) == 0:
        _LIB.seg3a_vpow_scalar(x.ctypes.data, float(y), out.ctypes.data, x.size)
        return out
    y = _as_input(y)
    if y.shape != x.shape:
        raise ValueError(f"vpow: shapes differ {x.shape} vs {y.shape}")
    _LIB.seg3a_vpow(x.ctypes.data, y.ctypes.data, out.ctypes.data, x.size)
    return out


def gamma_rows(key: np.ndarray, hi0: np.ndarray, lo0: np.ndarray, alpha: np.ndarray,
               offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gamma(alpha_i, 1) of every component, row r's components (alpha[offsets[r]:offsets[r+1]])
    drawn in order from its substream (key[r], counter (hi0[r], lo0[r])): (values, blocks
    per row, attempts per row). The caller validates: uint64 key/hi0/lo0 of one length n,
    float64 alpha finite and > 0, int64 offsets of length n + 1 from 0 to len(alpha),
    non-decreasing."""
    key, hi0, lo0 = (np.ascontiguousarray(a, dtype=np.uint64) for a in (key, hi0, lo0))
    alpha = _as_input(alpha)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n_rows = offsets.size - 1
    if not (key.size == hi0.size == lo0.size == n_rows and offsets[0] == 0 and offsets[-1] == alpha.size):
        raise ValueError("gamma_rows: key, hi0, lo0 and offsets do not describe the same rows of alpha")
    values = np.empty_like(alpha)
    blocks = np.empty(n_rows, dtype=np.uint64)
    attempts = np.empty(n_rows, dtype=np.uint64)
    _LIB.seg3a_gamma_rows(key.ctypes.data, hi0.ctypes.data, lo0.ctypes.data, alpha.ctypes.data,
                          offsets.ctypes.data, n_rows, values.ctypes.data, blocks.ctypes.data,
                          attempts.ctypes.data)
    return values, blocks, attempts


def _self_check() -> None:
    # A wrong build (e.g. fast-math slipped in through CC) would silently change
    # published draws; compare a few values with the interpreter's libm calls.
    xs = [0.1, 0.5, 0.7310585786300049, 1.0, 2.0, 3.0000000000000004, 1e-300, 12345.678]
    got_log, got_cos, got_pow = vlog(xs), vcos(xs), vpow(xs, 3.0)
    for i, x in enumerate(xs):
        if (got_log[i], got_cos[i], got_pow[i]) != (math.log(x), math.cos(x), math.pow(x, 3.0)):
            raise LibmBuildError(f"{library_path()} disagrees with the C library at x={x!r}")


_self_check()
