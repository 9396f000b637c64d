"""Two built runs in one runs root, each with its own DuckDB database (the default layout):
seed 42 built in full by run id, then seed 7 (the newest run, so the default) up to S1.
Session-scoped: the shell, per-run database and report tests share one build, and the
tests that compare another way of building the small world with the default one (the
Spark target, the `dbt` command against the tests' fork server, other DuckDB resource
settings) compare with its seed-42 run root, which no test may change."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from seg3a.core.identity import RECEIPT_NAME
from seg3a.world.testing import shared_world
from tests.conftest import SMALL_PAIRS, copy_run
from tests.e2e.dbt_runner import run_dbt


@pytest.fixture(scope="session")
def two_runs(small_world, worlds_base, tmp_path_factory):
    """(runs root, database dir, run id of seed 42, run id of seed 7), both built."""
    work = tmp_path_factory.mktemp("run-databases")
    older = copy_run(small_world, work)
    newer = copy_run(shared_world(worlds_base, seed=7, pairs=SMALL_PAIRS), work)
    stamp = (older / RECEIPT_NAME).stat().st_mtime + 60  # seed 7 is the newest run
    os.utime(newer / RECEIPT_NAME, (stamp, stamp))
    runs_root, databases = older.parent, work / "duckdb"
    built = run_dbt(["build", "--select", "segment3a"], runs_root, databases, run_id=older.name, per_run=True)
    assert built.ok, built.output[-4000:]
    shutil.copyfile(work / "dbt-target" / "run_results.json", full_build_results(runs_root))
    default = run_dbt(["build", "--select", "+s1_escalation_queue"], runs_root, databases, per_run=True)
    assert default.ok, default.output[-4000:]
    return runs_root, databases, older.name, newer.name


def full_build_results(runs_root: Path) -> Path:
    """dbt's run_results.json of the full seed-42 build of `two_runs` (kept beside the runs
    root: the seed-7 build that follows writes its own)."""
    return runs_root.parent / "seed42-run_results.json"


def engine_commit_of(run_root: Path) -> str:
    """The engine commit a build recorded (its RNG audit rows' build_commit): a build to
    be compared with this one is given it, the one input two builds would otherwise not
    share if the checkout moved on between them."""
    (audit,) = (run_root / "logs" / "layer1" / "3A" / "rng" / "audit").rglob("*.jsonl")
    (commit,) = {json.loads(line)["build_commit"] for line in audit.read_text().splitlines()}
    return commit
