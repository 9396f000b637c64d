"""SHA-256 digests over files, partition directories and hex concatenations
(spec 01 §3.4, 04 §0). Files are streamed; a file that changes while it is hashed fails."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

_CHUNK = 1 << 20


class FileChangedError(OSError):
    """A file's size or mtime differed before and after hashing (race guard)."""


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _feed(hasher, path: Path) -> int:
    before = _stat_key(path)
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    if _stat_key(path) != before:
        raise FileChangedError(f"file changed while hashed: {path}")
    return size


def sha256_file(path: Path) -> str:
    """H_file: lower-case hex SHA-256 of the raw bytes."""
    hasher = hashlib.sha256()
    _feed(hasher, Path(path))
    return hasher.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_files(root: Path, suffix: str | None = None) -> list[str]:
    """Relative POSIX paths of regular files under `root`, ASCII-sorted (never FS order)."""
    root = Path(root)
    found = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_file() and not full.is_symlink() and (suffix is None or name.endswith(suffix)):
                found.append(full.relative_to(root).as_posix())
    return sorted(found, key=lambda p: p.encode("utf-8"))


def sha256_concat(root: Path, relpaths: Iterable[str]) -> tuple[str, int]:
    """SHA-256 of the files' bytes concatenated in the given order; returns (hex, bytes hashed)."""
    digest, sizes = sha256_concat_sizes(root, relpaths)
    return digest, sum(sizes)


def sha256_concat_sizes(root: Path, relpaths: Iterable[str]) -> tuple[str, tuple[int, ...]]:
    """SHA-256 of the files' bytes concatenated in the given order, and the bytes hashed
    of each file."""
    hasher = hashlib.sha256()
    sizes = tuple(_feed(hasher, Path(root) / rel) for rel in relpaths)
    return hasher.hexdigest(), sizes


def sha256_dir(root: Path) -> str:
    """H_dir: every regular file under `root`, sorted by relative path; none => error."""
    files = list_files(root)
    if not files:
        raise FileNotFoundError(f"no files to hash under {root}")
    return sha256_concat(root, files)[0]


def sha256_parquet(root: Path) -> tuple[str, int]:
    """H_pq: a file itself, or every *.parquet under a directory in path order."""
    root = Path(root)
    if root.is_file():
        hasher = hashlib.sha256()
        size = _feed(hasher, root)
        return hasher.hexdigest(), size
    files = list_files(root, ".parquet")
    if not files:
        raise FileNotFoundError(f"no parquet file under {root}")
    return sha256_concat(root, files)


def sha256_hexcat(*digests: str) -> str:
    """H_hexcat: SHA-256 of the ASCII concatenation of hex digests, no separator."""
    return hashlib.sha256("".join(digests).encode("ascii")).hexdigest()


def sha256_artefact(path: Path) -> str:
    """Sealing rule of 01 §3.4 for a plain file or a directory partition."""
    path = Path(path)
    return sha256_dir(path) if path.is_dir() else sha256_file(path)
