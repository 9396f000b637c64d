"""Every E3A_S2 code of spec 02 §7.4, provoked by a broken input (or, for the self-check
codes, a broken intermediate table) through a real `dbt build` of the small generated
world: schema-invalid or ambiguous policies, a prior pack missing a zone or carrying an
extra one, unknown countries, an empty Z(c), degenerate alphas, an existing different
partition. The FAIL run report and segment_state_runs row carry the code, class, phase
and context; nothing is published."""
from __future__ import annotations

import pytest

from seg3a.states.s2_priors import CLASSES, CODES, SPEC
from tests.e2e.conftest import s1s2_session, scenario_outcome  # noqa: F401  (fixture)
from tests.negative._state_failures import assert_upstream_context, failure_after

# scenario, code number, first_failure_phase, expected context items ("$x" = scenario fact x),
# whether dbt's output names the code
CASES = [
    ("s0_gate_failed", "001", "s0_receipt", {"reason": "missing_gate_receipt", "state": "S0"}, False),
    ("receipt_missing", "001", "s0_receipt", {"reason": "missing_gate_receipt"}, True),
    ("upstream_gate_not_pass", "001", "s0_receipt",
     {"reason": "upstream_gate_not_pass", "segment": "1B", "reported_status": "FAIL"}, True),
    ("catalogue_malformed", "002", "sealed_inputs", {"catalogue_id": "dictionary_3A"}, True),
    ("policies_not_sealed", "003", "sealed_inputs", {"missing_roles": ["country_zone_alphas"]}, True),
    ("policies_fail_runtime_checks", "004", "policy_load",
     {"logical_id": "country_zone_alphas", "country_iso": "$country_iso", "tzid": "$tzid"}, True),
    ("empty_catalogue_and_duplicate_floor", "004", "policy_load",
     {"logical_id": "zone_floor_policy", "tzid": "$tzid"}, True),
    ("unknown_country", "005", "zone_universe", {"country_iso": "ZZ", "reason": "unknown_country"}, True),
    ("empty_zone_universe", "005", "zone_universe",
     {"country_iso": "$country_iso", "reason": "no_zones_for_country"}, True),
    ("tz_release_mismatch", "005", "zone_universe",
     {"reason": "tz_release_mismatch", "expected_tag": "2026c", "actual_tag": "2026b"}, True),
    ("extra_tzid", "005", "zone_universe",
     {"country_iso": "$country_iso", "tzid": "$tzid", "reason": "unmappable_tzid"}, True),
    ("sealed_bytes_changed", "006", "sealed_inputs", {"logical_id": "country_zone_alphas"}, True),
    ("input_not_inventoried", "006", "sealed_inputs", {"logical_id": "tz_world_2025a"}, True),
    ("pack_missing_zone", "007", "domain_check",
     {"missing_pairs_count": 1, "sample_country_iso": "$country_iso", "sample_tzid": "$tzid"}, True),
    ("alpha_overflow", "008", "alpha_derivation", {"country_iso": "$country_iso", "reason": "share_sum_mismatch"}, True),
    ("site_count_and_share_tampered", "009", "alpha_derivation", {"violation_count": 1}, False),
    ("decision_and_lineage_tampered", "010", "alpha_derivation",
     {"field": "prior_pack_version", "observed": "v9.9.9"}, True),
    ("existing_different_outputs", "011", "alpha_derivation", {"difference_kind": "row_set"}, True),
    ("reference_unreadable", "012", "alpha_derivation", {"io_error_class": "upstream_model_failed"}, False),
]


def expected_context(items: dict, facts: dict) -> dict:
    return {k: facts[v[1:]] if isinstance(v, str) and v.startswith("$") else v for k, v in items.items()}


@pytest.mark.parametrize("scenario, number, phase, context, named", CASES, ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_s2_fails_with_its_code(s1s2_session, scenario, number, phase, context, named):
    outcome = scenario_outcome(s1s2_session, scenario)
    code = CODES[number]
    report = outcome["reports"]["S2"]
    assert not outcome["ok"]
    assert report is not None, outcome["output"]
    assert (report["status"], report["error_code"]) == ("FAIL", code), outcome["output"]
    assert report["error_class"] == CLASSES[number]
    assert report["first_failure_phase"] == phase
    assert report["error_context"].items() >= expected_context(context, outcome["facts"]).items()
    assert report["output"]["path"] is None
    row = outcome["rows"]["S2"][-1]
    assert (row["status"], row["error_code"], row["error_class"]) == ("FAIL", code, CLASSES[number])
    if named:
        assert code in outcome["output"]
    if scenario != "existing_different_outputs":
        assert not outcome["published"]["s2_country_zone_priors"]


def test_s1_is_unaffected_by_a_pack_missing_a_zone(s1s2_session):
    outcome = scenario_outcome(s1s2_session, "pack_missing_zone")
    assert outcome["reports"]["S1"]["status"] == "PASS"
    assert outcome["published"]["s1_escalation_queue"]


def test_a_different_existing_partition_is_left_untouched(s1s2_session):
    outcome = scenario_outcome(s1s2_session, "existing_different_outputs")
    assert outcome["reports"]["S2"]["error_code"] == CODES["011"]
    assert outcome["partition_columns"]["s2_country_zone_priors"] == ["placeholder"]


def test_every_s2_code_is_provoked():
    assert {CODES[number] for _, number, *_ in CASES} == set(CODES.values())


# 02 §7.4: the `reason` values of E3A_S2_001_S0_GATE_OR_SEALED_INPUTS_INVALID
REASONS_001 = ("missing_gate_receipt", "missing_sealed_inputs", "schema_invalid", "identity_mismatch",
               "upstream_gate_not_pass")


@pytest.mark.parametrize("failed_state, failed_model", [("S0", "s0_gate_receipt_3A"),
                                                        ("S1", "s1_escalation_queue")])
def test_001_after_an_earlier_state_failed_in_the_same_invocation(failed_state, failed_model):
    """S2 skipped because an earlier state failed: E3A_S2_001 with reason
    `missing_gate_receipt` (02 §7.4 lists no other fitting reason), phase s0_receipt."""
    failure = failure_after(SPEC, "s2_country_zone_priors", failed_state, failed_model)
    assert (failure.code, failure.error_class, failure.phase) == (CODES["001"], "S0_GATE", "s0_receipt")
    assert failure.context["reason"] == "missing_gate_receipt"
    assert failure.context["reason"] in REASONS_001
    assert_upstream_context(failure, failed_state, None)  # 02 §7.4 names no component
