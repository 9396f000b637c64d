"""`seg3a shell`: the DuckDB command line on one run, ready to query, no dbt needed.

The shell starts on an in-memory database and runs an init script that
- loads the spatial extension from the installed wheel (LOAD by path, never INSTALL),
- attaches the run's dbt database read-only as `seg3a` (when it has been built) and makes it
  the default, so every model (`zone_alloc`, `stg_1a__outlet_catalogue`, ...) is reachable;
  while a build (or any process) has the file open for writing, DuckDB cannot attach it
  and the shell stops with E3A_BUILD_LOCKED naming that process (`--no-database` opens
  the run's files alone),
- creates the run values the seg3a dbt plugin creates (the run identity and Z(c) rule values
  as `<name>()`, e.g. `seg3a_run_id()`, the dataset locations as `seg3a_loc__<dataset id>()`)
  as macros of the session, which the staging views read,
- creates a temporary view per input and per published dataset under its contract name,
  reading the run's files (`outlet_catalogue`, `zone_alloc`, `s6_issue_table_3A`, ...).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .cli import add_run_arguments, resolve_run
from .core.context import RunContext
from .core.duck import open_file, spatial_extension_path
from .core.locks import LockHeld
from .core.paths import project_root
from .core.run_database import run_database

SOURCES_FILE = Path("models") / "segment3a" / "staging" / "__sources.yml"
# Dictionary formats that DuckDB reads as a table, with the reader to use.
READERS = {
    "parquet": "read_parquet('{path}', hive_partitioning = false)",
    "jsonl": "read_json_auto('{path}', format = 'newline_delimited')",
    "json": "read_json_auto('{path}')",
}


# What to do when another process has the run's database open for writing.
DATABASE_IN_USE_FIX = ("wait until it closes the file (a build does at its end; SEG3A_LOCK_WAIT=<seconds> waits), "
                       "or query the run's files without the database: seg3a shell --no-database")


class ShellError(Exception):
    """The shell cannot start (no such run, no DuckDB CLI)."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_views() -> dict[str, str]:
    """Contract name -> reader expression of every dbt source (the staging inputs), taken
    from the sources file so that the shell reads them exactly as the staging models do."""
    document = yaml.safe_load((project_root() / SOURCES_FILE).read_text())
    return {
        table["name"]: " ".join(table["meta"]["external_location"].split())
        for source in document["sources"]
        for table in source["tables"]
        if "external_location" in table.get("meta", {})  # the tabular ones
    }


def published_views(ctx: RunContext) -> dict[str, str]:
    """Contract name -> reader expression of every 3A dataset of this run present on disk
    in a tabular format (Parquet, JSON Lines, JSON)."""
    views = {}
    for dataset_id, entry in ctx.catalogue.dictionary_entries["3A"].items():
        reader = READERS.get(entry.get("format"))
        if reader is None or entry.get("owner_subsegment") != "3A" or "{utc_day}" in entry["path"]:
            continue
        path = ctx.path(dataset_id)
        if path.is_dir():  # a partition folder of Parquet parts
            path = path / "*.parquet"
        if not path.parent.is_dir() or not any(path.parent.glob(path.name)):
            continue  # not written in this run (yet)
        views[dataset_id] = reader.format(path=str(path).replace("'", "''"))
    return views


def init_script(ctx: RunContext, database: Path | None) -> str:
    """The SQL the shell runs before anything else."""
    from python_udfs.plugin import run_values_statement, run_variables

    lines = [f"LOAD {_quote(spatial_extension_path().as_posix())};"]
    if database is not None:
        lines += [f"ATTACH {_quote(str(database))} AS seg3a (READ_ONLY);", "USE seg3a;"]
    variables = run_variables(str(ctx.run_root.parent), ctx.tokens.run_id)
    lines.append(run_values_statement(variables) + ";")
    views = {**source_views(), **published_views(ctx)}
    for name, reader in views.items():
        lines.append(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM {reader};')
    return "\n".join(lines) + "\n"


def duckdb_cli() -> str:
    """The DuckDB CLI installed with the venv (package duckdb-cli), else one on PATH."""
    beside = Path(sys.executable).with_name("duckdb")
    found = str(beside) if beside.is_file() else shutil.which("duckdb")
    if not found:
        raise ShellError("E3A_INFRA: the DuckDB CLI is not installed; run `make venv` (package duckdb-cli)")
    return found


def check_database_free(database: Path) -> None:
    """Open the database read-only as the shell will and close it: LockHeld naming the
    process that has it open for writing, instead of DuckDB's raw error inside the CLI."""
    open_file(database, read_only=True, fix=DATABASE_IN_USE_FIX).close()


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(
        prog="seg3a shell",
        description="Open the DuckDB CLI on one run: its dbt database attached read-only, spatial loaded, "
                    "the run values set and every input and published dataset available as a view "
                    "under its contract name. Extra arguments after `--` go to the DuckDB CLI.",
    )
    add_run_arguments(cli, "open")
    cli.add_argument("-c", dest="command", metavar="SQL", help="run SQL and exit (no interactive shell)")
    cli.add_argument("--no-database", action="store_true",
                     help="do not attach the run's dbt database (the run's files are still views), e.g. during a build")
    cli.add_argument("duckdb_args", nargs="*", help="further DuckDB CLI options (after --), e.g. -csv")
    args = cli.parse_args(argv)
    ctx = resolve_run("seg3a shell", "open", args.runs_root, args.run_id)
    if ctx is None:
        return 2
    database = None if args.no_database else run_database(ctx.tokens.run_id)
    if database is not None and not database.is_file():
        print(f"seg3a shell: run {ctx.tokens.run_id} has no dbt database yet ({database}); "
              "the run's files are available as views (build it with `make build`)", file=sys.stderr)
        database = None
    if database is not None:
        try:
            check_database_free(database)
        except LockHeld as exc:
            print(f"seg3a shell: {exc}", file=sys.stderr)
            return 2
    try:
        command = duckdb_cli()
    except ShellError as exc:
        print(f"seg3a shell: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="seg3a-shell-") as work:
        init = Path(work) / "init.sql"
        init.write_text(init_script(ctx, database))
        call = [command, "-init", str(init), *args.duckdb_args]
        if args.command is not None:
            call += ["-c", args.command]
        return subprocess.call(call)


if __name__ == "__main__":
    sys.exit(main())
