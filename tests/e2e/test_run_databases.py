"""One DuckDB database per run, and `seg3a shell` on it, with real dbt builds.

Two worlds (seeds 42 and 7) share one runs root. Seed 42 is built in full by run id,
then seed 7 (the newest run, so the default) up to S1: each lands in its own
`<database dir>/<run_id>/seg3a.duckdb`, and seed 42's tables are still seed 42's. The
shell then answers queries over zone_alloc, a staging view, a contract-named input and a
spatial function without any dbt process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


pytestmark = pytest.mark.e2e
SEG3A = Path(sys.executable).with_name("seg3a")


def shell(runs_root: Path, databases: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEG3A_RUNS_ROOT": str(runs_root), "SEG3A_DUCKDB_DIR": str(databases),
           "SEG3A_RUN_ID": ""}
    env.pop("SEG3A_DUCKDB", None)
    return subprocess.run([str(SEG3A), "shell", *args], env=env, capture_output=True, text=True, timeout=300)


def test_each_run_has_its_own_database(two_runs):
    _runs_root, databases, seed42, seed7 = two_runs
    assert sorted(p.name for p in databases.iterdir() if p.is_dir()) == sorted([seed42, seed7])
    with duckdb.connect(str(databases / seed42 / "seg3a.duckdb"), read_only=True) as conn:
        assert conn.execute("select distinct seed from s0_gate_receipt_3A").fetchall() == [(42,)]
        assert conn.execute("select count(*) from zone_alloc").fetchone()[0] > 0
    with duckdb.connect(str(databases / seed7 / "seg3a.duckdb"), read_only=True) as conn:
        assert conn.execute("select distinct seed from s0_gate_receipt_3A").fetchall() == [(7,)]
        tables = {row[0] for row in conn.execute("select table_name from information_schema.tables").fetchall()}
        assert "s1_escalation_queue" in tables and "zone_alloc" not in tables


def test_shell_answers_zone_alloc_staging_and_spatial_queries(two_runs):
    runs_root, databases, seed42, _seed7 = two_runs
    with duckdb.connect(str(databases / seed42 / "seg3a.duckdb"), read_only=True) as conn:
        rows = conn.execute("select count(*) from zone_alloc").fetchone()[0]
        # the run's dataset locations are macros of its database: a plain connection reads
        # the staging views too
        plain_staging = conn.execute("select count(*) from stg_1a__outlet_catalogue").fetchone()[0]
        outlets = conn.execute("select sum(site_count) from s1_escalation_queue").fetchone()[0]
    queries = ";\n".join([
        "select 'zone_alloc', count(*) from zone_alloc",
        "select 'staging', count(*) from stg_1a__outlet_catalogue",
        "select 'input', count(*) from outlet_catalogue",
        "select 'spatial', count(*) from stg_ref__world_countries where st_area(geom) > 0",
        "select distinct 'seed', seed from s1_escalation_queue",
    ])
    done = shell(runs_root, databases, "--run-id", seed42, "-c", queries + ";", "--", "-csv", "-noheader")
    assert done.returncode == 0, done.stderr
    answers = dict(line.split(",", 1) for line in done.stdout.split())
    assert int(answers["zone_alloc"]) == rows > 0
    assert int(answers["staging"]) == int(answers["input"]) == outlets == plain_staging > 0
    assert int(answers["spatial"]) > 100
    assert answers["seed"] == "42"


def test_shell_defaults_to_the_newest_run(two_runs):
    runs_root, databases, _seed42, _seed7 = two_runs
    done = shell(runs_root, databases, "-c", "select distinct seed from s1_escalation_queue;", "--", "-csv", "-noheader")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7"]


def test_shell_names_an_unknown_run_and_the_runs_present(two_runs):
    runs_root, databases, seed42, seed7 = two_runs
    done = shell(runs_root, databases, "--run-id", "deadbeef", "-c", "select 1;")
    assert done.returncode == 2
    assert "no run deadbeef" in done.stderr and seed42 in done.stderr and f"{seed7} (newest)" in done.stderr
    assert "Traceback" not in done.stderr


def test_published_tables_have_the_documented_columns(two_runs):
    """The column lists the docs cover (the models' YAML) are the built tables' columns."""
    from seg3a.core.catalogue import Catalogue
    from seg3a.docs.columns import model_columns, published_datasets

    _runs_root, databases, seed42, _seed7 = two_runs
    with duckdb.connect(str(databases / seed42 / "seg3a.duckdb"), read_only=True) as conn:
        for dataset_id in published_datasets(Catalogue()):
            built = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                [dataset_id]).fetchall()]
            assert built == model_columns(dataset_id), dataset_id


BUILD_HOLDING_DATABASE = """
import sys, time
from pathlib import Path
import duckdb
from seg3a.core.locks import acquire, database_lock_path
acquire(database_lock_path(Path(sys.argv[1])), "DuckDB file " + sys.argv[1], 0)
conn = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def test_shell_names_the_build_holding_the_database(two_runs):
    """A build holds its database read-write (and the seg3a lock beside it, recording its
    command): the shell says so in one line instead of DuckDB's raw error inside the CLI,
    and `--no-database` still answers from the run's files."""
    runs_root, databases, seed42, _seed7 = two_runs
    database = databases / seed42 / "seg3a.duckdb"
    build = subprocess.Popen([sys.executable, "-c", BUILD_HOLDING_DATABASE, str(database)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert build.stdout.readline().strip() == "held"
        refused = shell(runs_root, databases, "--run-id", seed42, "-c", "select 1;")
        files_only = shell(runs_root, databases, "--run-id", seed42, "--no-database", "-c",
                           "select count(*) from zone_alloc;", "--", "-csv", "-noheader")
    finally:
        build.kill()
        build.wait()
        build.stdout.close()
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"seg3a shell: E3A_BUILD_LOCKED: DuckDB file {database} is open in another "
                                     f"process: pid {build.pid} on "), refused.stderr
    assert f"(-c {database})" in refused.stderr and "| fix: " in refused.stderr and "seg3a shell --no-database" in refused.stderr
    assert "Could not set lock" not in refused.stderr + refused.stdout and "Traceback" not in refused.stderr
    assert files_only.returncode == 0, files_only.stderr
    assert int(files_only.stdout.split()[0]) > 0
