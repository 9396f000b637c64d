"""Z(c): the zone_universe models on hand-built geometries, and against IANA zone.tab
on the real reference data.

The models run through `seg3a.zones.evaluate.run_models`, i.e. the SQL text dbt runs.
Coordinates are near the equator unless stated, where 0.01° ≈ 1.11 km.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from seg3a.zones import evaluate as zu

RULE = zu.load_rule()


def _world(conn, countries: dict[str, str], zones: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Bind WKT geometries as the two staging relations, run the models, return candidates."""
    conn.execute("CREATE OR REPLACE TABLE w (country_iso VARCHAR, wkt VARCHAR)")
    conn.execute("CREATE OR REPLACE TABLE t (tzid VARCHAR, polygon_id INTEGER, wkt VARCHAR)")
    conn.executemany("INSERT INTO w VALUES (?, ?)", list(countries.items()))
    conn.executemany("INSERT INTO t VALUES (?, 0, ?)", list(zones.items()))
    conn.execute(f"CREATE OR REPLACE VIEW {zu.STAGING_WORLD} AS SELECT country_iso, ST_GeomFromText(wkt) AS geom FROM w")
    conn.execute(f"CREATE OR REPLACE VIEW {zu.STAGING_TZ} AS SELECT tzid, polygon_id, ST_GeomFromText(wkt) AS geom FROM t")
    zu.run_models(conn, RULE)
    return zu._candidates(conn)


def _box(x0, y0, x1, y1) -> str:
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def _universe(conn) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for country, tzid in conn.execute("SELECT country_iso, tzid FROM zone_universe").fetchall():
        members.setdefault(country, set()).add(tzid)
    return members


@pytest.fixture()
def conn():
    from seg3a.core.duck import connect

    connection = connect(threads=2)
    yield connection
    connection.close()


def test_two_zones_kept_border_sliver_of_third_dropped(conn):
    # AA is split by Zone/West and Zone/East; Zone/Next belongs to BB and reaches
    # 0.01° (~250 km², 0.25 % of AA) over the border.
    cand = _world(
        conn,
        {"AA": _box(0, 0, 4, 2), "BB": _box(4, 0, 8, 2)},
        {"Zone/West": _box(-1, -1, 2, 3), "Zone/East": _box(2, -1, 3.99, 3), "Zone/Next": _box(3.99, -1, 9, 3)},
    )
    assert _universe(conn) == {"AA": {"Zone/West", "Zone/East"}, "BB": {"Zone/Next"}}
    sliver = cand[("AA", "Zone/Next")]
    assert sliver["overlap_km2"] > 100 and not sliver["kept"]
    assert sliver["share_of_zone_land"] < 0.01
    counts = dict(conn.execute("SELECT country_iso, zone_count_country FROM zone_count_country").fetchall())
    assert counts == {"AA": 2, "BB": 1}


def test_island_zone_mostly_sea_is_kept_on_its_land_share(conn):
    # Like Atlantic/Canary: MM's mainland is in Zone/Main, its island lies in a
    # "with oceans" polygon that is 99.7 % sea; only the share on land keeps it.
    cand = _world(
        conn,
        {"MM": f"MULTIPOLYGON((({_geo(_box(0, 0, 10, 8))})), (({_geo(_box(15, 0, 15.1, 0.1))})))",
         "NN": _box(10, 0, 14, 8)},
        {"Zone/Main": _box(-1, -1, 10, 9), "Zone/Other": _box(10, -1, 14, 9), "Zone/Island": _box(14, -1, 16, 1)},
    )
    island = cand[("MM", "Zone/Island")]
    assert island["keep_reason"] == "holds_zone_land"
    assert island["share_of_zone_land"] == pytest.approx(1.0)
    assert island["share_of_country"] < 0.002
    assert _universe(conn)["MM"] == {"Zone/Main", "Zone/Island"}


def _geo(polygon_wkt: str) -> str:
    """The ring text of a POLYGON((...)) literal, for building MULTIPOLYGONs."""
    return polygon_wkt[len("POLYGON(("):-2]


def test_micro_state_keeps_own_zone_not_surrounding_one(conn):
    # VV (~5 km²) inside CC; Zone/Micro is drawn 0.005° off VV, so the surrounding
    # zone covers 44 % of VV. That is nothing of Zone/Big's land, so it is dropped.
    big = f"POLYGON(({_geo(_box(9, 9, 11, 11))}), ({_geo(_box(10, 10, 10.02, 10.02))}))"
    cand = _world(
        conn,
        {"CC": big, "VV": _box(10, 10, 10.02, 10.02)},
        {"Zone/Big": _box(8, 8, 12, 12), "Zone/Micro": _box(10.005, 10.005, 10.025, 10.025)},
    )
    assert cand[("VV", "Zone/Big")]["share_of_country"] > 0.4
    assert _universe(conn) == {"CC": {"Zone/Big"}, "VV": {"Zone/Micro"}}


def test_fallback_keeps_largest_civil_zone_and_ocean_zone_only_when_alone(conn):
    # TT is too small (0.1 km²) for the rule: it keeps its largest civil overlap.
    # EE touches only an ocean zone, which it keeps; FF prefers the civil zone to
    # a larger ocean overlap.
    _world(
        conn,
        {"CC": _box(0, 0, 2, 2), "TT": _box(3, 3, 3.003, 3.003), "EE": _box(20, 20, 20.1, 20.1),
         "FF": _box(30, 30, 30.5, 30.5)},
        {"Zone/Land": _box(-1, -1, 4, 4), "Etc/GMT-1": _box(19, 19, 21, 21),
         "Etc/GMT-2": _box(29, 29, 30.4, 31), "Zone/Cape": _box(30.4, 29, 31, 31)},
    )
    universe = _universe(conn)
    assert universe["TT"] == {"Zone/Land"}
    assert universe["EE"] == {"Etc/GMT-1"}
    assert universe["FF"] == {"Zone/Cape"}
    reasons = dict(conn.execute("SELECT country_iso, keep_reason FROM zone_universe WHERE country_iso IN ('TT', 'EE')").fetchall())
    assert reasons == {"TT": "fallback_largest_overlap", "EE": "fallback_largest_overlap"}


def test_antimeridian_crossing_ring_is_split(conn):
    # KK is drawn as one ring from 170°E to 170°W across the antimeridian; read
    # as planar lon/lat it would be the 340° band in between, over Zone/Middle.
    # (Zone/Middle stays under 180° wide: the split reads any wider part as
    # crossing the antimeridian.)
    cand = _world(
        conn,
        {"KK": "POLYGON((170 -10, -170 -10, -170 10, 170 10, 170 -10))"},
        {"Zone/West": _box(160, -20, 180, 20), "Zone/East": _box(-180, -20, -160, 20),
         "Zone/Middle": _box(-100, -20, 60, 20)},
    )
    assert ("KK", "Zone/Middle") not in cand
    west, east = cand[("KK", "Zone/West")], cand[("KK", "Zone/East")]
    assert west["overlap_km2"] == pytest.approx(east["overlap_km2"], rel=1e-6)
    assert west["share_of_country"] == pytest.approx(0.5, rel=1e-6)
    # 10° × 20° at the equator on the EPSG:6933 authalic sphere: ~2.46 million km².
    assert west["overlap_km2"] == pytest.approx(2.46e6, rel=0.01)
    assert _universe(conn) == {"KK": {"Zone/West", "Zone/East"}}


def test_antimeridian_crossing_zone_reaches_both_sides(conn):
    _world(
        conn,
        {"WW": _box(176, -1, 179, 1), "XX": _box(-179, -1, -176, 1)},
        {"Zone/Dateline": "POLYGON((175 -5, -175 -5, -175 5, 175 5, 175 -5))",
         "Zone/Rest": f"MULTIPOLYGON((({_geo(_box(-175, -5, 0, 5))})), (({_geo(_box(0.1, -5, 175, 5))})))"},
    )
    assert _universe(conn) == {"WW": {"Zone/Dateline"}, "XX": {"Zone/Dateline"}}


def test_polar_cap_is_not_folded(conn):
    # A cap cut at the antimeridian (as Antarctica is drawn) spans 360° and must
    # be measured as drawn: shifting its western half by 360° would fold it.
    cand = _world(
        conn,
        {"PP": _box(-180, -90, 180, -80)},
        {"Zone/South": _box(-180, -90, 0, -70), "Zone/North": _box(0, -90, 180, -70)},
    )
    assert cand[("PP", "Zone/South")]["share_of_country"] == pytest.approx(0.5, rel=1e-6)
    assert cand[("PP", "Zone/North")]["share_of_country"] == pytest.approx(0.5, rel=1e-6)


def test_uninhabited_land_does_not_outvote_inhabited_land(conn):
    # Like America/Argentina/Ushuaia: most of Zone/Far's land is Antarctic.
    cand = _world(
        conn,
        {"AR": _box(0, -50, 1, -49), "AQ": _box(0, -80, 10, -70)},
        {"Zone/Far": _box(-1, -81, 11, -48)},
    )
    assert cand[("AR", "Zone/Far")]["share_of_zone_land"] == pytest.approx(1.0)
    assert _universe(conn)["AR"] == {"Zone/Far"}


def test_render_refuses_unknown_template_constructs(tmp_path):
    (tmp_path / "m.sql").write_text("select {{ source('a', 'b') }}")
    with pytest.raises(ValueError, match="not supported"):
        zu.render_model("m", {zu.RULE_VAR: RULE}, tmp_path)
    rendered = zu.render_model("zone_universe_candidates", {zu.RULE_VAR: RULE})
    assert zu.STAGING_WORLD in rendered and "{{" not in rendered


def test_seed_matches_installed_tzdata():
    with open(zu.SEED_DIR / f"{zu.SEED_NAME}.csv", encoding="utf-8", newline="") as handle:
        seed = list(csv.DictReader(handle))
    assert seed == zu.ground_truth_rows()
    release = zu.tzdata_release()
    assert release["iana_version"] in (zu.SEED_DIR / f"{zu.SEED_NAME}.yml").read_text(encoding="utf-8")


def test_links_resolve_to_canonical_zones():
    links = zu.read_links()
    assert zu.canonical("Europe/Busingen", links) == "Europe/Zurich"
    assert zu.canonical("Europe/Berlin", links) == "Europe/Berlin"


# ------------------------------------------------------------------ real data
# The default suite scores the Z(c) every build uses: the tables `dbt build` makes (the
# spatial overlay from the store, build/zone-universe-cache/), which the session builds
# once anyway (tests/e2e/conftest.py: build_zone_universe). Computing the overlay again
# here from the polygons would cost about 30 CPU seconds; `-m slow` does, and checks that
# the models run outside dbt give the same Z(c).


def _reference_files(tmp_path_factory) -> tuple[Path, Path]:
    """The project's reference files, else a fresh build of them in a temp root."""
    world = zu.PROJECT_ROOT / zu.WORLD_COUNTRIES_PATH
    tz = zu.PROJECT_ROOT / zu.TZ_WORLD_PATH
    if world.is_file() and tz.is_file():
        return world, tz
    try:
        from seg3a.reference.build import build_all
    except ImportError as exc:
        pytest.skip(f"reference data not built and seg3a.reference.build unavailable: {exc}")
    root = tmp_path_factory.mktemp("reference_root")
    build_all(root, progress=lambda _line: None)
    return root / zu.WORLD_COUNTRIES_PATH, root / zu.TZ_WORLD_PATH


def _evaluate_dbt_built(zone_db: Path) -> dict:
    """Score the Z(c) tables of a dbt-built database against zone.tab (the staging views
    bound to the same reference files the build read)."""
    from seg3a.core.duck import connect
    from seg3a.core.paths import default_external_root

    external = default_external_root()
    conn = connect(threads=2)
    try:
        zu.bind_inputs(conn, external / zu.WORLD_COUNTRIES_PATH, external / zu.TZ_WORLD_PATH)
        conn.execute(f"ATTACH '{zone_db.as_posix()}' AS built (READ_ONLY)")
        for name in zu.MODELS:
            conn.execute(f"CREATE TABLE {name} AS SELECT * FROM built.main.{name}")
        return zu.evaluate(conn, RULE)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def real_result(tmp_path_factory):
    from tests.e2e.conftest import build_zone_universe

    return _evaluate_dbt_built(build_zone_universe(tmp_path_factory.mktemp("zone_universe_dbt")))


@pytest.fixture(scope="module")
def recomputed_result(tmp_path_factory):
    """Z(c) computed here from the polygons by the models' SQL (`seg3a zones evaluate`)."""
    world, tz = _reference_files(tmp_path_factory)
    return zu.evaluate_files(world, tz, RULE, threads=2)


def test_real_data_agrees_with_zone_tab(real_result):
    named = real_result["as_named"]
    assert named["precision"] >= 0.95, zu.format_report(real_result)
    assert named["recall"] >= 0.95, zu.format_report(real_result)
    assert real_result["canonical"]["precision"] >= 0.95
    assert real_result["canonical"]["recall"] >= 0.95
    # Every disagreement is explained, and the names of both sides line up.
    assert not [d for d in real_result["disagreements"] if d["category"] == "other"]
    assert real_result["name_checks"] == {"tz_world_civil_tzids_not_in_zone_tab": [], "zone_tab_tzids_without_polygon": []}


def test_real_data_gives_every_country_a_zone(real_result):
    assert real_result["scope"]["countries_in_world"] == sum(real_result["zone_count_buckets"].values())


@pytest.mark.slow
def test_models_outside_dbt_give_the_dbt_built_z_and_its_scores(real_result, recomputed_result):
    """The overlay computed from the polygons here gives the Z(c) and the scores of the
    one every build reads from the store, so the default suite's scores hold for both."""
    def verdicts(result: dict) -> dict:
        kept = {k: v for k, v in result.items() if k not in ("timing", "disagreements")}
        kept["disagreements"] = [(d["kind"], d["country_iso"], d["tzid"], d["category"]) for d in result["disagreements"]]
        return kept

    assert verdicts(recomputed_result) == verdicts(real_result)
