"""`world_countries` (spec 05 §7) from Natural Earth 1:10m admin-0 countries.

Steps: read the shapefile from the shipped zip with DuckDB spatial; derive ISO2 by the
spec's rules (ISO_A2, then ISO_A3, then ADM0_A3, each mapped through iso3166); repair
invalid shapes; split overseas territories that Natural Earth folds into another
feature; build the two legacy codes from their historical constituents; dissolve per
ISO2; check that every iso3166 code appears exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import shapely

from seg3a.reference.duck import connect_quiet
from seg3a.reference import geometry, sources
from seg3a.reference.dataset import BuiltDataset, Progress, column_records, quiet
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.io import geoparquet_metadata
from seg3a.reference.iso3166 import iso3166_table
from seg3a.reference.paths import WORLD_COUNTRIES

DATASET_VERSION = "2024"
LICENCE = "Public-Domain"
ROW_GROUP_SIZE = 64

SCHEMA = pa.schema(
    [
        pa.field("country_iso", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("geom", pa.binary(), nullable=False),
    ]
)

Box = tuple[float, float, float, float]  # (min_lon, min_lat, max_lon, max_lat)


@dataclass(frozen=True)
class TerritorySplit:
    """Parts of a Natural Earth feature that belong to another ISO code.

    A part (one polygon of the feature) moves to `country_iso` when its bounding box
    lies entirely inside one of `boxes`. Whole parts move, so no vertex is created or
    moved. The boxes are generous envelopes of the territory, far from any other part.
    """

    source_adm0_a3: str
    country_iso: str
    territory: str
    boxes: tuple[Box, ...]


TERRITORY_SPLITS: tuple[TerritorySplit, ...] = (
    TerritorySplit("FRA", "GF", "French Guiana", ((-55.0, 1.5, -51.0, 6.5),)),
    TerritorySplit("FRA", "GP", "Guadeloupe (incl. Marie-Galante, Les Saintes, La Desirade)", ((-62.0, 15.7, -60.9, 16.6),)),
    TerritorySplit("FRA", "MQ", "Martinique", ((-61.5, 14.2, -60.7, 15.0),)),
    TerritorySplit("FRA", "RE", "Reunion", ((55.0, -21.6, 56.0, -20.6),)),
    TerritorySplit("FRA", "YT", "Mayotte", ((44.9, -13.2, 45.4, -12.5),)),
    TerritorySplit("NOR", "SJ", "Svalbard and Jan Mayen", ((10.0, 74.0, 35.0, 81.0), (-9.5, 70.5, -7.5, 71.5))),
    TerritorySplit("NOR", "BV", "Bouvet Island", ((3.0, -54.8, 3.8, -54.2),)),
    TerritorySplit("NLD", "BQ", "Bonaire, Sint Eustatius and Saba", ((-68.6, 11.9, -68.0, 12.5), (-63.4, 17.3, -62.8, 17.8))),
    TerritorySplit("NZL", "TK", "Tokelau", ((-172.8, -9.6, -171.0, -8.3),)),
    TerritorySplit("IOA", "CC", "Cocos (Keeling) Islands", ((96.7, -12.4, 97.1, -11.8),)),
    TerritorySplit("IOA", "CX", "Christmas Island", ((105.4, -10.7, 105.9, -10.3),)),
)


@dataclass(frozen=True)
class Composite:
    """A withdrawn code drawn as the union of its historical constituents."""

    country_iso: str
    member_codes: tuple[str, ...]  # rows of this dataset (after splits)
    member_features: tuple[str, ...]  # Natural Earth features by ADM0_A3
    extent: str


COMPOSITES: tuple[Composite, ...] = (
    Composite("AN", ("BQ", "CW", "SX"), (), "Netherlands Antilles as of 1986-2010"),
    Composite("CS", ("ME", "RS"), ("KOS",), "Serbia and Montenegro as of 2003-2006, Kosovo included"),
)

_READ_SQL = """
SELECT f.ADM0_A3 AS adm0_a3, f.NAME AS source_name, f.ISO_A2 AS iso_a2,
       f.ISO_A2_EH AS iso_a2_eh, f.ISO_A3 AS iso_a3,
       coalesce(r1.country_iso, r2.country_iso, r3.country_iso) AS country_iso,
       CASE WHEN r1.country_iso IS NOT NULL THEN 'ISO_A2'
            WHEN r2.country_iso IS NOT NULL THEN 'ISO_A3'
            WHEN r3.country_iso IS NOT NULL THEN 'ADM0_A3' END AS rule,
       ST_AsWKB(f.geom) AS wkb
FROM ST_Read('{shapefile}') AS f
LEFT JOIN iso AS r1 ON regexp_full_match(f.ISO_A2, '[A-Z]{{2}}') AND r1.country_iso = f.ISO_A2
LEFT JOIN iso AS r2 ON r2.alpha3 = f.ISO_A3
LEFT JOIN iso AS r3 ON r3.alpha3 = f.ADM0_A3
ORDER BY f.ADM0_A3
"""


@dataclass
class Features:
    """Natural Earth features, one entry per row, in ADM0_A3 order."""

    adm0_a3: list[str]
    source_name: list[str]
    iso_a2: list[str]
    iso_a2_eh: list[str]
    iso_a3: list[str]
    country_iso: list[str | None]
    rule: list[str | None]
    geoms: np.ndarray

    def index(self, adm0_a3: str) -> int:
        try:
            return self.adm0_a3.index(adm0_a3)
        except ValueError:
            raise ReferenceDataError(f"world_countries: Natural Earth has no feature {adm0_a3}") from None


def read_features(iso: pa.Table, shapefile: str) -> Features:
    """Read the shapefile and derive ISO2 per feature in one SQL statement."""
    con = connect_quiet()
    try:
        con.register("iso", iso.select(["country_iso", "alpha3"]))
        table = con.execute(_READ_SQL.format(shapefile=shapefile.replace("'", "''"))).to_arrow_table()
    finally:
        con.close()
    cols = table.to_pydict()
    if len(set(cols["adm0_a3"])) != table.num_rows:
        raise ReferenceDataError("world_countries: ADM0_A3 is not unique in the source")
    return Features(
        adm0_a3=cols["adm0_a3"],
        source_name=cols["source_name"],
        iso_a2=cols["iso_a2"],
        iso_a2_eh=cols["iso_a2_eh"],
        iso_a3=cols["iso_a3"],
        country_iso=cols["country_iso"],
        rule=cols["rule"],
        geoms=shapely.from_wkb(cols["wkb"]),
    )


def _split_feature(geom, splits: list[TerritorySplit], adm0_a3: str) -> tuple[dict[str, list], list]:
    """Assign the parts of one feature to the split codes; return (per code, remainder)."""
    parts = shapely.get_parts(geom)
    bounds = shapely.bounds(parts)
    owner = np.full(len(parts), -1)
    for k, split in enumerate(splits):
        inside = np.zeros(len(parts), dtype=bool)
        for x0, y0, x1, y1 in split.boxes:
            inside |= (bounds[:, 0] >= x0) & (bounds[:, 1] >= y0) & (bounds[:, 2] <= x1) & (bounds[:, 3] <= y1)
        if not inside.any():
            raise ReferenceDataError(f"world_countries: no part of {adm0_a3} lies in the {split.country_iso} boxes")
        if (owner[inside] >= 0).any():
            raise ReferenceDataError(f"world_countries: a part of {adm0_a3} lies in two split boxes")
        owner[inside] = k
    assigned = {split.country_iso: list(parts[owner == k]) for k, split in enumerate(splits)}
    return assigned, list(parts[owner < 0])


@dataclass
class Piece:
    country_iso: str
    geom: object
    origin: str  # provenance label, e.g. "NE:FRA" or "NE:FRA->GF"


def _pieces(features: Features) -> tuple[list[Piece], dict[str, list[str]]]:
    """Mapped features and split territories as pieces; usage of each feature by code."""
    by_source: dict[str, list[TerritorySplit]] = {}
    for split in TERRITORY_SPLITS:
        by_source.setdefault(split.source_adm0_a3, []).append(split)
    pieces: list[Piece] = []
    used: dict[str, list[str]] = {}
    for i, adm0 in enumerate(features.adm0_a3):
        code, geom = features.country_iso[i], features.geoms[i]
        if adm0 in by_source:
            assigned, remainder = _split_feature(geom, by_source[adm0], adm0)
            for child, parts in assigned.items():
                pieces.append(Piece(child, geometry.collect(parts), f"NE:{adm0}->{child}"))
                used.setdefault(adm0, []).append(child)
            if remainder and code is None:
                raise ReferenceDataError(f"world_countries: unmapped {adm0} has parts outside its split boxes")
            if remainder:
                pieces.append(Piece(code, geometry.collect(remainder), f"NE:{adm0}"))
                used.setdefault(adm0, []).append(code)
        elif code is not None:
            pieces.append(Piece(code, geom, f"NE:{adm0}"))
            used.setdefault(adm0, []).append(code)
    return pieces, used


def _add_composites(pieces: list[Piece], features: Features, used: dict[str, list[str]]) -> None:
    for comp in COMPOSITES:
        members = [p.geom for p in pieces if p.country_iso in comp.member_codes]
        found = {p.country_iso for p in pieces if p.country_iso in comp.member_codes}
        if found != set(comp.member_codes):
            raise ReferenceDataError(f"world_countries: {comp.country_iso} lacks members {sorted(set(comp.member_codes) - found)}")
        for adm0 in comp.member_features:
            members.append(features.geoms[features.index(adm0)])
            used.setdefault(adm0, []).append(comp.country_iso)
        members_label = "+".join(list(comp.member_codes) + [f"NE:{a}" for a in comp.member_features])
        pieces.append(Piece(comp.country_iso, shapely.union_all(members), f"union({members_label})"))


def _dissolve(pieces: list[Piece]) -> tuple[list[str], np.ndarray, dict[str, list[str]]]:
    """One geometry per ISO2; codes with several pieces are unioned (order-independent)."""
    groups: dict[str, list[Piece]] = {}
    for piece in sorted(pieces, key=lambda p: (p.country_iso, p.origin)):
        groups.setdefault(piece.country_iso, []).append(piece)
    codes = sorted(groups)
    geoms = np.array(
        [g[0].geom if len(g) == 1 else shapely.union_all([p.geom for p in g]) for g in (groups[c] for c in codes)],
        dtype=object,
    )
    origins = {c: [p.origin for p in groups[c]] for c in codes}
    return codes, geoms, origins


def _feature_records(features: Features, used: dict[str, list[str]], repaired: dict[str, str]) -> list[dict]:
    return [
        {
            "adm0_a3": adm0,
            "name": features.source_name[i],
            "iso_a2": features.iso_a2[i],
            "iso_a2_eh": features.iso_a2_eh[i],
            "iso_a3": features.iso_a3[i],
            "rule": features.rule[i],
            "country_iso": features.country_iso[i],
            "used_for": sorted(set(used.get(adm0, []))),
            "repaired": repaired.get(adm0),
        }
        for i, adm0 in enumerate(features.adm0_a3)
    ]


def build(progress: Progress = quiet) -> BuiltDataset:
    source = sources.natural_earth_zip()
    iso, _ = iso3166_table()
    release = sources.natural_earth_release(source.path)
    progress(f"reference: {WORLD_COUNTRIES}: reading Natural Earth {release} from {source.package} {source.package_version}")
    features = read_features(iso, sources.natural_earth_shapefile(source.path))

    features.geoms, invalid, reasons = geometry.repair(features.geoms)
    repaired = {features.adm0_a3[i]: reasons[k] for k, i in enumerate(np.flatnonzero(invalid))}
    pieces, used = _pieces(features)
    _add_composites(pieces, features, used)
    codes, geoms, origins = _dissolve(pieces)
    geoms = geometry.canonical(geoms)

    iso_codes = iso.column("country_iso").to_pylist()
    if codes != iso_codes:
        missing, extra = sorted(set(iso_codes) - set(codes)), sorted(set(codes) - set(iso_codes))
        raise ReferenceDataError(f"world_countries: coverage check failed; missing {missing}, not in iso3166 {extra}")
    geometry.check_publishable(geoms, codes, WORLD_COUNTRIES)

    names = dict(zip(iso_codes, iso.column("name").to_pylist()))
    table = pa.Table.from_arrays(
        [pa.array(codes, pa.string()), pa.array([names[c] for c in codes], pa.string()),
         pa.array(geometry.to_wkb(geoms), pa.binary())],
        schema=SCHEMA,
    )
    records = _feature_records(features, used, repaired)
    dropped = [
        {"adm0_a3": r["adm0_a3"], "name": r["name"], "iso_a2_eh": r["iso_a2_eh"],
         "reason": "no ISO_A2/ISO_A3/ADM0_A3 value maps to an iso3166 code"}
        for r in records if not r["used_for"]
    ]
    progress(f"reference: {WORLD_COUNTRIES}: {len(codes)} countries, {len(dropped)} features dropped")
    manifest = _manifest(source, release, len(codes), records, dropped, origins, repaired)
    meta = geoparquet_metadata("geom", geometry.geometry_type_names(geoms), list(shapely.total_bounds(geoms)), geometry.ORIENTATION)
    return BuiltDataset(
        dataset_id=WORLD_COUNTRIES,
        table=table,
        row_group_size=ROW_GROUP_SIZE,
        dictionary_columns=[],
        statistics_columns=["country_iso"],
        manifest=manifest,
        file_metadata={b"geo": meta},
    )


def _manifest(source, release, rows, records, dropped, origins, repaired) -> dict:
    iso_source = sources.geonames_countries()
    return {
        "dataset_id": WORLD_COUNTRIES,
        "dataset_version": DATASET_VERSION,
        "format": "geoparquet",
        "licence": LICENCE,
        "source_package": source.package,
        "source_package_version": source.package_version,
        "upstream": "Natural Earth Admin 0 - Countries, 1:10m",
        "upstream_release": release,
        "upstream_release_origin": f"{source.relpath} member {sources.NE_STEM}.VERSION.txt",
        "source_files": [source.record(), iso_source.record()],
        "parameters": {
            "iso2_rules": ["ISO_A2 if ^[A-Z]{2}$ and in iso3166", "ISO_A3 via iso3166.alpha3", "ADM0_A3 via iso3166.alpha3"],
            "make_valid": {"method": geometry.MAKE_VALID_METHOD, "keep_collapsed": False, "library": "GEOS via shapely"},
            "territory_splits": [
                {"source_adm0_a3": s.source_adm0_a3, "country_iso": s.country_iso, "territory": s.territory,
                 "boxes": [list(b) for b in s.boxes], "rule": "whole parts whose bbox lies inside a box"}
                for s in TERRITORY_SPLITS
            ],
            "composites": [
                {"country_iso": c.country_iso, "member_codes": list(c.member_codes),
                 "member_features": list(c.member_features), "extent": c.extent}
                for c in COMPOSITES
            ],
            "dissolve": "shapely.union_all per country_iso when it has more than one piece",
            "orientation": geometry.ORIENTATION,
            "wkb": geometry.WKB_OPTIONS,
            "row_group_size": ROW_GROUP_SIZE,
        },
        "decisions": [
            "ISO_A2_EH is not a derivation rule (spec 05 section 7 names ISO_A2, ISO_A3, ADM0_A3); "
            "France and Norway map through ADM0_A3 (FRA, NOR) and Taiwan through ISO_A3 (NE writes ISO_A2 'CN-TW')",
            "France's feature is split into FR plus GF, GP, MQ, RE, YT by moving whole polygons whose bbox "
            "lies in the territory's box; Norway's into NO plus SJ (Svalbard, Bjornoya, Hopen, Jan Mayen) and BV",
            "the Netherlands' feature is split into NL plus BQ; New Zealand's into NZ plus TK; the unmapped "
            "feature IOA (Australian Indian Ocean Territories) into CC and CX",
            "no stand-in geometries: every iso3166 code gets real Natural Earth polygons",
            "legacy AN is the union of BQ, CW and SX; legacy CS is the union of RS, ME and the Kosovo feature; "
            "both overlap their successor rows by design",
            "invalid source shapes are repaired with GEOS make_valid (structure method); see repaired",
            "name is the iso3166 name (every row is an iso3166 code)",
            "rings oriented exterior counter-clockwise, holes clockwise; ISO WKB little-endian",
        ],
        "repaired": repaired,
        "row_count": rows,
        "row_origins": origins,
        "source_features": records,
        "dropped_features": dropped,
        "columns": column_records(SCHEMA),
    }
