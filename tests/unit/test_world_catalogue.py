"""05 §1 invariants of the generated `outlet_catalogue`, 05 §2 rules of `site_timezones`
and the 05 §10 cross-artefact consistency, checked on the published Parquet files."""
from __future__ import annotations

import importlib.resources
import re
from collections import defaultdict

import duckdb
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from seg3a.core.schemas import SchemaPacks
from seg3a.world.testing import WorldView, shared_world

PART_NAME = re.compile(r"^part-\d{5}\.parquet$")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> WorldView:
    return WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))


@pytest.fixture(scope="module")
def con(world):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW oc AS SELECT * FROM read_parquet('{world.path('outlet_catalogue')}/*.parquet')")
    con.execute(f"CREATE VIEW st AS SELECT * FROM read_parquet('{world.path('site_timezones')}/*.parquet')")
    return con


def zone_tab() -> dict[str, set[str]]:
    zones = defaultdict(set)
    text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            zones[fields[0]].add(fields[2])
    return zones


@pytest.mark.parametrize("dataset_id", ["outlet_catalogue", "site_timezones"])
def test_data_folders_hold_only_part_files(world, dataset_id):
    names = sorted(p.name for p in world.path(dataset_id).iterdir())
    assert names and all(PART_NAME.match(n) for n in names), names
    assert names == [f"part-{i:05d}.parquet" for i in range(len(names))]


@pytest.mark.parametrize("dataset_id", ["outlet_catalogue", "site_timezones"])
def test_tables_validate_against_their_schema_anchor(world, dataset_id):
    packs = SchemaPacks.load(world.catalogue.root)
    anchor = world.catalogue.entry(dataset_id)["schema_ref"]
    assert packs.validate_table(anchor, world.path(dataset_id)) == []


def test_pairs_have_gapless_site_orders(con):
    bad = con.execute("""
        SELECT count(*) FROM (
            SELECT merchant_id, legal_country_iso, count(*) AS k, min(site_order) AS lo, max(site_order) AS hi,
                   count(DISTINCT site_order) AS d, min(final_country_outlet_count) AS n1,
                   max(final_country_outlet_count) AS n2
            FROM oc GROUP BY ALL)
        WHERE k <> n1 OR n1 <> n2 OR lo <> 1 OR hi <> k OR d <> k""").fetchone()[0]
    assert bad == 0


def test_merchant_counts_sum_to_raw_draw(con):
    bad = con.execute("""
        SELECT count(*) FROM (
            SELECT merchant_id, sum(n) AS total, min(raw) AS r1, max(raw) AS r2, count(DISTINCT home) AS homes,
                   bool_and(flag) AS flag
            FROM (SELECT merchant_id, legal_country_iso, any_value(final_country_outlet_count) AS n,
                         min(raw_nb_outlet_draw) AS raw, max(raw_nb_outlet_draw) AS raw_hi,
                         any_value(home_country_iso) AS home, bool_and(single_vs_multi_flag) AS flag
                  FROM oc GROUP BY ALL)
            GROUP BY merchant_id)
        WHERE total <> r1 OR r1 <> r2 OR homes <> 1 OR NOT flag OR r1 < 2""").fetchone()[0]
    assert bad == 0


def test_site_id_is_padded_site_order(con):
    bad = con.execute("SELECT count(*) FROM oc WHERE site_id <> lpad(CAST(site_order AS VARCHAR), 6, '0')").fetchone()[0]
    assert bad == 0


def test_embedded_identity_equals_path_tokens(world, con):
    receipt = world.receipt
    fps = {r[0] for r in con.execute("SELECT DISTINCT manifest_fingerprint FROM oc UNION SELECT DISTINCT manifest_fingerprint FROM st").fetchall()}
    seeds = {r[0] for r in con.execute("SELECT DISTINCT global_seed FROM oc UNION SELECT DISTINCT seed FROM st").fetchall()}
    assert fps == {receipt.manifest_fingerprint}
    assert seeds == {receipt.seed}
    assert f"manifest_fingerprint={receipt.manifest_fingerprint}" in world.rel("outlet_catalogue")


def test_writer_sort_order(world):
    table = pq.read_table(world.path("outlet_catalogue"), columns=["merchant_id", "legal_country_iso", "site_order"])
    order = pc.sort_indices(table, sort_keys=[("merchant_id", "ascending"), ("legal_country_iso", "ascending"),
                                              ("site_order", "ascending")])
    assert np.array_equal(order.to_numpy(), np.arange(table.num_rows))


def test_countries_are_iso_members_with_zones(world, con):
    iso = set(pq.read_table(world.path("iso3166_canonical_2024"), columns=["country_iso"]).column(0).to_pylist())
    used = {r[0] for r in con.execute("SELECT home_country_iso FROM oc UNION SELECT legal_country_iso FROM oc").fetchall()}
    zones = zone_tab()
    assert used <= iso
    assert all(zones.get(c) for c in used), sorted(c for c in used if not zones.get(c))


def test_home_country_usually_among_legal_countries(con):
    share = con.execute("""
        SELECT avg(CASE WHEN has_home THEN 1.0 ELSE 0.0 END) FROM (
            SELECT merchant_id, bool_or(home_country_iso = legal_country_iso) AS has_home FROM oc GROUP BY ALL)""").fetchone()[0]
    assert 0.6 < share < 1.0


def test_site_timezones_keys_equal_catalogue_keys(con):
    diff = con.execute("""
        SELECT count(*) FROM (
            (SELECT merchant_id, legal_country_iso, site_order FROM oc
             EXCEPT SELECT merchant_id, legal_country_iso, site_order FROM st)
            UNION ALL
            (SELECT merchant_id, legal_country_iso, site_order FROM st
             EXCEPT SELECT merchant_id, legal_country_iso, site_order FROM oc))""").fetchone()[0]
    counts = con.execute("SELECT (SELECT count(*) FROM oc), (SELECT count(*) FROM st)").fetchone()
    assert diff == 0 and counts[0] == counts[1]


def test_polygon_tzids_lie_in_the_legal_countrys_zones(con):
    zones = zone_tab()
    rows = con.execute("SELECT DISTINCT legal_country_iso, tzid FROM st WHERE tzid_source = 'polygon'").fetchall()
    outside = [(c, z) for c, z in rows if z not in zones[c]]
    assert outside == []


def test_site_timezone_column_rules(world, con):
    sites, override, bad_scope, bad_nudge, nudged, created = con.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE tzid_source = 'override'),
               count(*) FILTER (WHERE (tzid_source = 'override') <> (override_scope IS NOT NULL)),
               count(*) FILTER (WHERE (nudge_lat_deg IS NULL) <> (nudge_lon_deg IS NULL)),
               count(*) FILTER (WHERE nudge_lat_deg IS NOT NULL),
               list(DISTINCT created_utc)
        FROM st""").fetchone()
    assert bad_scope == 0 and bad_nudge == 0
    assert created == [world.receipt.created_utc]
    assert 0 < override < 0.01 * sites  # overrides and nudges exist but are rare
    assert 0 < nudged < 0.01 * sites


def test_placement_follows_city_population(con):
    """The US outlet mix over zones tracks GeoNames: Eastern time is the largest zone."""
    rows = con.execute("""
        SELECT tzid, count(*) AS k FROM st WHERE legal_country_iso = 'US' GROUP BY tzid ORDER BY k DESC""").fetchall()
    assert len(rows) >= 3
    assert rows[0][0] == "America/New_York"


@pytest.mark.slow
def test_polygon_tzids_lie_in_the_spatial_zone_universe(world, con):
    """Against the project's own Z(c) (02 §1, built by the zone_universe models with DuckDB
    spatial from the sealed reference files), not only zone.tab. About 30 s."""
    from seg3a.core.duck import connect
    from seg3a.zones.evaluate import bind_inputs, load_rule, run_models

    spatial = connect()
    bind_inputs(spatial, world.path("world_countries"), world.path("tz_world_2025a"))
    run_models(spatial, load_rule())
    universe = set(spatial.execute("SELECT country_iso, tzid FROM zone_universe").fetchall())
    used = set(con.execute("SELECT DISTINCT legal_country_iso, tzid FROM st WHERE tzid_source = 'polygon'").fetchall())
    assert used - universe == set()
