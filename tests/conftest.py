"""Shared fixtures: one small generated world per session (reference data built on
demand), and per-test copies that a test may break without affecting the others.

The suite runs on two xdist workers (pyproject.toml). Each worker is its own session:
session fixtures (worlds, dbt-built snapshots) are built once per worker under that
worker's temporary directory. What lives outside it and is shared by the workers (the
reference data, the caches under build/) is built under an exclusive file lock and
published by an atomic rename, so no worker builds it twice or reads it half-written.
Tests that share a module- or class-scoped fixture are kept on one worker
(`xdist_group`, used by `--dist loadgroup`), so that fixture is built only once."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from seg3a.core.context import RunContext
from seg3a.core.identity import RECEIPT_NAME, parse_receipt
from seg3a.core.paths import default_external_root
from seg3a.world.testing import ensure_reference, shared_world
from tests import schedule_log

SMALL_PAIRS = 300
LOCK_DIR = Path(__file__).resolve().parents[1] / "build" / "locks"


# ------------------------------------------------------------------ shared between workers
@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the exclusive lock `name` (an fcntl lock on build/locks/<name>.lock), shared by
    every process of the suite (xdist workers, parallel runs in the same checkout)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_DIR / f"{name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_file(source: Path, target: Path) -> Path:
    """Copy `source` to `target` through a private temporary file in the target's folder
    and an atomic rename: readers see the old file or the whole new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, staged)
        os.replace(staged, target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return target


@pytest.fixture(scope="session", autouse=True)
def reference_data() -> Path:
    """The project's reference data, built (once, by one worker) when missing."""
    external_root = default_external_root()
    with exclusive("reference-data"):
        ensure_reference(external_root)
    return external_root


# Session fixtures that build a lot and serve a few tests of several modules: their tests
# all run on one worker (a group named after the fixture), so it is built once.
SHARED_SESSION_BUILDS = ("two_runs",)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Keep on one xdist worker the tests of a module that share a fixture built once per
    module (or class), or a session fixture defined in that module itself, and the tests
    of every module that use one of SHARED_SESSION_BUILDS."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        module = getattr(item, "module", None)
        if info is None or module is None:
            continue
        shared = [name for name in SHARED_SESSION_BUILDS if name in info.names_closure]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
            continue
        for name in info.names_closure:
            definitions = info.name2fixturedefs.get(name, ())
            if any(d.scope in ("module", "class") or
                   (d.scope != "function" and getattr(d.func, "__module__", None) == module.__name__)
                   for d in definitions):
                item.add_marker(pytest.mark.xdist_group(module.__name__))
                break


class _GroupSuffix:
    """`--dist loadgroup` schedules by the `@<group>` suffix that pytest-xdist (3.8) adds
    to a grouped test's node id by assigning `item._nodeid`; with pytest 9.2 the node id
    is read from `item._id`, so the suffix is lost and groups would be split between the
    workers. Runs after xdist's own hook and adds the suffix only where it is missing."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items) -> None:
        if not getattr(config.option, "loadgroup", False):  # unset when xdist is off (-n 0)
            return
        for item in items:
            groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                             for m in item.iter_markers("xdist_group")})
            if not groups or "@" in item.nodeid:
                continue
            suffixed = f"{item.nodeid}@{'_'.join(groups)}"
            if hasattr(item, "_id"):
                item._id = type(item._id).parse(suffixed)
            else:
                item._nodeid = suffixed


def pytest_configure(config) -> None:
    if config.pluginmanager.has_plugin("xdist"):
        config.pluginmanager.register(_GroupSuffix(), "seg3a-xdist-group-suffix")
    if os.environ.get(schedule_log.VARIABLE) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(schedule_log.ScheduleLog(os.environ[schedule_log.VARIABLE]),
                                      "seg3a-schedule-log")


# ------------------------------------------------------------------ worlds
@pytest.fixture
def plots_not_drawn(monkeypatch):
    """For tests of realism scores whose assertions read no plot (verdicts, blockers, gate
    rows): `seg3a realism score` and `certify` write no PNG. The plots are drawn and
    byte-compared by tests/unit/test_realism_commands.py (the score of one run and the
    seedpack's certification); drawing them again costs about 5.5 CPU s a run."""
    from seg3a.realism import score

    monkeypatch.setattr(score, "write_plots", lambda result, out: {})


@pytest.fixture(scope="session")
def worlds_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worlds")


@pytest.fixture(scope="session")
def small_world(worlds_base) -> Path:
    """Run root of a small seed-42 world (about 300 merchant x country pairs)."""
    return shared_world(worlds_base, seed=42, pairs=SMALL_PAIRS)


def copy_run(run_root: Path, destination: Path) -> Path:
    """Copy a run root (keeping its run_id directory name) under `destination`."""
    target = Path(destination) / "runs" / Path(run_root).name
    shutil.copytree(run_root, target)
    return target


@pytest.fixture
def world_copy(small_world, tmp_path) -> Path:
    """A private copy of the small world's run root."""
    return copy_run(small_world, tmp_path)


def context_of(run_root: Path) -> RunContext:
    return RunContext.from_receipt(parse_receipt(Path(run_root) / RECEIPT_NAME))
