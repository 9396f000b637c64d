"""S6's RNG-log precondition (spec 04 §2.1, E3A_S6_001, phase rng_logs) reads the logs a
line at a time: a line that is not JSON or fails its schema is reported with its file
and 1-based line number, numbered as `bytes.splitlines` numbers them (a lone carriage
return ends a line too), and blank lines are skipped. Run on the small world after S5,
calling the precondition directly (the dbt path is covered by test_s6_errors.py).

Every test runs twice: with the log judged in this process (as a small world's logs
are) and by four worker processes fed its batches (seg3a.core.jsonl_check, as a large
world's logs are); the failure reported must be the same, the first invalid line of the
file."""
from __future__ import annotations

import json

import pytest

from seg3a.core import jsonl_check
from seg3a.states import s6_preconditions
from seg3a.states.common import StateFailure
from tests.dbt_fixtures.s6_project import s5_done, s6_session  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True, params=["in_process", "workers"])
def judged_by(request, monkeypatch):
    if request.param == "workers":
        monkeypatch.setattr(jsonl_check, "BYTES_PER_WORKER", 700)
        monkeypatch.setattr(jsonl_check, "_usable_cores", lambda: 4)
    return request.param


def event_log(project):
    (path,) = project.path("rng_event_zone_dirichlet").parent.glob("*.jsonl")
    return path


def failure(project) -> StateFailure:
    with pytest.raises(StateFailure) as caught:
        s6_preconditions.verify(project.ctx)
    return caught.value


def edit_line(project, number: int, edit) -> str:
    path = event_log(project)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) > number
    lines[number - 1] = edit(lines[number - 1])
    path.write_bytes(b"\n".join(lines))
    return path.name


def test_intact_logs_pass(s5_done):
    verified = s6_preconditions.verify(s5_done.ctx)
    assert event_log(s5_done) in verified.files


def test_a_line_that_is_not_json_is_named(s5_done):
    name = edit_line(s5_done, 2, lambda line: line[:-1])
    caught = failure(s5_done)
    assert caught.number == "001" and caught.phase == "rng_logs"
    assert "line 2 is not JSON" in str(caught)
    assert {"file": name, "line": 2, "reason": "schema_invalid", "logical_id": "rng_event_zone_dirichlet"}.items() \
        <= caught.context.items()


def test_a_line_failing_its_schema_is_named(s5_done):
    def drop_field(line: bytes) -> bytes:
        record = json.loads(line)
        record.pop(next(iter(record)))
        return json.dumps(record).encode()

    name = edit_line(s5_done, 3, drop_field)
    caught = failure(s5_done)
    assert "line 3 fails its schema" in str(caught)
    assert {"file": name, "line": 3}.items() <= caught.context.items()


def test_a_lone_carriage_return_ends_a_line(s5_done):
    """`{"a": 1,\\r"b": 2}` would be one valid JSON text; split as splitlines splits, its
    first part is line 4 and not JSON."""
    edit_line(s5_done, 4, lambda line: line.replace(b",", b",\r", 1))
    caught = failure(s5_done)
    assert "line 4 is not JSON" in str(caught)


def test_blank_lines_are_skipped_but_counted(s5_done):
    path = event_log(s5_done)
    path.write_bytes(b"\n\n" + path.read_bytes())
    s6_preconditions.verify(s5_done.ctx)
    edit_line(s5_done, 4, lambda line: b"[]")  # the third record, on line 4
    caught = failure(s5_done)
    assert "line 4 fails its schema" in str(caught)


def test_a_large_log_is_judged_by_one_worker_per_core(s5_done, judged_by, monkeypatch):
    answered = []
    original = jsonl_check._worker_answers
    monkeypatch.setattr(jsonl_check, "_worker_answers", lambda *args: answered.append(original(*args))
                        or answered[-1])
    monkeypatch.setattr(s6_preconditions, "_MEMO", {})  # verify again, not from memory
    # nor from a verdict on the same bytes remembered by an earlier test's verification
    monkeypatch.setattr(jsonl_check, "_PROVEN", jsonl_check.weakref.WeakKeyDictionary())
    s6_preconditions.verify(s5_done.ctx)
    assert len(answered) == (0 if judged_by == "in_process" else 4 * 2)  # the event and the trace log


def test_the_first_invalid_line_is_named_when_a_later_one_fails_too(s5_done):
    total = len(event_log(s5_done).read_bytes().split(b"\n"))
    edit_line(s5_done, total - 2, lambda line: b"[]")
    edit_line(s5_done, 5, lambda line: line[:-1])
    caught = failure(s5_done)
    assert "line 5 is not JSON" in str(caught) and caught.context["line"] == 5


def test_a_line_near_the_end_is_numbered_across_ranges(s5_done):
    lines = event_log(s5_done).read_bytes().split(b"\n")
    number = len(lines) - 1 if lines[-1] == b"" else len(lines)  # the last record
    assert number > 20
    edit_line(s5_done, number, lambda line: line[:-1])
    caught = failure(s5_done)
    assert f"line {number} is not JSON" in str(caught) and caught.context["line"] == number
