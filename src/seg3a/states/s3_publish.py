"""Write-once Parquet publishing of a state's validated output relation (spec 01 §5.4,
03 §3.6, §4.3), shared by S3 and S4.

The rows are streamed from DuckDB in key order (the stored order when it already is,
verified row by row, otherwise sorted by DuckDB; see `stream_in_key_order`) into one
zstd `part-00000.parquet` in a staging directory beside the dictionary path, with the
anchor's Arrow types and row groups of exactly ROW_GROUP_ROWS rows, so the bytes depend
on the rows only, never on batch sizes or threads. The stage is then committed with the
project's write-once rule: an identical existing partition is a no-op, a different one
the state's immutability failure. The same stream proves the key unique: a key seen
twice aborts before the commit with the state's duplicate-key code, so nothing is
published. Memory stays at a few row groups whatever the size.

The state's checking model writes that part file itself (`stage_checked`), checks the
file's bytes and leaves the stage for the publishing model (core.partitions'
`register_checked_stage`), which then commits it by rename instead of streaming and
writing the rows a second time; without a checked stage of this process (the checking
model ran in another invocation) `publish_relation` writes the rows itself.

Columns that hold one value per run (seed, fingerprint, lineage ids, literals) can be
named as `run_constants`: DuckDB then hands over only the other columns plus one
boolean per row saying the row holds the first row's value in each of them, and the
writer repeats those values on the Arrow side. Converting tens of millions of repeated
64-character strings to Arrow is most of what such columns cost; the written bytes are
the same, since the writer sees the same values. A row that does not hold them (the
columns are not constant after all) makes the writer start again with every column
streamed from DuckDB."""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.partitions import PartitionImmutable, checked_stage, commit_partition, make_stage, register_checked_stage
from ..core.proven import KEY_ORDER
from .common import StateFailure, StateSpec, schema_packs
from .s5_digests import parquet_scan
from .s3_tables import DuplicateKey, KeyOrderBroken, check_relation, literal, quoted, stream_in_key_order

PART_NAME = "part-00000.parquet"
ROW_GROUP_ROWS = 122_880
# The per-row proof that the run-constant columns hold their first row's values.
RUN_CONSTANTS_HOLD = "__seg3a_run_constants_hold"


@dataclass(frozen=True)
class PublishCodes:
    """The state's code numbers and phase for publishing one dataset."""

    spec: StateSpec
    immutability: str
    duplicate_key: str
    phase: str


class RunConstantsBroken(Exception):
    """A column named as a run constant holds another value than the first row's."""


class _RowGroupWriter:
    """A Parquet writer that emits row groups of exactly `rows` rows. Columns in
    `constants` (name -> value) are not streamed: the batches carry the others and the
    RUN_CONSTANTS_HOLD proof, and each row group gets the values repeated."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int, constants: dict[str, pa.Array] | None = None) -> None:
        self.schema = schema
        self.rows = rows
        # Cast like a streamed column (a value the contract type cannot hold fails alike).
        self.constants = {name: value.cast(schema.field(name).type)[0] for name, value in (constants or {}).items()}
        self.streamed = pa.schema([field for field in schema if field.name not in self.constants])
        self.repeated: dict[int, dict[str, pa.Array]] = {}
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.written = 0
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")

    def add(self, batch: pa.RecordBatch) -> None:
        if self.constants and not pc.all(batch.column(RUN_CONSTANTS_HOLD)).as_py():
            raise RunConstantsBroken(f"a row holds another value in one of {', '.join(self.constants)}")
        self.pending.append(pa.RecordBatch.from_arrays(
            [batch.column(f.name).cast(f.type) for f in self.streamed], schema=self.streamed))
        self.pending_rows += batch.num_rows
        while self.pending_rows >= self.rows:
            table = pa.Table.from_batches(self.pending, schema=self.streamed)
            self._write(table.slice(0, self.rows))
            rest = table.slice(self.rows)
            self.pending, self.pending_rows = rest.to_batches(), rest.num_rows

    def close(self) -> int:
        if self.pending_rows or self.written == 0:
            self._write(pa.Table.from_batches(self.pending, schema=self.streamed))
        self.writer.close()
        return self.written

    def _write(self, table: pa.Table) -> None:
        table = table.combine_chunks()
        if self.constants:
            table = pa.Table.from_arrays([self._column(table, field.name) for field in self.schema], schema=self.schema)
        self.writer.write_table(table, row_group_size=self.rows)
        self.written += table.num_rows

    def _column(self, table: pa.Table, name: str) -> pa.Array:
        if name not in self.constants:
            return table.column(name)
        n = table.num_rows
        if n not in self.repeated:  # every full row group has the same length: built once
            self.repeated[n] = {c: pa.repeat(value, n) for c, value in self.constants.items()}
        return self.repeated[n][name]


def _write_part(path: Path, schema: pa.Schema, constants: dict[str, pa.Array] | None = None):
    """The `consume` of stream_in_key_order: (re)writes the part file from the start."""
    def consume(batches) -> int:
        writer = _RowGroupWriter(path, schema, ROW_GROUP_ROWS, constants)
        try:
            for batch in batches:
                writer.add(batch)
        except BaseException:
            writer.writer.close()
            raise
        return writer.close()
    return consume


def _first_row_constants(relation, run_constants: Sequence[str]) -> dict[str, pa.Array]:
    """The first row's value (a one-row Arrow array, as DuckDB hands the column over) of
    each run-constant column whose value is an exact SQL literal (text, integers,
    booleans, NULL); {} for an empty relation."""
    if not run_constants:
        return {}
    first = relation.project(", ".join(quoted(c) for c in run_constants)).limit(1).to_arrow_table()
    if first.num_rows == 0:
        return {}
    values = {name: first.column(name).combine_chunks() for name in run_constants}
    return {name: value for name, value in values.items()
            if value[0].as_py() is None or isinstance(value[0].as_py(), (str, int, bool))}


def _holds_constants(constants: dict[str, pa.Array]) -> str:
    """SQL: the row holds every constant's value (never NULL)."""
    tests = []
    for name, value in constants.items():
        python_value = value[0].as_py()
        tests.append(f"{quoted(name)} is null" if python_value is None
                     else f"coalesce({quoted(name)} = {literal(python_value)}, false)")
    return " and ".join(tests)


def write_part_file(relation, key: list[str], path: Path, schema: pa.Schema,
                    run_constants: Sequence[str] = ()) -> int:
    """Write `relation` in strictly increasing key order as the part file at `path`;
    returns the rows. Columns of `run_constants` are proven equal to their first row's
    value on every row and repeated by the writer instead of streamed; if a row differs,
    the file is written again with every column streamed. Same bytes either way."""
    # Key columns are streamed whatever the caller names: the key-order proof reads them.
    constants = _first_row_constants(relation, [c for c in run_constants if c not in key])
    if constants:
        streamed = [c for c in relation.columns if c not in constants]
        proven = relation.project(", ".join([*(quoted(c) for c in streamed),
                                             f"{_holds_constants(constants)} as {quoted(RUN_CONSTANTS_HOLD)}"]))
        try:
            return stream_in_key_order(proven, key, _write_part(path, schema, constants))
        except RunConstantsBroken:
            pass
    return stream_in_key_order(relation, key, _write_part(path, schema))


def _write_stage(ctx, codes: PublishCodes, dataset_id: str, relation, key: list[str],
                 run_constants: Sequence[str] = ()) -> tuple[Path, int]:
    """A fresh stage holding `relation` (already validated or about to be) as the
    dataset's part file, streamed in key order (`write_part_file`); (stage, rows). A key
    seen twice raises the duplicate-key code; nothing is left behind on failure."""
    spec = codes.spec
    target = ctx.path(dataset_id)
    schema = schema_packs(str(ctx.catalogue.root)).arrow_schema(ctx.catalogue.entry(dataset_id)["schema_ref"])
    stage = None
    try:
        stage = make_stage(target)
        rows = write_part_file(relation, key, stage / PART_NAME, schema, run_constants)
        return stage, rows
    except BaseException as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, DuplicateKey):
            raise StateFailure(spec, codes.duplicate_key, codes.phase, f"duplicate key in {dataset_id}",
                               reason="duplicate_output_key", output_id=dataset_id,
                               sample_key=dict(zip(key, exc.key_value))) from None
        if isinstance(exc, (OSError, KeyOrderBroken, pa.ArrowException)):
            raise _write_failure(ctx, codes, dataset_id, exc) from None
        raise


def _write_failure(ctx, codes: PublishCodes, dataset_id: str, exc: BaseException) -> StateFailure:
    spec = codes.spec
    return StateFailure(spec, spec.infrastructure, codes.phase, f"cannot publish {dataset_id}: {exc}",
                        operation="write", path=ctx.catalogue_path(dataset_id), io_error_class=type(exc).__name__)


def stage_checked(session, ctx, codes: PublishCodes, dataset_id: str, relation, key: list[str], check,
                  run_constants: Sequence[str] = ()) -> int:
    """Write `relation` as the part file it will be published as, in a stage, and call
    `check(written)` with a DuckDB relation over that file, so that the checks read the
    very bytes that get published (it raises the state's failure if they do not pass).
    A passed stage is registered for `publish_relation` of this process, which commits
    it by rename; a failed one is removed. Returns the rows written. `run_constants`:
    columns expected to hold one value per run (see `write_part_file`)."""
    stage, rows = _write_stage(ctx, codes, dataset_id, relation, key, run_constants)
    try:
        check(session.sql(f"select * from {parquet_scan(stage / PART_NAME)}"))
        # The writer was handed the rows in strictly increasing key order (a break
        # raises) and wrote them in that order: these bytes, hashed after the write and
        # published by rename, hold every key once; S6's uniqueness checks of the dataset
        # take this instead of a pass of their own while the published file still hashes
        # so (s6_validation.proven_unique).
        KEY_ORDER.remember(tuple(key), stage / PART_NAME)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    register_checked_stage(ctx.path(dataset_id), stage)
    return rows


def table_schema_check(ctx, dataset_id: str, anchor: str, refuse):
    """A `stage_checked` check of the written rows against the dataset's table anchor and
    the partition tokens they embed; `refuse(message, **context)` makes the state's
    failure. Keys are not checked again: the key-ordered stream that wrote the file
    proved them unique."""
    embedded = {"seed": ctx.tokens.seed, "manifest_fingerprint": ctx.tokens.manifest_fingerprint}

    def check(written) -> None:
        found = check_relation(schema_packs(str(ctx.catalogue.root)), anchor, written, embedded, keys=False)
        if found.schema:
            raise refuse(f"{dataset_id} rows fail the table schema: {found.first_message()}",
                         violation_count=found.schema_count, example_field=found.example_field())
    return check


def publish_relation(ctx, codes: PublishCodes, dataset_id: str, relation, key: list[str]) -> dict:
    """Publish `relation` (already validated) as the dataset's partition; returns
    {rows, created}. The stage `stage_checked` left in this process is committed as it
    is; without one the rows are written here. A different existing partition raises
    the immutability code."""
    spec = codes.spec
    target = ctx.path(dataset_id)
    stage = checked_stage(target)
    rows = None
    if stage is None:
        stage, rows = _write_stage(ctx, codes, dataset_id, relation, key)
    try:
        if rows is None:  # the checked stage: its file says how many rows it holds
            rows = pq.ParquetFile(stage / PART_NAME).metadata.num_rows
        created = commit_partition(stage, target)  # removes the stage either way
    except PartitionImmutable as exc:
        raise StateFailure(spec, codes.immutability, codes.phase, f"{dataset_id} already published with different content",
                           output_id=dataset_id, path=ctx.catalogue_path(dataset_id),
                           difference_kind=exc.difference_kind, difference_count=exc.difference_count) from None
    except (OSError, pa.ArrowException) as exc:
        raise _write_failure(ctx, codes, dataset_id, exc) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"rows": rows, "created": created}
