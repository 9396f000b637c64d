"""Every E3A_S6 code of spec 04 §2.5, provoked on the small world after S0..S5: a failed
precondition, catalogue, check execution, report or receipt schema, immutability or I/O
fault fails the S6 run itself (unlike a failed check). After `dbt test` the publication
hook writes the FAIL run report and fails the invocation with the code; in `dbt build`
the failing S6 model carries the code and the framework's on-run-end hook reports it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pytest

from seg3a.states.s6_checks import CLASS_DETAIL, CODES, SPEC
from tests.dbt_fixtures.s6_project import (  # noqa: F401  (fixtures)
    PROJECT_ROOT, S6Project, escalated_pair, s5_done, s6_session, use_edited_contracts,
)
from tests.negative._state_failures import assert_upstream_context, failure_after

pytestmark = pytest.mark.e2e
OUTPUTS = ("s6_validation_report_3A", "s6_issue_table_3A", "s6_receipt_3A")


@dataclass(frozen=True)
class Case:
    name: str
    number: str
    phase: str
    context: dict
    breaks: Callable[[S6Project], None]
    published: tuple[str, ...] = ()  # outputs that exist after the failure


def policy_tampered(project):
    source = project.path("zone_floor_policy").read_bytes()
    project.override("zone_floor_policy").write_bytes(source + b"\n# edited after sealing\n")


def audit_log_missing(project):
    project.path("rng_audit_log").unlink()


def share_column_dropped(project):
    project.rewrite_parquet("s3_zone_shares", "alter table t drop column share_drawn")


def run_report_missing(project):
    project.path("s4_run_report_3A").unlink()


def s6_version_blank(project):
    use_edited_contracts(project, "registries/artefact_registry_3A.yaml",
                         lambda text: text.replace(
                             "schema: schemas.3A.yaml#/validation/s6_receipt_3A\n    role: structural validation "
                             "receipt with digests and overall status\n    license: Proprietary-Internal\n"
                             "    semver: 1.0.0",
                             "schema: schemas.3A.yaml#/validation/s6_receipt_3A\n    role: structural validation "
                             "receipt with digests and overall status\n    license: Proprietary-Internal\n"
                             "    semver: ''"))


def output_path_without_token(project):
    template = "data/layer1/3A/s6_validation_report/manifest_fingerprint={manifest_fingerprint}/report.json"
    use_edited_contracts(project, "dictionaries/dataset_dictionary.layer1.3A.yaml",
                         lambda text: text.replace(template, "data/layer1/3A/s6_validation_report/report.json"))


def shares_not_numbers(project):
    project.rewrite_parquet("s3_zone_shares", "alter table t alter share_drawn type varchar; "
                                              "update t set share_drawn = 'not-a-number'")


def issue_row_invalid(project):
    """An S4 tzid outside the iana_tzid pattern: the issues naming it fail their schema."""
    merchant, country = escalated_pair(project)
    project.rewrite_parquet("s4_zone_counts", f"update t set tzid = 'Not A Zone!' where merchant_id = {merchant} "
                                              f"and legal_country_iso = '{country}' and tzid = (select min(tzid) "
                                              f"from t where merchant_id = {merchant} "
                                              f"and legal_country_iso = '{country}')")


def receipt_schema_stricter(project):
    use_edited_contracts(project, "schemas/schemas.3A.yaml",
                         lambda text: text.replace(
                             "      s6_version: {$ref: 'schemas.layer1.yaml#/$defs/non_empty_string'}",
                             "      s6_version: {type: string, const: '0.0.0-never'}"))


def report_changed_after_publication(project):
    assert project.validate().ok
    project.rewrite_json("s6_validation_report_3A", lambda d: {**d, "checks_warn_count": 1})


def report_directory_blocked(project):
    blocked = project.run_root / "data/layer1/3A/s6_validation_report"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the report's partition directory must go\n")


CASES = [
    Case("policy_changed_after_sealing", "001", "sealed_inputs_verify",
         {"component": "FLOOR_POLICY", "reason": "digest_mismatch"}, policy_tampered),
    Case("rng_audit_log_missing", "001", "rng_logs", {"component": "RNG_LOGS", "reason": "missing"},
         audit_log_missing),
    Case("s3_share_column_missing", "001", "datasets",
         {"component": "S3_ZONE_SHARES", "reason": "missing_columns", "missing_columns": ["share_drawn"]},
         share_column_dropped),
    Case("s4_run_report_missing", "001", "run_reports", {"component": "S4_RUN_REPORT", "reason": "missing"},
         run_report_missing),
    Case("s6_version_blank", "002", "sealed_inputs", {"artefact_id": "s6_receipt_3A"}, s6_version_blank),
    Case("output_path_without_token", "002", "checks", {"dataset_id": "s6_validation_report_3A"},
         output_path_without_token),
    Case("check_query_fails", "003", "checks", {"failed_checks": ["CHK_S3_SHARE_SUM"]}, shares_not_numbers),
    Case("issue_row_fails_its_schema", "004", "checks", {"output_id": "s6_issue_table_3A"}, issue_row_invalid),
    Case("receipt_fails_its_schema", "005", "checks", {"reason": "schema_invalid"}, receipt_schema_stricter,
         ("s6_validation_report_3A", "s6_issue_table_3A")),
    Case("report_differs_from_published", "006", "checks",
         {"artefact": "s6_validation_report_3A", "difference_kind": "field_value", "difference_count": 1},
         report_changed_after_publication, OUTPUTS),
    Case("report_directory_blocked", "007", "checks", {"operation": "write"}, report_directory_blocked),
]


# test_unchanged_rerun_after_failure_recovers starts from this case's failed run, which
# its test saves as a snapshot once its assertions hold; both run on one worker (xdist group).
RECOVERED_CASE = "rng_audit_log_missing"
RECOVERY_GROUP = pytest.mark.xdist_group("s6_errors_recovery")
FAILED_RUN = f"failed-{RECOVERED_CASE}"


@pytest.mark.parametrize("case", [pytest.param(c, marks=[RECOVERY_GROUP] if c.name == RECOVERED_CASE else [])
                                  for c in CASES], ids=[f"{c.number}-{c.name}" for c in CASES])
def test_dbt_test_run_fails_with_its_code(s5_done, case):
    case.breaks(s5_done)
    before = {d: s5_done.path(d).read_bytes() for d in OUTPUTS if s5_done.path(d).is_file()}
    result = s5_done.validate()
    code = CODES[case.number]
    assert not result.ok
    assert code in result.output, result.output[-3000:]
    report = s5_done.run_report()
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", code, "F4")
    assert report["error_class_detail"] == CLASS_DETAIL[case.number]
    # 04 §2.5 blocks of a run that failed: nothing digested or published by this run
    assert report["digests"] == dict.fromkeys(("validation_report_digest", "issue_table_digest",
                                               "routing_universe_hash"))
    assert report["output"] == dict.fromkeys(("report_path", "issue_table_path", "receipt_path"))
    assert report["first_failure_phase"] == case.phase
    assert report["overall_status"] == "FAIL"
    context = report["error_context"]
    for key, value in case.context.items():
        assert (set(value) <= set(context[key])) if isinstance(value, list) else context[key] == value, context
    row = s5_done.state_rows()[-1]
    assert (row["status"], row["error_code"]) == ("FAIL", code)
    present = tuple(d for d in OUTPUTS if s5_done.path(d).is_file())
    assert present == case.published
    for dataset_id, data in before.items():  # never overwritten
        assert s5_done.path(dataset_id).read_bytes() == data
    if case.name == RECOVERED_CASE:
        s5_done.save(FAILED_RUN)


def test_build_stops_at_a_failed_precondition(s5_done):
    audit_log_missing(s5_done)
    result = s5_done.build_s6()
    assert not result.ok and CODES["001"] in result.output
    report = s5_done.run_report()
    assert (report["status"], report["error_code"], report["first_failure_phase"]) == ("FAIL", CODES["001"],
                                                                                         "rng_logs")
    assert "SKIP" in result.output and not any(s5_done.path(d).exists() for d in OUTPUTS)


def test_build_maps_a_failing_check_query_to_003(s5_done):
    shares_not_numbers(s5_done)
    result = s5_done.build_s6()
    assert not result.ok and CODES["003"] in result.output
    report = s5_done.run_report()
    assert (report["status"], report["error_code"]) == ("FAIL", CODES["003"])
    assert "CHK_S3_SHARE_SUM" in report["error_context"]["failed_checks"]
    # judged from the others' outcomes, the status-consistency check cannot run either
    assert "CHK_STATE_STATUS_CONSISTENCY" in report["error_context"]["failed_checks"]
    assert not any(s5_done.path(d).exists() for d in OUTPUTS)


@RECOVERY_GROUP
def test_unchanged_rerun_after_failure_recovers(s5_done):
    """A failed run publishes nothing; fixing the input and rerunning is PASS."""
    source = s5_done.path("rng_audit_log")
    kept = source.read_bytes()
    if (s5_done.snapshots / FAILED_RUN).is_dir():  # the failed run of the case's test (asserted there)
        s5_done.restore(FAILED_RUN)
    else:
        audit_log_missing(s5_done)
        assert not s5_done.validate().ok
    assert not source.exists() and [r["status"] for r in s5_done.state_rows()] == ["FAIL"]
    source.write_bytes(kept)
    result = s5_done.validate()
    assert result.ok, result.output[-3000:]
    assert [r["status"] for r in s5_done.state_rows()] == ["FAIL", "PASS"]
    assert json.loads(s5_done.path("s6_receipt_3A").read_bytes())["overall_status"] == "PASS"


# 04 §2.5: the `reason` values E3A_S6_001_PRECONDITION_FAILED lists
REASONS_001 = ("missing", "schema_invalid", "not_sealed")


@pytest.mark.parametrize("failed_state, failed_model", [("S0", "s0_gate_receipt_3A"),
                                                        ("S3", "s3_zone_shares"),
                                                        ("S5", "zone_alloc")])
def test_001_after_an_earlier_state_failed_in_the_same_invocation(failed_state, failed_model):
    """S6 skipped because an earlier state failed: E3A_S6_001 with reason `missing` (what
    the failed state publishes is missing, 04 §2.1), phase run_reports."""
    failure = failure_after(SPEC, "s6_validation_report_3A", failed_state, failed_model)
    assert (failure.code, failure.error_class, failure.phase) == (CODES["001"], "F4", "run_reports")
    assert failure.context["reason"] == "missing"
    assert failure.context["reason"] in REASONS_001
    # 04 §2.1: S0's gate, else the failed state's run report (item 6)
    assert_upstream_context(failure, failed_state,
                            "S0_GATE" if failed_state == "S0" else f"{failed_state}_RUN_REPORT")


def test_dbt_test_without_the_s6_functions_names_the_missing_plugin(s5_done, tmp_path):
    """A profile that lists no S6 plugin: the publication hook stops with E3A_S6_002 and
    names the line to add, instead of failing later on an unknown SQL function."""
    profile = (PROJECT_ROOT / "profiles.yml").read_text()
    plugin = "        - module: seg3a.states.s6_plugin\n          alias: seg3a_s6\n"
    assert profile.count(plugin) == 1
    (tmp_path / "profiles.yml").write_text(profile.replace(plugin, ""))
    result = s5_done.dbt("test", "--select", "tag:s6", "--profiles-dir", str(tmp_path))
    assert not result.ok
    assert "E3A_S6_002_CATALOGUE_MALFORMED: the S6 SQL functions are not registered" in result.output, \
        result.output[-3000:]
    assert "seg3a.states.s6_plugin" in result.output
    assert not any(s5_done.path(d).exists() for d in OUTPUTS)
