"""Each S6 check made to fail by corrupting exactly the data it guards, on a small world
taken through S0..S5 by the real dbt project, then validated by `dbt test` alone.

The check must FAIL (CHK_STATE_STATUS_CONSISTENCY: WARN) with issue rows naming the
broken keys; the verdict is FAIL for an ERROR check; the S6 run itself stays PASS and
the three outputs are published, because a failed check never aborts the run (04 §2).
Corruptions propagate as the contract says (e.g. a changed zone_alloc count also moves
the masked digest), so only the guarded check's own issues are asserted exactly.

The checks are independent (a failed check never stops another), so the default suite
judges several corruptions in one `dbt test`: a batch holds cases whose corruptions,
each alone, fail disjoint sets of checks (the guarded check and the `also_fails` it
propagates to). Every failing check of a batch is then attributable to one corruption,
and every check no member breaks must stay PASS in the same run. `-m slow` runs each
case alone and proves the sets each batch relies on."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Callable

import duckdb
import pytest

from tests.dbt_fixtures.s6_project import (  # noqa: F401  (fixtures)
    DBT, PROJECT_ROOT, DbtResult, S6Project, escalated_pair, issue_keys, monolithic_pair, s5_done, s6_session,
)

Z = "0" * 64


@dataclass(frozen=True)
class Case:
    name: str
    check_id: str
    issue_code: str
    corrupt: Callable[[S6Project], list[tuple]]  # returns the expected issue keys
    message: str | None = None
    also_fails: tuple[str, ...] = ()  # checks the corruption propagates to (04 §3), besides its own

    @property
    def warn_only(self) -> bool:
        return self.check_id == "CHK_STATE_STATUS_CONSISTENCY"

    @property
    def failing_checks(self) -> frozenset[str]:
        """The checks this corruption alone makes FAIL (a WARN check never does)."""
        return frozenset(self.also_fails) | (frozenset() if self.warn_only else {self.check_id})


def _pair_filter(merchant: int, country: str) -> str:
    return f"merchant_id = {merchant} and legal_country_iso = '{country}'"


def _first_zone(project: S6Project, dataset_id: str, merchant: int, country: str) -> str:
    return project.sql(f"select min(tzid) from {{{dataset_id}}} where {_pair_filter(merchant, country)}")[0][0]


def gate_parameter(project):
    project.rewrite_json("s0_gate_receipt_3A", lambda d: {**d, "parameter_hash": "f" * 64})
    return [(None, None, None)]


def gate_manifest(project):
    project.rewrite_json("s0_gate_receipt_3A", lambda d: {**d, "manifest_fingerprint": "e" * 64})
    return [(None, None, None)]


def s1_site_count(project):
    merchant, country, _ = monolithic_pair(project)
    project.rewrite_parquet("s1_escalation_queue", f"update t set site_count = site_count + 1 "
                                                   f"where {_pair_filter(merchant, country)}")
    return [(merchant, country, None)]


def s1_pair_removed(project):
    merchant, country, _ = monolithic_pair(project)
    project.rewrite_parquet("s1_escalation_queue", f"delete from t where {_pair_filter(merchant, country)}")
    return [(merchant, country, None)]


def s1_pair_duplicated(project):
    merchant, country, _ = monolithic_pair(project)
    project.rewrite_parquet("s1_escalation_queue", f"insert into t select * from t "
                                                   f"where {_pair_filter(merchant, country)}")
    return [(merchant, country, None)]


def outlet_removed(project):
    """One outlet fewer in the (resealed) outlet catalogue: S1's site_count no longer
    matches the outlets of that pair."""
    merchant, country, _ = monolithic_pair(project)
    project.rewrite_parquet("outlet_catalogue", f"delete from t where {_pair_filter(merchant, country)} and "
                                                f"site_order = (select max(site_order) from t "
                                                f"where {_pair_filter(merchant, country)})")
    project.reseal("outlet_catalogue")
    return [(merchant, country, None)]


def _multi_zone_country(project):
    return project.sql("select country_iso from {s2_country_zone_priors} group by all having count(*) >= 2 "
                       "order by country_iso limit 1")[0][0]


def s2_alpha_changed(project):
    country = _multi_zone_country(project)
    project.rewrite_parquet("s2_country_zone_priors", f"update t set alpha_effective = alpha_effective * 2 "
                                                      f"where country_iso = '{country}' and tzid = "
                                                      f"(select min(tzid) from t where country_iso = '{country}')")
    return [(None, country, None)]


def s2_alpha_negative(project):
    country = _multi_zone_country(project)
    tzid = project.sql(f"select min(tzid) from {{s2_country_zone_priors}} where country_iso = '{country}'")[0][0]
    project.rewrite_parquet("s2_country_zone_priors", f"update t set alpha_effective = -1.0 "
                                                      f"where country_iso = '{country}' and tzid = '{tzid}'")
    return [(None, country, tzid)]


def s3_zone_removed(project):
    """The pair's zone with the largest share: its shares then miss at least 1/zones of
    their sum too (CHK_S3_SHARE_SUM). A zone's draw may be as small as 1e-15 (the draws
    follow the run id, which differs per session), and removing it would move no sum."""
    merchant, country = escalated_pair(project)
    tzid = project.sql(f"select tzid from {{s3_zone_shares}} where {_pair_filter(merchant, country)} "
                       "order by share_drawn desc, tzid limit 1")[0][0]
    project.rewrite_parquet("s3_zone_shares", f"delete from t where {_pair_filter(merchant, country)} "
                                              f"and tzid = '{tzid}'")
    return [(merchant, country, None)]


def s3_pair_removed(project):
    merchant, country = escalated_pair(project)
    project.rewrite_parquet("s3_zone_shares", f"delete from t where {_pair_filter(merchant, country)}")
    return [(merchant, country, None)]


def s3_shares_off(project):
    merchant, country = escalated_pair(project)
    project.rewrite_parquet("s3_zone_shares", f"update t set share_drawn = share_drawn * 0.5 "
                                              f"where {_pair_filter(merchant, country)}")
    return [(merchant, country, None)]


def rng_trace_tampered(project):
    def edit(rows):
        last = max(rows, key=lambda r: r["events_total"])
        last["draws_total"] += 1
        return rows

    project.rewrite_log("rng_trace_log", edit)
    return [(None, None, None)]


def rng_event_removed(project):
    removed = {}

    def edit(rows):
        removed.update(rows[0])
        return rows[1:]

    project.rewrite_log("rng_event_zone_dirichlet", edit)
    return [(removed["merchant_id"], removed["country_iso"], None)]


def rng_event_foreign_run(project):
    def edit(rows):
        rows[0]["run_id"] = "f" * 32
        return rows

    project.rewrite_log("rng_event_zone_dirichlet", edit)
    return [(None, None, None)]


def rng_audit_foreign_run(project):
    project.rewrite_log("rng_audit_log", lambda rows: [{**r, "run_id": "e" * 32} for r in rows])
    return [(None, None, None)]


def s4_zone_removed(project):
    merchant, country = escalated_pair(project)
    tzid = _first_zone(project, "s4_zone_counts", merchant, country)
    project.rewrite_parquet("s4_zone_counts", f"delete from t where {_pair_filter(merchant, country)} "
                                              f"and tzid = '{tzid}'")
    return [(merchant, country, None)]


def s4_count_changed(project):
    merchant, country = escalated_pair(project)
    tzid = _first_zone(project, "s4_zone_counts", merchant, country)
    project.rewrite_parquet("s4_zone_counts", f"update t set zone_site_count = zone_site_count + 1 "
                                              f"where {_pair_filter(merchant, country)} and tzid = '{tzid}'")
    return [(merchant, country, None)]


def alloc_count_changed(project):
    merchant, country = escalated_pair(project)
    tzid = _first_zone(project, "zone_alloc", merchant, country)
    project.rewrite_parquet("zone_alloc", f"update t set zone_site_count = zone_site_count + 1 "
                                          f"where {_pair_filter(merchant, country)} and tzid = '{tzid}'")
    return [(merchant, country, tzid)]


def alloc_row_removed(project):
    merchant, country = escalated_pair(project)
    tzid = _first_zone(project, "zone_alloc", merchant, country)
    project.rewrite_parquet("zone_alloc", f"delete from t where {_pair_filter(merchant, country)} "
                                          f"and tzid = '{tzid}'")
    return [(merchant, country, tzid)]


def universe_digest_wrong(project):
    project.rewrite_json("zone_alloc_universe_hash", lambda d: {**d, "theta_digest": Z})
    return [(None, None, None)]


def universe_hash_wrong(project):
    project.rewrite_json("zone_alloc_universe_hash", lambda d: {**d, "routing_universe_hash": "a" * 64})
    return [(None, None, None)]


def alloc_hash_column_wrong(project):
    """The masked digest ignores the hash column, so only the rows' own hash is wrong."""
    merchant, country = escalated_pair(project)
    project.rewrite_parquet("zone_alloc", f"update t set routing_universe_hash = '{'b' * 64}' "
                                          f"where {_pair_filter(merchant, country)}")
    zones = project.sql(f"select tzid from {{zone_alloc}} where {_pair_filter(merchant, country)} order by tzid")
    return [(merchant, country, z) for (z,) in zones]


def run_report_fail(project):
    project.rewrite_json("s3_run_report_3A", lambda d: {**d, "status": "FAIL"}, canonical=False)
    return [(None, None, None)]


# the masked zone_alloc digest and the routing universe hash cover S2's priors and S5's rows
S5_HASHES = ("CHK_S5_UNIVERSE_HASH_COMBINED", "CHK_S5_UNIVERSE_HASH_DIGESTS")
CASES = [
    Case("gate_parameter_mismatch", "CHK_S0_GATE_SEALED_INPUTS", "S0_GATE_PARAMETER_MISMATCH", gate_parameter),
    Case("gate_manifest_mismatch", "CHK_S0_GATE_SEALED_INPUTS", "S0_GATE_MANIFEST_MISMATCH", gate_manifest),
    Case("s1_site_count_changed", "CHK_S1_DOMAIN_COUNTS", "S1_SITE_COUNT_MISMATCH", s1_site_count),
    Case("s1_pair_removed", "CHK_S1_DOMAIN_COUNTS", "S1_MISSING_PAIR", s1_pair_removed),
    Case("s1_pair_duplicated", "CHK_S1_DOMAIN_COUNTS", "S1_DUPLICATE_PAIR", s1_pair_duplicated),
    Case("outlet_row_removed", "CHK_S1_DOMAIN_COUNTS", "S1_SITE_COUNT_MISMATCH", outlet_removed),
    Case("s2_alpha_changed", "CHK_S2_PRIORS_ZONE_UNIVERSE", "S2_ALPHA_SUM_MISMATCH", s2_alpha_changed,
         also_fails=S5_HASHES),
    Case("s2_alpha_negative", "CHK_S2_PRIORS_ZONE_UNIVERSE", "S2_ALPHA_INVALID", s2_alpha_negative,
         also_fails=S5_HASHES),
    Case("s3_zone_row_removed", "CHK_S3_DOMAIN_ALIGNMENT", "S3_ZONE_COUNT_MISMATCH", s3_zone_removed,
         also_fails=("CHK_S3_SHARE_SUM",)),
    Case("s3_escalated_pair_missing", "CHK_S3_DOMAIN_ALIGNMENT", "S3_MISSING_PAIR", s3_pair_removed),
    Case("s3_shares_not_summing_to_one", "CHK_S3_SHARE_SUM", "S3_SHARE_SUM_MISMATCH", s3_shares_off),
    Case("rng_trace_tampered", "CHK_S3_RNG_ACCOUNTING", "S3_RNG_TRACE_MISMATCH", rng_trace_tampered),
    Case("rng_event_removed", "CHK_S3_RNG_ACCOUNTING", "S3_RNG_EVENT_MISSING", rng_event_removed),
    Case("rng_event_of_another_run", "CHK_S3_RNG_ACCOUNTING", "S3_RNG_IDENTITY_MISMATCH", rng_event_foreign_run),
    Case("rng_audit_of_another_run", "CHK_S3_RNG_ACCOUNTING", "S3_RNG_AUDIT_MISSING", rng_audit_foreign_run),
    Case("s4_zone_row_removed", "CHK_S4_DOMAIN_ALIGNMENT", "S4_ZONE_COUNT_MISMATCH", s4_zone_removed,
         also_fails=("CHK_S5_ZONE_ALLOC_COUNTS",)),
    Case("s4_count_changed", "CHK_S4_COUNT_CONSERVATION", "S4_COUNT_CONSERVATION", s4_count_changed,
         also_fails=("CHK_S5_ZONE_ALLOC_COUNTS",)),
    Case("zone_alloc_count_changed", "CHK_S5_ZONE_ALLOC_COUNTS", "S5_ALLOC_COUNT_MISMATCH", alloc_count_changed,
         also_fails=S5_HASHES),
    Case("zone_alloc_row_removed", "CHK_S5_ZONE_ALLOC_COUNTS", "S5_ALLOC_MISSING_TRIPLET", alloc_row_removed,
         also_fails=S5_HASHES),
    Case("universe_digest_wrong", "CHK_S5_UNIVERSE_HASH_DIGESTS", "S5_DIGEST_MISMATCH", universe_digest_wrong),
    Case("universe_hash_wrong", "CHK_S5_UNIVERSE_HASH_COMBINED", "S5_ROUTING_HASH_MISMATCH", universe_hash_wrong),
    Case("zone_alloc_hash_column_wrong", "CHK_S5_UNIVERSE_HASH_COMBINED", "S5_ALLOC_ROUTING_HASH_MISMATCH",
         alloc_hash_column_wrong),
    Case("run_report_fail_while_checks_pass", "CHK_STATE_STATUS_CONSISTENCY", "STATE_STATUS_MISMATCH",
         run_report_fail, "run_report_fail_but_checks_pass"),
]
CASE_BY_NAME = {c.name: c for c in CASES}
# The cases judged together in one `dbt test`, each batch on one worker (xdist group).
# Within a batch the cases' failing_checks are disjoint (test_batches_keep_failures_apart);
# the status-consistency case is alone, its run must stay PASS overall.
BATCHES: tuple[tuple[str, ...], ...] = (
    ("gate_parameter_mismatch", "s1_site_count_changed", "s2_alpha_changed", "s3_shares_not_summing_to_one",
     "rng_trace_tampered", "s4_zone_row_removed"),
    ("gate_manifest_mismatch", "s1_pair_removed", "s2_alpha_negative", "s3_zone_row_removed", "rng_event_removed",
     "s4_count_changed"),
    # the S3 cases break the same escalated pair: removed, its shares could not be halved
    ("s1_pair_duplicated", "s3_escalated_pair_missing", "rng_event_of_another_run", "zone_alloc_count_changed"),
    ("outlet_row_removed", "rng_audit_of_another_run", "zone_alloc_row_removed"),
    ("universe_digest_wrong", "universe_hash_wrong"),
    ("zone_alloc_hash_column_wrong",),
    ("run_report_fail_while_checks_pass",),
)
BATCH_OF = {name: index for index, batch in enumerate(BATCHES) for name in batch}
# test_unbroken_checks_stay_pass_when_one_fails reads the outcome of this case's batch
SHARED_CASE = "s1_site_count_changed"


def batch_group(name: str):
    return pytest.mark.xdist_group(f"s6_checks_batch{BATCH_OF[name]}")


def validated_batch(project: S6Project, index: int) -> tuple[dict[str, list[tuple]], DbtResult]:
    """The clean S0..S5 run corrupted as every case of batch `index` says, then one `dbt
    test` on it: the expected issue keys of each case and dbt's result. Made once per
    session: the run root and DuckDB file after it are saved as the snapshot
    `batch-<index>` and restored by later callers."""
    snapshot = f"batch-{index}"
    record = project.snapshots / snapshot / "outcome.json"
    if record.is_file():
        project.restore(snapshot)
        outcome = json.loads(record.read_text())
        expected = {name: [tuple(k) for k in keys] for name, keys in outcome["expected"].items()}
        return expected, DbtResult(outcome["returncode"], outcome["output"])
    expected = {name: CASE_BY_NAME[name].corrupt(project) for name in BATCHES[index]}
    result = project.validate()
    project.save(snapshot)
    record.write_text(json.dumps({"expected": expected, "returncode": result.returncode, "output": result.output}))
    return expected, result


def failed_checks(project: S6Project) -> set[str]:
    return {c["check_id"] for c in project.report()["checks"] if c["status"] == "FAIL"}


def assert_case_outcome(project: S6Project, case: Case, expected_keys: list[tuple], result: DbtResult) -> None:
    """The guarded check fails with issue rows naming exactly the keys the corruption broke,
    the verdict follows, and the S6 run itself stays PASS."""
    warn_only = case.warn_only
    assert result.ok == warn_only, result.output[-3000:]
    assert "E3A_S6_" not in result.output, result.output[-3000:]
    check = project.check(case.check_id)
    assert check["status"] == ("WARN" if warn_only else "FAIL")
    assert check["affected_count"] > 0
    rows = [i for i in project.issues() if i["issue_code"] == case.issue_code]
    if case.message:
        rows = [i for i in rows if i["message"] == case.message]
    assert sorted((r["merchant_id"], r["legal_country_iso"], r["tzid"]) for r in rows) == sorted(expected_keys)
    assert {(r["check_id"], r["severity"]) for r in rows} == {(case.check_id, check["severity"])}
    assert all(r["details"] for r in rows)
    report, receipt, run = project.report(), project.receipt(), project.run_report()
    assert report["overall_status"] == receipt["overall_status"] == ("PASS" if warn_only else "FAIL")
    assert receipt["check_status_map"][case.check_id]["status"] == check["status"]
    assert (run["status"], run["error_code"], run["overall_status"]) == ("PASS", None, report["overall_status"])


@pytest.mark.e2e
@pytest.mark.parametrize("case", [pytest.param(c, marks=batch_group(c.name)) for c in CASES],
                         ids=[c.name for c in CASES])
def test_check_fails_on_the_data_it_guards(s5_done, case):
    index = BATCH_OF[case.name]
    expected, result = validated_batch(s5_done, index)
    assert_case_outcome(s5_done, case, expected[case.name], result)
    # exactly the checks the batch's corruptions break fail; every other check stays PASS
    assert failed_checks(s5_done) == set().union(*(CASE_BY_NAME[n].failing_checks for n in BATCHES[index]))


@pytest.mark.e2e
@batch_group(SHARED_CASE)
def test_unbroken_checks_stay_pass_when_one_fails(s5_done):
    monolithic = monolithic_pair(s5_done)
    index = BATCH_OF[SHARED_CASE]
    _, result = validated_batch(s5_done, index)  # s1_site_count: one S1 count broken, besides the others
    assert not result.ok
    statuses = {c["check_id"]: c["status"] for c in s5_done.report()["checks"]}
    broken = set().union(*(CASE_BY_NAME[n].failing_checks for n in BATCHES[index]))
    assert "CHK_S1_DOMAIN_COUNTS" in broken and len(broken) < len(statuses) - 1
    assert {k for k, v in statuses.items() if v != "PASS"} == broken | {"CHK_STATE_STATUS_CONSISTENCY"}
    assert statuses["CHK_STATE_STATUS_CONSISTENCY"] == "WARN"  # S1's run report is PASS
    assert issue_keys(s5_done, "S1_SITE_COUNT_MISMATCH") == [(monolithic[0], monolithic[1], None)]


def test_batches_keep_failures_apart():
    """Every case in exactly one batch; within a batch no two cases fail the same check, so
    each failing check names its own corruption; the WARN-only case is alone."""
    assert sorted(BATCH_OF) == sorted(CASE_BY_NAME) and sum(map(len, BATCHES)) == len(CASES)
    for batch in BATCHES:
        sets = [CASE_BY_NAME[name].failing_checks for name in batch]
        assert sum(map(len, sets)) == len(set().union(*sets)), batch
        assert len(batch) == 1 or not any(CASE_BY_NAME[name].warn_only for name in batch), batch


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_alone_fails_exactly_its_checks(s5_done, case):
    """What the batches rely on: alone, a corruption fails its check as asserted above and
    no check outside its failing_checks."""
    expected_keys = case.corrupt(s5_done)
    result = s5_done.validate()
    assert_case_outcome(s5_done, case, expected_keys, result)
    assert failed_checks(s5_done) == case.failing_checks


# --------------------------------------------------------------------------- generic tests on fixtures
FIXTURE_PROJECT = PROJECT_ROOT / "tests" / "dbt_fixtures" / "generic_tests"
GENERIC_TESTS = PROJECT_ROOT / "tests" / "dbt" / "generic"


@pytest.fixture(scope="module")
def fixture_outcomes(tmp_path_factory) -> dict[str, dict]:
    """`dbt run` then `dbt test` of the fixture project: per test its generic test, the
    dbt status and failure count, its meta and its stored failures relation."""
    work = tmp_path_factory.mktemp("s6_generic_tests")
    env = dict(os.environ)
    env.update({"DBT_PROFILES_DIR": str(FIXTURE_PROJECT), "S6_FIXTURES_DUCKDB": str(work / "fixtures.duckdb"),
                "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    for command in ("run", "test"):
        done = subprocess.run([str(DBT), command, "--project-dir", str(FIXTURE_PROJECT), "--no-use-colors"],
                              cwd=FIXTURE_PROJECT, env=env, capture_output=True, text=True, timeout=600)
        if command == "run":
            assert done.returncode == 0, done.stdout[-3000:]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    outcomes = {}
    for result in results:
        node = manifest["nodes"][result["unique_id"]]
        outcomes[node["name"]] = {"test": node["test_metadata"]["name"], "status": result["status"],
                                  "failures": result["failures"], "meta": node["config"]["meta"],
                                  "relation": node["relation_name"], "database": str(work / "fixtures.duckdb")}
    return outcomes


def test_each_fixture_gives_its_expected_outcome(fixture_outcomes):
    wrong = {name: (o["status"], o["failures"]) for name, o in fixture_outcomes.items()
             if (o["status"], o["failures"]) != (o["meta"]["expect"], o["meta"]["expect_failures"])}
    assert wrong == {}


def test_every_generic_test_has_a_passing_and_a_failing_fixture(fixture_outcomes):
    generic = {path.stem for path in GENERIC_TESTS.glob("*.sql")}
    covered = {(o["test"], o["meta"]["expect"]) for o in fixture_outcomes.values()}
    assert {(name, expect) for name in generic for expect in ("pass", "fail")} <= covered


def test_failing_rows_have_the_issue_shape(fixture_outcomes):
    """Every failing row is an issue row; a grouped rule counts the rows of its group."""
    expected_columns = ["issue_code", "merchant_id", "legal_country_iso", "tzid", "message", "details",
                        "affected_count"]
    failing = {n: o for n, o in fixture_outcomes.items() if o["meta"]["expect"] == "fail"}
    conn = duckdb.connect(next(iter(failing.values()))["database"], read_only=True)
    try:
        for name, outcome in failing.items():
            relation = conn.execute(f"select * from {outcome['relation']}")
            assert [d[0] for d in relation.description] == expected_columns, name
            assert all(row[0] and row[4] and row[6] >= 1 for row in relation.fetchall()), name
        grouped = failing["fx_alpha_sums_positive_fail"]
        total = conn.execute(f"select sum(affected_count) from {grouped['relation']}").fetchone()[0]
    finally:
        conn.close()
    assert total == grouped["meta"]["expect_affected"]


# --------------------------------------------------------------------------- the verdict from test outcomes
def _outcomes(**issues_by_check) -> list:
    from seg3a.states.s6_checks import CHECKS, TestOutcome

    out = []
    for check in CHECKS:
        issues = issues_by_check.get(check.check_id, [])
        out.append(TestOutcome(f"t_{check.check_id.lower()}", check.check_id, "fail" if issues else "pass", "",
                               tuple(issues)))
    return out


def test_verdict_counts_and_notes():
    from seg3a.states.s6_checks import aggregate

    verdict = aggregate(_outcomes(
        CHK_S2_PRIORS_ZONE_UNIVERSE=[{"issue_code": "S2_ALPHA_SUM_INVALID", "message": "alpha_sum_country_invalid",
                                      "legal_country_iso": "AA", "affected_count": 3}],
        CHK_STATE_STATUS_CONSISTENCY=[{"issue_code": "STATE_STATUS_MISMATCH",
                                       "message": "run_report_fail_but_checks_pass"}],
    ))
    results = {r.check.check_id: r for r in verdict.results}
    s2 = results["CHK_S2_PRIORS_ZONE_UNIVERSE"]
    assert (s2.status, s2.affected_count) == ("FAIL", 3)
    assert s2.report_entry()["notes"] == "duplicate=0,alpha_invalid=0,alpha_sum_invalid=3,alpha_sum_mismatch=0"
    assert results["CHK_STATE_STATUS_CONSISTENCY"].status == "WARN"
    assert verdict.summary() == {"overall_status": "FAIL", "checks_passed_count": 10, "checks_failed_count": 1,
                                 "checks_warn_count": 1}
    assert [i["severity"] for i in verdict.issues] == ["ERROR", "WARN"]


def test_a_warn_never_fails_the_verdict():
    from seg3a.states.s6_checks import aggregate

    verdict = aggregate(_outcomes(CHK_STATE_STATUS_CONSISTENCY=[
        {"issue_code": "STATE_STATUS_MISMATCH", "message": "run_report_pass_but_checks_fail"}]))
    assert verdict.overall_status == "PASS" and verdict.count("WARN") == 1


@pytest.mark.parametrize("breaks, reason", [
    (lambda o: o[:-1], "check_not_executed"),
    (lambda o: [o[0].__class__(o[0].name, o[0].check_id, "error", "Runtime Error in test x", ())] + o[1:],
     "Runtime Error in test x"),
    (lambda o: [o[0].__class__(o[0].name, o[0].check_id, "fail", "",
                               ({"issue_code": "S9_UNKNOWN", "message": "unknown"},))] + o[1:], "unknown_issue"),
], ids=["check_without_test", "test_errored", "issue_outside_its_check"])
def test_checks_that_did_not_execute_are_003(breaks, reason):
    from seg3a.states.common import StateFailure
    from seg3a.states.s6_checks import CODES, aggregate

    with pytest.raises(StateFailure, match=CODES["003"]) as failure:
        aggregate(breaks(_outcomes()))
    assert failure.value.context["reason"] == reason


# --------------------------------------------------------------------------- the YAML agrees with the catalogue
S6_MODELS = PROJECT_ROOT / "models" / "segment3a" / "s6_validation"


def _s6_tests() -> list[tuple[str, str, dict, dict]]:
    """(model, generic test, arguments, config) of every S6 test in the YAML."""
    import yaml

    found = []
    for path in sorted(S6_MODELS.glob("int_s6__*_read.yml")):
        for model in yaml.safe_load(path.read_text())["models"]:
            for entry in model.get("data_tests") or []:
                (generic, spec), = entry.items()
                found.append((model["name"], generic, spec["arguments"], spec["config"]))
    return found


def _raised(arguments: dict) -> list[tuple[str, str]]:
    pairs = [("issue_code", "message"), ("missing_issue_code", "missing_message"),
             ("mismatch_issue_code", "mismatch_message"), ("issue_code", "pass_message"),
             ("issue_code", "fail_message")]
    return [(arguments[c], arguments[m]) for c, m in pairs if c in arguments and m in arguments]


def test_every_s6_test_carries_its_check_severity_and_codes():
    from seg3a.states.s6_checks import CHECK_BY_ID

    for model, generic, arguments, config in _s6_tests():
        check = CHECK_BY_ID[config["meta"]["seg3a_check_id"]]
        assert config["severity"] == check.severity.lower(), (model, generic)
        assert config["store_failures"] is True, (model, generic)
        raised = _raised(arguments)
        assert raised and set(raised) <= {(k.code, k.message) for k in check.kinds}, (model, generic, raised)
        assert config["meta"]["seg3a_issue_codes"] == sorted({c for c, _ in raised}), (model, generic)


def test_every_trigger_of_every_check_is_tested():
    from seg3a.states.s6_checks import CHECKS

    raised = {(config["meta"]["seg3a_check_id"], pair) for _, _, arguments, config in _s6_tests()
              for pair in _raised(arguments)}
    expected = {(check.check_id, (kind.code, kind.message)) for check in CHECKS for kind in check.kinds}
    assert raised == expected


# --------------------------------------------------------------------------- dbt build against dbt test
def s6_test_outcomes(project) -> dict[str, tuple[str, int | None]]:
    """Status and failure count of every S6 data test in the last dbt invocation."""
    results = json.loads((project.work / "dbt-target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results
            if r["unique_id"].startswith("test.") and r["unique_id"].split(".")[2].startswith("chk_")}


def compiled_test_sql(project, name: str) -> str:
    (path,) = (project.work / "dbt-target" / "compiled").rglob(f"{name}.sql")
    return path.read_text()


@pytest.mark.e2e
def test_build_and_test_end_every_s6_test_alike(s5_done):
    """In `dbt build` the S6 tests read their rows from int_s6__checks_evaluated instead of
    running their queries again; on broken data each must end exactly as under `dbt test`,
    where every test runs its own query (the status-consistency WARN included)."""
    CASE_BY_NAME["s3_shares_not_summing_to_one"].corrupt(s5_done)
    built = s5_done.build_s6()
    in_build = s6_test_outcomes(s5_done)
    assert "int_s6__checks_evaluated" in compiled_test_sql(s5_done, "chk_s3_shares_sum_to_one")
    tested = s5_done.validate()
    in_test = s6_test_outcomes(s5_done)
    assert "int_s6__checks_evaluated" not in compiled_test_sql(s5_done, "chk_s3_shares_sum_to_one")
    assert not built.ok and not tested.ok
    assert in_build == in_test
    assert in_build["chk_s3_shares_sum_to_one"][0] == "fail" and in_build["chk_s3_shares_sum_to_one"][1] > 0
    assert in_build["chk_state_status_consistency"][0] == "warn"
    assert {name for name, (status, _) in in_build.items() if status == "pass"} == \
        set(in_build) - {"chk_s3_shares_sum_to_one", "chk_state_status_consistency"}


@pytest.mark.e2e
def test_build_reads_the_event_log_once_and_ends_the_rng_tests_as_dbt_test(s5_done):
    """In `dbt build` int_s6__checks_evaluated reads the RNG event log once into a table
    of its session for the queries that read it (shared_inputs of int_s6__check_queries).
    With events removed and others of another run, every S6 test ends as under `dbt
    test`, which runs each query on the file itself, with the same issue rows (the
    republication by `dbt test` keeps the same bytes, else it would be E3A_S6_006)."""
    expected_missing = CASE_BY_NAME["rng_event_removed"].corrupt(s5_done)
    expected_foreign = CASE_BY_NAME["rng_event_of_another_run"].corrupt(s5_done)
    built = s5_done.build_s6()
    in_build, issues_in_build = s6_test_outcomes(s5_done), s5_done.issues()
    with duckdb.connect(str(s5_done.database), read_only=True) as conn:
        queries = conn.execute("select test_name, shared_inputs from int_s6__check_queries").fetchall()
    readers = {name for name, shared in queries if "rng_events" in json.loads(shared)}
    assert readers == {"chk_s3_rng_escalated_pairs_have_events", "chk_s3_rng_events_for_escalated_pairs",
                       "chk_s3_rng_events_of_this_run", "chk_s3_rng_one_event_per_pair", "chk_s3_rng_trace_reconciles"}
    tested = s5_done.validate()
    assert not built.ok and not tested.ok and "E3A_S6_" not in tested.output, tested.output[-3000:]
    assert s6_test_outcomes(s5_done) == in_build and s5_done.issues() == issues_in_build
    by_code = {}
    for issue in issues_in_build:
        by_code.setdefault(issue["issue_code"], []).append((issue["merchant_id"], issue["legal_country_iso"],
                                                            issue["tzid"]))
    assert sorted(by_code["S3_RNG_EVENT_MISSING"]) == sorted(expected_missing)
    assert sorted(by_code["S3_RNG_IDENTITY_MISMATCH"]) == sorted(expected_foreign)
    assert in_build["chk_s3_rng_events_of_this_run"][0] == "fail"
