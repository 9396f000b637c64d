"""Publishing Parquet partitions written by DuckDB (spec 01 §5.4, 02 §6.4, 03 §3.6):
the model writes `part-00000.parquet` into a staging directory, then `commit_partition`
renames it onto the target or, when the target exists, compares normalised row sets."""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .digests import sha256_parquet
from .staging import rename_into_place, stage_for


class PartitionImmutable(Exception):
    """An existing partition holds different rows."""

    def __init__(self, target: Path, difference_kind: str, difference_count: int) -> None:
        super().__init__(
            f"existing partition differs ({difference_kind}, {difference_count} rows): {target}"
        )
        self.target = target
        self.difference_kind = difference_kind
        self.difference_count = difference_count


@dataclass(frozen=True)
class RowSetDiff:
    difference_kind: str  # "" when equal, else "row_set" or "field_value"
    difference_count: int


# Stages whose file has been checked and may be published by rename (target -> stage),
# for this process only: see `register_checked_stage`.
_CHECKED_STAGES: dict[str, Path] = {}
_CHECKED_LOCK = threading.Lock()


def register_checked_stage(target: Path, stage: Path) -> None:
    """Record that `stage` holds the checked `part-00000.parquet` to publish at `target`,
    so that the publisher renames it instead of writing the same rows again. Kept in
    this process's memory only: a stage from another process, or one a build's start
    swept away, is never taken."""
    with _CHECKED_LOCK:
        _CHECKED_STAGES[str(Path(target).absolute())] = Path(stage)


def checked_stage(target: Path) -> Path | None:
    """The stage registered for `target` while it still holds its file, else None."""
    with _CHECKED_LOCK:
        stage = _CHECKED_STAGES.get(str(Path(target).absolute()))
    if stage is None or not (stage / "part-00000.parquet").is_file():
        return None
    return stage


def make_stage(target: Path) -> Path:
    """A fresh staging directory for the target partition, outside the dataset tree
    (core.staging); the target's parent directory is created for the final rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return stage_for(target)


def compare_row_sets(existing: Path, staged: Path) -> RowSetDiff:
    """Exact comparison of two Parquet partitions as row multisets (columns and types too)."""
    if sha256_parquet(existing)[0] == sha256_parquet(staged)[0]:
        return RowSetDiff("", 0)
    conn = duckdb.connect()
    try:
        old = f"read_parquet('{_glob(existing)}', hive_partitioning = false)"
        new = f"read_parquet('{_glob(staged)}', hive_partitioning = false)"
        old_cols = conn.execute(f"describe select * from {old}").fetchall()
        new_cols = conn.execute(f"describe select * from {new}").fetchall()
        old_n = conn.execute(f"select count(*) from {old}").fetchone()[0]
        new_n = conn.execute(f"select count(*) from {new}").fetchone()[0]
        if [c[:2] for c in old_cols] != [c[:2] for c in new_cols] or old_n != new_n:
            return RowSetDiff("row_set", abs(old_n - new_n))
        only = conn.execute(
            f"select (select count(*) from (select * from {old} except all select * from {new}))"
            f" + (select count(*) from (select * from {new} except all select * from {old}))"
        ).fetchone()[0]
        return RowSetDiff("" if only == 0 else "field_value", int(only))
    finally:
        conn.close()


def _glob(path: Path) -> str:
    path = Path(path)
    return path.as_posix() if path.is_file() else f"{path.as_posix()}/*.parquet"


def commit_partition(stage: Path, target: Path) -> bool:
    """Rename the stage onto the target (True), or verify an existing identical target and
    discard the stage (False). Raises PartitionImmutable on a difference."""
    stage, target = Path(stage), Path(target)
    try:
        if target.exists():
            diff = compare_row_sets(target, stage)
            if diff.difference_kind:
                raise PartitionImmutable(target, diff.difference_kind, diff.difference_count)
            return False
        rename_into_place(stage, target)
        return True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
