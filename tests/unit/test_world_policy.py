"""The committed 2B `day_effect_policy_v1` (05 §9): produced by code, canonical JSON,
embedded digest law, schema-valid, authoring floors."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from seg3a.core.catalogue import Catalogue
from seg3a.core.paths import project_root
from seg3a.core.schemas import SchemaPacks
from seg3a.world import day_effect

REQUIRED_FIELDS = {"gamma", "log_gamma", "sigma_gamma", "rng_stream_id", "rng_counter_lo", "rng_counter_hi", "created_utc"}


def committed() -> tuple[Path, bytes]:
    path = project_root() / Catalogue().render("day_effect_policy_v1", {})
    return path, path.read_bytes()


def test_committed_file_is_reproduced_by_code():
    _, data = committed()
    assert data == json.dumps(day_effect.policy_document(), sort_keys=True, separators=(",", ":")).encode("ascii")
    assert not data.endswith(b"\n")


def test_embedded_digest_follows_the_law():
    _, data = committed()
    policy = json.loads(data)
    body = {k: v for k, v in policy.items() if k != "sha256_hex"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    assert policy["sha256_hex"] == expected
    assert hashlib.sha256(data).hexdigest() != expected  # 3A hashes the raw bytes, which differ


def test_policy_validates_against_its_anchor():
    catalogue = Catalogue()
    packs = SchemaPacks.load(catalogue.root)
    _, data = committed()
    assert packs.validate_json(catalogue.entry("day_effect_policy_v1")["schema_ref"], json.loads(data)) == []


def test_values_and_authoring_floors():
    policy = json.loads(committed()[1])
    assert policy["policy_id"] == "day_effect_policy_v1" and policy["policy_version"] == "1.0.0"
    assert policy["rng_engine"] == "philox2x64-10" and policy["draws_per_row"] == 1
    assert policy["rng_stream_id"].startswith("2B.")
    start = dt.date.fromisoformat(policy["day_range"]["start_day"])
    end = dt.date.fromisoformat(policy["day_range"]["end_day"])
    assert 365 <= (end - start).days + 1 <= 1826
    assert 0.08 <= policy["sigma_gamma"] <= 1.2
    assert REQUIRED_FIELDS <= set(policy["record_fields"])
    derivation = policy["rng_derivation"]
    assert derivation["key_basis"] == derivation["base_counter_basis"] == [
        "manifest_fingerprint_bytes", "seed_u64", "rng_stream_id"]
    v2 = policy["sigma_gamma_policy_v2"]
    assert "default" in v2["sigma_base_by_segment"] and v2["sigma_min"] < policy["sigma_gamma"] < v2["sigma_max"]


def test_write_policy_is_idempotent_and_verifies(tmp_path):
    (tmp_path / "config").mkdir()
    first = day_effect.write_policy(tmp_path)
    data = first.read_bytes()
    assert day_effect.write_policy(tmp_path).read_bytes() == data
    assert data == committed()[1]
    tampered = json.loads(data)
    tampered["sigma_gamma"] = 0.5
    first.write_bytes(json.dumps(tampered).encode())
    try:
        day_effect.verify_file(first)
    except ValueError as exc:
        assert "sha256_hex" in str(exc)
    else:
        raise AssertionError("a tampered policy must fail verification")
