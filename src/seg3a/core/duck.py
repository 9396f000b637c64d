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


# A signed LOAD makes DuckDB hash the whole extension file (81 MB) to check its signature:
# about 0.3 CPU s for every new database, i.e. every build. A process checks it once. After
# a LOAD with the check has succeeded, a database it opens later (or one opened by a worker
# it forks) may skip the check for that file as long as the file is unchanged on disk: the
# same device, inode, size and modification and status-change times in nanoseconds (a
# rewrite moves the status-change time, which no user call can set back). Any other file,
# or this one changed, is checked again. Nothing is remembered across processes.
_verified_spatial: tuple[int, ...] | None = None


def _file_identity(path: Path) -> tuple[int, ...]:
    status = os.stat(path)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def spatial_connect_config() -> dict[str, str]:
    """Settings for a new database that will LOAD the spatial extension: DuckDB's signature
    check off (`allow_unsigned_extensions`) only when this process has verified the file as
    it is now; else none (the LOAD checks it)."""
    if _verified_spatial is not None and _verified_spatial == _file_identity(spatial_extension_path()):
        return {"allow_unsigned_extensions": "true"}
    return {}


def load_spatial(conn: duckdb.DuckDBPyConnection) -> None:
    """LOAD the spatial extension into `conn` (idempotent). A LOAD with DuckDB's signature
    check, of a file that did not change meanwhile, marks the file verified for this
    process (spatial_connect_config); a LOAD without it, after that, fails with E3A_INFRA
    when the file is no longer the verified one (replaced since the database was opened)."""
    global _verified_spatial
    path = spatial_extension_path()
    before = _file_identity(path)
    conn.execute(f"LOAD '{path.as_posix()}'")
    checked = conn.execute("select current_setting('allow_unsigned_extensions')").fetchone()[0] is False
    now = _file_identity(path)
    if checked:
        if now == before:
            _verified_spatial = before
    elif _verified_spatial is not None and now != _verified_spatial:
        raise RuntimeError(f"E3A_INFRA: the spatial extension {path} was replaced after this process checked its "
                           "signature | fix: rerun (a new process checks the new file)")


def verify_spatial() -> None:
    """Check the spatial extension's signature once for this process and the workers it
    forks (a LOAD into a scratch database); a bad signature raises DuckDB's error."""
    if not spatial_connect_config():
        with duckdb.connect(":memory:") as scratch:
            load_spatial(scratch)


# DuckDB resource settings and the environment variables that set them (the dbt plugin
# reads the same variables, python_udfs.plugin.plugin_settings). Unset or empty: DuckDB's default (80 % of
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
