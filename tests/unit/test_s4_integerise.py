"""S4 floor + largest remainder (spec 03 §4.2) through the real model SQL and UDF on DuckDB.

The model file `int_s4__zone_counts_integerised.sql` is rendered with a minimal Jinja
context (`ref` names a table of this connection, `config` renders nothing, the
cross-adapter macros are the project's own macro files in their DuckDB spelling) and run
on an in-memory DuckDB connection with the project's `s3a_integerise` UDF registered, as
the plugin registers it. Expectations are computed independently in Python: exact
fractions for the targets' integer parts and a plain sort for the ranking.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from python_udfs.integerise import integerise_arrow, largest_remainder
from python_udfs.plugin import UDF_REGISTRY

PROJECT = Path(__file__).resolve().parents[2]
MODEL = PROJECT / "models/segment3a/s4_integerise/int_s4__zone_counts_integerised.sql"
MACROS = PROJECT / "macros/cross_adapter"
INPUT_TABLE = "pairs_input"

# TV-5 published-policy shares (zone order Chicago, Los_Angeles, New_York).
TV5_SHARES = (0.051092220142868704, 0.833305904939282, 0.11560187491784928)
TV5_ZONES = ("America/Chicago", "America/Los_Angeles", "America/New_York")


class _DuckDBAdapter:
    """`adapter.dispatch` of a dbt-duckdb build: a macro's `default__` spelling."""

    def __init__(self, modules: list) -> None:
        self.modules = modules

    def dispatch(self, name: str, _namespace: str):
        return next(getattr(m, f"default__{name}") for m in self.modules if hasattr(m, f"default__{name}"))


def render_model() -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    context = {"return": lambda value: value}  # dbt's macro `return`, as rendered text
    modules = []
    context["adapter"] = _DuckDBAdapter(modules)
    for path in sorted(MACROS.glob("*.sql")):
        module = env.from_string(path.read_text()).make_module(context)
        modules.append(module)
        context.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
    template = env.from_string(MODEL.read_text())
    return template.render(**context, config=lambda **_: "", ref=lambda _name: INPUT_TABLE)


SQL = render_model()


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    udf = next(u for u in UDF_REGISTRY if u.name == "s3a_integerise")
    con.create_function(udf.name, udf.function, udf.parameters, udf.return_type, type="arrow",
                        side_effects=udf.side_effects, null_handling="special")
    return con


def pairs_table(rows: list[tuple]) -> pa.Table:
    """The per-pair input the model reads (int_s4__pairs_with_shares) from zone rows
    (merchant_id, country, tzid, zone_index, site_count, share), pairs in first-seen
    order, zones in zone_index order."""
    pairs: dict[tuple, list[tuple]] = {}
    for row in rows:
        pairs.setdefault((row[0], row[1]), []).append(row)
    zones = [sorted(z, key=lambda r: r[3]) for z in pairs.values()]
    return pa.table({
        "merchant_id": pa.array([z[0][0] for z in zones], pa.uint64()),
        "legal_country_iso": pa.array([z[0][1] for z in zones], pa.string()),
        "tzids": pa.array([[r[2] for r in z] for z in zones], pa.list_(pa.string())),
        "site_count": pa.array([z[0][4] for z in zones], pa.uint32()),
        "shares": pa.array([[r[5] for r in z] for z in zones], pa.list_(pa.float64())),
        # Values the model only passes through to s4_zone_counts.
        "share_sum_country": pa.array([1.0] * len(zones), pa.float64()),
        "alpha_sum_country": pa.array([4.6] * len(zones), pa.float64()),
    })


def integerise(rows: list[tuple], threads: int = 1) -> list[dict]:
    """The model's stored table, in stored order, over (merchant_id, country, tzid,
    zone_index, site_count, share) rows."""
    con = connect()
    try:
        con.execute(f"set threads = {threads}")
        con.register("pairs_arrow", pairs_table(rows))
        con.execute(f"create table {INPUT_TABLE} as select * from pairs_arrow")
        con.execute(f"create table integerised as {SQL}")
        return con.execute("select * from integerised").to_arrow_table().to_pylist()
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


# ------------------------------------------------------------------ the UDF against the reference


def udf_rows(site_counts: list[int], share_lists: list[list[float]]) -> list[list[dict]]:
    return integerise_arrow(pa.array(share_lists, pa.list_(pa.float64())),
                            pa.array(site_counts, pa.int64())).to_pylist()


def assert_matches_reference(site_counts: list[int], share_lists: list[list[float]]) -> None:
    for site_count, shares, zones_out in zip(site_counts, share_lists, udf_rows(site_counts, share_lists)):
        zones = [f"Z/{q:03d}" for q in range(len(shares))]  # tzid order = zone index order
        reference = expected_counts(site_count, zones, shares)
        floors = [math.floor(Fraction(float(site_count) * p)) for p in shares]
        assert [z["zone_index"] for z in zones_out] == list(range(len(shares)))
        assert {zones[z["zone_index"]]: (z["zone_site_count"], z["residual_rank"], z["fractional_target"])
                for z in zones_out} == reference
        assert [z["base_count"] for z in zones_out] == floors
        assert all(z["remainder_to_place"] == site_count - sum(floors) for z in zones_out)
        assert [z["residual"] for z in zones_out] == [z["fractional_target"] - z["base_count"] for z in zones_out]


# Shares as S3 gives them (finite, in [0, 1]); some drawn from a few values so that
# residuals tie exactly, some exactly 0 or 1.
share_values = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.25, 0.5, 0.1, 1 / 3, 1.0]))
pair_inputs = st.tuples(
    st.one_of(st.integers(1, 40), st.sampled_from([1, 2, 2**31 - 1, 2**32 - 1]), st.integers(1, 2**40)),
    st.lists(share_values, min_size=1, max_size=31),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pair_inputs, min_size=1, max_size=60))
def test_udf_equals_the_reference_on_any_pairs(pairs):
    assert_matches_reference([n for n, _ in pairs], [shares for _, shares in pairs])


@pytest.mark.parametrize(("site_count", "shares"), [
    (1, [1.0]),                          # N = 1, one zone
    (1, [0.25, 0.25, 0.25, 0.25]),       # four equal residuals, R = 1: the first zone
    (3, [0.25, 0.25, 0.25, 0.25]),       # ... R = 3: all but the last
    (4, [0.25, 0.25, 0.25, 0.25]),       # every residual exactly 0, R = 0
    (10, [0.0, 1.0, 0.0]),               # a share of 1: r = 0 everywhere
    (7, [0.0] * 29),                     # every residual 0, R = N: the first N zones get 1
    (2**32 - 1, [0.5, 0.5]),             # the largest N of S1 (uint32), equal residuals 0.5
    (2**40 + 1, [1 / 3, 1 / 3, 1 / 3]),  # huge N with inexact products
])
def test_adversarial_pairs(site_count, shares):
    assert_matches_reference([site_count], [shares])


def test_a_pair_result_does_not_depend_on_the_pairs_called_with_it():
    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 30, size=3000)
    share_lists = [rng.dirichlet(np.full(k, 0.5)).tolist() for k in lengths]
    site_counts = rng.integers(1, 5000, size=lengths.size).tolist()
    together = udf_rows(site_counts, share_lists)
    one_by_one = [udf_rows([n], [s])[0] for n, s in zip(site_counts[:200], share_lists[:200])]
    split = udf_rows(site_counts[:1234], share_lists[:1234]) + udf_rows(site_counts[1234:], share_lists[1234:])
    assert together[:200] == one_by_one
    assert together == split


def test_largest_remainder_on_flat_arrays_equals_the_udf():
    shares = np.array([0.3, 0.3, 0.4, 1.0, 0.5, 0.5])
    result = largest_remainder(shares, np.array([0, 3, 4, 6]), np.array([5, 17, 4]))
    assert result.counts.tolist() == [2, 1, 2, 17, 2, 2]
    assert result.ranks.tolist() == [1, 2, 3, 1, 1, 2]
    assert result.remainders.tolist() == [1, 1, 1, 0, 0, 0]


def test_null_input_is_refused_with_the_s4_code():
    with pytest.raises(ValueError, match="E3A_S4_007_OUTPUT_INCONSISTENT: s3a_integerise got a NULL"):
        integerise_arrow(pa.array([[0.5, None]], pa.list_(pa.float64())), pa.array([2], pa.int64()))
    with pytest.raises(ValueError, match="E3A_S4_007_OUTPUT_INCONSISTENT: s3a_integerise got a NULL"):
        integerise_arrow(pa.array([[1.0]], pa.list_(pa.float64())), pa.array([None], pa.int64()))


# ------------------------------------------------------------------ many pairs through the model


def test_many_pairs_in_any_input_order_are_stored_in_key_order_on_two_threads():
    """Pairs over many DuckDB vectors (2048 pairs each) and row groups, stored in
    shuffled order, on two threads: the table holds every pair's reference counts, in
    key order (merchant_id, legal_country_iso, tzid) row by row."""
    rng = np.random.default_rng(5)
    rows, expected = random_pairs(rng, 12_000)
    pairs = {}
    for row in rows:
        pairs.setdefault((row[0], row[1]), []).append(row)
    shuffled = [row for key in rng.permutation(len(pairs)) for row in list(pairs.values())[key]]
    result = integerise(shuffled, threads=2)
    keys = [(r["merchant_id"], r["legal_country_iso"], r["tzid"]) for r in result]
    assert keys == sorted(keys) and len(keys) == len(rows)
    got: dict[tuple, dict] = {}
    for r in result:
        got.setdefault((r["merchant_id"], r["legal_country_iso"]), {})[r["tzid"]] = (
            r["zone_site_count"], r["residual_rank"], r["fractional_target"])
    assert got == {key: reference for key, (_n, reference) in expected.items()}


def test_a_null_share_fails_the_model_with_the_s4_code():
    rows = pair_rows(1, "AA", 3, ("A/a", "A/b"), (0.5, None))
    with pytest.raises(duckdb.Error, match="E3A_S4_007_OUTPUT_INCONSISTENT: s3a_integerise got a NULL"):
        integerise(rows)
