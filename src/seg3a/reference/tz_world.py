"""`tz_world_2025a` (spec 05 §8) from the boundary data packaged for timezonefinder.

Fast path: instead of `TimezoneFinder.get_geometry` (which turns ~8 M vertices into
Python tuples, ~35 s), the rings are decoded as integer arrays with the finder's own
decoder, scaled once with NumPy and turned into polygons by shapely's vectorised
constructors. The polygon-to-zone and polygon-to-hole relations are read from the
package's `zone_positions.npy` and `hole_registry.json`. Part ordering runs in DuckDB
(`ST_Area_Spheroid` is GeographicLib's geodesic area on WGS 84).
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import shapely

from seg3a.reference.duck import connect_quiet
from seg3a.reference import geometry, sources
from seg3a.reference.dataset import BuiltDataset, Progress, column_records, quiet
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.io import geoparquet_metadata
from seg3a.reference.paths import TZ_WORLD

LICENCE = "ODbL-1.0"
ROW_GROUP_SIZE = 128

# Layer-wide IANA pattern, the Etc pattern, and the ingress tzid column rule (05 §0, §8).
IANA_TZID = re.compile(r"[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)*")
ETC_TZID = re.compile(r"Etc/[A-Za-z0-9_+-]+")
INGRESS_TZID = re.compile(r"[A-Za-z0-9_+\-./]{3,64}")

SCHEMA = pa.schema(
    [
        pa.field("tzid", pa.string(), nullable=False),
        pa.field("polygon_id", pa.int32(), nullable=False),
        pa.field("geom", pa.binary(), nullable=False),
    ]
)

# Within a tzid: geodesic area desc, bbox asc, centroid asc, SHA-256 of the WKB asc.
# Only the keys travel through the sort, not the 130 MB of WKB. The geodesic area is
# the costly key and decides nothing for a zone with one part, so it is evaluated only
# for zones with several parts (DuckDB evaluates CASE branches lazily).
_ORDER_SQL = """
WITH g AS (
    SELECT tzid, idx, wkb, ST_GeomFromWKB(wkb) AS shape,
           count(*) OVER (PARTITION BY tzid) AS n_parts
    FROM parts
), k AS (
    SELECT tzid, idx,
           CASE WHEN n_parts > 1 THEN ST_Area_Spheroid(ST_FlipCoordinates(shape)) END AS area_m2,
           ST_XMin(shape) AS xmin, ST_YMin(shape) AS ymin,
           ST_XMax(shape) AS xmax, ST_YMax(shape) AS ymax,
           ST_X(ST_Centroid(shape)) AS cx, ST_Y(ST_Centroid(shape)) AS cy,
           sha256(wkb) AS wkb_sha256
    FROM g
)
SELECT idx,
       CAST(row_number() OVER (PARTITION BY tzid
            ORDER BY area_m2 DESC, xmin, ymin, xmax, ymax, cx, cy, wkb_sha256) - 1 AS INTEGER) AS polygon_id
FROM k
ORDER BY tzid, polygon_id
"""


def tzid_allowed(tzid: str) -> bool:
    return bool(INGRESS_TZID.fullmatch(tzid)) and bool(IANA_TZID.fullmatch(tzid) or ETC_TZID.fullmatch(tzid))


def _open_finder():
    # Imported here: only this builder needs the finder, and it loads ~40 MB of payload.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(bin_file_location=sources.tz_data_dir(), in_memory=True)


def _relations(finder) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """Per-zone boundary ranges and per-boundary hole ranges, read from the package files."""
    data_dir = sources.tz_data_dir()
    positions = np.load(data_dir / "zone_positions.npy").astype(np.int64)
    holes = {int(k): (int(v[0]), int(v[1])) for k, v in json.loads((data_dir / "hole_registry.json").read_text()).items()}
    if len(positions) != finder.nr_of_zones + 1 or positions[-1] != finder.nr_of_polygons:
        raise ReferenceDataError("tz_world: zone_positions.npy does not match the boundary collection")
    if sum(n for n, _ in holes.values()) != finder.nr_of_holes:
        raise ReferenceDataError("tz_world: hole_registry.json does not match the hole collection")
    return positions, holes


def _closed(ring: np.ndarray) -> np.ndarray:
    """The packaged rings omit the closing vertex that WKB requires."""
    if (ring[:, 0] == ring[:, -1]).all():
        return ring
    return np.concatenate([ring, ring[:, :1]], axis=1)


def _decode(finder, zone_ids: list[int], positions, holes) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Integer rings (closed), the polygon of each ring, and the zone of each polygon."""
    rings: list[np.ndarray] = []
    ring_polygon: list[int] = []
    polygon_zone: list[int] = []
    for zone in zone_ids:
        for boundary in range(positions[zone], positions[zone + 1]):
            polygon = len(polygon_zone)
            count, first = holes.get(boundary, (0, 0))
            shell_and_holes = [finder.coords_of(boundary)] + [finder.holes.coords_of(h) for h in range(first, first + count)]
            for ring in shell_and_holes:
                rings.append(_closed(ring))
                ring_polygon.append(polygon)
            polygon_zone.append(zone)
    return rings, np.asarray(ring_polygon), np.asarray(polygon_zone)


def _polygons(rings: list[np.ndarray], ring_polygon: np.ndarray, scale: int) -> np.ndarray:
    """Build all polygons at once from the concatenated ring vertices."""
    lengths = np.fromiter((r.shape[1] for r in rings), dtype=np.int64, count=len(rings))
    # Division (not multiplication by 1e-7) gives the double nearest the stored decimal.
    xy = np.concatenate(rings, axis=1).T / scale
    linear_rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(rings)), lengths))
    return shapely.polygons(linear_rings, indices=ring_polygon)


def _explode(geoms: np.ndarray, zone_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Repair (if needed) and split into single polygons; returns parts, their zone, repairs."""
    geoms, invalid, _ = geometry.repair(geoms)
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == int(shapely.GeometryType.POLYGON)
    return parts[polygonal], zone_of[index[polygonal]], int(invalid.sum())


def _ordered_table(tzids: list[str], wkbs: list[bytes]) -> pa.Table:
    """The output table: parts numbered within their tzid and sorted by (tzid, polygon_id)."""
    parts = pa.table(
        {"tzid": pa.array(tzids, pa.string()), "idx": pa.array(range(len(tzids)), pa.int64()),
         "wkb": pa.array(wkbs, pa.binary())}
    )
    con = connect_quiet()
    try:
        con.register("parts", parts)
        order = con.execute(_ORDER_SQL).to_arrow_table()
    finally:
        con.close()
    taken = parts.take(order.column("idx"))
    return pa.Table.from_arrays(
        [taken.column("tzid").combine_chunks(), order.column("polygon_id").combine_chunks(),
         taken.column("wkb").combine_chunks()],
        schema=SCHEMA,
    )


def _select_zones(names: list[str], zones: Sequence[str] | None) -> tuple[list[int], list[str]]:
    """Zone ids to keep (all allowed ones, or the requested subset) and the dropped names."""
    dropped = [n for n in names if not tzid_allowed(n)]
    if zones is None:
        return [i for i, n in enumerate(names) if tzid_allowed(n)], dropped
    unknown = sorted(set(zones) - set(names))
    if unknown:
        raise ReferenceDataError(f"tz_world: unknown zones requested: {unknown}")
    wanted = set(zones)
    return [i for i, n in enumerate(names) if n in wanted and tzid_allowed(n)], dropped


def build(progress: Progress = quiet, zones: Sequence[str] | None = None) -> BuiltDataset:
    """Build the dataset; `zones` restricts it to a subset (tests use this)."""
    from timezonefinder.configs import COORD2INT_FACTOR

    release = sources.tz_boundary_release()
    progress(f"reference: {TZ_WORLD}: decoding timezone-boundary-builder {release} rings")
    with _open_finder() as finder:
        if finder.data_version != release:
            raise ReferenceDataError(f"tz_world: finder reports release {finder.data_version}, data stamp {release}")
        names = list(finder.timezone_names)
        positions, holes = _relations(finder)
        zone_ids, dropped = _select_zones(names, zones)
        rings, ring_polygon, polygon_zone = _decode(finder, zone_ids, positions, holes)
    vertices = int(sum(r.shape[1] for r in rings))
    progress(f"reference: {TZ_WORLD}: {len(zone_ids)} zones, {len(polygon_zone)} polygons, {vertices} vertices; building geometry")
    # Intermediates are dropped as soon as the next form exists: each holds the
    # full vertex set (~130 MB), and peak memory is the sum of the live ones.
    polygons = _polygons(rings, ring_polygon, COORD2INT_FACTOR)
    del rings
    parts, part_zone, repaired = _explode(polygons, polygon_zone)
    del polygons
    parts = geometry.canonical(parts)
    tzids = [names[z] for z in part_zone]
    geometry.check_publishable(parts, tzids, TZ_WORLD)
    meta = geoparquet_metadata("geom", geometry.geometry_type_names(parts), list(shapely.total_bounds(parts)), geometry.ORIENTATION)
    wkbs = geometry.to_wkb(parts)
    del parts

    progress(f"reference: {TZ_WORLD}: ordering {len(wkbs)} parts by geodesic area")
    table = _ordered_table(tzids, wkbs)
    del wkbs
    manifest = _manifest(release, zones, table, dropped, repaired, vertices)
    return BuiltDataset(
        dataset_id=TZ_WORLD,
        table=table,
        row_group_size=ROW_GROUP_SIZE,
        dictionary_columns=["tzid"],
        statistics_columns=["tzid", "polygon_id"],
        manifest=manifest,
        file_metadata={b"geo": meta},
    )


def _manifest(release, zones, table, dropped, repaired, vertices) -> dict:
    data_files = sources.tz_data_files()
    tzid_count = len(set(table.column("tzid").to_pylist()))
    return {
        "dataset_id": TZ_WORLD,
        "dataset_version": release,
        "format": "geoparquet",
        "licence": LICENCE,
        "source_package": sources.TZ_DATA_PACKAGE,
        "source_package_version": data_files[0].package_version,
        "reader_package": sources.TZ_READER_PACKAGE,
        "reader_package_version": sources.package_version(sources.TZ_READER_PACKAGE),
        "upstream": "timezone-boundary-builder, with oceans",
        "upstream_release": release,
        "upstream_release_origin": "timezonefinder_data/data/data_version.txt (also TimezoneFinder.data_version)",
        "source_files": [f.record() for f in data_files],
        "parameters": {
            "zone_selection": "all" if zones is None else sorted(zones),
            "tzid_patterns": [IANA_TZID.pattern, ETC_TZID.pattern],
            "tzid_column_rule": INGRESS_TZID.pattern,
            "coordinate_scale": "stored int32 / 10000000",
            "part_order": ["geodesic area desc (DuckDB ST_Area_Spheroid, WGS 84; zones with >1 part)", "bbox minx, miny, maxx, maxy asc",
                           "centroid x, y asc", "SHA-256 of the written WKB asc"],
            "make_valid": {"method": geometry.MAKE_VALID_METHOD, "keep_collapsed": False, "library": "GEOS via shapely"},
            "orientation": geometry.ORIENTATION,
            "wkb": geometry.WKB_OPTIONS,
            "row_group_size": ROW_GROUP_SIZE,
        },
        "decisions": [
            "rings decoded with timezonefinder's own decoder, relations read from zone_positions.npy and hole_registry.json",
            "every boundary polygon with its holes is one part; invalid parts would be repaired and re-exploded",
            "rings oriented exterior counter-clockwise, holes clockwise; ISO WKB little-endian",
            "longitudes stay within [-180, 180] as in the source (checked)",
            "the logical id stays tz_world_2025a; the data is release " + release,
        ],
        "row_count": table.num_rows,
        "counts": {"tzids": tzid_count, "ring_vertices_closed": vertices, "repaired_polygons": repaired},
        "dropped_features": [{"tzid": n, "reason": "does not match the tzid patterns"} for n in dropped],
        "columns": column_records(SCHEMA),
    }
