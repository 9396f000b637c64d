"""3A.S7 — validation bundle and `_passed.flag` (spec 04 §3): the logic behind the S7
dbt models in `models/segment3a/s7_bundle/`.

S7 re-runs no S6 check. It passes four gates (S6 run PASS, S6 receipt PASS, S0 gate
receipt, sealed inventory), digests the 14 fixed members where they live, validates
them, checks parity with the S6 receipt, writes `index.json` and `_passed.flag` into a
staging directory and renames it onto the bundle root. An existing bundle is compared,
never overwritten. The member table and digest rules are in `s7_members`, shared with
`seg3a verify`.
"""
from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..core.catalogue import CatalogueError
from ..core.cjson import cj_bytes
from ..core.digests import sha256_bytes
from ..core.hashgate import flag_bytes
from ..core.jsonl_check import proven_records
from ..core.faults import checkpoint
from ..core.partitions import make_stage
from ..core.staging import rename_into_place
from ..core.schemas import SchemaPacks
from .common import (
    GATE_KINDS,
    StateFailure, StateSpec, context_from_session, entry_gate, schema_packs, start_clock, write_state_report,
)
from .s3_rng_logs import column_violations
from .s7_members import (
    BUNDLE_ID, FLAG_ANCHOR, FLAG_ID, FLAG_NAME, INDEX_ANCHOR, INDEX_NAME, MEMBERS, Member, MemberUnreadable,
    bundle_digest, log_files, member_digest, physical,
)

CODES = {
    "001": "E3A_S7_001_S6_NOT_PASS",
    "002": "E3A_S7_002_PRECONDITION_MISSING_ARTEFACT",
    "003": "E3A_S7_003_INDEX_BUILD_FAILED",
    "004": "E3A_S7_004_DIGEST_MISMATCH",
    "005": "E3A_S7_005_HASHGATE_MISMATCH",
    "006": "E3A_S7_006_IMMUTABILITY_VIOLATION",
    "007": "E3A_S7_007_INFRASTRUCTURE_IO_ERROR",
}
# error_class_detail labels of §3.4.
CLASS_DETAIL = {
    "001": "S6_GATE", "002": "PRECONDITION", "003": "INDEX", "004": "DIGEST", "005": "HASHGATE",
    "006": "IMMUTABILITY", "007": "INFRASTRUCTURE",
}
PHASES = ("run_receipt", "s6_run_report", "s6_receipt", "s0_gate", "members", "publish")
COUNT_KEYS = ("member_count", "member_bytes")
SPEC = StateSpec(
    state="S7",
    codes=CODES,
    classes=dict.fromkeys(CODES, "F4"),
    gate={**dict.fromkeys(GATE_KINDS, "002"), "upstream_state_failed": "001"},
    gate_phases={**dict.fromkeys(GATE_KINDS, "s0_gate"), "upstream_state_failed": "s6_run_report"},
    phases=PHASES,
    infrastructure="007",
    report_id="s7_run_report_3A",
    default_phase="publish",
    count_keys=COUNT_KEYS,
    class_details=CLASS_DETAIL,
    # The §3.4 blocks of a FAIL report: nothing sealed.
    fail_blocks={
        "digests": dict.fromkeys(("bundle_digest", "s6_receipt_digest")),
        "output": {"path": None, "format": "dir", **dict.fromkeys(("bundle_path", "index_path", "flag_path"))},
    },
    # An earlier state failed in this invocation, so S6 did not pass: of §3.1's reasons
    # for E3A_S7_001 that is `s6_run_failed` (docs/decisions.md).
    upstream_reason="s6_run_failed",
)

RUN_REPORT_ANCHOR = "schemas.layer1.yaml#/run_report/segment_state_run"
NULL_CODES = (None, "", "null")
# §2.1 step 7 column checks of the Parquet members (04 §3.2, §4 item 5).
REQUIRED_COLUMNS = {
    "s1_escalation_queue": ("merchant_id", "legal_country_iso", "is_escalated", "site_count"),
    "s2_country_zone_priors": ("country_iso", "tzid", "alpha_effective"),
    "s3_zone_shares": ("merchant_id", "legal_country_iso", "tzid", "share_drawn"),
    "s4_zone_counts": ("merchant_id", "legal_country_iso", "tzid", "zone_site_count", "zone_site_count_sum"),
    "zone_alloc": ("merchant_id", "legal_country_iso", "tzid", "zone_site_count", "zone_site_count_sum",
                   "site_count", "routing_universe_hash"),
}
# Logs that may be empty exactly when no pair is escalated (README decision).
EMPTY_WHEN_NOTHING_ESCALATED = ("rng_event_zone_dirichlet", "rng_trace_log")


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


def io_failure(phase: str, operation: str, path: str | None, exc: BaseException) -> StateFailure:
    return fail("007", phase, f"{operation} failed: {exc}", operation=operation, path=path,
                io_error_class=type(exc).__name__)


# --------------------------------------------------------------------------- §3.1 gates
def _read_json(ctx, dataset_id: str, phase: str) -> tuple[str, Any]:
    """(catalogue path, parsed document); None when absent or not JSON."""
    rel = ctx.catalogue_path(dataset_id)
    try:
        return rel, json.loads(ctx.path(dataset_id).read_bytes())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return rel, None
    except OSError as exc:
        raise io_failure(phase, "read", rel, exc) from None


def check_s6_run_report(ctx, packs: SchemaPacks) -> dict:
    """Gate 1: the S6 run report is valid, PASS and carries no error code."""
    phase = "s6_run_report"
    rel, report = _read_json(ctx, "s6_run_report_3A", phase)
    violations = packs.validate_json(RUN_REPORT_ANCHOR, report) if report is not None else ["missing"]
    status = report.get("status") if isinstance(report, dict) else None
    code = report.get("error_code") if isinstance(report, dict) else None
    if violations or status != "PASS" or code not in NULL_CODES:
        raise fail("001", phase, f"S6 run is not PASS (status {status}, error_code {code})", reason="s6_run_failed",
                   path=rel, reported_status=status, error_code=code)
    return report


def check_s6_receipt(ctx, packs: SchemaPacks) -> tuple[dict, str]:
    """Gate 2: the S6 receipt is valid, of this run and PASS; returns it and H_json."""
    phase = "s6_receipt"
    rel, receipt = _read_json(ctx, "s6_receipt_3A", phase)
    if receipt is None:
        raise fail("001", phase, "S6 receipt is missing or not JSON", reason="s6_receipt_missing", path=rel)
    violations = packs.validate_json(anchor_of(ctx, "s6_receipt_3A", phase), receipt)
    tokens = ctx.tokens
    if not violations and (receipt["manifest_fingerprint"], receipt["parameter_hash"]) != (
            tokens.manifest_fingerprint, tokens.parameter_hash):
        violations = ["identity differs from the run"]
    if violations:
        raise fail("001", phase, f"S6 receipt invalid: {violations[0]}", reason="s6_receipt_invalid", path=rel,
                   violation_count=len(violations))
    if receipt["overall_status"] != "PASS":
        raise fail("001", phase, f"S6 verdict is {receipt['overall_status']}", reason="s6_overall_not_pass",
                   path=rel, overall_status=receipt["overall_status"])
    return receipt, sha256_bytes(cj_bytes(receipt))


def _gate_reason(failure: StateFailure) -> str:
    reason = str(failure.context.get("reason") or "")
    if reason == "upstream_gate_not_pass":
        return reason
    return "missing" if reason.startswith("missing") else "schema_invalid"


def check_s0_gate(ctx) -> None:
    """Gates 3-4 through the entry gate (01 §5.1): receipt valid with 1A, 1B, 2A PASS,
    sealed inventory a list of valid rows. Failures are E3A_S7_002 with artefact_id."""
    try:
        entry_gate(ctx, SPEC, ())
    except StateFailure as failure:
        if failure.number != "002" or "artefact_id" in failure.context:
            raise
        inventory = "sealed_inputs" in failure.message or "inventor" in failure.message \
            or failure.context.get("reason") == "missing_sealed_inputs"
        artefact = "sealed_inputs_3A" if inventory else "s0_gate_receipt_3A"
        raise fail("002", "s0_gate", failure.message, **{**failure.context, "artefact_id": artefact,
                                                         "reason": _gate_reason(failure)}) from None


@dataclass(frozen=True)
class Gates:
    s6_report: dict
    s6_receipt: dict
    s6_receipt_digest: str


def run_gates(ctx) -> Gates:
    """§3.1: the four gates in order; nothing is written unless all pass."""
    start_clock(ctx, SPEC.state)
    packs = _packs(ctx)
    report = check_s6_run_report(ctx, packs)
    receipt, digest = check_s6_receipt(ctx, packs)
    check_s0_gate(ctx)
    return Gates(report, receipt, digest)


def _packs(ctx) -> SchemaPacks:
    try:
        return schema_packs(str(ctx.catalogue.root))
    except Exception as exc:  # a contract that cannot be loaded is the precondition code (04 §0)
        raise fail("002", "run_receipt", f"schema packs unusable: {exc}", artefact_id="schema_packs",
                   reason="schema_invalid") from None


# --------------------------------------------------------------------------- §3.2 members
@dataclass
class MemberEntry:
    member: Member
    path: str
    schema_ref: str
    location: Path
    sha256_hex: str = ""
    size_bytes: int = 0
    file_sizes: tuple[int, ...] = ()
    data: bytes | None = field(default=None, repr=False)

    def index_row(self) -> dict:
        return {"logical_id": self.member.logical_id, "path": self.path, "schema_ref": self.schema_ref,
                "sha256_hex": self.sha256_hex, "role": self.member.role, "size_bytes": self.size_bytes}


def anchor_of(ctx, dataset_id: str, phase: str) -> str:
    try:
        ref = ctx.catalogue.entry(dataset_id).get("schema_ref")
    except (CatalogueError, KeyError):
        ref = None
    if not ref:
        raise fail("003", phase, f"no schema_ref for {dataset_id} in the dictionary", reason="missing_member",
                   logical_id=dataset_id)
    return ref


def member_entries(ctx) -> list[MemberEntry]:
    """The 14 members with rendered paths and dictionary anchors (003 when missing)."""
    entries = []
    for member in MEMBERS:
        try:
            rel = ctx.catalogue_path(member.logical_id)
        except CatalogueError as exc:
            raise fail("003", "members", f"{member.logical_id} has no dictionary path: {exc}",
                       reason="missing_member", logical_id=member.logical_id) from None
        schema_ref = anchor_of(ctx, member.logical_id, "members")
        entries.append(MemberEntry(member, rel, schema_ref, physical(ctx.run_root, rel)))
    ids = [entry.member.logical_id for entry in entries]
    if not ids or len(set(ids)) != len(ids):
        raise fail("003", "members", "member list empty or with duplicate logical_id",
                   reason="duplicate_logical_id" if ids else "missing_member")
    return entries


def _missing(entry: MemberEntry, detail: str, reason: str = "missing") -> StateFailure:
    return fail("002", "members", f"member {entry.member.logical_id} {reason}: {detail}",
                artefact_id=entry.member.logical_id, reason=reason, path=entry.path)


def digest_members(entries: list[MemberEntry]) -> None:
    """Fill sha256_hex and size_bytes by each member's rule (002 when unreadable)."""
    for entry in entries:
        try:
            digest = member_digest(entry.member, entry.location)
        except MemberUnreadable as exc:
            raise _missing(entry, exc.detail, exc.reason) from None
        except OSError as exc:
            raise io_failure("members", "read", entry.path, exc) from None
        entry.sha256_hex, entry.size_bytes, entry.file_sizes = digest.sha256_hex, digest.size_bytes, digest.file_sizes


# --------------------------------------------------------------------------- member validation
def _json_document(entry: MemberEntry) -> Any:
    try:
        return json.loads(entry.location.read_bytes())
    except ValueError as exc:
        raise _missing(entry, f"not JSON: {exc}", "schema_invalid") from None
    except OSError as exc:
        raise io_failure("members", "read", entry.path, exc) from None


def validate_json_member(packs: SchemaPacks, entry: MemberEntry) -> Any:
    doc = _json_document(entry)
    if entry.member.logical_id == "sealed_inputs_3A":
        violations = packs.validate_json_items(entry.schema_ref, doc) if isinstance(doc, list) \
            else ["not a JSON array"]
    else:
        violations = packs.validate_json(entry.schema_ref, doc)
    if violations:
        raise _missing(entry, f"fails {entry.schema_ref}: {violations[0]}", "schema_invalid")
    return doc


def validate_columns(entry: MemberEntry) -> None:
    """§2.1 step 7: the required column names (rows are not re-validated)."""
    files = sorted(entry.location.rglob("*.parquet")) if entry.location.is_dir() else [entry.location]
    try:
        names = set(pq.read_schema(files[0]).names) if files else set()
    except (OSError, pa.ArrowInvalid) as exc:
        raise _missing(entry, f"unreadable Parquet: {exc}", "schema_invalid") from None
    missing = [c for c in REQUIRED_COLUMNS[entry.member.logical_id] if c not in names]
    if missing:
        raise _missing(entry, f"lacks column(s) {', '.join(missing)}", "schema_invalid")


def validate_issue_table(packs: SchemaPacks, entry: MemberEntry) -> None:
    """Each issue row, with its nulls removed, against the row anchor."""
    try:
        rows = pq.read_table(entry.location).to_pylist()
    except (OSError, pa.ArrowInvalid) as exc:
        raise _missing(entry, f"unreadable Parquet: {exc}", "schema_invalid") from None
    cleaned = [{k: v for k, v in row.items() if v is not None} for row in rows]
    violations = packs.validate_json_items(entry.schema_ref, cleaned)
    if violations:
        raise _missing(entry, f"issue row fails {entry.schema_ref}: {violations[0]}", "schema_invalid")


def _record_node(packs: SchemaPacks, anchor: str) -> tuple[str, dict]:
    """The record schema of a stream anchor (following a `$ref` to `record`)."""
    pack = anchor.split("#", 1)[0]
    node = packs.resolve(anchor)
    while isinstance(node, dict) and "$ref" in node and "properties" not in node:
        ref = node["$ref"]
        anchor = f"{pack}{ref}" if ref.startswith("#/") else ref
        pack = anchor.split("#", 1)[0]
        node = packs.resolve(anchor)
    return anchor, node


def _arrow_type(packs: SchemaPacks, pack: str, node: dict) -> pa.DataType | None:
    """Parse type of one JSONL field: strings stay strings (no timestamp inference),
    non-negative integers are uint64 (RNG counters exceed 2^63)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        node = packs.resolve(f"{pack}{ref}" if ref.startswith("#/") else ref)
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "anyOf" in node:
        return None
    if "string" in kinds:
        return pa.string()
    if "integer" in kinds:
        return pa.uint64() if node.get("minimum", -1) >= 0 else pa.int64()
    return None


def log_violations(packs: SchemaPacks, anchor: str, lines: list[bytes]) -> list[str]:
    """Every non-blank line against the stream record: vectorised over an Arrow table
    parsed with the record's types; a line Arrow cannot parse with those types is
    checked line by line by the JSON Schema validator, which names the fault."""
    record_anchor, node = _record_node(packs, anchor)
    pack = record_anchor.split("#", 1)[0]
    fields = [(name, _arrow_type(packs, pack, sub)) for name, sub in node.get("properties", {}).items()]
    schema = pa.schema([(name, kind) for name, kind in fields if kind is not None])
    try:
        table = pa_json.read_json(io.BytesIO(b"\n".join(lines) + b"\n"),
                                  parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                                                     unexpected_field_behavior="infer"))
        return column_violations(packs, record_anchor, table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    problems = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            return [f"line {number} is not JSON: {exc}"]
        problems += [f"line {number}: {v}" for v in packs.validate_json(record_anchor, record)]
        if problems:
            return problems
    return problems


# Lines of a log checked at once: memory stays bounded whatever the world's size.
LOG_BATCH_BYTES = 64 << 20


def log_batches(files: list[Path], batch_bytes: int = LOG_BATCH_BYTES) -> Iterator[list[bytes]]:
    """The non-blank lines of the files (split at LF, as `split(b"\\n")` splits), read a
    line at a time and handed out in batches of about `batch_bytes`."""
    batch: list[bytes] = []
    size = 0
    for path in files:
        with open(path, "rb") as handle:
            for chunk in handle:
                line = chunk[:-1] if chunk.endswith(b"\n") else chunk
                if not line.strip():
                    continue
                batch.append(line)
                size += len(line)
                if size >= batch_bytes:
                    yield batch
                    batch, size = [], 0
    if batch:
        yield batch


def validate_log(packs: SchemaPacks, entry: MemberEntry, nothing_escalated: bool,
                 batch_bytes: int = LOG_BATCH_BYTES) -> None:
    """Every line against the record schema, batch by batch. The rules hold per line, so
    a log with a failing line has a failing batch; only then is the log read whole and
    checked at once, so that verdict and message are exactly those of the whole log.

    Bytes this process already proved valid line by line against the same anchor (S6's
    RNG log check, by its line templates: every such line is a valid record) are known
    by the digest just taken of them and not parsed again; any other bytes are."""
    proven = proven_records(packs, entry.schema_ref, entry.sha256_hex, entry.file_sizes) \
        if entry.file_sizes else None
    if proven is not None:
        has_lines, lines = proven > 0, []
    else:
        has_lines, lines = _unproven_log_lines(packs, entry, batch_bytes)
    allowed_empty = nothing_escalated and entry.member.logical_id in EMPTY_WHEN_NOTHING_ESCALATED
    if not has_lines and not allowed_empty:
        raise _missing(entry, "log has no line", "missing")
    problems = log_violations(packs, entry.schema_ref, lines) if lines else []
    if problems:
        raise _missing(entry, f"log line fails {entry.schema_ref}: {problems[0]}", "schema_invalid")


def _unproven_log_lines(packs: SchemaPacks, entry: MemberEntry, batch_bytes: int) -> tuple[bool, list[bytes]]:
    """Whether the log has a line, and, when a batch has a violation, all its non-blank
    lines (else none)."""
    files = log_files(entry.location)
    has_lines = suspect = False
    try:
        for batch in log_batches(files, batch_bytes):
            has_lines = True
            if log_violations(packs, entry.schema_ref, batch):
                suspect = True
                break
        lines = [line for f in files for line in f.read_bytes().split(b"\n") if line.strip()] if suspect else []
    except OSError as exc:
        raise io_failure("members", "read", entry.path, exc) from None
    return has_lines, lines


def validate_members(ctx, packs: SchemaPacks, entries: list[MemberEntry], s6_report: dict) -> dict[str, Any]:
    """§3.2 validation (002) and the identity of the JSON members (003). Returns the
    parsed JSON members."""
    nothing_escalated = int(s6_report.get("metrics", {}).get("pairs_escalated", 1)) == 0
    documents: dict[str, Any] = {}
    for entry in entries:
        logical_id = entry.member.logical_id
        if entry.member.rule == "log":
            validate_log(packs, entry, nothing_escalated)
        elif entry.member.rule == "json":
            documents[logical_id] = validate_json_member(packs, entry)
        elif logical_id == "s6_issue_table_3A":
            validate_issue_table(packs, entry)
        else:
            validate_columns(entry)
    check_identity(ctx, documents)
    return documents


def check_identity(ctx, documents: dict[str, Any]) -> None:
    """Every JSON member that embeds the manifest (and parameter hash) names this run."""
    tokens = ctx.tokens
    for logical_id, doc in documents.items():
        for item in doc if isinstance(doc, list) else [doc]:
            mismatched = [key for key, value in (("manifest_fingerprint", tokens.manifest_fingerprint),
                                                 ("parameter_hash", tokens.parameter_hash))
                          if key in item and item[key] != value]
            if mismatched:
                raise fail("003", "members", f"member {logical_id} names another {mismatched[0]}",
                           reason="identity_mismatch", logical_id=logical_id, field=mismatched[0])


def check_parity(entries: list[MemberEntry], receipt: dict) -> None:
    """Members 11 and 9 must carry the digests the S6 receipt records (004)."""
    by_id = {entry.member.logical_id: entry for entry in entries}
    for logical_id, key in (("s6_validation_report_3A", "validation_report_digest"),
                            ("s6_issue_table_3A", "issue_table_digest")):
        entry = by_id[logical_id]
        if entry.sha256_hex != receipt[key]:
            raise fail("004", "members", f"{logical_id} digest differs from the S6 receipt's {key}",
                       artefact_id=logical_id, path=entry.path, expected_sha256_hex=receipt[key],
                       observed_sha256_hex=entry.sha256_hex)


# --------------------------------------------------------------------------- §3.3 index and flag
def build_index(ctx, packs: SchemaPacks, entries: list[MemberEntry], s6_receipt_digest: str) -> dict:
    tokens = ctx.tokens
    index = {
        "manifest_fingerprint": tokens.manifest_fingerprint,
        "parameter_hash": tokens.parameter_hash,
        "s6_receipt_digest": s6_receipt_digest,
        "members": [entry.index_row() for entry in entries],
    }
    violations = packs.validate_json(INDEX_ANCHOR, index)
    if violations:
        raise fail("003", "members", f"index.json fails {INDEX_ANCHOR}: {violations[0]}",
                   reason="index_schema_invalid", violation_count=len(violations))
    return index


def build_flag(packs: SchemaPacks, digest: str) -> bytes:
    try:
        data = flag_bytes(digest)
    except ValueError as exc:
        raise fail("005", "publish", f"flag cannot be formed: {exc}", existing_sha256_hex=None,
                   computed_sha256_hex=digest) from None
    violations = packs.validate_json(FLAG_ANCHOR, data.decode("ascii").strip())
    if violations:
        raise fail("005", "publish", f"flag line fails {FLAG_ANCHOR}", existing_sha256_hex=None,
                   computed_sha256_hex=digest)
    return data


def check_paths(ctx) -> tuple[str, str]:
    """Bundle and flag paths carry the manifest token; the flag sits in the bundle root."""
    try:
        bundle, flag = ctx.catalogue_path(BUNDLE_ID), ctx.catalogue_path(FLAG_ID)
    except CatalogueError as exc:
        raise fail("003", "publish", str(exc), reason="missing_member", logical_id=BUNDLE_ID) from None
    token = f"manifest_fingerprint={ctx.tokens.manifest_fingerprint}"
    if token not in bundle or token not in flag or flag.rsplit("/", 1)[0] != bundle.rstrip("/"):
        raise fail("003", "publish", "bundle or flag path lacks the manifest token or the flag is not in the root",
                   reason="identity_mismatch", bundle_path=bundle, flag_path=flag)
    return bundle, flag


# --------------------------------------------------------------------------- §3.3 publishing
def _flag_digest(text: bytes | None) -> str | None:
    if text is None:
        return None
    line = text.decode("ascii", "replace").strip()
    return line.removeprefix("sha256_hex = ") if line.startswith("sha256_hex = ") else None


def _index_difference(old: bytes | None, new: dict) -> str:
    """members, digest or identity: what an existing index differs in."""
    try:
        doc = json.loads(old) if old is not None else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return "members"
    if (doc.get("manifest_fingerprint"), doc.get("parameter_hash")) != (new["manifest_fingerprint"],
                                                                       new["parameter_hash"]):
        return "identity"
    shape = [(m.get("logical_id"), m.get("path"), m.get("schema_ref"), m.get("role"))
             for m in doc.get("members") or [] if isinstance(m, dict)]
    if shape != [(m["logical_id"], m["path"], m["schema_ref"], m["role"]) for m in new["members"]]:
        return "members"
    return "digest"


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def compare_existing(root: Path, index: dict, index_bytes: bytes, flag: bytes) -> None:
    """An existing bundle must hold the same index bytes and flag line (006 / 005)."""
    old_index = _read_optional(root / INDEX_NAME)
    old_flag = _read_optional(root / FLAG_NAME)
    index_same = old_index == index_bytes
    flag_same = old_flag is not None and old_flag.strip() == flag.strip()
    if index_same and flag_same:
        return
    computed = _flag_digest(flag)
    if index_same:
        raise fail("005", "publish", "existing flag disagrees with an identical index",
                   existing_sha256_hex=_flag_digest(old_flag), computed_sha256_hex=computed)
    raise fail("006", "publish", "a different bundle is already published for this manifest",
               artefact="index" if flag_same else "both", difference_kind=_index_difference(old_index, index),
               existing_sha256_hex=_flag_digest(old_flag), computed_sha256_hex=computed)


def publish_bundle(root: Path, rel: str, index: dict, flag: bytes) -> bool:
    """Stage index.json and _passed.flag, rename the stage onto the bundle root; an
    existing root is compared instead. True when the bundle was created."""
    index_bytes = cj_bytes(index)
    if root.exists():
        compare_existing(root, index, index_bytes, flag)
        return False
    try:
        stage = make_stage(root)
    except OSError as exc:
        raise io_failure("publish", "write", rel, exc) from None
    try:
        for name, data in ((INDEX_NAME, index_bytes), (FLAG_NAME, flag)):
            with open(stage / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if name == INDEX_NAME:
                checkpoint("bundle_index_written", root)
        rename_into_place(stage, root)
    except OSError as exc:
        if root.exists():  # another writer won the rename: compare with it instead
            compare_existing(root, index, index_bytes, flag)
            return False
        raise io_failure("publish", "write", rel, exc) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return True


@dataclass(frozen=True)
class BundleOutcome:
    index: dict
    bundle_sha256_hex: str
    created: bool

    def members_table(self) -> pa.Table:
        """One row per index member, with the bundle digest and the S6 receipt digest."""
        extra = {"bundle_sha256_hex": self.bundle_sha256_hex, "s6_receipt_digest": self.index["s6_receipt_digest"]}
        rows = [{**m, **extra} for m in self.index["members"]]
        return pa.Table.from_pylist(rows, schema=MEMBERS_SCHEMA)


MEMBERS_SCHEMA = pa.schema([
    ("logical_id", pa.string()), ("path", pa.string()), ("schema_ref", pa.string()), ("sha256_hex", pa.string()),
    ("role", pa.string()), ("size_bytes", pa.uint64()), ("bundle_sha256_hex", pa.string()),
    ("s6_receipt_digest", pa.string()),
])


def build_and_publish(ctx, gates: Gates) -> BundleOutcome:
    """§3.2-§3.3 after the gates: members, validation, parity, index, flag, publish."""
    packs = _packs(ctx)
    entries = member_entries(ctx)
    digest_members(entries)
    validate_members(ctx, packs, entries, gates.s6_report)
    check_parity(entries, gates.s6_receipt)
    index = build_index(ctx, packs, entries, gates.s6_receipt_digest)
    digest = bundle_digest([m["sha256_hex"] for m in index["members"]])
    flag = build_flag(packs, digest)
    bundle_rel, _flag_rel = check_paths(ctx)
    created = publish_bundle(physical(ctx.run_root, bundle_rel), bundle_rel, index, flag)
    return BundleOutcome(index, digest, created)


def bundle_published(session) -> pa.Table:
    """The S7 bundle model: the gates, then the bundle. One row per index member."""
    ctx = context_from_session(session, SPEC)
    return build_and_publish(ctx, run_gates(ctx)).members_table()


# --------------------------------------------------------------------------- §3.4 run report
def run_report(session, members: pa.Table) -> pa.Table:
    """Write the PASS run report and segment_state_runs row; return the counters."""
    ctx = context_from_session(session, SPEC)
    bundle = ctx.catalogue_path(BUNDLE_ID)
    rows = members.to_pylist()
    counts = {"member_count": len(rows), "member_bytes": sum(int(r["size_bytes"]) for r in rows)}
    blocks = {
        "digests": {"bundle_digest": rows[0]["bundle_sha256_hex"] if rows else None,
                    "s6_receipt_digest": rows[0]["s6_receipt_digest"] if rows else None},
        "output": {"path": bundle, "format": "dir", "bundle_path": bundle, "index_path": bundle + INDEX_NAME,
                   "flag_path": ctx.catalogue_path(FLAG_ID)},
    }
    write_state_report(ctx, SPEC, "PASS", counts=counts, blocks=blocks, output_format="dir")
    return pa.Table.from_pylist([{"status": "PASS", **counts}])
