"""The 3A validation bundle's members and their digest rules (spec 04 §3.2), shared by
the producer (S7) and by every reader that re-checks a bundle (`seg3a verify`).

The bundle is index-only: each member is referenced where it lives, by its rendered
catalogue path, and digested by its own rule:

* `log`  (H_log)  the raw bytes of the log files concatenated in file-name order;
* `json` (H_json) SHA-256 of the canonical JSON of the parsed document;
* `pq`   (H_pq)   the Parquet file, or every `*.parquet` under the partition in path order.

`size_bytes` is the on-disk size for JSON members and the number of hashed bytes for the
others. Nothing here depends on dbt.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..core.cjson import cj_bytes
from ..core.digests import sha256_concat_sizes, sha256_hexcat, sha256_parquet

INDEX_NAME = "index.json"
FLAG_NAME = "_passed.flag"
BUNDLE_ID = "validation_bundle_3A"
FLAG_ID = "validation_passed_flag_3A"
INDEX_ANCHOR = "schemas.layer1.yaml#/validation/validation_bundle_index_3A"
FLAG_ANCHOR = "schemas.layer1.yaml#/validation/passed_flag_3A"


@dataclass(frozen=True)
class Member:
    logical_id: str
    role: str
    rule: str  # log | json | pq


# Canonical order: ASCII by logical_id (04 §3.2).
MEMBERS: tuple[Member, ...] = (
    Member("rng_audit_log", "rng_audit", "log"),
    Member("rng_event_zone_dirichlet", "rng_event", "log"),
    Member("rng_trace_log", "rng_trace", "log"),
    Member("s0_gate_receipt_3A", "gate", "json"),
    Member("s1_escalation_queue", "escalation", "pq"),
    Member("s2_country_zone_priors", "priors", "pq"),
    Member("s3_zone_shares", "shares", "pq"),
    Member("s4_zone_counts", "counts", "pq"),
    Member("s6_issue_table_3A", "validation_issues", "pq"),
    Member("s6_receipt_3A", "validation_receipt", "json"),
    Member("s6_validation_report_3A", "validation_report", "json"),
    Member("sealed_inputs_3A", "sealed_inputs", "json"),
    Member("zone_alloc", "egress", "pq"),
    Member("zone_alloc_universe_hash", "universe_hash", "json"),
)
MEMBER_BY_ID = {member.logical_id: member for member in MEMBERS}


@dataclass(frozen=True)
class MemberDigest:
    sha256_hex: str
    size_bytes: int
    file_sizes: tuple[int, ...] = ()  # a log's: the bytes hashed of each file, in order


class MemberUnreadable(Exception):
    """A member cannot be digested by its rule: absent, or a JSON member that does not
    parse. `reason` is `missing` or `schema_invalid`."""

    def __init__(self, logical_id: str, reason: str, detail: str) -> None:
        super().__init__(f"member {logical_id} {reason}: {detail}")
        self.logical_id = logical_id
        self.reason = reason
        self.detail = detail


def physical(run_root: Path, catalogue_path: str) -> Path:
    """Where a run-scoped catalogue path lives (members are all under the run root)."""
    return Path(run_root) / catalogue_path.rstrip("/")


def log_files(location: Path) -> list[Path]:
    """The files of a log member: the file itself, or the files matching a `part-*`
    pattern in its directory, in file-name (ASCII) order."""
    if not any(ch in location.name for ch in "*?["):
        return [location] if location.is_file() else []
    if not location.parent.is_dir():
        return []
    names = [p.name for p in location.parent.iterdir() if p.is_file() and fnmatch.fnmatchcase(p.name, location.name)]
    return [location.parent / name for name in sorted(names, key=lambda n: n.encode("utf-8"))]


def h_json_bytes(data: bytes) -> str:
    """H_json of a stored document: SHA-256 of the CJ of its parsed value."""
    return hashlib.sha256(cj_bytes(json.loads(data))).hexdigest()


def member_digest(member: Member, location: Path) -> MemberDigest:
    """Digest and size of one member by its rule; raises MemberUnreadable or OSError."""
    if member.rule == "log":
        files = log_files(location)
        if not files:
            raise MemberUnreadable(member.logical_id, "missing", f"no log file at {location.name}")
        digest, sizes = sha256_concat_sizes(location.parent, [f.name for f in files])
        return MemberDigest(digest, sum(sizes), sizes)
    if not location.exists():
        raise MemberUnreadable(member.logical_id, "missing", "not found")
    if member.rule == "json":
        data = location.read_bytes()
        try:
            return MemberDigest(h_json_bytes(data), len(data))
        except ValueError as exc:
            raise MemberUnreadable(member.logical_id, "schema_invalid", f"not JSON: {exc}") from exc
    try:
        digest, size = sha256_parquet(location)
    except FileNotFoundError as exc:
        raise MemberUnreadable(member.logical_id, "missing", str(exc)) from exc
    return MemberDigest(digest, size)


def bundle_digest(member_digests: list[str]) -> str:
    """bundle_sha256_hex = H_hexcat of the member digests in index order."""
    return sha256_hexcat(*member_digests)
