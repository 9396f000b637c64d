"""3A.S6 — the fixed check catalogue (spec 04 §2.2-§2.3) and the verdict (§2.4).

The checks themselves are dbt data tests (`tests/dbt/generic/`, attached to the
`int_s6__*_read` models): each test returns its failing rows as issue rows
`(issue_code, merchant_id, legal_country_iso, tzid, message, details, affected_count)`
and names its check in `meta.seg3a_check_id`. This module is the authority for what a
check is: its severity, the issue codes and messages it may raise and the sub-count
name each one has in the report's `notes`. `aggregate` turns the outcomes of the tests
into the 12 check results and the issue rows of the issue table, whichever way they
were collected (dbt's stored failures after `dbt test`, or the S6 models in
`dbt build`).

The state's SPEC lives here because the state framework imports the `s6_*` modules in
name order and stops at the first one that declares it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .common import GATE_KINDS, StateFailure, StateSpec

CODES = {
    "001": "E3A_S6_001_PRECONDITION_FAILED",
    "002": "E3A_S6_002_CATALOGUE_MALFORMED",
    "003": "E3A_S6_003_CHECK_EXECUTION_FAILED",
    "004": "E3A_S6_004_REPORT_SCHEMA_INVALID",
    "005": "E3A_S6_005_RECEIPT_INCONSISTENT",
    "006": "E3A_S6_006_IMMUTABILITY_VIOLATION",
    "007": "E3A_S6_007_INFRASTRUCTURE_IO_ERROR",
}
CLASS_DETAIL = {
    "001": "PRECONDITION", "002": "CATALOGUE", "003": "CHECK_EXECUTION", "004": "REPORT_SCHEMA",
    "005": "RECEIPT_INCONSISTENT", "006": "IMMUTABILITY", "007": "INFRASTRUCTURE",
}
PHASES = ("run_receipt", "s0_gate", "sealed_inputs", "sealed_inputs_verify", "run_reports", "datasets",
          "rng_logs", "checks")
COUNT_KEYS = ("pairs_total", "pairs_escalated", "s3_pairs", "s4_pairs", "s3_rows", "s4_rows", "zone_alloc_rows",
              "issues_total", "issues_error", "issues_warn")

SPEC = StateSpec(
    state="S6",
    codes=CODES,
    classes=dict.fromkeys(CODES, "F4"),
    gate={**dict.fromkeys(GATE_KINDS, "001"), "catalogue_malformed": "002"},
    gate_phases={**dict.fromkeys(GATE_KINDS, "s0_gate"), "upstream_state_failed": "run_reports"},
    phases=PHASES,
    infrastructure="007",
    report_id="s6_run_report_3A",
    default_phase="checks",
    count_keys=COUNT_KEYS,
    class_details=CLASS_DETAIL,
    # The §2.5 blocks of a FAIL report: the verdict was never reached, nothing published.
    fail_blocks={
        "overall_status": "FAIL",
        "digests": dict.fromkeys(("validation_report_digest", "issue_table_digest", "routing_universe_hash")),
        "output": dict.fromkeys(("report_path", "issue_table_path", "receipt_path")),
    },
    # 04 §2.1 items 1, 6, 7 and §2.5: what the failed earlier state publishes is missing;
    # the component is that state's run report (as §2.1 item 6 names it), S0's its gate.
    upstream_reason="missing",
    upstream_components={"S0": "S0_GATE", **{f"S{k}": f"S{k}_RUN_REPORT" for k in range(1, 6)}},
)

TOLERANCE = 1e-12  # 04 §4 item 4: absolute, no WARN band


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


# --------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class IssueKind:
    """One trigger of a check: issue code, fixed message, sub-count name in `notes`."""

    code: str
    message: str
    name: str


@dataclass(frozen=True)
class Check:
    check_id: str
    severity: str  # ERROR or WARN
    kinds: tuple[IssueKind, ...]


def _domain_kinds(state: str) -> tuple[IssueKind, ...]:
    """The five domain tests of 04 §2.2, applied to S3 and to S4."""
    low = state.lower()
    return (
        IssueKind(f"{state}_MISSING_PAIR", f"missing_{low}_pair", "missing"),
        IssueKind(f"{state}_EXTRA_PAIR", f"extra_{low}_pair", "extra"),
        IssueKind(f"{state}_DUPLICATE_TRIPLET", f"duplicate_{low}_triplet", "duplicate"),
        IssueKind(f"{state}_TZID_OUT_OF_UNIVERSE", "tzid_not_in_s2", "tzid_out_of_universe"),
        IssueKind(f"{state}_ZONE_COUNT_MISMATCH", "zone_count_mismatch", "zone_count_mismatch"),
    )


CHECKS: tuple[Check, ...] = tuple(sorted((
    Check("CHK_S0_GATE_SEALED_INPUTS", "ERROR", (
        IssueKind("S0_GATE_STATUS", "upstream_gate_not_pass", "gate_not_pass"),
        IssueKind("S0_GATE_MANIFEST_MISMATCH", "s0_gate_manifest_mismatch", "manifest_mismatch"),
        IssueKind("S0_GATE_PARAMETER_MISMATCH", "s0_gate_parameter_mismatch", "parameter_mismatch"),
        IssueKind("S0_SEALED_POLICY_MISSING", "sealed_policy_missing", "policy_missing"),
    )),
    Check("CHK_S1_DOMAIN_COUNTS", "ERROR", (
        IssueKind("S1_DUPLICATE_PAIR", "duplicate_s1_pair", "duplicate"),
        IssueKind("S1_SITE_COUNT_INVALID", "invalid_site_count", "site_count_invalid"),
        IssueKind("S1_MISSING_PAIR", "missing_s1_pair", "missing"),
        IssueKind("S1_EXTRA_PAIR", "extra_s1_pair", "extra"),
        IssueKind("S1_SITE_COUNT_MISMATCH", "site_count_mismatch", "site_count_mismatch"),
    )),
    Check("CHK_S2_PRIORS_ZONE_UNIVERSE", "ERROR", (
        IssueKind("S2_DUPLICATE_ZONE", "duplicate_zone_entry", "duplicate"),
        IssueKind("S2_ALPHA_INVALID", "alpha_effective_invalid", "alpha_invalid"),
        IssueKind("S2_ALPHA_SUM_INVALID", "alpha_sum_country_invalid", "alpha_sum_invalid"),
        IssueKind("S2_ALPHA_SUM_MISMATCH", "alpha_sum_country_mismatch", "alpha_sum_mismatch"),
    )),
    Check("CHK_S3_DOMAIN_ALIGNMENT", "ERROR", _domain_kinds("S3")),
    Check("CHK_S3_SHARE_SUM", "ERROR", (
        IssueKind("S3_SHARE_SUM_MISMATCH", "share_sum_mismatch", "share_sum_mismatch"),
    )),
    Check("CHK_S3_RNG_ACCOUNTING", "ERROR", (
        IssueKind("S3_RNG_DUPLICATE_EVENT", "duplicate_rng_event", "duplicate"),
        IssueKind("S3_RNG_EVENT_MISSING", "missing_rng_event", "missing"),
        IssueKind("S3_RNG_EVENT_EXTRA", "extra_rng_event", "extra"),
        IssueKind("S3_RNG_TRACE_MISSING", "missing_rng_trace", "trace_missing"),
        IssueKind("S3_RNG_TRACE_MISMATCH", "rng_trace_mismatch", "trace_mismatch"),
        IssueKind("S3_RNG_AUDIT_MISSING", "missing_rng_audit_entry", "audit_missing"),
        IssueKind("S3_RNG_IDENTITY_MISMATCH", "rng_event_identity_mismatch", "event_identity_mismatch"),
        IssueKind("S3_RNG_TRACE_IDENTITY_MISMATCH", "rng_trace_identity_mismatch", "trace_identity_mismatch"),
    )),
    Check("CHK_S4_DOMAIN_ALIGNMENT", "ERROR", _domain_kinds("S4")),
    Check("CHK_S4_COUNT_CONSERVATION", "ERROR", (
        IssueKind("S4_COUNT_CONSERVATION", "count_conservation_mismatch", "conservation_mismatch"),
    )),
    Check("CHK_S5_ZONE_ALLOC_COUNTS", "ERROR", (
        IssueKind("S5_ALLOC_MISSING_TRIPLET", "missing_zone_alloc_triplet", "missing"),
        IssueKind("S5_ALLOC_EXTRA_TRIPLET", "extra_zone_alloc_triplet", "extra"),
        IssueKind("S5_ALLOC_COUNT_MISMATCH", "zone_site_count_mismatch", "count_mismatch"),
        IssueKind("S5_ALLOC_SUM_MISMATCH", "zone_alloc_sum_mismatch", "sum_mismatch"),
    )),
    Check("CHK_S5_UNIVERSE_HASH_DIGESTS", "ERROR", (
        IssueKind("S5_DIGEST_MISMATCH", "universe_digest_mismatch", "digest_mismatch"),
    )),
    Check("CHK_S5_UNIVERSE_HASH_COMBINED", "ERROR", (
        IssueKind("S5_ROUTING_HASH_MISMATCH", "routing_universe_hash_mismatch", "routing_hash_mismatch"),
        IssueKind("S5_ALLOC_ROUTING_HASH_MISMATCH", "zone_alloc_hash_mismatch", "zone_alloc_hash_mismatch"),
    )),
    Check("CHK_STATE_STATUS_CONSISTENCY", "WARN", (
        IssueKind("STATE_STATUS_MISMATCH", "run_report_pass_but_checks_fail", "pass_but_checks_fail"),
        IssueKind("STATE_STATUS_MISMATCH", "run_report_fail_but_checks_pass", "fail_but_checks_pass"),
    )),
), key=lambda check: check.check_id))
CHECK_BY_ID: dict[str, Check] = {check.check_id: check for check in CHECKS}

ISSUE_COLUMNS = ("issue_code", "merchant_id", "legal_country_iso", "tzid", "message", "details", "affected_count")


# --------------------------------------------------------------------------- test outcomes
@dataclass(frozen=True)
class TestOutcome:
    """One S6 data test as dbt ran it (or as the S6 models evaluated it)."""

    name: str
    check_id: str | None
    status: str  # pass, fail, warn, error, skipped
    message: str
    issues: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_payload(cls, item: Mapping[str, Any]) -> "TestOutcome":
        return cls(str(item.get("name") or ""), item.get("check_id"), str(item.get("status") or ""),
                   str(item.get("message") or ""), tuple(item.get("issues") or ()))

    @property
    def executed(self) -> bool:
        return self.status in ("pass", "fail", "warn", "success")


@dataclass(frozen=True)
class CheckResult:
    check: Check
    affected_count: int
    sub_counts: tuple[tuple[str, int], ...]

    @property
    def status(self) -> str:
        if self.affected_count == 0:
            return "PASS"
        return "FAIL" if self.check.severity == "ERROR" else "WARN"

    def report_entry(self) -> dict[str, Any]:
        return {
            "check_id": self.check.check_id,
            "status": self.status,
            "severity": self.check.severity,
            "affected_count": self.affected_count,
            "notes": ",".join(f"{name}={count}" for name, count in self.sub_counts),
        }


@dataclass(frozen=True)
class Verdict:
    results: tuple[CheckResult, ...]
    issues: tuple[dict[str, Any], ...]  # issue-table rows without manifest_fingerprint

    @property
    def overall_status(self) -> str:
        return "FAIL" if any(r.status == "FAIL" for r in self.results) else "PASS"

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def summary(self) -> dict[str, Any]:
        """The fields the report and the receipt share (04 §2.4)."""
        return {
            "overall_status": self.overall_status,
            "checks_passed_count": self.count("PASS"),
            "checks_failed_count": self.count("FAIL"),
            "checks_warn_count": self.count("WARN"),
        }


def execution_failure(outcomes: Iterable[TestOutcome]) -> StateFailure | None:
    """E3A_S6_003 when a check did not run to completion: a test errored or was skipped,
    or a check has no test at all (04 §2.5)."""
    outcomes = [o for o in outcomes if o.check_id is not None]
    failed = sorted({o.check_id for o in outcomes if not o.executed} | {
        c.check_id for c in CHECKS if not any(o.check_id == c.check_id for o in outcomes)})
    if not failed:
        return None
    broken = [o for o in outcomes if not o.executed]
    reason = broken[0].message.splitlines()[0][:300] if broken and broken[0].message else "check_not_executed"
    return fail("003", "checks", f"{len(failed)} checks did not execute", failed_checks=failed,
                total_failed_checks=len(failed), reason=reason, failed_tests=sorted(o.name for o in broken))


def _issue_row(check: Check, row: Mapping[str, Any], test: str) -> dict[str, Any]:
    kind = next((k for k in check.kinds if k.code == row.get("issue_code") and k.message == row.get("message")), None)
    if kind is None:
        raise fail("003", "checks", f"test {test} raised an issue its check does not define",
                   failed_checks=[check.check_id], total_failed_checks=1, reason="unknown_issue",
                   issue_code=row.get("issue_code"), issue_message=row.get("message"))
    merchant = row.get("merchant_id")
    return {
        "issue_code": kind.code,
        "check_id": check.check_id,
        "severity": check.severity,
        "message": kind.message,
        "merchant_id": None if merchant is None else int(merchant),
        "legal_country_iso": row.get("legal_country_iso"),
        "tzid": row.get("tzid"),
        "details": row.get("details"),
        "_affected": int(row.get("affected_count") if row.get("affected_count") is not None else 1),
    }


def aggregate(outcomes: Iterable[TestOutcome]) -> Verdict:
    """The 12 check results and the issue rows (04 §2.2, §2.4). Raises E3A_S6_003 when
    a check did not execute or a test reports an issue outside its check."""
    outcomes = list(outcomes)
    failure = execution_failure(outcomes)
    if failure is not None:
        raise failure
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.check_id is None:
            continue
        check = CHECK_BY_ID.get(outcome.check_id)
        if check is None:
            raise fail("003", "checks", f"test {outcome.name} names an unknown check {outcome.check_id}",
                       failed_checks=[outcome.check_id], total_failed_checks=1, reason="unknown_check")
        rows.extend(_issue_row(check, issue, outcome.name) for issue in outcome.issues)
    results = []
    for check in CHECKS:
        mine = [r for r in rows if r["check_id"] == check.check_id]
        sub_counts = tuple(
            (kind.name, sum(r["_affected"] for r in mine
                            if (r["issue_code"], r["message"]) == (kind.code, kind.message)))
            for kind in check.kinds)
        results.append(CheckResult(check, sum(count for _, count in sub_counts), sub_counts))
    issues = tuple({k: v for k, v in r.items() if k != "_affected"} for r in rows)
    return Verdict(tuple(results), issues)
