"""Validation bundles, flags and the run receipt of a generated world (05 §5, 01 §1.6, §3)."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from seg3a.core.hashgate import verify_bundle
from seg3a.core.schemas import SchemaPacks
from seg3a.world.testing import WorldView, shared_world

ARRAY_MEMBERS = [
    "MANIFEST.json", "egress_checksums.json", "index.json", "manifest_fingerprint_resolved.json",
    "parameter_hash_resolved.json", "rng_accounting.json", "s9_summary.json",
]
INDEX_ANCHORS = {
    "1A": "schemas.1A.yaml#/validation/validation_bundle_index_1A",
    "1B": "schemas.1B.yaml#/validation/validation_bundle_index_1B",
    "2A": "schemas.2A.yaml#/validation/validation_bundle_index_2A",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> WorldView:
    return WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))


def load(world: WorldView, segment: str, name: str):
    return json.loads((world.path(f"validation_bundle_{segment}") / name).read_bytes())


def composite(root, paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.encode()):
        digest.update((root / path).read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("segment", ["1A", "1B", "2A"])
def test_bundle_passes_the_gate_and_flag_is_canonical(world, segment):
    root = world.path(f"validation_bundle_{segment}")
    flag = world.path(f"validation_passed_flag_{segment}")
    digest = verify_bundle(segment, root, flag)
    assert flag.read_bytes() == f"sha256_hex = {digest}\n".encode("ascii")
    assert len(flag.read_bytes()) == 78


@pytest.mark.parametrize("segment", ["1A", "1B", "2A"])
def test_members_are_canonical_json(world, segment):
    root = world.path(f"validation_bundle_{segment}")
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "_passed.flag"):
        data = path.read_bytes()
        assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode("ascii"), path.name


@pytest.mark.parametrize("segment", ["1A", "1B", "2A"])
def test_index_validates_against_its_anchor(world, segment):
    packs = SchemaPacks.load(world.catalogue.root)
    assert packs.validate_json(INDEX_ANCHORS[segment], load(world, segment, "index.json")) == []


@pytest.mark.parametrize("segment", ["1A", "1B"])
def test_array_index_lists_the_seven_members_sorted(world, segment):
    rows = load(world, segment, "index.json")
    assert [r["path"] for r in rows] == ARRAY_MEMBERS
    assert all(r["mime"] == "application/json" and r["notes"] is None for r in rows)
    assert {r["artifact_id"] for r in rows} >= {"index", "MANIFEST", "s9_summary"}
    # 1A/1B: the flag is the composite over the seven files, index.json included
    root = world.path(f"validation_bundle_{segment}")
    assert world.path(f"validation_passed_flag_{segment}").read_text().split()[-1] == composite(root, ARRAY_MEMBERS)


def test_1a_members_carry_the_minimum_keys(world):
    receipt = world.receipt
    manifest = load(world, "1A", "MANIFEST.json")
    assert manifest["version"] == "1A.validation.v1" and manifest["artifact_count"] == 7
    assert re.fullmatch(r"[a-f0-9]{40}|[a-f0-9]{64}", manifest["git_commit_hex"])
    assert manifest["compiler_flags"] == {"fma": False, "ftz": False, "rounding": "RNE", "fast_math": False, "blas": "none"}
    assert manifest["created_utc_ns"] == 1_767_225_600_000_000_000
    assert manifest["manifest_fingerprint"] == receipt.manifest_fingerprint
    assert manifest["parameter_hash"] == receipt.parameter_hash
    summary = load(world, "1A", "s9_summary.json")
    assert summary["run"] == {"seed": receipt.seed, "parameter_hash": receipt.parameter_hash,
                              "manifest_fingerprint": receipt.manifest_fingerprint, "decision": "PASS"}
    assert summary["merchants_failed"] == 0 and summary["failures_by_code"] == {}
    assert summary["counts_source"] in ("s3_integerised_counts", "residual_rank")
    assert summary["membership_source"] in ("s6_membership", "gumbel_key")
    expected_checks = {"schema_pk_fk", "path_embed_equality", "rng_envelope", "rng_trace_coverage",
                       "egress_writer_sort", *(f"s{k}_replay" for k in range(1, 9))}
    assert set(summary["checks"]) == expected_checks and all(summary["checks"].values())
    rng = load(world, "1A", "rng_accounting.json")
    assert rng["runs"] == [{"seed": receipt.seed, "parameter_hash": receipt.parameter_hash, "run_id": receipt.run_id}]
    for family in rng["families"].values():
        assert isinstance(family["draws_total_u128_dec"], str) and int(family["draws_total_u128_dec"]) > 0
        assert family["blocks_total_u64"] == -(-int(family["draws_total_u128_dec"]) // 4)
    params = load(world, "1A", "parameter_hash_resolved.json")
    assert params["filenames_sorted"] == sorted([
        "country_zone_alphas.yaml", "day_effect_policy_v1.json", "zone_floor_policy.yaml", "zone_mixture_policy.yaml"])
    resolved = load(world, "1A", "manifest_fingerprint_resolved.json")
    assert resolved["artifact_count"] == len(resolved["files"]) > 10


def test_1a_counts_agree_with_the_catalogue(world):
    import duckdb

    merchants, rows = duckdb.connect().execute(
        f"SELECT count(DISTINCT merchant_id), count(*) FROM read_parquet('{world.path('outlet_catalogue')}/*.parquet')"
    ).fetchone()
    summary = load(world, "1A", "s9_summary.json")
    assert summary["merchants_total"] == merchants
    sizes = load(world, "1B", "s9_summary.json")["sizes"]
    assert sizes == {"rows_s7": rows, "rows_s8": rows, "parity_ok": True}
    by_country = load(world, "1B", "s9_summary.json")["by_country"]
    assert sum(v["rows_s7"] for v in by_country.values()) == rows


def test_egress_checksums_match_the_outlet_partition(world):
    doc = load(world, "1A", "egress_checksums.json")
    partition = world.path("outlet_catalogue")
    on_disk = sorted(p.name for p in partition.iterdir())
    assert doc["dataset_id"] == "outlet_catalogue" and doc["seed"] == world.receipt.seed
    assert [f["path"] for f in doc["files"]] == on_disk
    for entry in doc["files"]:
        data = (partition / entry["path"]).read_bytes()
        assert entry["sha256_hex"] == hashlib.sha256(data).hexdigest() and entry["size_bytes"] == len(data)
    assert doc["composite_sha256_hex"] == composite(partition, on_disk)


def test_1b_without_site_locations(world):
    doc = load(world, "1B", "egress_checksums.json")
    assert doc["dataset_id"] == "site_locations" and doc["files"] == []
    assert doc["composite_sha256_hex"] == hashlib.sha256(b"").hexdigest()
    manifest = load(world, "1B", "MANIFEST.json")
    assert manifest["version"] == "1B.validation.v1" and manifest["run_id"] == world.receipt.run_id
    assert set(manifest["inputs"]) == {"s7_site_synthesis", "site_locations"}
    families = load(world, "1B", "rng_accounting.json")["families"]
    assert [f["id"] for f in families] == ["site_tile_assign", "in_cell_jitter"]
    assert families[1]["budget_per_event"] == {"blocks": 1, "draws": "2"}


def test_2a_index_and_evidence(world):
    root = world.path("validation_bundle_2A")
    index = load(world, "2A", "index.json")
    paths = [f["path"] for f in index["files"]]
    seed = world.receipt.seed
    assert paths == ["checks.json", "evidence/s3/tz_timetable_cache.manifest.json",
                     f"evidence/s4/seed={seed}/s4_legality_report.json", "metrics.json"]
    for entry in index["files"]:
        assert entry["sha256_hex"] == hashlib.sha256((root / entry["path"]).read_bytes()).hexdigest()
    cache_manifest = world.path("tz_timetable_cache") / "tz_timetable_cache.json"
    assert (root / paths[1]).read_bytes() == cache_manifest.read_bytes()
    assert (root / paths[2]).read_bytes() == world.path("s4_legality_report").read_bytes()
    checks = load(world, "2A", "checks.json")
    assert checks["overall_status"] == "PASS"
    assert [d["id"] for d in checks["datasets"]] == ["s0_gate_receipt_2A", "tz_timetable_cache", "s4_legality_report"]
    # 2A: index.json is not part of the composite
    assert world.path("validation_passed_flag_2A").read_text().split()[-1] == composite(root, paths)


def test_every_bundle_carries_the_same_fingerprint(world):
    fp = world.receipt.manifest_fingerprint
    assert load(world, "1A", "MANIFEST.json")["manifest_fingerprint"] == fp
    assert load(world, "1B", "MANIFEST.json")["manifest_fingerprint"] == fp
    assert load(world, "2A", "checks.json")["manifest_fingerprint"] == fp


def test_run_receipt(world):
    path = world.run_root / "run_receipt.json"
    data = json.loads(path.read_bytes())
    assert path.read_bytes() == json.dumps(data, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert data["run_id"] == world.run_root.name and re.fullmatch(r"[a-f0-9]{32}", data["run_id"])
    assert data["created_utc"] == "2026-01-01T00:00:00.000000Z"
    assert data["contracts_root"] == "contracts" and data["external_roots"] == ["."]
    assert set(data) == {"run_id", "seed", "parameter_hash", "manifest_fingerprint", "contracts_layout",
                         "contracts_root", "runs_root", "external_roots", "created_utc"}
