"""Property-based fuzzing through real `dbt build`s of a tiny world (Hypothesis,
derandomized): one random single corruption of the world or a policy (a value out of
range, a duplicated key, a duplicated or dropped row, a changed byte, a renamed file, a
wrong type), then the build. Property: either the build passes and its invariants hold
(every pair's zone counts sum to its site count, every pair's shares sum to 1, `seg3a
verify` accepts the bundle), or it fails with an E3A code and nothing invalid is
published (no `_passed.flag`, S7 not PASS).

Each case builds S0 (and what it needs) first: most corruptions are refused there, and
then nothing downstream could run; when S0 passes, the whole S0-S7 build follows and
decides. The world is the smallest the generator makes (`tiny_session`, MIN_PAIRS pairs)
and dbt runs through the tests' fork server, so a case costs about a second when S0
refuses and a few when it builds.

The default suite runs one explicit case of every kind (so each kind is exercised
whatever the derandomized draw holds; one of them a whole S0-S7 build with `verify`)
and 6 generated cases; `-m slow` runs 120 generated cases."""
from __future__ import annotations

import json
import re

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from seg3a.states import verify
from tests.e2e.conftest import Seg3aProject, load_policy, rewrite_outlets, tiny_session, write_policy  # noqa: F401
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s5_s7 import SEGMENT

S0_AND_ITS_INPUTS = ("+tag:s0",)
DEFAULT_CASES, SLOW_CASES = 6, 120
CODE = re.compile(r"E3A_S[0-7]_[0-9]{3}_[A-Z0-9_]+")


def flip_byte(path, position: float) -> None:
    data = bytearray(path.read_bytes())
    data[int(position * (len(data) - 1))] ^= 0x20
    path.write_bytes(bytes(data))


def corrupt(project: Seg3aProject, kind: str, knob: float) -> None:
    if kind == "theta_mix_changed":  # any value of its range: the build goes through S7
        mixture = load_policy(project, "zone_mixture_policy")
        mixture["theta_mix"] = knob
        write_policy(project, "zone_mixture_policy", mixture)
    elif kind == "theta_mix_out_of_range":
        mixture = load_policy(project, "zone_mixture_policy")
        mixture["theta_mix"] = [-1.0, 0.05, 0.71, 2.0][int(knob * 3.99)]
        write_policy(project, "zone_mixture_policy", mixture)
    elif kind == "policy_duplicate_key":  # a second top-level `version` in one of the three policies
        policy = POLICIES[int(knob * (len(POLICIES) - 0.01))]
        project.override(policy).write_bytes(project.path(policy).read_bytes() + b"version: v9.9.9\n")
    elif kind == "outlet_row_duplicated":
        rewrite_outlets(project, lambda t: pa.concat_tables([t.slice(int(knob * (t.num_rows - 1)), 1), t]))
    elif kind == "outlet_row_dropped":
        row = int(knob * 100)
        rewrite_outlets(project, lambda t: pa.concat_tables([t.slice(0, row), t.slice(row + 1)]))
    elif kind == "outlet_byte_flipped":
        flip_byte(sorted(project.path("outlet_catalogue").glob("*.parquet"))[0], knob)
    elif kind == "bundle_member_byte_flipped":
        members = sorted(p for p in project.path("validation_bundle_1A").iterdir() if p.name != "_passed.flag")
        flip_byte(members[int(knob * (len(members) - 1))], 0.5)
    elif kind == "outlet_file_renamed":
        part = sorted(project.path("outlet_catalogue").glob("*.parquet"))[0]
        part.rename(part.with_name("part-00099.parquet"))
    elif kind == "site_order_as_int64":
        def retype(table):
            index = table.schema.get_field_index("site_order")
            return table.set_column(index, pa.field("site_order", pa.int64()), table["site_order"].cast(pa.int64()))
        rewrite_outlets(project, retype, cast=False)
    else:
        raise AssertionError(kind)


POLICIES = ("zone_mixture_policy", "country_zone_alphas", "zone_floor_policy")
KINDS = ("theta_mix_changed", "theta_mix_out_of_range", "policy_duplicate_key", "outlet_row_duplicated", "outlet_row_dropped",
         "outlet_byte_flipped", "bundle_member_byte_flipped", "outlet_file_renamed", "site_order_as_int64")


def invariants_hold(project: Seg3aProject) -> None:
    scan = lambda d: f"read_parquet('{project.path(d).as_posix()}/*.parquet', hive_partitioning = false)"  # noqa: E731
    conn = duckdb.connect()
    unbalanced = conn.execute(
        f"select count(*) from (select merchant_id, legal_country_iso, sum(zone_site_count) as n "
        f"from {scan('zone_alloc')} group by all) as z join {scan('s1_escalation_queue')} as q "
        f"using (merchant_id, legal_country_iso) where z.n <> q.site_count").fetchone()[0]
    assert unbalanced == 0
    off = conn.execute(f"select count(*) from (select merchant_id, legal_country_iso, sum(share_drawn) as s "
                       f"from {scan('s3_zone_shares')} group by all) where abs(s - 1) > 1e-9").fetchone()[0]
    assert off == 0
    assert verify.main(["--runs-root", str(project.runs_root), "--run-id", project.run_root.name]) == 0


def failed_with_a_code(project: Seg3aProject, output: str) -> None:
    rows = [json.loads(line) for path in (project.run_root / "reports").rglob("segment_state_runs.jsonl")
            for line in path.read_text().splitlines() if line]
    codes = [row.get("error_code") for row in rows if row.get("status") == "FAIL"]
    assert codes and all(CODE.fullmatch(code or "") for code in codes), (codes, output[-2000:])
    flags = list((project.run_root / "data/layer1/3A/validation").glob("*/_passed.flag"))
    assert flags == [], "a failed build published a PASS flag"
    s7 = project.path("s7_run_report_3A")
    assert not s7.is_file() or json.loads(s7.read_bytes())["status"] != "PASS"


def check_case(project: Seg3aProject, kind: str, knob: float) -> None:
    project.restore("pristine")
    corrupt(project, kind, knob)
    gate = build(project, *S0_AND_ITS_INPUTS)
    result = build(project, *SEGMENT) if gate.ok else gate
    if result.ok:
        invariants_hold(project)
    else:
        failed_with_a_code(project, result.output)


def every_kind(test):
    """One explicit case of each kind; theta_mix 0.35 (the committed value) gives a whole
    S0-S7 build whose invariants and bundle are checked in every run."""
    knobs = {"theta_mix_changed": 0.35, "theta_mix_out_of_range": 1.0}
    for kind in reversed(KINDS):
        test = example(kind=kind, knob=knobs.get(kind, 0.5))(test)
    return test


def profile(cases: int):
    return settings(max_examples=cases, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.e2e
@profile(DEFAULT_CASES)
@given(kind=st.sampled_from(KINDS), knob=st.floats(0, 1))
@every_kind
def test_a_corrupted_build_passes_with_its_invariants_or_fails_coded(tiny_session, kind, knob):
    check_case(tiny_session, kind, knob)


@pytest.mark.e2e
@pytest.mark.slow
@profile(SLOW_CASES)
@given(kind=st.sampled_from(KINDS), knob=st.floats(0, 1))
def test_many_corrupted_builds(tiny_session, kind, knob):
    check_case(tiny_session, kind, knob)
