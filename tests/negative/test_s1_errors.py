"""Every E3A_S1 code of spec 02 §6.5, provoked by a broken input (or, for the self-check
codes, a broken intermediate table) through a real `dbt build` of the small generated
world. The FAIL run report and the segment_state_runs row carry the code, its class,
its phase and context; nothing is published; the dbt output names the code wherever
S1's own code raised it."""
from __future__ import annotations

import pytest

from seg3a.states.s1_escalation import CLASSES, CODES, SPEC
from tests.e2e.conftest import s1s2_session, scenario_outcome  # noqa: F401  (fixture)
from tests.negative._state_failures import assert_upstream_context, failure_after

# scenario, code number, first_failure_phase, expected context items ("$x" = scenario fact x),
# whether dbt's output names the code (contract and upstream failures are named by the report only)
CASES = [
    ("s0_gate_failed", "001", "s0_receipt", {"reason": "missing_gate_receipt", "state": "S0"}, False),
    ("receipt_missing", "001", "s0_receipt", {"reason": "missing_gate_receipt"}, True),
    ("input_not_inventoried", "001", "sealed_inputs",
     {"reason": "missing_sealed_inputs", "logical_id": "tz_world_2025a"}, True),
    ("upstream_gate_not_pass", "002", "s0_receipt", {"segment": "1B", "reported_status": "FAIL"}, True),
    ("outlet_catalogue_absent", "003", "sealed_inputs", {"logical_id": "outlet_catalogue"}, True),
    ("catalogue_malformed", "003", "sealed_inputs", {"catalogue_id": "dictionary_3A"}, True),
    ("policies_not_sealed", "004", "sealed_inputs", {"missing_roles": ["zone_mixture_policy"]}, True),
    ("policies_fail_runtime_checks", "005", "policy_load",
     {"logical_id": "zone_mixture_policy", "violation_count": 3}, True),
    ("outlet_country_not_iso", "001", "s0_receipt", {"reason": "missing_gate_receipt", "state": "S0"}, False),
    ("unknown_legal_country", "006", "zone_structure", {"country_iso": "ZZ", "reason": "unknown_country"}, True),
    ("empty_zone_universe", "006", "zone_structure", {"country_iso": "$country_iso", "reason": "no_zones_defined"}, True),
    ("tz_release_mismatch", "006", "zone_structure",
     {"reason": "tz_release_mismatch", "expected_tag": "2026c", "actual_tag": "2026b"}, True),
    ("sealed_bytes_changed", "007", "sealed_inputs", {"logical_id": "outlet_catalogue"}, True),
    ("empty_catalogue_and_duplicate_floor", "008", "outlet_aggregate", {"reason": "no_pairs"}, True),
    ("extra_decided_pair", "008", "decision_eval", {"extra_pairs_in_s1_count": 1, "missing_pairs_in_s1_count": 0}, True),
    ("site_count_and_share_tampered", "009", "decision_eval", {"mismatch_count": 1}, True),
    ("queue_row_out_of_schema", "010", "decision_eval", {"violation_count": 1}, False),
    ("decision_and_lineage_tampered", "011", "decision_eval", {"mismatch_count": 1}, True),
    ("existing_different_outputs", "012", "decision_eval", {"difference_kind": "row_set"}, True),
    ("reference_unreadable", "013", "decision_eval", {"io_error_class": "upstream_model_failed"}, False),
]


def expected_context(items: dict, facts: dict) -> dict:
    return {k: facts[v[1:]] if isinstance(v, str) and v.startswith("$") else v for k, v in items.items()}


@pytest.mark.parametrize("scenario, number, phase, context, named", CASES, ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_s1_fails_with_its_code(s1s2_session, scenario, number, phase, context, named):
    outcome = scenario_outcome(s1s2_session, scenario)
    code = CODES[number]
    report = outcome["reports"]["S1"]
    assert not outcome["ok"]
    assert report is not None, outcome["output"]
    assert (report["status"], report["error_code"]) == ("FAIL", code), outcome["output"]
    assert report["error_class"] == CLASSES[number]
    assert report["first_failure_phase"] == phase
    assert report["error_context"].items() >= expected_context(context, outcome["facts"]).items()
    assert report["output"]["path"] is None
    row = outcome["rows"]["S1"][-1]
    assert (row["status"], row["error_code"], row["error_class"]) == ("FAIL", code, CLASSES[number])
    if named:
        assert code in outcome["output"]
    if scenario != "existing_different_outputs":
        assert not outcome["published"]["s1_escalation_queue"]


def test_runtime_check_failures_are_all_listed(s1s2_session):
    issues = scenario_outcome(s1s2_session, "policies_fail_runtime_checks")["reports"]["S1"]["error_context"]["issues"]
    assert issues == [
        "theta_mix 0.9 outside [0.10, 0.70]",
        "rules has 2 items, at least 3 required",
        "no forced_escalation rule on site_count_ge or zone_count_country_ge",
    ]


def test_a_different_existing_partition_is_left_untouched(s1s2_session):
    outcome = scenario_outcome(s1s2_session, "existing_different_outputs")
    assert outcome["reports"]["S1"]["error_code"] == CODES["012"]
    assert outcome["published"]["s1_escalation_queue"]
    assert outcome["partition_columns"]["s1_escalation_queue"] == ["placeholder"]


def test_every_s1_code_is_provoked():
    assert {CODES[number] for _, number, *_ in CASES} == set(CODES.values())


# 02 §6.5: the `reason` values of E3A_S1_001_S0_GATE_MISSING_OR_INVALID
REASONS_001 = ("missing_gate_receipt", "missing_sealed_inputs", "schema_invalid", "identity_mismatch")


def test_001_after_s0_failed_in_the_same_invocation():
    """S1 skipped because S0 failed: no gate receipt was published, E3A_S1_001 with reason
    `missing_gate_receipt` (a reason of the 02 §6.5 list), phase s0_receipt."""
    failure = failure_after(SPEC, "s1_escalation_queue", "S0", "s0_gate_receipt_3A")
    assert (failure.code, failure.error_class, failure.phase) == (CODES["001"], "S0_GATE", "s0_receipt")
    assert failure.context["reason"] == "missing_gate_receipt"
    assert failure.context["reason"] in REASONS_001
    assert_upstream_context(failure, "S0", None)  # 02 §6.5 names no component


def test_an_outlet_country_outside_iso_is_refused_by_s0(s1s2_session):
    """05 §1/§10.1: S0 refuses it before anything is published; S1 and S2 never see it."""
    outcome = scenario_outcome(s1s2_session, "outlet_country_not_iso")
    assert "E3A_S0_001_UPSTREAM_GATE_FAILED" in outcome["output"]
    assert "outlet_catalogue.legal_country_iso: foreign_key" in outcome["output"]
    assert not any(outcome["published"].values())
