"""3A.S3 — zone-share sampling (spec 03 §3): the Python side of the S3 dbt models.

The draws run in SQL through the `s3a_dirichlet_draw` UDF (`models/segment3a/s3_draws/`);
this module holds what SQL cannot do well: the entry gate, the §3.1 precondition checks
on the S1 queue and S2 priors (schema validation, compensated alpha sums), the
`s3_dispersion` block of the mixture policy (§3.2), the output checks before publishing
(§3.6) and the PASS run report (§3.8). The RNG logs are in `s3_rng_logs`."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from python_udfs.csum import csum_ragged

from ..core import yaml_io
from ..core.catalogue import CatalogueError
from .common import (
    StateFailure, context_from_session, earlier_components, entry_gate, f4_state_spec, read_verified_bytes,
    schema_packs, write_state_report,
)
from . import s3_concentration as concentration
from .s3_publish import PublishCodes, publish_relation, stage_checked, table_schema_check
from .s3_tables import check_relation, distinct_count, run_offsets, sorted_arrow

CODES = {
    "001": "E3A_S3_001_PRECONDITION_FAILED",
    "002": "E3A_S3_002_CATALOGUE_MALFORMED",
    "003": "E3A_S3_003_PRIOR_SURFACE_INCOMPLETE",
    "004": "E3A_S3_004_DOMAIN_MISMATCH_S1",
    "005": "E3A_S3_005_DOMAIN_MISMATCH_S2",
    "006": "E3A_S3_006_DIRICHLET_ALPHA_MISMATCH",
    "007": "E3A_S3_007_RNG_ACCOUNTING_BROKEN",
    "008": "E3A_S3_008_DIRICHLET_REPLAY_MISMATCH",
    "009": "E3A_S3_009_OUTPUT_SCHEMA_INVALID",
    "010": "E3A_S3_010_OUTPUT_INCONSISTENT",
    "011": "E3A_S3_011_IMMUTABILITY_VIOLATION",
    "012": "E3A_S3_012_INFRASTRUCTURE_IO_ERROR",
}
PHASES = ("init", "s0_gate", "s1_escalation_queue", "s2_priors", "s3_dispersion_policy", "rng_logs", "sampling")
COUNT_KEYS = ("pairs_total", "pairs_escalated", "rows_total", "countries_escalated", "rng_events", "rng_trace_rows")
LINEAGE = ("prior_pack_id", "prior_pack_version", "floor_policy_id", "floor_policy_version")
# The six s3_dispersion knobs (§3.2) and the values an absent block means.
DISPERSION_DEFAULTS = {
    "enabled": False, "concentration_scale": 1.0, "alpha_temperature": 1.0, "merchant_jitter": 0.0,
    "merchant_jitter_clip": 0.0, "alpha_floor": 1e-6,
}
# §3.8 blocks of a FAIL report: the keys are always written, every value a FAIL cannot
# know is null (the bucket map has no keys to write, so it is null as a whole).
FAIL_BLOCKS = {
    "policy": {**dict.fromkeys(LINEAGE), "s3_dispersion": dict.fromkeys(DISPERSION_DEFAULTS)},
    "zone_count_buckets": None,
    "rng_totals": dict.fromkeys(("events", "draws", "blocks")),
}
SPEC = f4_state_spec(
    "S3", CODES, phases=PHASES, infrastructure="012", output_id="s3_zone_shares", output_schema="009",
    default_phase="sampling", count_keys=COUNT_KEYS, catalogue_phase="init", upstream_phase="s1_escalation_queue",
    fail_blocks=FAIL_BLOCKS,
    upstream_components=earlier_components("S3"),
    # An earlier state failed in this invocation, so S3's inputs were not published: of
    # §3.7's reasons for E3A_S3_001 that is `missing` (docs/decisions.md).
    upstream_reason="missing",
)

# Publishing s3_zone_shares (§3.6): a key seen twice is 004, a differing partition 011.
SHARE_PUBLISH = PublishCodes(SPEC, immutability="011", duplicate_key="004", phase="sampling")

POLICY_IDS = ("zone_mixture_policy", "country_zone_alphas", "zone_floor_policy")
MIXTURE_POLICY = "zone_mixture_policy"
EPSILON = 1e-12
SHARE_KEY = ("merchant_id", "legal_country_iso", "tzid")
# Columns the s3_zone_shares view gives one value per run (its cross-joined one-row
# inputs and literals): the write repeats them on the Arrow side instead of converting
# millions of copies, after proving every row holds them (s3_publish.write_part_file).
SHARE_RUN_CONSTANTS = (
    "seed", "manifest_fingerprint", "prior_pack_id", "prior_pack_version", "floor_policy_id",
    "floor_policy_version", "rng_module", "rng_substream_label", "rng_event_id", "notes",
)
U64_MAX = (1 << 64) - 1
SAMPLE = 3


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


def anchor_of(ctx, dataset_id: str, phase: str) -> str:
    """The dictionary schema_ref of a dataset; a catalogue problem is E3A_S3_002."""
    try:
        return ctx.catalogue.entry(dataset_id)["schema_ref"]
    except (CatalogueError, KeyError) as exc:
        raise fail("002", phase, f"no dictionary entry for {dataset_id}: {exc}", catalogue_id="dictionary_3A",
                   dataset_id=dataset_id) from exc


# --------------------------------------------------------------------------- entry gate (§3.1 item 1)
_REASONS = {"missing_gate_receipt": "missing", "missing_sealed_inputs": "missing"}


def _component(failure: StateFailure) -> str:
    return "S0_SEALED_INPUTS" if "logical_id" in failure.context else "S0_GATE"


def _reason_of(context: dict) -> str:
    """A reason for gate failures the framework reports without one."""
    if "sealed_sha256_hex" in context:
        return "digest_mismatch" if "expected_path" not in context else "path_mismatch"
    if "missing_roles" in context or "logical_id" in context:
        return "missing"
    return "schema_invalid"


def _with_s3_context(failure: StateFailure) -> StateFailure:
    """The framework's gate failure with the S3 context keys of §3.7 (`component`,
    `reason`, `missing_policies`) added; code and phase are kept."""
    context = dict(failure.context)
    context.setdefault("component", _component(failure))
    context["reason"] = _REASONS.get(context.get("reason"), context.get("reason") or _reason_of(context))
    if "missing_roles" in context:
        context["missing_policies"] = context["missing_roles"]
    return StateFailure(SPEC, failure.number, failure.phase, failure.message, **context)


def inputs_verified(session) -> pa.Table:
    """01 §5.1 + 03 §3.1 item 1: receipt valid, upstream gates PASS, the three policies
    exactly once in the sealed policy set and their sealed bytes unchanged."""
    ctx = context_from_session(session, SPEC)
    try:
        return entry_gate(ctx, SPEC, POLICY_IDS).table()
    except StateFailure as failure:
        # Unchained, so the failure text dbt shows (and the report parses) is this one.
        raise _with_s3_context(failure) from None


# --------------------------------------------------------------------------- S1 queue (§3.1 item 2)
def escalation_queue_checked(session, queue_relation) -> pa.Table:
    """S1 queue schema-valid (else 001) and pair-unique (else 004). One summary row."""
    ctx = context_from_session(session, SPEC)
    phase = "s1_escalation_queue"
    tokens = ctx.tokens
    check = check_relation(schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "s1_escalation_queue", phase),
                           queue_relation, {"seed": tokens.seed, "manifest_fingerprint": tokens.manifest_fingerprint})
    if check.schema:
        raise fail("001", phase, f"s1_escalation_queue fails its schema: {check.first_message()}",
                   component="S1_ESCALATION_QUEUE", reason="schema_invalid", violation_count=check.schema_count,
                   example_field=check.example_field())
    if check.keys:
        raise fail("004", phase, f"s1_escalation_queue has duplicate pairs: {check.first_message()}",
                   component="S1_ESCALATION_QUEUE", reason="duplicate_pairs", duplicate_pairs_count=check.key_count)
    total, escalated, countries = queue_relation.aggregate(
        "count(*)::bigint, count(*) filter (where is_escalated)::bigint, "
        "count(distinct legal_country_iso) filter (where is_escalated)::bigint").fetchone()
    return pa.table({
        "pairs_total": pa.array([total], pa.int64()),
        "pairs_escalated": pa.array([escalated], pa.int64()),
        "countries_escalated": pa.array([countries], pa.int64()),
    })


# --------------------------------------------------------------------------- S2 priors (§3.1 items 3-5)
def country_priors_checked(session, priors_relation, queue_relation) -> pa.Table:
    """S2 priors valid for sampling; one row with the lineage S3 copies."""
    ctx = context_from_session(session, SPEC)
    phase = "s2_priors"
    check = check_relation(schema_packs(str(ctx.catalogue.root)), anchor_of(ctx, "s2_country_zone_priors", phase),
                           priors_relation, {"parameter_hash": ctx.tokens.parameter_hash})
    if check.schema:
        raise fail("001", phase, f"s2_country_zone_priors fails its schema: {check.first_message()}",
                   component="S2_PRIORS", reason="schema_invalid", violation_count=check.schema_count,
                   example_field=check.example_field())
    if check.keys:
        raise fail("005", phase, f"s2_country_zone_priors has duplicate (country_iso, tzid): {check.first_message()}",
                   reason="duplicate_zone_rows", duplicate_rows_count=check.key_count)
    priors = sorted_arrow(priors_relation, ("country_iso", "tzid"))  # one row per country x zone: small
    lineage = _single_valued_lineage(priors, phase)
    _check_alpha_sums(priors, phase)
    _check_coverage(priors, queue_relation, phase)
    return pa.table({
        **{name: pa.array([lineage.get(name)], pa.string()) for name in LINEAGE},
        "countries_with_priors": pa.array([distinct_count(priors, "country_iso")], pa.int64()),
    })


def _single_valued_lineage(priors: pa.Table, phase: str) -> dict[str, str | None]:
    varying = [name for name in LINEAGE if distinct_count(priors, name) > 1]
    if varying:
        raise fail("010", phase, f"S2 lineage not single-valued: {', '.join(varying)}",
                   reason="lineage_not_single_valued", lineage_fields=varying)
    return {name: (priors.column(name)[0].as_py() if priors.num_rows else None) for name in LINEAGE}


def _country_runs(priors: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, first row) of each country's run of rows; rows are in (country, tzid) order."""
    offsets = run_offsets(priors, ("country_iso",))
    return offsets, offsets[:-1]


def _check_alpha_sums(priors: pa.Table, phase: str) -> None:
    """§3.1 items 3-4: one alpha_sum_country per country, shapes finite and > 0, and the
    stored sum within 1e-12 of csum of the shapes in ascending tzid order."""
    offsets, starts = _country_runs(priors)
    if starts.size == 0:
        return
    stored = priors.column("alpha_sum_country").to_numpy()
    alpha = priors.column("alpha_effective").to_numpy()
    countries = priors.column("country_iso").to_numpy(zero_copy_only=False)
    lengths = np.diff(offsets)
    first = np.repeat(stored[starts], lengths)
    varying = np.unique(np.repeat(np.arange(starts.size), lengths)[stored != first])
    if varying.size:
        raise fail("006", phase, f"alpha_sum_country not single-valued for {varying.size} countries",
                   reason="alpha_sum_mismatch", affected_countries_count=int(varying.size),
                   sample_country_iso=str(countries[starts[varying[0]]]))
    bad_alpha = ~(np.isfinite(alpha) & (alpha > 0.0))
    if bad_alpha.any():
        row = int(np.flatnonzero(bad_alpha)[0])
        raise fail("006", phase, "an S2 alpha_effective is non-finite or <= 0", reason="alpha_values_mismatch",
                   sample_country_iso=str(countries[row]), observed_alpha=float(alpha[row]))
    expected = csum_ragged(alpha, offsets)
    observed = stored[starts]
    with np.errstate(invalid="ignore"):
        wrong = ~(np.isfinite(observed) & (observed > 0.0) & (np.abs(observed - expected) <= EPSILON))
    if wrong.any():
        c = int(np.flatnonzero(wrong)[0])
        raise fail("006", phase, f"alpha_sum_country differs from csum(alpha) for {int(wrong.sum())} countries",
                   reason="alpha_sum_mismatch", sample_country_iso=str(countries[starts[c]]),
                   expected_alpha_sum=float(expected[c]), observed_alpha_sum=float(observed[c]),
                   affected_countries_count=int(wrong.sum()))


def _check_coverage(priors: pa.Table, queue_relation, phase: str) -> None:
    """§3.1 item 5: every country of D_esc has priors (else E3A_S3_003)."""
    escalated = queue_relation.filter("is_escalated").aggregate("legal_country_iso").order("legal_country_iso")
    countries = escalated.to_arrow_table().column("legal_country_iso")
    missing = pc.filter(countries, pc.invert(pc.is_in(countries, value_set=priors.column("country_iso"))))
    if len(missing):
        raise fail("003", phase, f"{len(missing)} escalated countries have no S2 priors",
                   missing_countries_count=len(missing), sample_country_iso=missing[0].as_py())


# --------------------------------------------------------------------------- s3_dispersion (§3.1 item 6, §3.2)
_RANGES = {
    "concentration_scale": (0.25, 1.50, False),
    "alpha_temperature": (0.50, 1.50, False),
    "merchant_jitter": (0.0, 0.50, False),
    "merchant_jitter_clip": (0.0, 0.50, False),
    "alpha_floor": (0.0, 0.01, True),  # (0, 0.01]
}
DISPERSION_SCHEMA = pa.schema([
    ("s3_dispersion_present", pa.bool_()), ("enabled", pa.bool_()), ("concentration_scale", pa.float64()),
    ("alpha_temperature", pa.float64()), ("merchant_jitter", pa.float64()), ("merchant_jitter_clip", pa.float64()),
    ("alpha_floor", pa.float64()),
    # The site-count knob as S3 applies it (off = g 1; s3_concentration).
    *((f"{concentration.KEY}_{field}", pa.bool_() if field == "enabled" else pa.float64())
      for field in concentration.FIELDS),
])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def dispersion_issues(block: Any) -> list[str]:
    """Every §3.2 violation of a present `s3_dispersion` block (enforced even when
    `enabled` is false), independent of what the schema pack allows."""
    if not isinstance(block, dict):
        return ["s3_dispersion is not a mapping"]
    issues = [f"s3_dispersion.{key} is required" for key in DISPERSION_DEFAULTS if key not in block]
    if "enabled" in block and not isinstance(block["enabled"], bool):
        issues.append("s3_dispersion.enabled must be a boolean")
    issues.extend(_range_issues(block, _RANGES, "s3_dispersion"))
    jitter, clip = block.get("merchant_jitter"), block.get("merchant_jitter_clip")
    if _is_number(jitter) and _is_number(clip) and not clip + 1e-12 >= jitter:
        issues.append(f"s3_dispersion.merchant_jitter_clip = {clip} below merchant_jitter = {jitter}")
    if concentration.KEY in block:
        issues.extend(site_count_concentration_issues(block[concentration.KEY]))
    return issues


def site_count_concentration_issues(knob: Any) -> list[str]:
    """Every violation of a present `s3_dispersion.site_count_concentration` mapping."""
    where = f"s3_dispersion.{concentration.KEY}"
    if not isinstance(knob, dict):
        return [f"{where} is not a mapping"]
    issues = [f"{where}.{field} is required" for field in concentration.FIELDS if field not in knob]
    if "enabled" in knob and not isinstance(knob["enabled"], bool):
        issues.append(f"{where}.enabled must be a boolean")
    if "exponent" in knob and not (_is_number(knob["exponent"]) and knob["exponent"] in concentration.EXPONENTS):
        issues.append(f"{where}.exponent = {knob['exponent']!r} is not one of {concentration.EXPONENTS}")
    return issues + _range_issues(knob, concentration.RANGES, where)


def _range_issues(block: dict, ranges: dict[str, tuple[float, float, bool]], where: str) -> list[str]:
    """Each present key of `ranges` (low, high, low end open) that is not a finite number
    inside its range."""
    issues = []
    for key, (low, high, open_low) in ranges.items():
        if key not in block:
            continue
        value = block[key]
        if not _is_number(value):
            issues.append(f"{where}.{key} must be a finite number")
        elif value > high or value < low or (open_low and value <= low):
            issues.append(f"{where}.{key} = {value} outside {'(' if open_low else '['}{low}, {high}]")
    return issues


def _policy_failure(message: str, schema_ref: str, issues: list[str], reason: str) -> StateFailure:
    return fail("001", "s3_dispersion_policy", message, component="ZONE_MIXTURE_POLICY", reason=reason,
                logical_id=MIXTURE_POLICY, schema_ref=schema_ref, violation_count=len(issues), issues=issues)


def parse_dispersion(data: bytes, schema_ref: str, packs) -> dict[str, Any]:
    """The knobs S3 uses: the validated block, or the defaults when it is absent."""
    try:
        doc = yaml_io.load(data)
    except yaml.YAMLError as exc:
        raise _policy_failure(f"{MIXTURE_POLICY} is not valid YAML", schema_ref, [str(exc)], "schema_invalid") from exc
    if not isinstance(doc, dict):
        raise _policy_failure(f"{MIXTURE_POLICY} is not a mapping", schema_ref, ["not a mapping"], "schema_invalid")
    violations = [v for v in packs.validate_json(schema_ref, doc)]
    if violations:
        in_block = all(v.path.startswith("$.s3_dispersion") for v in violations)
        raise _policy_failure(f"{MIXTURE_POLICY} fails {schema_ref}: {violations[0]}", schema_ref,
                              [str(v) for v in violations], "invalid_s3_dispersion" if in_block else "schema_invalid")
    if "s3_dispersion" not in doc:
        return {"s3_dispersion_present": False, **DISPERSION_DEFAULTS,
                **concentration.SiteCountConcentration().row()}
    issues = dispersion_issues(doc["s3_dispersion"])
    if issues:
        raise _policy_failure(f"{MIXTURE_POLICY}: {issues[0]}", schema_ref, issues, "invalid_s3_dispersion")
    block = doc["s3_dispersion"]
    return {"s3_dispersion_present": True, "enabled": block["enabled"],
            **{key: float(block[key]) for key in _RANGES},
            **concentration.SiteCountConcentration.from_dispersion(block).row()}


def dispersion_policy(session, gate_table: pa.Table) -> pa.Table:
    """The sealed mixture policy's `s3_dispersion` knobs as one row (§3.1 item 6, §3.2)."""
    ctx = context_from_session(session, SPEC)
    phase = "s3_dispersion_policy"
    try:
        data = read_verified_bytes(ctx, SPEC, gate_table, MIXTURE_POLICY, mismatch="001")
    except StateFailure as failure:
        # Sealed bytes changed since the gate (001) or unreadable (012): same code, S3's phase.
        raise StateFailure(SPEC, failure.number, phase, failure.message, component="ZONE_MIXTURE_POLICY",
                           **failure.context) from None
    schema_ref = anchor_of(ctx, MIXTURE_POLICY, phase)
    knobs = parse_dispersion(data, schema_ref, schema_packs(str(ctx.catalogue.root)))
    return pa.Table.from_pylist([knobs], schema=DISPERSION_SCHEMA)


# --------------------------------------------------------------------------- output checks (§3.4-§3.6)
def zone_shares_checked(session, shares_relation, draws_relation) -> pa.Table:
    """Before publishing: K rows per pair (else 005), then the rows written in key order
    as the part file they are published as (a key seen twice: 004) and that file's
    table schema and path<->embed equality checked (else 009). The checked stage is
    left for int_s3__zone_shares_published, which commits it by rename. One summary
    row."""
    ctx = context_from_session(session, SPEC)
    phase = "sampling"
    rows = int(shares_relation.aggregate("count(*)::bigint").fetchone()[0])
    expected = int(draws_relation.aggregate("coalesce(sum(zone_count), 0)::bigint").fetchone()[0])
    if rows != expected:
        raise fail("005", phase, f"{rows} share rows for sum(K) = {expected}",
                   reason="row_count_mismatch", expected_rows=expected, observed_rows=rows)
    anchor = anchor_of(ctx, "s3_zone_shares", phase)
    check = table_schema_check(ctx, "s3_zone_shares", anchor,
                               lambda message, **context: fail("009", phase, message, **context))
    stage_checked(session, ctx, SHARE_PUBLISH, "s3_zone_shares", shares_relation, list(SHARE_KEY), check,
                  run_constants=SHARE_RUN_CONSTANTS)
    return pa.table({
        "rows_checked": pa.array([rows], pa.int64()),
    })


def zone_shares_published(session, shares_relation) -> pa.Table:
    """Publish the validated s3_zone_shares rows write-once at the dictionary path
    (§3.6): the file int_s3__zone_shares_checked wrote and checked in this process, or
    else the rows written now (a key seen twice is E3A_S3_004, nothing published); a
    differing existing partition is E3A_S3_011."""
    ctx = context_from_session(session, SPEC)
    result = publish_relation(ctx, SHARE_PUBLISH, "s3_zone_shares", shares_relation, list(SHARE_KEY))
    return pa.table({"rows_published": pa.array([result["rows"]], pa.int64()),
                     "created": pa.array([result["created"]], pa.bool_())})


# --------------------------------------------------------------------------- run report (§3.8)
def _saturated(value: int) -> int:
    return min(int(value), U64_MAX)


def report_blocks(draws_relation, queue_summary: dict, priors_summary: dict, knobs: dict,
                  log_summary: dict) -> tuple[dict, dict]:
    """The §3.8 counters and blocks from the draws and the check models' summaries."""
    totals = draws_relation.aggregate(
        "count(*)::bigint, coalesce(sum(zone_count), 0)::hugeint, coalesce(sum(blocks), 0)::hugeint, "
        "coalesce(sum(cast(draws as hugeint)), 0)::hugeint"
    ).fetchone()
    buckets = draws_relation.aggregate("zone_count, count(*)::bigint", "zone_count").order("zone_count").fetchall()
    events, rows_total, blocks, draws = (int(v) for v in totals)
    counts = {
        "pairs_total": queue_summary["pairs_total"],
        "pairs_escalated": queue_summary["pairs_escalated"],
        "rows_total": rows_total,
        "countries_escalated": queue_summary["countries_escalated"],
        "rng_events": events,
        "rng_trace_rows": log_summary["rng_trace_rows"],
    }
    blocks_out = {
        "policy": {
            **{name: priors_summary.get(name) for name in LINEAGE},
            "s3_dispersion": {key: knobs[key] for key in DISPERSION_DEFAULTS},
        },
        "zone_count_buckets": {str(k): int(n) for k, n in buckets},
        "rng_totals": {"events": _saturated(events), "draws": _saturated(draws), "blocks": _saturated(blocks)},
    }
    return counts, blocks_out


def run_report(session, draws_relation, queue_summary: pa.Table, priors_summary: pa.Table,
               knobs: pa.Table, log_summary: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    counts, blocks = report_blocks(draws_relation, queue_summary.to_pylist()[0], priors_summary.to_pylist()[0],
                                   knobs.to_pylist()[0], log_summary.to_pylist()[0])
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks)
    return pa.Table.from_pylist([{"status": "PASS", **counts}])


__all__ = [
    "SPEC", "CODES", "inputs_verified", "escalation_queue_checked", "country_priors_checked", "dispersion_policy",
    "dispersion_issues", "parse_dispersion", "zone_shares_checked", "zone_shares_published", "run_report",
]
