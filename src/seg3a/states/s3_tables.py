"""Table checks shared by S3 and S4.

`check_relation` validates a DuckDB relation (a dbt model's table) against a table
anchor of the schema packs without copying it into Python: the anchor's column rules
(column set and order, types, nullability, finiteness, bounds, lengths, enums) are
compiled to one `count(*) filter (where ...)` aggregate that DuckDB runs as a single
parallel scan, patterns to a test of each column's distinct values, and key
duplicates to one grouped count. Path<->embed equality
(01 §2.4) is checked in the same scan. Violations use the paths of
`SchemaPacks.validate_table` (`columns`, `columns.<name>`, `primary_key`,
`unique_keys`, `sort_keys`), so both kinds of validation read alike.

Keys are checked by order first: the key columns are streamed once in the relation's
stored order and compared row to row (vectorised, bounded memory). Strictly increasing
keys prove uniqueness without a grouped count, which then only runs for relations that
are not in key order. The result also says whether the stored order is the writer sort
(`in_writer_order`), so a publisher can skip sorting again when it is."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from queue import Full, Queue
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.schemas import SchemaPacks, Violation

KEY_PATHS = ("primary_key", "unique_keys")
DUCKDB_TYPES = {
    "string": {"VARCHAR"}, "bool": {"BOOLEAN"}, "int16": {"SMALLINT"}, "int32": {"INTEGER"},
    "int64": {"BIGINT"}, "uint32": {"UINTEGER"}, "uint64": {"UBIGINT"}, "float64": {"DOUBLE"},
    "date": {"DATE"}, "geometry": {"BLOB", "GEOMETRY"},
}
_BOUNDS = (("minimum", "<", "below minimum"), ("exclusiveMinimum", "<=", "not above exclusive minimum"),
           ("maximum", ">", "above maximum"), ("exclusiveMaximum", ">=", "not below exclusive maximum"))
EXAMPLES = 3
KEY_BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class TableCheck:
    """Violations of one table, split into key duplicates and everything else."""

    schema: list[Violation]
    keys: list[Violation]
    in_writer_order: bool = False

    @property
    def schema_count(self) -> int:
        return sum(v.count for v in self.schema)

    @property
    def key_count(self) -> int:
        return sum(v.count for v in self.keys)

    def example_field(self) -> str | None:
        return self.schema[0].path.removeprefix("columns.") if self.schema else None

    def first_message(self) -> str:
        found = self.schema or self.keys
        return str(found[0]) if found else ""


# --------------------------------------------------------------------------- SQL rendering
def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value!r}::double"
    return "'" + str(value).replace("'", "''") + "'"


def column_rules(column: dict) -> list[tuple[str, str, str]]:
    """(message, SQL predicate true for a violating row, SQL aggregate true only when no
    row violates) for one column's value rules, except patterns (see `pattern_rule`)."""
    name, ctype = quoted(column["name"]), column["type"]
    rules = []
    if not column.get("nullable", False):
        rules.append(("null in non-nullable column", f"{name} is null", not_null_proof(name)))
    if ctype == "float64":
        rules.append(("non-finite value", f"not isfinite({name})", finite_proof(name)))
    if ctype in ("geometry", "bool", "date"):
        return rules
    for keyword, operator, label in _BOUNDS:
        if keyword in column:
            bound = literal(column[keyword])
            rules.append((f"{label} {column[keyword]}", f"{name} {operator} {bound}", bound_proof(name, keyword, bound)))
    if ctype == "string":
        if "minLength" in column:
            rules.append((f"shorter than {column['minLength']}", f"length({name}) < {column['minLength']}",
                          bound_proof(f"length({name})", "minimum", str(column["minLength"]))))
        if "maxLength" in column:
            rules.append((f"longer than {column['maxLength']}", f"length({name}) > {column['maxLength']}",
                          bound_proof(f"length({name})", "maximum", str(column["maxLength"]))))
    if "enum" in column:
        predicate = f"{name} not in ({', '.join(literal(v) for v in column['enum'])})"
        rules.append((f"not one of {column['enum']}", predicate, no_row_proof(predicate)))
    return rules


# Aggregates true only when no row violates a rule: a column's min, max or non-null count
# decides most rules at about half the cost of counting each rule's violating rows
# (`_value_violations`). Nulls violate no value rule (nullability is a rule of its own),
# so an all-null column proves the bounds. DuckDB orders NaN above +inf: a NaN is the
# max, so it fails the finiteness proof and an upper bound, as its row fails their
# predicates, and it is never the min unless every value is NaN.
_PROOF_EXTREMES = {"minimum": ("min", ">="), "exclusiveMinimum": ("min", ">"),
                   "maximum": ("max", "<="), "exclusiveMaximum": ("max", "<")}


def not_null_proof(column_sql: str) -> str:
    return f"count({column_sql}) = count(*)"


def finite_proof(column_sql: str) -> str:
    return f"coalesce(isfinite(min({column_sql})) and isfinite(max({column_sql})), true)"


def bound_proof(column_sql: str, keyword: str, bound_sql: str) -> str:
    """`keyword` is a JSON Schema bound (minimum, exclusiveMinimum, maximum, exclusiveMaximum)."""
    extreme, holds = _PROOF_EXTREMES[keyword]
    return f"coalesce({extreme}({column_sql}) {holds} {bound_sql}, true)"


def all_equal_proof(column_sql: str, value_sql: str) -> str:
    """Every non-null value of the column is the value (its min and max are)."""
    return f"coalesce(min({column_sql}) = {value_sql} and max({column_sql}) = {value_sql}, true)"


def no_row_proof(predicate: str) -> str:
    """A rule without a cheaper proof: its own count of violating rows is zero."""
    return f"count(*) filter (where coalesce({predicate}, false)) = 0"


def pattern_rule(column: dict) -> tuple[str, str] | None:
    """(message, predicate) of a string column's pattern. A pattern's verdict depends on
    the value only, so it is tested on the column's distinct values: regular
    expressions cost far more per row than hashing, and ids repeat across rows."""
    if column["type"] != "string" or "pattern" not in column:
        return None
    return (f"does not match {column['pattern']!r}",
            f"not regexp_full_match({quoted(column['name'])}, {literal(column['pattern'])})")


# --------------------------------------------------------------------------- the check
def _column_shape(packs: SchemaPacks, anchor: str, relation) -> tuple[list[Violation], list[dict]]:
    """Column set, order and types; returns the violations and the columns whose value
    rules can be evaluated (present with a matching type)."""
    columns = packs.table_columns(anchor)
    strict = packs.table_spec(anchor)["columns_strict"]
    expected = [c["name"] for c in columns]
    actual = dict(zip(relation.columns, (str(t).upper() for t in relation.types)))
    out = []
    missing = [n for n in expected if n not in actual]
    extra = [n for n in actual if n not in expected]
    if missing:
        out.append(Violation("columns", f"missing column(s): {', '.join(missing)}", len(missing)))
    if extra and strict:
        out.append(Violation("columns", f"unexpected column(s): {', '.join(extra)}", len(extra)))
    common = [n for n in actual if n in expected]
    if strict and common != [n for n in expected if n in actual]:
        out.append(Violation("columns", f"columns out of contract order: got {common}"))
    usable = []
    for column in columns:
        found = actual.get(column["name"])
        if found is None:
            continue
        if found not in DUCKDB_TYPES.get(column["type"], set()):
            out.append(Violation(f"columns.{column['name']}", f"type {found} does not match contract type {column['type']}"))
            continue
        usable.append(column)
    return out, usable


def _value_violations(relation, rules: list[tuple[str, str, str, str]]) -> list[Violation]:
    """The count of violating rows for every (column, message, predicate, proof): one
    scan that proves them all zero when it can, else a scan counting each."""
    if not rules:
        return []
    if all(proven is True for proven in relation.aggregate(", ".join(proof for *_, proof in rules)).fetchone()):
        return []
    counts = relation.aggregate(", ".join(f"count(*) filter (where {p})" for _, _, p, _ in rules)).fetchone()
    return [_violation(relation, column, message, predicate, count)
            for (column, message, predicate, _), count in zip(rules, counts) if count]


def _pattern_violations(relation, rules: list[tuple[str, str, str]]) -> list[Violation]:
    """Pattern rules on distinct values; rows are counted only when a value fails. The
    distinct values of every pattern column come from one scan (one grouping set per
    column): a relation that is a view (S4 checks S3's unnested shares) is evaluated
    once, not once per column."""
    if not rules:
        return []
    columns = [quoted(column) for column, _, _ in rules]
    grouped = ", ".join([*columns, *(f"grouping({c}) as {quoted(f'grouping_{i}')}" for i, c in enumerate(columns))])
    failing = ", ".join(f"count(*) filter (where {quoted(f'grouping_{i}')} = 0 and {c} is not null and {predicate})"
                        for i, (c, (_, _, predicate)) in enumerate(zip(columns, rules)))
    distinct_failing = relation.query("pattern_rows", (
        f"select {failing} from (select {grouped} from pattern_rows "
        f"group by grouping sets ({', '.join(f'({c})' for c in columns)}))")).fetchone()
    out = []
    for (column, message, predicate), failed in zip(rules, distinct_failing):
        if failed:
            count = relation.filter(predicate).aggregate("count(*)").fetchone()[0]
            out.append(_violation(relation, column, message, predicate, count))
    return out


def _violation(relation, column: str, message: str, predicate: str, count: int) -> Violation:
    examples = [row[0] for row in relation.filter(predicate).project(quoted(column)).limit(EXAMPLES).fetchall()]
    return Violation(f"columns.{column}", f"{message} (e.g. {examples!r})", int(count))


def _key_violations(relation, label: str, key: list[str]) -> list[Violation]:
    columns = ", ".join(quoted(c) for c in key)
    duplicated = relation.aggregate(f"{columns}, count(*) as key_rows", columns).filter("key_rows > 1")
    values, rows = duplicated.aggregate("count(*), coalesce(sum(key_rows), 0)").fetchone()
    if not values:
        return []
    return [Violation(label, f"{values} duplicated ({', '.join(key)}) value(s) over {int(rows)} rows", int(values))]


def _batch_order(batch: pa.RecordBatch, key: list[str]) -> tuple[bool, bool]:
    """(non-decreasing, strictly increasing) of consecutive rows of one batch."""
    n = batch.num_rows
    if n < 2:
        return True, True
    before = np.zeros(n - 1, dtype=bool)
    tied = np.ones(n - 1, dtype=bool)
    for name in key:
        column = batch.column(name)
        current, following = column.slice(0, n - 1), column.slice(1)
        before |= tied & pc.fill_null(pc.less(current, following), False).to_numpy(zero_copy_only=False)
        tied &= pc.fill_null(pc.equal(current, following), False).to_numpy(zero_copy_only=False)
    return bool((before | tied).all()), bool(before.all())


def key_order(relation, key: list[str]) -> tuple[bool, bool]:
    """(non-decreasing, strictly increasing) of `key` over the relation's stored row
    order, streamed in batches; the last key of a batch is compared with the next."""
    reader = relation.project(", ".join(quoted(k) for k in key)).to_arrow_reader(KEY_BATCH_ROWS)
    sorted_so_far, strict_so_far, last = True, True, None
    for batch in reader:
        if batch.num_rows == 0:
            continue
        first = tuple(batch.column(k)[0].as_py() for k in key)
        if None in first:  # a null key is a break, as within a batch
            return False, False
        if last is not None:
            sorted_so_far &= last <= first
            strict_so_far &= last < first
        in_order, strict = _batch_order(batch, key)
        sorted_so_far &= in_order
        strict_so_far &= strict
        if not sorted_so_far:
            return False, False
        last = tuple(batch.column(k)[batch.num_rows - 1].as_py() for k in key)
    return sorted_so_far, strict_so_far


def _keys_and_order(relation, spec: dict, present: set[str]) -> tuple[list[Violation], bool]:
    """Key duplicates, by order first, and whether rows are stored in writer order."""
    keys = []
    primary = spec["primary_key"]
    in_order = strict = False
    if primary and all(k in present for k in primary):
        in_order, strict = key_order(relation, primary)
        if not strict:
            keys += _key_violations(relation, "primary_key", primary)
    for key in spec["unique_keys"]:
        if all(k in present for k in key) and not (strict and set(primary) <= set(key)):
            keys += _key_violations(relation, "unique_keys", key)
    sort_keys = spec["sort_keys"]
    if sort_keys and sort_keys != primary and all(k in present for k in sort_keys):
        in_order = key_order(relation, sort_keys)[0]
    return keys, in_order and bool(sort_keys)


def check_relation(packs: SchemaPacks, anchor: str, relation, embedded: Mapping[str, Any],
                   keys: bool = True) -> TableCheck:
    """Violations of a DuckDB relation against a table anchor, plus one per column whose
    value differs from the partition token it embeds (`embedded` = column -> token).
    `keys=False` leaves key uniqueness to the caller (checked in a pass it makes anyway)."""
    schema, usable = _column_shape(packs, anchor, relation)
    rules = [(c["name"], *rule) for c in usable for rule in column_rules(c)]
    present = {c["name"] for c in usable}
    rules += [(column, f"differs from the partition token {token!r}", f"{quoted(column)} <> {literal(token)}",
               all_equal_proof(quoted(column), literal(token)))
              for column, token in embedded.items() if column in present]
    schema += _value_violations(relation, rules)
    patterns = [(c["name"], *rule) for c in usable if (rule := pattern_rule(c))]
    schema += _pattern_violations(relation, patterns)
    if not keys:
        return TableCheck(schema, [])
    duplicates, in_order = _keys_and_order(relation, packs.table_spec(anchor), present)
    return TableCheck(schema, duplicates, in_order)


# --------------------------------------------------------------------------- small Arrow helpers
def sorted_arrow(relation, key: tuple[str, ...]) -> pa.Table:
    """A (small) dbt relation as an Arrow table in the order of its key."""
    return relation.order(", ".join(quoted(k) for k in key)).to_arrow_table()


def distinct_count(table: pa.Table, column: str) -> int:
    return int(pc.count_distinct(table.column(column), mode="all").as_py()) if table.num_rows else 0


def run_offsets(table: pa.Table, key: tuple[str, ...]) -> np.ndarray:
    """Offsets (n_runs + 1) of the runs of equal `key` values in a table sorted by key."""
    n = table.num_rows
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    changed = np.zeros(n - 1, dtype=bool)
    for column in key:
        values = table.column(column).combine_chunks()
        changed |= pc.not_equal(values.slice(1), values.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(changed) + 1))
    return np.concatenate((starts, [n])).astype(np.int64)


def anti_join(left: pa.Table, right: pa.Table, keys: list[str], right_keys: list[str] | None = None) -> pa.Table:
    """Rows of `left` whose key has no match in `right` (vectorised hash join)."""
    right = right.select(right_keys or keys)
    return left.join(right, keys=keys, right_keys=right_keys, join_type="left anti", use_threads=False)


# --------------------------------------------------------------------------- streaming in key order
class KeyOrderBroken(Exception):
    """A streamed relation turned out not to be in strictly increasing key order."""

    def __init__(self, message: str, key_value: tuple) -> None:
        super().__init__(message)
        self.key_value = key_value


class DuplicateKey(KeyOrderBroken):
    """Rows sorted by key hold one key more than once."""


def verified_batches(reader: pa.RecordBatchReader, key: list[str], error=KeyOrderBroken):
    """The reader's batches, checking on the way that `key` strictly increases across
    all rows; raises `error` at the first batch where it does not."""
    last = None
    for batch in reader:
        if batch.num_rows == 0:
            continue
        first = tuple(batch.column(k)[0].as_py() for k in key)
        if (last is not None and not last < first) or not _batch_order(batch, key)[1]:
            raise error(f"rows not in strictly increasing ({', '.join(key)}) order near {first}", first)
        last = tuple(batch.column(k)[batch.num_rows - 1].as_py() for k in key)
        yield batch


def prefetched(batches, depth: int = 2):
    """The same batches, produced by a background thread `depth` ahead of the consumer.
    DuckDB producing a batch and Arrow/Parquet code consuming the previous one both run
    outside the GIL, so the two overlap on two cores; order is unchanged. When the
    consumer stops early the producer is told to stop and is waited for, so no thread
    is left reading from DuckDB."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(done)
        except BaseException as exc:  # handed to the consumer, raised there
            hand_over(exc)

    thread = threading.Thread(target=produce, name="seg3a-prefetch", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def stream_in_key_order(relation, key: list[str], consume, batch_rows: int = KEY_BATCH_ROWS):
    """Call `consume(batches)` with the relation's rows in strictly increasing `key`
    order and return its result. The stored order is tried first (one pass, no sort);
    if any row is out of order, `consume` is called again from the start with the rows
    sorted by DuckDB, so it must start its output afresh on each call. Rows sorted by
    key that still do not strictly increase hold a key twice: DuplicateKey."""
    try:
        return consume(verified_batches(prefetched(relation.to_arrow_reader(batch_rows)), key))
    except DuplicateKey:
        raise
    except KeyOrderBroken:
        ordered = relation.order(", ".join(quoted(k) for k in key))
        return consume(verified_batches(prefetched(ordered.to_arrow_reader(batch_rows)), key, DuplicateKey))
