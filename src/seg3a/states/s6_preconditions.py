"""3A.S6 preconditions (spec 04 §2.1): what must hold before any check runs.

A failure is the run failing (`E3A_S6_001`, `_002` for the catalogue, `_007` for I/O),
unlike a check, which never aborts. The gate receipt's upstream statuses and identity
are not judged here: CHK_S0_GATE_SEALED_INPUTS reports them as issues. The S1..S5 run
reports must be valid and of this manifest but need not be PASS:
CHK_STATE_STATUS_CONSISTENCY compares them with the checks.

`verify` is memoised per run root for as long as none of the files it read changed,
because in `dbt test` the precondition test, the universe-digest tests and the
on-run-end publication each need it within one process.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow.parquet as pq
import yaml

from ..core.catalogue import CatalogueError
from ..core.context import RunContext
from ..core import duck
from ..core.digests import list_files, sha256_artefact, sha256_concat_sizes
from ..core.jsonl_check import LogScan, may_be_proven, proven_records, remember_proven, scan_log
from ..core.schemas import SchemaPackError, SchemaPacks
from ..core import yaml_io
from .common import schema_packs, start_clock
from .s5_digests import ComponentDigests, component_digests
from .s6_checks import fail

# libyaml when available (the policies are only validated here; same documents as SafeLoader)

RECEIPT_ID = "s0_gate_receipt_3A"
INVENTORY_ID = "sealed_inputs_3A"
POLICY_COMPONENTS = {
    "zone_mixture_policy": "MIXTURE_POLICY",
    "country_zone_alphas": "PRIOR_PACK",
    "zone_floor_policy": "FLOOR_POLICY",
    "day_effect_policy_v1": "DAY_EFFECT_POLICY",
}
RUN_REPORTS = tuple((f"S{k}", f"s{k}_run_report_3A") for k in range(1, 6))
RUN_REPORT_ANCHOR = "schemas.layer1.yaml#/run_report/segment_state_run"
REQUIRED_COLUMNS = {
    "s1_escalation_queue": ("S1_ESCALATION_QUEUE", ("merchant_id", "legal_country_iso", "is_escalated", "site_count")),
    "s2_country_zone_priors": ("S2_PRIORS", ("country_iso", "tzid", "alpha_effective", "alpha_sum_country")),
    "s3_zone_shares": ("S3_ZONE_SHARES", ("merchant_id", "legal_country_iso", "tzid", "share_drawn")),
    "s4_zone_counts": ("S4_ZONE_COUNTS", ("merchant_id", "legal_country_iso", "tzid", "zone_site_count",
                                          "zone_site_count_sum")),
    "zone_alloc": ("ZONE_ALLOC", ("merchant_id", "legal_country_iso", "tzid", "zone_site_count",
                                  "zone_site_count_sum", "site_count", "routing_universe_hash")),
    "outlet_catalogue": ("OUTLET_CATALOGUE", ("merchant_id", "legal_country_iso")),
}
UNIVERSE_ID = "zone_alloc_universe_hash"
RNG_LOGS = ("rng_event_zone_dirichlet", "rng_trace_log", "rng_audit_log")
VERSION_ARTEFACT = "s6_receipt_3A"
# A log at least this large is judged early by a worker process: the regex holds the GIL,
# and the early judgement runs beside other nodes of the same process. A smaller one
# (the audit log) is judged in the process, at less than a worker's start-up cost.
EARLY_IN_PROCESS_BYTES = 8 * 1024 * 1024
# The early judgement's worker yields to the build's own nodes when cores are contended:
# it only warms S6's memory, and has S4's integerisation and S5 (tens of seconds at 1M)
# to finish in before S6 waits for it.
EARLY_WORKER_NICENESS = 5


@dataclass(frozen=True)
class Verified:
    """What the checks and the outputs rely on once the preconditions hold."""

    ctx: RunContext
    s6_version: str
    policy_paths: dict[str, Path]
    policy_digests: dict[str, str]
    pairs_escalated: int
    files: tuple[Path, ...] = field(repr=False, default=())


class _Reader:
    """The preconditions of one run, reading every file once and remembering which."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.files: list[Path] = []

    # -- plumbing -------------------------------------------------------------------
    def packs(self) -> SchemaPacks:
        try:
            return schema_packs(str(self.ctx.catalogue.root))
        except SchemaPackError as exc:
            raise fail("002", "s0_gate", f"schema packs unusable: {exc}", catalogue_id=exc.pack or "schema_packs")
        except OSError as exc:
            raise _io_failure("s0_gate", "schema packs unreadable", exc, None) from exc

    def rel(self, dataset_id: str, phase: str) -> str:
        try:
            return self.ctx.catalogue_path(dataset_id)
        except CatalogueError as exc:
            raise fail("002", phase, str(exc), catalogue_id=exc.catalogue_id, dataset_id=dataset_id) from None

    def anchor(self, dataset_id: str, phase: str) -> str:
        try:
            return self.ctx.catalogue.entry(dataset_id)["schema_ref"]
        except CatalogueError as exc:
            raise fail("002", phase, str(exc), catalogue_id=exc.catalogue_id, dataset_id=dataset_id) from None

    def read_bytes(self, path: Path, phase: str, component: str, rel: str) -> bytes:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise fail("001", phase, f"{rel} is missing", component=component, reason="missing", path=rel) from None
        except OSError as exc:
            raise _io_failure(phase, f"cannot read {rel}", exc, rel) from exc
        self.files.append(Path(path))
        return data

    def read_json(self, dataset_id: str, phase: str, component: str) -> Any:
        rel = self.rel(dataset_id, phase)
        data = self.read_bytes(self.ctx.path(dataset_id), phase, component, rel)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise fail("001", phase, f"{rel} is not JSON: {exc}", component=component, reason="schema_invalid",
                       path=rel) from None

    def validate(self, anchor: str, doc: Any, phase: str, component: str, what: str) -> None:
        try:
            violations = self.packs().validate_json(anchor, doc)
        except SchemaPackError as exc:
            raise fail("002", phase, f"anchor {anchor} unusable: {exc}", catalogue_id=exc.pack or anchor) from None
        if violations:
            raise fail("001", phase, f"{what} fails its schema: {violations[0]}", component=component,
                       reason="schema_invalid", violation_count=len(violations))

    # -- §2.1 steps ---------------------------------------------------------------
    def gate_receipt(self) -> dict:
        receipt = self.read_json(RECEIPT_ID, "s0_gate", "S0_GATE")
        self.validate(self.anchor(RECEIPT_ID, "s0_gate"), receipt, "s0_gate", "S0_GATE", RECEIPT_ID)
        return receipt

    def sealed_inputs(self, receipt: dict) -> dict[str, dict]:
        phase, component = "sealed_inputs", "S0_SEALED_INPUTS"
        rows = self.read_json(INVENTORY_ID, phase, component)
        if not isinstance(rows, list):
            raise fail("001", phase, "sealed_inputs_3A is not a JSON array", component=component,
                       reason="schema_invalid")
        anchor = self.anchor(INVENTORY_ID, phase)
        for row in rows:
            self.validate(anchor, row, phase, component, "a sealed_inputs_3A row")
        by_id: dict[str, dict] = {}
        for row in rows:
            if row["manifest_fingerprint"] != self.ctx.tokens.manifest_fingerprint:
                raise fail("001", phase, f"sealed row {row['logical_id']} carries another manifest_fingerprint",
                           component=component, reason="identity_mismatch", logical_id=row["logical_id"])
            if not row["logical_id"] or row["logical_id"] in by_id:
                raise fail("001", phase, f"logical_id {row['logical_id']!r} is empty or not unique",
                           component=component, reason="duplicate_logical_id", logical_id=row["logical_id"])
            by_id[row["logical_id"]] = row
        sealed_policies = {p.get("logical_id") for p in receipt.get("sealed_policy_set") or []}
        missing = [p for p in POLICY_COMPONENTS if p not in sealed_policies]
        if missing:
            raise fail("001", phase, f"sealed_policy_set lacks {', '.join(missing)}", component="S0_GATE",
                       reason="not_sealed", missing_policies=missing)
        return by_id

    def s6_version(self) -> str:
        entry = self.ctx.catalogue.registry_entry(VERSION_ARTEFACT) or {}
        version = str(entry.get("semver") or "").strip()
        if not version:
            raise fail("002", "sealed_inputs", f"registry artefact {VERSION_ARTEFACT} has no semver",
                       catalogue_id="registry_3A", artefact_id=VERSION_ARTEFACT)
        return version

    def sealed_artefact(self, rows: dict[str, dict], logical_id: str, component: str) -> tuple[Path, str]:
        """Sealed row present, rendered path equal (trailing `/` ignored), artefact present
        and its digest (H_file or S0's H_dir) equal to the sealed one."""
        phase = "sealed_inputs_verify"
        row = rows.get(logical_id)
        if row is None:
            raise fail("001", phase, f"{logical_id} has no sealed row", component=component, reason="not_sealed",
                       logical_id=logical_id)
        rel = self.rel(logical_id, phase)
        if row["path"].rstrip("/") != rel.rstrip("/"):
            raise fail("001", phase, f"{logical_id} sealed at {row['path']}, expected {rel}", component=component,
                       reason="path_mismatch", logical_id=logical_id, sealed_path=row["path"], expected_path=rel)
        path = self.ctx.path(logical_id)
        if not path.exists():
            raise fail("001", phase, f"{logical_id} not found at {rel}", component=component, reason="missing",
                       logical_id=logical_id, path=rel)
        try:
            digest = sha256_artefact(path)
        except OSError as exc:
            raise _io_failure(phase, f"cannot hash {logical_id}", exc, rel) from exc
        if digest != row["sha256_hex"]:
            raise fail("001", phase, f"{logical_id} differs from its sealed digest", component=component,
                       reason="digest_mismatch", logical_id=logical_id, path=rel,
                       expected_sha256_hex=row["sha256_hex"], observed_sha256_hex=digest)
        self.files.extend([path] if path.is_file() else [path / f for f in list_files(path)])
        return path, digest

    def policy(self, rows: dict[str, dict], logical_id: str) -> tuple[Path, str]:
        component = POLICY_COMPONENTS[logical_id]
        path, digest = self.sealed_artefact(rows, logical_id, component)
        rel = self.rel(logical_id, "sealed_inputs_verify")
        data = self.read_bytes(path, "sealed_inputs_verify", component, rel)
        try:
            doc = yaml_io.load_mapping(data, path.suffix)
        except (yaml.YAMLError, ValueError) as exc:
            raise fail("001", "sealed_inputs_verify", f"{logical_id} does not parse: {exc}", component=component,
                       reason="schema_invalid", logical_id=logical_id) from None
        self.validate(self.anchor(logical_id, "sealed_inputs_verify"), doc, "sealed_inputs_verify", component,
                      logical_id)
        return path, digest

    def run_reports(self) -> None:
        for state, report_id in RUN_REPORTS:
            component = f"{state}_RUN_REPORT"
            report = self.read_json(report_id, "run_reports", component)
            self.validate(RUN_REPORT_ANCHOR, report, "run_reports", component, report_id)
            if report.get("manifest_fingerprint") != self.ctx.tokens.manifest_fingerprint:
                raise fail("001", "run_reports", f"{report_id} belongs to another manifest", component=component,
                           reason="identity_mismatch", state=state)

    def columns(self, dataset_id: str) -> Path:
        """04 §2.1 step 7: the partition holds Parquet files with the required columns."""
        component, required = REQUIRED_COLUMNS[dataset_id]
        rel = self.rel(dataset_id, "datasets")
        root = self.ctx.path(dataset_id)
        files = [root / f for f in list_files(root, ".parquet")] if root.is_dir() else []
        if not files:
            raise fail("001", "datasets", f"{dataset_id} has no Parquet file at {rel}", component=component,
                       reason="missing", path=rel)
        for path in files:
            try:
                names = set(pq.read_schema(path).names)
            except OSError as exc:
                raise fail("001", "datasets", f"{dataset_id} is not readable Parquet: {exc}", component=component,
                           reason="schema_invalid", path=rel) from None
            absent = [c for c in required if c not in names]
            if absent:
                raise fail("001", "datasets", f"{dataset_id} lacks columns {', '.join(absent)}", component=component,
                           reason="missing_columns", path=rel, missing_columns=absent)
        self.files.extend(files)
        return root

    def universe_hash(self) -> None:
        doc = self.read_json(UNIVERSE_ID, "datasets", "ZONE_ALLOC_UNIVERSE_HASH")
        self.validate(self.anchor(UNIVERSE_ID, "datasets"), doc, "datasets", "ZONE_ALLOC_UNIVERSE_HASH", UNIVERSE_ID)

    def log_files(self, log_id: str) -> list[Path]:
        """The files of one RNG log: the event glob in name order, or the one file."""
        path = self.ctx.path(log_id)
        if "*" in path.name:
            return sorted(path.parent.glob(path.name), key=lambda p: p.name.encode())
        return [path] if path.is_file() else []

    def rng_log(self, log_id: str, nothing_escalated: bool) -> None:
        """Every non-blank line validates; at least one line, except that the event and
        trace logs are empty exactly when nothing was escalated (README decision). Bytes
        proven valid earlier in this process (int_s6__rng_logs_prejudged) are known by
        their SHA-256 and not judged again; any other bytes are judged here, large files
        by worker processes fed by this one (seg3a.core.jsonl_check); the first invalid
        line reported is the one a serial scan finds."""
        rel = self.rel(log_id, "rng_logs")
        files = self.log_files(log_id)
        if not files:
            raise fail("001", "rng_logs", f"{log_id} does not resolve at {rel}", component="RNG_LOGS",
                       reason="missing", logical_id=log_id, path=rel)
        anchor = self.anchor(log_id, "rng_logs")
        packs = self.packs()
        packs.validity_predicate(anchor)  # an unusable pack or anchor fails here, before any worker
        records = proven_log_records(packs, anchor, files)
        if records is None:
            records = self.judged_log_records(log_id, rel, anchor, packs, files)
        else:
            self.files.extend(files)
        may_be_empty = nothing_escalated and log_id != "rng_audit_log"
        if records == 0 and not may_be_empty:
            raise fail("001", "rng_logs", f"{log_id} has no row", component="RNG_LOGS", reason="empty",
                       logical_id=log_id, path=rel)

    def judged_log_records(self, log_id: str, rel: str, anchor: str, packs: SchemaPacks,
                           files: list[Path]) -> int:
        """The non-blank lines of the log's files, each judged against `anchor` (the
        first invalid line fails the run, 001); remembered when the templates proved
        every line."""
        judged = JudgedLog(str(self.ctx.catalogue.root), anchor)
        for path in files:
            try:
                scan = judged.scan(path)
            except FileNotFoundError:
                raise fail("001", "rng_logs", f"{rel} is missing", component="RNG_LOGS", reason="missing",
                           path=rel) from None
            except OSError as exc:
                raise _io_failure("rng_logs", f"cannot read {rel}", exc, rel) from exc
            self.files.append(Path(path))
            if scan.invalid_line is not None:
                raise fail("001", "rng_logs", f"{log_id} line {scan.invalid_line} {scan.problem}",
                           reason="schema_invalid", component="RNG_LOGS", logical_id=log_id, file=path.name,
                           line=scan.invalid_line)
        judged.remember(packs)
        return judged.records


class JudgedLog:
    """The files of one log judged in order against an anchor, their bytes hashed in this
    process as they are judged (or handed to a worker): a log every line of which the
    templates proved is remembered under their SHA-256 and the size of each file
    (`remember_proven`), for S6 and S7, which hash what they read."""

    def __init__(self, contracts_root: str, anchor: str, off_process: bool = False, niceness: int = 0) -> None:
        self.contracts_root, self.anchor = contracts_root, anchor
        self.off_process, self.niceness = off_process, niceness
        self.content = hashlib.sha256()
        self.records = 0
        self.proven_sizes: list[int | None] = []

    def scan(self, path: Path) -> LogScan:
        scan = scan_log(self.contracts_root, self.anchor, path, digest=self.content, off_process=self.off_process,
                        worker_niceness=self.niceness)
        self.records += scan.records
        self.proven_sizes.append(scan.proven_bytes)
        return scan

    def remember(self, packs: SchemaPacks) -> bool:
        """Remember the log if every file judged was proven line by line; whether it was."""
        if None in self.proven_sizes:
            return False
        remember_proven(packs, self.anchor, self.content.hexdigest(), tuple(self.proven_sizes), self.records)
        return True


def proven_log_records(packs: SchemaPacks, anchor: str, files: list[Path]) -> int | None:
    """The record count of a log whose files hold bytes proven valid against `anchor`
    in this process, by the SHA-256 and sizes of the bytes read now; else None (also
    when a file cannot be read: judging it reports that exactly). Files of sizes never
    proven are not hashed."""
    try:
        if not may_be_proven(packs, anchor, tuple(path.stat().st_size for path in files)):
            return None
        sha256_hex, sizes = sha256_concat_sizes(files[0].parent, [path.name for path in files])
    except OSError:
        return None
    return proven_records(packs, anchor, sha256_hex, sizes)


def judge_logs_early(ctx: RunContext) -> dict[str, bool]:
    """Judge the published RNG logs as S6 will, by content (a large log in a worker
    process at a lower priority), and remember every log proven valid
    (int_s6__rng_logs_prejudged). Never fails and decides nothing: S6 takes a remembered
    verdict only for the bytes it hashes then, and judges any other bytes itself.
    Returns, per log, whether it was remembered."""
    remembered = {}
    for log_id in RNG_LOGS:
        try:
            remembered[log_id] = _judge_log_early(ctx, log_id)
        except Exception:  # noqa: BLE001 - S6 judges the log itself
            remembered[log_id] = False
    return remembered


def _judge_log_early(ctx: RunContext, log_id: str) -> bool:
    reader = _Reader(ctx)
    files = reader.log_files(log_id)
    if not files:
        return False
    anchor = reader.anchor(log_id, "rng_logs")
    packs = reader.packs()
    judged = JudgedLog(str(ctx.catalogue.root), anchor,
                       off_process=sum(path.stat().st_size for path in files) >= EARLY_IN_PROCESS_BYTES,
                       niceness=EARLY_WORKER_NICENESS)
    for path in files:
        if judged.scan(path).invalid_line is not None:
            return False
    return judged.remember(packs)


def _io_failure(phase: str, message: str, exc: BaseException, path: str | None):
    return fail("007", phase, f"{message}: {exc}", operation="read", path=path, io_error_class=type(exc).__name__,
                detail=str(exc))


def private_connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection of S6's own (outside the build's database), bounded by the
    SEG3A_DUCKDB_* resource settings like the build's: it sorts the masked zone_alloc,
    which a default connection would do in up to 80 % of RAM."""
    return duck.connect(spatial=False)


def escalated_pairs(root: Path) -> int:
    conn = private_connection()
    try:
        scan = f"read_parquet('{(root / '*.parquet').as_posix()}', hive_partitioning = false)"
        return int(conn.execute(f"select count(*) from (select distinct merchant_id, legal_country_iso "
                                f"from {scan} where is_escalated)").fetchone()[0])
    finally:
        conn.close()


def _verify(ctx: RunContext) -> Verified:
    reader = _Reader(ctx)
    receipt = reader.gate_receipt()
    rows = reader.sealed_inputs(receipt)
    version = reader.s6_version()
    verified_policies = {p: reader.policy(rows, p) for p in POLICY_COMPONENTS}
    reader.sealed_artefact(rows, "outlet_catalogue", "OUTLET_CATALOGUE")
    reader.run_reports()
    roots = {dataset_id: reader.columns(dataset_id) for dataset_id in REQUIRED_COLUMNS}
    reader.universe_hash()
    esc = escalated_pairs(roots["s1_escalation_queue"])
    for log_id in RNG_LOGS:
        reader.rng_log(log_id, esc == 0)
    return Verified(ctx, version, {k: v[0] for k, v in verified_policies.items()},
                    {k: v[1] for k, v in verified_policies.items()}, esc, tuple(reader.files))


_MEMO: dict[str, tuple[tuple, Verified]] = {}
_MEMO_LOCK = threading.Lock()


def _stat_signature(files: tuple[Path, ...]) -> tuple:
    out = []
    for path in files:
        try:
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


def verify(ctx: RunContext) -> Verified:
    """04 §2.1 in order; raises StateFailure (001/002/007). Starts the S6 clock."""
    key = str(ctx.run_root)
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
    if hit is not None and hit[1].ctx.tokens == ctx.tokens and _stat_signature(hit[1].files) == hit[0]:
        return hit[1]
    start_clock(ctx, "S6")
    try:
        verified = _verify(ctx)
    except CatalogueError as exc:
        raise fail("002", "sealed_inputs", str(exc), catalogue_id=exc.catalogue_id) from None
    with _MEMO_LOCK:
        _MEMO[key] = (_stat_signature(verified.files), verified)
    return verified


_COMPONENTS: dict[tuple, ComponentDigests] = {}


def recomputed_components(verified: Verified,
                          connect: Callable[[], duckdb.DuckDBPyConnection] = private_connection
                          ) -> ComponentDigests:
    """CHK_S5_UNIVERSE_HASH_DIGESTS' recomputation (04 §2.2): S5's own component function
    over the verified policy files, the S2 partition and zone_alloc as read (masked).
    Memoised like `verify`: two checks and the run report use it."""
    ctx = verified.ctx
    key = (str(ctx.run_root), _stat_signature(verified.files))
    with _MEMO_LOCK:
        hit = _COMPONENTS.get(key)
    if hit is not None:
        return hit
    conn = connect()
    try:
        components = component_digests(
            conn, ctx.path("zone_alloc"),
            s2_partition=ctx.path("s2_country_zone_priors"),
            mixture_policy=verified.policy_paths["zone_mixture_policy"],
            floor_policy=verified.policy_paths["zone_floor_policy"],
            day_effect_policy=verified.policy_paths["day_effect_policy_v1"],
        )
    finally:
        conn.close()
    with _MEMO_LOCK:
        _COMPONENTS[key] = components
    return components
