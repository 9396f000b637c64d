"""Arrow input helpers shared by the UDF modules."""
from __future__ import annotations

import pyarrow as pa


def plain_array(values) -> pa.Array:
    """A UDF argument as one Arrow array: DuckDB hands arrays, Spark's Arrow batches may
    hand chunked ones."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
