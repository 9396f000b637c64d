"""DuckDB's memory limit, thread count and temp directory are knobs of the profile
(SEG3A_DUCKDB_MEMORY_LIMIT / _THREADS / _TEMP_DIR, profiles.yml): they reach the database
dbt works in, a bad value stops the build naming the variable, and the run-root files
are the same bytes under any of them (the operational run reports excepted: they carry
wall times)."""
from __future__ import annotations

from pathlib import Path

import pytest

from seg3a.core.paths import default_external_root
from seg3a.world.generate import generate_world
from tests.e2e.conftest import build_zone_universe, run_dbt
from tests.e2e.test_s3_s4 import environment
from tests.e2e.test_s5_s7 import run_files

pytestmark = pytest.mark.e2e

KNOBS = ("SEG3A_DUCKDB_MEMORY_LIMIT", "SEG3A_DUCKDB_THREADS", "SEG3A_DUCKDB_TEMP_DIR")


def build_world(base: Path, kept: Path, **knobs: str) -> dict[str, str]:
    """The world built at `base` (the same paths each time: the receipt names its runs
    root), then moved to `kept`."""
    runs = base / "runs"
    run_root = generate_world(42, 300, runs, default_external_root(), progress=lambda _line: None)
    with environment(**knobs):
        result = run_dbt(["build", "--select", "segment3a"], runs, base / "seg3a.duckdb", base)
    assert result.ok, result.output[-4000:]
    base.rename(kept)
    return run_files(kept / "runs" / run_root.name)


def test_outputs_are_the_same_bytes_under_any_resource_settings(tmp_path):
    build_zone_universe(tmp_path / "zc")  # the Z(c) overlay stored before the timed builds
    lean = build_world(tmp_path / "build", tmp_path / "lean", SEG3A_DUCKDB_MEMORY_LIMIT="300MB",
                       SEG3A_DUCKDB_THREADS="1", SEG3A_DUCKDB_TEMP_DIR=str(tmp_path / "spill"))
    ample = build_world(tmp_path / "build", tmp_path / "ample", SEG3A_DUCKDB_MEMORY_LIMIT="6GB",
                        SEG3A_DUCKDB_THREADS="4", SEG3A_DUCKDB_TEMP_DIR="")
    assert any(name.endswith("_passed.flag") for name in lean)
    assert lean == ample, sorted(set(lean.items()) ^ set(ample.items()))[:6]


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
