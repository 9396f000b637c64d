"""Geometry steps shared by the two spatial datasets, all vectorised with shapely.

Canonical form of every written geometry: polygonal, valid, exterior rings
counter-clockwise and holes clockwise, encoded as ISO WKB, little-endian, 2D.
"""
from __future__ import annotations

import numpy as np
import shapely

from seg3a.reference.errors import ReferenceDataError

MAKE_VALID_METHOD = "structure"
WKB_OPTIONS = {"flavor": "iso", "byte_order": 1, "output_dimension": 2, "include_srid": False}
ORIENTATION = "counterclockwise"

_POLYGONAL = {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}
_TYPE_NAMES = {shapely.GeometryType.POLYGON: "Polygon", shapely.GeometryType.MULTIPOLYGON: "MultiPolygon"}


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Make invalid geometries valid with GEOS' area-preserving `structure` method.

    Returns the repaired array, the mask of rows that needed it, and GEOS' reason for
    each of those rows (a deterministic string, recorded in the manifest).
    """
    invalid = ~shapely.is_valid(geoms)
    reasons = [str(r) for r in shapely.is_valid_reason(geoms[invalid])]
    out = geoms.copy()
    if invalid.any():
        out[invalid] = shapely.make_valid(geoms[invalid], method=MAKE_VALID_METHOD, keep_collapsed=False)
    return out, invalid, reasons


def canonical(geoms: np.ndarray) -> np.ndarray:
    """Orient rings (exterior CCW, holes CW) so equal shapes give equal WKB."""
    return shapely.orient_polygons(geoms, exterior_cw=False)


def to_wkb(geoms: np.ndarray) -> list[bytes]:
    return list(shapely.to_wkb(geoms, **WKB_OPTIONS))


def geometry_type_names(geoms: np.ndarray) -> list[str]:
    ids = np.unique(shapely.get_type_id(geoms))
    return sorted(_TYPE_NAMES[shapely.GeometryType(int(i))] for i in ids)


def check_publishable(geoms: np.ndarray, labels: list[str], what: str) -> None:
    """Fail closed unless every geometry is polygonal, non-empty, valid, finite and in range."""
    type_ids = shapely.get_type_id(geoms)
    polygonal = np.isin(type_ids, [int(t) for t in _POLYGONAL])
    bounds = shapely.bounds(geoms)
    in_range = (
        np.isfinite(bounds).all(axis=1)
        & (bounds[:, 0] >= -180.0) & (bounds[:, 2] <= 180.0)
        & (bounds[:, 1] >= -90.0) & (bounds[:, 3] <= 90.0)
    )
    good = polygonal & ~shapely.is_empty(geoms) & shapely.is_valid(geoms) & in_range
    if not good.all():
        bad = [labels[i] for i in np.flatnonzero(~good)[:10]]
        raise ReferenceDataError(f"{what}: geometries not polygonal/valid/non-empty/in range: {bad}")


def collect(parts: list) -> shapely.Geometry:
    """One part stays a Polygon; several become a MultiPolygon (in the given order)."""
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
