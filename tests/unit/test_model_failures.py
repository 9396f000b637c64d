"""A failed dbt Python model is shown as one coded line with a fix: what dbt-duckdb
prints for it (traceback.format_exception) carries no traceback, and the line keeps the
text the on-run-end hook parses into FAIL run reports."""
from __future__ import annotations

import traceback

import pytest

from seg3a.states.common import NodeOutcome, StateFailure, parse_failure, spec_for
from seg3a.states.model_failures import LOG_HINT, ModelFailure, failure_line, run_python_model

S3 = spec_for("S3")


def failing(exc: Exception):
    def model(dbt, session):
        raise exc
    return model


def test_the_printed_failure_has_no_traceback():
    failure = StateFailure(S3, "004", "sealed_inputs", "policy digest differs", path="x.yaml")
    with pytest.raises(ModelFailure) as raised:
        run_python_model(failing(failure), None, None)
    printed = "".join(traceback.format_exception(raised.value))
    assert "Traceback" not in printed and "File " not in printed
    assert len(printed.strip().splitlines()) == 1
    assert str(failure) in printed and "| fix: " + LOG_HINT in printed


def test_the_run_report_reads_the_same_code_phase_and_context():
    failure = StateFailure(S3, "004", "sealed_inputs", "policy digest differs", path="x.yaml")
    with pytest.raises(ModelFailure) as raised:
        run_python_model(failing(failure), None, None)
    node = NodeOutcome("int_s3__inputs_verified", "model", "error", str(raised.value), ("S3",), None, 0)
    reported = parse_failure(S3, node)
    assert (reported.code, reported.phase, reported.context) == (S3.code("004"), "sealed_inputs", {"path": "x.yaml"})


def test_a_coded_cause_is_shown_rather_than_its_uncoded_wrapper():
    try:
        try:
            raise StateFailure(S3, "004", "sealed_inputs", "inner")
        except StateFailure as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError as outer:
        line = failure_line(outer)
    assert line.startswith(S3.code("004") + ": inner")


def test_an_uncoded_failure_names_its_type_on_one_line():
    line = failure_line(ValueError("bad\nvalue"))
    assert line == f"ValueError: bad value | fix: {LOG_HINT}"


@pytest.mark.parametrize(("message", "fix"), [
    ("run receipt unusable: no run receipt under build/runs", "generate a world first: make world"),
    ("no run dead under build/runs; runs here: a (newest)", "set SEG3A_RUN_ID to one of the runs here"),
])
def test_run_selection_failures_say_what_to_do(message, fix):
    assert failure_line(RuntimeError(message)).endswith(fix if fix.endswith("world") else fix + ", or unset it to build the newest")


def test_nested_coded_failures_keep_the_traceback_order():
    try:
        try:
            raise StateFailure(S3, "004", "sealed_inputs", "inner")
        except StateFailure as inner:
            raise StateFailure(S3, "012", "publish", "outer") from inner
    except StateFailure as outer:
        line = failure_line(outer)
    assert line.index(S3.code("004")) < line.index(S3.code("012"))
    node = NodeOutcome("m", "model", "error", line, ("S3",), None, 0)
    assert parse_failure(S3, node).code == S3.code("004")


def test_the_uncoded_root_cause_is_named():
    try:
        try:
            raise OSError("disk full")
        except OSError as cause:
            raise StateFailure(S3, "004", "sealed_inputs", "write failed") from cause
    except StateFailure as failure:
        line = failure_line(failure)
    assert "(cause: OSError: disk full)" in line and line.startswith(S3.code("004"))


def test_a_context_hidden_with_from_none_stays_hidden():
    try:
        try:
            raise StateFailure(S3, "004", "sealed_inputs", "inner", component="A")
        except StateFailure:
            raise StateFailure(S3, "004", "sealed_inputs", "outer", component="B") from None
    except StateFailure as outer:
        line = failure_line(outer)
    node = NodeOutcome("m", "model", "error", line, ("S3",), None, 0)
    assert "inner" not in line and parse_failure(S3, node).context == {"component": "B"}
