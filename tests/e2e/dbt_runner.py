"""Run the real dbt CLI on a run root (no mocks): a fresh DuckDB file per call site."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")


@dataclass(frozen=True)
class DbtResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_dbt(args: list[str], runs_root: Path, database: Path, run_id: str | None = None, threads: int | None = None,
            per_run: bool = False) -> DbtResult:
    """`database` is the DuckDB file, or with `per_run` the folder holding one database per
    run (SEG3A_DUCKDB_DIR, the default layout outside the tests)."""
    env = dict(os.environ)
    env.update({
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEG3A_RUNS_ROOT": str(runs_root),
        "SEG3A_RUN_ID": run_id or "",
        "DBT_LOG_PATH": str(Path(database).parent / "dbt-logs"),
        "DBT_TARGET_PATH": str(Path(database).parent / "dbt-target"),
    })
    if per_run:
        env.pop("SEG3A_DUCKDB", None)
        env["SEG3A_DUCKDB_DIR"] = str(database)
    else:
        env["SEG3A_DUCKDB"] = str(database)
    command = [str(DBT), *args, "--no-use-colors"]
    if threads is not None:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    return DbtResult(done.returncode, done.stdout + done.stderr)
