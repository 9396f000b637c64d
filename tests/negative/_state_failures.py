"""Helpers shared by the negative tests of S3, S4, S5 and S7: the checks every provoked
failure makes on the build, the FAIL run report and the segment_state_runs row (spec 01
§5.3, 03 §3.8/§4.5, 04 §1.5/§3.4), and the edits of a run's contracts."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Mapping

import yaml

from seg3a.core.identity import RECEIPT_NAME
from seg3a.states.common import NodeOutcome, ReportedFailure, StateSpec, failure_of_state, report_failed_states
from tests.e2e.conftest import PROJECT_ROOT, edit_json


def assert_state_failed(project, result, state: str, code: str, phase: str, context: Mapping[str, Any], *,
                        detail: str | None, blocks: Mapping[str, Any] | None = None) -> dict:
    """The build failed with `code` and the state's FAIL run report and segment_state_runs
    row record it: class F4, the phase, at least the given context, `error_class_detail`
    equal to `detail` (None: the state writes no such key) and each block in `blocks`
    exactly as given. Returns the report."""
    assert not result.ok
    assert code in result.output, result.output[-3000:]
    report = project.report(state)
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", code, "F4"), report
    assert report["first_failure_phase"] == phase
    assert report["error_context"].items() >= dict(context).items(), report["error_context"]
    if detail is None:
        assert "error_class_detail" not in report, report
    else:
        assert report["error_class_detail"] == detail, report
    for name, expected in (blocks or {}).items():
        assert report[name] == expected, (name, report.get(name))
    row = project.state_rows(state)[-1]
    assert (row["status"], row["error_code"]) == ("FAIL", code)
    return report


def skipped_after(failed_state: str, failed_model: str, state: str, model: str) -> list[dict]:
    """The on-run-end payload of an invocation in which `failed_model` of the earlier state
    `failed_state` failed and `model` of `state` was skipped."""
    return [
        {"name": failed_model, "resource_type": "model", "status": "error",
         "tags": ["segment3a", failed_state.lower()],
         "message": f"E3A_{failed_state}_099_SOMETHING: broken | phase=init | context={{}}"},
        {"name": model, "resource_type": "model", "status": "skipped", "tags": ["segment3a", state.lower()],
         "message": ""},
    ]


def failure_after(spec: StateSpec, model: str, failed_state: str, failed_model: str) -> ReportedFailure:
    """What `spec.state` reports when its `model` was skipped after `failed_model` of the
    earlier state `failed_state` failed in the same invocation."""
    payload = skipped_after(failed_state, failed_model, spec.state, model)
    failure = failure_of_state(spec, [NodeOutcome.from_payload(item, i) for i, item in enumerate(payload)])
    assert failure is not None
    return failure


def assert_upstream_context(failure: ReportedFailure, failed_state: str, component: str | None) -> None:
    """The keys the specs give an earlier state that is not PASS: `state`, its
    `reported_status` (FAIL) and, where the state's spec names one, `component`."""
    assert failure.context["state"] == failed_state
    assert failure.context["reported_status"] == "FAIL"
    assert failure.context.get("component") == component


def hook_report_after(project, state: str, model: str, failed_state: str, failed_model: str, code: str) -> dict:
    """Run the on-run-end hook on such an invocation against a built run and return the
    FAIL run report it wrote for `state` (whose code must be `code`)."""
    summary = report_failed_states(json.dumps(skipped_after(failed_state, failed_model, state, model)),
                                   str(project.run_root))
    assert f"{state}:{code}" in summary.split(";"), summary
    row = project.state_rows(state)[-1]
    assert (row["status"], row["error_code"]) == ("FAIL", code)
    return project.report(state)


def private_contracts(project, name: str) -> Path:
    """A copy of the contracts made the run's contracts root."""
    root = project.work / f"contracts-{name}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "contracts", root)
    edit_json(project.run_root / RECEIPT_NAME, lambda receipt: receipt.update(contracts_root=str(root)))
    return root


def edit_yaml(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_bytes())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
