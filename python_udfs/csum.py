"""Compensated (Neumaier) summation `csum` of spec 03 §0.

Every float sum in S1..S6 is this sum, taken in the stated element order; plain
left-to-right, pairwise (NumPy) and exact (`math.fsum`) sums all give different
last bits and MUST NOT be used.  On CPython >= 3.12 the built-in `sum()` of
floats is the same algorithm, but the project also runs on 3.11, so it is
spelled out here.

`csum_ragged` sums many variable-length rows at once: it loops over element
*positions* (at most max-row-length iterations), each iteration vectorised over
every row that is still long enough, and gives for every row exactly the scalar
result.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["csum", "csum_ragged", "ragged_lengths"]


def csum(values: Iterable[float]) -> float:
    """Neumaier sum of `values` in the given order (0.0 for an empty input)."""
    iterator = iter(values)
    try:
        s = float(next(iterator))
    except StopIteration:
        return 0.0
    c = 0.0
    for item in iterator:
        x = float(item)
        t = s + x
        if abs(s) >= abs(x):
            c += (s - t) + x
        else:
            c += (x - t) + s
        s = t
    # A non-finite compensation (overflow, inf - inf) carries no information.
    if c != 0.0 and math.isfinite(c):
        return s + c
    return s


def ragged_lengths(offsets: np.ndarray) -> np.ndarray:
    """Row lengths from Arrow-style offsets (length n + 1, non-decreasing)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size < 1:
        raise ValueError("offsets must be a 1-D array of length n_rows + 1")
    lengths = np.diff(offsets)
    if lengths.size and lengths.min() < 0:
        raise ValueError("offsets must be non-decreasing")
    return lengths


def csum_ragged(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-row `csum` of a ragged batch.

    Row `r` is `values[offsets[r]:offsets[r + 1]]`; the result has one float64
    per row (0.0 for an empty row), bit-identical to `csum` of that row.
    """
    values = np.asarray(values, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = ragged_lengths(offsets)
    n_rows = lengths.size
    if n_rows and offsets[-1] > values.size:
        raise ValueError("offsets point past the end of values")
    result = np.zeros(n_rows, dtype=np.float64)
    if n_rows == 0:
        return result
    # Longest rows first: the rows still active at position j are then a prefix,
    # so every update below works on contiguous slices instead of scatters.
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    starts = offsets[:-1][order]
    n_nonempty = int(np.count_nonzero(sorted_lengths))
    s = values[starts[:n_nonempty]].copy()
    c = np.zeros(n_nonempty, dtype=np.float64)
    max_len = int(sorted_lengths[0])
    # active[j] = number of rows with length > j (lengths are sorted descending).
    active = np.searchsorted(-sorted_lengths, -np.arange(max_len), side="left")
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(1, max_len):
            n = int(active[j])
            _neumaier_step(s[:n], c[:n], values[starts[:n] + j])
        use_c = (c != 0.0) & np.isfinite(c)
        total = np.where(use_c, s + c, s)
    result[order[:n_nonempty]] = total
    return result


def _neumaier_step(s: np.ndarray, c: np.ndarray, x: np.ndarray) -> None:
    """One Neumaier update of the running (s, c) views, in place."""
    t = s + x
    big_s = np.abs(s) >= np.abs(x)
    comp = np.where(big_s, (s - t) + x, (x - t) + s)
    c += comp
    s[...] = t
