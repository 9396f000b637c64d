"""DuckDB connections with the spatial extension loaded from the installed wheel.

`INSTALL spatial` would download from the internet; the `duckdb-extension-spatial`
package ships the signed extension, so we LOAD it by path instead.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb


def spatial_extension_path() -> Path:
    """Path of the spatial extension shipped by the duckdb-extension-spatial wheel."""
    spec = importlib.util.find_spec("duckdb_extension_spatial")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "E3A_INFRA: package duckdb-extension-spatial is not installed; run `make venv`"
        )
    version = duckdb.__version__
    path = Path(spec.origin).parent / "extensions" / f"v{version}" / "spatial.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(
            f"E3A_INFRA: spatial extension for duckdb {version} not found at {path}; "
            "duckdb and duckdb-extension-spatial versions must be equal"
        )
    return path


def load_spatial(conn: duckdb.DuckDBPyConnection) -> None:
    """LOAD the spatial extension into `conn` (idempotent)."""
    conn.execute(f"LOAD '{spatial_extension_path().as_posix()}'")


def connect(database: str = ":memory:", *, spatial: bool = True, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection, optionally with spatial functions and a thread cap."""
    conn = duckdb.connect(database)
    if threads is not None:
        conn.execute(f"SET threads = {int(threads)}")
    if spatial:
        load_spatial(conn)
    return conn
