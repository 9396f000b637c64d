"""One DuckDB database per run, so that building one run never replaces another's tables.

The database of run R is `<database dir>/R/seg3a.duckdb` (database dir: `build/duckdb`, or
SEG3A_DUCKDB_DIR). The file is always named `seg3a.duckdb` because DuckDB names the
catalogue after the file and the parsed dbt project refers to relations as `seg3a.main.x`.
SEG3A_DUCKDB names one database file outright and overrides the per-run choice (the test
fixtures, benchmarks and the seedpack runner use it).
"""
from __future__ import annotations

import os
from pathlib import Path

from .identity import RECEIPT_NAME, receipt_age
from .paths import project_root

DATABASE_FILE = "seg3a.duckdb"
DATABASE_OVERRIDE_VARIABLE = "SEG3A_DUCKDB"


def default_database_dir() -> Path:
    return Path(os.environ.get("SEG3A_DUCKDB_DIR") or project_root() / "build" / "duckdb")


def run_database(run_id: str, database_dir: Path | str | None = None) -> Path:
    """The database file of run `run_id` (SEG3A_DUCKDB, when set, wins)."""
    override = os.environ.get(DATABASE_OVERRIDE_VARIABLE)
    if override:
        return Path(override)
    return Path(database_dir or default_database_dir()) / run_id / DATABASE_FILE


def runs_present(runs_root: Path | str) -> list[str]:
    """Run ids with a receipt under `runs_root`, oldest first (the newest is the default run)."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    receipts = sorted(root.glob(f"*/{RECEIPT_NAME}"), key=lambda r: (receipt_age(r), r.parent.name))
    return [receipt.parent.name for receipt in receipts]


def describe_runs(runs_root: Path | str) -> str:
    """`runs here: a, b (newest)` or `no runs under <root>`, for error messages."""
    runs = runs_present(runs_root)
    if not runs:
        return f"no runs under {runs_root}"
    return f"runs here: {', '.join(runs[:-1] + [runs[-1] + ' (newest)'])}"


def run_selection_problem(runs_root: Path | str, run_id: str | None, error: Exception) -> str:
    """Why no run could be selected, naming the runs that are there."""
    root = Path(runs_root)
    if run_id and not (root / run_id).is_dir():
        return f"no run {run_id} under {root}; {describe_runs(root)}"
    if run_id:
        return f"run {run_id} has no usable {RECEIPT_NAME} ({error}); {describe_runs(root)}"
    return str(error)
