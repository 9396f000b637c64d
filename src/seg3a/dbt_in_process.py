"""dbt run inside this process on a project parsed once: what `seg3a seedpack run`, the
Spark target's phases and the tests' dbt fork server share."""
from __future__ import annotations

import gc
from typing import Any, Callable


def invoke_parsed(runner: Callable[..., Any], manifest: Any, args: list[str]) -> Any:
    """One dbt command (`runner` is dbt's dbtRunner) on a copy of the parsed `manifest`:
    dbt marks the nodes it compiles in the manifest it runs, which a later command must
    not see. dbt and the parsed manifests (the parsed one and this copy, ~180k objects)
    live through the whole command: frozen, the garbage collector's full passes skip them
    (~0.2-0.5 CPU s per build otherwise); unfrozen afterwards so the copy is freed."""
    copy = manifest.deepcopy()
    gc.freeze()
    try:
        return runner(manifest=copy).invoke(args)
    finally:
        gc.unfreeze()


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a build, as the
    dbt command does on exit: the file is checkpointed (nothing left in its WAL) and
    released, so it can be copied (the Z(c) cache) or opened by a user right away."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    from seg3a.core.locks import release_all

    environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()
    release_all()  # the build's run-root and database locks, as a dbt process exit would
