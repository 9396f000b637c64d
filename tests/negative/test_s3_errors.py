"""Every E3A_S3 code of spec 03 §3.7 provoked by a broken input through a real `dbt
build` of the S3 models on the small world (E3A_S3_008 is reserved for the validation
state). The FAIL run report and the segment_state_runs row carry the code, class F4,
the phase and the context, and the §3.8 blocks with null values; outputs published before
are left untouched."""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from seg3a.states.s3_draws import CODES, SPEC
from tests.e2e.conftest import PROJECT_ROOT, edit_json, load_policy, s1s2_session, write_policy  # noqa: F401
from tests.e2e.test_s3_s4 import BASELINE, baseline_digests, build, output_files
from tests.negative._state_failures import (
    assert_state_failed, assert_upstream_context, edit_yaml, failure_after, hook_report_after, private_contracts,
)

pytestmark = pytest.mark.e2e


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def built(s1s2_session):
    """S0..S2 done, S3 not yet run."""
    return s1s2_session.restore("built")


@pytest.fixture
def finished(s1s2_session):
    """S0..S4 done: the S3/S4 baseline."""
    baseline_digests(s1s2_session)
    return s1s2_session.restore(BASELINE)


# 03 §3.8: a FAIL report carries the policy, bucket and RNG-total blocks with every value
# it cannot know null; S3 adds no error_class_detail (only S4-S7 do, 01 §5.3).
FAIL_BLOCKS = {
    "policy": {
        "prior_pack_id": None, "prior_pack_version": None, "floor_policy_id": None, "floor_policy_version": None,
        "s3_dispersion": {"enabled": None, "concentration_scale": None, "alpha_temperature": None,
                          "merchant_jitter": None, "merchant_jitter_clip": None, "alpha_floor": None},
    },
    "zone_count_buckets": None,
    "rng_totals": {"events": None, "draws": None, "blocks": None},
}


def run_s3_expecting(project, number: str, phase: str, **context) -> dict:
    return assert_state_failed(project, build(project, "tag:s3"), "S3", CODES[number], phase, context,
                               detail=None, blocks=FAIL_BLOCKS)


def replace_table(project, table: str, select: str) -> None:
    """Rewrite a built table from a query over itself (constraints are dropped)."""
    project.sql(f"create or replace table main.{table}_tampered as {select}")
    project.sql(f"drop table main.{table}")
    project.sql(f"alter table main.{table}_tampered rename to {table}")


def escalated_country(project, zones: int = 2) -> str:
    rows = project.sql(
        "select queue.legal_country_iso from s1_escalation_queue as queue "
        "inner join (select country_iso, count(*) as k from s2_country_zone_priors group by country_iso) as zones "
        "on queue.legal_country_iso = zones.country_iso "
        "where queue.is_escalated and zones.k >= ? order by queue.legal_country_iso limit 1", [zones])
    return rows[0][0]


def shares_published(project) -> bool:
    return (project.path("s3_zone_shares") / "part-00000.parquet").is_file()


# ----------------------------------------------------------------------------- 001
def test_001_missing_gate_receipt(built):
    built.path("s0_gate_receipt_3A").unlink()
    run_s3_expecting(built, "001", "s0_gate", component="S0_GATE", reason="missing")
    assert not shares_published(built)


# 03 §3.7: the reasons of E3A_S3_001. None names a failed upstream state; the inputs it
# would have published are missing, so `missing` (docs/decisions.md).
REASONS_001 = {"missing", "schema_invalid", "upstream_gate_not_pass", "invalid_s3_dispersion"}


@pytest.mark.parametrize("failed_state, failed_model", [
    ("S2", "s2_country_zone_priors"), ("S1", "s1_escalation_queue"), ("S0", "s0_gate_receipt_3A"),
])
def test_001_earlier_state_failed_in_the_same_invocation(failed_state, failed_model):
    """S3 skipped because an earlier state failed: E3A_S3_001 with reason `missing`, a
    reason of the §3.7 list."""
    failure = failure_after(SPEC, "s3_zone_shares", failed_state, failed_model)
    assert (failure.code, failure.phase) == (CODES["001"], "s1_escalation_queue")
    assert failure.context["reason"] == "missing"
    assert failure.context["reason"] in REASONS_001
    # 03 §3.7: component ∈ {S0_GATE, S0_SEALED_INPUTS, S1_ESCALATION_QUEUE, S2_PRIORS, ZONE_MIXTURE_POLICY}
    assert_upstream_context(failure, failed_state,
                            {"S0": "S0_GATE", "S1": "S1_ESCALATION_QUEUE", "S2": "S2_PRIORS"}[failed_state])


def test_001_hook_report_after_s2_failed(built):
    report = hook_report_after(built, "S3", "s3_zone_shares", "S2", "s2_country_zone_priors", CODES["001"])
    assert (report["status"], report["error_code"], report["error_class"]) == ("FAIL", CODES["001"], "F4")
    assert "error_class_detail" not in report
    assert (report["first_failure_phase"], report["error_context"]["reason"]) == ("s1_escalation_queue", "missing")
    for name, expected in FAIL_BLOCKS.items():
        assert report[name] == expected, name


def test_001_required_policy_not_sealed(built):
    def drop(receipt):
        receipt["sealed_policy_set"] = [p for p in receipt["sealed_policy_set"] if p["logical_id"] != "zone_floor_policy"]
    edit_json(built.path("s0_gate_receipt_3A"), drop)
    run_s3_expecting(built, "001", "s0_gate", missing_policies=["zone_floor_policy"])


def test_001_escalation_queue_schema_invalid(built):
    replace_table(built, "s1_escalation_queue",
                  "select * replace (case when is_escalated then 'bogus' else decision_reason end as decision_reason) "
                  "from main.s1_escalation_queue")
    run_s3_expecting(built, "001", "s1_escalation_queue", component="S1_ESCALATION_QUEUE", reason="schema_invalid",
                     example_field="decision_reason")


def test_001_dispersion_out_of_range_even_when_disabled(built):
    policy = load_policy(built, "zone_mixture_policy")
    policy["s3_dispersion"].update(enabled=False, merchant_jitter=0.3, merchant_jitter_clip=0.1)
    write_policy(built, "zone_mixture_policy", policy)
    for dataset_id in ("s0_gate_receipt_3A", "sealed_inputs_3A"):
        built.path(dataset_id).unlink()  # S0 seals the edited policy afresh
    result = build(built, "s0_gate_receipt_3A", "sealed_inputs_3A")
    assert result.ok, result.output[-3000:]
    report = run_s3_expecting(built, "001", "s3_dispersion_policy", component="ZONE_MIXTURE_POLICY",
                              reason="invalid_s3_dispersion")
    assert report["error_context"]["issues"] == ["s3_dispersion.merchant_jitter_clip = 0.1 below merchant_jitter = 0.3"]


def test_site_count_concentration_out_of_range_is_refused_when_sealing(built):
    """Every range of the knob is in the policy schema, so S0 refuses the policy before
    S3 reads it (S3's own check, dispersion_issues, is covered by
    tests/unit/test_s3_site_count_concentration.py)."""
    policy = load_policy(built, "zone_mixture_policy")
    policy["s3_dispersion"]["site_count_concentration"].update(exponent=2.0)
    write_policy(built, "zone_mixture_policy", policy)
    for dataset_id in ("s0_gate_receipt_3A", "sealed_inputs_3A"):
        built.path(dataset_id).unlink()
    result = build(built, "s0_gate_receipt_3A", "sealed_inputs_3A")
    assert not result.ok
    assert "E3A_S0_004_POLICY_SCHEMA_INVALID" in result.output
    assert "$.s3_dispersion.site_count_concentration.exponent: 2.0 is not one of [0.5, 1.0]" in result.output


# ----------------------------------------------------------------------------- 002
def test_002_rng_log_path_without_run_id(built):
    contracts = private_contracts(built, "trace-without-run-id")

    def drop_run_id(doc):
        for entry in doc["datasets"]:
            if entry["id"] == "rng_trace_log":
                entry["path"] = entry["path"].replace("run_id={run_id}/", "")
    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml", drop_run_id)
    run_s3_expecting(built, "002", "rng_logs", dataset_id="rng_trace_log")
    assert not shares_published(built)


# ----------------------------------------------------------------------------- 003 - 006
def test_003_escalated_country_without_priors(built):
    country = escalated_country(built)
    built.sql("delete from main.s2_country_zone_priors where country_iso = ?", [country])
    run_s3_expecting(built, "003", "s2_priors", missing_countries_count=1, sample_country_iso=country)


def test_004_duplicate_pair_in_the_escalation_queue(built):
    replace_table(built, "s1_escalation_queue",
                  "select * from main.s1_escalation_queue union all "
                  "(select * from main.s1_escalation_queue order by merchant_id, legal_country_iso limit 1)")
    run_s3_expecting(built, "004", "s1_escalation_queue", reason="duplicate_pairs")


def test_005_duplicate_zone_in_the_priors(built):
    replace_table(built, "s2_country_zone_priors",
                  "select * from main.s2_country_zone_priors union all "
                  "(select * from main.s2_country_zone_priors order by country_iso, tzid limit 1)")
    run_s3_expecting(built, "005", "s2_priors", reason="duplicate_zone_rows")


def test_006_alpha_sum_differs_from_the_compensated_sum(built):
    country = escalated_country(built)
    built.sql("update main.s2_country_zone_priors set alpha_sum_country = alpha_sum_country * (1 + 1e-9) "
              "where country_iso = ?", [country])
    report = run_s3_expecting(built, "006", "s2_priors", reason="alpha_sum_mismatch", sample_country_iso=country)
    context = report["error_context"]
    assert context["observed_alpha_sum"] != context["expected_alpha_sum"]


# ----------------------------------------------------------------------------- 007
def test_007_partial_logs_events_without_trace(finished):
    output_files(finished)["rng_trace_log"].unlink()
    before = output_files(finished)["rng_event_zone_dirichlet"].read_bytes()
    run_s3_expecting(finished, "007", "rng_logs", reason="trace_mismatch", events_exist=True, trace_exists=False)
    assert output_files(finished)["rng_event_zone_dirichlet"].read_bytes() == before


def test_007_replay_without_audit_row(finished):
    output_files(finished)["rng_audit_log"].unlink()
    run_s3_expecting(finished, "007", "rng_logs", reason="audit_missing")
    assert not output_files(finished)["rng_audit_log"].exists()


def logs_published(project) -> bool:
    events = project.path("rng_event_zone_dirichlet").parent / "part-00000.jsonl"
    return events.exists() or project.path("rng_trace_log").exists()


def cap_event_zone_count(contracts) -> None:
    """Every escalated pair has K >= 2 zones: each event line now fails its schema."""
    def cap(doc):
        doc["rng"]["events"]["zone_dirichlet"]["properties"]["zone_count"]["maximum"] = 1
    edit_yaml(contracts / "schemas" / "schemas.layer1.yaml", cap)


def cap_share_drawn(contracts) -> None:
    def cap(doc):
        for column in doc["plan"]["s3_zone_shares"]["columns"]:
            if column["name"] == "share_drawn":
                column["maximum"] = 0.5
    edit_yaml(contracts / "schemas" / "schemas.3A.yaml", cap)


def test_007_event_rows_fail_their_schema_once_the_shares_are_published(built):
    """The lines are staged beside the share write (int_s3__rng_logs_staged), yet an
    invalid line is reported where §2.4 puts the move: by rng_event_zone_dirichlet,
    after s3_zone_shares is published; no log file is published, no stage is left."""
    cap_event_zone_count(private_contracts(built, "events-capped"))
    result = build(built, "tag:s3")
    assert re.search(r"Error in model rng_event_zone_dirichlet\b", result.output), result.output[-4000:]
    assert not re.search(r"Error in model int_s3__rng_logs_staged\b", result.output)
    run_s3_expecting(built, "007", "sampling", reason="event_schema_invalid")
    assert shares_published(built)
    assert not logs_published(built)
    assert not any((built.run_root / ".staging").glob("*"))


# ----------------------------------------------------------------------------- 009 - 012
def test_009_rows_fail_the_output_table_schema(built):
    cap_share_drawn(private_contracts(built, "shares-capped"))
    run_s3_expecting(built, "009", "sampling", example_field="share_drawn")
    assert not shares_published(built)


def test_009_shares_failing_are_reported_before_event_rows_failing_too(built):
    """Lines staged at the same time as the share write do not change which failure S3
    reports: the shares' (the lines' would only be raised after the shares publish)."""
    contracts = private_contracts(built, "shares-and-events-capped")
    cap_share_drawn(contracts)
    cap_event_zone_count(contracts)
    run_s3_expecting(built, "009", "sampling", example_field="share_drawn")
    assert not shares_published(built)
    assert not logs_published(built)


def test_010_lineage_not_single_valued(built):
    country = escalated_country(built)
    built.sql("update main.s2_country_zone_priors set prior_pack_version = 'v9.9.9' where country_iso = ?", [country])
    run_s3_expecting(built, "010", "s2_priors", reason="lineage_not_single_valued", lineage_fields=["prior_pack_version"])


def test_011_tampered_existing_partition_is_not_overwritten(finished):
    part = output_files(finished)["s3_zone_shares"]
    table = pq.read_table(part)
    shares = table.column("share_drawn").to_numpy().copy()
    shares[0] *= 0.5
    pq.write_table(table.set_column(table.schema.get_field_index("share_drawn"), "share_drawn", pa.array(shares)),
                   part, compression="zstd")
    tampered = part.read_bytes()
    run_s3_expecting(finished, "011", "sampling", difference_kind="field_value")
    assert part.read_bytes() == tampered


def test_011_event_file_present_at_publish(built):
    events = built.path("rng_event_zone_dirichlet").parent / "part-00000.jsonl"
    events.parent.mkdir(parents=True)
    events.write_text("\n")  # a blank line: the events do not "exist", yet the file does
    run_s3_expecting(built, "011", "sampling", output_id="rng_event_zone_dirichlet")
    assert events.read_text() == "\n"


def test_012_log_directory_unusable(built):
    events_root = built.run_root / "logs/layer1/3A/rng/events"
    events_root.mkdir(parents=True)
    (events_root / "zone_dirichlet").write_text("not a directory\n")
    run_s3_expecting(built, "012", "sampling", operation="write")


def test_008_is_reserved_for_the_validation_state():
    """S3 never raises its replay-mismatch code: no model or S3 module refers to it."""
    sources = [*sorted((PROJECT_ROOT / "models/segment3a/s3_draws").glob("*")),
               *sorted((PROJECT_ROOT / "src/seg3a/states").glob("s3_*.py"))]
    raising = [p.name for p in sources
               if re.search(r"(?:error|seg3a_raise)\(\s*\"?'E3A_S3_008|fail\(\s*\"008\"|StateFailure\(SPEC,\s*\"008\"",
                            p.read_text())]
    assert raising == []
    assert CODES["008"] == "E3A_S3_008_DIRICHLET_REPLAY_MISMATCH"


def test_every_s3_code_is_provoked():
    provoked = {name.split("_")[1] for name in globals() if re.fullmatch(r"test_\d{3}_.*", name)}
    assert provoked == set(CODES)
