"""3A.S5 — zone_alloc egress and the routing universe hash (spec 04 §1): the Python side
of the S5 dbt models in `models/segment3a/s5_egress/`.

The rows themselves are SQL (`int_s5__domain_checked` for §1.2, `int_s5__zone_alloc_masked`
and `zone_alloc` for §1.3). This module holds what SQL does not do well: the
preconditions of §1.1 (entry gate, policies parsed and validated, S1–S4 run reports,
input columns), the component digests and the frame validation before publishing, the
replay check and the write-once publication of the universe-hash JSON (§1.4), and the
PASS run report (§1.5). The digest rules live in `s5_digests`, shared with S6.
RNG-free and wall-clock-free for data.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from ..core import yaml_io
from ..core.catalogue import CatalogueError
from ..core.cjson import cj_bytes
from ..core.digests import FileChangedError, sha256_bytes, sha256_file
from ..core.partitions import compare_row_sets, make_stage, register_checked_stage
from ..core.publish import ImmutabilityViolation, PublishIOError, publish_bytes
from ..core.staging import staging_root
from .common import (
    StateFailure, context_from_session, earlier_components, entry_gate, f4_state_spec, failure_text, is_placeholder,
    schema_packs, write_state_report,
)
from .s2_priors import StringKeyLoader
from .s3_tables import check_relation
from .s5_digests import (
    DIGEST_RULE, PWP_FILE, WRITER_SORT, ComponentDigests, component_digests_for_run, kept_masked_frame,
    masked_zone_alloc_digest, parquet_scan, remember_in_writer_sort, universe_hash_document, write_pwp,
    write_pwp_from_masked,
)

CODES = {
    "001": "E3A_S5_001_PRECONDITION_FAILED",
    "002": "E3A_S5_002_CATALOGUE_MALFORMED",
    "003": "E3A_S5_003_DOMAIN_MISMATCH",
    "004": "E3A_S5_004_DIGEST_MISMATCH",
    "005": "E3A_S5_005_UNIVERSE_HASH_MISMATCH",
    "006": "E3A_S5_006_OUTPUT_SCHEMA_INVALID",
    "007": "E3A_S5_007_IMMUTABILITY_VIOLATION",
    "008": "E3A_S5_008_INFRASTRUCTURE_IO_ERROR",
}
# error_class_detail labels of §1.5.
CLASS_DETAIL = {
    "001": "PRECONDITION", "002": "CATALOGUE", "003": "DOMAIN", "004": "DIGEST", "005": "UNIVERSE_HASH",
    "006": "OUTPUT_SCHEMA", "007": "IMMUTABILITY", "008": "INFRASTRUCTURE",
}
PHASES = ("run_receipt", "s0_gate", "s1_run_report", "s1_escalation_queue", "s2_priors", "s3_zone_shares",
          "s4_zone_counts", "zone_alloc_build", "zone_alloc_universe_hash")
COUNT_KEYS = (
    "pairs_total", "pairs_escalated", "pairs_monolithic", "zone_rows_total", "zones_per_pair_avg",
    "missing_escalated_pairs_count", "unexpected_pairs_count", "affected_zone_triplets_count",
    "pairs_count_conservation_violations",
)
LINEAGE = ("prior_pack_id", "prior_pack_version", "floor_policy_id", "floor_policy_version")
# The §1.5 blocks of a FAIL report, every value unknown (null); the digest rule is fixed.
FAIL_BLOCKS = {
    "policy": dict.fromkeys((*LINEAGE, "mixture_policy_id", "mixture_policy_version", "day_effect_policy_id",
                             "day_effect_policy_version")),
    "digests": {**dict.fromkeys((*ComponentDigests.__dataclass_fields__, "routing_universe_hash")),
                "zone_alloc_digest_rule": DIGEST_RULE},
    "output": {"path": None, "format": "parquet", "zone_alloc_path": None, "zone_alloc_universe_hash_path": None},
}
SPEC = f4_state_spec(
    "S5", CODES, phases=PHASES, infrastructure="008", output_id="zone_alloc", output_schema="006",
    default_phase="zone_alloc_build", count_keys=COUNT_KEYS, catalogue_phase="s0_gate",
    upstream_phase="s1_run_report", class_details=CLASS_DETAIL, fail_blocks=FAIL_BLOCKS,
    # An earlier state failed in this invocation: 04 §1.1 item 5 `upstream_state_not_pass`.
    upstream_reason="upstream_state_not_pass", upstream_components=earlier_components("S5"),
)

# The four sealed policies (04 §1.1) and the component named in a precondition failure.
POLICY_COMPONENTS = {
    "zone_mixture_policy": "MIXTURE_POLICY",
    "country_zone_alphas": "PRIOR_PACK",
    "zone_floor_policy": "FLOOR_POLICY",
    "day_effect_policy_v1": "DAY_EFFECT_POLICY",
}
VERSION_KEYS = ("version", "policy_version", "prior_pack_version", "version_tag")
UPSTREAM_REPORTS = (
    ("S1", "s1_run_report_3A", "S1_ESCALATION_QUEUE"),
    ("S2", "s2_run_report_3A", "S2_PRIORS"),
    ("S3", "s3_run_report_3A", "S3_ZONE_SHARES"),
    ("S4", "s4_run_report_3A", "S4_ZONE_COUNTS"),
)
# dataset -> (component, phase, required columns) of §1.1 item 6.
INPUT_COLUMNS = {
    "s1_escalation_queue": ("S1_ESCALATION_QUEUE", "s1_escalation_queue",
                            ("merchant_id", "legal_country_iso", "site_count", "is_escalated")),
    "s2_country_zone_priors": ("S2_PRIORS", "s2_priors", ("country_iso", "tzid")),
    "s3_zone_shares": ("S3_ZONE_SHARES", "s3_zone_shares", ("merchant_id", "legal_country_iso", "tzid")),
    "s4_zone_counts": ("S4_ZONE_COUNTS", "s4_zone_counts", (
        "merchant_id", "legal_country_iso", "tzid", "zone_site_count", "zone_site_count_sum", "prior_pack_id",
        "prior_pack_version", "floor_policy_id", "floor_policy_version", "alpha_sum_country")),
}
RUN_REPORT_ANCHOR = "schemas.layer1.yaml#/run_report/segment_state_run"
OUTPUT_TOKENS = {
    "zone_alloc": ("seed={seed}", "manifest_fingerprint={manifest_fingerprint}"),
    "zone_alloc_universe_hash": ("manifest_fingerprint={manifest_fingerprint}",),
}
KEY = ("merchant_id", "legal_country_iso", "tzid")


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


def infrastructure(phase: str, message: str, exc: BaseException | None, **context: Any) -> StateFailure:
    """The catch-all of 04 §0: an I/O or hashing fault, with `{detail, phase}` (the
    phase is also a context key here, which the constructor's signature cannot take)."""
    detail = f"{type(exc).__name__}: {exc}" if exc is not None else context.pop("detail", message)
    io_class = type(exc).__name__ if exc is not None else context.pop("io_error_class", "unclassified")
    failure = fail("008", phase, message, detail=detail, io_error_class=io_class, **context)
    failure.context["phase"] = phase
    failure.args = (failure_text(failure.code, message, phase, failure.context),)
    return failure


def anchor_of(ctx, dataset_id: str, phase: str) -> str:
    """The dictionary schema_ref of a dataset; a catalogue problem is E3A_S5_002."""
    try:
        return ctx.catalogue.entry(dataset_id)["schema_ref"]
    except (CatalogueError, KeyError) as exc:
        raise fail("002", phase, f"no dictionary entry for {dataset_id}: {exc}", catalogue_id="dictionary_3A",
                   dataset_id=dataset_id) from None


def catalogue_path(ctx, dataset_id: str, phase: str) -> str:
    try:
        return ctx.catalogue_path(dataset_id)
    except CatalogueError as exc:
        raise fail("002", phase, str(exc), catalogue_id=exc.catalogue_id, dataset_id=dataset_id) from None


# --------------------------------------------------------------------------- §1.1 preconditions
def _gate_component(failure: StateFailure) -> str:
    """The §1.5 component of an entry-gate failure: the policy it names, the gate receipt
    (its own checks and the sealed policy set), or else the sealed inventory."""
    context = failure.context
    if context.get("logical_id") in POLICY_COMPONENTS:
        return POLICY_COMPONENTS[context["logical_id"]]
    receipt_reasons = ("missing_gate_receipt", "upstream_gate_not_pass")
    if context.get("reason") in receipt_reasons or "missing_roles" in context or "gate receipt" in failure.message:
        return "S0_GATE"
    return "S0_SEALED_INPUTS"


def _entry_gate(ctx):
    """01 §5.1 for the four policies, each failure labelled with its component."""
    try:
        return entry_gate(ctx, SPEC, tuple(POLICY_COMPONENTS))
    except StateFailure as failure:
        if failure.number != "001" or "component" in failure.context:
            raise
        context = {"component": _gate_component(failure), "reason": "precondition", **failure.context}
        raise fail("001", failure.phase, failure.message, **context) from None


def _parse_policy(logical_id: str, data: bytes, path: Path) -> Any:
    try:
        return yaml_io.load_mapping(data, path.suffix, StringKeyLoader)  # S2's key rule: `NO` stays Norway
    except (yaml.YAMLError, ValueError) as exc:
        raise fail("001", "s0_gate", f"{logical_id} does not parse: {exc}",
                   component=POLICY_COMPONENTS[logical_id], reason="schema_invalid", logical_id=logical_id) from None


def policy_version(doc: Any) -> Any:
    """The first non-null of version, policy_version, prior_pack_version, version_tag."""
    if not isinstance(doc, dict):
        return None
    return next((doc[key] for key in VERSION_KEYS if doc.get(key) is not None), None)


def _policy_row(ctx, gate, packs, logical_id: str) -> dict:
    """§1.1 item 4: the sealed bytes parse and validate; version and policy_id derived."""
    component = POLICY_COMPONENTS[logical_id]
    path = gate.path(logical_id)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise infrastructure("s0_gate", f"cannot read {logical_id}", exc, path=gate.verified[logical_id].catalogue_path)
    if sha256_bytes(data) != gate.digest(logical_id):
        raise fail("001", "s0_gate", f"{logical_id} changed after the entry gate", component=component,
                   reason="digest_mismatch", logical_id=logical_id)
    doc = _parse_policy(logical_id, data, path)
    violations = packs.validate_json(anchor_of(ctx, logical_id, "s0_gate"), doc)
    if violations:
        raise fail("001", "s0_gate", f"{logical_id} fails its schema: {violations[0]}", component=component,
                   reason="schema_invalid", logical_id=logical_id, violation_count=len(violations))
    version = policy_version(doc)
    if is_placeholder(version):
        raise fail("001", "s0_gate", f"{logical_id} has a placeholder version {version!r}", component=component,
                   reason="placeholder_version", logical_id=logical_id)
    policy_id = doc.get("policy_id") or logical_id
    return {"logical_id": logical_id, "component": component, "policy_id": str(policy_id),
            "policy_version": str(version), "sha256_hex": gate.digest(logical_id),
            "catalogue_path": gate.verified[logical_id].catalogue_path}


def _check_upstream_report(ctx, packs, state: str, report_id: str, component: str) -> None:
    """§1.1 item 5: the state's run report is a valid segment-state run and PASS."""
    path = ctx.path(report_id)
    context = {"component": component, "reason": "upstream_state_not_pass", "state": state,
               "path": catalogue_path(ctx, report_id, "s1_run_report")}
    try:
        report = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise fail("001", "s1_run_report", f"{report_id} is missing", reported_status=None, **context) from None
    except ValueError:
        raise fail("001", "s1_run_report", f"{report_id} is not JSON", reported_status=None, **context) from None
    except OSError as exc:
        raise infrastructure("s1_run_report", f"cannot read {report_id}", exc, path=context["path"])
    violations = packs.validate_json(RUN_REPORT_ANCHOR, report)
    status = report.get("status") if isinstance(report, dict) else None
    if violations or status != "PASS":
        detail = str(violations[0]) if violations else f"status {status}"
        raise fail("001", "s1_run_report", f"{report_id} is not a PASS run: {detail}", reported_status=status,
                   **context)


def check_input_columns(relations: dict[str, Any]) -> None:
    """§1.1 item 6: a name check of the columns S5 reads (rows are not re-validated)."""
    for dataset_id, (component, phase, required) in INPUT_COLUMNS.items():
        present = set(relations[dataset_id].columns)
        missing = [name for name in required if name not in present]
        if missing:
            raise fail("001", phase, f"{dataset_id} lacks column(s) {', '.join(missing)}", component=component,
                       reason="missing_columns", dataset_id=dataset_id, missing_columns=missing)


def inputs_verified(session, queue, priors, shares, counts) -> pa.Table:
    """All of §1.1 in order; one row per sealed policy with its id, version and digest."""
    ctx = context_from_session(session, SPEC)
    for dataset_id in (*OUTPUT_TOKENS, SPEC.report_id):
        catalogue_path(ctx, dataset_id, "s0_gate")
    gate = _entry_gate(ctx)
    packs = schema_packs(str(ctx.catalogue.root))
    rows = [_policy_row(ctx, gate, packs, logical_id) for logical_id in POLICY_COMPONENTS]
    for state, report_id, component in UPSTREAM_REPORTS:
        _check_upstream_report(ctx, packs, state, report_id, component)
    check_input_columns({"s1_escalation_queue": queue, "s2_country_zone_priors": priors,
                         "s3_zone_shares": shares, "s4_zone_counts": counts})
    return pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in rows[0]]))


# --------------------------------------------------------------------------- §1.3 digests
def check_output_templates(ctx) -> None:
    """Both outputs must carry their partition tokens before anything is written (002)."""
    for dataset_id, tokens in OUTPUT_TOKENS.items():
        try:
            template = ctx.catalogue.template(dataset_id)
        except CatalogueError as exc:
            raise fail("002", "zone_alloc_build", str(exc), catalogue_id=exc.catalogue_id,
                       dataset_id=dataset_id) from None
        lacking = [token for token in tokens if token not in template]
        if lacking:
            raise fail("002", "zone_alloc_build", f"{dataset_id} path lacks {', '.join(lacking)}",
                       catalogue_id="dictionary_3A", dataset_id=dataset_id, template=template)


def universe_digests(session, masked_relation) -> pa.Table:
    """The five components of §1.3 and routing_universe_hash, as one row. The masked
    frame's file is kept, in the run root's staging folder (swept when a build starts),
    for `zone_alloc_checked` to write the final frame from."""
    ctx = context_from_session(session, SPEC)
    check_output_templates(ctx)
    try:
        digests = component_digests_for_run(ctx, session, masked_relation,
                                            scratch=staging_root(ctx.path("zone_alloc")), keep_masked=True)
    except (OSError, FileChangedError) as exc:
        raise infrastructure("zone_alloc_build", "component digests could not be computed", exc) from None
    return pa.Table.from_pylist([digests.as_dict()])


def digests_from(table: pa.Table) -> ComponentDigests:
    row = table.to_pylist()[0]
    return ComponentDigests(**{name: row[name] for name in ComponentDigests.__dataclass_fields__})


# --------------------------------------------------------------------------- §1.3 finalising
def zone_alloc_checked(session, rows_relation, digests_table: pa.Table) -> pa.Table:
    """The final frame (hash written) validated against its anchor with path<->embed
    equality (006), and compared with a zone_alloc partition already published (007),
    before anything is published. The frame is written once as the PWP file it will be
    published as, in a stage beside the target, and the checks read that file: each of
    their scans of the frame itself would repeat the join and sort behind it. The
    frame is written from the masked frame's file `universe_digests` kept in this
    process when its bytes still give the masked digest (the same rows, in the same
    order), else from `rows_relation`; the bytes are the same either way. The checked
    stage is then left for zone_alloc's post-hook, which publishes it by rename
    (`seg3a_publish_partition(..., checked=true)`) instead of writing the rows again;
    a failed check removes it."""
    ctx = context_from_session(session, SPEC)
    digests = digests_from(digests_table)
    phase = "zone_alloc_build"
    tokens = ctx.tokens
    target = ctx.path("zone_alloc")
    try:
        stage = make_stage(target)  # a sibling of the target, like the publisher's stage
    except OSError as exc:
        raise infrastructure(phase, "zone_alloc could not be staged for its checks", exc) from None
    try:
        try:
            written_from = _write_final_frame(session, rows_relation, digests, stage / PWP_FILE)
        except (OSError, FileChangedError) as exc:
            raise infrastructure(phase, "zone_alloc could not be staged for its checks", exc) from None
        staged = stage / PWP_FILE
        staged_sha256 = sha256_file(staged)
        written = session.sql(f"select * from {parquet_scan(staged)}")
        packs, anchor = schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "zone_alloc", phase)
        check = check_relation(packs, anchor, written,
                               {"seed": tokens.seed, "manifest_fingerprint": tokens.manifest_fingerprint})
        violations = check.schema + check.keys
        if violations:
            raise fail("006", phase, f"zone_alloc fails its schema: {violations[0]}", output_id="zone_alloc",
                       violation_count=sum(v.count for v in violations),
                       example_field=violations[0].path.removeprefix("columns."))
        table_spec = packs.table_spec(anchor)
        if check.in_writer_order and tuple(table_spec["sort_keys"]) == tuple(table_spec["primary_key"]) == WRITER_SORT:
            # keys in writer sort, never null and unique (the check passed): strictly
            # increasing, the fact core.proven.KEY_ORDER holds; the replay check reads these
            # bytes back from the published partition
            remember_in_writer_sort(staged, staged_sha256)
        _compare_existing_zone_alloc(ctx, target, stage)
        rows = written.aggregate("count(*)").fetchone()[0]
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    register_checked_stage(target, stage)
    return pa.table({"rows_checked": pa.array([rows], pa.int64()),
                     "written_from": pa.array([written_from], pa.string())})


def _write_final_frame(session, rows_relation, digests: ComponentDigests, target: Path) -> str:
    """The final frame as a PWP file at `target`; says what it was written from:
    `masked_frame` (the kept file of the masked digest) or `frame` (the rows view)."""
    with kept_masked_frame(digests.zone_alloc_parquet_digest) as masked_file:
        if masked_file is not None:
            write_pwp_from_masked(session, masked_file, digests.routing_universe_hash, target)
            return "masked_frame"
    write_pwp(session, rows_relation, target)
    return "frame"


def _compare_existing_zone_alloc(ctx, target: Path, stage: Path) -> None:
    """04 §1.4: an existing partition must hold the same columns, types and rows as the
    staged one."""
    if not target.exists():
        return
    try:
        diff = compare_row_sets(target, stage)
    except OSError as exc:
        raise infrastructure("zone_alloc_build", "existing zone_alloc could not be compared", exc) from None
    if diff.difference_kind:
        raise fail("007", "zone_alloc_build", "zone_alloc already published with different content",
                   artefact="zone_alloc", difference_kind=diff.difference_kind,
                   difference_count=diff.difference_count, path=catalogue_path(ctx, "zone_alloc", "zone_alloc_build"))


# --------------------------------------------------------------------------- §1.3 replay, §1.4 publishing
def replay_check(session, ctx, digests: ComponentDigests) -> None:
    """Read the published partition back, mask it, rewrite it with PWP: H_pq must give
    zone_alloc_parquet_digest again. A difference is a writer fault, not a data error:
    S5 never raises the DIGEST code (04 §4 item 10), so it is INFRASTRUCTURE."""
    phase = "zone_alloc_universe_hash"
    try:
        replayed = masked_zone_alloc_digest(session, ctx.path("zone_alloc"))
    except (OSError, FileChangedError) as exc:
        raise infrastructure(phase, "published zone_alloc could not be replayed", exc) from None
    if replayed != digests.zone_alloc_parquet_digest:
        raise infrastructure(phase, "replay of the published zone_alloc does not reproduce the masked digest",
                             None, detail="replay_mismatch", io_error_class="replay_mismatch",
                             expected_sha256_hex=digests.zone_alloc_parquet_digest, observed_sha256_hex=replayed)


def json_difference_count(existing: bytes, new: dict) -> int:
    """Keys in the symmetric difference plus shared keys whose values differ (§1.4)."""
    try:
        old = json.loads(existing)
    except ValueError:
        old = None
    if not isinstance(old, dict):
        return len(new)
    shared = old.keys() & new.keys()
    return len(old.keys() ^ new.keys()) + sum(1 for key in shared if old[key] != new[key])


def publish_universe_hash(ctx, doc: dict) -> bool:
    """Write-once publication of the CJ bytes; True when the file was created."""
    phase = "zone_alloc_universe_hash"
    target = ctx.path("zone_alloc_universe_hash")
    data = cj_bytes(doc)
    try:
        return publish_bytes(target, data).created
    except ImmutabilityViolation:
        raise fail("007", phase, "zone_alloc_universe_hash already published with different content",
                   artefact="zone_alloc_universe_hash", difference_kind="field_value",
                   difference_count=json_difference_count(target.read_bytes(), doc),
                   path=catalogue_path(ctx, "zone_alloc_universe_hash", phase)) from None
    except (PublishIOError, OSError) as exc:
        raise infrastructure(phase, "zone_alloc_universe_hash could not be written", exc,
                             operation="write") from None


def universe_hash_published(session, digests_table: pa.Table) -> pa.Table:
    """After zone_alloc is published: the replay check, then the universe-hash JSON
    validated (006) and published write-once (007). One row with its fields."""
    ctx = context_from_session(session, SPEC)
    phase = "zone_alloc_universe_hash"
    digests = digests_from(digests_table)
    replay_check(session, ctx, digests)
    doc = universe_hash_document(ctx.tokens, digests)
    violations = schema_packs(str(ctx.catalogue.root)).validate_json(
        anchor_of(ctx, "zone_alloc_universe_hash", phase), doc)
    if violations:
        raise fail("006", phase, f"zone_alloc_universe_hash fails its schema: {violations[0]}",
                   output_id="zone_alloc_universe_hash", violation_count=len(violations),
                   example_field=violations[0].path)
    publish_universe_hash(ctx, doc)
    return pa.Table.from_pylist([doc])


# --------------------------------------------------------------------------- §1.5 run report
def policy_block(policies: pa.Table, first_s4_row: dict | None) -> dict:
    by_id = {row["logical_id"]: row for row in policies.to_pylist()}
    lineage = {name: (first_s4_row or {}).get(name) for name in LINEAGE}
    return {
        **lineage,
        "mixture_policy_id": by_id["zone_mixture_policy"]["policy_id"],
        "mixture_policy_version": by_id["zone_mixture_policy"]["policy_version"],
        "day_effect_policy_id": by_id["day_effect_policy_v1"]["policy_id"],
        "day_effect_policy_version": by_id["day_effect_policy_v1"]["policy_version"],
    }


def report_counts(summary: dict) -> dict:
    escalated = int(summary["pairs_escalated"])
    rows = int(summary["zone_rows_total"])
    return {
        "pairs_total": int(summary["pairs_total"]),
        "pairs_escalated": escalated,
        "pairs_monolithic": int(summary["pairs_total"]) - escalated,
        "zone_rows_total": rows,
        "zones_per_pair_avg": rows / escalated if escalated else 0.0,
        **{key: int(summary[key]) for key in COUNT_KEYS[5:]},
    }


def run_report(session, domain: pa.Table, policies: pa.Table, counts_relation, universe: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    first = counts_relation.order(", ".join(KEY)).limit(1).select(", ".join(LINEAGE)).to_arrow_table().to_pylist()
    doc = universe.to_pylist()[0]
    counts = report_counts(domain.to_pylist()[0])
    blocks = {
        "policy": policy_block(policies, first[0] if first else None),
        "digests": {**{k: doc[k] for k in (*ComponentDigests.__dataclass_fields__, "routing_universe_hash")},
                    "zone_alloc_digest_rule": DIGEST_RULE},
        "output": {
            "path": ctx.catalogue_path("zone_alloc"),
            "format": "parquet",
            "zone_alloc_path": ctx.catalogue_path("zone_alloc"),
            "zone_alloc_universe_hash_path": ctx.catalogue_path("zone_alloc_universe_hash"),
        },
    }
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks)
    return pa.Table.from_pylist([{"status": "PASS", **counts}])


__all__ = ["SPEC", "CODES", "CLASS_DETAIL", "inputs_verified", "universe_digests", "zone_alloc_checked",
           "universe_hash_published", "run_report"]
