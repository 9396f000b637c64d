"""3A.S4 — integer zone counts (spec 03 §4): the Python side of the S4 dbt models.

The integerisation itself is the model `int_s4__zone_counts_integerised` (floor + largest
remainder per pair, through the `s3a_integerise` UDF of python_udfs/integerise.py); the
domain checks of §4.1 item 5 and §4.2 steps 1-3 are SQL (`int_s4__zone_shares_consistent`).
This module holds the entry gate with the upstream run-report check, the schema and key
checks of the S1, S2 and S3 tables (§4.1 items 3-5, evaluated in DuckDB), the S2 lineage
and alpha-sum checks, the output checks before publishing and the PASS run report.
RNG-free and wall-clock-free for data."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from ..core.catalogue import CatalogueError
from .common import (
    StateFailure, context_from_session, earlier_components, entry_gate, f4_state_spec, schema_packs,
    write_state_report,
)
from python_udfs.csum import csum_ragged

from .s3_publish import PublishCodes, publish_relation, stage_checked, table_schema_check
from .s3_tables import (
    DuplicateKey, anti_join, check_relation, distinct_count, run_offsets, sorted_arrow, stream_in_key_order,
)

CODES = {
    "001": "E3A_S4_001_PRECONDITION_FAILED",
    "002": "E3A_S4_002_CATALOGUE_MALFORMED",
    "003": "E3A_S4_003_DOMAIN_MISMATCH_S1",
    "004": "E3A_S4_004_DOMAIN_MISMATCH_ZONES",
    "005": "E3A_S4_005_COUNT_CONSERVATION_BROKEN",
    "006": "E3A_S4_006_OUTPUT_SCHEMA_INVALID",
    "007": "E3A_S4_007_OUTPUT_INCONSISTENT",
    "008": "E3A_S4_008_IMMUTABILITY_VIOLATION",
    "009": "E3A_S4_009_INFRASTRUCTURE_IO_ERROR",
}
# error_class_detail labels of §4.4.
CLASS_DETAIL = {
    "001": "PRECONDITION", "002": "CATALOGUE", "003": "DOMAIN_S1", "004": "DOMAIN_ZONES",
    "005": "COUNT_CONSERVATION", "006": "OUTPUT_SCHEMA", "007": "OUTPUT_INCONSISTENT", "008": "IMMUTABILITY",
    "009": "INFRASTRUCTURE",
}
PHASES = ("run_receipt", "s0_gate", "s1_run_report", "s1_escalation_queue", "s2_priors", "s3_zone_shares",
          "integerisation")
COUNT_KEYS = (
    "pairs_total", "pairs_escalated", "pairs_monolithic", "zone_rows_total", "zones_per_pair_avg",
    "zones_zero_allocated", "pairs_with_single_zone_nonzero", "pairs_count_conserved",
    "pairs_count_conservation_violations",
)
LINEAGE = ("prior_pack_id", "prior_pack_version", "floor_policy_id", "floor_policy_version")
SPEC = f4_state_spec(
    "S4", CODES, phases=PHASES, infrastructure="009", output_id="s4_zone_counts", output_schema="006",
    default_phase="integerisation", count_keys=COUNT_KEYS, catalogue_phase="s0_gate", upstream_phase="s1_run_report",
    class_details=CLASS_DETAIL,
    # §4.5: `policy` = the four lineage ids, null when a FAIL cannot know them.
    fail_blocks={"policy": dict.fromkeys(LINEAGE)},
    upstream_components=earlier_components("S4"),
    # An earlier state failed in this invocation: §4.1 item 2 / §4.4 `upstream_state_not_pass`.
    upstream_reason="upstream_state_not_pass",
)

POLICY_IDS = ("zone_mixture_policy", "country_zone_alphas", "zone_floor_policy")
UPSTREAM_REPORTS = (("S1", "s1_run_report_3A"), ("S2", "s2_run_report_3A"), ("S3", "s3_run_report_3A"))
RUN_REPORT_ANCHOR = "schemas.layer1.yaml#/run_report/segment_state_run"
PAIR = ("merchant_id", "legal_country_iso")
# Publishing s4_zone_counts (§4.3): a key seen twice is 007, a differing partition 008.
COUNT_PUBLISH = PublishCodes(SPEC, immutability="008", duplicate_key="007", phase="integerisation")
# Columns the s4_zone_counts view gives one value per run (its cross-joined one-row
# inputs and the null notes): the checked write repeats them on the Arrow side after
# proving every row holds them (s3_publish.write_part_file).
COUNT_RUN_CONSTANTS = (
    "seed", "manifest_fingerprint", "prior_pack_id", "prior_pack_version", "floor_policy_id",
    "floor_policy_version", "notes",
)
EPSILON = 1e-12
SAMPLE = 3
SHARE_BATCH_ROWS = 1_000_000


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


def anchor_of(ctx, dataset_id: str, phase: str) -> str:
    try:
        return ctx.catalogue.entry(dataset_id)["schema_ref"]
    except (CatalogueError, KeyError) as exc:
        raise fail("002", phase, f"no dictionary entry for {dataset_id}: {exc}", catalogue_id="dictionary_3A",
                   dataset_id=dataset_id) from exc


# --------------------------------------------------------------------------- §4.1 items 1-2
def _check_policy_set(receipt: dict) -> None:
    sealed = {p["logical_id"] for p in receipt["sealed_policy_set"]}
    missing = [p for p in POLICY_IDS if p not in sealed]
    if missing:
        raise fail("001", "s0_gate", f"sealed_policy_set lacks {', '.join(missing)}", component="S0_GATE",
                   reason="missing", missing_policies=missing)


def _check_upstream_report(ctx, packs, state: str, report_id: str) -> None:
    """The state's run report exists, is a valid segment-state run row and is PASS."""
    path = ctx.path(report_id)
    context = {"reason": "upstream_state_not_pass", "state": state, "path": ctx.catalogue_path(report_id)}
    try:
        report = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise fail("001", "s1_run_report", f"{report_id} is missing", reported_status=None, **context) from exc
    except ValueError as exc:
        raise fail("001", "s1_run_report", f"{report_id} is not JSON", reported_status=None, **context) from exc
    except OSError as exc:
        raise fail("009", "s1_run_report", f"cannot read {report_id}: {exc}", operation="read",
                   path=context["path"], io_error_class=type(exc).__name__) from exc
    violations = packs.validate_json(RUN_REPORT_ANCHOR, report)
    status = report.get("status") if isinstance(report, dict) else None
    if violations or status != "PASS":
        detail = str(violations[0]) if violations else f"status {status}"
        raise fail("001", "s1_run_report", f"{report_id} is not a PASS run row: {detail}",
                   reported_status=status, **context)


def inputs_verified(session) -> pa.Table:
    """Entry gate (01 §5.1) plus §4.1 items 1-2: the three policies sealed, and the S1,
    S2 and S3 run reports present, valid and PASS."""
    ctx = context_from_session(session, SPEC)
    gate = entry_gate(ctx, SPEC, ())
    _check_policy_set(gate.receipt)
    packs = schema_packs(str(ctx.catalogue.root))
    for state, report_id in UPSTREAM_REPORTS:
        _check_upstream_report(ctx, packs, state, report_id)
    tokens = ctx.tokens
    return pa.table({
        "seed": pa.array([tokens.seed], pa.uint64()),
        "manifest_fingerprint": pa.array([tokens.manifest_fingerprint], pa.string()),
        "parameter_hash": pa.array([tokens.parameter_hash], pa.string()),
        "run_id": pa.array([tokens.run_id], pa.string()),
    })


# --------------------------------------------------------------------------- §4.1 item 3 (S1)
def _schema_failure(component: str, phase: str, dataset_id: str, check) -> StateFailure:
    return fail("001", phase, f"{dataset_id} fails its schema: {check.first_message()}", component=component,
                reason="schema_invalid", violation_count=check.schema_count, example_field=check.example_field())


def escalation_queue_checked(session, queue_relation) -> pa.Table:
    """S1 queue schema-valid (001), pair-unique (003), escalated site_count >= 1 (003)."""
    ctx = context_from_session(session, SPEC)
    phase = "s1_escalation_queue"
    tokens = ctx.tokens
    check = check_relation(schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "s1_escalation_queue", phase),
                           queue_relation, {"seed": tokens.seed, "manifest_fingerprint": tokens.manifest_fingerprint})
    if check.schema:
        raise _schema_failure("S1_ESCALATION_QUEUE", phase, "s1_escalation_queue", check)
    if check.keys:
        raise fail("003", phase, f"s1_escalation_queue has duplicate pairs: {check.first_message()}",
                   reason="duplicate_pairs", duplicate_pairs_count=check.key_count)
    empty = queue_relation.filter("is_escalated and site_count < 1")
    if empty.aggregate("count(*)").fetchone()[0]:
        sample = empty.order("merchant_id, legal_country_iso").limit(SAMPLE).project("merchant_id, legal_country_iso")
        raise fail("003", phase, "escalated pairs with site_count < 1", reason="site_count_invalid",
                   affected_pairs_count=int(empty.aggregate("count(*)").fetchone()[0]),
                   sample_pairs=sample.to_arrow_table().to_pylist())
    total, escalated = queue_relation.aggregate(
        "count(*)::bigint, count(*) filter (where is_escalated)::bigint").fetchone()
    return pa.table({
        "pairs_total": pa.array([total], pa.int64()),
        "pairs_escalated": pa.array([escalated], pa.int64()),
    })


# --------------------------------------------------------------------------- §4.1 item 4 (S2)
def country_priors_checked(session, priors_relation, queue_relation) -> pa.Table:
    """S2 schema-valid (001), zone-unique (004), lineage single-valued (007), one finite
    positive alpha_sum_country per country (007), priors for every escalated country (004)."""
    ctx = context_from_session(session, SPEC)
    phase = "s2_priors"
    check = check_relation(schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "s2_country_zone_priors", phase),
                           priors_relation, {"parameter_hash": ctx.tokens.parameter_hash})
    if check.schema:
        raise _schema_failure("S2_PRIORS", phase, "s2_country_zone_priors", check)
    if check.keys:
        raise fail("004", phase, f"s2_country_zone_priors has duplicate zones: {check.first_message()}",
                   reason="duplicate_zone_rows", affected_pairs_count=check.key_count)
    priors = sorted_arrow(priors_relation, ("country_iso", "tzid"))  # one row per country x zone: small
    varying = [name for name in LINEAGE if distinct_count(priors, name) > 1]
    if varying:
        raise fail("007", phase, f"S2 lineage not single-valued: {', '.join(varying)}",
                   reason="lineage_inconsistent", lineage_fields=varying)
    _check_country_alpha_sums(priors, phase)
    escalated = queue_relation.filter("is_escalated").aggregate("legal_country_iso").to_arrow_table()
    missing = anti_join(escalated, priors, ["legal_country_iso"], ["country_iso"]).sort_by("legal_country_iso")
    if missing.num_rows:
        raise fail("004", phase, f"{missing.num_rows} escalated countries have no priors",
                   reason="missing_priors", affected_pairs_count=missing.num_rows,
                   sample_country_iso=missing.column("legal_country_iso")[0].as_py())
    lineage = {name: priors.column(name)[0].as_py() if priors.num_rows else None for name in LINEAGE}
    return pa.Table.from_pylist([lineage], schema=pa.schema([(n, pa.string()) for n in LINEAGE]))


def _check_country_alpha_sums(priors: pa.Table, phase: str) -> None:
    per_country = priors.group_by("country_iso", use_threads=False).aggregate(
        [("alpha_sum_country", "count_distinct"), ("alpha_sum_country", "min")]).sort_by("country_iso")
    values = per_country.column("alpha_sum_country_min").to_numpy()
    bad = (per_country.column("alpha_sum_country_count_distinct").to_numpy() > 1) \
        | ~(np.isfinite(values) & (values > 0.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise fail("007", phase, f"alpha_sum_country not single-valued, finite and positive for {int(bad.sum())} countries",
                   reason="alpha_sum_invalid", sample_country_iso=per_country.column("country_iso")[row].as_py(),
                   affected_countries_count=int(bad.sum()))


# --------------------------------------------------------------------------- §4.1 item 5 (S3)
def zone_shares_checked(session, shares_relation) -> pa.Table:
    """S3 shares schema-valid (001, component S3_ZONE_SHARES); key uniqueness (004) and
    the domain checks follow in SQL (int_s4__zone_shares_consistent)."""
    ctx = context_from_session(session, SPEC)
    phase = "s3_zone_shares"
    tokens = ctx.tokens
    # Key uniqueness (004) is checked by int_s4__zone_shares_consistent in its per-pair pass.
    check = check_relation(schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "s3_zone_shares", phase),
                           shares_relation, {"seed": tokens.seed, "manifest_fingerprint": tokens.manifest_fingerprint},
                           keys=False)
    if check.schema:
        raise _schema_failure("S3_ZONE_SHARES", phase, "s3_zone_shares", check)
    rows = int(shares_relation.aggregate("count(*)::bigint").fetchone()[0])
    return pa.table({"share_rows": pa.array([rows], pa.int64())})


# --------------------------------------------------------------------------- §4.1 item 5, §4.2 steps 2-3 (shares)
class _ShareSumTally:
    """Pairs failing the csum comparison or holding an invalid share, with samples."""

    def __init__(self) -> None:
        self.pairs = 0
        self.sums_off = 0
        self.shares_invalid = 0
        self.sum_samples: list[dict] = []
        self.share_samples: list[dict] = []

    def add(self, rows: pa.Table) -> None:
        """Evaluate complete pairs (rows sorted by key, no pair cut off)."""
        offsets = run_offsets(rows, PAIR)
        starts = offsets[:-1]
        stored = rows.column("share_sum_country").to_numpy()[starts]
        shares = rows.column("share_drawn").to_numpy()
        with np.errstate(invalid="ignore"):
            off = ~(np.abs(stored - csum_ragged(shares, offsets)) <= EPSILON)
            bad_share = ~(np.isfinite(shares) & (shares >= 0.0) & (shares <= 1.0))
        invalid = np.zeros(starts.size, dtype=bool)
        np.logical_or.at(invalid, np.repeat(np.arange(starts.size), np.diff(offsets)), bad_share)
        self.pairs += int(starts.size)
        self.sums_off += int(off.sum())
        self.shares_invalid += int(invalid.sum())
        self.sum_samples += self._samples(rows, starts[off], len(self.sum_samples))
        self.share_samples += self._samples(rows, starts[invalid], len(self.share_samples))

    @staticmethod
    def _samples(rows: pa.Table, at: np.ndarray, have: int) -> list[dict]:
        wanted = at[: max(0, SAMPLE - have)]
        return rows.take(pa.array(wanted, pa.int64())).select(list(PAIR)).to_pylist() if wanted.size else []


def _pair_complete_batches(batches):
    """Tables of whole pairs from batches sorted by key: the last pair of each batch is
    held back and joined to the next batch, since it may continue there."""
    carry = None
    for batch in batches:
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        if table.num_rows == 0:
            continue
        last_start = int(run_offsets(table, PAIR)[-2])
        carry = table.slice(last_start)
        if last_start:
            yield table.slice(0, last_start)
    if carry is not None and carry.num_rows:
        yield carry


SHARE_FACTS_SCHEMA = pa.schema([
    ("duplicate_keys_found", pa.bool_()), ("duplicate_key_sample", pa.string()),
    ("pairs_measured", pa.int64()),
    ("share_sum_mismatch_pairs", pa.int64()), ("share_sum_mismatch_sample", pa.string()),
    ("share_invalid_pairs", pa.int64()), ("share_invalid_sample", pa.string()),
])


def share_sums_measured(session, shares_relation) -> pa.Table:
    """One streamed pass over the S3 shares in key order recording, for the checks of
    int_s4__zone_shares_consistent (which raise in the spec's order): whether a key
    occurs twice (§4.1 item 5), the pairs whose share_sum_country is not within 1e-12 of
    csum of their shares in stored tzid order (§4.2 step 2) and the pairs holding a share
    that is not finite in [0, 1] (step 3), each with up to three sample pairs."""
    context_from_session(session, SPEC)
    columns = shares_relation.project("merchant_id, legal_country_iso, tzid, share_drawn, share_sum_country")

    def tally_pairs(batches) -> _ShareSumTally:
        tally = _ShareSumTally()  # afresh on each call: the stream may restart sorted
        for pairs in _pair_complete_batches(batches):
            tally.add(pairs)
        return tally

    facts = {"duplicate_keys_found": False, "duplicate_key_sample": None}
    try:
        tally = stream_in_key_order(columns, [*PAIR, "tzid"], tally_pairs, SHARE_BATCH_ROWS)
    except DuplicateKey as exc:
        facts = {"duplicate_keys_found": True,
                 "duplicate_key_sample": json.dumps(dict(zip((*PAIR, "tzid"), exc.key_value)), sort_keys=True)}
        tally = _ShareSumTally()
    facts.update({
        "pairs_measured": tally.pairs,
        "share_sum_mismatch_pairs": tally.sums_off, "share_sum_mismatch_sample": json.dumps(tally.sum_samples),
        "share_invalid_pairs": tally.shares_invalid, "share_invalid_sample": json.dumps(tally.share_samples),
    })
    return pa.Table.from_pylist([facts], schema=SHARE_FACTS_SCHEMA)


# --------------------------------------------------------------------------- output (§4.3)
def zone_counts_checked(session, counts_relation) -> pa.Table:
    """Before publishing: output path tokens (002), then the rows written in key order
    as the part file they are published as (a key seen twice: 007) and that file's
    table schema and path<->embed equality checked (else 006). The checked stage is left
    for int_s4__zone_counts_published, which commits it by rename."""
    ctx = context_from_session(session, SPEC)
    phase = "integerisation"
    try:
        template = ctx.catalogue.template("s4_zone_counts")
    except CatalogueError as exc:
        raise fail("002", phase, str(exc), catalogue_id=exc.catalogue_id, dataset_id="s4_zone_counts") from exc
    lacking = [t for t in ("seed={seed}", "manifest_fingerprint={manifest_fingerprint}") if t not in template]
    if lacking:
        raise fail("002", phase, f"s4_zone_counts path lacks {', '.join(lacking)}", catalogue_id="dictionary_3A",
                   dataset_id="s4_zone_counts", template=template)
    anchor = anchor_of(ctx, "s4_zone_counts", phase)
    check = table_schema_check(ctx, "s4_zone_counts", anchor,
                               lambda message, **context: fail("006", phase, message, **context))
    rows = stage_checked(session, ctx, COUNT_PUBLISH, "s4_zone_counts", counts_relation, [*PAIR, "tzid"], check,
                         run_constants=COUNT_RUN_CONSTANTS)
    return pa.table({
        "rows_checked": pa.array([rows], pa.int64()),
    })


def zone_counts_published(session, counts_relation) -> pa.Table:
    """Publish the validated s4_zone_counts rows write-once at the dictionary path
    (§4.3): the file int_s4__zone_counts_checked wrote and checked in this process, or
    else the rows written now (a key seen twice is E3A_S4_007, nothing published); a
    differing existing partition is E3A_S4_008."""
    ctx = context_from_session(session, SPEC)
    result = publish_relation(ctx, COUNT_PUBLISH, "s4_zone_counts", counts_relation, [*PAIR, "tzid"])
    return pa.table({"rows_published": pa.array([result["rows"]], pa.int64()),
                     "created": pa.array([result["created"]], pa.bool_())})


# --------------------------------------------------------------------------- run report (§4.5)
def report_counts(counts_relation, queue_summary: dict) -> dict:
    pair_stats = counts_relation.aggregate(
        "merchant_id, legal_country_iso, count(*) as zones, count(*) filter (where zone_site_count = 0) as zeros, "
        "sum(zone_site_count) as placed, min(zone_site_count_sum) as site_count",
        "merchant_id, legal_country_iso",
    )
    totals = pair_stats.aggregate(
        "count(*)::bigint, coalesce(sum(zones), 0)::bigint, coalesce(sum(zeros), 0)::bigint, "
        "count(*) filter (where zones - zeros = 1)::bigint, count(*) filter (where placed = site_count)::bigint"
    ).fetchone()
    pairs, rows, zeros, single_nonzero, conserved = (int(v) for v in totals)
    return {
        "pairs_total": queue_summary["pairs_total"],
        "pairs_escalated": queue_summary["pairs_escalated"],
        "pairs_monolithic": queue_summary["pairs_total"] - queue_summary["pairs_escalated"],
        "zone_rows_total": rows,
        "zones_per_pair_avg": rows / pairs if pairs else 0.0,
        "zones_zero_allocated": zeros,
        "pairs_with_single_zone_nonzero": single_nonzero,
        "pairs_count_conserved": conserved,
        "pairs_count_conservation_violations": pairs - conserved,
    }


def run_report(session, counts_relation, queue_summary: pa.Table, lineage: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    counts = report_counts(counts_relation, queue_summary.to_pylist()[0])
    blocks = {"policy": lineage.to_pylist()[0]}
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks)
    return pa.Table.from_pylist([{"status": "PASS", **counts}])
