"""What a failed dbt Python model shows on the terminal: its one-line coded failure and the
fix to try, never a Python traceback (that goes to the dbt log file, logs/dbt.log).

Every Python model of the segment runs through `run_python_model` (the `seg3a_table`
materialization wraps the compiled model in it). The failure line keeps the text the
on-run-end hook parses into the FAIL run reports (`E3A_…: message | phase=… | context=…`)
and appends ` | fix: …`.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from .common import CODE_PATTERN

MAX_CAUSE = 300  # characters of an uncoded root cause shown after the coded failure
LOG_HINT = "the full trace is in the dbt log (logs/dbt.log)"
# (text found in the failure, fix to try); the first match wins.
FIXES: tuple[tuple[str, str], ...] = (
    ("no run receipt under", "generate a world first: make world"),
    ("runs here:", "set SEG3A_RUN_ID to one of the runs here, or unset it to build the newest"),
    ("run_receipt_invalid", "check SEG3A_RUNS_ROOT / SEG3A_RUN_ID point at a generated run (make world)"),
    ("UPSTREAM_GATE_FAILED", "an upstream validation bundle does not verify: regenerate the world (make world)"),
    ("ReferenceDataError", "rebuild the reference data: make reference"),
)


class ModelFailure(Exception):
    """A Python model's failure as one line. dbt-duckdb reports a failed Python model
    with `traceback.format_exception(err)`; this exception reports no traceback of its
    own (the interpreter still records it internally), so that line is all the terminal
    shows. The trace of the original exception was logged before it was raised."""

    __module__ = "seg3a"  # printed as `seg3a.ModelFailure: …` rather than the full module path

    @property
    def __traceback__(self):  # noqa: D401 - see the class docstring
        return None

    @__traceback__.setter
    def __traceback__(self, _value) -> None:
        pass


def _chain(exc: BaseException) -> list[BaseException]:
    """The exceptions a traceback would print, outermost first (`raise … from None`
    hides the context, as there)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    return seen


def failure_line(exc: BaseException) -> str:
    """The coded messages of the exception chain, innermost first as a traceback lists
    them (so the run-report hook reads the same first code), else the outermost
    `Type: message`; on one line, with a fix."""
    chain = _chain(exc)
    coded = [str(e) for e in reversed(chain) if CODE_PATTERN.search(str(e))]
    text = " (raised as: ".join(coded) + ")" * (len(coded) - 1) if coded else f"{type(chain[0]).__name__}: {chain[0]}"
    root = chain[-1]
    if coded and not CODE_PATTERN.search(str(root)) and str(root) not in text:  # e.g. a DuckDB or OS error
        text += f" (cause: {type(root).__name__}: {str(root)[:MAX_CAUSE]})"
    text = " ".join(text.split())
    names = " ".join(type(e).__name__ for e in chain)
    fix = next((hint for needle, hint in FIXES if needle in text or needle in names), LOG_HINT)
    return f"{text} | fix: {fix}"


def run_python_model(model: Callable[[Any, Any], Any], dbt, session) -> Any:
    """Run a dbt Python model; a failure is logged with its trace to the dbt log file and
    re-raised as a one-line ModelFailure."""
    try:
        return model(dbt, session)
    except Exception as exc:
        from dbt.adapters.events.logging import AdapterLogger

        AdapterLogger("seg3a").debug("Python model failed:\n" + "".join(traceback.format_exception(exc)))
        raise ModelFailure(failure_line(exc)) from None
