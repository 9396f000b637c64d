"""Seeded, platform-stable random streams for the sample-world generator.

Every stream is a Philox4x64-10 counter generator whose 128-bit key is derived from
(seed, domain label, sub-stream index) by SHA-256, starting at counter 0. Variates are
built only from the raw 64-bit words (`random_raw`), never from NumPy's distribution
methods, so the bytes depend on the Philox algorithm alone and not on NumPy's sampler
implementations, and every draw can be accounted exactly (one word per uniform; a
Philox block yields four words).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from seg3a.core.encoding import le64, uer

_KEY_PREFIX = b"seg3a.world.philox"
_TWO_POW_M53 = 2.0 ** -53
WORDS_PER_BLOCK = 4


def philox_key(seed: int, domain: str, index: int) -> int:
    """128-bit Philox key: low 16 bytes (little-endian) of SHA-256 over the stream name."""
    digest = hashlib.sha256(_KEY_PREFIX + uer(domain) + le64(seed) + le64(index)).digest()
    return int.from_bytes(digest[:16], "little")


@dataclass
class FamilyTotals:
    """Draw accounting of one RNG family (all its sub-streams)."""

    events: int = 0
    draws: int = 0
    blocks: int = 0
    streams: int = 0


@dataclass
class Ledger:
    """Per-family totals, filled as streams are closed; recorded in the 1A bundle."""

    families: dict[str, FamilyTotals] = field(default_factory=dict)

    def add(self, family: str, events: int, draws: int) -> None:
        totals = self.families.setdefault(family, FamilyTotals())
        totals.events += int(events)
        totals.draws += int(draws)
        totals.blocks += -(-int(draws) // WORDS_PER_BLOCK)
        totals.streams += 1


class Stream:
    """One keyed Philox sub-stream. Use as a context manager so its draws are booked."""

    def __init__(self, seed: int, domain: str, ledger: Ledger | None = None, index: int = 0) -> None:
        self.domain = domain
        self._bitgen = np.random.Philox(key=philox_key(seed, domain, index))
        self._ledger = ledger
        self.draws = 0
        self.events = 0

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *_exc) -> None:
        if self._ledger is not None:
            self._ledger.add(self.domain, self.events, self.draws)

    def event(self, count: int = 1) -> None:
        """Count logical events (e.g. one per merchant decided by this family)."""
        self.events += int(count)

    def uniform(self, n: int) -> np.ndarray:
        """n doubles in the open interval (0, 1): the top 53 bits of a word, centred."""
        raw = self._bitgen.random_raw(int(n))
        self.draws += int(n)
        return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * _TWO_POW_M53

    def normal(self, n: int) -> np.ndarray:
        """n standard normals by Box–Muller (both branches used; 2*ceil(n/2) words)."""
        half = -(-int(n) // 2)
        u1, u2 = self.uniform(half), self.uniform(half)
        radius = np.sqrt(-2.0 * np.log(u1))
        angle = 2.0 * np.pi * u2
        return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[: int(n)]

    def gumbel(self, shape: tuple[int, ...]) -> np.ndarray:
        """Standard Gumbel variates (for weighted sampling without replacement)."""
        size = int(np.prod(shape)) if shape else 1
        return (-np.log(-np.log(self.uniform(size)))).reshape(shape)
