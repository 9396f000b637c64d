"""SHA-256 UDFs over Arrow batches (SQL side of the digest rules of spec 01 §3.4, 04 §0)."""
from __future__ import annotations

import hashlib

import pyarrow as pa


def sha256_hex_arrow(values: pa.Array) -> pa.Array:
    """Lower-case hex SHA-256 of each UTF-8 string; NULL stays NULL."""
    sha = hashlib.sha256
    return pa.array(
        [None if v is None else sha(v.encode("utf-8")).hexdigest() for v in values.to_pylist()],
        type=pa.string(),
    )


def sha256_hexcat_arrow(values: pa.Array) -> pa.Array:
    """H_hexcat of a list of hex digests per row (ASCII concatenation, no separator)."""
    sha = hashlib.sha256
    return pa.array(
        [None if v is None else sha("".join(v).encode("ascii")).hexdigest() for v in values.to_pylist()],
        type=pa.string(),
    )
