"""A failed `dbt build --select segment3a` ends with one coded line per failed model and
the fix to try, no Python traceback on the terminal; the trace is in the dbt log.
Real dbt builds on the small world (each stops at S0, so they are short).

The builds go through the tests' fork server: after a failed build it prints the failed
nodes, their messages and fixes as the `dbt` command does, and the command prints no
traceback (tests/e2e/test_dbt_forkserver.py,
`test_a_failed_build_gives_the_same_code_and_message`, on this module's failed gate). A
case costs its build, not dbt's import and the project's parse."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from seg3a.core.identity import RECEIPT_NAME
from seg3a.world import corrupt as corruption
from tests.conftest import context_of
from tests.e2e.dbt_runner import run_dbt

pytestmark = pytest.mark.e2e
SEGMENT = ["build", "--select", "segment3a"]
CLOCK_TIME = re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?\s+")
DURATION = re.compile(r"\d+(\.\d+)?s\b|\d+ hours \d+ minutes and \d+(\.\d+)? seconds")


def tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def failure_report(output: str) -> list[str]:
    """What dbt prints after a failed build's "Completed with N errors" line up to its
    "Done." line (the failed nodes, their messages and fixes, the counts), without clock
    times and durations. N is left out: besides the failed model it counts skipped data
    tests whose ephemeral inputs dbt compiled meanwhile, which depends on the timing of its
    threads (the command gave 1 and 7 for the same failed gate)."""
    lines = [CLOCK_TIME.sub("", line) for line in output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Completed with "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Done. "))
    return [DURATION.sub("<time>", line) for line in lines[start + 1:end + 1]]


def assert_readable(result, log_folder: Path, *expected: str) -> str:
    assert not result.ok
    assert "Traceback" not in result.output
    end = tail(result.output)
    for text in expected:
        assert text in end, end
    assert "| fix: " in end, end
    assert "Traceback" in (log_folder / "dbt-logs" / "dbt.log").read_text()  # the trace is kept there
    return end


def break_gate(run_root: Path) -> None:
    corruption.apply(corruption.parse("flipped_byte:1B"), context_of(run_root).path("validation_bundle_1B"))


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
    break_gate(world_copy)
    result = run_dbt(SEGMENT, world_copy.parent, tmp_path / "seg3a.duckdb")
    assert_readable(result, tmp_path, "E3A_S0_001_UPSTREAM_GATE_FAILED", "regenerate the world (make world)")
