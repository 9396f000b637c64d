"""3A.S2 — country x zone priors (spec 02 §4, §5, §7): the Python side of the S2 models.

SQL (`models/segment3a/s2_priors/`) reconciles the prior pack with Z(c), applies the
floors and derives the effective alphas; this module holds the entry gate, the loaders
of the two sealed policy files (schema-checked, with mapping keys kept as strings so
that Norway's `NO:` stays "NO"), and the PASS run report with the §7.5 counters."""
from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from ..core import yaml_io
from .common import (
    StateFailure, StateSpec, context_from_session, entry_gate, gate_row, is_placeholder, read_verified_bytes,
    schema_packs, write_state_report,
)

CODES = {
    "001": "E3A_S2_001_S0_GATE_OR_SEALED_INPUTS_INVALID",
    "002": "E3A_S2_002_CATALOGUE_MALFORMED",
    "003": "E3A_S2_003_PRIOR_OR_POLICY_MISSING_OR_AMBIGUOUS",
    "004": "E3A_S2_004_PRIOR_OR_POLICY_SCHEMA_INVALID",
    "005": "E3A_S2_005_ZONE_UNIVERSE_MISMATCH",
    "006": "E3A_S2_006_SEALED_INPUT_MISMATCH",
    "007": "E3A_S2_007_DOMAIN_MISMATCH_UNIVERSE",
    "008": "E3A_S2_008_ALPHA_VECTOR_DEGENERATE_OR_INCONSISTENT",
    "009": "E3A_S2_009_OUTPUT_SCHEMA_INVALID",
    "010": "E3A_S2_010_LINEAGE_INCONSISTENT",
    "011": "E3A_S2_011_IMMUTABILITY_VIOLATION",
    "012": "E3A_S2_012_INFRASTRUCTURE_IO_ERROR",
}
CLASSES = {
    "001": "S0_GATE", "002": "CATALOGUE", "003": "PRIOR_POLICY", "004": "PRIOR_POLICY", "005": "ZONE_UNIVERSE",
    "006": "SEALED_INPUT", "007": "DOMAIN_MISMATCH", "008": "ALPHA_VECTOR", "009": "OUTPUT_SCHEMA",
    "010": "OUTPUT_SCHEMA", "011": "IMMUTABILITY", "012": "INFRASTRUCTURE",
}
SPEC = StateSpec(
    state="S2",
    codes=CODES,
    classes=CLASSES,
    gate={
        "receipt_missing": "001", "receipt_invalid": "001", "identity_mismatch": "001", "upstream_not_pass": "001",
        "inventory_missing": "001", "inventory_invalid": "001", "catalogue_malformed": "002",
        "policy_missing_or_ambiguous": "003", "policy_not_inventoried": "006", "input_not_inventoried": "006",
        "path_mismatch": "006", "artefact_absent": "006", "digest_mismatch": "006", "upstream_state_failed": "001",
    },
    gate_phases={
        "receipt_missing": "s0_receipt", "receipt_invalid": "s0_receipt", "identity_mismatch": "s0_receipt",
        "upstream_not_pass": "s0_receipt", "inventory_missing": "sealed_inputs", "inventory_invalid": "sealed_inputs",
        "catalogue_malformed": "sealed_inputs", "policy_missing_or_ambiguous": "sealed_inputs",
        "policy_not_inventoried": "sealed_inputs", "input_not_inventoried": "sealed_inputs",
        "path_mismatch": "sealed_inputs", "artefact_absent": "sealed_inputs", "digest_mismatch": "sealed_inputs",
        "upstream_state_failed": "s0_receipt",
    },
    phases=("run_receipt", "s0_receipt", "sealed_inputs", "policy_load", "zone_universe", "domain_check",
            "alpha_derivation"),
    infrastructure="012",
    report_id="s2_run_report_3A",
    output_id="s2_country_zone_priors",
    output_schema="009",
    default_phase="alpha_derivation",
    count_keys=("countries_total", "zones_total", "floors_applied", "bumps_applied", "countries_multi_zone",
                "fraction_zones_with_floor_applied"),
    # 02 §7.4: an earlier state failed in the same invocation; S2 is gated on S0 only
    upstream_reason="missing_gate_receipt",
)

PRIOR_PACK_ID = "country_zone_alphas"
FLOOR_POLICY_ID = "zone_floor_policy"
READS = ("country_zone_alphas", "zone_floor_policy", "iso3166_canonical_2024", "world_countries", "tz_world_2025a",
         "tz_timetable_cache")
OPTIONAL_READS = ("tz_timetable_cache",)

ALPHA_TYPE = pa.struct([
    ("country_iso", pa.string()), ("tzid", pa.string()), ("alpha_raw", pa.float64()), ("list_position", pa.int32()),
])
FLOOR_TYPE = pa.struct([("tzid", pa.string()), ("floor_value", pa.float64()), ("bump_threshold", pa.float64())])
PRIOR_PACK_SCHEMA = pa.schema([
    ("prior_pack_id", pa.string()), ("prior_pack_version", pa.string()), ("prior_pack_digest", pa.string()),
    ("alphas", pa.list_(ALPHA_TYPE)),
])
FLOOR_POLICY_SCHEMA = pa.schema([
    ("floor_policy_id", pa.string()), ("floor_policy_version", pa.string()), ("floor_policy_digest", pa.string()),
    ("floors", pa.list_(FLOOR_TYPE)),
])


# --------------------------------------------------------------------------- YAML with string keys
class StringKeyLoader(yaml_io.SafeLoader):
    """Safe YAML whose mapping keys are the key text as written: YAML 1.1 would read an
    unquoted `NO:` (Norway) as false and `1:` as an int. A key repeated in one mapping is
    an error rather than last-one-wins (yaml_io's rule)."""


def _string_key_mapping(loader: StringKeyLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    yaml_io.check_unique_keys(loader, node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            key = key_node.value
        else:
            key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


StringKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _string_key_mapping)


def load_string_keys(data: bytes) -> Any:
    return yaml_io.load(data, StringKeyLoader)  # a safe loader: no arbitrary objects


# --------------------------------------------------------------------------- gate and loaders
def inputs_verified(session) -> pa.Table:
    """Entry gate of S2 (02 §7.1 steps 1-3)."""
    ctx = context_from_session(session, SPEC)
    return entry_gate(ctx, SPEC, READS, optional=OPTIONAL_READS).table()


def schema_failure(logical_id: str, schema_ref: str, message: str, issues: list[str], **extra: Any) -> StateFailure:
    return StateFailure(SPEC, "004", "policy_load", message, logical_id=logical_id, schema_ref=schema_ref,
                        violation_count=len(issues), issues=issues[:20], **extra)


def validated_document(logical_id: str, data: bytes, schema_ref: str, packs) -> dict:
    """Mapping, schema-valid, non-placeholder version (02 §7.1 step 4), else E3A_S2_004."""
    try:
        doc = load_string_keys(data)
    except yaml.YAMLError as exc:
        raise schema_failure(logical_id, schema_ref, f"{logical_id} is not valid YAML: {exc}", [str(exc)]) from exc
    if not isinstance(doc, dict):
        raise schema_failure(logical_id, schema_ref, f"{logical_id} is not a mapping", ["top level is not a mapping"])
    violations = [str(v) for v in packs.validate_json(schema_ref, doc)]
    if violations:
        raise schema_failure(logical_id, schema_ref, f"{logical_id} fails {schema_ref}: {violations[0]}", violations)
    if is_placeholder(doc.get("version")):
        raise schema_failure(logical_id, schema_ref, f"{logical_id} version {doc.get('version')!r} is a placeholder",
                             ["placeholder version"])
    return doc


def _load(session, gate_table: pa.Table, logical_id: str) -> tuple[dict, str]:
    ctx = context_from_session(session, SPEC)
    data = read_verified_bytes(ctx, SPEC, gate_table, logical_id, mismatch="006")
    schema_ref = ctx.catalogue.entry(logical_id)["schema_ref"]
    doc = validated_document(logical_id, data, schema_ref, schema_packs(str(ctx.catalogue.root)))
    return doc, gate_row(gate_table, logical_id)["sha256_hex"]


def prior_pack_table(session, gate_table: pa.Table) -> pa.Table:
    """The sealed prior pack as one row; `alphas` lists every (country, tzid, alpha) with
    its position in the country's list, duplicates included (the SQL side reports them
    after the country checks, as 02 §7.1 orders steps 5 and 6)."""
    doc, digest = _load(session, gate_table, PRIOR_PACK_ID)
    alphas = [
        {"country_iso": country, "tzid": item["tzid"], "alpha_raw": float(item["alpha"]), "list_position": i + 1}
        for country in sorted(doc["countries"])
        for i, item in enumerate(doc["countries"][country]["tzid_alphas"])
    ]
    row = {"prior_pack_id": PRIOR_PACK_ID, "prior_pack_version": str(doc["version"]), "prior_pack_digest": digest,
           "alphas": alphas}
    return pa.Table.from_pylist([row], schema=PRIOR_PACK_SCHEMA)


def floor_policy_table(session, gate_table: pa.Table) -> pa.Table:
    """The sealed floor policy as one row; a tzid listed twice is E3A_S2_004 (02 §5)."""
    doc, digest = _load(session, gate_table, FLOOR_POLICY_ID)
    seen: set[str] = set()
    for item in doc["floors"]:
        if item["tzid"] in seen:
            schema_ref = "schemas.3A.yaml#/policy/zone_floor_policy_v1"
            raise schema_failure(FLOOR_POLICY_ID, schema_ref, f"tzid {item['tzid']} has more than one floor",
                                 [f"duplicate tzid {item['tzid']}"], tzid=item["tzid"])
        seen.add(item["tzid"])
    floors = [{"tzid": f["tzid"], "floor_value": float(f["floor_value"]), "bump_threshold": float(f["bump_threshold"])}
              for f in sorted(doc["floors"], key=lambda f: f["tzid"])]
    row = {"floor_policy_id": FLOOR_POLICY_ID, "floor_policy_version": str(doc["version"]),
           "floor_policy_digest": digest, "floors": floors}
    return pa.Table.from_pylist([row], schema=FLOOR_POLICY_SCHEMA)


# --------------------------------------------------------------------------- run report
def report_blocks(priors: pa.Table, gate_table: pa.Table) -> tuple[dict, dict]:
    """The §7.5 counters and blocks from the published rows."""
    zones_total = priors.num_rows
    per_country = priors.group_by("country_iso").aggregate([("tzid", "count")])
    zone_counts = per_country["tzid_count"]
    floors_applied = int(pc.sum(priors["floor_applied"].cast(pa.int64())).as_py() or 0)
    counts = {
        "countries_total": per_country.num_rows,
        "zones_total": zones_total,
        "floors_applied": floors_applied,
        "bumps_applied": int(pc.sum(priors["bump_applied"].cast(pa.int64())).as_py() or 0),
        "countries_multi_zone": int(pc.sum(pc.greater_equal(zone_counts, 2).cast(pa.int64())).as_py() or 0),
        "fraction_zones_with_floor_applied": floors_applied / zones_total if zones_total else 0.0,
    }
    buckets = pc.value_counts(zone_counts).to_pylist()
    first = priors.slice(0, 1).to_pylist()[0] if zones_total else {}
    cache = [r for r in gate_table.to_pylist() if r["logical_id"] == "tz_timetable_cache"]
    blocks = {
        "policy": {
            "prior_pack_id": first.get("prior_pack_id", PRIOR_PACK_ID),
            "prior_pack_version": first.get("prior_pack_version"),
            "floor_policy_id": first.get("floor_policy_id", FLOOR_POLICY_ID),
            "floor_policy_version": first.get("floor_policy_version"),
        },
        "zone_count_buckets": {str(b["values"]): int(b["counts"]) for b in sorted(buckets, key=lambda b: b["values"])},
        "tz_cache_release_tag": (cache[0]["release_tag"] or "") if cache else "",
    }
    return counts, blocks


def run_report(session, priors: pa.Table, gate_table: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    counts, blocks = report_blocks(priors, gate_table)
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks)
    return pa.Table.from_pylist([{"status": "PASS", **counts}])
