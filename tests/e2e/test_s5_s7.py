"""S5 to S7 end to end with the real dbt on the small world: a full `dbt build` of the
segment ends with a PASS bundle that `seg3a verify` accepts, one flipped byte in any
member makes `verify` name that member, zone_alloc carries the routing universe hash
of its universe artefact, and a rerun reproduces every file under the run root byte
for byte (run reports and segment_state_runs excepted).

Builds start from the `pristine` snapshot of the session project (conftest.py), with
Z(c) taken from the cached DuckDB file; the stepwise snapshots here (`s6_built`,
`s7_built`) are also what the S5 and S7 negative tests start from."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import sha256_hexcat
from seg3a.core.faults import TRACE_VARIABLE
from seg3a.core.paths import project_root
from seg3a.core.schemas import SchemaPacks
from seg3a.realism import score as realism_score
from seg3a.states import summary, verify
from seg3a.states.s5_digests import PWP_OPTIONS, Z64, masked_zone_alloc_digest
from seg3a.states.s7_members import FLAG_NAME, INDEX_NAME, MEMBERS
from tests.e2e.conftest import Seg3aProject, s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import BASELINE, baseline_digests, build, environment

FULL = "s0_s7_full"
S6_BUILT = "s6_built"
S7_BUILT = "s7_built"
SEGMENT = ("segment3a",)
# Operational files: overwritten or appended per invocation, with wall-clock times.
VOLATILE = ("reports/layer1/3A/", "reports/layer1/segment_state_runs/")


# ----------------------------------------------------------------------------- snapshots
def snapshot_after(project: Seg3aProject, name: str) -> Seg3aProject:
    """Restore `name`, building it first: s6_built = S3/S4 baseline + S5 + S6,
    s7_built = s6_built + S7, s0_s7_full = one full build from pristine, traced: the
    fault points it passed are in `full_build_trace(project)` (the fault-injection tests
    list them; the trace is a file outside the run root and changes no output)."""
    if not (project.snapshots / name).is_dir():
        trace = full_build_trace(project).with_suffix(".partial")
        trace.unlink(missing_ok=True)
        if name == FULL:
            project.restore("pristine")
            selection = SEGMENT
        elif name == S6_BUILT:
            baseline_digests(project)
            project.restore(BASELINE)
            selection = ("tag:s5", "tag:s6")
        else:
            snapshot_after(project, S6_BUILT)
            selection = ("tag:s7",)
        with environment(**({TRACE_VARIABLE: str(trace)} if name == FULL else {})):
            result = build(project, *selection)
        assert result.ok, result.output[-4000:]
        if name == FULL:
            trace.replace(full_build_trace(project))
        project.save(name)
    return project.restore(name)


def full_build_trace(project: Seg3aProject) -> Path:
    """`<point> <target>` per fault point the build of snapshot s0_s7_full passed, in order."""
    return project.work / "fault-trace.txt"


def run_files(run_root: Path) -> dict[str, str]:
    """SHA-256 of every file under the run root, except the operational reports."""
    found = {}
    for path in sorted(p for p in run_root.rglob("*") if p.is_file()):
        rel = path.relative_to(run_root).as_posix()
        if not rel.startswith(VOLATILE):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def full(s1s2_session) -> Seg3aProject:
    return snapshot_after(s1s2_session, FULL)


def verify_run(project: Seg3aProject, capsys) -> tuple[int, str]:
    code = verify.main(["--runs-root", str(project.runs_root), "--run-id", project.run_root.name])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# ----------------------------------------------------------------------------- the writer
def test_masked_digest_uses_the_publishers_writer_settings():
    macro = (project_root() / "macros" / "seg3a_publish_partition.sql").read_text()
    assert f"({PWP_OPTIONS})" in macro


# ----------------------------------------------------------------------------- full build
@pytest.mark.e2e
def test_full_build_ends_with_a_pass_bundle(full):
    for state in ("S1", "S2", "S3", "S4", "S5", "S6", "S7"):
        report = full.report(state)
        assert (report["state"], report["status"], report["error_code"]) == (state, "PASS", None)
        assert report["run_id"] == full.ctx.tokens.run_id
    root = full.path("validation_bundle_3A")
    assert sorted(p.name for p in root.iterdir()) == [FLAG_NAME, INDEX_NAME]
    index = json.loads((root / INDEX_NAME).read_bytes())
    assert [m["logical_id"] for m in index["members"]] == [m.logical_id for m in MEMBERS]
    digest = sha256_hexcat(*(m["sha256_hex"] for m in index["members"]))
    assert (root / FLAG_NAME).read_bytes() == f"sha256_hex = {digest}\n".encode("ascii")
    assert full.report("S7")["digests"]["bundle_digest"] == digest


@pytest.mark.e2e
def test_the_full_build_judged_every_rng_log_early(full):
    """In a build the RNG logs are proven beside S4 and S5 (S6 then takes that verdict
    for the same bytes, tests/negative/test_s6_prejudged_logs.py)."""
    with duckdb.connect(str(full.database), read_only=True) as con:
        rows = con.execute("select logical_id, remembered from int_s6__rng_logs_prejudged order by 1").fetchall()
    assert rows == [("rng_audit_log", True), ("rng_event_zone_dirichlet", True), ("rng_trace_log", True)]


@pytest.mark.e2e
def test_verify_accepts_the_bundle(full, capsys):
    code, output = verify_run(full, capsys)
    assert code == 0, output
    assert output.startswith("PASS 3A bundle")
    bundle = full.path("validation_bundle_3A")
    assert verify.main(["--bundle", str(bundle)]) == 0


@pytest.mark.e2e
def test_zone_alloc_carries_the_universe_hash(full):
    ctx = full.ctx
    universe = json.loads(full.path("zone_alloc_universe_hash").read_bytes())
    table = pq.read_table(full.path("zone_alloc") / "part-00000.parquet")
    assert set(table["routing_universe_hash"].to_pylist()) == {universe["routing_universe_hash"]}
    assert table.num_rows == full.report("S4")["counts"]["zone_rows_total"]
    packs = SchemaPacks.load(ctx.catalogue.root)
    assert packs.validate_table(ctx.catalogue.entry("zone_alloc")["schema_ref"], table) == []
    import duckdb

    masked = masked_zone_alloc_digest(duckdb.connect(), full.path("zone_alloc"))
    assert masked == universe["zone_alloc_parquet_digest"]
    assert Z64 not in table["routing_universe_hash"].to_pylist()
    assert full.report("S5")["digests"]["routing_universe_hash"] == universe["routing_universe_hash"]


@pytest.mark.e2e
def test_summary_reports_a_sealed_run(full, capsys):
    code = summary.main(["--runs-root", str(full.runs_root), "--run-id", full.run_root.name])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "3A SEALED" in text
    for state in ("S0", "S1", "S5", "S7"):
        assert f"  {state}    PASS" in text



@pytest.mark.e2e
def test_realism_scorecard_model_gives_the_score_commands_gate_rows(full, tmp_path, capsys, plots_not_drawn):
    """The dbt model and `seg3a realism score` must report the same gate rows for a run."""
    result = build(full, "realism_scorecard")
    assert result.ok, result.output[-4000:]
    with duckdb.connect(str(full.database), read_only=True) as con:
        modelled = con.execute("select * from realism_scorecard order by gate").fetch_arrow_table()
    out = tmp_path / "score"
    assert realism_score.main(["--runs-root", str(full.runs_root), "--run-id", full.run_root.name,
                               "--out", str(out)]) == 0
    capsys.readouterr()
    scored = pq.read_table(out / "realism_gates.parquet").sort_by("gate")
    assert modelled.column_names == scored.column_names
    assert modelled.to_pylist() == scored.to_pylist()
    # A few of spec 06's gates, by the ids the report uses.
    assert {"S2-top1.median", "S3-std.median", "S4-multi", "CONS.zone_alloc"} <= set(modelled.column("gate").to_pylist())
    assert set(modelled.column("seed").to_pylist()) == {full.ctx.tokens.seed}


# ----------------------------------------------------------------------------- tampering
def _flip_one_byte(path: Path) -> tuple[Path, int]:
    data = bytearray(path.read_bytes())
    position = len(data) // 2
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    return path, position


def _member_file(project: Seg3aProject, logical_id: str) -> Path:
    location = project.run_root / project.ctx.catalogue_path(logical_id).rstrip("/")
    if "*" in location.name:
        return sorted(location.parent.glob(location.name))[0]
    return sorted(location.rglob("*.parquet"))[0] if location.is_dir() else location


@pytest.mark.e2e
@pytest.mark.parametrize("logical_id", [m.logical_id for m in MEMBERS])
def test_one_flipped_byte_fails_verify_naming_the_member(full, logical_id, capsys):
    path, position = _flip_one_byte(_member_file(full, logical_id))
    code, output = verify_run(full, capsys)
    assert code == 1
    assert f"FAIL member {logical_id} " in output, output
    _flip_one_byte(path)  # flipped back: the bundle verifies again
    assert verify_run(full, capsys)[0] == 0


@pytest.mark.e2e
def test_flag_and_index_tampering_fail_verify(full, capsys):
    root = full.path("validation_bundle_3A")
    flag = root / FLAG_NAME
    flag.write_bytes(b"sha256_hex = " + b"0" * 64 + b"\n")
    code, output = verify_run(full, capsys)
    assert code == 1 and "_passed.flag mismatch" in output, output
    flag.unlink()
    assert verify_run(full, capsys)[0] == 1


@pytest.mark.e2e
def test_member_moved_out_of_its_dictionary_path_fails_verify(full, capsys):
    """An index that still lists the right digests but points a member at another copy."""
    root = full.path("validation_bundle_3A")
    index = json.loads((root / INDEX_NAME).read_bytes())
    original = full.path("zone_alloc_universe_hash")
    elsewhere = full.run_root / "data/elsewhere/zone_alloc_universe_hash.json"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(original.read_bytes())
    index["members"][-1]["path"] = "data/elsewhere/zone_alloc_universe_hash.json"
    (root / INDEX_NAME).write_bytes(cj_bytes(index))
    code, output = verify_run(full, capsys)
    assert code == 1
    assert "FAIL member zone_alloc_universe_hash path data/elsewhere/" in output, output


# ----------------------------------------------------------------------------- determinism
# A rerun of the whole build on the full snapshot leaves every file byte-identical and S5
# and S7 PASS: tests/e2e/test_stale_staging.py, whose rerun also sweeps the stale stages a
# killed run may leave (outside every published file), asserts it.


@pytest.mark.e2e
def test_fresh_and_stepwise_builds_are_byte_identical(s1s2_session):
    stepwise = run_files(snapshot_after(s1s2_session, S7_BUILT).run_root)
    fresh = run_files(snapshot_after(s1s2_session, FULL).run_root)
    assert fresh == stepwise
