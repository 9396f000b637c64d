"""The tests' dbt fork server (tests/e2e/dbt_forkserver.py) behaves as the `dbt` command:
a whole build publishes the same bytes, a failed build gives the same exit code and
failure report (failed nodes, coded messages, fixes), a killed build reports the kill.
Each case runs both ways on copies of the same small world; the forked whole build is
the suite's shared one (`two_runs`, seed 42, built through the fork server), so only the
command's build is paid for here."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from seg3a.core.faults import FAULT_VARIABLE
from tests.conftest import copy_run
from tests.e2e.built_runs import engine_commit_of, full_build_results
from tests.e2e.dbt_runner import PROCESS_SWITCH, run_dbt
from tests.e2e.test_readable_failures import assert_readable, break_gate, failure_report
from tests.e2e.test_s3_s4 import engine_commit, environment
from tests.e2e.test_s5_s7 import run_files

pytestmark = pytest.mark.e2e
SEGMENT = ["build", "--select", "segment3a"]


def both_ways(small_world: Path, tmp_path: Path, args: list[str], prepare=lambda run_root: None):
    """(result, run root) of the command through the fork server, then as a subprocess."""
    outcomes = []
    for way, switch in (("forked", "0"), ("command", "1")):
        run_root = copy_run(small_world, tmp_path / way)
        prepare(run_root)
        with environment(**{PROCESS_SWITCH: switch}, ENGINE_GIT_COMMIT=engine_commit()):
            outcomes.append((run_dbt(args, run_root.parent, tmp_path / way / "seg3a.duckdb"), run_root))
    return outcomes


def test_a_build_publishes_the_same_bytes(two_runs, small_world, tmp_path):
    if os.environ.get(PROCESS_SWITCH) == "1":
        pytest.skip(f"{PROCESS_SWITCH}=1: the shared build ran as the command too")
    runs_root, _databases, seed42, _seed7 = two_runs
    forked_root = runs_root / seed42
    command_root = copy_run(small_world, tmp_path)
    with environment(**{PROCESS_SWITCH: "1"}, ENGINE_GIT_COMMIT=engine_commit_of(forked_root)):
        command = run_dbt(SEGMENT, command_root.parent, tmp_path / "duckdb", run_id=seed42, per_run=True)
    assert command.ok, command.output[-3000:]
    files = run_files(forked_root)
    assert any(name.endswith("_passed.flag") for name in files)
    assert files == run_files(command_root)
    # the run results dbt writes (the fork server writes them itself, see there)
    forked_results = node_statuses(full_build_results(runs_root))
    command_results = node_statuses(tmp_path / "dbt-target" / "run_results.json")
    assert len(forked_results) > 90 and forked_results == command_results


def node_statuses(run_results: Path) -> dict[str, str]:
    results = json.loads(run_results.read_bytes())["results"]
    return {r["unique_id"]: r["status"] for r in results}


def test_a_failed_build_gives_the_same_code_and_message(small_world, tmp_path):
    """The failed gate of tests/e2e/test_readable_failures.py, whose cases run through the
    fork server: the command prints the same failure report, readable, with no traceback."""
    (forked, _), (command, _) = both_ways(small_world, tmp_path, SEGMENT, break_gate)
    assert forked.returncode == command.returncode == 1
    coded = "E3A_S0_001_UPSTREAM_GATE_FAILED"
    assert coded in forked.output and coded in command.output
    assert_readable(command, tmp_path / "command", coded, "regenerate the world (make world)")
    reports = [failure_report(result.output.replace(str(tmp_path / way), "<work>"))
               for way, result in (("forked", forked), ("command", command))]
    assert reports[0] == reports[1], f"forked:\n{forked.output[-3000:]}\ncommand:\n{command.output[-3000:]}"
    assert any(coded in line for line in reports[0])


def test_a_killed_build_reports_the_kill(small_world, tmp_path):
    with environment(**{FAULT_VARIABLE: "after_rename@sealed_inputs"}):
        (forked, _), (command, _) = both_ways(small_world, tmp_path, ["build", "--select", "s0_gate_receipt_3A"])
    assert forked.returncode == command.returncode == -9
    assert "seg3a fault injection: killing" in forked.output
