"""Helpers shared by the negative tests of S3, S4, S5 and S7: the checks every provoked
failure makes on the build, the FAIL run report and the segment_state_runs row (spec 01
§5.3, 03 §3.8/§4.5, 04 §1.5/§3.4), and the edits of a run's contracts."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

import yaml

from seg3a.core.identity import RECEIPT_NAME
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
