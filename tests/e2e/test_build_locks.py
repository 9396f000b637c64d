"""Two builds on one run root or one DuckDB file: the second stops at once with a
message naming the holder (or waits up to SEG3A_LOCK_WAIT seconds), never interleaves
writes and never shows DuckDB's raw lock error. A lock dies with its holder."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seg3a.core import locks
from tests.e2e.conftest import Seg3aProject, run_dbt, s1s2_session  # noqa: F401  (fixture)

HOLD = """
import sys, time
from pathlib import Path
from seg3a.core.locks import acquire
acquire(Path(sys.argv[1]), "test holder", 0)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextlib.contextmanager
def held_elsewhere(path: Path, seconds: float, kill: bool = True):
    """Another process holds the lock at `path` for `seconds` (killed on exit)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        if kill:
            process.kill()
        process.wait()
        process.stdout.close()


def test_a_held_lock_names_its_holder_and_dies_with_it(tmp_path):
    path = tmp_path / "x.lock"
    with held_elsewhere(path, 30) as holder:
        with pytest.raises(locks.LockHeld, match=rf"in use by pid {holder.pid} on "):
            locks.acquire(path, "thing", 0)
    assert locks.acquire(path, "thing", 0)  # the kernel released the killed holder's lock
    locks.release(path)


def test_the_second_waits_when_asked(tmp_path, monkeypatch):
    path = tmp_path / "x.lock"
    monkeypatch.setenv(locks.WAIT_VARIABLE, "20")
    with held_elsewhere(path, 1.0, kill=False):
        started = time.monotonic()
        try:
            assert locks.acquire(path, "thing")
        finally:
            locks.release(path)
        assert time.monotonic() - started >= 0.5


def test_a_process_takes_its_own_lock_again(tmp_path):
    path = tmp_path / "x.lock"
    assert locks.acquire(path, "thing", 0)
    assert not locks.acquire(path, "thing", 0)
    locks.release(path)


def test_taking_the_run_root_lock_sweeps_stale_staging(tmp_path):
    run_root = tmp_path / "runs" / "r1"
    stale = run_root / ".staging" / "zone_alloc-0123.dead"
    stale.mkdir(parents=True)
    locks.hold_build_locks(run_root, None)
    try:
        assert not stale.exists()
        assert locks.run_root_lock_path(run_root).parent == tmp_path / "runs" / ".locks"
    finally:
        locks.release_all()


@pytest.mark.e2e
@pytest.mark.parametrize("held", ["run_root", "database"])
def test_a_second_build_stops_with_a_clear_message(s1s2_session: Seg3aProject, held):
    project = s1s2_session.restore("built")
    path = (locks.run_root_lock_path(project.run_root) if held == "run_root"
            else locks.database_lock_path(project.database))
    before = {p: p.stat().st_mtime_ns for p in project.run_root.rglob("*") if p.is_file()}
    with held_elsewhere(path, 60) as holder:
        result = run_dbt(["build", "--select", "s0_gate_receipt_3A"], project.runs_root, project.database,
                         project.work)
    assert not result.ok
    assert "E3A_BUILD_LOCKED" in result.output and f"in use by pid {holder.pid}" in result.output, result.output[-3000:]
    assert "Could not set lock" not in result.output
    after = {p: p.stat().st_mtime_ns for p in project.run_root.rglob("*") if p.is_file()}
    assert after == before  # nothing written under the run root
