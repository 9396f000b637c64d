"""What the benchmarks that run dbt on generated worlds share: the environment of a dbt
subprocess bound to one runs root and one DuckDB file, the machine description and the
results file. Import it from a benchmark run as a script (its folder is on sys.path)."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
