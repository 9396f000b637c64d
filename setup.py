"""Build hook: compiles python_udfs/_libm_vec.c (the samplers' C helper) whenever the
package is built or installed, editable or not; everything else is in pyproject.toml.
A missing compiler fails the install with a message saying what to install."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _libm_build():
    spec = importlib.util.spec_from_file_location("_libm_build", HERE / "python_udfs" / "_libm_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithLibm(build_py):
    """build_py, then the C helper: into the source tree for an editable install (the
    package is imported from there), else into the build directory the wheel is made from."""

    def run(self) -> None:
        super().run()
        libm = _libm_build()
        target_dir = HERE / "python_udfs" if self.editable_mode else Path(self.build_lib) / "python_udfs"
        try:
            built = libm.compile_library(target_dir)
        except libm.LibmBuildError as exc:
            sys.exit(f"error: {exc}")
        self.announce(f"compiled {built}", level=2)


setup(cmdclass={"build_py": BuildPyWithLibm})
