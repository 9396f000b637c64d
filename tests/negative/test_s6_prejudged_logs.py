"""The RNG logs judged early (int_s6__rng_logs_prejudged, s6_preconditions.judge_logs_early)
and S6's RNG-log precondition (spec 04 §2.1, E3A_S6_001) taking that verdict.

The early judgement only remembers, in this process, logs every line of which a line
template proved, by the SHA-256 and sizes of the bytes judged; it never fails. S6 hashes
the logs when it runs and takes the verdict only for those same bytes: a log changed,
truncated, re-split or removed after the early judgement is judged again by S6, whose
failure is then exactly the failure S6 reports with nothing judged early. Run on the
small world after S5, calling both directly, the early judgement in this process and by
a worker process (as a large log is)."""
from __future__ import annotations

import pytest

from seg3a.core import jsonl_check
from seg3a.states import s6_preconditions
from seg3a.states.common import StateFailure
from tests.dbt_fixtures.s6_project import s5_done, s6_session  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e

LOGS = {"rng_event_zone_dirichlet", "rng_trace_log", "rng_audit_log"}


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch):
    """Each test starts with no log proven and no verification remembered."""
    monkeypatch.setattr(jsonl_check, "_PROVEN", jsonl_check.weakref.WeakKeyDictionary())
    monkeypatch.setattr(s6_preconditions, "_MEMO", {})


@pytest.fixture(params=["in_process", "worker"])
def judged_early_by(request, monkeypatch):
    if request.param == "worker":  # every log, however small, judged by a worker process
        monkeypatch.setattr(s6_preconditions, "EARLY_IN_PROCESS_BYTES", 0)
    return request.param


def event_files(project) -> list:
    return sorted(project.path("rng_event_zone_dirichlet").parent.glob("*.jsonl"))


def event_log(project):
    (path,) = event_files(project)
    return path


def s6_outcome(project) -> tuple[str, str, str, dict] | str:
    """S6's verdict on the run now: its failure (code, phase, message, context) or "valid"."""
    s6_preconditions._MEMO.clear()
    try:
        s6_preconditions.verify(project.ctx)
    except StateFailure as exc:
        return exc.number, exc.phase, str(exc), dict(exc.context)
    return "valid"


def count_judgements(monkeypatch) -> list[str]:
    """The files S6's precondition judges itself (not the early judgement's)."""
    judged: list[str] = []
    original = s6_preconditions.JudgedLog.scan

    def scan(self, path):
        judged.append(path.name)
        return original(self, path)

    monkeypatch.setattr(s6_preconditions.JudgedLog, "scan", scan)
    return judged


def expected_outcome(project, monkeypatch, change) -> tuple:
    """S6's verdict on the changed run with nothing judged early, the run restored after."""
    saved = {path: path.read_bytes() for path in event_files(project)}
    change(project)
    with monkeypatch.context() as scoped:
        scoped.setattr(jsonl_check, "_PROVEN", jsonl_check.weakref.WeakKeyDictionary())
        outcome = s6_outcome(project)
    for path in event_files(project):
        path.unlink()
    for path, content in saved.items():
        path.write_bytes(content)
    return outcome


# ------------------------------------------------------------------ the verdict taken
def test_intact_logs_are_remembered_and_not_judged_again(s5_done, judged_early_by, monkeypatch):
    assert s6_preconditions.judge_logs_early(s5_done.ctx) == dict.fromkeys(LOGS, True)
    judged = count_judgements(monkeypatch)
    verified = s6_preconditions.verify(s5_done.ctx)
    assert judged == [] and event_log(s5_done) in verified.files


def test_without_an_early_judgement_s6_judges_every_log(s5_done, monkeypatch):
    judged = count_judgements(monkeypatch)
    s6_preconditions.verify(s5_done.ctx)
    assert len(judged) == len(LOGS)


# ------------------------------------------------------------------ changed after it
def break_a_value_in_place(project) -> None:
    """Same size, one record no longer valid."""
    path = event_log(project)
    content = path.read_bytes()
    broken = content.replace(b'"seed": 42', b'"seed": -2', 1)
    assert broken != content and len(broken) == len(content)
    path.write_bytes(broken)


def break_the_last_line(project) -> None:
    """Other size: the last record cut short."""
    path = event_log(project)
    path.write_bytes(path.read_bytes().rstrip(b"\n")[:-1] + b"\n")


def truncate(project) -> None:
    """Other size, every remaining line valid (the verdict stands, but on other bytes)."""
    path = event_log(project)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))


def resplit(project) -> None:
    """The same bytes cut into two files."""
    path = event_log(project)
    content = path.read_bytes()
    cut = content.index(b"\n", len(content) // 2) + 1
    path.write_bytes(content[:cut])
    path.with_name("part-00001.jsonl").write_bytes(content[cut:])


def empty(project) -> None:
    event_log(project).write_bytes(b"")


def remove(project) -> None:
    event_log(project).unlink()


@pytest.mark.parametrize("change", [break_a_value_in_place, break_the_last_line, truncate, resplit, empty, remove],
                         ids=lambda change: change.__name__)
def test_a_log_changed_after_the_early_judgement_gets_s6s_own_verdict(s5_done, judged_early_by, monkeypatch,
                                                                       change):
    expected = expected_outcome(s5_done, monkeypatch, change)
    assert s6_preconditions.judge_logs_early(s5_done.ctx)["rng_event_zone_dirichlet"]
    change(s5_done)
    judged = count_judgements(monkeypatch)
    assert s6_outcome(s5_done) == expected
    if change is not remove:
        assert "part-00000.jsonl" in judged  # judged again, not taken from the early verdict


def test_the_changed_logs_are_refused_as_before(s5_done, monkeypatch):
    """The expected outcomes above are S6's refusals, not a pass of both paths."""
    assert expected_outcome(s5_done, monkeypatch, break_a_value_in_place)[0] == "001"
    assert " fails its schema: " in expected_outcome(s5_done, monkeypatch, break_a_value_in_place)[2]
    assert "rng_event_zone_dirichlet has no row |" in expected_outcome(s5_done, monkeypatch, empty)[2]
    assert "does not resolve" in expected_outcome(s5_done, monkeypatch, remove)[2]
    assert expected_outcome(s5_done, monkeypatch, truncate) == "valid"


def test_an_empty_log_judged_early_still_obeys_the_empty_log_rule(s5_done, monkeypatch):
    """An empty event log is remembered (zero records, nothing to disprove); S6 taking
    that verdict still refuses it, as pairs were escalated."""
    empty(s5_done)
    assert s6_preconditions.judge_logs_early(s5_done.ctx)["rng_event_zone_dirichlet"]
    judged = count_judgements(monkeypatch)
    number, phase, message, context = s6_outcome(s5_done)
    assert (number, phase) == ("001", "rng_logs") and "rng_event_zone_dirichlet has no row |" in message
    assert context["reason"] == "empty" and "part-00000.jsonl" not in judged


# ------------------------------------------------------------------ nothing remembered
@pytest.mark.parametrize("change", [break_a_value_in_place, break_the_last_line], ids=lambda c: c.__name__)
def test_an_invalid_line_found_early_leaves_nothing_remembered(s5_done, judged_early_by, change):
    change(s5_done)
    remembered = s6_preconditions.judge_logs_early(s5_done.ctx)
    assert remembered == {**dict.fromkeys(LOGS, True), "rng_event_zone_dirichlet": False}
    packs = s6_preconditions.schema_packs(str(s5_done.ctx.catalogue.root))
    anchors = {s5_done.ctx.catalogue.entry(log_id)["schema_ref"] for log_id in LOGS - {"rng_event_zone_dirichlet"}}
    assert {key[0] for key in jsonl_check._PROVEN[packs]} == anchors


def test_an_early_judgement_that_fails_leaves_nothing_remembered_and_raises_nothing(s5_done, monkeypatch):
    def failing_worker(*args, **kwargs):
        raise OSError("RNG log worker failed: killed")

    monkeypatch.setattr(s6_preconditions, "EARLY_IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(jsonl_check, "_scan_by_workers", failing_worker)
    assert s6_preconditions.judge_logs_early(s5_done.ctx) == dict.fromkeys(LOGS, False)
    assert not jsonl_check._PROVEN.get(s6_preconditions.schema_packs(str(s5_done.ctx.catalogue.root)))


def test_an_early_judgement_with_a_log_missing_remembers_the_others(s5_done):
    remove(s5_done)
    assert s6_preconditions.judge_logs_early(s5_done.ctx) == {**dict.fromkeys(LOGS, True),
                                                             "rng_event_zone_dirichlet": False}


# ------------------------------------------------------------------ the DAG
def test_s6_waits_for_s5s_report_and_the_early_judgement_runs_beside_the_integerisation(s5_done):
    def parents(model: str) -> set[str]:
        listed = s5_done.dbt("ls", "--select", f"+{model}", "--resource-type", "model", "--output", "name", "--quiet")
        assert listed.ok, listed.output[-3000:]
        return {line.strip() for line in listed.output.splitlines() if line.strip()} - {model}

    early = parents("int_s6__rng_logs_prejudged")
    assert {"rng_event_zone_dirichlet", "int_s4__pairs_with_shares"} <= early
    assert not {"int_s4__zone_counts_integerised", "s4_zone_counts", "zone_alloc", "s5_run_report_3A"} & early
    assert {"s5_run_report_3A", "int_s6__rng_logs_prejudged", "zone_alloc"} <= parents("int_s6__inputs_verified")
