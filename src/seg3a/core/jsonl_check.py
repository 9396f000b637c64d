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

Within a range, lines are taken in batches of whole lines (BATCH_BYTES). A batch whose
every line matches the schema's line template (seg3a.core.json_templates: a regex that
only certainly valid records match, for the key order of the batch's first line) is
valid as a whole, at a fraction of the cost of parsing and checking each line; any
other batch is scanned line by line as described, so the verdict, the first invalid
line, its number and its message are the same either way.

A log whose every line a template proved, scanned in this process, is remembered by the
SHA-256 of the bytes scanned (`remember_proven` / `proven_records`): a later reader in the
same process that hashed the same bytes (S7, which digests every log it bundles) knows
them valid without parsing them again.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import weakref
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from .schemas import SchemaPacks

# Least bytes per range: a worker costs ~0.4 CPU s to start; proving 256 MiB of RNG log
# lines by templates ~1.6 CPU s (scanning them line by line ~9). A file is cut into one
# range per usable core, never into ranges smaller than this.
RANGE_BYTES = 256 * 1024 * 1024
BATCH_BYTES = 8 * 1024 * 1024  # lines judged together by a template (memory: about twice this)
_SEEK_BLOCK = 64 * 1024
_TEMPLATES_PER_SCAN = 4  # key orders tried per range before giving up on templates


@dataclass(frozen=True)
class RangeScan:
    """One range: its line count (blank lines included), its non-blank lines up to the
    first invalid one, and that line's number within the range and its problem."""

    lines: int
    records: int
    invalid_line: int | None = None
    problem: str | None = None
    # Every batch proven by a template: how the verdict was reached, not part of it.
    proven: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class LogScan:
    """A whole file: its non-blank lines, or the first invalid line (1-based) and why.
    `proven_bytes` is the number of bytes fed to the caller's digest when the file was
    scanned in this process and a template proved every line, else None."""

    records: int
    invalid_line: int | None = None
    problem: str | None = None
    proven_bytes: int | None = None


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


def range_batches(handle, start: int, end: int, batch_bytes: int | None = None) -> Iterator[bytes]:
    """Bytes [start, end) of an open binary file in pieces of about `batch_bytes`, each
    ending just after a line feed (the last one at `end`), so that their lines, split as
    `range_lines` splits them, are the range's lines; `start` must begin a line. A line
    longer than a batch makes its batch longer."""
    batch_bytes = batch_bytes or BATCH_BYTES
    handle.seek(start)
    remaining, pending = end - start, b""
    while remaining > 0:
        block = handle.read(min(batch_bytes, remaining))
        if not block:
            break
        remaining -= len(block)
        block = pending + block
        cut = len(block) if remaining <= 0 else block.rfind(b"\n") + 1
        if cut:
            yield block[:cut]
        pending = block[cut:]
    if pending:
        yield pending


class TemplateProof:
    """Proves batches of lines valid against an anchor by its line templates
    (SchemaPacks.line_template), one per key order met, at most _TEMPLATES_PER_SCAN."""

    def __init__(self, packs: SchemaPacks, anchor: str) -> None:
        self.packs, self.anchor = packs, anchor
        self.templates: list[re.Pattern[bytes]] = []
        self.key_orders_tried: set[tuple[str, ...]] = set()

    def valid_lines(self, batch: bytes) -> int | None:
        """The number of lines of `batch` (whole lines, split at line feeds) when every
        one of them matches a template, else None (nothing is known about the batch)."""
        lines = batch.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        if not lines:
            return None
        for template in self.templates:
            if all(map(template.fullmatch, lines)):
                return len(lines)
        template = self._template_for(lines[0])
        if template is not None and all(map(template.fullmatch, lines)):
            return len(lines)
        return None

    def _template_for(self, line: bytes) -> re.Pattern[bytes] | None:
        keys = _key_order(line)
        if keys is None or keys in self.key_orders_tried or len(self.key_orders_tried) >= _TEMPLATES_PER_SCAN:
            return None
        self.key_orders_tried.add(keys)
        template = self.packs.line_template(self.anchor, keys)
        if template is not None:
            self.templates.append(template)
        return template


def _key_order(line: bytes) -> tuple[str, ...] | None:
    """The keys of a JSON object line in the order written, or None."""
    try:
        keys = json.loads(line, object_pairs_hook=lambda pairs: [key for key, _ in pairs])
    except (ValueError, RecursionError):
        return None
    return tuple(keys) if isinstance(keys, list) and all(isinstance(k, str) for k in keys) else None


def scan_range(contracts_root: str, anchor: str, path: str, start: int, end: int, digest=None) -> RangeScan:
    """Validate the lines of one range against `anchor`, up to the first invalid one:
    batch by batch, each proven by a template or else scanned line by line. `digest`
    (a hashlib object), when given, is fed every byte of the range as it is judged."""
    packs = SchemaPacks.load(contracts_root)  # one instance per process and pack bytes
    valid = packs.validity_predicate(anchor)
    proof = TemplateProof(packs, anchor)
    lines = records = 0
    all_proven = True
    with open(path, "rb") as handle:
        for batch in range_batches(handle, start, end):
            if digest is not None:
                digest.update(batch)
            proven = proof.valid_lines(batch)
            scan = RangeScan(proven, proven) if proven is not None else scan_lines(packs, valid, anchor, batch)
            if scan.invalid_line is not None:
                return RangeScan(lines + scan.lines, records + scan.records, lines + scan.invalid_line, scan.problem)
            lines += scan.lines
            records += scan.records
            all_proven = all_proven and proven is not None
    return RangeScan(lines, records, proven=all_proven)


def scan_lines(packs: SchemaPacks, valid: Callable[[Any], bool], anchor: str, batch: bytes) -> RangeScan:
    """The exact scan of whole lines: each non-blank line parsed and validated, up to
    the first invalid one."""
    lines = records = 0
    for line in range_lines(io.BytesIO(batch), 0, len(batch)):
        lines += 1
        if not line.strip():
            continue
        records += 1
        problem = line_problem(packs, valid, anchor, line)
        if problem is not None:
            return RangeScan(lines, records, lines, problem)
    return RangeScan(lines, records)


def scan_log(contracts_root: str, anchor: str, path: Path, *, workers: int | None = None,
             range_bytes: int | None = None, digest=None) -> LogScan:
    """The first invalid line of a JSON-lines file (as a serial scan finds it) or its
    record count, the file cut into equal ranges, one per worker (default: the cores this
    process may use), none under `range_bytes`. OSError of the file propagates.

    `digest` (a hashlib object) is fed the file's bytes when the file is scanned in this
    process (one range); `proven_bytes` then says how many, if templates proved them all.
    Ranges scanned by workers feed nothing (their bytes never reach this process)."""
    size = os.path.getsize(path)
    parts = max(1, min(workers or _usable_cores(), size // (range_bytes or RANGE_BYTES)))
    ranges = line_aligned_ranges(path, -(-size // parts))
    if len(ranges) <= 1:
        fed = _CountingDigest(digest)
        scans = [scan_range(contracts_root, anchor, str(path), start, end, fed) for start, end in ranges]
        scan = _merge(iter(scans))
        proven = digest is not None and scan.invalid_line is None and all(s.proven for s in scans)
        return replace(scan, proven_bytes=fed.size if proven else None)
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


class _CountingDigest:
    """Feeds a hashlib object (if any) and counts the bytes fed."""

    def __init__(self, digest) -> None:
        self.digest, self.size = digest, 0

    def update(self, data: bytes) -> None:
        self.size += len(data)
        if self.digest is not None:
            self.digest.update(data)


# ------------------------------------------------------------------ proven logs
# Logs proven valid in this process, per packs instance (one per pack bytes, so a change
# of the schemas is a different instance), keyed by anchor, the SHA-256 of the bytes the
# proof read and the byte size of each file in order (the same concatenation cut into
# other files would be other lines). The value is the record count.
_PROVEN: "weakref.WeakKeyDictionary[SchemaPacks, dict[tuple, int]]" = weakref.WeakKeyDictionary()
_PROVEN_LOCK = threading.Lock()
_PROVEN_PER_PACKS = 32


def remember_proven(packs: SchemaPacks, anchor: str, sha256_hex: str, file_sizes: tuple[int, ...],
                    records: int) -> None:
    """Record that the files whose concatenated bytes have this SHA-256 and whose sizes
    are `file_sizes` hold `records` lines, every one proven valid against `anchor` by a
    line template in this process (a proof implies the validator's verdict)."""
    with _PROVEN_LOCK:
        known = _PROVEN.setdefault(packs, {})
        if len(known) >= _PROVEN_PER_PACKS:
            known.clear()
        known[(anchor, sha256_hex, tuple(file_sizes))] = records


def proven_records(packs: SchemaPacks, anchor: str, sha256_hex: str, file_sizes: tuple[int, ...]) -> int | None:
    """The record count of files with these bytes proven valid against `anchor`, or None."""
    with _PROVEN_LOCK:
        return _PROVEN.get(packs, {}).get((anchor, sha256_hex, tuple(file_sizes)))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


if __name__ == "__main__":  # a worker of scan_log: one range, its RangeScan as JSON on stdout
    root, anchor_arg, path_arg, start_arg, end_arg = sys.argv[1:6]
    print(json.dumps(asdict(scan_range(root, anchor_arg, path_arg, int(start_arg), int(end_arg)))))
