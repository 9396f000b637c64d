"""The 2B `day_effect_policy_v1` (05 §9), sealed by 3A.

Written once as a committed file (`config/layer1/2B/policy/day_effect_policy_v1.json`)
by `write_policy`, so the file is reproducible from code:

    python -m seg3a.world.day_effect            # write (or confirm) the committed file

Values: daily log-normal demand shocks with sigma 0.12 over calendar year 2026 (365
days, within the authoring floors 365..1826 days and sigma 0.08..1.2); the v2 block
varies sigma by merchant segment and by tz group (Europe slightly noisier, Asia slightly
calmer), with a small per-merchant jitter and clipping of extreme gammas.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path

from seg3a.core.catalogue import Catalogue, resolve_physical
from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import sha256_bytes
from seg3a.core.paths import default_external_root

POLICY_ID = "day_effect_policy_v1"
POLICY_VERSION = "1.0.0"
_RNG_BASIS = ["manifest_fingerprint_bytes", "seed_u64", "rng_stream_id"]


def policy_body() -> dict:
    """Every field except the digest."""
    return {
        "policy_id": POLICY_ID,
        "version_tag": POLICY_VERSION,
        "policy_version": POLICY_VERSION,
        "rng_engine": "philox2x64-10",
        "rng_stream_id": "2B.day_effects.gamma",
        "draws_per_row": 1,
        "sigma_gamma": 0.12,
        "day_range": {"start_day": "2026-01-01", "end_day": "2026-12-31"},
        "rng_derivation": {
            "domain_master": "2B.S3.master",
            "domain_stream": "2B.S3.day_effects",
            "low64_rule": "LE64_tail_bytes_24_31",
            "counter_split_rule": "BE64_bytes_16_23_and_24_31",
            "key_basis": list(_RNG_BASIS),
            "base_counter_basis": list(_RNG_BASIS),
        },
        "record_fields": [
            "gamma", "log_gamma", "sigma_gamma", "rng_stream_id",
            "rng_counter_lo", "rng_counter_hi", "created_utc",
        ],
        "created_utc_policy_echo": True,
        "sigma_gamma_policy_v2": {
            "enabled": True,
            "sigma_base_by_segment": {
                "default": 0.12, "grocery": 0.08, "fuel": 0.09, "restaurants": 0.14,
                "apparel": 0.16, "travel": 0.22,
            },
            "sigma_multiplier_by_tz_group": {
                "default": 1.0,
                "prefix_rules": [
                    {"prefix": "Europe/", "multiplier": 1.02},
                    {"prefix": "America/", "multiplier": 1.04},
                    {"prefix": "Asia/", "multiplier": 0.97},
                ],
            },
            "sigma_jitter_by_merchant": {"enabled": True, "amplitude": 0.1, "seed_scope": "merchant_id"},
            "weekly_component_amp_by_segment": {
                "default": 0.08, "grocery": 0.12, "fuel": 0.05, "restaurants": 0.18,
                "apparel": 0.1, "travel": 0.06,
            },
            "sigma_min": 0.05,
            "sigma_max": 0.4,
            "gamma_clip": {"min": 0.25, "max": 4.0},
        },
    }


def policy_digest(policy: dict) -> str:
    """05 §9 digest law: SHA-256 of the canonical JSON of everything but sha256_hex."""
    return sha256_bytes(cj_bytes({k: v for k, v in policy.items() if k != "sha256_hex"}))


def policy_document() -> dict:
    body = policy_body()
    check_authoring_floors(body)
    return {**body, "sha256_hex": policy_digest(body)}


def check_authoring_floors(policy: dict) -> None:
    """The authoring guide's floors (05 §9), which the schema does not enforce."""
    start = dt.date.fromisoformat(policy["day_range"]["start_day"])
    end = dt.date.fromisoformat(policy["day_range"]["end_day"])
    days = (end - start).days + 1
    if not 365 <= days <= 1826:
        raise ValueError(f"day range covers {days} days; the floor is 365..1826")
    if not 0.08 <= policy["sigma_gamma"] <= 1.2:
        raise ValueError(f"sigma_gamma {policy['sigma_gamma']} outside 0.08..1.2")
    if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", policy["policy_version"]):
        raise ValueError("policy_version is not semver")


def policy_path(external_root: Path) -> Path:
    rel = Catalogue().render(POLICY_ID, {})
    return resolve_physical(rel, None, [Path(external_root)])


def verify_file(path: Path) -> dict:
    """Parse the file and re-check its embedded digest."""
    policy = json.loads(Path(path).read_bytes())
    if policy.get("sha256_hex") != policy_digest(policy):
        raise ValueError(f"{path}: embedded sha256_hex does not match the digest law")
    return policy


def write_policy(external_root: Path | None = None) -> Path:
    """Write the committed policy file (canonical JSON) and re-verify it after writing."""
    path = policy_path(external_root or default_external_root())
    data = cj_bytes(policy_document())
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    verify_file(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the 2B day_effect_policy_v1 file (canonical JSON).")
    parser.add_argument("--external-root", type=Path, default=None, help="root holding config/ (default: the project)")
    args = parser.parse_args(argv)
    print(write_policy(args.external_root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
