"""Compiling `_libm_vec.c`, the C helper of the samplers, at package build time.

setup.py calls `compile_library` when the package is built or installed (`pip install`,
`make venv`); `_libm` only loads the result and never compiles. Standard library only, so
that setup.py can import it before any dependency is installed.

The library's file name carries the source, flags and architecture, so a build of other
source bytes or flags is never loaded: after editing the C file, reinstall (`make venv`).
"""
from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("_libm_vec.c")
CFLAGS = ("-O2", "-fno-fast-math", "-ffp-contract=off", "-fPIC", "-shared")
LDFLAGS = ("-lm",)


class LibmBuildError(RuntimeError):
    """The C helper could not be compiled or loaded (no compiler, bad build)."""


def library_name() -> str:
    """`_libm_vec.<machine>.<digest of source, flags and machine>.so`."""
    digest = hashlib.sha256()
    digest.update(SOURCE.read_bytes())
    digest.update(" ".join(CFLAGS + LDFLAGS).encode())
    digest.update(platform.machine().encode())
    return f"_libm_vec.{platform.machine()}.{digest.hexdigest()[:16]}.so"


def compiler() -> list[str]:
    words = shlex.split(os.environ.get("CC", "cc"))
    if not words or shutil.which(words[0]) is None:
        raise LibmBuildError(
            f"no C compiler found (tried {words[0] if words else '<empty CC>'!r}); installing seg3a compiles "
            "python_udfs/_libm_vec.c, which keeps the gamma sampler bit-exact: install cc/gcc (Debian: "
            "apt-get install gcc) or set CC, then install again (make venv)")
    return words


def compile_library(target_dir: Path) -> Path:
    """Compile the helper into `target_dir` under its content name, through a temporary
    file and an atomic rename; returns its path."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / library_name()
    command = compiler()
    fd, staged = tempfile.mkstemp(dir=target_dir, prefix=".build-", suffix=".so")
    os.close(fd)
    try:
        cmd = command + list(CFLAGS) + ["-o", staged, str(SOURCE)] + list(LDFLAGS)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LibmBuildError(f"compiling {SOURCE.name} failed ({' '.join(cmd)}):\n{done.stderr.strip()}")
        os.chmod(staged, 0o755)
        os.replace(staged, target)
    finally:
        if os.path.exists(staged):
            os.unlink(staged)
    return target
