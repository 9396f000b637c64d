"""A failed `dbt build --select segment3a` ends with one coded line per failed model and
the fix to try, no Python traceback on the terminal; the trace is in the dbt log.
Real dbt builds on the small world (each stops at S0, so they are short)."""
from __future__ import annotations

from pathlib import Path

import pytest

from seg3a.core.identity import RECEIPT_NAME
from seg3a.world import corrupt as corruption
from tests.conftest import context_of
from tests.e2e.dbt_runner import PROCESS_SWITCH, run_dbt

pytestmark = pytest.mark.e2e
SEGMENT = ["build", "--select", "segment3a"]


@pytest.fixture(autouse=True)
def command_line(monkeypatch):
    """What a user sees at the terminal: the `dbt` command itself, not the tests' fork server."""
    monkeypatch.setenv(PROCESS_SWITCH, "1")


def tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def assert_readable(result, tmp_path: Path, *expected: str) -> str:
    assert not result.ok
    assert "Traceback" not in result.output
    end = tail(result.output)
    for text in expected:
        assert text in end, end
    assert "| fix: " in end, end
    assert "Traceback" in (tmp_path / "dbt-logs" / "dbt.log").read_text()  # the trace is kept there
    return end


def test_unknown_run_id_names_it_and_the_runs_present(world_copy, tmp_path):
    result = run_dbt(SEGMENT, world_copy.parent, tmp_path / "duckdb", run_id="deadbeef", per_run=True)
    assert_readable(result, tmp_path, "E3A_S0_010_INFRASTRUCTURE_IO_ERROR", "no run deadbeef",
                    f"runs here: {world_copy.name} (newest)", "set SEG3A_RUN_ID to one of the runs here")
    assert not (tmp_path / "duckdb" / "deadbeef").exists()  # no database named after a run that is not there


def test_no_world_says_to_generate_one(tmp_path):
    result = run_dbt(SEGMENT, tmp_path / "runs", tmp_path / "duckdb", per_run=True)
    assert_readable(result, tmp_path, "no run receipt under", "fix: generate a world first: make world")
    assert "Cannot open file" not in result.output


def test_missing_receipt_names_the_run(world_copy, tmp_path):
    (world_copy / RECEIPT_NAME).unlink()
    result = run_dbt(SEGMENT, world_copy.parent, tmp_path / "duckdb", run_id=world_copy.name, per_run=True)
    assert_readable(result, tmp_path, f"run {world_copy.name} has no usable {RECEIPT_NAME}", "run_receipt_invalid")


def test_a_failed_gate_shows_its_code_and_fix(world_copy, tmp_path):
    corruption.apply(corruption.parse("flipped_byte:1B"), context_of(world_copy).path("validation_bundle_1B"))
    result = run_dbt(SEGMENT, world_copy.parent, tmp_path / "seg3a.duckdb")
    assert_readable(result, tmp_path, "E3A_S0_001_UPSTREAM_GATE_FAILED", "regenerate the world (make world)")
