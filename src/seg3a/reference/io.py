"""Byte-stable writing: canonical JSON, SHA-256, atomic files, deterministic (Geo)Parquet.

Everything here exists so that the same inputs and the same package versions give the
same bytes: fixed Parquet writer options, GeoParquet metadata serialised as canonical
JSON, no clock anywhere, and temp-file-then-rename so a reader never sees half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from seg3a.reference.errors import ReferenceDataError

_HASH_CHUNK = 1 << 20

# Fixed writer options. Changing any of them changes every digest, so they are
# recorded in each manifest.
PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "data_page_version": "1.0",
    "compression": "zstd",
    "compression_level": 3,
    "write_page_index": False,
    "write_page_checksum": False,
    "store_schema": True,
}

GEOPARQUET_VERSION = "1.1.0"

# OGC:CRS84 (WGS 84, longitude/latitude axis order) as PROJJSON. GeoParquet's default
# CRS is this one; it is still written out so no reader has to rely on the default.
CRS84_PROJJSON: dict[str, Any] = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum": {
        "type": "GeodeticReferenceFrame",
        "name": "World Geodetic System 1984",
        "ellipsoid": {
            "name": "WGS 84",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257223563,
        },
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {"name": "Geodetic longitude", "abbreviation": "Lon", "direction": "east", "unit": "degree"},
            {"name": "Geodetic latitude", "abbreviation": "Lat", "direction": "north", "unit": "degree"},
        ],
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}


def canonical_json(value: Any) -> str:
    """Keys sorted at every level, `,`/`:` separators, ASCII-escaped, no trailing newline."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(temp: Path, target: Path) -> None:
    """Flush `temp` and rename it over `target` in one atomic step."""
    _fsync_path(temp)
    os.replace(temp, target)
    _fsync_path(target.parent)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(target)
    try:
        temp.write_bytes(data)
        _publish(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def geoparquet_metadata(
    column: str, geometry_types: list[str], bbox: list[float], orientation: str | None
) -> bytes:
    """The GeoParquet `geo` key for one WKB column in OGC:CRS84, as canonical JSON."""
    column_meta: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(geometry_types),
        "crs": CRS84_PROJJSON,
        "edges": "planar",
        "bbox": [float(v) for v in bbox],
    }
    if orientation is not None:
        column_meta["orientation"] = orientation
    meta = {"version": GEOPARQUET_VERSION, "primary_column": column, "columns": {column: column_meta}}
    return canonical_json(meta).encode("ascii")


def write_parquet_atomic(
    table: pa.Table,
    target: Path,
    *,
    row_group_size: int,
    dictionary_columns: list[str],
    statistics_columns: list[str],
    file_metadata: Mapping[bytes, bytes] | None = None,
) -> None:
    """Write `table` with the fixed options above, then rename into place.

    Dictionary encoding and statistics are limited to the named columns: statistics on
    a WKB column would put arbitrary geometry bytes into the footer for no reader's
    benefit.
    """
    if file_metadata:
        table = table.replace_schema_metadata(dict(file_metadata))
    else:
        table = table.replace_schema_metadata(None)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(target)
    try:
        pq.write_table(
            table,
            temp,
            row_group_size=row_group_size,
            use_dictionary=dictionary_columns or False,
            write_statistics=statistics_columns or False,
            **PARQUET_OPTIONS,
        )
        _publish(temp, target)
    except OSError as exc:
        raise ReferenceDataError(f"cannot write {target}: {exc}") from exc
    finally:
        temp.unlink(missing_ok=True)
