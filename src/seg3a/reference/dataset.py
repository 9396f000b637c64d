"""What a builder hands to the writer: the Arrow table, how to write it, and its manifest."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress sink that prints nothing."""


@dataclass
class BuiltDataset:
    """An in-memory dataset ready to be written.

    `manifest` holds every manifest field that does not depend on the written bytes;
    the writer adds the data digest, size and path.
    """

    dataset_id: str
    table: pa.Table
    row_group_size: int
    dictionary_columns: list[str]
    statistics_columns: list[str]
    manifest: dict[str, Any]
    file_metadata: dict[bytes, bytes] = field(default_factory=dict)


def column_records(schema: pa.Schema) -> list[dict[str, Any]]:
    """The output schema as manifest entries (name, Arrow type, nullability)."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
