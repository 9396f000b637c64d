"""Table checks shared by S3 and S4: read a dbt relation in key order, validate it
against its schema anchor with primary-key violations kept apart (the states give
duplicates their own code), and check path<->embed equality (01 §2.4)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..core.schemas import SchemaPacks, Violation

KEY_PATHS = ("primary_key", "unique_keys")


@dataclass(frozen=True)
class TableCheck:
    """Violations of one table, split into key duplicates and everything else."""

    schema: list[Violation]
    keys: list[Violation]

    @property
    def schema_count(self) -> int:
        return sum(v.count for v in self.schema)

    @property
    def key_count(self) -> int:
        return sum(v.count for v in self.keys)

    def example_field(self) -> str | None:
        return self.schema[0].path.removeprefix("columns.") if self.schema else None

    def first_message(self) -> str:
        return str((self.schema or self.keys)[0]) if (self.schema or self.keys) else ""


def sorted_arrow(relation, key: tuple[str, ...]) -> pa.Table:
    """A dbt relation (DuckDBPyRelation) as an Arrow table in the order of its key."""
    return relation.order(", ".join(key)).to_arrow_table()


def check_table(packs: SchemaPacks, anchor: str, table: pa.Table, embedded: Mapping[str, Any]) -> TableCheck:
    """Schema violations of `table`, plus one violation per column whose value differs
    from the partition token it embeds (`embedded` = column -> token value)."""
    violations = packs.validate_table(anchor, table)
    keys = [v for v in violations if v.path in KEY_PATHS]
    schema = [v for v in violations if v.path not in KEY_PATHS]
    for column, token in embedded.items():
        if column not in table.column_names or table.num_rows == 0:
            continue
        values = table.column(column)
        scalar = pa.scalar(token, type=values.type) if not pa.types.is_string(values.type) else pa.scalar(str(token))
        differing = int(pc.sum(pc.invert(pc.fill_null(pc.equal(values, scalar), False))).as_py() or 0)
        if differing:
            schema.append(Violation(f"columns.{column}", f"differs from the partition token {token!r}", differing))
    return TableCheck(schema, keys)


def distinct_count(table: pa.Table, column: str) -> int:
    return int(pc.count_distinct(table.column(column), mode="all").as_py()) if table.num_rows else 0


def run_offsets(table: pa.Table, key: tuple[str, ...]):
    """Offsets (n_runs + 1) of the runs of equal `key` values in a table sorted by key."""
    import numpy as np

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
