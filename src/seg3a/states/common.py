"""State framework shared by S1..S7 (spec 01 §5): codes, entry gate, run reports, and
the failure reporting that dbt's on-run-end hook drives.

A state is built from four kinds of dbt models:

1. an entry-gate Python model (`int_s<k>__inputs_verified`) that calls `entry_gate`:
   receipt and inventory validation, upstream PASS, path and digest re-verification of
   every sealed artefact the state reads, each policy exactly once in the sealed policy
   set. Its one row per verified artefact is what later models take identity and
   digests from, so nothing of the state runs before the gate passed;
2. policy loaders (thin Python models) that turn a sealed policy file into a table;
3. SQL models that raise coded failures with `error('E3A_S<k>_NNN_NAME: ... | phase=...
   | context={...}')` (the same text a `StateFailure` prints);
4. a thin Python `s<k>_run_report_3A` model that writes the PASS report.

Failures are reported in one place: the on-run-end hook passes every model that errored
or was skipped to `report_failed_states`, which picks the state's first failure (by
phase), reads the code, phase and context out of the error message, and writes the FAIL
run report (with the state's `fail_blocks`, unknown values null, and for S4-S7 the
code's `error_class_detail` label) and the segment_state_runs row. A state module
(`seg3a.states.s<k>_*`) declares a module-level `SPEC`; states without one yet fall back
to the code suffix convention of 01 §5.2.
"""
from __future__ import annotations

import copy
import functools
import importlib
import json
import pkgutil
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from ..core.catalogue import CatalogueError
from ..core.context import RunContext, RunSelectionError
from ..core.digests import FileChangedError, sha256_artefact
from ..core.errors import Seg3aError
from ..core.identity import ReceiptError
from ..core.reports import StateClock, append_segment_state_run, identity_fields, write_run_report
from ..core.schemas import SchemaPackError, SchemaPacks

RECEIPT_ID = "s0_gate_receipt_3A"
INVENTORY_ID = "sealed_inputs_3A"
RUN_REPORT_ANCHOR = "schemas.layer1.yaml#/run_report/segment_state_run"
GATED_SEGMENTS = ("1A", "1B", "2A")
CODE_PATTERN = re.compile(r"\bE3A_(S[0-9])_([0-9]{3})_[A-Z0-9_]+\b")

# Failure kinds of the entry gate; each state maps them to its own code numbers.
GATE_KINDS = (
    "receipt_missing", "receipt_invalid", "identity_mismatch", "upstream_not_pass",
    "inventory_missing", "inventory_invalid", "catalogue_malformed", "policy_missing_or_ambiguous",
    "policy_not_inventoried", "input_not_inventoried", "path_mismatch", "artefact_absent",
    "digest_mismatch", "upstream_state_failed",
)


# --------------------------------------------------------------------------- codes
@dataclass(frozen=True)
class StateSpec:
    """What the framework needs to know about one state."""

    state: str                              # "S1"
    codes: Mapping[str, str]                # "001" -> "E3A_S1_001_S0_GATE_MISSING_OR_INVALID"
    classes: Mapping[str, str]              # "001" -> error_class label (01 §5.3)
    gate: Mapping[str, str]                 # entry-gate failure kind -> code number
    gate_phases: Mapping[str, str]          # entry-gate failure kind -> first_failure_phase
    phases: tuple[str, ...]                 # first_failure_phase values in execution order
    infrastructure: str                     # catch-all number (01 §5.2)
    report_id: str                          # "s1_run_report_3A"
    output_id: str | None = None            # published dataset of the state
    output_schema: str | None = None        # number for a contract/constraint failure of the output
    default_phase: str = "unknown"
    count_keys: tuple[str, ...] = ()        # counters of the report (null on FAIL)
    class_details: Mapping[str, str] = field(default_factory=dict)  # "001" -> error_class_detail label (S4-S7)
    fail_blocks: Mapping[str, Any] = field(default_factory=dict)    # state blocks of a FAIL report (unknown = null)
    upstream_reason: str | None = None      # context reason when an earlier state failed (else the generic ones)
    upstream_components: Mapping[str, str] = field(default_factory=dict)  # failed earlier state -> `component`

    def code(self, number: str) -> str:
        return self.codes[number]

    def error_class(self, number: str) -> str:
        return self.classes.get(number, "INFRASTRUCTURE")

    def class_detail(self, code: str | None) -> str | None:
        """The `error_class_detail` label of one of the state's codes (03 §4.4, 04 §1.5,
        §3.4); None for a state without labels or without a failure. A code that is not
        the state's own gets the INFRASTRUCTURE catch-all's label."""
        if not self.class_details or code is None:
            return None
        match = CODE_PATTERN.search(code)
        number = match.group(2) if match and match.group(1) == self.state else self.infrastructure
        return self.class_details.get(number, self.class_details[self.infrastructure])

    def phase_rank(self, phase: str | None) -> int:
        return self.phases.index(phase) if phase in self.phases else len(self.phases)


def f4_state_spec(
    state: str,
    codes: Mapping[str, str],
    *,
    phases: tuple[str, ...],
    infrastructure: str,
    output_id: str,
    output_schema: str,
    default_phase: str,
    count_keys: tuple[str, ...],
    catalogue_phase: str,
    upstream_phase: str,
    class_details: Mapping[str, str] | None = None,
    fail_blocks: Mapping[str, Any] | None = None,
    upstream_reason: str | None = None,
    upstream_components: Mapping[str, str] | None = None,
) -> StateSpec:
    """The spec of a state whose failures all carry class F4 and whose entry gate fails
    with its 001 precondition code, a malformed catalogue with 002 (S3-S5: 03 §3.7, §4.4,
    04 §1.5). `catalogue_phase` / `upstream_phase` are the phases those two report;
    `upstream_reason` is the 001 reason of the state's spec for an earlier state that
    failed in the same invocation."""
    return StateSpec(
        state=state,
        codes=codes,
        classes=dict.fromkeys(codes, "F4"),
        gate={**dict.fromkeys(GATE_KINDS, "001"), "catalogue_malformed": "002"},
        gate_phases={**dict.fromkeys(GATE_KINDS, "s0_gate"), "catalogue_malformed": catalogue_phase,
                     "upstream_state_failed": upstream_phase},
        phases=phases,
        infrastructure=infrastructure,
        report_id=f"s{state[1:]}_run_report_3A",
        output_id=output_id,
        output_schema=output_schema,
        default_phase=default_phase,
        count_keys=count_keys,
        class_details=dict(class_details or {}),
        fail_blocks=dict(fail_blocks or {}),
        upstream_reason=upstream_reason,
        upstream_components=dict(upstream_components or {}),
    )


# The `component` S3-S5 name in a precondition failure for what each earlier state
# publishes (03 §3.7, §4.4, 04 §1.5): an earlier state that failed in the same invocation
# left that input missing or not PASS.
OUTPUT_COMPONENTS = {
    "S0": "S0_GATE", "S1": "S1_ESCALATION_QUEUE", "S2": "S2_PRIORS", "S3": "S3_ZONE_SHARES", "S4": "S4_ZONE_COUNTS",
}


def earlier_components(state: str) -> dict[str, str]:
    """OUTPUT_COMPONENTS of the states before `state`."""
    return {earlier: component for earlier, component in OUTPUT_COMPONENTS.items() if earlier < state}


class StateFailure(Seg3aError):
    """A coded failure of a state. Its text is the one format every channel uses:
    `E3A_S<k>_NNN_NAME: message | phase=<phase> | context=<canonical JSON>`."""

    def __init__(self, spec: StateSpec, number: str, phase: str, message: str, **context: Any) -> None:
        self.spec = spec
        self.number = number
        self.phase = phase
        super().__init__(spec.code(number), message, **context)
        self.args = (failure_text(spec.code(number), message, phase, context),)

    @property
    def error_class(self) -> str:
        return self.spec.error_class(self.number)

    def __str__(self) -> str:
        return self.args[0]


def failure_text(code: str, message: str, phase: str, context: Mapping[str, Any]) -> str:
    context_json = json.dumps(dict(context), sort_keys=True, separators=(",", ":"), default=str)
    return f"{code}: {message} | phase={phase} | context={context_json}"


def fallback_spec(state: str) -> StateSpec:
    """A spec from the 01 §5.2 conventions for a state whose module declares none yet:
    the gate code 001 (S7: 002) and the INFRASTRUCTURE catch-all."""
    k = int(state[1:])
    catch_all = {3: "012", 4: "009", 5: "008", 6: "007", 7: "007"}.get(k, "099")
    gate = "002" if k == 7 else "001"
    codes = {
        gate: f"E3A_{state}_{gate}_PRECONDITION_FAILED",
        catch_all: f"E3A_{state}_{catch_all}_INFRASTRUCTURE_IO_ERROR",
    }
    return StateSpec(
        state=state, codes=codes, classes={gate: "F4", catch_all: "F4"},
        gate={kind: gate for kind in GATE_KINDS}, gate_phases={kind: "s0_gate" for kind in GATE_KINDS},
        phases=("run_receipt", "s0_gate"), infrastructure=catch_all, report_id=f"s{k}_run_report_3A",
    )


@functools.lru_cache(maxsize=None)
def spec_for(state: str) -> StateSpec:
    """The SPEC of the state's module (`seg3a.states.s<k>_*`), else the fallback."""
    from .. import states as package

    prefix = f"s{state[1:]}_"
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith(prefix):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            spec = getattr(module, "SPEC", None)
            if isinstance(spec, StateSpec) and spec.state == state:
                return spec
    return fallback_spec(state)


# --------------------------------------------------------------------------- context and clocks
_CLOCKS: dict[tuple[str, str], StateClock] = {}
_CLOCK_LOCK = threading.Lock()


def start_clock(ctx: RunContext, state: str) -> StateClock:
    """Start the state's clock (the entry gate does this). dbt runs Python models and
    the on-run-end hook in one process, so the report writers find it here; wall-clock
    times never enter a table."""
    clock = StateClock()
    with _CLOCK_LOCK:
        _CLOCKS[(ctx.tokens.run_id, state)] = clock
    return clock


def state_clock(ctx: RunContext, state: str) -> StateClock:
    with _CLOCK_LOCK:
        return _CLOCKS.get((ctx.tokens.run_id, state)) or StateClock()


def context_from_session(session, spec: StateSpec) -> RunContext:
    """The run the plugin selected for this dbt invocation; an unusable run receipt is the
    state's INFRASTRUCTURE failure (no report can be written: identity is unknown)."""
    try:
        return RunContext.from_session(session)
    except (RunSelectionError, ReceiptError, CatalogueError) as exc:
        raise StateFailure(spec, spec.infrastructure, "run_receipt", str(exc),
                           operation="read", path=None, io_error_class="run_receipt_invalid") from exc


def context_from_run_root(run_root: str | Path, spec: StateSpec) -> RunContext:
    try:
        return RunContext.from_run_root(run_root)
    except (ReceiptError, CatalogueError) as exc:
        raise StateFailure(spec, spec.infrastructure, "run_receipt", str(exc),
                           operation="read", path=None, io_error_class="run_receipt_invalid") from exc


def schema_packs(contracts_root: str) -> SchemaPacks:
    """The packs of a contracts root; SchemaPacks.load keeps one instance per pack bytes."""
    return SchemaPacks.load(contracts_root)


# --------------------------------------------------------------------------- entry gate
@dataclass(frozen=True)
class VerifiedInput:
    logical_id: str
    artefact_kind: str
    catalogue_path: str
    physical_path: Path
    sha256_hex: str
    release_tag: str | None  # recorded release (ingress notes) or the tz cache's tzdb tag
    sealed_version: str | None  # policies: the raw version S0 recorded


@dataclass
class EntryGate:
    """What a state may rely on once the gate passed."""

    ctx: RunContext
    spec: StateSpec
    receipt: dict
    rows: dict[str, dict]
    verified: dict[str, VerifiedInput] = field(default_factory=dict)

    def path(self, logical_id: str) -> Path:
        return self.verified[logical_id].physical_path

    def digest(self, logical_id: str) -> str:
        return self.verified[logical_id].sha256_hex

    def table(self) -> pa.Table:
        """One row per verified artefact, with the run identity on every row."""
        tokens = self.ctx.tokens
        items = [self.verified[k] for k in sorted(self.verified)]
        return pa.table({
            "seed": pa.array([tokens.seed] * len(items), pa.uint64()),
            "parameter_hash": pa.array([tokens.parameter_hash] * len(items), pa.string()),
            "manifest_fingerprint": pa.array([tokens.manifest_fingerprint] * len(items), pa.string()),
            "run_id": pa.array([tokens.run_id] * len(items), pa.string()),
            "logical_id": pa.array([i.logical_id for i in items], pa.string()),
            "artefact_kind": pa.array([i.artefact_kind for i in items], pa.string()),
            "catalogue_path": pa.array([i.catalogue_path for i in items], pa.string()),
            "sha256_hex": pa.array([i.sha256_hex for i in items], pa.string()),
            "release_tag": pa.array([i.release_tag for i in items], pa.string()),
            "sealed_version": pa.array([i.sealed_version for i in items], pa.string()),
        })


class _Gate:
    """One entry-gate evaluation (01 §5.1); every failure is mapped through the spec."""

    def __init__(self, ctx: RunContext, spec: StateSpec) -> None:
        self.ctx = ctx
        self.spec = spec
        self.tokens = ctx.tokens

    def fail(self, kind: str, message: str, **context: Any) -> StateFailure:
        return StateFailure(self.spec, self.spec.gate[kind], self.spec.gate_phases[kind], message, **context)

    def infrastructure(self, message: str, path: str | None, exc: Exception, phase: str) -> StateFailure:
        return StateFailure(self.spec, self.spec.infrastructure, phase, message, operation="read", path=path,
                            io_error_class=type(exc).__name__)

    def packs(self) -> SchemaPacks:
        try:
            return schema_packs(str(self.ctx.catalogue.root))
        except SchemaPackError as exc:
            raise self.fail("catalogue_malformed", f"schema packs unusable: {exc}",
                            catalogue_id=exc.pack or "schema_packs") from exc

    def catalogue_path(self, dataset_id: str) -> str:
        try:
            return self.ctx.catalogue_path(dataset_id)
        except CatalogueError as exc:
            raise self.fail("catalogue_malformed", str(exc), catalogue_id=exc.catalogue_id,
                            logical_id=dataset_id) from exc

    def load_json(self, dataset_id: str, missing_kind: str) -> Any:
        rel = self.catalogue_path(dataset_id)
        path = self.ctx.path(dataset_id)
        if not path.is_file():
            raise self.fail(missing_kind, f"{dataset_id} not found at {rel}", reason=_missing_reason(dataset_id), path=rel)
        try:
            return json.loads(path.read_bytes())
        except ValueError as exc:
            invalid = "receipt_invalid" if dataset_id == RECEIPT_ID else "inventory_invalid"
            raise self.fail(invalid, f"{dataset_id} is not JSON: {exc}", reason="schema_invalid", path=rel) from exc
        except OSError as exc:
            raise self.infrastructure(f"cannot read {dataset_id}: {exc}", rel, exc, "s0_receipt") from exc

    def receipt(self, packs: SchemaPacks) -> dict:
        receipt = self.load_json(RECEIPT_ID, "receipt_missing")
        # The schema pins every gate status to PASS, so a readable non-PASS status is
        # reported first: its own code says more than "schema invalid".
        self.upstream_statuses(receipt)
        violations = packs.validate_json(self.ctx.catalogue.entry(RECEIPT_ID)["schema_ref"], receipt)
        if violations:
            raise self.fail("receipt_invalid", f"gate receipt fails its schema: {violations[0]}",
                            reason="schema_invalid", violation_count=len(violations))
        run = (self.tokens.manifest_fingerprint, self.tokens.parameter_hash, self.tokens.seed)
        if (receipt["manifest_fingerprint"], receipt["parameter_hash"], receipt["seed"]) != run:
            raise self.fail("identity_mismatch", "gate receipt identity differs from the run",
                            reason="identity_mismatch")
        return receipt

    def upstream_statuses(self, receipt: Any) -> None:
        gates = receipt.get("upstream_gates") if isinstance(receipt, dict) else None
        for segment in GATED_SEGMENTS:
            gate = gates.get(f"segment_{segment}") if isinstance(gates, dict) else None
            status = gate.get("status") if isinstance(gate, dict) else None
            if isinstance(status, str) and status != "PASS":
                raise self.fail("upstream_not_pass", f"upstream gate {segment} is {status}",
                                reason="upstream_gate_not_pass", segment=segment, reported_status=status)

    def inventory(self, packs: SchemaPacks) -> dict[str, dict]:
        rows = self.load_json(INVENTORY_ID, "inventory_missing")
        if not isinstance(rows, list):
            raise self.fail("inventory_invalid", "sealed_inputs_3A is not a JSON array", reason="schema_invalid")
        violations = packs.validate_json_items(self.ctx.catalogue.entry(INVENTORY_ID)["schema_ref"], rows)
        if violations:
            raise self.fail("inventory_invalid", f"sealed_inputs_3A row fails its schema: {violations[0]}",
                            reason="schema_invalid", violation_count=len(violations))
        by_id: dict[str, dict] = {}
        for row in rows:
            if row["manifest_fingerprint"] != self.tokens.manifest_fingerprint:
                raise self.fail("inventory_invalid", f"inventory row {row['logical_id']} has another fingerprint",
                                reason="identity_mismatch", logical_id=row["logical_id"])
            if row["logical_id"] in by_id:
                raise self.fail("inventory_invalid", f"logical_id {row['logical_id']} is inventoried twice",
                                reason="schema_invalid", logical_id=row["logical_id"])
            by_id[row["logical_id"]] = row
        return by_id

    def policy_entry(self, receipt: dict, rows: dict[str, dict], policy_id: str) -> dict:
        entries = [p for p in receipt["sealed_policy_set"] if p["logical_id"] == policy_id]
        if len(entries) != 1:
            raise self.fail("policy_missing_or_ambiguous",
                            f"{policy_id} appears {len(entries)} times in sealed_policy_set",
                            missing_roles=[policy_id] if not entries else [],
                            conflicting_ids=[policy_id] if entries else [])
        if policy_id not in rows:
            raise self.fail("policy_not_inventoried", f"{policy_id} is in the policy set but not inventoried",
                            logical_id=policy_id, missing_roles=[policy_id], conflicting_ids=[])
        return entries[0]

    def verify(self, row: dict, policy: dict | None) -> VerifiedInput:
        logical_id = row["logical_id"]
        expected = self.catalogue_path(logical_id)
        if row["path"].rstrip("/") != expected.rstrip("/"):
            raise self.fail("path_mismatch", f"{logical_id}: inventory path differs from the dictionary",
                            logical_id=logical_id, path=row["path"], expected_path=expected,
                            sealed_sha256_hex=row["sha256_hex"], computed_sha256_hex=None)
        path = self.ctx.path(logical_id)
        if not path.exists():
            raise self.fail("artefact_absent", f"{logical_id} absent at {expected}",
                            logical_id=logical_id, path=expected)
        try:
            digest = sha256_artefact(path)
        except FileNotFoundError as exc:
            raise self.fail("artefact_absent", f"{logical_id} has no files at {expected}",
                            logical_id=logical_id, path=expected) from exc
        except (FileChangedError, OSError) as exc:
            raise self.infrastructure(f"cannot hash {logical_id}: {exc}", expected, exc, "sealed_inputs") from exc
        if policy is not None and policy["sha256_hex"] != row["sha256_hex"]:
            raise self.fail("digest_mismatch", f"{logical_id}: policy set and inventory digests differ",
                            logical_id=logical_id, path=expected, sealed_sha256_hex=row["sha256_hex"],
                            computed_sha256_hex=policy["sha256_hex"])
        if digest != row["sha256_hex"]:
            raise self.fail("digest_mismatch", f"{logical_id}: bytes differ from the sealed digest",
                            logical_id=logical_id, path=expected, sealed_sha256_hex=row["sha256_hex"],
                            computed_sha256_hex=digest)
        notes = str(row.get("notes") or "")
        release = notes.split("release=", 1)[1] if notes.startswith("release=") else None
        version = policy["notes"].split("version=", 1)[1] if policy is not None else None
        return VerifiedInput(logical_id, row["artefact_kind"], expected, path, digest, release, version)

    def cache_release(self, item: VerifiedInput) -> VerifiedInput:
        """The tzdb release tag from the tz_timetable_cache manifest (the only file read)."""
        manifest = item.physical_path / "tz_timetable_cache.json"
        try:
            doc = json.loads(manifest.read_bytes())
        except (OSError, ValueError) as exc:
            raise self.infrastructure(f"tz_timetable_cache manifest unreadable: {exc}", item.catalogue_path, exc,
                                      "sealed_inputs") from exc
        tag = doc.get("tzdb_release_tag") if isinstance(doc, dict) else None
        return VerifiedInput(item.logical_id, item.artefact_kind, item.catalogue_path, item.physical_path,
                             item.sha256_hex, str(tag) if tag is not None else "", None)


def entry_gate(ctx: RunContext, spec: StateSpec | str, reads: Iterable[str], optional: Iterable[str] = ()) -> EntryGate:
    """01 §5.1 for one state: validate the S0 receipt and inventory, require upstream
    PASS, and re-verify path and digest of every artefact in `reads` (policies also
    exactly once in `sealed_policy_set`). `optional` ids are verified only when they are
    inventoried. Raises StateFailure with the state's own codes; starts the state clock."""
    spec = spec_for(spec) if isinstance(spec, str) else spec
    start_clock(ctx, spec.state)
    gate = _Gate(ctx, spec)
    packs = gate.packs()
    for dataset_id in (RECEIPT_ID, INVENTORY_ID, spec.report_id, *(x for x in [spec.output_id] if x)):
        gate.catalogue_path(dataset_id)
    receipt = gate.receipt(packs)
    rows = gate.inventory(packs)
    policy_ids = {p["logical_id"] for p in receipt["sealed_policy_set"]}
    optional = set(optional)
    result = EntryGate(ctx, spec, receipt, rows)
    for logical_id in reads:
        is_policy = _is_policy(ctx, logical_id, policy_ids)
        policy = gate.policy_entry(receipt, rows, logical_id) if is_policy else None
        if logical_id not in rows:
            if logical_id in optional:
                continue
            raise gate.fail("input_not_inventoried", f"required input {logical_id} is not inventoried",
                            reason="missing_sealed_inputs", logical_id=logical_id)
        item = gate.verify(rows[logical_id], policy)
        if logical_id == "tz_timetable_cache":
            item = gate.cache_release(item)
        result.verified[logical_id] = item
    return result


def is_placeholder(version: Any) -> bool:
    """Placeholder policy version (02 §0): empty after trim, TBD, null, unknown, or
    containing a brace."""
    if version is None:
        return True
    text = str(version).strip()
    return text in ("", "TBD", "null", "unknown") or "{" in text or "}" in text


def _is_policy(ctx: RunContext, logical_id: str, policy_ids: set[str]) -> bool:
    registered = (ctx.catalogue.registry_entry(logical_id) or {}).get("type")
    return registered == "policy" or logical_id in policy_ids


def _missing_reason(dataset_id: str) -> str:
    return "missing_gate_receipt" if dataset_id == RECEIPT_ID else "missing_sealed_inputs"


def gate_row(gate_table: pa.Table, logical_id: str) -> dict:
    """The entry-gate row of one artefact, from the gate model's table."""
    rows = [r for r in gate_table.to_pylist() if r["logical_id"] == logical_id]
    if len(rows) != 1:
        raise KeyError(f"{logical_id} was not verified by the entry gate")
    return rows[0]


def read_verified_bytes(ctx: RunContext, spec: StateSpec, gate_table: pa.Table, logical_id: str, mismatch: str) -> bytes:
    """The bytes of a sealed file, read once and checked against the digest the gate
    verified, so a loader parses exactly the sealed bytes (`mismatch` = code number)."""
    import hashlib

    row = gate_row(gate_table, logical_id)
    path = ctx.path(logical_id)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StateFailure(spec, spec.infrastructure, "policy_load", f"cannot read {logical_id}: {exc}",
                           operation="read", path=row["catalogue_path"], io_error_class=type(exc).__name__) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != row["sha256_hex"]:
        raise StateFailure(spec, mismatch, "sealed_inputs", f"{logical_id} changed after the entry gate",
                           logical_id=logical_id, path=row["catalogue_path"], sealed_sha256_hex=row["sha256_hex"],
                           computed_sha256_hex=digest)
    return data


# --------------------------------------------------------------------------- run reports
def write_state_report(
    ctx: RunContext,
    spec: StateSpec,
    status: str,
    *,
    failure: "ReportedFailure | None" = None,
    counts: Mapping[str, Any] | None = None,
    blocks: Mapping[str, Any] | None = None,
    output_format: str = "parquet",
) -> dict:
    """Write `s<k>_run_report_3A` (overwritten per invocation) and append the
    segment_state_runs row, on PASS and on FAIL (01 §5.3). A FAIL report gets, unless
    given, every counter null and the state's `fail_blocks`."""
    if status == "FAIL":
        counts = dict.fromkeys(spec.count_keys) if counts is None else counts
        blocks = copy.deepcopy(dict(spec.fail_blocks)) if blocks is None else blocks
    times = state_clock(ctx, spec.state).finish()
    output_path = ctx.catalogue_path(spec.output_id) if spec.output_id and status == "PASS" else None
    report = identity_fields(spec.state, ctx.tokens, status)
    report.update({
        "started_at_utc": times["started_at_utc"],
        "finished_at_utc": times["finished_at_utc"],
        "durations": {"wall_ms": times["elapsed_ms"]},
        "counts": dict(counts or {}),
        "error_code": failure.code if failure else None,
        "error_class": failure.error_class if failure else None,
        "error_context": failure.context if failure else None,
        "first_failure_phase": failure.phase if failure else None,
        "output": {"path": output_path, "format": output_format},
    })
    if spec.class_details:
        report["error_class_detail"] = spec.class_detail(failure.code if failure else None)
    report.update(dict(blocks or {}))
    violations = schema_packs(str(ctx.catalogue.root)).validate_json(RUN_REPORT_ANCHOR, report)
    if violations:
        raise StateFailure(spec, spec.infrastructure, spec.phases[-1], f"run report invalid: {violations[0]}",
                           operation="write", path=ctx.catalogue_path(spec.report_id), io_error_class="report_invalid")
    write_run_report(ctx.catalogue, ctx.run_root, ctx.tokens, spec.report_id, report)
    row = identity_fields(spec.state, ctx.tokens, status)
    row.update({
        "error_code": report["error_code"],
        "error_class": report["error_class"],
        "first_failure_phase": report["first_failure_phase"],
        "started_at_utc": times["started_at_utc"],
        "finished_at_utc": times["finished_at_utc"],
        "elapsed_ms": times["elapsed_ms"],
    })
    append_segment_state_run(ctx.catalogue, ctx.run_root, ctx.tokens, row)
    return report


# --------------------------------------------------------------------------- failures from dbt
@dataclass(frozen=True)
class ReportedFailure:
    """One state's failure as recorded in its FAIL run report."""

    code: str
    error_class: str
    phase: str
    context: dict


@dataclass(frozen=True)
class NodeOutcome:
    """One non-successful dbt node of this invocation, as the on-run-end hook saw it."""

    name: str
    resource_type: str
    status: str
    message: str
    states: tuple[str, ...]   # state tags (`S1`), own or inherited by a test from its model
    phase: str | None         # `meta.seg3a_phase` of the node, if any
    order: int                # position in dbt's results

    @classmethod
    def from_payload(cls, item: Mapping[str, Any], order: int) -> "NodeOutcome":
        tags = [str(t) for t in item.get("tags") or []]
        states = tuple(sorted({t.upper() for t in tags if re.fullmatch(r"s[0-9]", t)}))
        return cls(str(item.get("name") or ""), str(item.get("resource_type") or "model"),
                   str(item.get("status") or ""), str(item.get("message") or ""), states,
                   item.get("phase"), order)

    @property
    def failed(self) -> bool:
        return self.status not in ("skipped", "success", "pass")


def parse_failure(spec: StateSpec, node: NodeOutcome) -> ReportedFailure:
    """Code, phase and context of a failed node of `spec.state`, read from its message.
    A message without a code of this state is a contract/constraint failure of the
    published output (the output-schema code) or else the INFRASTRUCTURE catch-all."""
    found = [m for m in CODE_PATTERN.finditer(node.message) if m.group(1) == spec.state]
    if found:
        match = found[0]
        number = match.group(2)
        code = spec.codes.get(number, match.group(0))
        tail = node.message[match.end():]
        phase = _field(tail, "phase") or node.phase or spec.default_phase
        return ReportedFailure(code, spec.error_class(number), phase, _context(tail))
    if spec.output_schema and node.name == spec.output_id and _is_contract_failure(node.message):
        return ReportedFailure(spec.code(spec.output_schema), spec.error_class(spec.output_schema),
                               node.phase or spec.phases[-1],
                               {"violation_count": 1, "example_field": _example_field(node.message),
                                "detail": _first_line(node.message)})
    return ReportedFailure(spec.code(spec.infrastructure), spec.error_class(spec.infrastructure),
                           node.phase or spec.default_phase,
                           {"operation": "read", "path": None, "io_error_class": "unclassified",
                            "model": node.name, "detail": _first_line(node.message)})


def _field(tail: str, name: str) -> str | None:
    match = re.search(rf"\| {name}=([A-Za-z0-9_]+)", tail)
    return match.group(1) if match else None


def _context(tail: str) -> dict:
    """The `| context={...}` JSON, or else the `key=value` pairs of the message's first
    line (the write-once publisher reports `difference_kind=..., difference_count=...`)."""
    start = tail.find("| context=")
    if start < 0:
        line = tail.splitlines()[0] if tail else ""
        return {k: int(v) if v.isdigit() else v for k, v in re.findall(r"\b([a-z_]+)=([A-Za-z0-9_.-]+)", line)}
    try:
        value, _ = json.JSONDecoder().raw_decode(tail[start + len("| context="):])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_contract_failure(message: str) -> bool:
    lowered = message.lower()
    return "constraint error" in lowered or "contract" in lowered


def _example_field(message: str) -> str | None:
    match = re.search(r"CHECK\((?:\()*\"?([a-z_]+)\"?", message) or re.search(r"column \"?([a-z_]+)\"?", message)
    return match.group(1) if match else None


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines[:3])[:500]


def failure_of_state(spec: StateSpec, nodes: list[NodeOutcome]) -> ReportedFailure | None:
    """The one failure a state reports for this invocation, or None if it did not fail.
    Own failed nodes win (the earliest phase, then dbt's order); a state whose nodes were
    only skipped failed because an earlier node did: its entry-gate code when that node
    belongs to an earlier state, otherwise the code the message carries or the catch-all."""
    own = [n for n in nodes if spec.state in n.states]
    if not own:
        return None
    own_failed = [n for n in own if n.failed]
    if own_failed:
        reported = [(parse_failure(spec, n), n) for n in own_failed]
        reported.sort(key=lambda item: (spec.phase_rank(item[0].phase), item[1].order))
        return reported[0][0]
    if not any(n.status == "skipped" for n in own):
        return None
    causes = [n for n in nodes if n.failed and spec.state not in n.states]
    earlier = [n for n in causes if any(s < spec.state for s in n.states)]
    if earlier:
        cause = earlier[0]
        kind = "upstream_state_failed"
        # A failed S0 publishes no receipt: for the state that is a missing gate receipt,
        # unless the state's spec names the one reason an upstream failure reports.
        reason = spec.upstream_reason or (
            "missing_gate_receipt" if "S0" in cause.states else "upstream_state_failed")
        failed = ",".join(cause.states)
        # The keys the specs give an upstream state that is not PASS: its `state` and
        # `reported_status` (its FAIL report is written by the same hook), and the
        # state's `component` for it where the spec names one.
        context = {"reason": reason, "state": failed, "reported_status": "FAIL"}
        if failed in spec.upstream_components:
            context["component"] = spec.upstream_components[failed]
        return ReportedFailure(spec.code(spec.gate[kind]), spec.error_class(spec.gate[kind]), spec.gate_phases[kind],
                               {**context, "model": cause.name, "detail": _first_line(cause.message)})
    for cause in causes:
        if any(m.group(1) == spec.state for m in CODE_PATTERN.finditer(cause.message)):
            return parse_failure(spec, cause)
    cause = causes[0] if causes else None
    return ReportedFailure(spec.code(spec.infrastructure), spec.error_class(spec.infrastructure),
                           spec.default_phase,
                           {"operation": "read", "path": None, "io_error_class": "upstream_model_failed",
                            "model": cause.name if cause else None,
                            "detail": _first_line(cause.message) if cause else "skipped"})


def report_failed_states(payload: str, run_root: str | None) -> str:
    """Entry point of the on-run-end hook: write a FAIL report and segment_state_runs row
    for every state S1..S7 with a failed or skipped node. Never raises: a report that
    cannot be written must not turn into a second failure. Returns a short summary."""
    try:
        items = json.loads(payload)
    except ValueError:
        return "payload unreadable"
    nodes = [NodeOutcome.from_payload(item, i) for i, item in enumerate(items or [])]
    states = sorted({s for n in nodes for s in n.states if s != "S0"})
    if not states:
        return "no failed state"
    if not run_root:
        return "no run identity: " + ",".join(states)
    written = []
    for state in states:
        spec = spec_for(state)
        failure = failure_of_state(spec, nodes)
        if failure is None:
            continue
        try:
            ctx = context_from_run_root(run_root, spec)
            write_state_report(ctx, spec, "FAIL", failure=failure)
        except Exception as exc:  # the hook reports; it does not fail the invocation
            written.append(f"{state}:unwritten({type(exc).__name__})")
            continue
        written.append(f"{state}:{failure.code}")
    return ";".join(written) or "no failed state"


def report_failed_states_arrow(payloads: pa.Array, run_roots: pa.Array) -> pa.Array:
    """Arrow adapter for the `s3a_report_failed_states(payload, run_root)` UDF."""
    return pa.array(
        [report_failed_states(p or "[]", r) for p, r in zip(payloads.to_pylist(), run_roots.to_pylist())],
        type=pa.string(),
    )
