"""The scorer's inputs: a run's five published datasets bound as DuckDB views named by
their dataset ids, so every metric is plain SQL over `s1_escalation_queue`,
`s2_country_zone_priors`, `s3_zone_shares`, `s4_zone_counts` and `zone_alloc`.

A dataset that is absent or lacks a column the scorer reads is recorded, not fatal:
runs under construction still get every metric their datasets allow, and the
gates of the missing ones fail (see gates.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow as pa

from seg3a.core.context import RunContext

# Only the columns the metrics read (spec 02 §6.2, §7.2; 03 §3.5, §4.3; 04 §1.3).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "s1_escalation_queue": ("merchant_id", "legal_country_iso", "site_count", "zone_count_country", "is_escalated"),
    "s2_country_zone_priors": ("country_iso", "tzid", "share_effective"),
    "s3_zone_shares": ("merchant_id", "legal_country_iso", "tzid", "share_drawn"),
    "s4_zone_counts": ("merchant_id", "legal_country_iso", "tzid", "zone_site_count", "zone_site_count_sum"),
    "zone_alloc": ("merchant_id", "legal_country_iso", "tzid", "zone_site_count", "zone_site_count_sum", "site_count"),
}
DATASETS = tuple(REQUIRED_COLUMNS)


class RealismInputError(Exception):
    """The scorer cannot read its inputs at all (no run, unreadable receipt)."""


@dataclass(frozen=True)
class Binding:
    """How one dataset was bound: `bound`, `missing` (no Parquet at the path) or
    `invalid` (unreadable, or a required column absent)."""

    dataset_id: str
    path: str
    status: str
    rows: int | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "rows": self.rows, "detail": self.detail}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection on one thread: parallel float aggregation may change
    the last bits of a sum between runs, and the reports must be byte-identical."""
    conn = duckdb.connect(":memory:")
    conn.execute("SET threads = 1")
    return conn


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_problem(conn: duckdb.DuckDBPyConnection, dataset_id: str) -> str | None:
    names = {row[0] for row in conn.execute(f"DESCRIBE {dataset_id}").fetchall()}
    missing = [c for c in REQUIRED_COLUMNS[dataset_id] if c not in names]
    return f"missing columns {missing}" if missing else None


def _finish(conn: duckdb.DuckDBPyConnection, dataset_id: str, label: str, drop: Callable[[], Any]) -> Binding:
    try:
        problem = _column_problem(conn, dataset_id)
        rows = None if problem else conn.execute(f"SELECT count(*) FROM {dataset_id}").fetchone()[0]
    except duckdb.Error as exc:
        problem = f"unreadable: {exc}"
    if problem:
        drop()
        return Binding(dataset_id, label, "invalid", detail=problem)
    return Binding(dataset_id, label, "bound", rows=int(rows))


def bind_directory(conn: duckdb.DuckDBPyConnection, dataset_id: str, directory: Path, label: str | None = None) -> Binding:
    """Bind every Parquet file under a dataset partition directory as view `dataset_id`.
    Hive partitioning is off: the partition columns are stored in the files (01 §2)."""
    label = label or str(directory)
    files = sorted(Path(directory).rglob("*.parquet")) if Path(directory).is_dir() else []
    if Path(directory).is_file():
        files = [Path(directory)]
    if not files:
        return Binding(dataset_id, label, "missing", detail="no Parquet file at the path")
    file_list = "[" + ", ".join(_sql_string(f.as_posix()) for f in files) + "]"
    try:
        conn.execute(
            f"CREATE OR REPLACE VIEW {dataset_id} AS "
            f"SELECT * FROM read_parquet({file_list}, hive_partitioning = false)"
        )
    except duckdb.Error as exc:
        return Binding(dataset_id, label, "invalid", detail=f"unreadable: {exc}")
    return _finish(conn, dataset_id, label, lambda: conn.execute(f"DROP VIEW {dataset_id}"))


def bind_table(conn: duckdb.DuckDBPyConnection, dataset_id: str, table: pa.Table, label: str = "<arrow>") -> Binding:
    """Bind an in-memory Arrow table (tests, callers that already hold the data)."""
    conn.register(dataset_id, table)
    return _finish(conn, dataset_id, label, lambda: conn.unregister(dataset_id))


def run_identity(ctx: RunContext) -> dict[str, Any]:
    t = ctx.tokens
    return {"seed": t.seed, "parameter_hash": t.parameter_hash, "manifest_fingerprint": t.manifest_fingerprint, "run_id": t.run_id}


def bind_run(conn: duckdb.DuckDBPyConnection, ctx: RunContext) -> dict[str, Binding]:
    """Bind the five datasets of a run at their dictionary paths. Labels are the
    catalogue (run-relative) paths, so reports do not depend on where the run lives."""
    return {
        dataset_id: bind_directory(conn, dataset_id, ctx.path(dataset_id), ctx.catalogue_path(dataset_id))
        for dataset_id in DATASETS
    }


def bound(bindings: dict[str, Binding]) -> set[str]:
    return {k for k, b in bindings.items() if b.status == "bound"}
