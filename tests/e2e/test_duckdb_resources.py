"""DuckDB's memory limit, thread count and temp directory are knobs of the profile
(SEG3A_DUCKDB_MEMORY_LIMIT / _THREADS / _TEMP_DIR, profiles.yml): they reach the database
dbt works in, a bad value stops the build naming the variable, and the run-root files
are the same bytes under any of them (the operational run reports excepted: they carry
wall times) as under DuckDB's defaults: the suite's shared build of the small world
(`two_runs`, seed 42, no knob set: all cores, DuckDB's memory limit and temp directory)."""
from __future__ import annotations

import pytest

from seg3a.core.paths import default_external_root
from seg3a.world.generate import generate_world
from tests.conftest import copy_run
from tests.e2e.built_runs import engine_commit_of
from tests.e2e.dbt_runner import run_dbt as run_dbt_per_run
from tests.e2e.conftest import run_dbt
from tests.e2e.test_s3_s4 import environment
from tests.e2e.test_s5_s7 import run_files

pytestmark = pytest.mark.e2e

LEAN = {"SEG3A_DUCKDB_MEMORY_LIMIT": "300MB", "SEG3A_DUCKDB_THREADS": "1", "SEG3A_DUCKDB_TEMP_DIR": "{spill}"}
AMPLE = {"SEG3A_DUCKDB_MEMORY_LIMIT": "6GB", "SEG3A_DUCKDB_THREADS": "4", "SEG3A_DUCKDB_TEMP_DIR": ""}


@pytest.mark.parametrize("knobs", [LEAN, pytest.param(AMPLE, marks=pytest.mark.slow)], ids=["lean", "ample"])
def test_outputs_are_the_same_bytes_under_any_resource_settings(two_runs, small_world, tmp_path, knobs):
    runs_root, _databases, seed42, _seed7 = two_runs
    default_root = runs_root / seed42
    run_root = copy_run(small_world, tmp_path)
    settings = {name: value.format(spill=tmp_path / "spill") for name, value in knobs.items()}
    with environment(**settings, ENGINE_GIT_COMMIT=engine_commit_of(default_root)):
        result = run_dbt_per_run(["build", "--select", "segment3a"], run_root.parent, tmp_path / "duckdb",
                                 run_id=seed42, per_run=True)
    assert result.ok, result.output[-4000:]
    built, default = run_files(run_root), run_files(default_root)
    assert any(name.endswith("_passed.flag") for name in built)
    assert built == default, sorted(set(built.items()) ^ set(default.items()))[:6]


def test_settings_reach_the_database_dbt_uses(tmp_path):
    runs = tmp_path / "runs"
    generate_world(42, 300, runs, default_external_root(), progress=lambda _line: None)
    spill = tmp_path / "spill"
    query = ("select current_setting('memory_limit') as m, current_setting('threads') as t, "
             f"current_setting('temp_directory') = '{spill}' as d")
    with environment(SEG3A_DUCKDB_MEMORY_LIMIT="1GiB", SEG3A_DUCKDB_THREADS="3",
                     SEG3A_DUCKDB_TEMP_DIR=str(spill)):
        result = run_dbt(["show", "--inline", query], runs, tmp_path / "seg3a.duckdb", tmp_path)
    assert result.ok, result.output[-4000:]
    row = next(line for line in result.output.splitlines() if "GiB" in line and "|" in line)
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    assert cells == ["1.0 GiB", "3", "True"]


@pytest.mark.parametrize("variable, value", [("SEG3A_DUCKDB_MEMORY_LIMIT", "lots"), ("SEG3A_DUCKDB_THREADS", "two")])
def test_a_bad_setting_stops_the_build_naming_the_variable(tmp_path, variable, value):
    runs = tmp_path / "runs"
    generate_world(42, 300, runs, default_external_root(), progress=lambda _line: None)
    with environment(**{variable: value}):
        result = run_dbt(["build", "--select", "s0_gate_receipt_3A"], runs, tmp_path / "seg3a.duckdb", tmp_path)
    assert not result.ok
    assert "E3A_PLUGIN_CONFIG" in result.output and variable in result.output and value in result.output


def test_settings_reach_the_connections_s6_opens_of_its_own(tmp_path, monkeypatch):
    """S6 sorts the masked zone_alloc and counts pairs outside dbt's database: under the
    same limits, or a large world's S6 ignores the memory limit."""
    from seg3a.states.s6_preconditions import private_connection

    spill = tmp_path / "spill"
    monkeypatch.setenv("SEG3A_DUCKDB_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("SEG3A_DUCKDB_THREADS", "3")
    monkeypatch.setenv("SEG3A_DUCKDB_TEMP_DIR", str(spill))
    conn = private_connection()
    try:
        row = conn.execute("select current_setting('memory_limit'), current_setting('threads'), "
                           "current_setting('temp_directory')").fetchone()
    finally:
        conn.close()
    assert row == ("1.0 GiB", 3, str(spill))
