"""Exact per-line JSON Schema validation of large JSON-lines logs, in parallel.

A log is cut into byte ranges that each end just after a line feed, so every range holds
whole lines, exactly the lines `seg3a.core.jsonl` gives for the whole file. Each range is
scanned a line at a time (memory: one line and the schema packs' bounded verdict cache)
up to its first invalid line, by a worker process of its own (`python -m
seg3a.core.jsonl_check`: a fresh interpreter, so nothing of the caller, dbt's threads or
DuckDB, is inherited, and no main module is re-imported). The results are merged in file
order, adding up the line counts of the earlier ranges, so the first invalid line
reported, its number and its message are those of a serial scan, whatever the number of
workers. A file of one range is scanned in the calling process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .schemas import SchemaPacks

# Least bytes per range: a worker costs ~0.5 s to start, scanning 32 MiB ~2-3 s. A file is
# cut into one range per usable core, never into ranges smaller than this.
RANGE_BYTES = 32 * 1024 * 1024
_SEEK_BLOCK = 64 * 1024


@dataclass(frozen=True)
class RangeScan:
    """One range: its line count (blank lines included), its non-blank lines up to the
    first invalid one, and that line's number within the range and its problem."""

    lines: int
    records: int
    invalid_line: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class LogScan:
    """A whole file: its non-blank lines, or the first invalid line (1-based) and why."""

    records: int
    invalid_line: int | None = None
    problem: str | None = None


def line_aligned_ranges(path: Path, range_bytes: int | None = None) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering the file, each about `range_bytes` long and
    ending just after a line feed (the last one at the end of the file)."""
    range_bytes = range_bytes or RANGE_BYTES
    total = os.path.getsize(path)
    ranges: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as handle:
        while start < total:
            end = _after_next_line_feed(handle, start + max(1, range_bytes) - 1, total)
            ranges.append((start, end))
            start = end
    return ranges


def _after_next_line_feed(handle, position: int, total: int) -> int:
    """The offset just after the first line feed at or after `position`, or `total`."""
    handle.seek(position)
    while position < total:
        block = handle.read(_SEEK_BLOCK)
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return total


def range_lines(handle, start: int, end: int) -> Iterator[bytes]:
    """The lines of bytes [start, end) of an open binary file, as `bytes.splitlines`
    splits them (a lone CR ends a line too); `start` must begin a line."""
    handle.seek(start)
    remaining = end - start
    while remaining > 0:
        chunk = handle.readline(remaining)  # ends at LF, like iterating the file
        if not chunk:
            break
        remaining -= len(chunk)
        yield from chunk.splitlines()


def line_problem(packs: SchemaPacks, valid: Callable[[Any], bool], anchor: str, line: bytes) -> str | None:
    """None when the line is a JSON text valid against `anchor`, else what is wrong with
    it: `is not JSON` or `fails its schema: <first violation>`."""
    try:
        record = json.loads(line)
    except ValueError:
        return "is not JSON"
    if valid(record):
        return None
    violations = packs.validate_json(anchor, record)
    return f"fails its schema: {violations[0]}" if violations else None


def scan_range(contracts_root: str, anchor: str, path: str, start: int, end: int) -> RangeScan:
    """Validate the lines of one range against `anchor`, up to the first invalid one."""
    packs = SchemaPacks.load(contracts_root)  # one instance per process and pack bytes
    valid = packs.validity_predicate(anchor)
    lines = records = 0
    with open(path, "rb") as handle:
        for line in range_lines(handle, start, end):
            lines += 1
            if not line.strip():
                continue
            records += 1
            problem = line_problem(packs, valid, anchor, line)
            if problem is not None:
                return RangeScan(lines, records, lines, problem)
    return RangeScan(lines, records)


def scan_log(contracts_root: str, anchor: str, path: Path, *, workers: int | None = None,
             range_bytes: int | None = None) -> LogScan:
    """The first invalid line of a JSON-lines file (as a serial scan finds it) or its
    record count, the file cut into equal ranges, one per worker (default: the cores this
    process may use), none under `range_bytes`. OSError of the file propagates."""
    size = os.path.getsize(path)
    parts = max(1, min(workers or _usable_cores(), size // (range_bytes or RANGE_BYTES)))
    ranges = line_aligned_ranges(path, -(-size // parts))
    if len(ranges) <= 1:
        return _merge(scan_range(contracts_root, anchor, str(path), start, end) for start, end in ranges)
    commands = [[sys.executable, "-m", __name__, contracts_root, anchor, str(path), str(start), str(end)]
                for start, end in ranges]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_worker_environment())
               for command in commands]
    try:
        return _merge(_worker_result(process) for process in running)
    finally:
        for process in running:  # after the first invalid range the rest is moot
            if process.returncode is None:
                process.kill()
                process.communicate()


def _worker_environment() -> dict[str, str]:
    """The caller's environment, with this package importable even when the caller found
    it through sys.path rather than an installation."""
    package_parent = str(Path(__file__).resolve().parents[2])
    paths = [package_parent, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def _worker_result(process: subprocess.Popen) -> RangeScan:
    out, err = process.communicate()
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise OSError(f"RNG log worker failed: {message[-1] if message else process.returncode}")
    return RangeScan(**json.loads(out))


def _merge(scans: Iterator[RangeScan]) -> LogScan:
    lines = records = 0
    for scan in scans:
        if scan.invalid_line is not None:
            return LogScan(records + scan.records, lines + scan.invalid_line, scan.problem)
        lines += scan.lines
        records += scan.records
    return LogScan(records)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


if __name__ == "__main__":  # a worker of scan_log: one range, its RangeScan as JSON on stdout
    root, anchor_arg, path_arg, start_arg, end_arg = sys.argv[1:6]
    print(json.dumps(asdict(scan_range(root, anchor_arg, path_arg, int(start_arg), int(end_arg)))))
