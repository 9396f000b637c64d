"""What the benchmarks that run dbt on generated worlds share: the work-directory and
results options, the environment of a dbt subprocess bound to one runs root and one
DuckDB file, the machine description and the results file. Import it from a benchmark
run as a script (its folder is on sys.path)."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of the benchmark's docstring
    (its line breaks kept)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_output_options(parser: argparse.ArgumentParser, results: Path, *, work_option: bool = True) -> None:
    """--work (unless the benchmark always works in a temporary folder), --keep and --json."""
    if work_option:
        parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, default=results,
                        help=f"results file (default {results.relative_to(ROOT)})")


@contextlib.contextmanager
def work_directory(args: argparse.Namespace, prefix: str) -> Iterator[Path]:
    """The benchmark's work folder: `--work` when given (always kept), else a temporary
    folder removed at the end unless `--keep` (then its path is printed)."""
    chosen = getattr(args, "work", None)
    work = chosen or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if chosen is None:
            if args.keep:
                print(f"work directory kept: {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)


def dbt_env(runs_root: Path, database: Path, work: Path) -> dict[str, str]:
    """The environment of a `dbt` subprocess that builds the newest run under `runs_root`
    in `database`, with dbt's logs and target folder under `work`."""
    return dict(os.environ, DBT_PROFILES_DIR=str(ROOT), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
                SEG3A_RUNS_ROOT=str(runs_root), SEG3A_DUCKDB=str(database), SEG3A_RUN_ID="",
                DBT_LOG_PATH=str(work / "dbt-logs"), DBT_TARGET_PATH=str(work / "dbt-target"))


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}


def write_results(path: Path, report: dict) -> None:
    """The report as sorted, indented JSON at `path` (folders created), and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"results written to {path}")
