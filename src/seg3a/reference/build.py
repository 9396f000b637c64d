"""Build, skip-if-current and verify the three reference datasets under an external root."""
from __future__ import annotations

import importlib.metadata
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import shapely

from seg3a.reference import iso3166, sources, tz_world, world_countries
from seg3a.reference.dataset import BuiltDataset, Progress
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.io import PARQUET_OPTIONS, atomic_write_bytes, canonical_json, sha256_file, write_parquet_atomic
from seg3a.reference.paths import DATASET_IDS, ISO3166, TZ_WORLD, WORLD_COUNTRIES, data_path, manifest_path, reference_relpath

# Bump when a change to the builders changes output bytes, so existing files are rebuilt.
BUILDER_FORMAT = 1
MANIFEST_FORMAT = 1

BUILDERS: dict[str, Callable[..., BuiltDataset]] = {
    ISO3166: iso3166.build,
    WORLD_COUNTRIES: world_countries.build,
    TZ_WORLD: tz_world.build,
}

# Packages whose version can change the written bytes (besides the source packages).
_TOOL_PACKAGES = ("duckdb", "duckdb-extension-spatial", "numpy", "pyarrow", "shapely")


def tool_versions() -> dict[str, str]:
    versions = {name: importlib.metadata.version(name) for name in _TOOL_PACKAGES}
    versions["geos"] = shapely.geos_version_string
    return versions


def default_root() -> Path:
    """The project checkout this package lives in, else the working directory."""
    candidate = Path(__file__).resolve().parents[3]
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def _complete_manifest(built: BuiltDataset, path: Path) -> dict[str, Any]:
    manifest = dict(built.manifest)
    manifest.update(
        {
            "manifest_format": MANIFEST_FORMAT,
            "builder": {"module": BUILDERS[built.dataset_id].__module__, "builder_format": BUILDER_FORMAT,
                        "tools": tool_versions(), "parquet": PARQUET_OPTIONS},
            "data_path": reference_relpath(built.dataset_id).as_posix(),
            "data_sha256": sha256_file(path),
            "data_bytes": path.stat().st_size,
        }
    )
    return manifest


def write_dataset(root: Path, built: BuiltDataset) -> dict[str, Any]:
    """Write the data file, then its manifest (data first: a manifest always describes a file)."""
    path = data_path(root, built.dataset_id)
    write_parquet_atomic(
        built.table,
        path,
        row_group_size=built.row_group_size,
        dictionary_columns=built.dictionary_columns,
        statistics_columns=built.statistics_columns,
        file_metadata=built.file_metadata,
    )
    manifest = _complete_manifest(built, path)
    atomic_write_bytes(manifest_path(root, built.dataset_id), canonical_json(manifest).encode("ascii"))
    return manifest


def read_manifest(root: Path, dataset_id: str) -> dict[str, Any]:
    """The sidecar manifest of a dataset (raises E3A_REF when missing or unreadable)."""
    path = manifest_path(root, dataset_id)
    if not path.is_file():
        raise ReferenceDataError(f"{dataset_id}: manifest missing at {path}")
    try:
        manifest = json.loads(path.read_text(encoding="ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReferenceDataError(f"{dataset_id}: manifest {path} is not valid JSON: {exc}") from exc
    if manifest.get("dataset_id") != dataset_id:
        raise ReferenceDataError(f"{dataset_id}: manifest {path} names dataset {manifest.get('dataset_id')!r}")
    return manifest


def verify_dataset(root: Path, dataset_id: str) -> dict[str, Any]:
    """Re-hash the data file and compare with its manifest."""
    manifest = read_manifest(root, dataset_id)
    path = data_path(root, dataset_id)
    if not path.is_file():
        raise ReferenceDataError(f"{dataset_id}: data file missing at {path}")
    expected = reference_relpath(dataset_id).as_posix()
    if manifest.get("data_path") != expected:
        raise ReferenceDataError(f"{dataset_id}: manifest data_path {manifest.get('data_path')!r} != {expected!r}")
    digest = sha256_file(path)
    if digest != manifest.get("data_sha256"):
        raise ReferenceDataError(
            f"{dataset_id}: SHA-256 of {path} is {digest}, manifest records {manifest.get('data_sha256')}"
        )
    return {"path": expected, "sha256": digest, "rows": manifest.get("row_count"),
            "upstream_release": manifest.get("upstream_release")}


def verify_all(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """Verify every reference dataset under `root`; raise `E3A_REF` on the first problem."""
    root = Path(root) if root is not None else default_root()
    return {dataset_id: verify_dataset(root, dataset_id) for dataset_id in DATASET_IDS}


def _stale_reason(manifest: dict[str, Any]) -> str | None:
    """Why an intact file still needs a rebuild: builder or package versions changed."""
    if manifest.get("builder", {}).get("builder_format") != BUILDER_FORMAT:
        return "builder format changed"
    if manifest.get("builder", {}).get("tools") != tool_versions():
        return "tool versions changed"
    for entry in manifest.get("source_files", []):
        if sources.package_version(entry["package"]) != entry["package_version"]:
            return f"{entry['package']} version changed"
    return None


def _current(root: Path, dataset_id: str) -> tuple[dict[str, Any] | None, str]:
    """(verification result, "") when the dataset can be skipped, else (None, reason)."""
    if not data_path(root, dataset_id).is_file() or not manifest_path(root, dataset_id).is_file():
        return None, "missing"
    try:
        result = verify_dataset(root, dataset_id)
    except ReferenceDataError as exc:
        return None, str(exc)
    stale = _stale_reason(read_manifest(root, dataset_id))
    return (None, stale) if stale else (result, "")


def build_dataset(root: Path, dataset_id: str, progress: Progress = print, **options: Any) -> dict[str, Any]:
    """Build one dataset unconditionally and write it under `root`; returns its manifest."""
    built = BUILDERS[dataset_id](progress, **options)
    return write_dataset(root, built)


def build_all(
    root: Path | None = None,
    force: bool = False,
    progress: Progress = print,
    datasets: Iterable[str] = DATASET_IDS,
) -> dict[str, Any]:
    """Build each missing (or stale, or corrupt) dataset; with `force`, all of them.

    Returns a summary: per dataset its status, root-relative path, SHA-256, row count
    and seconds, plus the total seconds.
    """
    root = Path(root) if root is not None else default_root()
    started = time.perf_counter()
    summary: dict[str, Any] = {"root": str(root), "datasets": {}}
    for dataset_id in datasets:
        t0 = time.perf_counter()
        verified, reason = (None, "forced") if force else _current(root, dataset_id)
        if verified is not None:
            progress(f"reference: {dataset_id}: up to date ({verified['sha256'][:12]}), skipped")
            entry = {"status": "skipped", "path": verified["path"], "sha256": verified["sha256"], "rows": verified["rows"]}
        else:
            progress(f"reference: {dataset_id}: building ({reason})")
            manifest = build_dataset(root, dataset_id, progress)
            entry = {"status": "built", "path": manifest["data_path"], "sha256": manifest["data_sha256"],
                     "rows": manifest["row_count"]}
            progress(f"reference: {dataset_id}: wrote {entry['path']} ({entry['rows']} rows, {entry['sha256'][:12]})")
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        summary["datasets"][dataset_id] = entry
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary
