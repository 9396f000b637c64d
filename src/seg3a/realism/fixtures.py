"""Small synthetic runs for exercising the scorer end to end without S1..S5: a run
root with a receipt and the five datasets at their dictionary paths, with the
contract's columns and a plausible shape (escalation ladder, Dirichlet shares,
largest-remainder counts). Not a model of the states: only the shape the scorer
reads. Used by the tests and for trying the commands on a fresh checkout.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from seg3a.core.catalogue import Catalogue, Tokens, resolve_physical
from seg3a.core.identity import RECEIPT_NAME

# country -> (tzid, prior weight); roughly population-shaped.
COUNTRIES: dict[str, list[tuple[str, float]]] = {
    "US": [("America/Chicago", 0.26), ("America/Denver", 0.05), ("America/Los_Angeles", 0.19), ("America/New_York", 0.50)],
    "CA": [("America/Edmonton", 0.15), ("America/Toronto", 0.62), ("America/Vancouver", 0.23)],
    "BR": [("America/Fortaleza", 0.22), ("America/Manaus", 0.06), ("America/Sao_Paulo", 0.72)],
    "AU": [("Australia/Brisbane", 0.22), ("Australia/Melbourne", 0.30), ("Australia/Perth", 0.12), ("Australia/Sydney", 0.36)],
    "MX": [("America/Mexico_City", 0.80), ("America/Tijuana", 0.20)],
    "ES": [("Atlantic/Canary", 0.05), ("Europe/Madrid", 0.95)],
    "FR": [("Europe/Paris", 1.0)],
    "DE": [("Europe/Berlin", 1.0)],
    "GB": [("Europe/London", 1.0)],
}
CONCENTRATION = 6.0


def _tokens(seed: int, parameter_hash: str) -> Tokens:
    digest = hashlib.sha256(f"realism-fixture|{seed}|{parameter_hash}".encode()).hexdigest()
    return Tokens(seed, parameter_hash, digest, digest[:32])


def _write(run_root: Path, dataset_id: str, tokens: Tokens, table: pa.Table) -> None:
    directory = resolve_physical(Catalogue().render(dataset_id, tokens), run_root, [])
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, directory / "part-00000.parquet", compression="zstd")


def _pairs(rng: np.random.Generator, merchants: int) -> dict[str, np.ndarray]:
    names = np.array(sorted(COUNTRIES))
    per_merchant = rng.integers(1, 4, size=merchants)
    merchant = np.repeat(np.arange(1, merchants + 1, dtype=np.uint64), per_merchant)
    country = np.concatenate([rng.choice(names, size=k, replace=False) for k in per_merchant])
    sites = np.minimum(rng.geometric(0.08, size=merchant.size), 400).astype(np.uint32)
    zones = np.array([len(COUNTRIES[c]) for c in country], dtype=np.uint32)
    u = rng.random(merchant.size)
    forced = (zones >= 4) | (sites >= 35)
    escalated = (zones > 1) & (sites >= 3) & (forced | (u < 0.35))
    return {"merchant_id": merchant, "legal_country_iso": country, "site_count": sites,
            "zone_count_country": zones, "is_escalated": escalated}


def _largest_remainder(n: int, shares: np.ndarray, tzids: list[str]) -> np.ndarray:
    target = n * shares
    base = np.floor(target).astype(np.int64)
    rest = target - base
    order = sorted(range(len(tzids)), key=lambda i: (-rest[i], tzids[i]))
    base[order[: n - int(base.sum())]] += 1
    return base


def _allocation(rng: np.random.Generator, pairs: dict[str, np.ndarray]) -> dict[str, list]:
    rows: dict[str, list] = {k: [] for k in ("merchant_id", "legal_country_iso", "tzid", "share_drawn", "count", "site_count")}
    escalated = np.flatnonzero(pairs["is_escalated"])
    for i in escalated:  # fixture construction only: a few hundred pairs
        country = str(pairs["legal_country_iso"][i])
        tzids = [z for z, _ in COUNTRIES[country]]
        alpha = np.array([w for _, w in COUNTRIES[country]]) * CONCENTRATION
        shares = rng.dirichlet(alpha)
        counts = _largest_remainder(int(pairs["site_count"][i]), shares, tzids)
        rows["merchant_id"] += [int(pairs["merchant_id"][i])] * len(tzids)
        rows["legal_country_iso"] += [country] * len(tzids)
        rows["tzid"] += tzids
        rows["share_drawn"] += shares.tolist()
        rows["count"] += counts.tolist()
        rows["site_count"] += [int(pairs["site_count"][i])] * len(tzids)
    return rows


def _priors(parameter_hash: str) -> pa.Table:
    rows = [(c, z, w) for c in sorted(COUNTRIES) for z, w in COUNTRIES[c]]
    return pa.table({
        "parameter_hash": [parameter_hash] * len(rows),
        "country_iso": [r[0] for r in rows],
        "tzid": [r[1] for r in rows],
        "share_effective": pa.array([r[2] for r in rows], pa.float64()),
    })


def write_synthetic_run(runs_root: Path, seed: int, merchants: int = 300, parameter_hash: str = "a" * 64) -> Path:
    """Write a synthetic run for `seed` under `runs_root`; returns the run root."""
    tokens = _tokens(seed, parameter_hash)
    run_root = Path(runs_root) / tokens.run_id
    run_root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pairs = _pairs(rng, merchants)
    alloc = _allocation(rng, pairs)
    n = len(alloc["tzid"])
    ident = {"seed": pa.array([seed] * n, pa.uint64()), "manifest_fingerprint": [tokens.manifest_fingerprint] * n}
    keys = {"merchant_id": pa.array(alloc["merchant_id"], pa.uint64()), "legal_country_iso": alloc["legal_country_iso"],
            "tzid": alloc["tzid"]}
    counts = {"zone_site_count": pa.array(alloc["count"], pa.int64()), "zone_site_count_sum": pa.array(alloc["site_count"], pa.int64())}
    _write(run_root, "s1_escalation_queue", tokens, pa.table({
        "seed": pa.array([seed] * pairs["merchant_id"].size, pa.uint64()),
        "manifest_fingerprint": [tokens.manifest_fingerprint] * pairs["merchant_id"].size, **pairs}))
    _write(run_root, "s2_country_zone_priors", tokens, _priors(tokens.parameter_hash))
    _write(run_root, "s3_zone_shares", tokens, pa.table({**ident, **keys, "share_drawn": pa.array(alloc["share_drawn"], pa.float64()),
                                                         "alpha_sum_country": pa.array([CONCENTRATION] * n, pa.float64())}))
    _write(run_root, "s4_zone_counts", tokens, pa.table({**ident, **keys, **counts}))
    _write(run_root, "zone_alloc", tokens, pa.table({**ident, **keys, **counts,
                                                     "site_count": pa.array(alloc["site_count"], pa.uint32())}))
    receipt = {"run_id": tokens.run_id, "seed": seed, "parameter_hash": tokens.parameter_hash,
               "manifest_fingerprint": tokens.manifest_fingerprint, "created_utc": "2026-01-01T00:00:00.000000Z",
               "contracts_layout": "seg3a-contracts-v1", "contracts_root": "contracts", "runs_root": str(runs_root),
               "external_roots": ["."]}
    (run_root / RECEIPT_NAME).write_text(json.dumps(receipt, sort_keys=True), encoding="utf-8")
    return run_root
