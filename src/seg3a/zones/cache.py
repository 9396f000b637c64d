"""The key of a built Z(c) (the `zone_universe` and `zone_count_country` tables): a digest
of every input of the zone-universe models, so that a DuckDB file holding them is reused
only by builds with the same inputs (`seg3a seedpack run` and the end-to-end tests share
`build/zone-universe-cache/zone_universe-<key>.duckdb`)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..core.paths import contracts_root, default_external_root, project_root
from .rule import RULE_FILE


def zone_universe_inputs(dbt_project: Path | None = None) -> list[Path]:
    """The reference polygons, the rule contract, the zone-universe and reference staging
    SQL of `dbt_project` (default: the project checkout) and this package's code."""
    project = Path(dbt_project) if dbt_project else project_root()
    external = default_external_root()
    return [
        external / "reference/spatial/world_countries/2024/world_countries.parquet",
        external / "reference/spatial/tz_world/2025a/tz_world.parquet",
        contracts_root() / RULE_FILE,
        *sorted((project / "models/segment3a/zone_universe").glob("*.sql")),
        *sorted((project / "models/segment3a/staging").glob("stg_ref__*.sql")),
        *sorted(Path(__file__).resolve().parent.glob("*.py")),
    ]


def zone_universe_key(dbt_project: Path | None = None) -> str:
    """16 hex digits of SHA-256 over each input's name and SHA-256, in input order."""
    hasher = hashlib.sha256()
    for path in zone_universe_inputs(dbt_project):
        hasher.update(path.name.encode())
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()[:16]
