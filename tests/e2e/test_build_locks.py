"""Two builds on one run root or one DuckDB file: the second stops at once with a
message naming the holder (or waits up to SEG3A_LOCK_WAIT seconds), never interleaves
writes and never shows DuckDB's raw lock error. A lock dies with its holder. A process
that is no seg3a build (the DuckDB CLI, a Python session) holding the DuckDB file is
named the same way."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from seg3a.core import duck, locks
from tests.e2e.conftest import Seg3aProject, run_dbt, s1s2_session  # noqa: F401  (fixture)

HOLD = """
import sys, time
from pathlib import Path
from seg3a.core.locks import acquire
acquire(Path(sys.argv[1]), "test holder", 0)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


DUCKDB_CLI = Path(sys.executable).with_name("duckdb")
HOLD_DATABASE = """
import sys, time
import duckdb
conn = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read_only")
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


@contextlib.contextmanager
def database_held(database: Path, how: str, seconds: float = 60):
    """Another process that is no seg3a build has `database` open: the DuckDB CLI
    (read-write, as `duckdb <file>` opens it) or a Python session (`read_only`). The
    holder leads a process group of its own (the venv's `duckdb` script runs the CLI
    binary as a child): `in_holder(pid)` tells whether a pid belongs to it."""
    if how == "duckdb_cli":
        process = subprocess.Popen([str(DUCKDB_CLI), "-noheader", "-list", str(database)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, start_new_session=True)
        process.stdin.write("select 'held';\n")
        process.stdin.flush()
    else:
        process = subprocess.Popen([sys.executable, "-c", HOLD_DATABASE, str(database), how, str(seconds)],
                                   stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "held"
        yield lambda pid: os.getpgid(pid) == process.pid
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout):  # closed even when the wait below fails
            if stream is not None:
                stream.close()
        wait_for_group_to_end(process.pid)


def wait_for_group_to_end(group: int, seconds: float = 30.0) -> None:
    """Until no process of `group` is left. Waiting for the leader is not enough: the
    CLI binary it started dies (and DuckDB's lock with it) on its own, a moment later."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(group):
            return
        time.sleep(0.02)
    raise AssertionError(f"process group {group} still alive {seconds} s after SIGKILL")


def group_alive(group: int) -> bool:
    """Whether a process of `group` still runs. A dead one is not reaped by this test when
    it was reparented (the CLI binary, once its leader is gone) and, under a subreaper that
    reaps only at its end (a container's init, a process-tree timer), stays a zombie, which
    `killpg(group, 0)` still finds although it holds no file."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _parent, process_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
        if int(process_group) == group and state != "Z":
            return True
    return False


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


def test_a_database_file_open_in_another_program_names_that_program(tmp_path):
    database = tmp_path / "x.duckdb"
    duck.open_file(database).close()
    with database_held(database, "duckdb_cli") as in_holder:
        with pytest.raises(locks.LockHeld) as refused:
            duck.open_file(database, fix="close it")
        message = str(refused.value)
        named = re.match(rf"E3A_BUILD_LOCKED: DuckDB file {re.escape(str(database))} is open in another process: "
                         r"pid ([0-9]+) \((.*)\) \| fix: close it$", message)
        assert named, message
        assert in_holder(int(named[1])) and "duckdb" in named[2]
    duck.open_file(database).close()  # free again once the holder is gone


def test_a_database_file_is_waited_for_when_asked(tmp_path, monkeypatch):
    database = tmp_path / "x.duckdb"
    duck.open_file(database).close()
    monkeypatch.setenv(locks.WAIT_VARIABLE, "30")
    process = subprocess.Popen([sys.executable, "-c", HOLD_DATABASE, str(database), "read_write", "1.0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        started = time.monotonic()
        duck.open_file(database).close()
        assert time.monotonic() - started >= 0.3
    finally:
        process.wait()
        process.stdout.close()


def test_other_duckdb_errors_are_not_taken_for_a_lock(tmp_path):
    not_a_database = tmp_path / "x.duckdb"
    not_a_database.write_bytes(b"plain text, not a DuckDB file" * 100)
    with pytest.raises(duckdb.Error) as raised:
        duck.open_file(not_a_database)
    assert not isinstance(raised.value, locks.LockHeld)


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["duckdb_cli", "read_only"])
def test_a_build_on_a_database_open_elsewhere_stops_with_a_clear_message(s1s2_session: Seg3aProject, how):
    project = s1s2_session.restore("built")
    before = {p: p.stat().st_mtime_ns for p in project.run_root.rglob("*") if p.is_file()}
    with database_held(project.database, how) as in_holder:
        result = run_dbt(["build", "--select", "s0_gate_receipt_3A"], project.runs_root, project.database,
                         project.work)
        named = re.search(rf"E3A_BUILD_LOCKED: DuckDB file {re.escape(str(project.database))} is open in another "
                          r"process: pid ([0-9]+) ", result.output)
        assert named, result.output[-3000:]
        assert in_holder(int(named[1]))
    assert not result.ok
    assert "| fix: close that process" in result.output
    assert (", read-only | fix:" in result.output) == (how == "read_only")
    assert "Could not set lock" not in result.output and "Traceback" not in result.output
    after = {p: p.stat().st_mtime_ns for p in project.run_root.rglob("*") if p.is_file()}
    assert after == before  # nothing written under the run root
