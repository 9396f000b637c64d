"""S1 and S2 end to end on the small generated world, through real `dbt build` runs:
outputs valid against their schema anchors and path tokens, decisions and priors equal to
an independent re-derivation written here, run reports with the spec's counters, an
idempotent byte-identical rerun, and identical bytes whatever the thread count."""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from python_udfs.csum import csum
from seg3a.core.schemas import SchemaPacks
from seg3a.policies.build import POLICY_VERSIONS
from seg3a.states.s2_priors import load_string_keys
from tests.e2e.conftest import PROJECT_ROOT

OUTPUTS = ("s1_escalation_queue", "s2_country_zone_priors")
ANCHORS = {
    "s1_escalation_queue": "schemas.3A.yaml#/plan/s1_escalation_queue",
    "s2_country_zone_priors": "schemas.3A.yaml#/plan/s2_country_zone_priors",
}


def part(project, dataset_id):
    return project.path(dataset_id) / "part-00000.parquet"


def part_digests(project) -> dict[str, str]:
    return {d: hashlib.sha256(part(project, d).read_bytes()).hexdigest() for d in OUTPUTS}


def hash_uniform(label: str, merchant_id: int, country: str, parameter_hash: str) -> float:
    """02 §2, written out independently of python_udfs.hashing."""
    digest = hashlib.sha256(f"{label}|{merchant_id}|{country}|{parameter_hash}".encode()).digest()
    return (float(int.from_bytes(digest[:8], "big")) + 0.5) / 18446744073709551616.0


def smoothing(policy: dict, k: int, n: int) -> float:
    band = policy.get("s1_smoothing") or {"enabled": False}
    if not band["enabled"] or k < band["zone_count_min"]:
        return 0.0
    pos = float(min(k, band["zone_count_max"]) - band["zone_count_min"]) / float(
        max(band["zone_count_max"] - band["zone_count_min"], 1))
    zone_prob = band["zone_escalation_prob_min"] + pos * (band["zone_escalation_prob_max"] - band["zone_escalation_prob_min"])
    site_term = min(float(max(n - 1, 0)) * band["site_count_slope"], band["site_count_cap"])
    return min(1.0, max(0.0, zone_prob + site_term))


def decide(policy: dict, merchant_id: int, country: str, n: int, k: int, parameter_hash: str) -> tuple[str, str | None]:
    """02 §6.1 step 8 for one pair."""
    holds = {
        "site_count_lt": lambda t: n < t, "zone_count_country_le": lambda t: k <= t,
        "site_count_ge": lambda t: n >= t, "zone_count_country_ge": lambda t: k >= t,
    }
    rule = next((r for r in policy["rules"] if holds[r["metric"]](float(r["threshold"]))), None)
    if rule is None:
        u = hash_uniform("3A.S1.theta_mix", merchant_id, country, parameter_hash)
        return ("default_escalation" if u < policy["theta_mix"] else "legacy_default"), None
    p = smoothing(policy, k, n)
    if rule["decision_reason"] == "below_min_sites" and p > 0:
        if hash_uniform("3A.S1.smooth_band", merchant_id, country, parameter_hash) < p:
            return "default_escalation", "s1_smooth_band"
    return rule["decision_reason"], rule.get("bucket")


def test_outputs_follow_their_anchors_and_path_tokens(built):
    packs = SchemaPacks.load(PROJECT_ROOT / "contracts")
    tokens = built.ctx.tokens
    for dataset_id in OUTPUTS:
        files = sorted(p.name for p in built.path(dataset_id).iterdir())
        assert files == ["part-00000.parquet"]
        assert packs.validate_table(ANCHORS[dataset_id], part(built, dataset_id)) == []
        metadata = pq.ParquetFile(part(built, dataset_id)).metadata
        assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {"ZSTD"}
    queue = pq.read_table(part(built, "s1_escalation_queue"))
    assert set(queue["seed"].to_pylist()) == {tokens.seed}
    assert set(queue["manifest_fingerprint"].to_pylist()) == {tokens.manifest_fingerprint}
    priors = pq.read_table(part(built, "s2_country_zone_priors"))
    assert set(priors["parameter_hash"].to_pylist()) == {tokens.parameter_hash}


def test_s1_rows_replay_from_the_1a_catalogue_and_the_policy(built):
    outlets = pq.read_table(built.path("outlet_catalogue"), columns=["merchant_id", "legal_country_iso"])
    expected_counts = Counter(zip(outlets["merchant_id"].to_pylist(), outlets["legal_country_iso"].to_pylist()))
    zone_counts = dict(built.sql("select country_iso, zone_count_country from main.zone_count_country"))
    policy = yaml.safe_load(built.path("zone_mixture_policy").read_bytes())
    parameter_hash = built.ctx.tokens.parameter_hash
    rows = pq.read_table(part(built, "s1_escalation_queue")).to_pylist()
    assert {(r["merchant_id"], r["legal_country_iso"]): r["site_count"] for r in rows} == dict(expected_counts)
    theta_digest = hashlib.sha256(built.path("zone_mixture_policy").read_bytes()).hexdigest()
    for row in rows:
        m, c = row["merchant_id"], row["legal_country_iso"]
        assert row["zone_count_country"] == zone_counts[c] >= 1
        reason, bucket = decide(policy, m, c, row["site_count"], row["zone_count_country"], parameter_hash)
        assert (row["decision_reason"], row["dominant_zone_share_bucket"]) == (reason, bucket), (m, c)
        assert row["is_escalated"] == (reason in ("forced_escalation", "default_escalation"))
        assert row["eligible_for_escalation"] == (reason != "forced_monolithic" and reason != "below_min_sites")
        assert (row["mixture_policy_id"], row["mixture_policy_version"], row["theta_digest"], row["notes"]) == (
            "zone_mixture_policy_3A", policy["version"], theta_digest, None)
    assert {r["decision_reason"] for r in rows} == {
        "forced_monolithic", "below_min_sites", "legacy_default", "forced_escalation", "default_escalation"}


def test_s2_rows_match_an_independent_derivation(built):
    pack = load_string_keys(built.path("country_zone_alphas").read_bytes())
    floors = {f["tzid"]: f for f in yaml.safe_load(built.path("zone_floor_policy").read_bytes())["floors"]}
    universe = defaultdict(set)
    for country, tzid in built.sql("select country_iso, tzid from main.zone_universe"):
        universe[country].add(tzid)
    rows = pq.read_table(part(built, "s2_country_zone_priors")).to_pylist()
    by_country = defaultdict(dict)
    for row in rows:
        by_country[row["country_iso"]][row["tzid"]] = row
    assert set(by_country) == set(pack["countries"]) and "NO" in by_country
    for country, zones in by_country.items():
        assert set(zones) == universe[country]
        raw = {a["tzid"]: float(a["alpha"]) for a in pack["countries"][country]["tzid_alphas"]}
        order = sorted(raw)
        raw_sum = csum(raw[z] for z in order)
        effective = {}
        for z in order:
            floor = floors.get(z, {"floor_value": 0.0, "bump_threshold": 1.0})
            share_raw = raw[z] / raw_sum if raw_sum else 0.0
            effective[z] = max(raw[z], floor["floor_value"] if share_raw >= floor["bump_threshold"] else 0.0)
        total = csum(effective[z] for z in order)
        assert abs(csum(effective[z] / total for z in order) - 1.0) <= 1e-12
        for z in order:
            row = zones[z]
            assert (row["alpha_raw"], row["alpha_effective"], row["alpha_sum_country"], row["share_effective"]) == (
                raw[z], effective[z], total, effective[z] / total)
            assert row["floor_applied"] == row["bump_applied"] == (effective[z] > raw[z])
            assert (row["prior_pack_id"], row["floor_policy_id"]) == ("country_zone_alphas", "zone_floor_policy")


def test_run_reports_carry_the_spec_counters(built):
    queue = pq.read_table(part(built, "s1_escalation_queue"))
    s1 = built.report("S1")
    escalated = int(pc.sum(queue["is_escalated"].cast("int64")).as_py())
    assert (s1["status"], s1["error_code"], s1["first_failure_phase"]) == ("PASS", None, None)
    assert s1["counts"]["pairs_total"] == queue.num_rows
    assert s1["counts"]["pairs_escalated"] == escalated
    assert s1["counts"]["pairs_monolithic"] == queue.num_rows - escalated
    assert s1["counts"]["countries_total"] == len(set(queue["legal_country_iso"].to_pylist()))
    assert s1["counts"]["escalation_rate"] == escalated / queue.num_rows
    assert s1["counts"]["pairs_smooth_band_escalated"] == queue["dominant_zone_share_bucket"].to_pylist().count("s1_smooth_band")
    assert s1["reason_counts"] == dict(Counter(queue["decision_reason"].to_pylist()))
    per_country = dict(zip(queue["legal_country_iso"].to_pylist(), queue["zone_count_country"].to_pylist()))
    assert s1["zone_count_buckets"] == {str(k): v for k, v in Counter(per_country.values()).items()}
    assert set(s1["policy"]) == {"mixture_policy_id", "mixture_policy_version", "theta_mix", "theta_digest", "s1_smoothing"}
    assert len(s1["policy"]["s1_smoothing"]) == 7
    assert s1["output"] == {"path": built.ctx.catalogue_path("s1_escalation_queue"), "format": "parquet"}
    assert s1["durations"]["wall_ms"] >= 0 and s1["started_at_utc"] <= s1["finished_at_utc"]

    priors = pq.read_table(part(built, "s2_country_zone_priors"))
    s2 = built.report("S2")
    zones_per_country = Counter(priors["country_iso"].to_pylist())
    assert (s2["status"], s2["error_code"]) == ("PASS", None)
    assert s2["counts"]["countries_total"] == len(zones_per_country)
    assert s2["counts"]["zones_total"] == priors.num_rows
    assert s2["counts"]["floors_applied"] == priors["floor_applied"].to_pylist().count(True)
    assert s2["counts"]["countries_multi_zone"] == sum(1 for v in zones_per_country.values() if v >= 2)
    assert s2["zone_count_buckets"] == {str(k): v for k, v in Counter(zones_per_country.values()).items()}
    assert s2["tz_cache_release_tag"] == "2026c"
    assert s2["policy"] == {"prior_pack_id": "country_zone_alphas", "prior_pack_version": POLICY_VERSIONS["country_zone_alphas"],
                            "floor_policy_id": "zone_floor_policy", "floor_policy_version": POLICY_VERSIONS["zone_floor_policy"]}
    for state in ("S1", "S2"):
        rows = built.state_rows(state)
        assert [(r["status"], r["error_code"]) for r in rows] == [("PASS", None)]


def test_rerun_is_an_idempotent_byte_identical_no_op(built):
    before = part_digests(built)
    result = built.build()
    assert result.ok, result.output[-4000:]
    assert part_digests(built) == before
    for state in ("S1", "S2"):
        assert [r["status"] for r in built.state_rows(state)] == ["PASS", "PASS"]
        assert built.report(state)["status"] == "PASS"


def test_single_thread_build_gives_identical_bytes(s1s2_session, fresh):
    snapshot_root = s1s2_session.snapshots / "built" / "runs" / fresh.run_root.name
    expected = {d: hashlib.sha256((snapshot_root / part(fresh, d).relative_to(fresh.run_root)).read_bytes()).hexdigest()
                for d in OUTPUTS}
    result = fresh.build(threads=1)
    assert result.ok, result.output[-4000:]
    assert part_digests(fresh) == expected


@pytest.mark.parametrize("dataset_id", OUTPUTS)
def test_contract_columns_agree_with_the_schema_pack(dataset_id):
    """One authority: the dbt contract lists the anchor's columns in the anchor's order."""
    model_yaml = PROJECT_ROOT / "models" / "segment3a" / (
        "s1_escalation" if dataset_id.startswith("s1") else "s2_priors") / f"{dataset_id}.yml"
    model = yaml.safe_load(model_yaml.read_bytes())["models"][0]
    packs = SchemaPacks.load(PROJECT_ROOT / "contracts")
    duck_types = {"uint64": "ubigint", "uint32": "uinteger", "string": "varchar", "bool": "boolean", "float64": "double"}
    anchor = packs.table_columns(ANCHORS[dataset_id])
    assert [(c["name"], c["data_type"]) for c in model["columns"]] == [(c["name"], duck_types[c["type"]]) for c in anchor]
    not_null = {c["name"] for c in model["columns"] if {"type": "not_null"} in c.get("constraints", [])}
    primary_key = set(model["constraints"][0]["columns"])
    assert not_null | primary_key == {c["name"] for c in anchor if not c.get("nullable", False)}
