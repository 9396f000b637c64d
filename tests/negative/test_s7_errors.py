"""Every E3A_S7 code of spec 04 §3.4 provoked through a real `dbt build` of the S7 models
on the small world: S6 not PASS, missing or invalid members and gate, index build
failures, parity with the S6 receipt, an existing flag or index that differs, and an
I/O fault. The FAIL run report and the segment_state_runs row carry the code, class F4,
the code's `error_class_detail` label, the phase and the context; an existing bundle is
never overwritten."""
from __future__ import annotations

import json
import shutil

import pytest

from seg3a.core.cjson import cj_bytes
from seg3a.states.common import NodeOutcome, failure_of_state, report_failed_states
from seg3a.states.s7_bundle import CODES, SPEC
from seg3a.states.s7_members import FLAG_NAME, INDEX_NAME
from tests.e2e.conftest import s1s2_session  # noqa: F401  (fixture)
from tests.e2e.test_s3_s4 import build
from tests.e2e.test_s5_s7 import S6_BUILT, S7_BUILT, snapshot_after
from tests.negative._state_failures import assert_state_failed, assert_upstream_context, edit_yaml, private_contracts
from tests.negative._state_failures import skipped_after as skipped_after_in

pytestmark = pytest.mark.e2e


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def validated(s1s2_session):
    """S0..S6 done, no bundle yet."""
    return snapshot_after(s1s2_session, S6_BUILT)


@pytest.fixture
def sealed(s1s2_session):
    """S0..S7 done: a PASS bundle exists."""
    return snapshot_after(s1s2_session, S7_BUILT)


# ----------------------------------------------------------------------------- helpers
# error_class_detail labels, as spec 04 §3.4 lists them.
LABELS = {
    "001": "S6_GATE", "002": "PRECONDITION", "003": "INDEX", "004": "DIGEST", "005": "HASHGATE",
    "006": "IMMUTABILITY", "007": "INFRASTRUCTURE",
}


def run_s7_expecting(project, number: str, phase: str, **context) -> dict:
    return assert_state_failed(project, build(project, "tag:s7"), "S7", CODES[number], phase, context,
                               detail=LABELS[number])


def bundle_root(project):
    return project.path("validation_bundle_3A")


def rewrite_json(path, change) -> None:
    doc = json.loads(path.read_bytes())
    change(doc)
    path.write_bytes(cj_bytes(doc))


def drop_dictionary_entry(project, dataset_id: str, change) -> None:
    contracts = private_contracts(project, f"s7-{dataset_id}")

    def edit(doc):
        for section in doc.values():
            if isinstance(section, list):
                for entry in section:
                    if isinstance(entry, dict) and entry.get("id") == dataset_id:
                        change(section, entry)
                        return
    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml", edit)


# ----------------------------------------------------------------------------- 001
def test_001_s6_verdict_fail(validated):
    rewrite_json(validated.path("s6_receipt_3A"), lambda receipt: receipt.update(overall_status="FAIL"))
    run_s7_expecting(validated, "001", "s6_receipt", reason="s6_overall_not_pass", overall_status="FAIL")
    assert not bundle_root(validated).exists()


def test_001_s6_run_failed(validated):
    def failed(report):
        report.update(status="FAIL", error_code="E3A_S6_003_CHECK_EXECUTION_FAILED")
    rewrite_json(validated.path("s6_run_report_3A"), failed)
    run_s7_expecting(validated, "001", "s6_run_report", reason="s6_run_failed", reported_status="FAIL")
    assert not bundle_root(validated).exists()


def skipped_after(failed_state: str, model: str) -> list[dict]:
    """The on-run-end payload of an invocation in which `model` of an earlier state failed
    and S7 was skipped."""
    return skipped_after_in(failed_state, model, "S7", "validation_bundle_3A")


@pytest.mark.parametrize("failed_state, model", [("S6", "s6_validation_report_3A"), ("S3", "s3_zone_shares"),
                                                 ("S0", "s0_gate_receipt_3A")])
def test_001_earlier_state_failed_in_the_same_invocation(failed_state, model):
    """S7 skipped because an earlier state failed: S6 cannot have passed, so E3A_S7_001 with
    the §3.1 reason `s6_run_failed` (not a reason outside the spec's list)."""
    nodes = [NodeOutcome.from_payload(item, i) for i, item in enumerate(skipped_after(failed_state, model))]
    failure = failure_of_state(SPEC, nodes)
    assert (failure.code, failure.phase) == (CODES["001"], "s6_run_report")
    assert failure.context["reason"] == "s6_run_failed"
    assert_upstream_context(failure, failed_state, None)  # 04 §3.4 names no component


def test_001_hook_report_after_s6_failed(validated):
    summary = report_failed_states(json.dumps(skipped_after("S6", "s6_validation_report_3A")),
                                   str(validated.run_root))
    assert f"S7:{CODES['001']}" in summary.split(";"), summary
    report = validated.report("S7")
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", CODES["001"], "F4")
    assert report["error_class_detail"] == LABELS["001"]
    assert (report["first_failure_phase"], report["error_context"]["reason"]) == ("s6_run_report", "s6_run_failed")
    # 04 §3.4 blocks: nothing sealed
    assert report["digests"] == {"bundle_digest": None, "s6_receipt_digest": None}
    assert [report["output"][k] for k in ("bundle_path", "index_path", "flag_path")] == [None, None, None]


def test_001_s6_receipt_missing(validated):
    validated.path("s6_receipt_3A").unlink()
    run_s7_expecting(validated, "001", "s6_receipt", reason="s6_receipt_missing")


def test_001_s6_receipt_invalid(validated):
    rewrite_json(validated.path("s6_receipt_3A"), lambda receipt: receipt.update(s6_version=""))
    run_s7_expecting(validated, "001", "s6_receipt", reason="s6_receipt_invalid")


# ----------------------------------------------------------------------------- 002
def test_002_upstream_gate_not_pass(validated):
    def gate_failed(receipt):
        receipt["upstream_gates"]["segment_2A"]["status"] = "FAIL"
    rewrite_json(validated.path("s0_gate_receipt_3A"), gate_failed)
    run_s7_expecting(validated, "002", "s0_gate", artefact_id="s0_gate_receipt_3A", reason="upstream_gate_not_pass")


def test_002_sealed_inputs_invalid(validated):
    rewrite_json(validated.path("sealed_inputs_3A"), lambda rows: rows[0].update(sha256_hex="XYZ"))
    run_s7_expecting(validated, "002", "s0_gate", artefact_id="sealed_inputs_3A", reason="schema_invalid")


def test_002_missing_member(validated):
    shutil.rmtree(validated.path("s3_zone_shares"))
    run_s7_expecting(validated, "002", "members", artefact_id="s3_zone_shares", reason="missing")
    assert not bundle_root(validated).exists()


def test_002_log_member_with_an_invalid_line(validated):
    trace = validated.path("rng_trace_log")
    lines = trace.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"module": "3A.S3"', b'"module": ""')
    trace.write_bytes(b"\n".join(lines))
    run_s7_expecting(validated, "002", "members", artefact_id="rng_trace_log", reason="schema_invalid")


def test_002_parquet_member_lacks_a_column(validated):
    import pyarrow.parquet as pq

    part = validated.path("zone_alloc") / "part-00000.parquet"
    pq.write_table(pq.read_table(part).drop_columns(["routing_universe_hash"]), part)
    run_s7_expecting(validated, "002", "members", artefact_id="zone_alloc", reason="schema_invalid")


# ----------------------------------------------------------------------------- 003
def test_003_member_without_dictionary_entry(validated):
    drop_dictionary_entry(validated, "s3_zone_shares", lambda section, entry: section.remove(entry))
    run_s7_expecting(validated, "003", "members", reason="missing_member", logical_id="s3_zone_shares")


def test_003_index_fails_its_schema(validated):
    drop_dictionary_entry(validated, "s3_zone_shares",
                          lambda section, entry: entry.update(schema_ref="schemas.3A.yaml/plan/s3_zone_shares"))
    run_s7_expecting(validated, "003", "members", reason="index_schema_invalid")
    assert not bundle_root(validated).exists()


def test_003_member_of_another_identity(validated):
    rewrite_json(validated.path("zone_alloc_universe_hash"), lambda doc: doc.update(parameter_hash="0" * 64))
    run_s7_expecting(validated, "003", "members", reason="identity_mismatch", logical_id="zone_alloc_universe_hash")


# ----------------------------------------------------------------------------- 004
def test_004_report_differs_from_the_receipt(validated):
    def renote(report):
        report["checks"][0]["notes"] = report["checks"][0]["notes"] + ",tampered=1"
    rewrite_json(validated.path("s6_validation_report_3A"), renote)
    receipt = json.loads(validated.path("s6_receipt_3A").read_bytes())
    report = run_s7_expecting(validated, "004", "members", artefact_id="s6_validation_report_3A",
                              expected_sha256_hex=receipt["validation_report_digest"])
    assert report["error_context"]["observed_sha256_hex"] != receipt["validation_report_digest"]


# ----------------------------------------------------------------------------- 005 / 006
def test_005_flag_differs_from_an_identical_index(sealed):
    flag = bundle_root(sealed) / FLAG_NAME
    good = flag.read_bytes()
    flag.write_bytes(b"sha256_hex = " + b"0" * 64 + b"\n")
    report = run_s7_expecting(sealed, "005", "publish", existing_sha256_hex="0" * 64)
    assert report["error_context"]["computed_sha256_hex"] == good.decode().strip().split(" = ")[1]
    assert flag.read_bytes() == b"sha256_hex = " + b"0" * 64 + b"\n"


def test_005_malformed_existing_flag(sealed):
    (bundle_root(sealed) / FLAG_NAME).write_bytes(b"sha256_hex=NOT-A-DIGEST\n")
    run_s7_expecting(sealed, "005", "publish", existing_sha256_hex=None)


def test_006_existing_bundle_with_a_different_index(sealed):
    index_path = bundle_root(sealed) / INDEX_NAME

    def other_digest(index):
        index["members"][4]["sha256_hex"] = "f" * 64
    rewrite_json(index_path, other_digest)
    before = index_path.read_bytes()
    run_s7_expecting(sealed, "006", "publish", artefact="index", difference_kind="digest")
    assert index_path.read_bytes() == before


def test_006_existing_bundle_with_different_members_and_flag(sealed):
    root = bundle_root(sealed)
    rewrite_json(root / INDEX_NAME, lambda index: index["members"].pop())
    (root / FLAG_NAME).write_bytes(b"sha256_hex = " + b"1" * 64 + b"\n")
    run_s7_expecting(sealed, "006", "publish", artefact="both", difference_kind="members")


# ----------------------------------------------------------------------------- 007
def test_007_bundle_directory_cannot_be_created(validated):
    parent = bundle_root(validated).parent
    parent.parent.mkdir(parents=True, exist_ok=True)
    parent.write_text("a file where the validation directory belongs")
    report = run_s7_expecting(validated, "007", "publish", operation="write", io_error_class="FileExistsError")
    assert report["error_context"]["path"] == validated.ctx.catalogue_path("validation_bundle_3A")
    parent.unlink()
