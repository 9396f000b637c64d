"""Kill -9 at named points of publication (`SEG3A_FAULT`, seg3a.core.faults) and prove:
nothing partial is visible, every output published before the kill is untouched, the
rerun completes and is byte-identical to an uninterrupted run, and no staging is left.

* S0 runs outside dbt (`seg3a s0`), so every one of its points is killed in turn.
* For S1-S7 a clean full build is traced (`SEG3A_FAULT_TRACE`) to list every point it
  passes; `test_points_cover_every_publication` checks that list covers each dataset,
  log, run report and the bundle. The default suite kills one point per kind of
  publication (a Parquet partition, a JSON document, the RNG log writer, the bundle
  between index and flag, the run report after its dataset), each in a build of the
  state that makes it; `-m slow` kills every traced point in a whole S0-S7 build.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from seg3a.core.faults import FAULT_VARIABLE, TRACE_VARIABLE
from tests.conftest import copy_run
from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import BASELINE, baseline_digests, build, environment
from tests.e2e.test_s5_s7 import FULL, S6_BUILT, SEGMENT, VOLATILE, full_build_trace, snapshot_after

KILLED = -9
STATES_3A = "data/layer1/3A"


# ----------------------------------------------------------------------------- observations
def all_files(run_root: Path) -> dict[str, str]:
    return {p.relative_to(run_root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_root.rglob("*")) if p.is_file() and ".staging" not in p.parts}


def stable(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if not k.startswith(VOLATILE)}


def assert_nothing_partial(run_root: Path) -> None:
    """No stage in any tree a reader globs, every Parquet file and JSON document whole,
    the bundle folder absent or complete, every JSONL line whole."""
    for path in run_root.rglob("*"):
        rel = path.relative_to(run_root)
        if rel.parts[0] == ".staging":
            continue
        assert not path.name.startswith("_tmp."), f"stage visible: {rel}"
        if path.is_file() and path.suffix == ".parquet":
            duckdb.connect().execute(f"select count(*) from read_parquet('{path.as_posix()}')").fetchall()
        elif path.is_file() and path.suffix == ".json":
            json.loads(path.read_bytes())
        elif path.is_file() and path.suffix == ".jsonl":
            data = path.read_bytes()
            assert not data or data.endswith(b"\n"), f"half a line in {rel}"
            for line in data.splitlines():
                json.loads(line)
    for bundle in (run_root / STATES_3A / "validation").glob("*"):
        assert sorted(p.name for p in bundle.iterdir()) == ["_passed.flag", "index.json"], bundle


def assert_untouched(before: dict[str, str], after: dict[str, str]) -> None:
    changed = [k for k, v in stable(before).items() if after.get(k) != v]
    assert not changed, f"outputs published before the kill changed: {changed}"


def assert_no_staging(run_root: Path) -> None:
    staging = run_root / ".staging"
    assert not staging.exists() or not any(staging.iterdir()), sorted(p.name for p in staging.iterdir())


# ----------------------------------------------------------------------------- S0 (no dbt)
S0_TARGETS = ("sealed_inputs", "s0_gate_receipt", "segment_state_runs")
S0_POINTS = [f"{point}@{target}" for target in S0_TARGETS for point in ("staged", "before_rename", "after_rename")]


def run_s0_process(run_root: Path, fault: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (FAULT_VARIABLE, TRACE_VARIABLE)}
    if fault:
        env[FAULT_VARIABLE] = fault
    return subprocess.run([sys.executable, "-m", "seg3a", "s0", "--runs-root", str(run_root.parent),
                           "--run-id", run_root.name], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def s0_reference(small_world, tmp_path_factory) -> dict[str, str]:
    run_root = copy_run(small_world, tmp_path_factory.mktemp("s0-reference"))
    result = run_s0_process(run_root, None)
    assert result.returncode == 0, result.stderr
    return stable(all_files(run_root))


@pytest.mark.parametrize("fault", S0_POINTS)
def test_s0_survives_a_kill(small_world, tmp_path, s0_reference, fault):
    run_root = copy_run(small_world, tmp_path)
    before = all_files(run_root)
    killed = run_s0_process(run_root, fault)
    assert killed.returncode == KILLED, (killed.returncode, killed.stderr[-2000:])
    assert "seg3a fault injection: killing" in killed.stderr
    assert_nothing_partial(run_root)
    assert_untouched(before, all_files(run_root))
    rerun = run_s0_process(run_root, None)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert stable(all_files(run_root)) == s0_reference
    assert_no_staging(run_root)


# ----------------------------------------------------------------------------- S1-S7 (dbt)
def traced_points(project: Seg3aProject) -> list[tuple[str, str]]:
    """(point, target relative to the run root) of one clean full build (the build of
    snapshot s0_s7_full, traced as it was made), in order."""
    snapshot_after(project, FULL)
    root = project.run_root.as_posix() + "/"
    points = []
    for line in full_build_trace(project).read_text().splitlines():
        point, target = line.split(" ", 1)
        points.append((point, target.replace(root, "")))
    return points


PUBLISHED = ("s0_gate_receipt", "sealed_inputs", "s1_escalation_queue", "s2_country_zone_priors", "s3_zone_shares",
             "s4_zone_counts", "zone_alloc/", "zone_universe", "s6_validation_report", "s6_issues", "s6_receipt",
             "validation/", "rng/events", "rng/trace", "rng/audit", "segment_state_runs",
             *(f"state=S{k}/" for k in range(1, 8)))


@pytest.mark.e2e
def test_points_cover_every_publication(s1s2_session):
    points = traced_points(s1s2_session)
    renames = [target for point, target in points if point == "before_rename"]
    for published in PUBLISHED:
        assert any(published in target for target in renames), f"no publish point for {published}"
    kinds = {point for point, _ in points}
    assert kinds == {"staged", "before_rename", "after_rename", "rng_log_writing", "bundle_index_written"}
    print(f"\n{len(points)} fault points in a full S0-S7 build ({len(renames)} publications)")


def kill_then_rerun(project: Seg3aProject, fault: str, reference: dict[str, str],
                    selection: tuple[str, ...] = SEGMENT) -> None:
    """Kill a build of `selection` at `fault`, check what is visible, rerun it: every
    file then equals the uninterrupted full build's (`reference`) and no stage is left."""
    before = all_files(project.run_root)
    with environment(**{FAULT_VARIABLE: fault}):
        killed = build(project, *selection)
    os.environ.pop(FAULT_VARIABLE, None)
    assert not killed.ok and "seg3a fault injection: killing" in killed.output, killed.output[-3000:]
    assert_nothing_partial(project.run_root)
    assert_untouched(before, all_files(project.run_root))
    rerun = build(project, *selection)
    assert rerun.ok, rerun.output[-4000:]
    after = stable(all_files(project.run_root))
    assert len(after) > len(stable(before)), "the rerun published nothing"
    assert {k: reference.get(k) for k in after} == after
    assert_no_staging(project.run_root)


# (fault, snapshot to start from, selection): each kind of publication, killed in a build
# of the state that makes it (a whole S0-S7 build per point is the slow test's job).
REPRESENTATIVE = [
    ("rng_log_writing", "built", ("tag:s3",)),                                # inside the RNG event/trace writer
    ("after_rename@rng/events/", "built", ("tag:s3",)),                      # events published, trace not yet
    ("after_rename@s3_zone_shares/", "built", ("tag:s3",)),                  # shares published, lines staged, not moved
    ("after_rename@s4_zone_counts/", "built", ("tag:s3", "tag:s4")),          # between a dataset and its report
    ("before_rename@zone_alloc/", BASELINE, ("tag:s5",)),                     # a Parquet partition (dbt post-hook)
    ("staged@zone_alloc_universe_hash", BASELINE, ("tag:s5",)),               # a JSON document
    ("bundle_index_written", S6_BUILT, ("tag:s7",)),                          # S7 between index and flag
]


@pytest.fixture
def full_reference(s1s2_session) -> dict[str, str]:
    files = stable(all_files(snapshot_after(s1s2_session, FULL).run_root))
    baseline_digests(s1s2_session)
    snapshot_after(s1s2_session, S6_BUILT)
    return files


@pytest.mark.e2e
@pytest.mark.parametrize("fault, start, selection", REPRESENTATIVE, ids=[r[0] for r in REPRESENTATIVE])
def test_a_build_survives_a_kill(s1s2_session, full_reference, fault, start, selection):
    s1s2_session.restore(start)
    kill_then_rerun(s1s2_session, fault, full_reference, selection)


@pytest.mark.e2e
@pytest.mark.slow
def test_a_build_survives_a_kill_at_every_point(s1s2_session, full_reference):
    points = traced_points(s1s2_session)
    s1s2_session.restore("pristine")
    seen: dict[str, int] = {}
    for point, target in points:
        if target.startswith("reports/layer1/segment_state_runs") or point == "staged":
            continue  # killed via every state's run report and before_rename (same instant)
        spec = f"{point}@{target}"
        seen[spec] = seen.get(spec, 0) + 1
        kill_then_rerun(s1s2_session, f"{spec}#{seen[spec]}", full_reference)
        print(f"killed and recovered: {spec}#{seen[spec]}", flush=True)
        s1s2_session.restore("pristine")
