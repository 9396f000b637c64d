"""S0 end to end: idempotent reruns, byte-identical outputs for identical worlds, and the
gate as the first step of a real `dbt build` (a failed gate stops the build)."""
from __future__ import annotations

import json

from seg3a.core.digests import sha256_file
from seg3a.world import corrupt as corruption
from seg3a.core.paths import default_external_root
from seg3a.world.generate import generate_world
from tests.conftest import context_of, copy_run
from tests.e2e.dbt_runner import run_dbt
from seg3a.states.s0_gate import run_s0

S0_OUTPUTS = ("sealed_inputs_3A", "s0_gate_receipt_3A")


def output_digests(run_root):
    ctx = context_of(run_root)
    return {dataset_id: sha256_file(ctx.path(dataset_id)) for dataset_id in S0_OUTPUTS}


def test_rerun_is_an_idempotent_no_op(world_copy):
    first = run_s0(context_of(world_copy))
    digests = output_digests(world_copy)
    second = run_s0(context_of(world_copy))
    assert all(first.published.values()) and not any(second.published.values())
    assert output_digests(world_copy) == digests


def test_identical_worlds_give_identical_s0_bytes(tmp_path, small_world):
    twin = generate_world(42, 300, tmp_path / "twin", default_external_root(), progress=lambda _line: None)
    assert twin != small_world and twin.name == small_world.name
    left, right = copy_run(small_world, tmp_path / "a"), copy_run(twin, tmp_path / "b")
    run_s0(context_of(left))
    run_s0(context_of(right))
    assert output_digests(left) == output_digests(right)


def test_inventory_lists_every_input_in_spec_order(world_copy):
    outcome = run_s0(context_of(world_copy))
    assert [(r["owner_segment"], r["artefact_kind"], r["logical_id"]) for r in outcome.rows] == [
        ("1A", "bundle", "validation_bundle_1A"), ("1A", "dataset", "outlet_catalogue"),
        ("1A", "manifest", "validation_passed_flag_1A"), ("1B", "bundle", "validation_bundle_1B"),
        ("1B", "manifest", "validation_passed_flag_1B"), ("2A", "bundle", "validation_bundle_2A"),
        ("2A", "dataset", "s4_legality_report"), ("2A", "dataset", "site_timezones"),
        ("2A", "dataset", "tz_timetable_cache"), ("2A", "manifest", "validation_passed_flag_2A"),
        ("2B", "policy", "day_effect_policy_v1"), ("3A", "policy", "country_zone_alphas"),
        ("3A", "policy", "zone_floor_policy"), ("3A", "policy", "zone_mixture_policy"),
        ("ingress", "dataset", "iso3166_canonical_2024"), ("ingress", "dataset", "tz_world_2025a"),
        ("ingress", "dataset", "world_countries"),
    ]
    notes = {r["logical_id"]: r.get("notes") for r in outcome.rows if r["owner_segment"] == "ingress"}
    assert notes["tz_world_2025a"] == "release=2026c"
    receipt = json.loads(context_of(world_copy).path("s0_gate_receipt_3A").read_bytes())
    assert receipt["verified_at_utc"] == context_of(world_copy).receipt.created_utc
    assert [p["logical_id"] for p in receipt["sealed_policy_set"]] == [
        "zone_mixture_policy", "country_zone_alphas", "zone_floor_policy", "day_effect_policy_v1"]


def test_dbt_build_runs_the_gate_first(world_copy, tmp_path):
    result = run_dbt(["build", "--select", "s0_gate_receipt_3A", "sealed_inputs_3A"],
                     world_copy.parent, tmp_path / "seg3a.duckdb")
    assert result.ok, result.output[-3000:]
    assert set(output_digests(world_copy)) == set(S0_OUTPUTS)


def test_dbt_build_stops_on_a_failed_gate(world_copy, tmp_path):
    fixture = corruption.parse("flipped_byte:1B")
    corruption.apply(fixture, context_of(world_copy).path("validation_bundle_1B"))
    result = run_dbt(["build", "--select", "s0_gate_receipt_3A+"], world_copy.parent, tmp_path / "seg3a.duckdb")
    assert not result.ok
    assert "E3A_S0_001_UPSTREAM_GATE_FAILED" in result.output
    assert "sealed_inputs_3A" in result.output and "SKIP" in result.output
