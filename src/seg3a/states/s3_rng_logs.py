"""RNG logs of 3A.S3 (spec 03 §2): the audit row, the event and trace files, and the
emission / replay / idempotence rules of §2.4.

The JSON lines themselves are built in SQL (`int_s3__rng_log_lines`) with keys in sorted
order and DuckDB's shortest round-trip float text (the same text as Python's `repr`);
this module decides the mode, validates, stages and moves files. Lines are written in
pair order: streamed in stored order when that is verified to be pair order, otherwise
sorted by DuckDB (`stream_in_key_order`). Events are validated column-wise against the
event anchor (vectorised: one pass per field over all rows) plus a full JSON-Schema
check of the first line, which shares its template with all.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from decimal import Decimal
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.catalogue import CatalogueError
from ..core.identity import IdentityError, git_commit_bytes
from ..core.paths import project_root
from ..core.schemas import SchemaPacks
from ..core.faults import checkpoint
from ..core.staging import (append_line_atomically, offer_prepared_stage, rename_into_place, stage_for,
                            sweep_legacy_stages, take_prepared_stage, write_publication_journal)
from .common import StateFailure, context_from_session, schema_packs
from .s3_draws import SPEC
from .s3_tables import KeyOrderBroken, stream_in_key_order

LOG_IDS = ("rng_audit_log", "rng_trace_log", "rng_event_zone_dirichlet")
RUN_TOKENS = ("seed={seed}", "parameter_hash={parameter_hash}", "run_id={run_id}")
EVENT_FILE = "part-00000.jsonl"
MODULE = "3A.S3"
SUBSTREAM = "zone_dirichlet"
ALGORITHM = "philox2x64-10"
AUDIT_KEYS = ("run_id", "seed", "parameter_hash", "manifest_fingerprint")
BATCH_ROWS = 50_000
PAIR_KEY = ["merchant_id", "legal_country_iso"]
PHASE_LOGS = "rng_logs"
PHASE_SAMPLING = "sampling"

MODE_SCHEMA = pa.schema([
    ("rng_log_mode", pa.string()), ("audit_row_written", pa.bool_()), ("ts_utc", pa.string()),
    ("run_id", pa.string()), ("seed", pa.uint64()), ("parameter_hash", pa.string()),
    ("manifest_fingerprint", pa.string()), ("build_commit", pa.string()),
])


def fail(number: str, phase: str, message: str, **context: Any) -> StateFailure:
    return StateFailure(SPEC, number, phase, message, **context)


def io_failure(phase: str, message: str, path: Path | str | None, exc: Exception, operation: str) -> StateFailure:
    return fail("012", phase, message, operation=operation, path=str(path) if path else None,
                io_error_class=type(exc).__name__)


@dataclass(frozen=True)
class LogPaths:
    audit: Path
    trace: Path
    events_dir: Path

    @property
    def events(self) -> Path:
        return self.events_dir / EVENT_FILE


def log_paths(ctx) -> LogPaths:
    """Physical locations of the three logs; a template without the run-scoped tokens
    (or a catalogue problem) is E3A_S3_002."""
    try:
        for log_id in LOG_IDS:
            template = ctx.catalogue.template(log_id)
            missing = [token for token in RUN_TOKENS if token not in template]
            if missing:
                raise fail("002", PHASE_LOGS, f"{log_id} path template lacks {', '.join(missing)}",
                           catalogue_id="dictionary_3A", dataset_id=log_id, template=template)
        return LogPaths(ctx.path("rng_audit_log"), ctx.path("rng_trace_log"),
                        ctx.path("rng_event_zone_dirichlet").parent)
    except CatalogueError as exc:
        raise fail("002", PHASE_LOGS, str(exc), catalogue_id=exc.catalogue_id, dataset_id=exc.dataset_id) from exc


# --------------------------------------------------------------------------- reading existing logs
def _lines(path: Path) -> Iterable[str]:
    with open(path, "r", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line


def events_exist(paths: LogPaths) -> bool:
    """§2.4 rule 1: an event part file has a non-blank line."""
    if not paths.events_dir.is_dir():
        return False
    return any(next(iter(_lines(part)), None) is not None for part in sorted(paths.events_dir.glob("part-*.jsonl")))


def trace_exists(paths: LogPaths) -> bool:
    """§2.4 rule 1: the trace has a row of this module and substream."""
    if not paths.trace.is_file():
        return False
    for number, line in enumerate(_lines(paths.trace), start=1):
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise fail("007", PHASE_LOGS, f"rng_trace_log line {number} is not JSON", reason="trace_unreadable",
                       line=number) from exc
        if isinstance(row, dict) and row.get("module") == MODULE and row.get("substream_label") == SUBSTREAM:
            return True
    return False


def existing_audit_rows(paths: LogPaths, packs: SchemaPacks, anchor: str) -> list[dict]:
    """Every audit row on file; an unparsable or schema-invalid row is E3A_S3_007."""
    if not paths.audit.is_file():
        return []
    rows = []
    for number, line in enumerate(_lines(paths.audit), start=1):
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise fail("007", PHASE_LOGS, f"rng_audit_log line {number} is not JSON", reason="invalid_audit_row",
                       line=number) from exc
        violations = packs.validate_json(anchor, row)
        if violations:
            raise fail("007", PHASE_LOGS, f"rng_audit_log line {number} fails its schema: {violations[0]}",
                       reason="invalid_audit_row", line=number, violation_count=len(violations))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- the audit row (§2.3)
def build_commit() -> str:
    """The engine commit as 64 hex (a 40-hex commit left-padded with 24 zeros)."""
    try:
        return git_commit_bytes(project_root()).hex()
    except IdentityError as exc:
        raise fail("012", PHASE_LOGS, f"engine commit unknown: {exc}", operation="read", path=None,
                   io_error_class="engine_commit_unknown") from exc


def audit_record(ctx, commit: str) -> dict:
    tokens = ctx.tokens
    return {
        "algorithm": ALGORITHM, "build_commit": commit, "code_digest": None, "hostname": None,
        "manifest_fingerprint": tokens.manifest_fingerprint, "notes": None, "parameter_hash": tokens.parameter_hash,
        "platform": None, "run_id": tokens.run_id, "seed": tokens.seed, "ts_utc": ctx.receipt.created_utc,
    }


def json_line(record: dict) -> bytes:
    """§2 line format: sorted keys, ASCII, `", "`/`": "` separators, LF."""
    return (json.dumps(record, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def _matches(row: dict, record: dict) -> bool:
    return all(row.get(key) == record[key] for key in AUDIT_KEYS)


def prepare_logs(session) -> pa.Table:
    """§2.4 before sampling: decide replay or emission, reject partial logs, and in
    emission mode ensure the audit row. One row: mode and the audit identity."""
    ctx = context_from_session(session, SPEC)
    packs = schema_packs(str(ctx.catalogue.root))
    paths = log_paths(ctx)
    anchor = ctx.catalogue.entry("rng_audit_log")["schema_ref"]
    record = audit_record(ctx, build_commit())
    violations = packs.validate_json(anchor, record)
    if violations:
        raise fail("007", PHASE_LOGS, f"audit row invalid: {violations[0]}", reason="invalid_audit_row",
                   violation_count=len(violations))
    try:
        rows = existing_audit_rows(paths, packs, anchor)
        have_events, have_trace = events_exist(paths), trace_exists(paths)
    except OSError as exc:
        raise io_failure(PHASE_LOGS, f"cannot read the RNG logs: {exc}", paths.audit.parent, exc, "read") from exc
    matching = any(_matches(row, record) for row in rows)
    if have_events != have_trace:
        raise fail("007", PHASE_LOGS, "rng_log_partial: exactly one of events and trace exists",
                   reason="trace_mismatch", events_exist=have_events, trace_exists=have_trace)
    mode = "replay" if have_events else "emit"
    if mode == "replay" and not matching:
        raise fail("007", PHASE_LOGS, "replay mode without a matching audit row", reason="audit_missing")
    written = False
    if mode == "emit" and not matching:
        try:
            append_line_atomically(paths.audit, json_line(record))
        except OSError as exc:
            raise io_failure(PHASE_LOGS, f"cannot write the audit row: {exc}", paths.audit, exc, "write") from exc
        written = True
    row = {"rng_log_mode": mode, "audit_row_written": written,
           **{key: record[key] for key in ("ts_utc", *AUDIT_KEYS, "build_commit")}}
    return pa.Table.from_pylist([row], schema=MODE_SCHEMA)


# --------------------------------------------------------------------------- event validation (§2.4 rule 3)
def _resolved(packs: SchemaPacks, pack: str, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        node = packs.resolve(f"{pack}{ref}" if ref.startswith("#/") else ref)
    return node


def _branches(packs: SchemaPacks, pack: str, node: dict) -> tuple[list[dict], bool]:
    """(non-null branches, null allowed) of a property schema."""
    node = _resolved(packs, pack, node)
    if "anyOf" in node:
        branches = [_resolved(packs, pack, b) for b in node["anyOf"]]
        nullable = any(b.get("type") == "null" for b in branches)
        return [b for b in branches if b.get("type") != "null"], nullable
    types = node.get("type")
    if isinstance(types, list):
        return [{**node, "type": [t for t in types if t != "null"][0]}], "null" in types
    return [node], False


def _type_ok(kind: str | None, arrow_type: pa.DataType) -> bool:
    return {
        "integer": pa.types.is_integer(arrow_type),
        "number": pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type),
        "string": pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type),
        "boolean": pa.types.is_boolean(arrow_type),
        None: True,
    }.get(kind, False)


def _pattern_failures(values: pa.Array, pattern: str) -> pa.Array:
    """Boolean mask: the string value does not match `pattern`. A match depends on the
    value only, so the regular expression runs once per distinct value (ids, run
    tokens and country codes repeat on every line) and the verdicts are taken back to
    the rows: hashing a value costs far less than matching it."""
    encoded = values.dictionary_encode()
    distinct_fail = pc.invert(pc.match_substring_regex(encoded.dictionary, pattern))
    return pc.take(distinct_fail, encoded.indices)


def _integer_bound_failures(values: pa.Array, bound: int, compare) -> pa.Array:
    """`compare(values, bound)`, exactly: in the values' own integer type when it holds the
    bound (no conversion of the column), else in decimal128(38), which holds every uint64
    and int64 value and bound exactly."""
    limits = np.iinfo(values.type.to_pandas_dtype())
    if limits.min <= bound <= limits.max:
        return compare(values, pa.scalar(bound, values.type))
    exact = pa.decimal128(38, 0)
    return compare(values.cast(exact), pa.scalar(Decimal(bound), exact))


def _branch_failures(branch: dict, values: pa.Array) -> pa.Array:
    """Boolean mask: the value fails this branch (values are non-null)."""
    if not _type_ok(branch.get("type"), values.type):
        return pa.array(np.ones(len(values), dtype=bool))
    bad = pa.array(np.zeros(len(values), dtype=bool))
    if pa.types.is_floating(values.type):
        bad = pc.or_(bad, pc.invert(pc.is_finite(values)))
    if "const" in branch:
        bad = pc.or_(bad, pc.not_equal(values, pa.scalar(branch["const"], type=values.type)))
    if "pattern" in branch:
        bad = pc.or_(bad, _pattern_failures(values, branch["pattern"]))
    if "minLength" in branch:
        bad = pc.or_(bad, pc.less(pc.utf8_length(values), branch["minLength"]))
    for keyword, compare in (("minimum", pc.less), ("maximum", pc.greater),
                             ("exclusiveMinimum", pc.less_equal), ("exclusiveMaximum", pc.greater_equal)):
        if keyword in branch:
            bound = branch[keyword]
            if pa.types.is_integer(values.type) and isinstance(bound, int):
                failing = _integer_bound_failures(values, bound, compare)
            else:
                failing = compare(values.cast(pa.float64()), pa.scalar(float(bound)))
            bad = pc.or_(bad, failing)
    return bad


def column_violations(packs: SchemaPacks, anchor: str, table: pa.Table) -> list[str]:
    """The anchor's rules applied to every row of `table` (columns = JSON keys): key
    set, types, const, pattern, length and bounds, with nullability from `anyOf` /
    type lists. Returns one message per failing field (with the row count)."""
    pack = anchor.split("#", 1)[0]
    node = _resolved(packs, pack, packs.resolve(anchor))
    properties = node.get("properties", {})
    problems = [f"missing field {key}" for key in node.get("required", []) if key not in table.column_names]
    if node.get("additionalProperties") is False:
        problems += [f"unexpected field {name}" for name in table.column_names if name not in properties]
    for name in table.column_names:
        if name not in properties:
            continue
        values = table.column(name).combine_chunks()
        branches, nullable = _branches(packs, pack, properties[name])
        if values.null_count and not nullable:
            problems.append(f"{name}: {values.null_count} null values")
        present = pc.drop_null(values)
        if not len(present) or not branches:
            continue
        # A value fails when it fails every non-null branch of anyOf.
        failing = functools.reduce(pc.and_, (_branch_failures(b, present) for b in branches))
        count = int(pc.sum(failing.cast(pa.int64())).as_py() or 0)
        if count:
            problems.append(f"{name}: {count} values violate {anchor}")
    return problems


# --------------------------------------------------------------------------- emission (§2.4 rule 3)
EVENT_COLUMNS = (
    "alpha_max", "alpha_min", "alpha_sum_country", "blocks", "country_iso", "draws", "manifest_fingerprint",
    "merchant_id", "module", "notes", "parameter_hash", "rng_counter_after_hi", "rng_counter_after_lo",
    "rng_counter_before_hi", "rng_counter_before_lo", "rng_stream_id", "run_id", "seed", "substream_label",
    "ts_utc", "zone_count",
)


def _text_bytes(lines: pa.Array) -> memoryview:
    """The concatenated bytes of a string column whose values already end in LF (a view
    of Arrow's data buffer: no per-line Python objects)."""
    lines = lines.cast(pa.large_string())
    if not len(lines):
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]):int(offsets[-1])]


def _check_first_lines(packs: SchemaPacks, ctx, batch: pa.RecordBatch) -> None:
    """Full JSON-Schema validation of the first event and trace line, and a check that
    the SQL template prints exactly what Python's `json.dumps(sort_keys=True)` would."""
    for log_id, column in (("rng_event_zone_dirichlet", "event_line"), ("rng_trace_log", "trace_line")):
        line = batch.column(column)[0].as_py()
        record = json.loads(line)
        violations = packs.validate_json(ctx.catalogue.entry(log_id)["schema_ref"], record)
        if violations or json_line(record).decode("ascii") != line:
            detail = str(violations[0]) if violations else "line differs from its canonical rendering"
            raise fail("007", PHASE_SAMPLING, f"{log_id} row invalid: {detail}", reason="event_schema_invalid",
                       violation_count=max(1, len(violations)))


def _stage_lines(batches, packs: SchemaPacks, ctx, events_file: Path, trace_file: Path) -> int:
    """Write every event and trace line of `batches` (in pair order), starting both
    files afresh; returns the number of events."""
    anchor = ctx.catalogue.entry("rng_event_zone_dirichlet")["schema_ref"]
    count = 0
    with open(events_file, "wb") as events, open(trace_file, "wb") as trace:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if batch.column("event_line").null_count or batch.column("trace_line").null_count:
                raise fail("007", PHASE_SAMPLING, "an event or trace line is null", reason="event_schema_invalid")
            if count == 0:
                _check_first_lines(packs, ctx, batch)
            problems = column_violations(packs, anchor, pa.Table.from_batches([batch]).select(list(EVENT_COLUMNS)))
            if problems:
                raise fail("007", PHASE_SAMPLING, f"event rows fail {anchor}: {problems[0]}",
                           reason="event_schema_invalid", violation_count=len(problems), issues=problems)
            events.write(_text_bytes(batch.column("event_line")))
            trace.write(_text_bytes(batch.column("trace_line")))
            if count == 0:  # named by the file, not its stage (whose name changes every run)
                checkpoint("rng_log_writing", events_file.name)
            count += batch.num_rows
        for handle in (events, trace):
            handle.flush()
            os.fsync(handle.fileno())
    return count


def _move_into_place(staged: Path, target: Path, log_id: str) -> None:
    """Atomic move; an existing target is E3A_S3_011 unless it holds the same bytes
    (only possible for a zero-line file, which does not count as existing logs)."""
    if target.exists():
        if target.is_file() and target.read_bytes() == staged.read_bytes():
            return
        raise fail("011", PHASE_SAMPLING, f"{log_id} already present at publish", output_id=log_id,
                   difference_kind="file_present")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        rename_into_place(staged, target)
    except OSError as exc:
        raise io_failure(PHASE_SAMPLING, f"cannot move {log_id} into place: {exc}", target, exc, "write") from exc


def _logs_root(paths: LogPaths) -> Path:
    """The folder holding both logs: the key of their one stage."""
    return Path(os.path.commonpath([paths.events_dir, paths.trace.parent]))


def _staged_files(paths: LogPaths) -> tuple[str, str]:
    return EVENT_FILE, paths.trace.name


def _stage_logs(ctx, lines_relation, paths: LogPaths) -> tuple[Path, int]:
    """Stage the event and trace files complete (every line validated, in pair order,
    synced); returns the stage and the lines written. A failure removes the stage."""
    logs_root = _logs_root(paths)
    sweep_legacy_stages(logs_root)
    packs = schema_packs(str(ctx.catalogue.root))
    stage = None
    events_file, trace_name = _staged_files(paths)
    try:
        stage = stage_for(logs_root)
        written = stream_in_key_order(
            lines_relation, PAIR_KEY,
            lambda batches: _stage_lines(batches, packs, ctx, stage / events_file, stage / trace_name),
            BATCH_ROWS)
    except (OSError, KeyOrderBroken) as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        raise io_failure(PHASE_SAMPLING, f"cannot stage the RNG logs: {exc}", stage, exc, "write") from exc
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage, written


def stage_logs_ahead(session, lines_relation, mode_table: pa.Table) -> pa.Table:
    """In emission mode, stage the event and trace files while s3_zone_shares is still
    being written and checked, and offer the stage to `emit_logs` of this process,
    which moves the files into place only after the shares are published (§2.4 rule 3:
    staged in temp files, moved after the publication). Nothing is published here.

    A failure is not raised here: the stage is dropped and `emit_logs` stages the files
    itself and raises that failure, with its code, message and context, at the point of
    the build where it always did (after the shares are published; not at all when the
    shares fail first). One row: the mode and the lines staged."""
    mode = mode_table.column("rng_log_mode")[0].as_py()
    staged = 0
    if mode == "emit":
        try:
            ctx = context_from_session(session, SPEC)
            paths = log_paths(ctx)
            stage, staged = _stage_logs(ctx, lines_relation, paths)
            offer_prepared_stage(_logs_root(paths), stage, staged)
        except Exception:  # noqa: BLE001 - raised again, in order, by emit_logs (see above)
            staged = 0
    return pa.table({"rng_log_mode": pa.array([mode], pa.string()),
                     "lines_staged": pa.array([staged], pa.int64())})


def emit_logs(session, lines_relation, mode_table: pa.Table) -> pa.Table:
    """After s3_zone_shares is published: in emission mode move the event and trace
    files into place (events first), from the stage `stage_logs_ahead` prepared in this
    process or else staged now in pair order; in replay mode write nothing. One row:
    mode, events, trace rows written."""
    ctx = context_from_session(session, SPEC)
    mode = mode_table.column("rng_log_mode")[0].as_py()
    # A plain column only, so that DuckDB need not build the lines to count them.
    events_total = int(lines_relation.project("merchant_id").aggregate("count(*)::bigint").fetchone()[0])
    paths = log_paths(ctx)
    if mode == "replay":
        sweep_legacy_stages(_logs_root(paths))
        return _emission_row(mode, events_total, events_total, 0)
    prepared = take_prepared_stage(_logs_root(paths), _staged_files(paths))
    stage, written = prepared if prepared is not None else _stage_logs(ctx, lines_relation, paths)
    try:
        # Both files are staged complete: from here a kill leaves a journal with which the
        # next run's sweep finishes the publication, never events without a trace.
        write_publication_journal(stage, [(stage / EVENT_FILE, paths.events),
                                          (stage / paths.trace.name, paths.trace)])
        _move_into_place(stage / EVENT_FILE, paths.events, "rng_event_zone_dirichlet")
        _move_into_place(stage / paths.trace.name, paths.trace, "rng_trace_log")
    except OSError as exc:
        raise io_failure(PHASE_SAMPLING, f"cannot stage the RNG logs: {exc}", stage, exc, "write") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return _emission_row(mode, events_total, written, written)


def _emission_row(mode: str, events: int, trace_rows: int, lines_written: int) -> pa.Table:
    return pa.table({
        "rng_log_mode": pa.array([mode], pa.string()),
        "rng_events": pa.array([events], pa.int64()),
        "rng_trace_rows": pa.array([trace_rows], pa.int64()),
        "lines_written": pa.array([lines_written], pa.int64()),
    })
