"""Validation bundles and `_passed.flag` of segments 1A, 1B and 2A (05 §5, 01 §3).

Member file names are fixed by the contract (they are bundle-internal names, not
dataset paths). Every member is canonical JSON; values are taken from the generated
world (row counts, egress checksums, RNG draw accounting, identity), so a bundle is a
truthful summary of what the generator produced.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import sha256_bytes
from seg3a.core.hashgate import composite_digest, empty_digest, write_flag

from .rng import Ledger

JSON_MIME = "application/json"
CHECK_NAMES = (
    "schema_pk_fk", "path_embed_equality", "rng_envelope", "rng_trace_coverage",
    *(f"s{k}_replay" for k in range(1, 9)), "egress_writer_sort",
)
# (file, artifact_id, kind) of the seven 1A/1B members, in hash order.
MEMBERS = (
    ("MANIFEST.json", "MANIFEST", "summary"),
    ("egress_checksums.json", "egress_checksums", "table"),
    ("index.json", "index", "table"),
    ("manifest_fingerprint_resolved.json", "manifest_fingerprint_resolved", "table"),
    ("parameter_hash_resolved.json", "parameter_hash_resolved", "table"),
    ("rng_accounting.json", "rng_accounting", "table"),
    ("s9_summary.json", "s9_summary", "summary"),
)
# 1B's own egress is not in the 3A catalogue (3A never reads it); its MANIFEST and
# checksums still name it, rendered from 1B's template.
SITE_LOCATIONS_TEMPLATE = "data/layer1/1B/site_locations/seed={seed}/manifest_fingerprint={manifest_fingerprint}/"


@dataclass(frozen=True)
class FileRecord:
    path: str
    sha256_hex: str
    size_bytes: int


@dataclass
class WorldFacts:
    """Everything the bundles state about one generated world."""

    seed: int
    parameter_hash: str
    manifest_fingerprint: str
    run_id: str
    created_utc: str
    created_utc_ns: int
    git_commit_hex: str
    profile: str
    paths: dict[str, str]  # dataset id -> rendered catalogue path
    outlet_files: list[FileRecord]
    outlet_composite: str
    merchants_total: int
    rows_total: int
    pairs_total: int
    rows_by_country: dict[str, int]
    ledger: Ledger
    opened_artefacts: list[FileRecord]
    parameter_names: list[str]
    sources: dict[str, str]
    tz_source: str = ""
    tz_metrics: dict = field(default_factory=dict)


def _write(root: Path, name: str, value) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cj_bytes(value))


def _array_index() -> list[dict]:
    return [
        {"artifact_id": artifact_id, "kind": kind, "path": name, "mime": JSON_MIME, "notes": None}
        for name, artifact_id, kind in MEMBERS
    ]


def _seal(root: Path, paths: list[str]) -> str:
    digest = composite_digest(root, paths)
    write_flag(root / "_passed.flag", digest)
    return digest


def _fingerprint_resolved(facts: WorldFacts, with_files: bool) -> dict:
    doc = {
        "manifest_fingerprint": facts.manifest_fingerprint,
        "artifact_count": len(facts.opened_artefacts),
        "git_commit_hex": facts.git_commit_hex,
        "parameter_hash": facts.parameter_hash,
    }
    if with_files:
        doc["files"] = [
            {"path": f.path, "sha256": f.sha256_hex, "size_bytes": f.size_bytes} for f in facts.opened_artefacts
        ]
    return doc


def _parameter_resolved(facts: WorldFacts) -> dict:
    # The optional per-file list carries mtime_ns, which differs between checkouts;
    # it is left out so that bundles are byte-identical across machines.
    return {
        "parameter_hash": facts.parameter_hash,
        "filenames_sorted": sorted(facts.parameter_names),
        "artifact_count": len(facts.parameter_names),
    }


def _families_1a(facts: WorldFacts) -> dict:
    families = {}
    for name, totals in sorted(facts.ledger.families.items()):
        if not name.startswith("1A."):
            continue
        summary = {
            "events_total": totals.events,
            "draws_total_u128_dec": str(totals.draws),
            "blocks_total_u64": totals.blocks,
        }
        families[name] = {
            **summary,
            "nonconsuming_events": 0,
            "trace_rows_total": totals.streams,
            "trace_totals": dict(summary),
            "audit_present": True,
            "coverage_ok": True,
        }
    return families


def write_bundle_1a(root: Path, facts: WorldFacts) -> str:
    root.mkdir(parents=True, exist_ok=True)
    _write(root, "MANIFEST.json", {
        "version": "1A.validation.v1",
        "manifest_fingerprint": facts.manifest_fingerprint,
        "parameter_hash": facts.parameter_hash,
        "git_commit_hex": facts.git_commit_hex,
        "artifact_count": len(MEMBERS),
        "math_profile_id": "ieee754-binary64-rne/numpy",
        "compiler_flags": {"fma": False, "ftz": False, "rounding": "RNE", "fast_math": False, "blas": "none"},
        "created_utc_ns": facts.created_utc_ns,
        "seed": facts.seed,
        "profile": facts.profile,
        "generator": "seg3a.world",
        "sources": facts.sources,
    })
    _write(root, "egress_checksums.json", {
        "dataset_id": "outlet_catalogue",
        "seed": facts.seed,
        "manifest_fingerprint": facts.manifest_fingerprint,
        "path": facts.paths["outlet_catalogue"],
        "files": [{"path": f.path, "sha256_hex": f.sha256_hex, "size_bytes": f.size_bytes} for f in facts.outlet_files],
        "composite_sha256_hex": facts.outlet_composite,
    })
    _write(root, "index.json", _array_index())
    _write(root, "manifest_fingerprint_resolved.json", _fingerprint_resolved(facts, with_files=True))
    _write(root, "parameter_hash_resolved.json", _parameter_resolved(facts))
    _write(root, "rng_accounting.json", {
        "runs": [{"seed": facts.seed, "parameter_hash": facts.parameter_hash, "run_id": facts.run_id}],
        "families": _families_1a(facts),
    })
    _write(root, "s9_summary.json", {
        "run": {
            "seed": facts.seed, "parameter_hash": facts.parameter_hash,
            "manifest_fingerprint": facts.manifest_fingerprint, "decision": "PASS",
        },
        "merchants_total": facts.merchants_total,
        "merchants_failed": 0,
        "failures_by_code": {},
        "counts_source": "residual_rank",
        "membership_source": "gumbel_key",
        "checks": {name: True for name in CHECK_NAMES},
        "rows_total": facts.rows_total,
        "pairs_total": facts.pairs_total,
    })
    return _seal(root, [name for name, _, _ in MEMBERS])


def _families_1b(facts: WorldFacts) -> list[dict]:
    """One tile assignment (1 draw) and one in-cell jitter (2 draws) per site."""
    sites = facts.rows_total
    entries = []
    for family, module, draws_per_site in (("site_tile_assign", "1B.S5", 1), ("in_cell_jitter", "1B.S6", 2)):
        entry = {
            "id": family,
            "module": module,
            "coverage": {"sites_expected": sites, "sites_covered": sites, "coverage_ok": True},
            "totals": {"events": sites, "draws": str(draws_per_site * sites), "blocks": sites},
            "trace_reconciliation": {"trace_rows": sites, "events": sites, "reconciled": True},
            "envelope_failures": 0,
        }
        if family == "in_cell_jitter":
            entry["budget_per_event"] = {"blocks": 1, "draws": "2"}
        entries.append(entry)
    return entries


def write_bundle_1b(root: Path, facts: WorldFacts) -> str:
    root.mkdir(parents=True, exist_ok=True)
    site_locations = SITE_LOCATIONS_TEMPLATE.format(seed=facts.seed, manifest_fingerprint=facts.manifest_fingerprint)
    families = _families_1b(facts)
    _write(root, "MANIFEST.json", {
        "version": "1B.validation.v1",
        "seed": facts.seed,
        "parameter_hash": facts.parameter_hash,
        "manifest_fingerprint": facts.manifest_fingerprint,
        "run_id": facts.run_id,
        "inputs": {
            "s7_site_synthesis": {"rows": facts.rows_total, "source": facts.paths["outlet_catalogue"]},
            "site_locations": {"path": site_locations, "present": False},
        },
        "outputs": {"validation_bundle": facts.paths["validation_bundle_1B"]},
    })
    _write(root, "egress_checksums.json", {
        "dataset_id": "site_locations",
        "seed": facts.seed,
        "manifest_fingerprint": facts.manifest_fingerprint,
        "path": site_locations,
        "files": [],
        "composite_sha256_hex": empty_digest(),
    })
    _write(root, "index.json", _array_index())
    _write(root, "manifest_fingerprint_resolved.json", _fingerprint_resolved(facts, with_files=False))
    _write(root, "parameter_hash_resolved.json", _parameter_resolved(facts))
    _write(root, "rng_accounting.json", {
        "runs": [{"seed": facts.seed, "parameter_hash": facts.parameter_hash, "run_id": facts.run_id}],
        "families": families,
    })
    _write(root, "s9_summary.json", {
        "identity": {
            "seed": facts.seed, "parameter_hash": facts.parameter_hash,
            "manifest_fingerprint": facts.manifest_fingerprint, "run_id": facts.run_id,
        },
        "sizes": {"rows_s7": facts.rows_total, "rows_s8": facts.rows_total, "parity_ok": True},
        "egress": {"path": site_locations, "writer_sort_violations": 0, "path_embed_mismatches": 0},
        "rng": {"families": {e["id"]: e["totals"] for e in families}},
        "by_country": {
            iso: {"rows_s7": rows, "rows_s8": rows, "parity_ok": True}
            for iso, rows in sorted(facts.rows_by_country.items())
        },
    })
    return _seal(root, [name for name, _, _ in MEMBERS])


def write_bundle_2a(root: Path, facts: WorldFacts, cache_manifest: bytes, report: bytes) -> str:
    """2A: checks, evidence copies (byte-for-byte) and metrics; digest-bearing index."""
    root.mkdir(parents=True, exist_ok=True)
    members = {
        "checks.json": cj_bytes({
            "manifest_fingerprint": facts.manifest_fingerprint,
            "generated_at_utc": facts.created_utc,
            "overall_status": "PASS",
            "datasets": [
                {"id": "s0_gate_receipt_2A", "status": "PASS", "notes": "upstream 1A and 1B gates verified"},
                {"id": "tz_timetable_cache", "status": "PASS", "notes": facts.tz_source},
                {"id": "s4_legality_report", "status": "PASS", "notes": f"seeds=[{facts.seed}]"},
            ],
        }),
        "evidence/s3/tz_timetable_cache.manifest.json": cache_manifest,
        f"evidence/s4/seed={facts.seed}/s4_legality_report.json": report,
        "metrics.json": cj_bytes(facts.tz_metrics),
    }
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    names = sorted(members, key=lambda p: p.encode("ascii"))
    _write(root, "index.json", {"files": [{"path": n, "sha256_hex": sha256_bytes(members[n])} for n in names]})
    return _seal(root, names)
