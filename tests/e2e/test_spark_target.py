"""The Spark target gives the DuckDB target's data: the small world built with
`seg3a build --target spark` (the per-pair models of S1..S5 on pyspark local[1], the rest
on DuckDB) publishes the same files, byte for byte, as the DuckDB target's build of that
world: every dataset, the RNG event / trace / audit logs, the validation bundle and its
flag. The run reports agree except for their wall-clock fields. The DuckDB side is the
suite's own full build of the small world (`two_runs`, which no test changes), so only
the Spark build is paid for here. Needs Java (tests/setup/ensure_debian_package.sh
installs a JRE)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_run
from tests.e2e.built_runs import engine_commit_of
from tests.e2e.dbt_runner import PROJECT_ROOT, run_dbt
from tests.e2e.test_s3_s4 import engine_commit
from tests.e2e.test_s5_s7 import run_files

pytestmark = pytest.mark.e2e

SEG3A = Path(sys.executable).with_name("seg3a")
WALL_CLOCK_FIELDS = {"started_at_utc", "finished_at_utc", "wall_ms", "ts_utc", "utc_day"}


def require_java() -> None:
    if shutil.which("java") is None:
        # `make test` installs it (tests/setup/ensure_debian_package.sh); CI must never pass by skipping.
        message = "Java not installed (tests/setup/ensure_debian_package.sh installs openjdk-17-jre-headless)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def spark_build(runs_root: Path, work: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update({
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SEG3A_RUNS_ROOT": str(runs_root),
        "SEG3A_RUN_ID": "",
        "SEG3A_DUCKDB": str(work / "seg3a.duckdb"),
        "DBT_LOG_PATH": str(work / "dbt-logs"),
        "DBT_TARGET_PATH": str(work / "dbt-target"),
        "ENGINE_GIT_COMMIT": engine_commit(),
        "SEG3A_SPARK_MASTER": "local[1]",
        "SEG3A_SPARK_DRIVER_MEMORY": "1g",
        # Tiny tables and a short-lived JVM: one shuffle partition instead of eight, no
        # adaptive re-planning, the JIT's quick tier only and the serial collector (about
        # half the JVM's CPU of a build of the small world).
        "SEG3A_SPARK_CONF": "spark.sql.shuffle.partitions=1; spark.sql.adaptive.enabled=false; "
                            "spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        **extra_env,
    })
    command = [str(SEG3A), "build", "--target", "spark", "--work-dir", str(work / "spark")]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200)


def without_wall_clock(value):
    if isinstance(value, dict):
        return {k: without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK_FIELDS}
    if isinstance(value, list):
        return [without_wall_clock(v) for v in value]
    return value


def run_reports(run_root: Path) -> dict[str, object]:
    return {path.relative_to(run_root).as_posix(): without_wall_clock(json.loads(path.read_text()))
            for path in sorted((run_root / "reports" / "layer1" / "3A").rglob("run_report.json"))}


@pytest.fixture(scope="module")
def both_targets(two_runs, small_world, tmp_path_factory) -> tuple[Path, Path]:
    """(DuckDB-built run root, Spark-built run root) of the same world. The Spark build is
    given the engine commit the DuckDB build recorded: the one input the two builds
    would otherwise not share if the checkout moved on between them."""
    require_java()
    runs_root, _databases, seed42, _seed7 = two_runs
    duck_root = runs_root / seed42
    assert duck_root.name == small_world.name
    work = tmp_path_factory.mktemp("spark-target")
    spark_root = copy_run(small_world, work)
    done = spark_build(spark_root.parent, work, ENGINE_GIT_COMMIT=engine_commit_of(duck_root))
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return duck_root, spark_root


def test_every_published_file_is_byte_identical(both_targets):
    duck_root, spark_root = both_targets
    duck, spark = run_files(duck_root), run_files(spark_root)
    published = [f for f in duck if f.startswith(("data/layer1/3A/", "logs/layer1/3A/rng/"))]
    # every 3A dataset and RNG log is there: S1..S5 outputs, the three logs, S6, the bundle
    for dataset in ("s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares", "s4_zone_counts",
                    "zone_alloc/", "zone_universe", "rng/events/zone_dirichlet", "rng/trace", "rng/audit",
                    "s6_validation_report", "validation/"):
        assert any(dataset in f for f in published), dataset
    assert sorted(spark) == sorted(duck)
    differing = [f for f in duck if spark[f] != duck[f]]
    assert differing == []


def test_run_reports_agree_but_for_wall_clock(both_targets):
    duck_root, spark_root = both_targets
    duck, spark = run_reports(duck_root), run_reports(spark_root)
    assert len(duck) == 7 and sorted(spark) == sorted(duck)
    for path, report in duck.items():
        assert spark[path] == report, path


def test_the_per_pair_models_ran_on_spark(both_targets):
    """The Spark build really used Spark: each per-pair model left its Parquet table in
    the build's Spark warehouse."""
    _duck_root, spark_root = both_targets
    warehouse = spark_root.parent.parent / "spark" / "warehouse" / "seg3a.db"
    tables = sorted(p.name for p in warehouse.iterdir())
    assert tables == sorted([
        "int_s1__site_counts_aggregated", "int_s1__pairs_decided", "int_s3__draws",
        "int_s4__pairs_with_shares", "int_s4__zone_counts_integerised", "int_s5__zone_alloc_masked",
    ])
    assert all(list((warehouse / t).glob("*.parquet")) for t in tables)


@pytest.mark.slow
def test_a_failing_spark_wave_fails_the_build_with_its_states_fail_report(small_world, tmp_path):
    """Spark's Python workers cannot start (a cluster whose executors lack the project's
    Python): the S1 decisions wave fails, the command exits non-zero naming the wave and
    the model, and S1's run report is FAIL with an S1 code, as the DuckDB build's
    on-run-end hook would write it; nothing of S1 is published."""
    require_java()
    run_root = copy_run(small_world, tmp_path / "spark")
    done = spark_build(run_root.parent, tmp_path / "spark", PYSPARK_PYTHON=str(tmp_path / "no-python"))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    assert "spark phase 1" in output and "failed nodes: ['int_s1__pairs_decided']" in output, output[-4000:]
    report = json.loads(next(run_root.glob("reports/layer1/3A/state=S1/**/run_report.json")).read_text())
    assert report["status"] == "FAIL" and report["error_code"].startswith("E3A_S1_"), report
    assert not (run_root / "data/layer1/3A/s1_escalation_queue").exists()


@pytest.mark.slow
def test_dbt_alone_on_the_spark_target_says_to_use_the_command(tmp_path):
    """`dbt run --target spark` without `seg3a build` stops at the first model with
    E3A_PLUGIN_CONFIG and the command to use."""
    require_java()
    done = run_dbt(["run", "--target", "spark", "--select", "int_s1__site_counts_aggregated"],
                   tmp_path / "runs", tmp_path / "seg3a.duckdb")
    assert not done.ok
    assert "E3A_PLUGIN_CONFIG: the spark target is run by `seg3a build --target spark`" in done.output, done.output[-3000:]
