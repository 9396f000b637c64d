"""How a dbt model finds its run: RunContext.from_session reads the run value macros the
seg3a plugin creates in the build's database; without a usable run every state fails with its
INFRASTRUCTURE code in phase `run_receipt`, naming why."""
from __future__ import annotations

import duckdb
import pytest

from python_udfs.plugin import value_macros_statement
from seg3a.core.context import RunContext, RunSelectionError
from seg3a.core.identity import ReceiptError
from seg3a.states.common import StateFailure, context_from_session
from seg3a.states.s5_egress import SPEC as S5


@pytest.fixture()
def session():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize("values", [None, {}])
def test_no_run_selected(session, values):
    """A session without the macros (not a seg3a build's) or with a run's values unset."""
    if values is not None:
        session.execute(value_macros_statement(values))
    with pytest.raises(RunSelectionError, match="no run selected"):
        RunContext.from_session(session)


def test_the_plugins_reason_is_kept(session):
    session.execute(value_macros_statement({"seg3a_context_error": "FileNotFoundError: no run receipt under build/runs"}))
    with pytest.raises(RunSelectionError, match="no run receipt under build/runs"):
        RunContext.from_session(session)


def test_a_run_root_without_receipt(session, tmp_path):
    session.execute(value_macros_statement({"seg3a_run_root": str(tmp_path)}))
    with pytest.raises(ReceiptError, match="run receipt not found"):
        RunContext.from_session(session)


@pytest.mark.parametrize("run_root", [None, "missing"])
def test_a_state_fails_with_its_infrastructure_code(session, tmp_path, run_root):
    if run_root:
        session.execute(value_macros_statement({"seg3a_run_root": str(tmp_path / run_root)}))
    with pytest.raises(StateFailure) as failure:
        context_from_session(session, S5)
    assert (failure.value.code, failure.value.phase) == ("E3A_S5_008_INFRASTRUCTURE_IO_ERROR", "run_receipt")
    assert failure.value.context["io_error_class"] == "run_receipt_invalid"
