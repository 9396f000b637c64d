"""S6 end to end on a small world taken through S0..S5 by the real dbt project:
`dbt test` alone is the validator of an existing run and publishes the report, the
issue table and the receipt; `dbt build` publishes the same bytes inside the DAG; a
clean run is PASS with an empty issue table; reruns are byte-identical; a FAIL verdict
reaches S7, which refuses it and writes no flag."""
from __future__ import annotations

import hashlib
import json

import pytest

from seg3a.core.cjson import cj_bytes
from seg3a.states.s6_checks import CHECKS
from tests.dbt_fixtures.s6_project import (  # noqa: F401  (fixtures)
    DbtResult, S6Project, escalated_pair, s5_done, s6_session,
)

pytestmark = pytest.mark.e2e
OUTPUTS = ("s6_validation_report_3A", "s6_issue_table_3A", "s6_receipt_3A")
VALIDATED = "s6_validated"


@pytest.fixture(scope="module")
def first_validation(s6_session) -> DbtResult:
    """`dbt test` alone on the clean S0..S5 run, once per module; the run root and the
    DuckDB file after it are saved as the snapshot `s6_validated`."""
    s6_session.restore("s5")
    result = s6_session.validate()
    s6_session.save(VALIDATED)
    return result


@pytest.fixture
def validated(s6_session, first_validation) -> S6Project:
    """The clean run right after its first `dbt test` (restored per test)."""
    assert first_validation.ok, first_validation.output[-3000:]
    return s6_session.restore(VALIDATED)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def break_zone_alloc_count(project) -> tuple[int, str, str]:
    merchant, country = escalated_pair(project)
    (tzid,) = project.sql(f"select min(tzid) from {{zone_alloc}} where merchant_id = {merchant} "
                          f"and legal_country_iso = '{country}'")[0]
    project.rewrite_parquet("zone_alloc", f"update t set zone_site_count = zone_site_count + 1 where merchant_id = "
                                          f"{merchant} and legal_country_iso = '{country}' and tzid = '{tzid}'")
    return merchant, country, tzid


def test_dbt_test_alone_validates_a_clean_run(s6_session, first_validation):
    result = first_validation
    assert result.ok, result.output[-3000:]
    s5_done = s6_session.restore(VALIDATED)
    report, receipt, outputs = s5_done.report(), s5_done.receipt(), s5_done.s6_outputs()
    assert report["overall_status"] == "PASS"
    assert [c["check_id"] for c in report["checks"]] == sorted(c.check_id for c in CHECKS)
    assert {c["status"] for c in report["checks"]} == {"PASS"}
    assert (report["checks_passed_count"], report["checks_failed_count"], report["checks_warn_count"]) == (12, 0, 0)
    assert s5_done.issues() == [] and report["metrics"]["issues_total"] == 0
    metrics = report["metrics"]
    assert metrics["pairs_escalated"] == metrics["s3_pairs"] == metrics["s4_pairs"] == metrics["rng_event_rows"]
    assert metrics["s4_rows"] == metrics["zone_alloc_rows"] == metrics["s3_rows"] > 0
    assert outputs["s6_validation_report_3A"] == cj_bytes(report)
    assert outputs["s6_receipt_3A"] == cj_bytes(receipt)
    assert receipt["validation_report_digest"] == sha256(outputs["s6_validation_report_3A"])
    assert receipt["issue_table_digest"] == sha256(outputs["s6_issue_table_3A"])
    assert receipt["check_status_map"] == {c["check_id"]: {"status": "PASS", "severity": c["severity"]}
                                           for c in report["checks"]}
    assert receipt["s6_version"] == "1.0.0" and "created_at_utc" not in receipt
    run = s5_done.run_report()
    assert (run["status"], run["overall_status"], run["error_code"]) == ("PASS", "PASS", None)
    assert run["digests"]["issue_table_digest"] == receipt["issue_table_digest"]
    assert run["counts"]["issues_total"] == 0 and run["output"]["receipt_path"].endswith("/s6_receipt.json")
    assert [r["status"] for r in s5_done.state_rows()] == ["PASS"]


def test_rerun_is_byte_identical_and_confirms(validated):
    first = validated.s6_outputs()
    assert [r["status"] for r in validated.state_rows()] == ["PASS"]
    again = validated.validate()
    assert again.ok, again.output[-3000:]
    assert validated.s6_outputs() == first
    assert [r["status"] for r in validated.state_rows()] == ["PASS", "PASS"]


S6_RELATIONS = ("s6_validation_report_3A", "s6_issue_table_3A", "s6_receipt_3A", "s6_run_report_3A")


def relations(project) -> dict[str, tuple]:
    """Columns and rows of the S6 relations in the DuckDB file (the run report's status only)."""
    out = {}
    for name in S6_RELATIONS:
        columns = project.query(f"select column_name, data_type from information_schema.columns "
                                f"where table_name = '{name}' order by ordinal_position")
        keep = "status, overall_status, error_code" if name == "s6_run_report_3A" else "*"
        out[name] = (columns, project.query(f"select {keep} from main.{name} order by all"))
    return out


def test_build_publishes_the_bytes_dbt_test_publishes(first_validation, s5_done):
    built = s5_done.build_s6()
    assert built.ok, built.output[-3000:]
    from_build, build_relations = s5_done.s6_outputs(), relations(s5_done)
    assert s5_done.run_report()["status"] == "PASS"
    tested = s5_done.validate()  # the stored-failure route over the same run confirms the same bytes
    assert tested.ok, tested.output[-3000:]
    assert s5_done.s6_outputs() == from_build
    # `dbt test` alone on the clean S0..S5 run (no build before it) publishes the same
    # bytes and leaves the same S6 relations
    assert first_validation.ok, first_validation.output[-3000:]
    s5_done.restore(VALIDATED)
    assert s5_done.s6_outputs() == from_build
    assert relations(s5_done) == build_relations


def test_build_runs_the_checks_between_s5_and_s7(s5_done):
    result = s5_done.dbt("build", "--select", "tag:s6", "tag:s7")
    assert result.ok, result.output[-3000:]
    assert "int_s6__inputs_verified" in result.output and "chk_s5_zone_alloc_counts_match_s4" in result.output
    flag = s5_done.path("validation_passed_flag_3A")
    assert flag.is_file() and s5_done.run_report("S7")["status"] == "PASS"


def test_fail_verdict_in_a_build_reaches_s7_which_refuses(s5_done):
    merchant, country, tzid = break_zone_alloc_count(s5_done)
    result = s5_done.dbt("build", "--select", "tag:s6", "tag:s7")
    assert not result.ok and "E3A_S7_001_S6_NOT_PASS" in result.output
    assert "s6_run_report_3A" in result.output and "SKIP relation main.s6_" not in result.output
    run = s5_done.run_report()
    assert (run["status"], run["overall_status"]) == ("PASS", "FAIL")
    assert s5_done.receipt()["overall_status"] == "FAIL"
    assert s5_done.check("CHK_S5_ZONE_ALLOC_COUNTS")["status"] == "FAIL"
    keys = [(i["merchant_id"], i["legal_country_iso"], i["tzid"]) for i in s5_done.issues()
            if i["issue_code"] == "S5_ALLOC_COUNT_MISMATCH"]
    assert keys == [(merchant, country, tzid)]
    s7 = s5_done.run_report("S7")
    assert (s7["status"], s7["error_code"]) == ("FAIL", "E3A_S7_001_S6_NOT_PASS")
    assert not s5_done.path("validation_passed_flag_3A").exists()


def test_fail_verdict_after_dbt_test_is_refused_by_s7(s5_done):
    break_zone_alloc_count(s5_done)
    tested = s5_done.validate()
    assert not tested.ok and "chk_s5_zone_alloc_counts_match_s4" in tested.output
    assert "E3A_S6_" not in tested.output  # a FAIL verdict is not a run failure
    assert s5_done.run_report()["status"] == "PASS" and s5_done.receipt()["overall_status"] == "FAIL"
    s7 = s5_done.dbt("build", "--select", "tag:s7")
    assert not s7.ok and "E3A_S7_001_S6_NOT_PASS" in s7.output
    assert s5_done.run_report("S7")["error_context"]["reason"] == "s6_overall_not_pass"
    assert not s5_done.path("validation_passed_flag_3A").exists()


def test_issue_table_is_sorted_with_tie_breakers(s5_done):
    merchant, country = escalated_pair(s5_done)
    s5_done.rewrite_parquet("s3_zone_shares", f"delete from t where merchant_id = {merchant} and "
                                              f"legal_country_iso = '{country}' and tzid = (select max(tzid) from t "
                                              f"where merchant_id = {merchant} and legal_country_iso = '{country}')")
    s5_done.rewrite_json("zone_alloc_universe_hash", lambda d: {**d, "theta_digest": "0" * 64,
                                                                "zone_floor_digest": "1" * 64})
    s5_done.validate()
    issues = s5_done.issues()
    assert len(issues) >= 4

    def key(row):
        def nulls_first(value):
            return (value is not None, value if value is not None else 0)
        return (row["severity"], row["issue_code"], nulls_first(row["merchant_id"]),
                nulls_first(row["legal_country_iso"]), nulls_first(row["tzid"]), row["check_id"], row["message"],
                nulls_first(row["details"]))

    assert issues == sorted(issues, key=key)
    digests = [i["details"] for i in issues if i["issue_code"] == "S5_DIGEST_MISMATCH"]
    assert [d.split(",")[0] for d in digests] == ["field=theta_digest", "field=zone_floor_digest"]
    assert {i["manifest_fingerprint"] for i in issues} == {s5_done.ctx.tokens.manifest_fingerprint}
    report = s5_done.report()
    assert report["metrics"]["issues_total"] == len(issues)
    assert json.loads(json.dumps(report)) == report
