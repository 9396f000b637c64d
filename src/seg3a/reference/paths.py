"""Where each reference dataset lives, relative to an external root.

The three paths are kept here and nowhere else. They mirror the dataset dictionary
(spec 05 §0 inventory); when the dictionary in `contracts/` is the authority, only
`reference_relpath` has to change to read it from there.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from seg3a.reference.errors import ReferenceDataError

ISO3166 = "iso3166_canonical_2024"
WORLD_COUNTRIES = "world_countries"
TZ_WORLD = "tz_world_2025a"

# Build order matters only for readability of progress output; each builder is
# self-contained (world_countries derives the ISO table in memory, not from disk).
DATASET_IDS: tuple[str, ...] = (ISO3166, WORLD_COUNTRIES, TZ_WORLD)

_REFERENCE_PATHS: dict[str, str] = {
    ISO3166: "reference/iso/iso3166_canonical/2024-12-31/iso3166.parquet",
    WORLD_COUNTRIES: "reference/spatial/world_countries/2024/world_countries.parquet",
    TZ_WORLD: "reference/spatial/tz_world/2025a/tz_world.parquet",
}


def reference_relpath(dataset_id: str) -> PurePosixPath:
    """Root-relative path of a reference dataset's data file (the single lookup)."""
    try:
        return PurePosixPath(_REFERENCE_PATHS[dataset_id])
    except KeyError:
        raise ReferenceDataError(f"unknown reference dataset id {dataset_id!r}") from None


def data_path(root: Path, dataset_id: str) -> Path:
    """Absolute path of the data file under `root`."""
    return Path(root) / reference_relpath(dataset_id)


def manifest_path(root: Path, dataset_id: str) -> Path:
    """The sidecar manifest `<stem>.manifest.json` beside the data file."""
    data = data_path(root, dataset_id)
    return data.with_name(f"{data.stem}.manifest.json")
