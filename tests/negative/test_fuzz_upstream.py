"""Property-based fuzzing of S0's upstream validation (Hypothesis, derandomized): one
random single corruption of the small world's outlet_catalogue or site_timezones (a
value out of range or of the wrong shape, a country outside ISO 3166, a null, a
duplicated, dropped or moved row)
must be refused exactly when an independent row-by-row check of the 05 §1/§2 rules
says the table no longer conforms, and then with a coded, named refusal.

The oracle below is written from the spec, not from the validator: plain Python over
the rows. Hundreds of cases run in a few seconds (no dbt, one DuckDB connection each)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seg3a.core.schemas import SchemaPacks
from seg3a.states.s0_upstream import UpstreamInputs, UpstreamRefusal, validate_upstream
from tests.conftest import context_of

CASES = 200
ROWS: dict[str, list[dict]] = {}  # the clean rows, converted once
ISO: set[str] = set()  # country_iso of the sealed iso3166_canonical_2024, read once
HEX64 = re.compile(r"^[a-f0-9]{64}$")
ISO2 = re.compile(r"^[A-Z]{2}$")
TZID = re.compile(r"^[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)*$")
MICROS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
PROFILE = settings(max_examples=CASES, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ----------------------------------------------------------------------------- the oracle
def outlets_conform(rows: list[dict], seed: int, fingerprint: str) -> bool:
    keys, pairs, merchants = set(), {}, {}
    for r in rows:
        if any(v is None for v in r.values()):
            return False
        if not (r["manifest_fingerprint"] == fingerprint and r["global_seed"] == seed and r["merchant_id"] >= 1
                and ISO2.match(r["home_country_iso"]) and ISO2.match(r["legal_country_iso"])
                and r["home_country_iso"] in ISO and r["legal_country_iso"] in ISO
                and r["raw_nb_outlet_draw"] >= 1 and 1 <= r["final_country_outlet_count"] <= 999_999
                and r["site_order"] >= 1 and r["site_id"] == f"{r['site_order']:06d}"):
            return False
        if r["single_vs_multi_flag"] and r["raw_nb_outlet_draw"] < 2:
            return False
        if not r["single_vs_multi_flag"] and not (r["raw_nb_outlet_draw"] == r["final_country_outlet_count"]
                                                   == r["site_order"] == 1
                                                   and r["legal_country_iso"] == r["home_country_iso"]):
            return False
        key = (r["merchant_id"], r["legal_country_iso"], r["site_order"])
        if key in keys:
            return False
        keys.add(key)
        pairs.setdefault(key[:2], []).append(r)
        merchants.setdefault(r["merchant_id"], set()).add(
            (r["raw_nb_outlet_draw"], r["home_country_iso"], r["single_vs_multi_flag"]))
    totals = {}
    for (merchant, _), members in pairs.items():
        counts = {m["final_country_outlet_count"] for m in members}
        if len(counts) != 1 or sorted(m["site_order"] for m in members) != list(range(1, counts.pop() + 1)):
            return False
        totals[merchant] = totals.get(merchant, 0) + len(members)
    for merchant, constants in merchants.items():
        if len(constants) != 1 or next(iter(constants))[0] != totals[merchant]:
            return False
    return True


def zones_conform(rows: list[dict], outlet_keys: set, seed: int, fingerprint: str) -> bool:
    keys, created = set(), set()
    for r in rows:
        for column in ("seed", "manifest_fingerprint", "merchant_id", "legal_country_iso", "site_order", "tzid",
                       "tzid_source", "created_utc"):
            if r[column] is None:
                return False
        if not (r["seed"] == seed and r["manifest_fingerprint"] == fingerprint and r["merchant_id"] >= 1
                and ISO2.match(r["legal_country_iso"]) and r["site_order"] >= 1 and TZID.match(r["tzid"])
                and r["tzid_source"] in ("polygon", "override") and MICROS.match(r["created_utc"])):
            return False
        if r["override_scope"] not in (None, "site", "mcc", "country"):
            return False
        if (r["tzid_source"] == "override") != (r["override_scope"] is not None):
            return False
        if (r["nudge_lat_deg"] is None) != (r["nudge_lon_deg"] is None):
            return False
        key = (r["merchant_id"], r["legal_country_iso"], r["site_order"])
        if key in keys:
            return False
        keys.add(key)
        created.add(r["created_utc"])
    return len(created) <= 1 and keys == outlet_keys


# ----------------------------------------------------------------------------- corruptions
VALUES = {
    "uint64": st.sampled_from([0, 1, 2, 7, 42, 2**63, 2**64 - 1]),
    "int32": st.sampled_from([-1, 0, 1, 2, 3, 12, 999_999, 1_000_000, 2**31 - 1]),
    "string": st.sampled_from(["", "us", "US", "FR", "ZZ", "XK", "AN", "000001", "000002", "1", "0" * 64, "Europe/Paris",
                               "Bad Zone", "polygon", "override", "gps", "site", "2026-01-01T00:00:00.000000Z",
                               "2026-01-01T00:00:00Z"]),
    "bool": st.booleans(),
    "float64": st.sampled_from([0.0, 1.5, -2.0]),
}


COUNTRY_COLUMNS = ("home_country_iso", "legal_country_iso")
# ISO codes (AN is a legacy one the table keeps), well-formed codes outside it (XK is left out), a malformed one
COUNTRY_CODES = st.sampled_from(["FR", "US", "AN", "ZZ", "XK", "us"])


def kind_of(arrow_type: pa.DataType) -> str:
    for kind, test in (("uint64", pa.types.is_uint64), ("int32", pa.types.is_int32), ("string", pa.types.is_string),
                       ("bool", pa.types.is_boolean), ("float64", pa.types.is_float64)):
        if test(arrow_type):
            return kind
    raise AssertionError(arrow_type)


@st.composite
def corruption(draw, tables: dict[str, pa.Table]):
    dataset = draw(st.sampled_from(sorted(tables)))
    table = tables[dataset]
    action = draw(st.sampled_from(["set", "set", "set", "null", "duplicate", "drop", "move", "recode_pair"]))
    row = draw(st.integers(0, table.num_rows - 1))
    if action == "recode_pair":
        column = draw(st.sampled_from([c for c in COUNTRY_COLUMNS if c in table.column_names]))
        value = draw(COUNTRY_CODES)
    else:
        column = draw(st.sampled_from(table.column_names))
        value = draw(VALUES[kind_of(table.schema.field(column).type)]) if action == "set" else None
    other = draw(st.integers(0, table.num_rows - 1))
    return dataset, action, row, column, value, other


def apply(clean_rows: list[dict], action: str, row: int, column: str, value, other: int) -> list[dict]:
    """The rows with one corruption (the clean rows are left as they are)."""
    rows = list(clean_rows)
    if action in ("set", "null", "move"):
        rows[row] = dict(rows[row])
        rows[row][column] = {"set": value, "null": None, "move": clean_rows[other][column]}[action]
    elif action == "duplicate":
        rows.insert(other, dict(rows[row]))
    elif action == "drop":
        del rows[row]
    return rows


def recode_pair(clean_rows: list[dict], pair: tuple, column: str, value) -> list[dict]:
    """Every row of one (merchant, legal country) pair with `value` in `column`: an
    upstream that re-emits a pair with another code (a single-row edit of a country or
    key breaks the pair's row counts or the key sets and hides a bad code)."""
    return [dict(r, **{column: value}) if (r["merchant_id"], r["legal_country_iso"]) == pair else r
            for r in clean_rows]


def as_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    nullable = pa.schema([field.with_nullable(True) for field in schema])  # a writer may emit nulls
    return pa.Table.from_pylist(rows, schema=nullable)


# ----------------------------------------------------------------------------- the property
@pytest.fixture(scope="module")
def clean(small_world, tmp_path_factory):
    ctx = context_of(small_world)
    tables = {d: pq.read_table(ctx.path(d)) for d in ("outlet_catalogue", "site_timezones")}
    for name in tables:  # the partition's hive tokens are not columns of the files
        tables[name] = tables[name].select([f.name for f in pq.read_schema(next(ctx.path(name).glob("*.parquet")))])
    ROWS.update({name: table.to_pylist() for name, table in tables.items()})
    ISO.update(pq.read_table(ctx.path("iso3166_canonical_2024"), columns=["country_iso"])["country_iso"].to_pylist())
    return ctx, tables, SchemaPacks.load(ctx.catalogue.root), tmp_path_factory.mktemp("fuzz")


def validate(ctx, packs, work: Path, tables: dict[str, pa.Table]) -> UpstreamRefusal | None:
    shutil.rmtree(work, ignore_errors=True)
    paths = {}
    for name, table in tables.items():
        paths[name] = work / name
        paths[name].mkdir(parents=True)
        pq.write_table(table, paths[name] / "part-00000.parquet")
    inputs = UpstreamInputs(outlet_catalogue=paths["outlet_catalogue"], iso3166=ctx.path("iso3166_canonical_2024"),
                            egress_checksums=Path("unused"), bundle_2a=Path("unused"),
                            site_timezones=paths["site_timezones"], tz_timetable_cache=None, s4_legality_report=None)
    try:
        validate_upstream(inputs, packs, lambda d: ctx.catalogue.entry(d)["schema_ref"], ctx.tokens.seed,
                          ctx.tokens.manifest_fingerprint)
    except UpstreamRefusal as refusal:
        return refusal
    return None


def test_the_clean_world_conforms(clean):
    ctx, tables, packs, work = clean
    seed, fp = ctx.tokens.seed, ctx.tokens.manifest_fingerprint
    outlets = tables["outlet_catalogue"].to_pylist()
    assert outlets_conform(outlets, seed, fp)
    keys = {(r["merchant_id"], r["legal_country_iso"], r["site_order"]) for r in outlets}
    assert zones_conform(tables["site_timezones"].to_pylist(), keys, seed, fp)
    assert validate(ctx, packs, work / "clean", tables) is None


@PROFILE
@given(data=st.data())
def test_a_single_corruption_is_refused_exactly_when_the_rules_break(clean, data):
    ctx, tables, packs, work = clean
    dataset, action, row, column, value, other = data.draw(corruption(tables))
    rows = {name: ROWS[name] for name in tables}
    if action == "recode_pair":  # in both tables where both have the column, so that the key sets still agree
        pair = (ROWS[dataset][row]["merchant_id"], ROWS[dataset][row]["legal_country_iso"])
        for name in tables:
            if column in tables[name].column_names:
                rows[name] = recode_pair(rows[name], pair, column, value)
    else:
        rows[dataset] = apply(rows[dataset], action, row, column, value, other)
    try:
        broken = {name: as_table(rows[name], tables[name].schema) if rows[name] is not ROWS[name] else table
                  for name, table in tables.items()}
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return  # the value does not fit the column's Parquet type: not a writable file
    seed, fp = ctx.tokens.seed, ctx.tokens.manifest_fingerprint
    keys = {(r["merchant_id"], r["legal_country_iso"], r["site_order"]) for r in rows["outlet_catalogue"]}
    conforms = (outlets_conform(rows["outlet_catalogue"], seed, fp)
                and zones_conform(rows["site_timezones"], keys, seed, fp))
    refusal = validate(ctx, packs, work / "case", broken)
    assert (refusal is None) == conforms, (dataset, action, row, column, value, other, refusal and str(refusal))
    if refusal is not None:
        assert refusal.reason == "egress_invalid" and refusal.check and refusal.dataset in broken
        assert refusal.violation_count >= 1 and refusal.example_keys
