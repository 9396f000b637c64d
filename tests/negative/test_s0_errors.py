"""Every E3A_S0 code provoked by one deliberately broken input (spec 01 §4.9), with the
run failing with that code, naming the artefact, appending a FAIL row, and leaving
earlier outputs untouched."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from seg3a.core.identity import RECEIPT_NAME
from seg3a.core.paths import contracts_root, default_external_root
from seg3a.states.s0_gate import S0Failure, resolve_context, run_s0
from seg3a.world import corrupt as corruption
from tests.conftest import context_of


# ----------------------------------------------------------------------------- helpers
def rewrite_receipt(run_root: Path, **changes) -> None:
    path = run_root / RECEIPT_NAME
    receipt = json.loads(path.read_bytes())
    receipt.update(changes)
    path.write_text(json.dumps(receipt, sort_keys=True, separators=(",", ":")))


def private_external_root(run_root: Path, tmp_path: Path) -> Path:
    """A copy of config/ with reference/ linked, made the run's only external root."""
    root = tmp_path / "external"
    shutil.copytree(default_external_root() / "config", root / "config")
    (root / "reference").symlink_to(default_external_root() / "reference")
    rewrite_receipt(run_root, external_roots=[str(root)])
    return root


def private_contracts(run_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(contracts_root(), root)
    rewrite_receipt(run_root, contracts_root=str(root))
    return root


def edit_yaml(path: Path, mutate) -> None:
    doc = yaml.safe_load(path.read_text())
    mutate(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def expect_failure(run_root: Path, code: str) -> S0Failure:
    with pytest.raises(S0Failure) as info:
        run_s0(context_of(run_root))
    assert info.value.code == code, f"got {info.value.code}: {info.value}"
    return info.value


def state_rows(run_root: Path) -> list[dict]:
    files = sorted((run_root / "reports").rglob("segment_state_runs.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]


def s0_outputs(run_root: Path) -> list[Path]:
    return sorted(p for p in (run_root / "data" / "layer1" / "3A").rglob("*") if p.is_file()) if (
        run_root / "data" / "layer1" / "3A").exists() else []


def bundle_root(run_root: Path, segment: str) -> Path:
    return context_of(run_root).path(f"validation_bundle_{segment}")


# ----------------------------------------------------------------------------- 001
@pytest.mark.parametrize(
    "spec, segment",
    [
        ("flipped_byte:1A", "1A"), ("missing_flag:1B", "1B"), ("uppercase_flag:2A", "2A"),
        ("unlisted_file:1B", "1B"), ("dotdot_path:1A", "1A"), ("wrong_2a_digest", "2A"),
        ("unsorted_2a_index", "2A"), ("flipped_byte:2A", "2A"),
    ],
)
def test_broken_upstream_bundle_fails_the_gate(world_copy, spec, segment):
    fixture = corruption.parse(spec)
    corruption.apply(fixture, bundle_root(world_copy, fixture.segment))
    failure = expect_failure(world_copy, "E3A_S0_001_UPSTREAM_GATE_FAILED")
    assert failure.context["upstream_segment"] == segment
    assert segment in str(failure)
    row = state_rows(world_copy)[-1]
    assert (row["state"], row["status"], row["error_code"]) == ("S0", "FAIL", failure.code)
    order = ["1A", "1B", "2A"]
    for seg in order:
        expected = "PASS" if order.index(seg) < order.index(segment) else (
            "FAIL" if seg == segment else "NOT_CHECKED")
        assert row[f"gate_{seg}_status"] == expected
    assert s0_outputs(world_copy) == []


def test_flag_with_wrong_digest_fails(world_copy):
    flag = context_of(world_copy).path("validation_passed_flag_1B")
    flag.write_bytes(b"sha256_hex = " + b"0" * 64 + b"\n")
    failure = expect_failure(world_copy, "E3A_S0_001_UPSTREAM_GATE_FAILED")
    assert failure.context["upstream_segment"] == "1B"


# ----------------------------------------------------------------------------- 002
def test_unparsable_schema_pack_is_a_catalogue_failure(world_copy, tmp_path):
    contracts = private_contracts(world_copy, tmp_path)
    (contracts / "schemas" / "schemas.2B.yaml").write_text("version: [unclosed\n")
    failure = expect_failure(world_copy, "E3A_S0_002_CATALOGUE_MALFORMED")
    assert failure.context["catalogue_id"] == "schemas.2B.yaml"


def test_cross_layer_path_mismatch_is_a_catalogue_failure(world_copy, tmp_path):
    contracts = private_contracts(world_copy, tmp_path)

    def move(doc):
        for entry in doc["datasets"]:
            if entry["id"] == "outlet_catalogue":
                entry["path"] = entry["path"].replace("outlet_catalogue/", "outlets/")

    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.1A.yaml", move)
    failure = expect_failure(world_copy, "E3A_S0_002_CATALOGUE_MALFORMED")
    assert failure.context == {"catalogue_id": "dictionary_1A", "dataset_id": "outlet_catalogue"}


# ----------------------------------------------------------------------------- 003 / 004
def test_placeholder_policy_version_is_refused(world_copy, tmp_path):
    external = private_external_root(world_copy, tmp_path)
    edit_yaml(external / "config/layer1/3A/allocation/zone_floor_policy.yaml", lambda d: d.update(version="TBD"))
    failure = expect_failure(world_copy, "E3A_S0_003_POLICY_SET_INCOMPLETE")
    assert failure.context["missing_roles"] == ["zone_floor_policy"]


def test_policy_version_must_match_registry_semver(world_copy, tmp_path):
    external = private_external_root(world_copy, tmp_path)
    edit_yaml(external / "config/layer1/3A/policy/zone_mixture_policy.yaml", lambda d: d.update(version="v2.0.0"))
    failure = expect_failure(world_copy, "E3A_S0_003_POLICY_SET_INCOMPLETE")
    assert failure.context["conflicting_ids"] == ["zone_mixture_policy"]


def test_missing_policy_file_is_refused(world_copy, tmp_path):
    external = private_external_root(world_copy, tmp_path)
    (external / "config/layer1/3A/allocation/country_zone_alphas.yaml").unlink()
    failure = expect_failure(world_copy, "E3A_S0_003_POLICY_SET_INCOMPLETE")
    assert failure.context["missing_roles"] == ["country_zone_alphas"]


def test_schema_invalid_policy(world_copy, tmp_path):
    external = private_external_root(world_copy, tmp_path)
    edit_yaml(external / "config/layer1/3A/policy/zone_mixture_policy.yaml", lambda d: d.update(theta_mix=2.0))
    failure = expect_failure(world_copy, "E3A_S0_004_POLICY_SCHEMA_INVALID")
    assert failure.context["logical_id"] == "zone_mixture_policy"
    assert failure.context["violation_count"] >= 1


def test_unparsable_policy(world_copy, tmp_path):
    external = private_external_root(world_copy, tmp_path)
    (external / "config/layer1/2B/policy/day_effect_policy_v1.json").write_text("{not json")
    failure = expect_failure(world_copy, "E3A_S0_004_POLICY_SCHEMA_INVALID")
    assert failure.context["logical_id"] == "day_effect_policy_v1"


# ----------------------------------------------------------------------------- 005
def test_missing_required_input(world_copy):
    shutil.rmtree(context_of(world_copy).path("outlet_catalogue"))
    failure = expect_failure(world_copy, "E3A_S0_005_SEALED_INPUT_RESOLUTION_FAILED")
    assert failure.context["unresolved_ids"] == ["outlet_catalogue"]


def test_empty_required_directory(world_copy):
    partition = context_of(world_copy).path("outlet_catalogue")
    shutil.rmtree(partition)
    partition.mkdir()
    failure = expect_failure(world_copy, "E3A_S0_005_SEALED_INPUT_RESOLUTION_FAILED")
    assert "outlet_catalogue" in str(failure)


def test_absent_optional_input_is_skipped(world_copy):
    shutil.rmtree(context_of(world_copy).path("site_timezones"))
    outcome = run_s0(context_of(world_copy))
    ids = [row["logical_id"] for row in outcome.rows]
    assert "site_timezones" not in ids and len(ids) == 16


# ----------------------------------------------------------------------------- 006 / 007 / 008
def test_registry_digest_mismatch(world_copy, tmp_path):
    contracts = private_contracts(world_copy, tmp_path)

    def pin(doc):
        for art in doc["subsegments"][0]["artifacts"]:
            if art["name"] == "world_countries":
                art["digest"] = "a" * 64

    edit_yaml(contracts / "registries" / "artefact_registry_1A.yaml", pin)
    failure = expect_failure(world_copy, "E3A_S0_006_SEALED_INPUT_DIGEST_MISMATCH")
    assert failure.context["logical_id"] == "world_countries"
    assert failure.context["expected_sha256_hex"] == "a" * 64


def test_inventory_row_failing_its_schema(world_copy, tmp_path):
    contracts = private_contracts(world_copy, tmp_path)

    def retype(doc):
        for art in doc["subsegments"][0]["artifacts"]:
            if art["name"] == "s4_legality_report":
                art["type"] = "log"  # not an artefact kind the inventory schema admits

    edit_yaml(contracts / "registries" / "artefact_registry_2A.yaml", retype)
    failure = expect_failure(world_copy, "E3A_S0_007_OUTPUT_SCHEMA_INVALID")
    assert failure.context["output_id"] == "sealed_inputs_3A"


def test_two_inputs_on_one_path_are_self_inconsistent(world_copy, tmp_path):
    contracts = private_contracts(world_copy, tmp_path)
    target = "data/layer1/2A/legality_report/seed={seed}/manifest_fingerprint={manifest_fingerprint}/s4_legality_report.json"

    def alias_dictionary(doc):
        for entry in doc["datasets" if "datasets" in doc else "inputs"]:
            if entry["id"] == "tz_timetable_cache":
                entry["path"] = target

    def alias_registry(doc):
        for art in doc["subsegments"][0]["artifacts"]:
            if art["name"] == "tz_timetable_cache":
                art["path"] = target

    edit_yaml(contracts / "dictionaries" / "dataset_dictionary.layer1.2A.yaml", alias_dictionary)
    doc3a = contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml"
    data = yaml.safe_load(doc3a.read_text())
    for entry in data["inputs"]:
        if entry["id"] == "tz_timetable_cache":
            entry["path"] = target
    doc3a.write_text(yaml.safe_dump(data, sort_keys=False))
    edit_yaml(contracts / "registries" / "artefact_registry_2A.yaml", alias_registry)
    failure = expect_failure(world_copy, "E3A_S0_008_OUTPUT_SELF_INCONSISTENT")
    assert failure.context["field_group"] == "sealed_inputs_3A"


# ----------------------------------------------------------------------------- 009 / 010
def test_existing_different_output_is_never_overwritten(world_copy):
    run_s0(context_of(world_copy))
    inventory = context_of(world_copy).path("sealed_inputs_3A")
    tampered = inventory.read_bytes().replace(b"Proprietary-Internal", b"Proprietary-External", 1)
    inventory.write_bytes(tampered)
    failure = expect_failure(world_copy, "E3A_S0_009_IMMUTABILITY_VIOLATION")
    assert failure.context == {"output_id": "sealed_inputs_3A", "difference_kind": "content"}
    assert inventory.read_bytes() == tampered


def test_input_changed_after_sealing_is_an_immutability_violation(world_copy, tmp_path):
    run_s0(context_of(world_copy))
    receipt_before = context_of(world_copy).path("s0_gate_receipt_3A").read_bytes()
    external = private_external_root(world_copy, tmp_path)
    policy = external / "config/layer1/3A/policy/zone_mixture_policy.yaml"
    policy.write_bytes(policy.read_bytes() + b"# edited after sealing\n")
    expect_failure(world_copy, "E3A_S0_009_IMMUTABILITY_VIOLATION")
    assert context_of(world_copy).path("s0_gate_receipt_3A").read_bytes() == receipt_before


def test_receipt_whose_run_id_differs_from_its_directory(world_copy):
    rewrite_receipt(world_copy, run_id="0" * 32)
    with pytest.raises(S0Failure) as info:
        resolve_context(world_copy.parent, world_copy.name)
    assert info.value.code == "E3A_S0_010_INFRASTRUCTURE_IO_ERROR"
    assert info.value.context["io_error_class"] == "run_receipt_invalid"


def test_no_deterministic_verified_at_source(world_copy):
    rewrite_receipt(world_copy, created_utc="yesterday")
    failure = expect_failure(world_copy, "E3A_S0_010_INFRASTRUCTURE_IO_ERROR")
    assert failure.context["io_error_class"] == "no_verified_at_source"
    assert s0_outputs(world_copy) == []
