"""3A.S6 — structural validation (spec 04 §2): the entry points behind the S6 dbt models,
the S6 UDFs and the `dbt test` publication.

How dbt test results become the S6 outputs
------------------------------------------
The 12 checks are dbt data tests on the `int_s6__*_read` models (ephemeral selects over
the published artefacts), each returning its failing rows as issue rows. Two routes turn
them into the report, the issue table and the receipt, and both end in the same
functions (`s6_checks.aggregate`, `s6_outputs.publish_*`):

* `dbt test --select segment3a` — the on-run-end hook `seg3a_s6_publish_results` reads
  the tests' statuses from `results` and their failing rows from dbt's stored failures
  (`store_failures: true`), and calls `publish_test_results` through the
  `s3a_s6_publish` UDF.
* `dbt build --select segment3a` — the S6 models run in the DAG between S5 and S7:
  `int_s6__check_queries` renders every S6 test's SQL (the same test macros, with the
  read models inlined), `int_s6__checks_evaluated` runs each once, and the report, issue
  table, receipt and run report models publish. They deliberately do not depend on the
  `int_s6__*_read` models: dbt skips every descendant of a failed test, and a FAIL
  verdict must still be published and reach S7, which then refuses (E3A_S7_001). The
  tests themselves still run in the same build and pass or fail on the same rows: there
  they read their rows from `int_s6__checks_evaluated` instead of running the query
  again (macros/seg3a_s6_evaluated_rows.sql). A later `dbt test` runs every query itself
  and republishes the same bytes (write-once confirms them), which keeps the two routes
  honest.

A failed precondition (04 §2.1) aborts: in a build `int_s6__inputs_verified` fails and
the framework's on-run-end hook reports the state; after `dbt test` the publication step
writes the FAIL run report itself.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from ..core.context import RunContext
from ..core.proven import KEY_ORDER
from .common import StateFailure, context_from_run_root, context_from_session
from .s6_checks import CHECKS, COUNT_KEYS, ISSUE_COLUMNS, SPEC, TestOutcome, aggregate, fail
from .s6_outputs import (
    load_published, metrics, publish, publish_issue_table, publish_receipt, publish_report, run_report_fail,
    run_report_pass,
)
from .s6_preconditions import Verified, judge_logs_early, recomputed_components, verify

EVALUATED_SCHEMA = pa.schema([
    ("test_name", pa.string()), ("check_id", pa.string()), ("issue_code", pa.string()), ("merchant_id", pa.uint64()),
    ("legal_country_iso", pa.string()), ("tzid", pa.string()), ("message", pa.string()), ("details", pa.string()),
    ("affected_count", pa.int64()),
])


_RUN_REPORT_SCHEMA = pa.schema([("status", pa.string()), ("overall_status", pa.string()), ("error_code", pa.string()),
                                *((key, pa.int64()) for key in sorted(COUNT_KEYS))])


# --------------------------------------------------------------------------- dbt build: models
def inputs_verified(session) -> pa.Table:
    """`int_s6__inputs_verified`: the preconditions; one row per verified policy.
    The S6 functions normally come from the S6 plugin of the profile; a build whose
    profile lacks it registers them here, on the shared database, before any S6 test or
    model uses them (`dbt test` alone still needs the plugin)."""
    from .s6_udfs import register

    register(session)
    verified = verify(context_from_session(session, SPEC))
    tokens = verified.ctx.tokens
    ids = sorted(verified.policy_digests)
    return pa.table({
        "manifest_fingerprint": pa.array([tokens.manifest_fingerprint] * len(ids), pa.string()),
        "s6_version": pa.array([verified.s6_version] * len(ids), pa.string()),
        "logical_id": pa.array(ids, pa.string()),
        "sha256_hex": pa.array([verified.policy_digests[i] for i in ids], pa.string()),
    })


def rng_logs_prejudged(session) -> pa.Table:
    """`int_s6__rng_logs_prejudged`: the RNG logs judged early (never fails, see
    s6_preconditions.judge_logs_early); one row per log, whether it was remembered."""
    try:
        remembered = judge_logs_early(context_from_session(session, SPEC))
    except Exception:  # noqa: BLE001 - an unusable run is S6's to report
        remembered = {}
    ids = sorted(remembered)
    return pa.table({"logical_id": pa.array(ids, pa.string()),
                     "remembered": pa.array([remembered[i] for i in ids], pa.bool_())})


# CHK_STATE_STATUS_CONSISTENCY judges the states from the other checks' outcomes (04 §2.2).
# int_s6__check_queries renders it over the relation `seg3a_s6_check_outcomes`
# (macros/seg3a_s6_relation.sql), registered here from the other checks' rows, so that no
# check query runs twice.
STATUS_CONSISTENCY = "CHK_STATE_STATUS_CONSISTENCY"
OUTCOMES_RELATION = "seg3a_s6_check_outcomes"


def checks_evaluated(session, queries: pa.Table) -> pa.Table:
    """`int_s6__checks_evaluated`: run every S6 test's query once; a query that fails is
    E3A_S6_003 with the checks it belongs to (never the INFRASTRUCTURE code). The status
    consistency check runs last, over the outcomes of the others; when one of those
    failed to execute, it cannot be judged and counts as failed to execute too."""
    context_from_session(session, SPEC)
    rows = queries.to_pylist()
    others = [row for row in rows if row["check_id"] != STATUS_CONSISTENCY]
    consistency = [row for row in rows if row["check_id"] == STATUS_CONSISTENCY]
    parts, broken = _run_queries(session, others)
    if broken:
        broken += [(row["check_id"], row["test_name"], "an earlier check failed to execute") for row in consistency]
    elif consistency:
        failed = {row["check_id"]: False for row in others}
        for part in parts:
            failed.update(dict.fromkeys(part.column("check_id").to_pylist(), True))
        session.register(OUTCOMES_RELATION, pa.table({"check_id": pa.array(list(failed), pa.string()),
                                                      "failed": pa.array(list(failed.values()), pa.bool_())}))
        try:
            more, broken = _run_queries(session, consistency)
        finally:
            session.unregister(OUTCOMES_RELATION)
        parts += more
    if broken:
        checks = sorted({b[0] for b in broken})
        raise fail("003", "checks", f"{len(broken)} S6 tests failed to execute", failed_checks=checks,
                   total_failed_checks=len(checks), reason=broken[0][2], failed_tests=sorted(b[1] for b in broken))
    return pa.concat_tables(parts) if parts else EVALUATED_SCHEMA.empty_table()


def _run_queries(session, rows: list[dict]) -> tuple[list[pa.Table], list[tuple[str, str, str]]]:
    """Each test query's rows tagged with its test and check, and (check, test, error) of
    the queries that failed. The queries run one at a time: DuckDB parallelises each
    scan, and the peak memory is that of the largest query rather than of all of them at
    once (they used to run as one union). Rows come in the order of their
    issue columns, so the evaluated table does not depend on the scan order."""
    columns = ", ".join(ISSUE_COLUMNS)
    parts, broken = [], []
    with SharedInputs(session, rows) as shared:
        for index, row in enumerate(rows):
            if proven_unique(session, row):
                continue  # its query would find no row
            try:
                found = session.execute(f"select {columns} from ({shared.query(index, row)}) as validation_errors "
                                        "order by all").arrow()
            except Exception as exc:  # any SQL fault inside a check
                broken.append((row["check_id"], row["test_name"], str(exc).splitlines()[0][:300]))
                continue
            found = pa.table(found)
            if found.num_rows:
                parts.append(_evaluated_rows(row["test_name"], row["check_id"], found))
    return parts, broken


def proven_unique(session, row: Mapping[str, Any]) -> bool:
    """True when the test is "key K occurs once in dataset D's published file" (its
    `proven_unique` of int_s6__check_queries, {dataset, key}) and the one file its query
    reads (the same glob of the same location) holds bytes that the checked write of
    S3/S4 in this process handed to the writer in strictly increasing K order
    (core.proven.KEY_ORDER, keyed by the file's SHA-256): K then occurs once in it, and
    the query would return no row. Anything else (another process, a file changed after
    the write, a second file, a location that does not resolve) runs the query."""
    declared = row.get("proven_unique")
    if not declared:
        return False
    proof = json.loads(declared)
    dataset = proof["dataset"]
    if not re.fullmatch(r"[a-z0-9_]+", dataset):
        return False
    try:
        files = session.execute(f"select file from glob(seg3a_loc__{dataset}() || '/*.parquet')").fetchall()
    except Exception:  # no usable location: the query reports it as it would have
        return False
    return len(files) == 1 and KEY_ORDER.holds_for_file(tuple(proof["key"]), Path(files[0][0]))


class SharedInputs:
    """The inputs several queries read and parse each time (the RNG logs: the
    `shared_inputs` of int_s6__check_queries, {input: inlined select}), each read once
    into a temporary table of the session, in the same node and from the same files, just
    before the first query that reads it; a query reads the table where its text has the
    inlined select (`(<select>)` and a table of its rows are the same relation), and the
    table is dropped after the last such query. An input read by one query only, or whose
    table cannot be made, stays inline: the query runs as rendered, and fails or passes as
    it would have (E3A_S6_003 with its own message)."""

    PREFIX = "seg3a_s6_shared__"

    def __init__(self, session, rows: list[dict]) -> None:
        self.session = session
        readers: dict[str, list[int]] = {}
        self.selects: dict[str, str] = {}
        for index, row in enumerate(rows):
            for input_name, select in json.loads(row.get("shared_inputs") or "{}").items():
                self.selects[input_name] = select
                readers.setdefault(input_name, []).append(index)
        self.readers = {name: indexes for name, indexes in readers.items() if len(indexes) > 1}
        self.made: set[str] = set()
        self.failed: set[str] = set()

    def __enter__(self) -> "SharedInputs":
        return self

    def __exit__(self, *_exc) -> None:
        for input_name in list(self.made):
            self._drop(input_name)

    def query(self, index: int, row: dict) -> str:
        """The row's query, reading the shared tables it may, made when first needed;
        tables whose last reader this is are dropped on the next call."""
        for input_name in [name for name in self.made if self.readers[name][-1] < index]:
            self._drop(input_name)
        text = row["query"]
        for input_name, indexes in self.readers.items():
            if index in indexes and self._made(input_name):
                text = text.replace(self.selects[input_name], self.PREFIX + input_name)
        return text

    def _made(self, input_name: str) -> bool:
        if input_name not in self.made and input_name not in self.failed:
            try:
                self.session.execute(f"create or replace temp table {self.PREFIX}{input_name} as "
                                     f"select * from {self.selects[input_name]} as shared_rows")
                self.made.add(input_name)
            except Exception:  # noqa: BLE001 - the queries then read the input themselves
                self.failed.add(input_name)
        return input_name in self.made

    def _drop(self, input_name: str) -> None:
        self.made.discard(input_name)
        self.session.execute(f"drop table if exists {self.PREFIX}{input_name}")


def _evaluated_rows(test_name: str, check_id: str, found: pa.Table) -> pa.Table:
    columns = {name: found.column(name).cast(EVALUATED_SCHEMA.field(name).type) for name in ISSUE_COLUMNS}
    n = found.num_rows
    return pa.table({"test_name": pa.array([test_name] * n, pa.string()),
                     "check_id": pa.array([check_id] * n, pa.string()), **columns}, schema=EVALUATED_SCHEMA)


def outcomes_from_tables(queries: pa.Table, evaluated: pa.Table) -> list[TestOutcome]:
    """One outcome per rendered test; its issues are its evaluated rows."""
    by_test: dict[str, list[dict]] = {}
    for row in evaluated.to_pylist():
        by_test.setdefault(row["test_name"], []).append(row)
    return [TestOutcome(q["test_name"], q["check_id"], "fail" if by_test.get(q["test_name"]) else "pass", "",
                        tuple(by_test.get(q["test_name"], ()))) for q in queries.to_pylist()]


def _verdict_inputs(session, queries: pa.Table, evaluated: pa.Table):
    verified = verify(context_from_session(session, SPEC))
    return verified, aggregate(outcomes_from_tables(queries, evaluated))


def report_published(session, queries: pa.Table, evaluated: pa.Table) -> pa.Table:
    """`s6_validation_report_3A`: publish the report; one row per check."""
    verified, verdict = _verdict_inputs(session, queries, evaluated)
    report = publish_report(verified, verdict, metrics(verified))
    return pa.Table.from_pylist(report["checks"], schema=pa.schema([
        ("check_id", pa.string()), ("status", pa.string()), ("severity", pa.string()),
        ("affected_count", pa.int64()), ("notes", pa.string())]))


def issue_table_published(session, queries: pa.Table, evaluated: pa.Table) -> pa.Table:
    """`s6_issue_table_3A`: publish the issue table; its rows."""
    verified, verdict = _verdict_inputs(session, queries, evaluated)
    return publish_issue_table(verified, verdict)


def receipt_published(session) -> pa.Table:
    """`s6_receipt_3A`: publish the receipt; one row with verdict and digests."""
    receipt = publish_receipt(verify(context_from_session(session, SPEC)))
    keys = ("manifest_fingerprint", "s6_version", "overall_status", "checks_passed_count", "checks_failed_count",
            "checks_warn_count", "validation_report_digest", "issue_table_digest")
    return pa.Table.from_pylist([{k: receipt[k] for k in keys}])


def run_report(session) -> pa.Table:
    """`s6_run_report_3A`: the PASS run report and segment_state_runs row."""
    verified = verify(context_from_session(session, SPEC))
    report = run_report_pass(verified, load_published(verified))
    return pa.Table.from_pylist([{"status": report["status"], "overall_status": report["overall_status"],
                                  "error_code": report["error_code"], **dict(sorted(report["counts"].items()))}],
                                schema=_RUN_REPORT_SCHEMA)


# --------------------------------------------------------------------------- dbt test: UDF entry points
def preconditions_failure(run_root: str | None) -> str | None:
    """The failure text of the preconditions, or None when they hold."""
    try:
        verify(_context(run_root))
    except StateFailure as failure:
        return str(failure)
    return None


def universe_components(run_root: str | None) -> str:
    """The five recomputed components and R as JSON, for CHK_S5_UNIVERSE_HASH_*."""
    return json.dumps(recomputed_components(verify(_context(run_root))).as_dict(), sort_keys=True)


def publish_test_results(tests_json: str, issues_json: str, run_root: str | None) -> str:
    """After `dbt test`: preconditions, verdict, the three outputs and the run report.
    Returns `PASS overall_status=...`, or the failure text after writing the FAIL run
    report (the hook then fails the invocation with it)."""
    ctx = _context(run_root)
    try:
        outcomes = outcomes_from_payload(json.loads(tests_json or "[]"), json.loads(issues_json or "[]"))
        verified = verify(ctx)
        published = publish(verified, aggregate(outcomes), metrics(verified))
    except StateFailure as failure:
        run_report_fail(ctx, failure)
        return str(failure)
    except Exception as exc:  # 04 §0: an unexpected fault is the INFRASTRUCTURE code
        failure = fail("007", "checks", f"unexpected fault: {type(exc).__name__}: {exc}", operation="publish",
                       path=None, io_error_class=type(exc).__name__, detail=str(exc)[:500])
        run_report_fail(ctx, failure)
        return str(failure)
    run_report_pass(verified, published)
    return f"PASS overall_status={published.report['overall_status']}"


def outcomes_from_payload(tests: Iterable[Mapping[str, Any]], issues: Iterable[Mapping[str, Any]]) -> list[TestOutcome]:
    by_test: dict[str, list[Mapping[str, Any]]] = {}
    for issue in issues:
        by_test.setdefault(str(issue.get("test_name")), []).append(issue)
    return [TestOutcome.from_payload({**t, "issues": by_test.get(str(t.get("name")), [])}) for t in tests]


def _context(run_root: str | None) -> RunContext:
    if not run_root:
        raise fail("007", "run_receipt", "no run selected", operation="read", path=None,
                   io_error_class="run_receipt_invalid")
    return context_from_run_root(run_root, SPEC)


__all__ = ["CHECKS", "Verified", "checks_evaluated", "inputs_verified", "issue_table_published",
           "preconditions_failure", "publish_test_results", "receipt_published", "report_published", "run_report",
           "universe_components"]
