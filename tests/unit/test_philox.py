"""Philox2x64-10 block function (spec 03 §1.1) and u128 counters (§0, §1.4)."""
from __future__ import annotations

import numpy as np
import pytest

from python_udfs.rng import philox2x64_10, philox_block, u128_add

MASK64 = (1 << 64) - 1

# Spec 03 §1.1 known-answer vectors: (lo = ctr[0], hi = ctr[1], key, x0, x1).
KNOWN_ANSWERS = [
    (0, 0, 0, 0xCA00A0459843D731, 0x66C24222C9A845B5),
    (MASK64, MASK64, MASK64, 0x65B021D60CD8310F, 0x4D02F3222F86DF20),
    (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x0A5E742C2997341C, 0xB0F883D38000DE5D),
]


def textbook_philox(key, hi, lo):
    """Random123 philox2x64_10 with Python's arbitrary-precision product."""
    a, b = lo, hi
    for _ in range(10):
        product = 0xD2B74407B1CE6E93 * a
        a, b = (product >> 64) ^ key ^ b, product & MASK64
        key = (key + 0x9E3779B97F4A7C15) & MASK64
    return a, b


@pytest.mark.parametrize(("lo", "hi", "key", "x0", "x1"), KNOWN_ANSWERS)
def test_known_answer_vectors_scalar(lo, hi, key, x0, x1):
    assert philox_block(key, hi, lo) == (x0, x1)


def test_known_answer_vectors_batch():
    lo, hi, key, x0, x1 = (np.array(col, dtype=np.uint64) for col in zip(*KNOWN_ANSWERS))
    got0, got1 = philox2x64_10(key, hi, lo)
    assert got0.dtype == np.uint64 and got1.dtype == np.uint64
    assert got0.tolist() == x0.tolist()
    assert got1.tolist() == x1.tolist()


def test_lanes_are_not_swapped():
    # Counter words swapped (hi <-> lo) must give a different block.
    assert philox_block(0, 0, 1) != philox_block(0, 1, 0)


def test_random_inputs_match_arbitrary_precision_product():
    rng = np.random.default_rng(20240607)
    n = 3000
    cols = [rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False) for _ in range(3)]
    # Limb-carry corner cases: all-ones halves, powers of two, values near M0.
    corners = [0, 1, 0xFFFFFFFF, 0x100000000, 0xFFFFFFFF00000000, 1 << 63, MASK64, 0xD2B74407B1CE6E93]
    for col in cols:
        col[: len(corners)] = corners
        col[len(corners): 2 * len(corners)] = corners[::-1]
    key, hi, lo = cols
    x0, x1 = philox2x64_10(key, hi, lo)
    expected = [textbook_philox(k, h, l) for k, h, l in zip(key.tolist(), hi.tolist(), lo.tolist())]
    assert list(zip(x0.tolist(), x1.tolist())) == expected


def test_large_batches_are_consistent_across_internal_chunks():
    rng = np.random.default_rng(5)
    n = 40_001  # larger than one internal chunk, not a multiple of it
    key, hi, lo = (rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False) for _ in range(3))
    x0, x1 = philox2x64_10(key, hi, lo)
    for i in (0, 16383, 16384, 32768, n - 1):
        assert (int(x0[i]), int(x1[i])) == textbook_philox(int(key[i]), int(hi[i]), int(lo[i]))


def test_inputs_are_not_modified():
    key = np.array([1, 2], dtype=np.uint64)
    hi = np.array([3, 4], dtype=np.uint64)
    lo = np.array([5, 6], dtype=np.uint64)
    philox2x64_10(key, hi, lo)
    assert key.tolist() == [1, 2] and hi.tolist() == [3, 4] and lo.tolist() == [5, 6]


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        philox2x64_10(np.zeros(2, np.uint64), np.zeros(3, np.uint64), np.zeros(2, np.uint64))


def test_u128_add_carries_into_hi_and_wraps():
    hi, lo = u128_add(
        np.array([0, 7, MASK64, 5], dtype=np.uint64),
        np.array([MASK64, MASK64 - 2, MASK64, 10], dtype=np.uint64),
        np.array([1, 5, 1, 0], dtype=np.uint64),
    )
    assert hi.tolist() == [1, 8, 0, 5]
    assert lo.tolist() == [0, 2, 0, 10]
