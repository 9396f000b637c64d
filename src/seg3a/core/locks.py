"""Build locks: one build at a time per run root and per DuckDB file.

A `dbt build` / `dbt test` of the segment takes, before DuckDB opens its file,

* the **run-root lock** `<runs_root>/.locks/<run_id>.lock` (outside the run root, whose
  files must stay byte-identical from run to run), so two builds never interleave
  writes under one run root, and
* the **database lock** `<database>.seg3a-lock` beside the DuckDB file, so a second build
  on the same file stops with a message naming the holder instead of DuckDB's raw
  "Could not set lock on file" error.

The locks are `fcntl.flock` locks on files that record their holder (pid, host,
command, since). The kernel releases them when the holder exits, also after `kill -9`,
so a stale lock file never blocks anyone. A held lock makes the second build stop at
once, or wait up to `SEG3A_LOCK_WAIT` seconds (default 0) and then stop. A process that
already holds a lock (the seedpack runner builds in-process) takes it again freely.

A process that is not a seg3a build (a `duckdb` shell, a Python session, `seg3a shell`)
takes no seg3a lock but DuckDB's own lock on the file. `when_free` turns DuckDB's raw
"Could not set lock on file" refusal into the same kind of message, naming the process
DuckDB names (and its command line, where /proc shows it), after the same wait.

Under a newly taken run-root lock, the stages an interrupted run left under
`<run_root>/.staging/` are swept (core.staging): nobody else can be writing them.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from .staging import sweep_run_root

WAIT_VARIABLE = "SEG3A_LOCK_WAIT"
LOCKS_DIR = ".locks"
DATABASE_SUFFIX = ".seg3a-lock"
_POLL_S = 0.2
_HELD: dict[str, int] = {}  # lock path -> open descriptor of this process
CODE = "E3A_BUILD_LOCKED"
# DuckDB's refusal to open a file another process holds (IOException text).
DUCKDB_LOCK_REFUSED = re.compile(r'Could not set lock on file "(?P<file>[^"]*)": Conflicting lock is held in '
                                 r'(?P<program>.*?) \(PID (?P<pid>[0-9]+)\)')
Opened = TypeVar("Opened")


class LockHeld(RuntimeError):
    """Another process holds a build lock or the DuckDB file: one line,
    `E3A_BUILD_LOCKED: <what, held by whom> | fix: <what to do>`."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{CODE}: {message} | fix: {fix}")


def run_root_lock_path(run_root: Path) -> Path:
    run_root = Path(run_root).absolute()
    return run_root.parent / LOCKS_DIR / f"{run_root.name}.lock"


def database_lock_path(database: Path) -> Path:
    database = Path(database).absolute()
    return database.with_name(database.name + DATABASE_SUFFIX)


def wait_seconds() -> float:
    raw = os.environ.get(WAIT_VARIABLE, "").strip()
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        raise LockHeld(f"{WAIT_VARIABLE}={raw!r} is not a number of seconds",
                       f"set {WAIT_VARIABLE} to a number of seconds, or unset it") from None


def holder(path: Path) -> dict:
    """What the holder recorded in the lock file (empty when unreadable)."""
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def describe(info: dict) -> str:
    if not info:
        return "an unknown process"
    return (f"pid {info.get('pid')} on {info.get('host')} since {info.get('since_utc')} "
            f"({info.get('command')})")


def command_line(pid: int) -> str | None:
    """The command line of process `pid` (Linux /proc) on one line, shortened; None when
    unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = " ".join(raw.decode(errors="replace").replace("\0", " ").split())  # one line
    return (words[:200] + "…" if len(words) > 200 else words) or None


def is_database_file(database: str | None) -> bool:
    """A DuckDB database that is a local file (not in-memory, not MotherDuck)."""
    return bool(database) and database != ":memory:" and not database.startswith("md:")


def database_holder(database: str, refusal: re.Match) -> str:
    """Who holds `database`, from DuckDB's refusal: a seg3a build as its lock file
    records it, else the process DuckDB names with its command line."""
    pid = int(refusal["pid"])
    info = holder(database_lock_path(Path(database)))
    if info.get("pid") == pid:
        return describe(info)
    read_only = ", read-only" if "read-only mode" in refusal.string else ""
    return f"pid {pid} ({command_line(pid) or refusal['program']}){read_only}"


def when_free(database: str, open_database: Callable[[], Opened], fix: str, wait_s: float | None = None) -> Opened:
    """`open_database()` (which opens the DuckDB file `database`), tried again while
    another process holds the file, up to SEG3A_LOCK_WAIT seconds (or `wait_s`); then
    LockHeld naming that process, with `fix`. Any other error propagates unchanged."""
    deadline = time.monotonic() + (wait_seconds() if wait_s is None else wait_s)
    while True:
        try:
            return open_database()
        except duckdb.Error as exc:
            refusal = DUCKDB_LOCK_REFUSED.search(str(exc))
            if refusal is None:
                raise
            if time.monotonic() >= deadline:
                raise LockHeld(f"DuckDB file {database} is open in another process: "
                               f"{database_holder(database, refusal)}", fix) from None
            time.sleep(_POLL_S)


def acquire(path: Path, what: str, wait_s: float | None = None) -> bool:
    """Hold the lock at `path` for the rest of this process; True when newly taken.
    Raises LockHeld naming the holder when it stays held past the wait."""
    key = str(Path(path).absolute())
    if key in _HELD:
        return False
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + (wait_seconds() if wait_s is None else wait_s)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockHeld(f"{what} is in use by {describe(holder(path))} (lock file {key})",
                               f"wait for that build to end, or set {WAIT_VARIABLE}=<seconds> to wait") from None
            time.sleep(_POLL_S)
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:300],
            "since_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "what": what}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info, sort_keys=True).encode(), 0)
    _HELD[key] = fd
    return True


def release(path: Path) -> None:
    fd = _HELD.pop(str(Path(path).absolute()), None)
    if fd is not None:
        os.close(fd)


def release_all() -> None:
    """Release every lock this process holds (an in-process build ended)."""
    for key in list(_HELD):
        release(Path(key))


def hold_build_locks(run_root: Path | None, database: str | None) -> None:
    """Both locks of a build (the database first: it is what DuckDB would refuse)."""
    if is_database_file(database):
        acquire(database_lock_path(Path(database)), f"DuckDB file {database}")
    if run_root is not None and acquire(run_root_lock_path(run_root), f"run root {run_root}"):
        sweep_run_root(run_root)
