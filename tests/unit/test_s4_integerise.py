"""S4 floor + largest remainder (spec 03 §4.2) through the real model SQL on DuckDB.

The model file `int_s4__zone_counts_integerised.sql` is rendered with a minimal Jinja
context (`ref` names a table of this connection, `config` renders nothing) and run on
an in-memory DuckDB connection. Expectations are computed independently in Python:
exact fractions for the targets' integer parts and a plain sort for the ranking.
"""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pyarrow as pa
import pytest

MODEL = Path(__file__).resolve().parents[2] / "models/segment3a/s4_integerise/int_s4__zone_counts_integerised.sql"
INPUT_TABLE = "pairs_input"

# TV-5 published-policy shares (zone order Chicago, Los_Angeles, New_York).
TV5_SHARES = (0.051092220142868704, 0.833305904939282, 0.11560187491784928)
TV5_ZONES = ("America/Chicago", "America/Los_Angeles", "America/New_York")


def render_model() -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = env.from_string(MODEL.read_text())
    return template.render(config=lambda **_: "", ref=lambda _name: INPUT_TABLE)


SQL = render_model()


def integerise(rows: list[tuple]) -> list[dict]:
    """Run the model over (merchant_id, country, tzid, zone_index, site_count, share) rows."""
    table = pa.table({
        "merchant_id": pa.array([r[0] for r in rows], pa.uint64()),
        "legal_country_iso": pa.array([r[1] for r in rows], pa.string()),
        "tzid": pa.array([r[2] for r in rows], pa.string()),
        "zone_index": pa.array([r[3] for r in rows], pa.int64()),
        "site_count": pa.array([r[4] for r in rows], pa.uint32()),
        "share_drawn": pa.array([r[5] for r in rows], pa.float64()),
        # Values the model only passes through to s4_zone_counts.
        "share_sum_country": pa.array([1.0] * len(rows), pa.float64()),
        "alpha_sum_country": pa.array([4.6] * len(rows), pa.float64()),
        **{name: pa.array(["lineage"] * len(rows), pa.string())
           for name in ("prior_pack_id", "prior_pack_version", "floor_policy_id", "floor_policy_version")},
    })
    con = duckdb.connect()
    try:
        con.register(INPUT_TABLE, table)
        return con.execute(SQL).to_arrow_table().to_pylist()
    finally:
        con.close()


def pair_rows(merchant_id: int, country: str, site_count: int, zones, shares) -> list[tuple]:
    ordered = sorted(zip(zones, shares))
    return [(merchant_id, country, tz, q, site_count, p) for q, (tz, p) in enumerate(ordered)]


def by_tzid(result: list[dict]) -> dict[str, dict]:
    return {row["tzid"]: row for row in result}


# ------------------------------------------------------------------ TV-7 / TV-8


@pytest.mark.parametrize(
    ("site_count", "expected"),
    [
        (7, [(0, 0.35764554100008095, 3), (6, 5.833141334574974, 1), (1, 0.809213124424945, 2)]),
        (23, [(1, 1.17512106328598, 2), (19, 19.166035813603486, 3), (3, 2.6588431231105334, 1)]),
    ],
)
def test_tv7_published_policy_shares(site_count, expected):
    result = by_tzid(integerise(pair_rows(1234567890123, "US", site_count, TV5_ZONES, TV5_SHARES)))
    got = [(result[tz]["zone_site_count"], result[tz]["fractional_target"], result[tz]["residual_rank"]) for tz in TV5_ZONES]
    assert got == expected
    assert all(type(result[tz]["fractional_target"]) is float for tz in TV5_ZONES)


def test_tv8_tie_broken_by_tzid():
    rows = pair_rows(5, "ZZ", 5, ("Europe/B", "Europe/A", "Europe/C"), (0.3, 0.3, 0.4))
    result = by_tzid(integerise(rows))
    assert [result[tz]["fractional_target"] for tz in ("Europe/B", "Europe/A", "Europe/C")] == [1.5, 1.5, 2.0]
    assert [result[tz]["base_count"] for tz in ("Europe/A", "Europe/B", "Europe/C")] == [1, 1, 2]
    assert {tz: (row["zone_site_count"], row["residual_rank"]) for tz, row in result.items()} == {
        "Europe/A": (2, 1), "Europe/B": (1, 2), "Europe/C": (2, 3),
    }
    assert {row["remainder_to_place"] for row in result.values()} == {1}


# ------------------------------------------------------------------ edge cases


def test_remainder_zero_still_ranks_every_zone():
    result = by_tzid(integerise(pair_rows(9, "AA", 4, ("A/x", "A/y"), (0.5, 0.5))))
    assert {tz: (r["zone_site_count"], r["residual_rank"], r["remainder_to_place"]) for tz, r in result.items()} == {
        "A/x": (2, 1, 0), "A/y": (2, 2, 0),
    }


def test_single_zone_gets_every_site():
    (row,) = integerise(pair_rows(3, "BB", 17, ("Only/Zone",), (1.0,)))
    assert (row["zone_site_count"], row["residual_rank"], row["fractional_target"]) == (17, 1, 17.0)


def test_zone_with_tiny_target_can_get_zero():
    result = by_tzid(integerise(pair_rows(4, "CC", 2, ("Z/a", "Z/b", "Z/c"), (0.01, 0.49, 0.5))))
    assert {tz: r["zone_site_count"] for tz, r in result.items()} == {"Z/a": 0, "Z/b": 1, "Z/c": 1}


def test_tzid_order_is_byte_order():
    # Upper case sorts before lower case in code-point order: "Z" (0x5a) < "a" (0x61).
    result = by_tzid(integerise(pair_rows(6, "DD", 1, ("a/Zone", "Z/Zone"), (0.5, 0.5))))
    assert result["Z/Zone"]["residual_rank"] == 1 and result["Z/Zone"]["zone_site_count"] == 1
    assert result["a/Zone"]["zone_site_count"] == 0


def test_output_sorted_by_full_key():
    rows = pair_rows(2, "UK", 3, ("B/b", "A/a"), (0.5, 0.5)) + pair_rows(1, "ZZ", 3, ("C/c",), (1.0,)) \
        + pair_rows(1, "AA", 3, ("D/d", "E/e"), (0.25, 0.75))
    result = integerise(rows)
    keys = [(r["merchant_id"], r["legal_country_iso"], r["tzid"]) for r in result]
    assert keys == sorted(keys)


# ------------------------------------------------------------------ properties


def expected_counts(site_count: int, zones: list[str], shares: list[float]) -> dict[str, tuple[int, int, float]]:
    """Independent reference: floors from exact rationals of the binary64 products,
    ranking by Python's sort on (-residual, tzid, index)."""
    targets = [float(site_count) * p for p in shares]
    floors = [math.floor(Fraction(t)) for t in targets]
    residuals = [t - float(b) for t, b in zip(targets, floors)]
    remainder = site_count - sum(floors)
    order = sorted(range(len(zones)), key=lambda q: (-residuals[q], zones[q], q))
    rank = {q: i + 1 for i, q in enumerate(order)}
    return {zones[q]: (floors[q] + (1 if rank[q] <= remainder else 0), rank[q], targets[q]) for q in range(len(zones))}


def random_pairs(rng: np.random.Generator, n_pairs: int) -> tuple[list[tuple], dict]:
    rows, expected = [], {}
    for m in range(1, n_pairs + 1):
        k = int(rng.integers(1, 9))
        zones = sorted({f"Zone/{chr(65 + int(i))}{int(j)}" for i, j in rng.integers(0, 26, size=(k, 2))})
        alpha = rng.choice([0.05, 0.5, 2.0, 10.0])
        shares = rng.dirichlet(np.full(len(zones), alpha)).tolist()
        if rng.random() < 0.3:  # exact ties on purpose
            shares = [1.0 / len(zones)] * len(zones)
        site_count = int(rng.choice([1, 2, 3, 7, 23, 100, 4093, 1_000_003]))
        country = ("AA", "BB", "CC")[m % 3]
        rows += pair_rows(m, country, site_count, zones, shares)
        expected[(m, country)] = (site_count, expected_counts(site_count, zones, shares))
    return rows, expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_pairs_match_the_reference(seed):
    rows, expected = random_pairs(np.random.default_rng(seed), 400)
    result = integerise(rows)
    groups: dict[tuple, list[dict]] = {}
    for row in result:
        groups.setdefault((row["merchant_id"], row["legal_country_iso"]), []).append(row)
    assert set(groups) == set(expected)
    for key, zone_rows in groups.items():
        site_count, reference = expected[key]
        k = len(zone_rows)
        # conservation
        assert sum(r["zone_site_count"] for r in zone_rows) == site_count
        # floor <= count <= floor + 1, and +1 exactly for rank <= R
        for r in zone_rows:
            floor_t = math.floor(Fraction(r["fractional_target"]))
            assert floor_t <= r["zone_site_count"] <= floor_t + 1
            assert (r["zone_site_count"] == floor_t + 1) == (r["residual_rank"] <= r["remainder_to_place"])
            assert 0.0 <= r["residual"] < 1.0
        # residual_rank is a permutation of 1..K
        assert sorted(r["residual_rank"] for r in zone_rows) == list(range(1, k + 1))
        # T = double(N) x p bit-exactly, and counts/ranks equal the reference
        got = {r["tzid"]: (r["zone_site_count"], r["residual_rank"], r["fractional_target"]) for r in zone_rows}
        assert got == reference


def test_ties_resolved_by_tzid_then_index():
    # Four equal residuals (0.25 each of N = 1): only the smallest tzid gets the site.
    zones = ("Pacific/Z", "America/B", "America/A", "Europe/M")
    result = by_tzid(integerise(pair_rows(11, "EE", 1, zones, (0.25,) * 4)))
    ranked = sorted(result.values(), key=lambda r: r["residual_rank"])
    assert [r["tzid"] for r in ranked] == sorted(zones)
    assert [r["zone_site_count"] for r in ranked] == [1, 0, 0, 0]
