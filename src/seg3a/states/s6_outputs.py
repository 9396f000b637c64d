"""3A.S6 outputs (spec 04 §2.4-§2.5): the validation report, the issue table and the
receipt, published write-once in that order, and the S6 run report.

Every step works on the published bytes: the receipt's digests are taken over the
report and issue files that are kept (a previous identical copy, or the new one), so a
rerun confirms rather than rewrites. Nothing here carries a wall-clock value except the
run report, which is operational (01 §5.3).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..core.catalogue import CatalogueError
from ..core.cjson import cj_bytes
from ..core.digests import sha256_bytes, sha256_file
from ..core.partitions import compare_row_sets, make_stage
from ..core.staging import rename_into_place
from ..core.publish import ImmutabilityViolation, PublishIOError, publish_bytes
from ..core.schemas import SchemaPackError, SchemaPacks
from .common import ReportedFailure, StateFailure, schema_packs, write_state_report
from .s5_digests import PWP_OPTIONS
from .s6_checks import COUNT_KEYS, SPEC, Verdict, fail
from .s6_preconditions import Verified, private_connection, recomputed_components

REPORT_ID = "s6_validation_report_3A"
ISSUES_ID = "s6_issue_table_3A"
RECEIPT_ID = "s6_receipt_3A"
RECEIPT_NOTES = "issue_table_digest is sha256 over parquet bytes"
ISSUE_SORT = ("severity", "issue_code", "merchant_id", "legal_country_iso", "tzid", "check_id", "message", "details")
PHASE = "checks"


@dataclass(frozen=True)
class Published:
    """The S6 outputs as kept on disk, with what the run report needs."""

    report: dict
    receipt: dict
    issues: pa.Table
    validation_report_digest: str
    issue_table_digest: str
    paths: dict[str, str]


# --------------------------------------------------------------------------- metrics
def _scan(root: Path) -> str:
    return f"read_parquet('{(Path(root) / '*.parquet').as_posix()}', hive_partitioning = false)"


def _log_scan(verified: Verified, log_id: str, columns: dict[str, str]) -> str:
    """An RNG log (every file of its glob) read by DuckDB with declared columns, as the
    S6 checks read it (macros/seg3a_s6_read.sql): the counts below are the E and the
    candidates of the RNG accounting check (04 §2.3). The lines were validated by the
    preconditions."""
    pattern = verified.ctx.path(log_id).as_posix().replace("'", "''")
    declared = ", ".join(f"{name}: '{kind}'" for name, kind in columns.items())
    return (f"read_json('{pattern}', format = 'newline_delimited', hive_partitioning = false, "
            f"columns = {{{declared}}})")


def metrics(verified: Verified) -> dict[str, int]:
    """`metrics` of the report without issues_total (04 §2.4); pair counts are distinct."""
    ctx = verified.ctx
    tokens = ctx.tokens
    conn = private_connection()
    try:
        def one(sql: str, *parameters) -> int:
            return int(conn.execute(sql, list(parameters)).fetchone()[0])

        s1, s3, s4, alloc = (_scan(ctx.path(d)) for d in (
            "s1_escalation_queue", "s3_zone_shares", "s4_zone_counts", "zone_alloc"))
        events = _log_scan(verified, "rng_event_zone_dirichlet", {"run_id": "VARCHAR"})
        trace = _log_scan(verified, "rng_trace_log", {"run_id": "VARCHAR", "seed": "UBIGINT", "module": "VARCHAR",
                                                      "substream_label": "VARCHAR"})
        pairs = "select distinct merchant_id, legal_country_iso from {}"
        return {
            "pairs_total": one(f"select count(*) from ({pairs.format(s1)})"),
            "pairs_escalated": one(f"select count(*) from ({pairs.format(s1)} where is_escalated)"),
            "s3_pairs": one(f"select count(*) from ({pairs.format(s3)})"),
            "s4_pairs": one(f"select count(*) from ({pairs.format(s4)})"),
            "s3_rows": one(f"select count(*) from {s3}"),
            "s4_rows": one(f"select count(*) from {s4}"),
            "zone_alloc_rows": one(f"select count(*) from {alloc}"),
            "rng_event_rows": one(f"select count(*) from {events}"),
            "rng_trace_rows": one(f"select count(*) from {trace} where run_id = ? and seed = ? and module = '3A.S3'"
                                  " and substream_label = 'zone_dirichlet'", tokens.run_id, tokens.seed),
        }
    finally:
        conn.close()


# --------------------------------------------------------------------------- documents
def report_document(verified: Verified, verdict: Verdict, metric_values: dict[str, int]) -> dict[str, Any]:
    tokens = verified.ctx.tokens
    return {
        "manifest_fingerprint": tokens.manifest_fingerprint,
        "parameter_hash": tokens.parameter_hash,
        **verdict.summary(),
        "checks": [r.report_entry() for r in verdict.results],
        "metrics": {**metric_values, "issues_total": len(verdict.issues)},
    }


def receipt_document(verified: Verified, report: dict, report_digest: str, issue_digest: str) -> dict[str, Any]:
    return {
        "manifest_fingerprint": report["manifest_fingerprint"],
        "parameter_hash": report["parameter_hash"],
        "s6_version": verified.s6_version,
        "overall_status": report["overall_status"],
        "checks_passed_count": report["checks_passed_count"],
        "checks_failed_count": report["checks_failed_count"],
        "checks_warn_count": report["checks_warn_count"],
        "check_status_map": {c["check_id"]: {"status": c["status"], "severity": c["severity"]}
                             for c in report["checks"]},
        "validation_report_digest": report_digest,
        "issue_table_digest": issue_digest,
        "notes": RECEIPT_NOTES,
    }


def issue_table(verified: Verified, packs: SchemaPacks, verdict: Verdict) -> pa.Table:
    """The issue rows in schema column order (not yet sorted)."""
    schema = packs.arrow_schema(_anchor(verified, ISSUES_ID))
    fingerprint = verified.ctx.tokens.manifest_fingerprint
    rows = [{**issue, "manifest_fingerprint": fingerprint} for issue in verdict.issues]
    return pa.Table.from_pylist(rows, schema=schema)


# --------------------------------------------------------------------------- validation
def _anchor(verified: Verified, dataset_id: str) -> str:
    try:
        return verified.ctx.catalogue.entry(dataset_id)["schema_ref"]
    except CatalogueError as exc:
        raise fail("002", PHASE, str(exc), catalogue_id=exc.catalogue_id, dataset_id=dataset_id) from None


def _violations(packs: SchemaPacks, anchor: str, doc: Any) -> list:
    try:
        return packs.validate_json(anchor, doc)
    except SchemaPackError as exc:
        raise fail("002", PHASE, f"anchor {anchor} unusable: {exc}", catalogue_id=exc.pack or anchor) from None


def check_report(verified: Verified, packs: SchemaPacks, report: dict, issues: pa.Table) -> None:
    """E3A_S6_004: the report, or an issue row with its nulls removed, fails its schema."""
    violations = _violations(packs, _anchor(verified, REPORT_ID), report)
    if violations:
        raise fail("004", PHASE, f"validation report fails its schema: {violations[0]}", output_id=REPORT_ID,
                   violation_count=len(violations))
    anchor = _anchor(verified, ISSUES_ID)
    for index, row in enumerate(issues.to_pylist()):
        bad = _violations(packs, anchor, {k: v for k, v in row.items() if v is not None})
        if bad:
            raise fail("004", PHASE, f"issue row {index} fails its schema: {bad[0]}", output_id=ISSUES_ID,
                       violation_count=len(bad), issue_code=row["issue_code"])


def check_receipt(verified: Verified, packs: SchemaPacks, receipt: dict, report: dict, report_path: Path,
                  issues_path: Path) -> None:
    """E3A_S6_005: the receipt fails its schema, or disagrees with the report or with the
    digests of the files that are kept."""
    violations = _violations(packs, _anchor(verified, RECEIPT_ID), receipt)
    if violations:
        raise fail("005", PHASE, f"receipt fails its schema: {violations[0]}", reason="schema_invalid",
                   violation_count=len(violations))
    shared = ("manifest_fingerprint", "parameter_hash", "overall_status", "checks_passed_count",
              "checks_failed_count", "checks_warn_count")
    differing = [k for k in shared if receipt.get(k) != report.get(k)]
    observed = {"validation_report_digest": sha256_file(report_path), "issue_table_digest": sha256_file(issues_path)}
    differing += [k for k, v in observed.items() if receipt.get(k) != v]
    if differing:
        raise fail("005", PHASE, f"receipt disagrees with the report or digests: {', '.join(differing)}",
                   reason="inconsistent", fields=differing)


# --------------------------------------------------------------------------- publishing
def _target(verified: Verified, dataset_id: str) -> tuple[str, Path]:
    """Catalogue path and location; a path without `manifest_fingerprint=` is E3A_S6_002."""
    ctx = verified.ctx
    try:
        rel = ctx.catalogue_path(dataset_id)
    except CatalogueError as exc:
        raise fail("002", PHASE, str(exc), catalogue_id=exc.catalogue_id, dataset_id=dataset_id) from None
    if "manifest_fingerprint=" not in rel:
        raise fail("002", PHASE, f"{dataset_id} path lacks manifest_fingerprint=", catalogue_id="dictionary_3A",
                   dataset_id=dataset_id, path=rel)
    return rel, ctx.path(dataset_id)


def json_difference_count(existing: bytes, new: dict) -> int:
    """Keys in the symmetric difference plus shared keys with differing values."""
    try:
        old = json.loads(existing)
    except ValueError:
        return len(new)
    if not isinstance(old, dict):
        return len(new)
    keys = set(old) | set(new)
    return sum(1 for k in keys if k not in old or k not in new or old[k] != new[k])


def _publish_json(target: Path, rel: str, dataset_id: str, doc: dict) -> bytes:
    data = cj_bytes(doc)
    try:
        publish_bytes(target, data)
    except ImmutabilityViolation:
        raise fail("006", PHASE, f"{dataset_id} already published with different content", artefact=dataset_id,
                   path=rel, difference_kind="field_value",
                   difference_count=json_difference_count(target.read_bytes(), doc)) from None
    except (PublishIOError, OSError) as exc:
        raise fail("007", PHASE, f"cannot publish {dataset_id}: {exc}", operation="write", path=rel,
                   io_error_class=type(exc).__name__, detail=str(exc)) from None
    return data


def write_issues(table: pa.Table, target: Path) -> None:
    """One PWP file (S5's writer options), rows in the issue sort with nulls first."""
    order = ", ".join(f"{c} asc nulls first" for c in ISSUE_SORT)
    conn = duckdb.connect()
    try:
        conn.register("issues", table)
        path = target.as_posix().replace("'", "''")
        conn.execute(f"copy (select * from issues order by {order}) to '{path}' ({PWP_OPTIONS})")
    finally:
        conn.close()


def _publish_issues(target: Path, rel: str, table: pa.Table) -> None:
    stage = make_stage(target.parent)
    try:
        staged = stage / target.name
        write_issues(table, staged)
        if target.exists():
            diff = compare_row_sets(target, staged)
            if diff.difference_kind:
                raise fail("006", PHASE, "s6_issue_table_3A already published with different rows",
                           artefact=ISSUES_ID, path=rel, difference_kind=diff.difference_kind,
                           difference_count=diff.difference_count)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        rename_into_place(staged, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish_report(verified: Verified, verdict: Verdict, metric_values: dict[str, int]) -> dict:
    """Step 1: validate the report and every issue row (004), then publish the report."""
    packs = schema_packs(str(verified.ctx.catalogue.root))
    report = report_document(verified, verdict, metric_values)
    check_report(verified, packs, report, issue_table(verified, packs, verdict))
    rel, target = _target(verified, REPORT_ID)
    _publish_json(target, rel, REPORT_ID, report)
    return report


def publish_issue_table(verified: Verified, verdict: Verdict) -> pa.Table:
    """Step 2: the issue table, written with PWP even when empty; returns its rows."""
    packs = schema_packs(str(verified.ctx.catalogue.root))
    issues = issue_table(verified, packs, verdict)
    rel, target = _target(verified, ISSUES_ID)
    try:
        _publish_issues(target, rel, issues)
    except OSError as exc:
        raise fail("007", PHASE, f"cannot publish {ISSUES_ID}: {exc}", operation="write", path=rel,
                   io_error_class=type(exc).__name__, detail=str(exc)) from None
    return issues


def publish_receipt(verified: Verified) -> dict:
    """Step 3: the receipt over the report and issue files that are kept (005, 006)."""
    packs = schema_packs(str(verified.ctx.catalogue.root))
    (report_rel, report_path), (issues_rel, issues_path) = _target(verified, REPORT_ID), _target(verified, ISSUES_ID)
    try:
        report_bytes = report_path.read_bytes()
        issue_digest = sha256_file(issues_path)
    except OSError as exc:
        raise fail("007", PHASE, f"cannot read the published report or issue table: {exc}", operation="read",
                   path=report_rel if not report_path.exists() else issues_rel, io_error_class=type(exc).__name__,
                   detail=str(exc)) from None
    report = json.loads(report_bytes)
    receipt = receipt_document(verified, report, sha256_bytes(report_bytes), issue_digest)
    check_receipt(verified, packs, receipt, report, report_path, issues_path)
    rel, target = _target(verified, RECEIPT_ID)
    _publish_json(target, rel, RECEIPT_ID, receipt)
    return receipt


def publish(verified: Verified, verdict: Verdict, metric_values: dict[str, int]) -> "Published":
    """Report, issue table, receipt, in this order (04 §2.4)."""
    publish_report(verified, verdict, metric_values)
    publish_issue_table(verified, verdict)
    publish_receipt(verified)
    return load_published(verified)


def load_published(verified: Verified) -> Published:
    """The three outputs as kept on disk."""
    import pyarrow.parquet as pq

    paths = {d: _target(verified, d) for d in (REPORT_ID, ISSUES_ID, RECEIPT_ID)}
    try:
        report_bytes = paths[REPORT_ID][1].read_bytes()
        receipt = json.loads(paths[RECEIPT_ID][1].read_bytes())
        issues = pq.read_table(paths[ISSUES_ID][1])
        issue_digest = sha256_file(paths[ISSUES_ID][1])
    except OSError as exc:
        raise fail("007", PHASE, f"cannot read the S6 outputs: {exc}", operation="read", path=None,
                   io_error_class=type(exc).__name__, detail=str(exc)) from None
    return Published(json.loads(report_bytes), receipt, issues, sha256_bytes(report_bytes), issue_digest,
                     {d: p[0] for d, p in paths.items()})


# --------------------------------------------------------------------------- run report
def _universe_hash(verified: Verified) -> str | None:
    """R, the routing universe hash recomputed by CHK_S5_UNIVERSE_HASH_COMBINED."""
    try:
        return recomputed_components(verified).routing_universe_hash
    except OSError:
        return None


def run_report_pass(verified: Verified, published: Published) -> dict:
    metric_values = published.report["metrics"]
    severities = published.issues.column("severity").to_pylist()
    counts = {key: metric_values[key] for key in COUNT_KEYS if key in metric_values}
    counts.update({"issues_error": severities.count("ERROR"), "issues_warn": severities.count("WARN")})
    blocks = {
        "overall_status": published.report["overall_status"],
        "digests": {"validation_report_digest": published.validation_report_digest,
                    "issue_table_digest": published.issue_table_digest,
                    "routing_universe_hash": _universe_hash(verified)},
        "output": {"report_path": published.paths[REPORT_ID], "issue_table_path": published.paths[ISSUES_ID],
                   "receipt_path": published.paths[RECEIPT_ID]},
    }
    return write_state_report(verified.ctx, SPEC, "PASS", counts=counts, blocks=blocks)


def run_report_fail(ctx, failure: StateFailure) -> dict:
    reported = ReportedFailure(failure.code, failure.error_class, failure.phase, dict(failure.context))
    return write_state_report(ctx, SPEC, "FAIL", failure=reported)
