"""S0's upstream table checks on small hand-made Parquet tables: the cheap paths (a
column's min/max or null count proving a rule, rules tried on distinct values, the
site time zones' keys matched row by row with the outlet keys) accept valid tables,
and every table they cannot prove is refused with the same check, column and row count
as the row-by-row counts give. Expected counts come from how each table is broken."""
from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seg3a.core.schemas import SchemaPacks
from seg3a.states.s0_upstream import (
    TableValidator, UpstreamRefusal, validate_outlet_catalogue, validate_site_timezones,
)

ROOT = Path(__file__).resolve().parents[2]
FP = "ab" * 32
SEED = 42
CREATED = "2026-01-01T00:00:00.000000Z"
OUTLETS_ANCHOR = "schemas.1A.yaml#/egress/outlet_catalogue"
ZONES_ANCHOR = "schemas.2A.yaml#/egress/site_timezones"

# (merchant_id, legal_country_iso, site_order, home_country_iso, multi, raw_nb_outlet_draw, n)
OUTLET_ROWS = [
    (1, "FR", 1, "US", True, 4, 1),
    (1, "US", 1, "US", True, 4, 3),
    (1, "US", 2, "US", True, 4, 3),
    (1, "US", 3, "US", True, 4, 3),
    (2, "DE", 1, "DE", False, 1, 1),
    (3, "JP", 1, "JP", True, 2, 2),
    (3, "JP", 2, "JP", True, 2, 2),
]


def outlets() -> dict[str, list]:
    m, c, o, home, multi, raw, n = (list(col) for col in zip(*OUTLET_ROWS))
    return {"manifest_fingerprint": [FP] * len(m), "merchant_id": m, "site_id": [f"{x:06d}" for x in o],
            "home_country_iso": home, "legal_country_iso": c, "single_vs_multi_flag": multi,
            "raw_nb_outlet_draw": raw, "final_country_outlet_count": n, "site_order": o,
            "global_seed": [SEED] * len(m)}


def zones() -> dict[str, list]:
    m, c, o = (list(col) for col in list(zip(*OUTLET_ROWS))[:3])
    rows = len(m)
    return {"seed": [SEED] * rows, "manifest_fingerprint": [FP] * rows, "merchant_id": m, "legal_country_iso": c,
            "site_order": o, "tzid": ["Europe/Paris"] * rows, "tzid_source": ["polygon"] * rows,
            "override_scope": [None] * rows, "nudge_lat_deg": [None] * rows, "nudge_lon_deg": [None] * rows,
            "created_utc": [CREATED] * rows}


OUTLET_TYPES = {"manifest_fingerprint": pa.string(), "merchant_id": pa.uint64(), "site_id": pa.string(),
                "home_country_iso": pa.string(), "legal_country_iso": pa.string(), "single_vs_multi_flag": pa.bool_(),
                "raw_nb_outlet_draw": pa.int32(), "final_country_outlet_count": pa.int32(), "site_order": pa.int32(),
                "global_seed": pa.uint64()}
ZONE_TYPES = {"seed": pa.uint64(), "manifest_fingerprint": pa.string(), "merchant_id": pa.uint64(),
              "legal_country_iso": pa.string(), "site_order": pa.int32(), "tzid": pa.string(),
              "tzid_source": pa.string(), "override_scope": pa.string(), "nudge_lat_deg": pa.float64(),
              "nudge_lon_deg": pa.float64(), "created_utc": pa.string()}


def write(folder: Path, columns: dict[str, list], types: dict[str, pa.DataType]) -> Path:
    folder.mkdir(parents=True)
    table = pa.table({name: pa.array(columns[name], types[name]) for name in types})
    pq.write_table(table, folder / "part-00000.parquet")
    return folder


def refusal(tmp_path: Path, outlet_columns: dict, zone_columns: dict | None = None) -> UpstreamRefusal | None:
    packs = SchemaPacks.load(ROOT / "contracts" / "schemas")
    conn = duckdb.connect()
    try:
        conn.execute("create temp table iso as select * from (values ('US'), ('FR'), ('DE'), ('JP')) as t(country_iso)")
        table = TableValidator(conn, packs, "outlet_catalogue", OUTLETS_ANCHOR,
                               write(tmp_path / "outlets", outlet_columns, OUTLET_TYPES))
        table.load()
        validate_outlet_catalogue(table, SEED, FP, "iso")
        if zone_columns is not None:
            zone_table = TableValidator(conn, packs, "site_timezones", ZONES_ANCHOR,
                                        write(tmp_path / "zones", zone_columns, ZONE_TYPES))
            zone_table.load()
            validate_site_timezones(zone_table, table, SEED, FP)
    except UpstreamRefusal as refused:
        return refused
    finally:
        conn.close()
    return None


def edited(columns: dict, column: str, rows: list[int], value) -> dict:
    values = list(columns[column])
    for row in rows:
        values[row] = value
    return {**columns, column: values}


def test_valid_tables_pass(tmp_path):
    assert refusal(tmp_path, outlets(), zones()) is None


OUTLET_CASES = {
    # column rules proven by min/max or null counts
    "null_home_country": (("home_country_iso", [0, 5], None), ("null", "home_country_iso", 2)),
    "merchant_id_zero": (("merchant_id", [4], 0), ("minimum", "merchant_id", 1)),
    "count_above_maximum": (("final_country_outlet_count", [1, 2], 1_000_000), ("maximum", "final_country_outlet_count", 2)),
    "count_below_minimum": (("final_country_outlet_count", [6], 0), ("minimum", "final_country_outlet_count", 1)),
    "fingerprint_another_hex": (("manifest_fingerprint", [3], "0" * 64), ("path_embed", "manifest_fingerprint", 1)),
    "fingerprint_not_hex": (("manifest_fingerprint", [2, 3], "XYZ"), ("pattern", "manifest_fingerprint", 2)),
    "fingerprint_below_token": (("manifest_fingerprint", [0], "00"), ("pattern", "manifest_fingerprint", 1)),
    "seed_differs": (("global_seed", [0, 1, 2], SEED + 1), ("path_embed", "global_seed", 3)),
    # rules tried on distinct values
    "site_id_not_order": (("site_id", [1], "000009"), ("site_id_format", "site_id", 1)),
    "unknown_home_country": (("home_country_iso", [4], "ZZ"), ("foreign_key", "home_country_iso", 1)),
    "lower_case_country": (("legal_country_iso", [5, 6], "jp"), ("pattern", "legal_country_iso", 2)),
    # rules counted in the scan
    "multi_site_draw_below_two": (("raw_nb_outlet_draw", [5, 6], 1), ("multi_site_rule", "single_vs_multi_flag", 2)),
}


@pytest.mark.parametrize("case", sorted(OUTLET_CASES))
def test_outlet_rule_broken_is_refused_with_its_row_count(tmp_path, case):
    (column, rows, value), expected = OUTLET_CASES[case]
    refused = refusal(tmp_path, edited(outlets(), column, rows, value))
    assert refused is not None, case
    assert (refused.check, refused.column, refused.violation_count) == expected, refused
    assert refused.example_keys


ZONE_CASES = {
    "nan_nudge": (("nudge_lat_deg", [2], math.nan), ("non_finite", "nudge_lat_deg", 1)),
    "infinite_nudge": (("nudge_lon_deg", [0, 3], -math.inf), ("non_finite", "nudge_lon_deg", 2)),
    "tzid_source_not_in_enum": (("tzid_source", [6], "gps"), ("enum", "tzid_source", 1)),
    "seed_differs": (("seed", [1], SEED + 1), ("path_embed", "seed", 1)),
    "null_tzid": (("tzid", [0, 1, 2], None), ("null", "tzid", 3)),
}


@pytest.mark.parametrize("case", sorted(ZONE_CASES))
def test_site_timezones_rule_broken_is_refused_with_its_row_count(tmp_path, case):
    (column, rows, value), expected = ZONE_CASES[case]
    refused = refusal(tmp_path, outlets(), edited(zones(), column, rows, value))
    assert refused is not None, case
    assert (refused.check, refused.column, refused.violation_count) == expected, refused


def test_finite_nudges_pass(tmp_path):
    columns = edited(edited(zones(), "nudge_lat_deg", [1], 45.5), "nudge_lon_deg", [1], -3.25)
    assert refusal(tmp_path, outlets(), columns) is None


def reordered(columns: dict, order: list[int]) -> dict:
    return {name: [values[i] for i in order] for name, values in columns.items()}


def test_site_timezones_in_another_row_order_pass_by_the_full_checks(tmp_path):
    """Keys that do not match the outlet keys row by row prove nothing; the same key set
    in another order is then accepted by the order pass, grouped count and key-set join."""
    assert refusal(tmp_path, outlets(), reordered(zones(), [3, 2, 1, 0, 4, 6, 5])) is None


def test_site_timezones_row_missing_is_a_key_set_refusal(tmp_path):
    refused = refusal(tmp_path, outlets(), reordered(zones(), [0, 1, 2, 4, 5, 6]))
    assert (refused.check, refused.violation_count) == ("key_set", 1), refused
    assert refused.example_keys[0]["site_timezones_rows"] == 2


def test_site_timezones_row_repeated_is_a_primary_key_refusal(tmp_path):
    """As many rows as the outlets, one key twice and one missing: not a row-by-row match,
    so the key order pass and the grouped count find the duplicate."""
    refused = refusal(tmp_path, outlets(), reordered(zones(), [0, 1, 1, 3, 4, 5, 6]))
    assert (refused.check, refused.violation_count) == ("primary_key", 1), refused
    example = refused.example_keys[0]
    assert (example["merchant_id"], example["legal_country_iso"], example["site_order"]) == (1, "US", 1)


def test_a_count_differing_within_a_pair_names_the_pair_and_its_spread(tmp_path):
    refused = refusal(tmp_path, edited(outlets(), "final_country_outlet_count", [2], 4))
    assert (refused.check, refused.violation_count) == ("pair_count_constant", 1), refused
    assert refused.example_keys == [{"merchant_id": 1, "legal_country_iso": "US", "row_count": 3, "n_min": 3,
                                     "n_max": 4, "site_order_min": 1, "site_order_max": 3}]


def test_a_home_country_differing_between_a_merchants_pairs_is_a_merchant_constant_refusal(tmp_path):
    refused = refusal(tmp_path, edited(outlets(), "home_country_iso", [0], "FR"))
    assert (refused.check, refused.violation_count) == ("merchant_constant", 1), refused
    assert refused.example_keys == [{
        "merchant_id": 1, "raw_nb_outlet_draw_min": 4, "raw_nb_outlet_draw_max": 4, "home_country_iso_min": "FR",
        "home_country_iso_max": "US", "single_vs_multi_flag_min": True, "single_vs_multi_flag_max": True}]


def test_a_draw_differing_within_one_pair_is_a_merchant_constant_refusal(tmp_path):
    refused = refusal(tmp_path, edited(outlets(), "raw_nb_outlet_draw", [6], 3))
    assert (refused.check, refused.violation_count) == ("merchant_constant", 1), refused
    assert refused.example_keys[0]["merchant_id"] == 3
    assert (refused.example_keys[0]["raw_nb_outlet_draw_min"], refused.example_keys[0]["raw_nb_outlet_draw_max"]) == (2, 3)
