"""Run identity (spec 01 §1): parameter_hash, manifest_fingerprint, run_id and the run
receipt. 3A states only *read* these; the sample-world generator (playing the upstream
identity step) computes them."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .cjson import cj_bytes
from .encoding import le64, uer

HEX64 = re.compile(r"^[a-f0-9]{64}$")
HEX32 = re.compile(r"^[a-f0-9]{32}$")
RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
UINT64_MAX = 2**64 - 1

# 3A-governed members of the parameter set (01 §1.3), by canonical name -> dictionary id.
PARAMETER_MEMBERS = {
    "country_zone_alphas.yaml": "country_zone_alphas",
    "day_effect_policy_v1.json": "day_effect_policy_v1",
    "zone_floor_policy.yaml": "zone_floor_policy",
    "zone_mixture_policy.yaml": "zone_mixture_policy",
}
REFERENCE_IDS = ("iso3166_canonical_2024", "world_countries", "tz_world_2025a")
RECEIPT_NAME = "run_receipt.json"
CONTRACTS_LAYOUT = "seg3a-contracts-v1"
RUNID_ATTEMPTS = 2**16


class IdentityError(Exception):
    """Identity failure with the layer-1 code (E_PARAM_*, E_ARTIFACT_*, E_GIT_BYTES, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _digest_file(path: Path) -> bytes:
    try:
        before = path.stat()
        digest = hashlib.sha256(path.read_bytes()).digest()
        after = path.stat()
    except OSError as exc:
        raise IdentityError("E_PARAM_IO", f"cannot read {path}: {exc}") from exc
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise IdentityError("E_PARAM_IO", f"file changed while hashed: {path}")
    return digest


def _named_digests(members: list[tuple[str, bytes]], empty: str, nonascii: str, dup: str) -> list[bytes]:
    if not members:
        raise IdentityError(empty, "no members")
    names = [name for name, _ in members]
    for name in names:
        if not name.isascii():
            raise IdentityError(nonascii, f"non-ASCII name {name!r}")
    if len(set(names)) != len(names):
        raise IdentityError(dup, f"duplicate names {sorted(n for n in names if names.count(n) > 1)}")
    ordered = sorted(members, key=lambda m: m[0].encode("ascii"))
    return [hashlib.sha256(uer(name) + digest).digest() for name, digest in ordered]


def parameter_hash(members: list[tuple[str, Path]]) -> tuple[str, bytes]:
    """01 §1.3 over (canonical name, file) pairs; returns (hex, raw bytes)."""
    for name, _ in members:
        if name not in PARAMETER_MEMBERS:
            raise IdentityError("E_PARAM_UNKNOWN_MEMBER", f"{name} is not a declared parameter member")
    hashed = _named_digests(
        [(name, _digest_file(Path(path))) for name, path in members],
        "E_PARAM_EMPTY", "E_PARAM_NONASCII_NAME", "E_PARAM_DUP_BASENAME",
    )
    raw = hashlib.sha256(b"".join(hashed)).digest()
    return raw.hex(), raw


def manifest_fingerprint(artefacts: list[tuple[str, bytes]], git_32: bytes, param_hash_bytes: bytes | None) -> tuple[str, bytes]:
    """01 §1.4 over (basename, raw SHA-256) pairs."""
    if len(git_32) != 32:
        raise IdentityError("E_GIT_BYTES", f"engine commit must be 32 bytes, got {len(git_32)}")
    if not param_hash_bytes:
        raise IdentityError("E_PARAM_HASH_ABSENT", "parameter_hash bytes missing")
    hashed = _named_digests(artefacts, "E_ARTIFACT_EMPTY", "E_ARTIFACT_NONASCII_NAME", "E_ARTIFACT_DUP_BASENAME")
    raw = hashlib.sha256(b"".join(hashed) + git_32 + param_hash_bytes).digest()
    return raw.hex(), raw


def artefact_digests(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(Path(p).name, _digest_file(Path(p))) for p in paths]


def git_commit_bytes(project_root: Path) -> bytes:
    """Engine commit as 32 raw bytes: ENGINE_GIT_COMMIT, else the file ENGINE_COMMIT, else
    git HEAD. A 20-byte SHA-1 is left-padded with 12 zero bytes (01 §1.4)."""
    text = os.environ.get("ENGINE_GIT_COMMIT", "").strip()
    manifest = project_root / "ENGINE_COMMIT"
    if not text and manifest.is_file():
        text = manifest.read_text().strip()
    if not text:
        try:
            text = subprocess.run(
                ["git", "-C", str(project_root), "rev-parse", "HEAD"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            raise IdentityError("E_GIT_BYTES", "no engine commit: set ENGINE_GIT_COMMIT or run inside a git checkout") from exc
    return commit_hex_to_bytes(text)


def commit_hex_to_bytes(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise IdentityError("E_GIT_BYTES", f"engine commit is not hex: {text!r}") from exc
    if len(raw) == 20:
        return b"\x00" * 12 + raw
    if len(raw) == 32:
        return raw
    raise IdentityError("E_GIT_BYTES", f"engine commit must be 20 or 32 bytes, got {len(raw)}")


def utc_to_ns(created_utc: str) -> int:
    if not RFC3339_MICROS.match(created_utc):
        raise ValueError(f"not rfc3339 with microseconds: {created_utc}")
    moment = datetime.strptime(created_utc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + moment.microsecond * 1000


def run_id_for(fingerprint_bytes: bytes, seed: int, t_ns: int) -> str:
    payload = uer("run:1A") + fingerprint_bytes + le64(seed) + le64(t_ns)
    return hashlib.sha256(payload).digest()[:16].hex()


@dataclass(frozen=True)
class RunReceipt:
    run_id: str
    seed: int
    parameter_hash: str
    manifest_fingerprint: str
    created_utc: str
    contracts_layout: str
    contracts_root: str
    runs_root: str
    external_roots: tuple[str, ...]
    path: Path

    @property
    def run_root(self) -> Path:
        return self.path.parent

    def as_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "parameter_hash": self.parameter_hash,
            "manifest_fingerprint": self.manifest_fingerprint,
            "created_utc": self.created_utc,
            "contracts_layout": self.contracts_layout,
            "contracts_root": self.contracts_root,
            "runs_root": self.runs_root,
            "external_roots": list(self.external_roots),
        }


class ReceiptError(Exception):
    """The run receipt is missing or invalid (states map it to their INFRASTRUCTURE code)."""


def parse_receipt(path: Path) -> RunReceipt:
    """Load and validate a run receipt (01 §1.6)."""
    try:
        data = json.loads(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise ReceiptError(f"run receipt not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise ReceiptError(f"run receipt unreadable: {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ReceiptError(f"run receipt is not an object: {path}")
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not run_id or run_id != Path(path).parent.name:
        raise ReceiptError(f"run_id {run_id!r} must equal its directory name {Path(path).parent.name!r}")
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= UINT64_MAX:
        raise ReceiptError(f"seed {seed!r} is not a uint64")
    for key in ("parameter_hash", "manifest_fingerprint"):
        if not isinstance(data.get(key), str) or not HEX64.match(data[key]):
            raise ReceiptError(f"{key} {data.get(key)!r} is not hex64")
    return RunReceipt(
        run_id=run_id,
        seed=seed,
        parameter_hash=data["parameter_hash"],
        manifest_fingerprint=data["manifest_fingerprint"],
        created_utc=str(data.get("created_utc", "")),
        contracts_layout=str(data.get("contracts_layout", "")),
        contracts_root=str(data.get("contracts_root", "")),
        runs_root=str(data.get("runs_root", "")),
        external_roots=tuple(str(r) for r in data.get("external_roots") or []),
        path=Path(path),
    )


def select_receipt(runs_root: Path, run_id: str | None = None) -> RunReceipt:
    """The named run's receipt, else the one with the greatest created_utc (01 §1.6);
    unparseable created_utc or ties fall back to file mtime."""
    runs_root = Path(runs_root)
    if run_id:
        return parse_receipt(runs_root / run_id / RECEIPT_NAME)
    candidates = sorted(runs_root.glob(f"*/{RECEIPT_NAME}")) if runs_root.is_dir() else []
    if not candidates:
        raise ReceiptError(f"no run receipt under {runs_root}; generate a world first (`make world`)")
    return parse_receipt(max(candidates, key=receipt_age))


def receipt_age(path: Path) -> tuple:
    """Sort key of receipts, oldest first: created_utc, then file mtime (unparseable
    created_utc sorts before any valid one)."""
    try:
        created = json.loads(path.read_bytes()).get("created_utc", "")
    except (OSError, ValueError, AttributeError):
        created = ""
    valid = isinstance(created, str) and bool(RFC3339_MICROS.match(created))
    return (valid, created if valid else "", path.stat().st_mtime_ns)


def receipt_bytes(receipt: dict) -> bytes:
    return cj_bytes(receipt)


@dataclass(frozen=True)
class RunIdentity:
    seed: int
    parameter_hash: str
    manifest_fingerprint: str
    run_id: str
    created_utc: str


def contract_files(contracts: Path) -> list[Path]:
    """Every contract file the identity step opens: schema packs, dictionaries,
    registries and governed rule files (any *.yaml / *.json under contracts/)."""
    return sorted(
        (p for p in Path(contracts).rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")),
        key=lambda p: p.as_posix(),
    )


def compute_identity(
    *,
    seed: int,
    created_utc: str,
    policy_paths: dict[str, Path],
    reference_paths: list[Path],
    contracts: Path,
    project_root: Path,
    runs_root: Path,
) -> RunIdentity:
    """The upstream identity step: parameter_hash over the four policies, F over every
    opened artefact + engine commit + parameter_hash, run_id from the configured instant.
    `policy_paths` maps canonical parameter names to files. A run root that already
    exists with a different receipt bumps T_ns (01 §1.5); an identical one is reused."""
    param_hex, param_raw = parameter_hash(sorted(policy_paths.items()))
    opened = list(policy_paths.values()) + list(reference_paths) + contract_files(contracts)
    fp_hex, fp_raw = manifest_fingerprint(artefact_digests(opened), git_commit_bytes(project_root), param_raw)
    t_ns = utc_to_ns(created_utc)
    for _attempt in range(RUNID_ATTEMPTS):
        run_id = run_id_for(fp_raw, seed, t_ns)
        existing = Path(runs_root) / run_id / RECEIPT_NAME
        if not existing.parent.exists() or _same_identity(existing, seed, param_hex, fp_hex):
            return RunIdentity(seed, param_hex, fp_hex, run_id, created_utc)
        t_ns += 1
    raise IdentityError("E_RUNID_COLLISION_EXHAUSTED", f"no free run_id after {RUNID_ATTEMPTS} attempts")


def _same_identity(receipt_path: Path, seed: int, param_hex: str, fp_hex: str) -> bool:
    try:
        data = json.loads(receipt_path.read_bytes())
    except (OSError, ValueError):
        return False
    return (data.get("seed"), data.get("parameter_hash"), data.get("manifest_fingerprint")) == (seed, param_hex, fp_hex)
