"""Compensated (Neumaier) sum `csum` of spec 03 §0, scalar and ragged-vectorised."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from python_udfs.csum import csum, csum_ragged


def test_spec_example_ten_tenths():
    values = [0.1] * 10
    assert csum(values) == 1.0
    # Plain left-to-right summation gives the other answer the spec quotes.
    plain = 0.0
    for v in values:
        plain += v
    assert plain == 0.9999999999999999


def test_ragged_spec_example():
    got = csum_ragged(np.full(10, 0.1), np.array([0, 10]))
    assert got.tolist() == [1.0]


def test_empty_and_single():
    assert csum([]) == 0.0
    assert csum([2.5]) == 2.5
    assert csum_ragged(np.array([2.5]), np.array([0, 0, 1])).tolist() == [0.0, 2.5]
    assert csum_ragged(np.array([]), np.array([0])).size == 0


def test_differs_from_fsum_and_numpy_sum():
    # The compensation term is itself a rounded float: 2^-53 and 2^-80 are lost
    # in it, whereas the exact sum (fsum) rounds up to 1 + 2^-52.
    values = [1e30, 1.0, 2.0**-53, 2.0**-80, -1e30]
    assert csum(values) == 1.0
    assert math.fsum(values) == 1.0 + 2.0**-52
    assert csum_ragged(np.array(values), np.array([0, 5])).tolist() == [1.0]
    assert csum([1e30, 1.0, -1e30]) == 1.0
    assert float(np.sum([1e30, 1.0, -1e30])) == 0.0


def test_large_magnitude_branch():
    # |x| > |s| takes the (x - t) + s branch: 1 + 1e100 - 1e100 = 1 exactly.
    assert csum([1.0, 1e100, 1.0, -1e100]) == 2.0


def test_non_finite_compensation_is_dropped():
    assert csum([1.0, math.inf]) == math.inf
    assert math.isnan(csum([math.inf, -math.inf]))
    assert csum([1e308, 1e308]) == math.inf
    got = csum_ragged(np.array([1.0, math.inf, 1e308, 1e308]), np.array([0, 2, 4]))
    assert got.tolist() == [math.inf, math.inf]


def _neumaier_reference(values):
    """Neumaier's compensated sum written out scalar by scalar (the algorithm of CPython
    3.12's built-in sum() for floats), independent of the code under test."""
    total, compensation = 0.0, 0.0
    for x in values:
        t = total + x
        if abs(total) >= abs(x):
            compensation += (total - t) + x
        else:
            compensation += (x - t) + total
        total = t
    return total + compensation if compensation and math.isfinite(compensation) else total


def test_equals_a_scalar_neumaier_reference():
    rng = np.random.default_rng(2)
    for _ in range(200):
        values = (rng.standard_normal(rng.integers(1, 30)) * 10.0 ** rng.integers(-20, 20)).tolist()
        assert csum(values) == _neumaier_reference(values)
        if sys.version_info >= (3, 12):  # the built-in is the same algorithm from 3.12 on
            assert csum(values) == sum(values)


def _random_ragged(rng, n_rows):
    lengths = rng.integers(0, 40, n_rows)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    total = int(offsets[-1])
    # Mixed magnitudes and signs make compensation matter in most rows.
    values = rng.standard_normal(total) * 10.0 ** rng.integers(-12, 12, total)
    values[rng.random(total) < 0.05] = 0.1
    return values, offsets


def test_vectorised_equals_scalar_on_random_ragged_data():
    rng = np.random.default_rng(1234)
    values, offsets = _random_ragged(rng, 3000)
    got = csum_ragged(values, offsets)
    expected = [csum(values[offsets[r]:offsets[r + 1]].tolist()) for r in range(offsets.size - 1)]
    assert got.tolist() == expected


def test_vectorised_is_compensated_not_plain():
    rng = np.random.default_rng(99)
    values, offsets = _random_ragged(rng, 2000)
    got = csum_ragged(values, offsets)
    plain = []
    for r in range(offsets.size - 1):
        s = 0.0
        for v in values[offsets[r]:offsets[r + 1]].tolist():
            s += v
        plain.append(s)
    # Compensation changes the last bits of a good share of rows.
    assert np.count_nonzero(got != np.array(plain)) > 100


def test_row_order_is_element_order():
    # csum is order dependent; each row is summed in its stored order.
    a = [1e16, 1.0, -1e16, 3.0, 1e-3]
    b = a[::-1]
    values = np.array(a + b)
    got = csum_ragged(values, np.array([0, 5, 10]))
    assert got.tolist() == [csum(a), csum(b)]


def test_rejects_bad_offsets():
    with pytest.raises(ValueError):
        csum_ragged(np.zeros(3), np.array([0, 2, 1]))
    with pytest.raises(ValueError):
        csum_ragged(np.zeros(3), np.array([0, 4]))
