"""S7's RNG-log member validation (spec 04 §3.2, E3A_S7_002) reads each log in bounded
batches; the verdict and message are those of the whole log at once, wherever the
faulty line falls. Small batches (a few lines each) on the small world after S5."""
from __future__ import annotations

import json

import pytest

from seg3a.states import s7_bundle
from seg3a.states.common import StateFailure, schema_packs
from tests.dbt_fixtures.s6_project import s5_done, s6_session  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e
LOGS = ("rng_event_zone_dirichlet", "rng_trace_log", "rng_audit_log")
SMALL_BATCH = 2_000  # bytes: a few lines per batch


def entries(project) -> dict[str, s7_bundle.MemberEntry]:
    return {e.member.logical_id: e for e in s7_bundle.member_entries(project.ctx) if e.member.logical_id in LOGS}


def outcome(project, logical_id: str, batch_bytes: int) -> str:
    ctx = project.ctx
    try:
        s7_bundle.validate_log(schema_packs(str(ctx.catalogue.root)), entries(project)[logical_id], False, batch_bytes)
    except StateFailure as exc:
        return str(exc)
    return "valid"


def test_intact_logs_pass_in_small_batches(s5_done):
    found = entries(s5_done)
    assert set(found) == set(LOGS)
    (event_file,) = s7_bundle.log_files(found["rng_event_zone_dirichlet"].location)
    batches = list(s7_bundle.log_batches([event_file], SMALL_BATCH))
    assert len(batches) > 3  # really batched
    assert b"\n".join(line for batch in batches for line in batch) == event_file.read_bytes().rstrip(b"\n")
    for logical_id in LOGS:
        assert outcome(s5_done, logical_id, SMALL_BATCH) == "valid", logical_id


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_faulty_line_gives_the_whole_log_verdict(s5_done, where):
    (path,) = s7_bundle.log_files(entries(s5_done)["rng_event_zone_dirichlet"].location)
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    index = 0 if where == "first" else len(lines) - 1
    record = json.loads(lines[index])
    record["draws"] = "many"  # a string where the schema wants a decimal-integer text or number
    record["unexpected"] = 1
    lines[index] = json.dumps(record).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    whole = outcome(s5_done, "rng_event_zone_dirichlet", 1 << 40)
    assert whole.startswith("E3A_S7_002") and "log line fails" in whole
    assert outcome(s5_done, "rng_event_zone_dirichlet", SMALL_BATCH) == whole
