"""Exact per-line JSON Schema validation of large JSON-lines logs, in parallel.

A log is read in batches of whole lines (BATCH_BYTES, each ending just after a line feed,
so their lines are exactly the lines `seg3a.core.jsonl` gives for the whole file). A
batch whose every line matches the schema's line template (seg3a.core.json_templates: a
regex that only certainly valid records match, for the key order of the batch's first
line) is valid as a whole, at a fraction of the cost of parsing and checking each line;
any other batch is scanned line by line (memory: one line and the schema packs' bounded
verdict cache) up to its first invalid line, so the verdict, the first invalid line, its
number and its message are the same either way.

A small file is judged in the calling process. A larger one (BYTES_PER_WORKER per
worker, at most one worker per usable core) is judged by worker processes of their own
(`python -m seg3a.core.jsonl_check`: a fresh interpreter, so nothing of the caller,
dbt's threads or DuckDB, is inherited, and no main module is re-imported). The calling
process still reads every batch itself: it feeds it to the caller's digest, in file
order, and hands it through a pipe to whichever worker is free, so the bytes the
workers judge are exactly the bytes this process hashed. Each worker answers per batch
it judged; the answers are merged in file order, adding up the line counts of the
earlier batches, so the first invalid line reported, its number and its message are
those of a serial scan, whatever the number of workers.

A log whose every line a template proved is remembered by the SHA-256 of the bytes
judged (`remember_proven` / `proven_records`): a later reader in the same process that
hashed the same bytes (S7, which digests every log it bundles) knows them valid without
parsing them again.
"""
from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import weakref
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from .schemas import SchemaPacks

# Least bytes per worker. A worker costs 0.31 CPU s to start and ~0.1 CPU s per 100 MB
# of the calling process's time to feed (read, hash, pipe); proving 256 MiB of RNG log
# lines by templates costs ~1.4 CPU s (scanning them line by line ~9), and the regex
# holds the GIL, so threads would not help. At 1M pairs (logs of 395 and 201 MB) two
# workers per log cost 55 % more CPU for at best a quarter less wall on an idle 2-core
# machine (docs/decisions.md). A file gets one worker per usable core, never fewer than
# this many bytes per worker; below two workers' worth it is judged in this process.
BYTES_PER_WORKER = 256 * 1024 * 1024
BATCH_BYTES = 8 * 1024 * 1024  # lines judged together by a template (memory: about twice this)
_BATCHES_PER_WORKER = 4  # a file judged by workers is cut into at least this many batches per worker
_TEMPLATES_PER_SCAN = 4  # key orders tried per scan before giving up on templates
_BATCH_HEADER = struct.Struct("<QQ")  # what precedes a batch on a worker's pipe: its number, its length


@dataclass(frozen=True)
class RangeScan:
    """One range of lines (a batch, or a run of batches): its line count (blank lines
    included), its non-blank lines up to the first invalid one, and that line's number
    within the range and its problem."""

    lines: int
    records: int
    invalid_line: int | None = None
    problem: str | None = None
    # Every batch proven by a template: how the verdict was reached, not part of it.
    proven: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class LogScan:
    """A whole file: its non-blank lines, or the first invalid line (1-based) and why.
    `proven_bytes` is the number of bytes fed to the caller's digest when a template
    proved every line, else None."""

    records: int
    invalid_line: int | None = None
    problem: str | None = None
    proven_bytes: int | None = None


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


def range_batches(handle, start: int, end: int, batch_bytes: int | None = None) -> Iterator[memoryview]:
    """Bytes [start, end) of an open binary file in pieces of about `batch_bytes`, each
    ending just after a line feed (the last one at `end`), so that their lines, split as
    `range_lines` splits them, are the range's lines; `start` must begin a line. A line
    longer than a batch makes its batch longer. Each piece is a view of the bytes read
    (one copy from the file: hashing and piping take it as it is, a judge copies it),
    the next read starting where the piece ends."""
    batch_bytes = batch_bytes or BATCH_BYTES
    position, size = start, batch_bytes
    while position < end:
        handle.seek(position)
        block = handle.read(min(size, end - position))
        if not block:
            break
        cut = len(block) if position + len(block) >= end else block.rfind(b"\n") + 1
        if not cut:  # no line ends in it: read the long line whole
            size *= 2
            continue
        yield memoryview(block)[:cut]
        position, size = position + cut, batch_bytes


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
    judge = BatchJudge(contracts_root, anchor)
    lines = records = 0
    all_proven = True
    with open(path, "rb") as handle:
        for batch in range_batches(handle, start, end):
            if digest is not None:
                digest.update(batch)
            scan = judge(batch)
            if scan.invalid_line is not None:
                return RangeScan(lines + scan.lines, records + scan.records, lines + scan.invalid_line, scan.problem)
            lines += scan.lines
            records += scan.records
            all_proven = all_proven and scan.proven
    return RangeScan(lines, records, proven=all_proven)


class BatchJudge:
    """Judges batches of whole lines against an anchor: each proven by a template, or
    else scanned line by line up to its first invalid line."""

    def __init__(self, contracts_root: str, anchor: str) -> None:
        self.packs = SchemaPacks.load(contracts_root)  # one instance per process and pack bytes
        self.anchor = anchor
        self.valid = self.packs.validity_predicate(anchor)
        self.proof = TemplateProof(self.packs, anchor)

    def __call__(self, batch: bytes | memoryview) -> RangeScan:
        batch = bytes(batch)  # no copy of bytes
        proven = self.proof.valid_lines(batch)
        if proven is not None:
            return RangeScan(proven, proven, proven=True)
        return scan_lines(self.packs, self.valid, self.anchor, batch)


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
             bytes_per_worker: int | None = None, digest=None, off_process: bool = False,
             worker_niceness: int = 0) -> LogScan:
    """The first invalid line of a JSON-lines file (as a serial scan finds it) or its
    record count. The file is judged by up to `workers` worker processes (default: the
    cores this process may use), none given less than `bytes_per_worker`; with fewer
    than two, in this process, unless `off_process` asks for at least one worker (the
    caller then only reads, hashes and pipes, leaving the GIL to its other threads);
    `worker_niceness` lowers the workers' scheduling priority by that much (work that
    should only fill an idle core). OSError of the file or of a worker propagates.

    `digest` (a hashlib object) is fed the file's bytes in order, as they are judged;
    `proven_bytes` then says how many, if templates proved every line."""
    size = os.path.getsize(path)
    count = min(workers or _usable_cores(), size // (bytes_per_worker or BYTES_PER_WORKER))
    if off_process:
        count = max(count, 1)
    fed = _CountingDigest(digest)
    if count < 2 and not off_process:
        scans = [scan_range(contracts_root, anchor, str(path), 0, size, fed)]
    else:
        scans = _scan_by_workers(contracts_root, anchor, path, size, count, fed, niceness=worker_niceness)
    scan = _merge(iter(scans))
    proven = digest is not None and scan.invalid_line is None and all(s.proven for s in scans)
    return replace(scan, proven_bytes=fed.size if proven else None)


def _scan_by_workers(contracts_root: str, anchor: str, path: Path, size: int, count: int,
                     fed: "_CountingDigest", niceness: int = 0) -> list[RangeScan]:
    """The file's first `size` bytes in batches judged by `count` workers, in file order
    up to the first invalid one. This process reads the batches, feeds them to `fed` in
    order and writes each to the pipe of a worker that is free; a worker stops at its
    first invalid line, after which no later batch matters."""
    batch_bytes = min(BATCH_BYTES, max(1, -(-size // (count * _BATCHES_PER_WORKER))))
    command = [sys.executable, "-m", __name__, contracts_root, anchor]
    with ExitStack() as stack:
        handle = stack.enter_context(open(path, "rb"))
        # Answers go to files, not pipes: a worker never waits for this process to read.
        answers = [(stack.enter_context(tempfile.TemporaryFile()), stack.enter_context(tempfile.TemporaryFile()))
                   for _ in range(count)]
        running = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                    env=_worker_environment()) for out, err in answers]
        stack.callback(_stop, running)
        for process in running:
            _lower_priority(process.pid, niceness)
        dispatch = _Dispatch(range_batches(handle, 0, size, batch_bytes), fed)
        feeders = [threading.Thread(target=dispatch.feed, args=(process.stdin,), daemon=True) for process in running]
        for feeder in feeders:
            feeder.start()
        for feeder in feeders:
            feeder.join()
        if dispatch.error is not None:
            raise dispatch.error
        judged: dict[int, RangeScan] = {}
        for process, (out, err) in zip(running, answers):
            judged.update(_worker_answers(process, out, err))
    return _in_file_order(judged, dispatch.batches)


class _Dispatch:
    """Hands out the batches of a file in order, each fed to the digest as it is taken,
    to feeder threads that write them to their worker's pipe."""

    def __init__(self, batches: Iterator[memoryview], digest: "_CountingDigest") -> None:
        self._batches, self._digest = enumerate(batches), digest
        self._lock = threading.Lock()
        self.batches = 0  # batches handed out
        self.stopped = False
        self.error: BaseException | None = None

    def _next(self) -> tuple[int, memoryview] | None:
        with self._lock:  # read and hashed in file order
            taken = None if self.stopped else next(self._batches, None)
            if taken is not None:
                self._digest.update(taken[1])
                self.batches += 1
            return taken

    def feed(self, pipe: IO[bytes]) -> None:
        try:
            while (taken := self._next()) is not None:
                number, batch = taken
                pipe.write(_BATCH_HEADER.pack(number, len(batch)))
                pipe.write(batch)
                pipe.flush()
        except BrokenPipeError:  # the worker stopped: at an invalid line, or it failed
            self.stopped = True
        except BaseException as exc:  # noqa: BLE001 - reading the file: raised by the caller
            self.error, self.stopped = exc, True
        finally:
            try:
                pipe.close()
            except BrokenPipeError:
                pass


def _worker_answers(process: subprocess.Popen, out: IO[bytes], err: IO[bytes]) -> dict[int, RangeScan]:
    if process.wait() != 0:
        err.seek(0)
        message = err.read().decode(errors="replace").strip().splitlines()
        raise OSError(f"RNG log worker failed: {message[-1] if message else process.returncode}")
    out.seek(0)
    return {number: RangeScan(**scan) for number, scan in json.loads(out.read())}


def _in_file_order(judged: dict[int, RangeScan], batches: int) -> list[RangeScan]:
    """The judged batches in file order, up to the first invalid one: every batch before
    it must have been judged (a worker only skips batches after its own invalid one)."""
    ordered = []
    for number in range(batches):
        scan = judged.get(number)
        if scan is None:
            raise OSError(f"RNG log worker did not judge batch {number}")
        ordered.append(scan)
        if scan.invalid_line is not None:
            break
    return ordered


def _lower_priority(pid: int, niceness: int) -> None:
    """Raise a worker's nice value by `niceness` above this process's (never refused on
    Linux; elsewhere, or if it is, the worker keeps this process's priority)."""
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness))
    except OSError:
        pass


def _stop(running: list[subprocess.Popen]) -> None:
    for process in running:  # after a failure the rest is moot
        if process.poll() is None:
            process.kill()
            process.wait()


def _worker_environment() -> dict[str, str]:
    """The caller's environment, with this package importable even when the caller found
    it through sys.path rather than an installation."""
    package_parent = str(Path(__file__).resolve().parents[2])
    paths = [package_parent, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


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


def may_be_proven(packs: SchemaPacks, anchor: str, file_sizes: tuple[int, ...]) -> bool:
    """Whether files of these sizes may hold bytes proven valid against `anchor` (a cheap
    test before hashing them: no proof of files of other sizes means no hit)."""
    sizes = tuple(file_sizes)
    with _PROVEN_LOCK:
        return any(key[0] == anchor and key[2] == sizes for key in _PROVEN.get(packs, {}))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _serve(contracts_root: str, anchor: str, source: IO[bytes], answer: IO[str]) -> None:
    """A worker of scan_log: judges the batches read from `source` (each after its
    header) until it ends or a batch has an invalid line, then writes its answer, the
    [number, RangeScan] of each batch judged, as JSON."""
    judge = BatchJudge(contracts_root, anchor)
    judged = []
    while header := source.read(_BATCH_HEADER.size):
        number, length = _BATCH_HEADER.unpack(header)
        batch = source.read(length)
        if len(batch) != length:
            raise EOFError(f"batch {number} cut short")
        scan = judge(batch)
        judged.append([number, asdict(scan)])
        if scan.invalid_line is not None:
            break  # later batches cannot hold the file's first invalid line
    answer.write(json.dumps(judged))


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], sys.stdin.buffer, sys.stdout)
