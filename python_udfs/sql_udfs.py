"""Arrow adapters between DuckDB vectors and the maths modules (which know no Arrow)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from .hashing import hash_uniform_batch


def hash_uniform_arrow(labels: pa.Array, merchant_ids: pa.Array, countries: pa.Array, parameter_hashes: pa.Array) -> pa.Array:
    """U(label, m, c, H) of spec 02 §2 per row; label and H may vary by row."""
    n = len(merchant_ids)
    if n == 0:
        return pa.array([], type=pa.float64())
    label_list = labels.to_pylist()
    ids = merchant_ids.to_numpy(zero_copy_only=False).astype(np.uint64)
    country_list = countries.to_pylist()
    hash_list = parameter_hashes.to_pylist()
    out = np.empty(n, dtype=np.float64)
    # Group by label (one or two distinct labels per query) to keep the batch kernel.
    for label in sorted(set(label_list)):
        mask = np.fromiter((lab == label for lab in label_list), dtype=bool, count=n)
        idx = np.flatnonzero(mask)
        out[idx] = hash_uniform_batch(label, ids[idx], [country_list[i] for i in idx], [hash_list[i] for i in idx])
    return pa.array(out, type=pa.float64())
