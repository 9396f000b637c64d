"""ctypes loader for `_libm_vec.c`: C-library log, cos and pow over NumPy arrays.

The shared object is compiled on first import into a cache directory, because
the samplers need the C library's scalar results bit-for-bit (spec 03 §0) and
NumPy's vector kernels do not guarantee them.  The build is content-addressed
(source, flags and architecture in the file name), written under a temporary name
and renamed into place, so concurrent processes never load a half-written file.

Cache directory: ``$SEG3A_CACHE_DIR`` if set, else this package's
``__pycache__`` when writable, else ``<tmp>/seg3a-cache-<uid>``.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["LibmBuildError", "vlog", "vcos", "vpow", "library_path"]

_SOURCE = Path(__file__).with_name("_libm_vec.c")
_CFLAGS = ("-O2", "-fno-fast-math", "-ffp-contract=off", "-fPIC", "-shared")
_LDFLAGS = ("-lm",)


class LibmBuildError(RuntimeError):
    """The C helper could not be compiled or loaded (no compiler, bad build)."""


def _compiler() -> list[str]:
    words = shlex.split(os.environ.get("CC", "cc"))
    if not words or shutil.which(words[0]) is None:
        raise LibmBuildError(
            f"no C compiler found (tried {words[0] if words else '<empty CC>'!r}); "
            "python_udfs needs one to build _libm_vec.c: install cc/gcc or set CC"
        )
    return words


def _cache_dir() -> Path:
    configured = os.environ.get("SEG3A_CACHE_DIR")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).with_name("__pycache__"))
    candidates.append(Path(tempfile.gettempdir()) / f"seg3a-cache-{os.getuid()}")
    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK | os.X_OK):
            return directory
    raise LibmBuildError(f"no writable cache directory among {[str(c) for c in candidates]}")


def _target_path() -> Path:
    # The name carries the source, flags and architecture, so a stale or foreign
    # build is never picked up from a shared cache directory.  The compiler is
    # not part of it: the loops only forward to libm, and an existing build must
    # load on machines without a compiler.
    digest = hashlib.sha256()
    digest.update(_SOURCE.read_bytes())
    digest.update(" ".join(_CFLAGS + _LDFLAGS).encode())
    digest.update(platform.machine().encode())
    return _cache_dir() / f"_libm_vec.{platform.machine()}.{digest.hexdigest()[:16]}.so"


def _needs_build(target: Path) -> bool:
    return not target.exists() or target.stat().st_mtime < _SOURCE.stat().st_mtime


def _build(target: Path) -> None:
    cc = _compiler()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".build-", suffix=".so")
    os.close(fd)
    cmd = cc + list(_CFLAGS) + ["-o", tmp_name, str(_SOURCE)] + list(_LDFLAGS)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LibmBuildError(
                f"compiling {_SOURCE.name} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _load() -> ctypes.CDLL:
    target = _target_path()
    if _needs_build(target):
        _build(target)
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


def _self_check() -> None:
    # A wrong build (e.g. fast-math slipped in through CC) would silently change
    # published draws; compare a few values with the interpreter's libm calls.
    xs = [0.1, 0.5, 0.7310585786300049, 1.0, 2.0, 3.0000000000000004, 1e-300, 12345.678]
    got_log, got_cos, got_pow = vlog(xs), vcos(xs), vpow(xs, 3.0)
    for i, x in enumerate(xs):
        if (got_log[i], got_cos[i], got_pow[i]) != (math.log(x), math.cos(x), math.pow(x, 3.0)):
            raise LibmBuildError(f"{library_path()} disagrees with the C library at x={x!r}")


_self_check()
