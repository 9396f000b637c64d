"""Facts proven in this process about the bytes of a file, keyed by their SHA-256.

A later step that would prove the same fact again on the same file (S6's uniqueness
checks after the key-ordered writes of S3/S4, S5's replay after S5's table check) asks
whether the file it reads now hashes to bytes a proof covered. The key is the content,
never a path, size or time: a changed byte is another SHA-256, so a file changed after
the proof (or replaced by another) is proven again by the caller's own pass. The memo
lives in this process's memory only: another process (`dbt test`) proves everything
itself. A few entries at most, the oldest dropped first.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Hashable

from .digests import sha256_file

REMEMBERED = 16


class ProvenByContent:
    """(fact, SHA-256 of a file's bytes) pairs proven in this process."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._known: dict[tuple[Hashable, str], None] = {}
        self._lock = threading.Lock()
        self._remembered = remembered

    def remember(self, fact: Hashable, path: Path, sha256_checked: str | None = None) -> str | None:
        """Remember that the bytes of the file at `path` hold `fact`, proven over exactly
        these bytes by the caller. With `sha256_checked` (the hash taken when the proof
        read them) only if the file still hashes so. Returns the SHA-256 remembered."""
        digest = sha256_file(Path(path))
        if sha256_checked is not None and digest != sha256_checked:
            return None
        with self._lock:
            self._known.pop((fact, digest), None)
            self._known[(fact, digest)] = None
            while len(self._known) > self._remembered:
                self._known.pop(next(iter(self._known)))
        return digest

    def holds(self, fact: Hashable, sha256_hex: str) -> bool:
        """True when bytes with this SHA-256 were proven to hold `fact` in this process."""
        with self._lock:
            return (fact, sha256_hex) in self._known

    def holds_for_file(self, fact: Hashable, path: Path) -> bool:
        """True when the file at `path` now holds bytes proven to hold `fact`. The file
        is hashed only when some bytes were proven to hold `fact` in this process (a new
        process, such as `dbt test` or a build of S6 alone, pays nothing)."""
        with self._lock:
            known = any(known_fact == fact for known_fact, _ in self._known)
        path = Path(path)
        return known and path.is_file() and self.holds(fact, sha256_file(path))


# Parquet files whose rows were proven in strictly increasing order of a key (the fact is
# the key's column names as a tuple): strictly increasing rows hold every key once.
KEY_ORDER = ProvenByContent()
