"""DuckDB connections for the builders: spatial loaded, no progress bar on the console."""
from __future__ import annotations

import duckdb

from seg3a.core.duck import connect


def connect_quiet() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with spatial functions and the progress bar switched off.

    The builders print their own progress lines; DuckDB's bar would interleave with them.
    """
    con = connect()
    con.execute("SET enable_progress_bar = false")
    return con
