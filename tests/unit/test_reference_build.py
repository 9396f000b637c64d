"""Reference-data build: the ISO table, world_countries, and tz_world on a subset of zones.

The tz subset runs through the same builder as the full dataset (`zones=` only narrows
the zone list), so the determinism and ordering checks here cover the full code path
at a fraction of the cost.
"""
from __future__ import annotations

import json
import re
import shutil
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
    ReferenceDataError,
    build_all,
    build_dataset,
    data_path,
    manifest_path,
    reference_relpath,
    verify_dataset,
)
from seg3a.reference.io import canonical_json, sha256_file
from seg3a.reference.tz_world import tzid_allowed
from seg3a.reference.world_countries import TerritorySplit, _split_feature

# Small and large zones, three-segment ids, an Etc ocean zone, and zones with holes
# (Europe/Rome has the Vatican and San Marino cut out of it).
TZ_SUBSET = (
    "America/Argentina/Buenos_Aires",
    "America/Indiana/Knox",
    "Etc/GMT+12",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/San_Marino",
    "Europe/Vatican",
)


def _build_small(root: Path) -> None:
    build_dataset(root, ISO3166, progress=lambda _: None)
    build_dataset(root, WORLD_COUNTRIES, progress=lambda _: None)
    build_dataset(root, TZ_WORLD, progress=lambda _: None, zones=TZ_SUBSET)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reference_small")
    _build_small(root)
    return root


def _read(root: Path, dataset_id: str):
    return pq.read_table(data_path(root, dataset_id))


def _geoms(table) -> np.ndarray:
    return shapely.from_wkb(table.column("geom").to_pylist())


# ---------------------------------------------------------------- paths


def test_relative_paths_match_the_inventory():
    assert reference_relpath(ISO3166).as_posix() == "reference/iso/iso3166_canonical/2024-12-31/iso3166.parquet"
    assert reference_relpath(WORLD_COUNTRIES).as_posix() == "reference/spatial/world_countries/2024/world_countries.parquet"
    assert reference_relpath(TZ_WORLD).as_posix() == "reference/spatial/tz_world/2025a/tz_world.parquet"
    assert manifest_path(Path("/r"), WORLD_COUNTRIES).name == "world_countries.manifest.json"


def test_unknown_dataset_id_is_an_e3a_ref_error():
    with pytest.raises(ReferenceDataError, match=r"^E3A_REF: unknown reference dataset"):
        reference_relpath("tz_world_1999z")


# ---------------------------------------------------------------- iso3166


def test_iso3166_has_the_baseline_rows(small_root):
    table = _read(small_root, ISO3166)
    codes = table.column("country_iso").to_pylist()
    assert table.num_rows == 251
    assert codes == sorted(codes)
    assert {"AN", "CS"} <= set(codes)
    assert not {"XK", "UK"} & set(codes)
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in codes)


def test_iso3166_keys_and_types(small_root):
    table = _read(small_root, ISO3166)
    assert str(table.schema.field("numeric_code").type) == "int16"
    assert not table.schema.field("country_iso").nullable
    rows = dict(zip(table.column("country_iso").to_pylist(), table.column("numeric_code").to_pylist()))
    assert rows["AF"] == 4 and rows["DE"] == 276
    for column in ("alpha3", "numeric_code"):
        values = table.column(column).to_pylist()
        assert len(set(values)) == len(values)
    names = table.column("name").to_pylist()
    assert all(n == n.strip() and n for n in names)
    assert table.column("region").null_count == table.num_rows


# ---------------------------------------------------------------- world_countries


def test_world_countries_covers_every_iso_code_once(small_root):
    iso = _read(small_root, ISO3166).column("country_iso").to_pylist()
    world = _read(small_root, WORLD_COUNTRIES)
    codes = world.column("country_iso").to_pylist()
    assert codes == iso  # same codes, each once, same order


def test_world_countries_geometries_are_publishable(small_root):
    geoms = _geoms(_read(small_root, WORLD_COUNTRIES))
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}  # Polygon, MultiPolygon
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    assert -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90


def _by_code(root: Path) -> dict[str, shapely.Geometry]:
    table = _read(root, WORLD_COUNTRIES)
    return dict(zip(table.column("country_iso").to_pylist(), _geoms(table)))


@pytest.mark.parametrize(
    ("code", "lon", "lat"),
    [
        ("GF", -52.33, 4.93),  # Cayenne
        ("GP", -61.53, 16.24),  # Pointe-a-Pitre
        ("MQ", -61.07, 14.62),  # Fort-de-France
        ("RE", 55.45, -20.93),  # Saint-Denis
        ("YT", 45.17, -12.80),  # Mamoudzou area
        ("SJ", 15.63, 78.22),  # Longyearbyen
        ("BQ", -68.27, 12.15),  # Kralendijk
        ("CX", 105.67, -10.45),
        ("FR", 2.35, 48.86),  # Paris
        ("NO", 10.75, 59.91),  # Oslo
    ],
)
def test_overseas_parts_belong_to_their_own_code(small_root, code, lon, lat):
    geoms = _by_code(small_root)
    point = shapely.Point(lon, lat)
    assert geoms[code].distance(point) < 0.05
    owners = sorted(c for c, g in geoms.items() if g.distance(point) < 0.05 and c not in ("AN", "CS"))
    assert owners == [code]


def test_parents_lose_their_overseas_parts(small_root):
    geoms = _by_code(small_root)
    fr, no, nl = (shapely.bounds(geoms[c]) for c in ("FR", "NO", "NL"))
    assert fr[0] > -6 and fr[1] > 41  # metropolitan France and Corsica only
    assert no[3] < 72 and no[0] > 4  # no Svalbard, Jan Mayen or Bouvet
    assert nl[0] > 3  # no Caribbean parts


def test_legacy_codes_are_unions_of_their_constituents(small_root):
    geoms = _by_code(small_root)
    for member in ("BQ", "CW", "SX"):
        assert geoms["AN"].contains(shapely.point_on_surface(geoms[member]))
    for member in ("RS", "ME"):
        assert geoms["CS"].contains(shapely.point_on_surface(geoms[member]))


def test_split_fails_closed_when_a_box_catches_nothing():
    square = shapely.box(0, 0, 1, 1)
    split = TerritorySplit("XXX", "ZZ", "nowhere", ((50.0, 50.0, 51.0, 51.0),))
    with pytest.raises(ReferenceDataError, match="^E3A_REF:"):
        _split_feature(square, [split], "XXX")


def test_world_manifest_records_drops_and_repairs(small_root):
    manifest = json.loads(manifest_path(small_root, WORLD_COUNTRIES).read_text())
    dropped = {d["adm0_a3"] for d in manifest["dropped_features"]}
    assert {"ATC", "BRT", "CLP", "SCR"} <= dropped
    assert not {"IOA", "KOS", "FRA"} & dropped  # split or used in a composite
    assert "EGY" in manifest["repaired"]
    assert manifest["upstream_release"] == "5.1.1"
    assert manifest["licence"] == "Public-Domain"


# ---------------------------------------------------------------- tz_world (subset)


def test_tzid_filter_keeps_three_segment_and_etc_ids():
    assert tzid_allowed("America/Argentina/Buenos_Aires")
    assert tzid_allowed("America/Indiana/Knox")
    assert tzid_allowed("Etc/GMT+12")
    assert not tzid_allowed("Bad Zone/With Space")
    assert not tzid_allowed("UT")  # shorter than 3 characters


def test_tz_subset_ids_are_dense_and_rows_ordered(small_root):
    table = _read(small_root, TZ_WORLD)
    tzids = table.column("tzid").to_pylist()
    ids = table.column("polygon_id").to_pylist()
    assert sorted(set(tzids)) == sorted(TZ_SUBSET)
    assert list(zip(tzids, ids)) == sorted(zip(tzids, ids))
    for tzid in set(tzids):
        assert [i for t, i in zip(tzids, ids) if t == tzid] == list(range(tzids.count(tzid)))
    assert str(table.schema.field("polygon_id").type) == "int32"


def test_tz_parts_are_ordered_by_geodesic_area(small_root):
    path = data_path(small_root, TZ_WORLD)
    con = connect()
    rows = con.execute(
        f"SELECT tzid, polygon_id, ST_Area_Spheroid(ST_FlipCoordinates(geom)) FROM '{path}' ORDER BY 1, 2"
    ).fetchall()
    berlin = [area for tzid, _, area in rows if tzid == "Europe/Berlin"]
    assert len(berlin) > 1
    assert berlin == sorted(berlin, reverse=True)


def _normalised(geoms) -> list:
    return sorted(shapely.normalize(np.asarray(geoms, dtype=object)), key=lambda g: tuple(np.round(g.bounds, 6)))


@pytest.mark.parametrize("tzid", ["Europe/Rome", "Europe/Berlin", "America/Indiana/Knox"])
def test_tz_parts_equal_the_finder_geometry(small_root, tzid):
    from timezonefinder import TimezoneFinder

    with TimezoneFinder() as finder:
        reference = [shapely.Polygon(rings[0], rings[1:]) for rings in finder.get_geometry(tz_name=tzid, coords_as_pairs=True)]
    table = _read(small_root, TZ_WORLD)
    ours = [g for t, g in zip(table.column("tzid").to_pylist(), _geoms(table)) if t == tzid]
    assert len(ours) == len(reference)
    for mine, theirs in zip(_normalised(ours), _normalised(reference)):
        assert shapely.equals_exact(mine, theirs, tolerance=1e-9)


def test_rome_keeps_its_holes(small_root):
    table = _read(small_root, TZ_WORLD)
    rome = [g for t, g in zip(table.column("tzid").to_pylist(), _geoms(table)) if t == "Europe/Rome"]
    assert shapely.get_num_interior_rings(rome[0]) >= 2  # Vatican and San Marino


# ---------------------------------------------------------------- metadata and manifests


@pytest.mark.parametrize("dataset_id", [WORLD_COUNTRIES, TZ_WORLD])
def test_geoparquet_metadata(small_root, dataset_id):
    path = data_path(small_root, dataset_id)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    column = geo["columns"][geo["primary_column"]]
    assert geo["primary_column"] == "geom" and geo["version"] == "1.1.0"
    assert column["encoding"] == "WKB"
    assert column["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
    kinds = {"Polygon" if t == 3 else "MultiPolygon" for t in shapely.get_type_id(_geoms(pq.read_table(path)))}
    assert column["geometry_types"] == sorted(kinds)
    con = connect()
    assert con.execute(f"SELECT bool_and(ST_IsValid(geom)) FROM '{path}'").fetchone() == (True,)
    assert "GEOMETRY" in con.execute(f"SELECT typeof(geom) FROM '{path}' LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("dataset_id", DATASET_IDS)
def test_manifest_is_canonical_and_matches_the_file(small_root, dataset_id):
    raw = manifest_path(small_root, dataset_id).read_bytes()
    manifest = json.loads(raw)
    assert raw == canonical_json(manifest).encode("ascii")
    assert not raw.endswith(b"\n")
    assert not re.search(rb"\d{4}-\d{2}-\d{2}T\d{2}:", raw)  # no timestamps
    assert manifest["data_sha256"] == sha256_file(data_path(small_root, dataset_id))
    assert manifest["row_count"] == pq.read_metadata(data_path(small_root, dataset_id)).num_rows
    for key in ("source_package", "source_package_version", "upstream_release", "licence", "source_files"):
        assert manifest[key]
    assert all(re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in manifest["source_files"])


def test_tz_manifest_records_release_and_subset(small_root):
    manifest = json.loads(manifest_path(small_root, TZ_WORLD).read_text())
    assert manifest["upstream_release"] == "2026c"
    assert manifest["licence"] == "ODbL-1.0"
    assert manifest["parameters"]["zone_selection"] == sorted(TZ_SUBSET)


# ---------------------------------------------------------------- determinism, skip, verify


def test_rebuild_gives_identical_bytes(small_root, tmp_path):
    _build_small(tmp_path)
    for dataset_id in DATASET_IDS:
        assert data_path(tmp_path, dataset_id).read_bytes() == data_path(small_root, dataset_id).read_bytes()
        assert manifest_path(tmp_path, dataset_id).read_bytes() == manifest_path(small_root, dataset_id).read_bytes()


def _copy_dataset(src_root: Path, dst_root: Path, dataset_id: str) -> None:
    for path in (data_path(src_root, dataset_id), manifest_path(src_root, dataset_id)):
        target = dst_root / path.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def test_verify_detects_a_changed_byte(small_root, tmp_path):
    _copy_dataset(small_root, tmp_path, ISO3166)
    assert verify_dataset(tmp_path, ISO3166)["rows"] == 251
    path = data_path(tmp_path, ISO3166)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ReferenceDataError, match=r"^E3A_REF: iso3166_canonical_2024: SHA-256"):
        verify_dataset(tmp_path, ISO3166)


def test_verify_detects_missing_files(small_root, tmp_path):
    with pytest.raises(ReferenceDataError, match=r"^E3A_REF: .*manifest missing"):
        verify_dataset(tmp_path, ISO3166)
    _copy_dataset(small_root, tmp_path, ISO3166)
    data_path(tmp_path, ISO3166).unlink()
    with pytest.raises(ReferenceDataError, match=r"^E3A_REF: .*data file missing"):
        verify_dataset(tmp_path, ISO3166)


def test_build_all_skips_current_and_repairs_corrupt(tmp_path):
    lines: list[str] = []
    first = build_all(tmp_path, progress=lines.append, datasets=[ISO3166])
    assert first["datasets"][ISO3166]["status"] == "built"
    second = build_all(tmp_path, progress=lines.append, datasets=[ISO3166])
    assert second["datasets"][ISO3166]["status"] == "skipped"
    data_path(tmp_path, ISO3166).write_bytes(b"not parquet")
    third = build_all(tmp_path, progress=lines.append, datasets=[ISO3166])
    assert third["datasets"][ISO3166]["status"] == "built"
    assert third["datasets"][ISO3166]["sha256"] == first["datasets"][ISO3166]["sha256"]
    forced = build_all(tmp_path, force=True, progress=lines.append, datasets=[ISO3166])
    assert forced["datasets"][ISO3166]["status"] == "built"
    assert any("skipped" in line for line in lines)


def test_no_temp_files_are_left_behind(small_root):
    leftovers = [p for p in small_root.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
