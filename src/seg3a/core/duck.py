"""DuckDB connections with the spatial extension loaded from the installed wheel.

`INSTALL spatial` would download from the internet; the `duckdb-extension-spatial`
package ships the signed extension, so we LOAD it by path instead.
"""
from __future__ import annotations

import importlib.util
import os
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


# DuckDB resource settings and the environment variables that set them (profiles.yml
# passes the same variables to the dbt plugin). Unset or empty: DuckDB's default (80 % of
# RAM, one thread per core, `<database>.tmp`). Results never depend on them.
RESOURCE_SETTINGS = {
    "memory_limit": "SEG3A_DUCKDB_MEMORY_LIMIT",
    "threads": "SEG3A_DUCKDB_THREADS",
    "temp_directory": "SEG3A_DUCKDB_TEMP_DIR",
}


def resource_settings(values: dict[str, str] | None = None) -> dict[str, str]:
    """The resource settings to apply: `values` (setting -> value) if given, else the
    environment; empty values are left out."""
    if values is None:
        values = {name: os.environ.get(variable, "") for name, variable in RESOURCE_SETTINGS.items()}
    unknown = set(values) - set(RESOURCE_SETTINGS)
    if unknown:
        raise ValueError(f"unknown DuckDB resource settings {sorted(unknown)}")
    return {name: str(value).strip() for name, value in values.items() if str(value or "").strip()}


def apply_resource_settings(conn: duckdb.DuckDBPyConnection, settings: dict[str, str]) -> None:
    """SET each setting (a bad value fails here, naming the setting)."""
    for name, value in settings.items():
        try:
            conn.execute(f"SET {name} = ?", [int(value) if name == "threads" else value])
        except (duckdb.Error, ValueError) as exc:
            raise ValueError(f"DuckDB setting {name} = {value!r} ({RESOURCE_SETTINGS[name]}): {exc}") from exc


def open_file(database: str | Path, *, read_only: bool = False, config: dict | None = None,
              fix: str = "close that process, then retry") -> duckdb.DuckDBPyConnection:
    """`duckdb.connect` on a database file. While another process holds the file, retried
    up to SEG3A_LOCK_WAIT seconds, then `E3A_BUILD_LOCKED` naming that process, with `fix`
    (locks.LockHeld), instead of DuckDB's raw lock error."""
    from .locks import when_free

    return when_free(str(database), lambda: duckdb.connect(str(database), read_only=read_only, config=config or {}),
                     fix)


def connect(database: str = ":memory:", *, spatial: bool = True, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the environment's resource settings, optionally with
    spatial functions and a thread cap."""
    conn = duckdb.connect(database) if database == ":memory:" else open_file(database)
    apply_resource_settings(conn, resource_settings())
    if threads is not None:
        conn.execute(f"SET threads = {int(threads)}")
    if spatial:
        load_spatial(conn)
    return conn
