"""The column-wise check of RNG log rows (S3 before writing the event lines, S7 on each
log batch) tests a string pattern once per distinct value and takes the verdict back to
every row: the failing rows and their count are those of a regex on every row."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from seg3a.states.common import schema_packs
from seg3a.states.s3_rng_logs import _integer_bound_failures, _pattern_failures, column_violations

HEX64 = "^[a-f0-9]{64}$"


def test_pattern_verdicts_reach_every_row_of_their_value():
    values = ["a" * 64, "b" * 64, "A" * 64, "a" * 64, "", "A" * 64, "c" * 63, "a" * 64]
    failing = _pattern_failures(pa.array(values), HEX64).to_pylist()
    assert failing == [re.search(HEX64, v) is None for v in values]
    assert failing == [False, False, True, False, True, True, True, False]


def test_an_empty_column_has_no_failures():
    assert _pattern_failures(pa.array([], pa.string()), HEX64).to_pylist() == []


@pytest.fixture(scope="module")
def packs():
    return schema_packs(str(Path(__file__).resolve().parents[2] / "contracts"))


def test_a_repeated_bad_value_is_counted_on_every_row(packs):
    anchor = "schemas.layer1.yaml#/rng/events/zone_dirichlet"
    good, bad = "f" * 64, "F" * 64
    table = pa.table({"manifest_fingerprint": [good, bad, good, bad, bad, good]})
    problems = column_violations(packs, anchor, table)
    assert [p for p in problems if p.startswith("manifest_fingerprint:")] == [
        f"manifest_fingerprint: 3 values violate {anchor}"]
    clean = column_violations(packs, anchor, pa.table({"manifest_fingerprint": [good] * 6}))
    assert not [p for p in clean if p.startswith("manifest_fingerprint:")]


@pytest.mark.parametrize("values, kind, bound, compare, expected", [
    ([0, 1, 2**64 - 1], pa.uint64(), 1, pc.less, [True, False, False]),            # minimum, in range
    ([0, 2**64 - 1], pa.uint64(), 2**64 - 1, pc.greater_equal, [False, True]),      # exclusiveMaximum at the top
    ([0, 2**64 - 1], pa.uint64(), -1, pc.less, [False, False]),                     # bound below the type
    ([0, 2**64 - 1], pa.uint64(), 2**64, pc.greater, [False, False]),               # bound above the type
    ([-2**63, 5], pa.int64(), 2**63, pc.greater_equal, [False, False]),
    ([-2**63, 5], pa.int64(), -2**63, pc.less_equal, [True, False]),
])
def test_integer_bounds_compare_exactly(values, kind, bound, compare, expected):
    assert _integer_bound_failures(pa.array(values, kind), bound, compare).to_pylist() == expected
