"""HashGate law for upstream validation bundles and `_passed.flag` (spec 01 §3.1–3.3,
05 §5). Pure Python (no dbt): S0 calls `verify_bundle`; the sample-world generator
uses `composite_digest` and `write_flag` to produce the bundles it verifies.

Checks run in the order of 05 §5.5 and the first failure raises `HashGateError` with a
stable `reason`:

| reason | what failed |
|---|---|
| `bundle_missing` | the bundle root is not a directory |
| `index_missing`, `index_unparsable` | `index.json` absent or not JSON |
| `index_shape` | wrong top-level type, wrong keys or value types, bad `artifact_id`/`kind` |
| `index_unsorted` | 2A rows not in ascending byte order of `path` |
| `path_hygiene` | non-ASCII, absolute, `\\`, `:`, empty, `.` or `..` segment, or `_passed.flag` listed (2A) |
| `duplicate_path` | a path listed twice |
| `membership` | files on disk and index paths differ, or a symlink sits in the bundle |
| `digest_mismatch` | a 2A per-file `sha256_hex` is wrong |
| `flag_missing`, `flag_malformed` | no flag file, or not exactly `sha256_hex = <64 lower hex>` |
| `flag_mismatch` | the recomputed composite digest differs from the flag |
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterable

from .digests import list_files, sha256_concat, sha256_file

FLAG_NAME = "_passed.flag"
INDEX_NAME = "index.json"
SEGMENTS = ("1A", "1B", "2A")
ARRAY_INDEX_SEGMENTS = ("1A", "1B")
ROW_KEYS_1A = frozenset({"artifact_id", "kind", "path", "mime", "notes"})
ROW_KEYS_2A = frozenset({"path", "sha256_hex"})
KINDS = frozenset({"plot", "table", "diff", "text", "summary"})
_ARTIFACT_ID = re.compile(r"^[A-Za-z0-9._-]+$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_FLAG_LINE = re.compile(r"sha256_hex = ([a-f0-9]{64})")
FLAG_PREFIX = "sha256_hex = "


class HashGateError(Exception):
    """A bundle failed the HashGate. `reason` is one of the codes in the module doc."""

    def __init__(self, segment: str, reason: str, detail: str) -> None:
        super().__init__(f"HashGate {segment}: {reason}: {detail}")
        self.segment = segment
        self.reason = reason
        self.detail = detail


# -- writer side -----------------------------------------------------------------------
def flag_bytes(digest: str) -> bytes:
    """Canonical flag bytes: `sha256_hex = <hex>` and one LF (78 bytes)."""
    if not _HEX64.match(digest):
        raise ValueError(f"not a lower-case hex64 digest: {digest!r}")
    return f"{FLAG_PREFIX}{digest}\n".encode("ascii")


def write_flag(path: Path, digest: str) -> None:
    Path(path).write_bytes(flag_bytes(digest))


def sort_paths(paths: Iterable[str]) -> list[str]:
    """Ascending byte order of the UTF-8 (here ASCII) paths: `seed=101` < `seed=42`."""
    return sorted(paths, key=lambda p: p.encode("utf-8"))


def composite_digest(root: Path, paths: Iterable[str]) -> str:
    """D = SHA-256 over the raw bytes of the files, concatenated in byte order of path."""
    return sha256_concat(Path(root), sort_paths(paths))[0]


# -- reader side -----------------------------------------------------------------------
def _fail(segment: str, reason: str, detail: str) -> HashGateError:
    return HashGateError(segment, reason, detail)


def _load_index(segment: str, root: Path):
    index_path = root / INDEX_NAME
    if not index_path.is_file():
        raise _fail(segment, "index_missing", f"{INDEX_NAME} not found in the bundle")
    try:
        return json.loads(index_path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(segment, "index_unparsable", f"{INDEX_NAME}: {exc}") from exc


def _is_str_or_null(value) -> bool:
    return value is None or isinstance(value, str)


def _array_index_paths(segment: str, index) -> list[str]:
    """1A/1B: a non-empty array of {artifact_id, kind, path, mime, notes}."""
    if not isinstance(index, list) or not index:
        raise _fail(segment, "index_shape", "index must be a non-empty JSON array of rows")
    ids = set()
    for position, row in enumerate(index):
        where = f"row {position}"
        if not isinstance(row, dict) or set(row) != ROW_KEYS_1A:
            raise _fail(segment, "index_shape", f"{where}: keys must be exactly {sorted(ROW_KEYS_1A)}")
        if not isinstance(row["artifact_id"], str) or not _ARTIFACT_ID.match(row["artifact_id"]):
            raise _fail(segment, "index_shape", f"{where}: bad artifact_id {row['artifact_id']!r}")
        if row["artifact_id"] in ids:
            raise _fail(segment, "index_shape", f"{where}: duplicate artifact_id {row['artifact_id']!r}")
        ids.add(row["artifact_id"])
        if row["kind"] not in KINDS:
            raise _fail(segment, "index_shape", f"{where}: kind {row['kind']!r} not in {sorted(KINDS)}")
        if not isinstance(row["path"], str):
            raise _fail(segment, "index_shape", f"{where}: path must be a string")
        if not _is_str_or_null(row["mime"]) or not _is_str_or_null(row["notes"]):
            raise _fail(segment, "index_shape", f"{where}: mime and notes must be strings or null")
    return [row["path"] for row in index]


def _object_index_entries(segment: str, index) -> list[tuple[str, str]]:
    """2A: {"files": [{path, sha256_hex}, ...]}, non-empty, sorted by path."""
    if not isinstance(index, dict) or set(index) != {"files"}:
        raise _fail(segment, "index_shape", 'index must be an object with exactly the key "files"')
    rows = index["files"]
    if not isinstance(rows, list) or not rows:
        raise _fail(segment, "index_shape", '"files" must be a non-empty array')
    entries = []
    for position, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != ROW_KEYS_2A:
            raise _fail(segment, "index_shape", f"row {position}: keys must be exactly {sorted(ROW_KEYS_2A)}")
        if not isinstance(row["path"], str) or not row["path"]:
            raise _fail(segment, "index_shape", f"row {position}: path must be a non-empty string")
        if not isinstance(row["sha256_hex"], str) or not _HEX64.match(row["sha256_hex"]):
            raise _fail(segment, "index_shape", f"row {position}: sha256_hex must be lower-case hex64")
        entries.append((row["path"], row["sha256_hex"]))
    paths = [p for p, _ in entries]
    encoded = [p.encode("utf-8") for p in paths]
    if any(a > b for a, b in zip(encoded, encoded[1:])):
        raise _fail(segment, "index_unsorted", "2A index rows are not in ascending path order")
    return entries


def _check_hygiene(segment: str, paths: list[str]) -> None:
    for path in paths:
        if not path or not path.isascii():
            raise _fail(segment, "path_hygiene", f"path {path!r} is empty or not ASCII")
        if path.startswith("/") or "\\" in path or ":" in path:
            raise _fail(segment, "path_hygiene", f"path {path!r} is absolute or has `\\` or `:`")
        if any(part in ("", ".", "..") for part in path.split("/")):
            raise _fail(segment, "path_hygiene", f"path {path!r} has an empty, `.` or `..` segment")
        if segment == "2A" and path == FLAG_NAME:
            raise _fail(segment, "path_hygiene", f"{FLAG_NAME} must not be listed")
    seen = set()
    for path in paths:
        if path in seen:
            raise _fail(segment, "duplicate_path", f"path {path!r} listed twice")
        seen.add(path)


def _symlinks(root: Path) -> list[str]:
    """Relative paths of the symlinks under `root` (files or directories); a bundle
    attests bytes it holds, never bytes a link points at."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full.is_symlink():
                found.append(full.relative_to(root).as_posix())
    return sort_paths(found)


def _check_membership(segment: str, root: Path, paths: list[str]) -> None:
    links = _symlinks(root)
    if links:
        raise _fail(segment, "membership", f"symlinks are refused in a bundle: {links}")
    on_disk = set(list_files(root)) - {FLAG_NAME}
    if INDEX_NAME not in paths:
        on_disk.discard(INDEX_NAME)
    listed = set(paths)
    if on_disk != listed:
        missing = sort_paths(listed - on_disk)
        extra = sort_paths(on_disk - listed)
        raise _fail(segment, "membership", f"indexed but absent: {missing}; present but unindexed: {extra}")


def _check_file_digests(segment: str, root: Path, entries: list[tuple[str, str]]) -> None:
    for path, expected in entries:
        actual = sha256_file(root / path)
        if actual != expected:
            raise _fail(segment, "digest_mismatch", f"{path}: index says {expected}, file is {actual}")


def read_flag(segment: str, flag_path: Path) -> str:
    """Parse a flag strictly (01 §3.3); returns the digest it carries."""
    flag_path = Path(flag_path)
    if not flag_path.is_file():
        raise _fail(segment, "flag_missing", f"{flag_path.name} not found")
    try:
        text = flag_path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise _fail(segment, "flag_malformed", "flag is not ASCII") from exc
    match = _FLAG_LINE.fullmatch(text.strip())
    if match is None:
        raise _fail(segment, "flag_malformed", f"flag content {text.strip()[:90]!r} is not `sha256_hex = <64 lower hex>`")
    return match.group(1)


def verify_bundle(segment: str, bundle_root: Path, flag_path: Path) -> str:
    """Run the strict gate of 05 §5.5 for one segment; return D_S or raise HashGateError."""
    if segment not in SEGMENTS:
        raise ValueError(f"unknown gated segment {segment!r}")
    root = Path(bundle_root)
    if not root.is_dir():
        raise _fail(segment, "bundle_missing", f"bundle root {root.name!r} is not a directory")
    index = _load_index(segment, root)
    if segment in ARRAY_INDEX_SEGMENTS:
        paths = _array_index_paths(segment, index)
        entries = None
    else:
        entries = _object_index_entries(segment, index)
        paths = [p for p, _ in entries]
    _check_hygiene(segment, paths)
    _check_membership(segment, root, paths)
    if entries is not None:
        _check_file_digests(segment, root, entries)
    digest = composite_digest(root, paths)
    flagged = read_flag(segment, flag_path)
    if flagged != digest:
        raise _fail(segment, "flag_mismatch", f"flag carries {flagged}, bundle digest is {digest}")
    return digest


def empty_digest() -> str:
    """SHA-256 of empty input (a composite over zero files)."""
    return hashlib.sha256(b"").hexdigest()
