"""3A.S1 — escalation queue (spec 02 §3, §6): the Python side of the S1 dbt models.

The decisions themselves are SQL (`models/segment3a/s1_escalation/`); this module holds
what SQL cannot do well: the entry gate, loading and checking the mixture policy (schema
plus the §3.1 runtime checks, every failure listed), an independent replay of the
decisions (E3A_S1_011), and the PASS run report with the §6.6 counters."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from python_udfs.hashing import LABEL_SMOOTH_BAND, LABEL_THETA_MIX, hash_uniform_batch

from ..core import yaml_io
from .common import (
    StateFailure, StateSpec, context_from_session, entry_gate, gate_row, is_placeholder, read_verified_bytes,
    schema_packs, write_state_report,
)

CODES = {
    "001": "E3A_S1_001_S0_GATE_MISSING_OR_INVALID",
    "002": "E3A_S1_002_UPSTREAM_GATE_NOT_PASS",
    "003": "E3A_S1_003_CATALOGUE_MALFORMED",
    "004": "E3A_S1_004_POLICY_MISSING_OR_AMBIGUOUS",
    "005": "E3A_S1_005_POLICY_SCHEMA_INVALID",
    "006": "E3A_S1_006_ZONE_STRUCTURE_INCONSISTENT",
    "007": "E3A_S1_007_SEALED_INPUT_MISMATCH",
    "008": "E3A_S1_008_DOMAIN_MISMATCH_1A",
    "009": "E3A_S1_009_SITE_COUNT_MISMATCH",
    "010": "E3A_S1_010_OUTPUT_SCHEMA_INVALID",
    "011": "E3A_S1_011_POLICY_REPLAY_MISMATCH",
    "012": "E3A_S1_012_IMMUTABILITY_VIOLATION",
    "013": "E3A_S1_013_INFRASTRUCTURE_IO_ERROR",
}
CLASSES = {
    "001": "S0_GATE", "002": "UPSTREAM_GATE", "003": "CATALOGUE", "004": "POLICY", "005": "POLICY",
    "006": "ZONE_STRUCTURE", "007": "SEALED_INPUT", "008": "DOMAIN_MISMATCH", "009": "DOMAIN_MISMATCH",
    "010": "OUTPUT_SCHEMA", "011": "POLICY", "012": "IMMUTABILITY", "013": "INFRASTRUCTURE",
}
SPEC = StateSpec(
    state="S1",
    codes=CODES,
    classes=CLASSES,
    gate={
        "receipt_missing": "001", "receipt_invalid": "001", "identity_mismatch": "001", "upstream_not_pass": "002",
        "inventory_missing": "001", "inventory_invalid": "001", "catalogue_malformed": "003",
        "policy_missing_or_ambiguous": "004", "policy_not_inventoried": "004", "input_not_inventoried": "001",
        "path_mismatch": "007", "artefact_absent": "003", "digest_mismatch": "007", "upstream_state_failed": "001",
    },
    gate_phases={
        "receipt_missing": "s0_receipt", "receipt_invalid": "s0_receipt", "identity_mismatch": "s0_receipt",
        "upstream_not_pass": "s0_receipt", "inventory_missing": "sealed_inputs", "inventory_invalid": "sealed_inputs",
        "catalogue_malformed": "sealed_inputs", "policy_missing_or_ambiguous": "sealed_inputs",
        "policy_not_inventoried": "sealed_inputs", "input_not_inventoried": "sealed_inputs",
        "path_mismatch": "sealed_inputs", "artefact_absent": "sealed_inputs", "digest_mismatch": "sealed_inputs",
        "upstream_state_failed": "s0_receipt",
    },
    phases=("run_receipt", "s0_receipt", "sealed_inputs", "policy_load", "outlet_aggregate", "zone_structure",
            "decision_eval"),
    infrastructure="013",
    report_id="s1_run_report_3A",
    output_id="s1_escalation_queue",
    output_schema="010",
    default_phase="decision_eval",
    count_keys=("pairs_total", "pairs_escalated", "pairs_monolithic", "countries_total",
                "pairs_smooth_band_escalated", "escalation_rate"),
)

POLICY_ID = "zone_mixture_policy"
READS = ("zone_mixture_policy", "outlet_catalogue", "iso3166_canonical_2024", "world_countries", "tz_world_2025a",
         "tz_timetable_cache")
OPTIONAL_READS = ("tz_timetable_cache",)
ESCALATED = ("forced_escalation", "default_escalation")
ELIGIBLE = ("forced_escalation", "default_escalation", "legacy_default")
REASONS = ("forced_monolithic", "below_min_sites", "legacy_default", "forced_escalation", "default_escalation")
SMOOTH_BAND_BUCKET = "s1_smooth_band"
SMOOTHING_KEYS = ("enabled", "zone_count_min", "zone_count_max", "zone_escalation_prob_min",
                  "zone_escalation_prob_max", "site_count_slope", "site_count_cap")

RULE_TYPE = pa.struct([
    ("rule_rank", pa.int32()), ("metric", pa.string()), ("threshold", pa.float64()),
    ("decision_reason", pa.string()), ("bucket", pa.string()),
])
POLICY_SCHEMA = pa.schema([
    ("mixture_policy_id", pa.string()), ("mixture_policy_version", pa.string()), ("theta_digest", pa.string()),
    ("theta_mix", pa.float64()), ("smoothing_enabled", pa.bool_()), ("zone_count_min", pa.int32()),
    ("zone_count_max", pa.int32()), ("zone_escalation_prob_min", pa.float64()),
    ("zone_escalation_prob_max", pa.float64()), ("site_count_slope", pa.float64()), ("site_count_cap", pa.float64()),
    ("rules", pa.list_(RULE_TYPE)),
])


# --------------------------------------------------------------------------- entry gate
def inputs_verified(session) -> pa.Table:
    """Entry gate of S1 (02 §6.1 steps 1-4) as the table later models read identity from."""
    ctx = context_from_session(session, SPEC)
    return entry_gate(ctx, SPEC, READS, optional=OPTIONAL_READS).table()


# --------------------------------------------------------------------------- policy
def runtime_issues(doc: dict) -> list[str]:
    """Every §3.1 runtime check the policy fails (schema-valid input assumed)."""
    issues: list[str] = []
    if is_placeholder(doc.get("version")):
        issues.append(f"version {doc.get('version')!r} is a placeholder")
    theta = doc["theta_mix"]
    if not 0.10 <= theta <= 0.70:
        issues.append(f"theta_mix {theta} outside [0.10, 0.70]")
    rules = doc["rules"]
    if len(rules) < 3:
        issues.append(f"rules has {len(rules)} items, at least 3 required")
    by_metric: dict[str, list[float]] = {}
    for rule in rules:
        by_metric.setdefault(rule["metric"], []).append(rule["threshold"])
    lt = by_metric.get("site_count_lt", [])
    if not lt:
        issues.append("no site_count_lt rule")
    issues += [f"site_count_lt threshold {t} outside [2, 10]" for t in lt if not 2 <= t <= 10]
    if 1 not in by_metric.get("zone_count_country_le", []):
        issues.append("no zone_count_country_le rule with threshold exactly 1")
    if not any(r["decision_reason"] == "forced_escalation" and r["metric"] in ("site_count_ge", "zone_count_country_ge")
               for r in rules):
        issues.append("no forced_escalation rule on site_count_ge or zone_count_country_ge")
    issues += [f"zone_count_country_ge threshold {t} outside [3, 12]"
               for t in by_metric.get("zone_count_country_ge", []) if not 3 <= t <= 12]
    issues += [f"site_count_ge threshold {t} outside [20, 200]"
               for t in by_metric.get("site_count_ge", []) if not 20 <= t <= 200]
    smoothing = doc.get("s1_smoothing")
    if smoothing is not None:
        if not smoothing["zone_count_min"] < smoothing["zone_count_max"]:
            issues.append("s1_smoothing.zone_count_min must be < zone_count_max")
        if not smoothing["zone_escalation_prob_min"] <= smoothing["zone_escalation_prob_max"]:
            issues.append("s1_smoothing.zone_escalation_prob_min must be <= zone_escalation_prob_max")
        if not smoothing["site_count_slope"] <= smoothing["site_count_cap"]:
            issues.append("s1_smoothing.site_count_slope must be <= site_count_cap")
    return issues


def policy_failure(message: str, schema_ref: str, issues: list[str]) -> StateFailure:
    return StateFailure(SPEC, "005", "policy_load", message, logical_id=POLICY_ID, schema_ref=schema_ref,
                        violation_count=len(issues), issues=issues)


def validated_policy(data: bytes, schema_ref: str, packs) -> dict:
    """The parsed policy, or E3A_S1_005 listing every schema violation / runtime check."""
    try:
        doc = yaml_io.load(data)
    except yaml.YAMLError as exc:
        raise policy_failure(f"{POLICY_ID} is not valid YAML", schema_ref, [str(exc)]) from exc
    if not isinstance(doc, dict):
        raise policy_failure(f"{POLICY_ID} is not a mapping", schema_ref, ["top level is not a mapping"])
    violations = [str(v) for v in packs.validate_json(schema_ref, doc)]
    if violations:
        raise policy_failure(f"{POLICY_ID} fails {schema_ref}: {violations[0]}", schema_ref, violations)
    issues = runtime_issues(doc)
    if issues:
        raise policy_failure(f"{POLICY_ID} fails the S1 runtime checks: {issues[0]}", schema_ref, issues)
    return doc


def policy_row(doc: dict, theta_digest: str) -> dict:
    smoothing = doc.get("s1_smoothing") or {}
    return {
        "mixture_policy_id": doc["policy_id"],
        "mixture_policy_version": str(doc["version"]),
        "theta_digest": theta_digest,
        "theta_mix": float(doc["theta_mix"]),
        "smoothing_enabled": bool(smoothing.get("enabled", False)),
        **{key: smoothing.get(key) for key in SMOOTHING_KEYS[1:]},
        "rules": [
            {"rule_rank": i + 1, "metric": r["metric"], "threshold": float(r["threshold"]),
             "decision_reason": r["decision_reason"], "bucket": r.get("bucket")}
            for i, r in enumerate(doc["rules"])
        ],
    }


def mixture_policy_table(session, gate_table: pa.Table) -> pa.Table:
    """02 §6.1 step 5: the sealed policy bytes, schema- and runtime-checked, as one row
    with the rule ladder as an ordered list."""
    ctx = context_from_session(session, SPEC)
    data = read_verified_bytes(ctx, SPEC, gate_table, POLICY_ID, mismatch="007")
    schema_ref = ctx.catalogue.entry(POLICY_ID)["schema_ref"]
    doc = validated_policy(data, schema_ref, schema_packs(str(ctx.catalogue.root)))
    row = policy_row(doc, gate_row(gate_table, POLICY_ID)["sha256_hex"])
    return pa.Table.from_pylist([row], schema=POLICY_SCHEMA)


# --------------------------------------------------------------------------- replay (011)
def smoothing_probability(zone_counts: np.ndarray, site_counts: np.ndarray, policy: dict) -> np.ndarray:
    """P_s(k, n) of 02 §3.3, elementwise in binary64 with the SQL model's operation order."""
    k = zone_counts.astype(np.int64)
    n = site_counts.astype(np.int64)
    if not policy["smoothing_enabled"]:
        return np.zeros(k.size)
    zmin, zmax = policy["zone_count_min"], policy["zone_count_max"]
    pos = (np.minimum(k, zmax) - zmin).astype(np.float64) / float(max(zmax - zmin, 1))
    zone_prob = policy["zone_escalation_prob_min"] + pos * (policy["zone_escalation_prob_max"] - policy["zone_escalation_prob_min"])
    site_term = np.minimum(np.maximum(n - 1, 0).astype(np.float64) * policy["site_count_slope"], policy["site_count_cap"])
    p = np.minimum(1.0, np.maximum(0.0, zone_prob + site_term))
    return np.where(k < zmin, 0.0, p)


def rule_matches(rule: dict, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    t = rule["threshold"]
    predicates = {
        "site_count_lt": lambda: n < t,
        "zone_count_country_le": lambda: k <= t,
        "site_count_ge": lambda: n >= t,
        "zone_count_country_ge": lambda: k >= t,
    }
    return predicates[rule["metric"]]()


def replay_decisions(pairs: pa.Table, policy: dict, parameter_hash: str) -> tuple[np.ndarray, np.ndarray]:
    """decision_reason and bucket of every pair by 02 §6.1 step 8, from the pair's
    (merchant_id, legal_country_iso, site_count, zone_count_country) and the policy."""
    ids = pairs["merchant_id"].to_numpy(zero_copy_only=False).astype(np.uint64)
    countries = np.asarray(pairs["legal_country_iso"].to_pylist(), dtype=object)
    n = pairs["site_count"].to_numpy(zero_copy_only=False).astype(np.float64)
    k = pairs["zone_count_country"].to_numpy(zero_copy_only=False).astype(np.float64)
    reason = np.full(ids.size, None, dtype=object)
    bucket = np.full(ids.size, None, dtype=object)
    matched = np.zeros(ids.size, dtype=bool)
    for rule in policy["rules"]:
        hit = rule_matches(rule, n, k) & ~matched
        reason[hit] = rule["decision_reason"]
        bucket[hit] = rule["bucket"]
        matched |= hit
    p = smoothing_probability(k, n, policy)
    band = (reason == "below_min_sites") & (p > 0)
    if band.any():
        u = hash_uniform_batch(LABEL_SMOOTH_BAND, ids[band], list(countries[band]), parameter_hash)
        won = np.flatnonzero(band)[u < p[band]]
        reason[won] = "default_escalation"
        bucket[won] = SMOOTH_BAND_BUCKET
    undecided = ~matched
    if undecided.any():
        u = hash_uniform_batch(LABEL_THETA_MIX, ids[undecided], list(countries[undecided]), parameter_hash)
        reason[undecided] = np.where(u < policy["theta_mix"], "default_escalation", "legacy_default")
    return reason, bucket


def check_replay(pairs: pa.Table, policy: dict, parameter_hash: str) -> pa.Table:
    """E3A_S1_011 if a decided row disagrees with the replay (reason, bucket or either
    boolean); returns a one-row summary for the dbt model."""
    reason, bucket = replay_decisions(pairs, policy, parameter_hash)
    stored_reason = np.asarray(pairs["decision_reason"].to_pylist(), dtype=object)
    stored_bucket = np.asarray(pairs["dominant_zone_share_bucket"].to_pylist(), dtype=object)
    escalated = np.isin(reason.astype(str), ESCALATED)
    eligible = np.isin(reason.astype(str), ELIGIBLE)
    bad = (
        (stored_reason != reason) | (stored_bucket != bucket)
        | (pairs["is_escalated"].to_numpy(zero_copy_only=False) != escalated)
        | (pairs["eligible_for_escalation"].to_numpy(zero_copy_only=False) != eligible)
    )
    if bad.any():
        rows = np.flatnonzero(bad)[:3]
        examples = [{"merchant_id": int(pairs["merchant_id"][i].as_py()),
                     "legal_country_iso": pairs["legal_country_iso"][i].as_py(),
                     "stored": stored_reason[i], "replayed": reason[i]} for i in rows]
        raise StateFailure(SPEC, "011", "decision_eval", f"{int(bad.sum())} decisions disagree with the replay",
                           pair_examples=examples, policy_id=policy["mixture_policy_id"],
                           policy_version=policy["mixture_policy_version"], mismatch_count=int(bad.sum()))
    return pa.table({"pairs_replayed": pa.array([pairs.num_rows], pa.int64())})


def decisions_replayed(pairs: pa.Table, policy_table: pa.Table, gate_table: pa.Table) -> pa.Table:
    policy = policy_table.to_pylist()[0]
    parameter_hash = gate_table["parameter_hash"][0].as_py()
    return check_replay(pairs, policy, parameter_hash)


# --------------------------------------------------------------------------- run report
def value_counts(array: pa.ChunkedArray) -> dict[str, int]:
    counts = pc.value_counts(array)
    return {str(v["values"]): int(v["counts"]) for v in sorted(counts.to_pylist(), key=lambda x: str(x["values"]))}


def report_blocks(queue: pa.Table, decided: pa.Table, policy: dict) -> tuple[dict, dict]:
    """The §6.6 counters and blocks from the published rows."""
    total = queue.num_rows
    escalated = int(pc.sum(queue["is_escalated"].cast(pa.int64())).as_py() or 0)
    countries = queue.select(["legal_country_iso", "zone_count_country"]).group_by(
        ["legal_country_iso", "zone_count_country"]).aggregate([])
    counts = {
        "pairs_total": total,
        "pairs_escalated": escalated,
        "pairs_monolithic": total - escalated,
        "countries_total": countries.num_rows,
        "pairs_smooth_band_escalated": int(pc.sum(decided["smooth_band_escalated"].cast(pa.int64())).as_py() or 0),
        "escalation_rate": escalated / total if total else 0.0,
    }
    blocks = {
        "policy": {
            "mixture_policy_id": policy["mixture_policy_id"],
            "mixture_policy_version": policy["mixture_policy_version"],
            "theta_mix": policy["theta_mix"],
            "theta_digest": policy["theta_digest"],
            "s1_smoothing": {
                "enabled": policy["smoothing_enabled"],
                **{key: policy[key] for key in SMOOTHING_KEYS[1:]},
            },
        },
        "reason_counts": value_counts(queue["decision_reason"]),
        "zone_count_buckets": value_counts(countries["zone_count_country"]),
    }
    return counts, blocks


def run_report(session, queue: pa.Table, decided: pa.Table, policy_table: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    counts, blocks = report_blocks(queue, decided, policy_table.to_pylist()[0])
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks)
    return pa.Table.from_pylist([{"status": "PASS", **counts}])
