"""The Z(c) store: the spatial model `zone_universe_candidates` (the only costly Z(c)
model) is computed once per identity of its inputs and kept as a Parquet file outside any
DuckDB database, `build/zone-universe-cache/<key>/zone_universe_candidates.parquet`, so
that every build (plain `dbt build`, `seg3a seedpack run`, the tests), whatever database
it writes to, reuses it.

The key digests every input of the Z(c) models: the reference polygons the run reads, the
rule contract, the zone-universe and reference staging SQL, this package's code and the
DuckDB / spatial extension versions (GEOS does the overlays). The dbt materialization
`seg3a_stored_table` looks the file up through the UDFs in `python_udfs/zone_store.py`;
`SEG3A_ZONE_UNIVERSE_REBUILD=1` recomputes it and replaces the stored file."""
from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

from ..core.paths import contracts_root, default_external_root, project_root
from .rule import RULE_FILE

STORE_ENV = "SEG3A_ZONE_UNIVERSE_CACHE"
REBUILD_ENV = "SEG3A_ZONE_UNIVERSE_REBUILD"
WORLD_COUNTRIES = "reference/spatial/world_countries/2024/world_countries.parquet"
TZ_WORLD = "reference/spatial/tz_world/2025a/tz_world.parquet"
ENGINE_PACKAGES = ("duckdb", "duckdb_extension_spatial")


def zone_universe_inputs(dbt_project: Path | None = None, world_countries: Path | None = None,
                         tz_world: Path | None = None, rule_file: Path | None = None) -> list[Path]:
    """The reference polygons (default: the default external root's), the rule contract,
    the zone-universe and reference staging SQL of `dbt_project` (default: the project
    checkout) and this package's code."""
    project = Path(dbt_project) if dbt_project else project_root()
    external = default_external_root()
    return [
        Path(world_countries) if world_countries else external / WORLD_COUNTRIES,
        Path(tz_world) if tz_world else external / TZ_WORLD,
        Path(rule_file) if rule_file else contracts_root() / RULE_FILE,
        *sorted((project / "models/segment3a/zone_universe").glob("*.sql")),
        *sorted((project / "models/segment3a/staging").glob("stg_ref__*.sql")),
        *sorted(Path(__file__).resolve().parent.glob("*.py")),
    ]


def engine_versions() -> list[str]:
    """`name==version` of the packages whose code computes the overlays."""
    return [f"{name}=={metadata.version(name)}" for name in ENGINE_PACKAGES]


def zone_universe_key(dbt_project: Path | None = None, world_countries: Path | None = None,
                      tz_world: Path | None = None, rule_file: Path | None = None) -> str:
    """16 hex digits of SHA-256 over each input's name and SHA-256, in input order, then
    the engine versions."""
    hasher = hashlib.sha256()
    for path in zone_universe_inputs(dbt_project, world_countries, tz_world, rule_file):
        hasher.update(path.name.encode())
        hasher.update(_file_sha256(path))
    for version in engine_versions():
        hasher.update(version.encode())
    return hasher.hexdigest()[:16]


def _file_sha256(path: Path) -> bytes:
    """SHA-256 of a file read in 8 MiB chunks (the zone polygons are ~100 MB)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def store_root() -> Path:
    """The directory holding one folder per key (SEG3A_ZONE_UNIVERSE_CACHE overrides)."""
    override = os.environ.get(STORE_ENV)
    return Path(override).resolve() if override else project_root() / "build" / "zone-universe-cache"


def store_dir_for_run(run_root: Path, dbt_project: Path | None = None) -> Path:
    """The key folder for the run at `run_root`: its reference polygons and rule contract
    as the run resolves them (a file under the run root shadows the external one)."""
    from ..core.context import RunContext

    ctx = RunContext.from_run_root(run_root)
    key = zone_universe_key(dbt_project, ctx.path("world_countries"), ctx.path("tz_world_2025a"),
                            ctx.catalogue.root / RULE_FILE)
    return store_root() / key


def rebuild_forced() -> bool:
    """SEG3A_ZONE_UNIVERSE_REBUILD set to 1/true/yes: recompute and replace the store."""
    return os.environ.get(REBUILD_ENV, "").strip().lower() in ("1", "true", "yes")


def publish_stored_file(staged: Path, target: Path) -> None:
    """Move a fully written file into the store by an atomic rename: a reader sees the
    previous file or the new one, never a part."""
    os.replace(staged, target)
