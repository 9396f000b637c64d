"""UDFs of the `seg3a_stored_table` materialization (macros/materializations): where the
stored Z(c) file of the selected run lives, whether it may be reused, and its atomic
publication (seg3a.zones.cache holds the key and the store)."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa


def _dbt_project_dir() -> Path | None:
    """The project dbt runs (its `--project-dir`, else dbt's default), whose SQL the key
    digests; None outside dbt (then the project checkout)."""
    try:
        from dbt.flags import get_flags

        project_dir = getattr(get_flags(), "PROJECT_DIR", None)
    except Exception:  # not running under dbt
        return None
    return Path(project_dir).resolve() if project_dir else None


def stored_file_arrow(run_roots: pa.Array, names: pa.Array) -> pa.Array:
    """`<store>/<key>/<name>.parquet` for each run root (the key folder is created, so a
    COPY can write beside it)."""
    from seg3a.zones.cache import store_dir_for_run

    project = _dbt_project_dir()
    paths = []
    for run_root, name in zip(run_roots.to_pylist(), names.to_pylist()):
        folder = store_dir_for_run(Path(run_root), project)
        folder.mkdir(parents=True, exist_ok=True)
        paths.append(str(folder / f"{name}.parquet"))
    return pa.array(paths, type=pa.string())


def stored_file_reusable_arrow(paths: pa.Array) -> pa.Array:
    """True when the file exists and SEG3A_ZONE_UNIVERSE_REBUILD does not force a rebuild."""
    from seg3a.zones.cache import rebuild_forced

    forced = rebuild_forced()
    return pa.array([not forced and Path(p).is_file() for p in paths.to_pylist()], type=pa.bool_())


def publish_stored_file_arrow(staged: pa.Array, targets: pa.Array) -> pa.Array:
    """Renames each staged file onto its target; returns the target."""
    from seg3a.zones.cache import publish_stored_file

    for source, target in zip(staged.to_pylist(), targets.to_pylist()):
        publish_stored_file(Path(source), Path(target))
    return targets
