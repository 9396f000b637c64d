"""The Z(c) store: the spatial model `zone_universe_candidates` (the only costly Z(c)
model) is computed once per identity of its inputs and kept as a Parquet file outside any
DuckDB database, `build/zone-universe-cache/<key>/zone_universe_candidates.parquet`, so
that every build (plain `dbt build`, `seg3a seedpack run`, the tests), whatever database
it writes to, reuses it.

The key digests every input of the Z(c) models: the reference polygons the run reads, the
rule contract, the zone-universe and reference staging SQL, this package's code and the
DuckDB / spatial extension versions (GEOS does the overlays). The dbt materialization
`seg3a_stored_table` looks the file up through the UDFs in `python_udfs/zone_store.py`;
`SEG3A_ZONE_UNIVERSE_REBUILD=1` recomputes it and replaces the stored file. The
digests of the large inputs (the polygons) are remembered in the store under each file's
identity on disk (`_DigestMemo`), so finding the key does not read them on every build."""
from __future__ import annotations

import hashlib
import json
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
# Inputs at least this large have their SHA-256 remembered in the store (DIGEST_MEMO), so a
# build whose Z(c) is stored does not read the ~100 MB of polygons again to find its key.
MEMO_MIN_BYTES = 1024 * 1024
DIGEST_MEMO = "input-digests.json"


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
    memo = _DigestMemo(store_root() / DIGEST_MEMO)
    for path in zone_universe_inputs(dbt_project, world_countries, tz_world, rule_file):
        hasher.update(path.name.encode())
        hasher.update(memo.sha256(path))
    memo.save()
    for version in engine_versions():
        hasher.update(version.encode())
    return hasher.hexdigest()[:16]


def _file_sha256(path: Path) -> bytes:
    """SHA-256 of a file read in 8 MiB chunks (the zone polygons are ~100 MB)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


class _DigestMemo:
    """SHA-256 of the large key inputs, remembered per file under its identity on disk:
    device, inode, size and the modification and status-change times in nanoseconds.
    Rewriting a file, even one that restores its old mtime, moves its status-change time,
    which no user call can set back, so a remembered digest is used only for the bytes it
    was computed from. A forced rebuild (SEG3A_ZONE_UNIVERSE_REBUILD) reads every file
    again. The memo is rewritten atomically; a missing or unreadable memo is rebuilt."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict] = {} if rebuild_forced() else self._load(path)
        self.changed = False

    @staticmethod
    def _load(path: Path) -> dict[str, dict]:
        try:
            entries = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return {}
        return entries if isinstance(entries, dict) else {}

    def sha256(self, path: Path) -> bytes:
        status = os.stat(path)
        if status.st_size < MEMO_MIN_BYTES:
            return _file_sha256(path)
        identity = [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]
        name = str(Path(path).resolve())
        entry = self.entries.get(name)
        if isinstance(entry, dict) and entry.get("identity") == identity and isinstance(entry.get("sha256"), str):
            return bytes.fromhex(entry["sha256"])
        digest = _file_sha256(path)
        self.entries[name] = {"identity": identity, "sha256": digest.hex()}
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the memo when it learned a digest, keeping entries of files that still
        exist; a store that cannot be written only costs the next build a re-read."""
        if not self.changed:
            return
        kept = {name: entry for name, entry in self.entries.items() if os.path.exists(name)}
        staged = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
            os.replace(staged, self.path)
        except OSError:
            staged.unlink(missing_ok=True)


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
