"""Arrow adapter of the S3 Dirichlet draw (spec 03 §1, §3.3, §3.4) for DuckDB.

`s3a_dirichlet_draw` takes one escalated pair per row: merchant id, country, the S2
shapes in ascending tzid order, the run's fingerprint, seed and parameter hash, the six
`s3_dispersion` knobs and a sub-batch size. It returns one STRUCT per row with the
event fields of 03 §2.1 (stream id, counters, blocks, draws, K, A_eff, alpha min/max)
plus S, share_sum and the shares in the input zone order.

Each pair owns a fresh Philox substream, so a row's result depends only on that row:
DuckDB may hand the rows over in any vector, thread or order, and `batch_pairs` (the
number of pairs given to one `dirichlet_batch` call) changes nothing but speed. That is
what lets tests prove order independence by varying it.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .rng import Dispersion, RngError, dirichlet_batch

__all__ = ["DRAW_PARAMETERS", "DRAW_RETURN_TYPE", "DRAW_FIELDS", "dirichlet_draw_arrow"]

E_INFRASTRUCTURE = "E3A_S3_012_INFRASTRUCTURE_IO_ERROR"

DRAW_PARAMETERS = [
    "UBIGINT",   # merchant_id
    "VARCHAR",   # legal_country_iso
    "DOUBLE[]",  # S2 alpha_effective in ascending tzid order
    "VARCHAR",   # manifest_fingerprint
    "UBIGINT",   # seed
    "VARCHAR",   # parameter_hash
    "BOOLEAN",   # s3_dispersion.enabled
    "DOUBLE",    # concentration_scale
    "DOUBLE",    # alpha_temperature
    "DOUBLE",    # merchant_jitter
    "DOUBLE",    # merchant_jitter_clip
    "DOUBLE",    # alpha_floor
    "INTEGER",   # batch_pairs: pairs per sampler call (speed only)
]

DRAW_FIELDS = pa.struct([
    ("rng_stream_id", pa.string()),
    ("rng_counter_before_hi", pa.uint64()),
    ("rng_counter_before_lo", pa.uint64()),
    ("rng_counter_after_hi", pa.uint64()),
    ("rng_counter_after_lo", pa.uint64()),
    ("blocks", pa.uint64()),
    ("draws", pa.string()),
    ("zone_count", pa.int32()),
    ("alpha_sum_country", pa.float64()),
    ("alpha_min", pa.float64()),
    ("alpha_max", pa.float64()),
    ("gamma_sum", pa.float64()),
    ("share_sum", pa.float64()),
    ("shares", pa.list_(pa.float64())),
])

DRAW_RETURN_TYPE = (
    "STRUCT(rng_stream_id VARCHAR, rng_counter_before_hi UBIGINT, rng_counter_before_lo UBIGINT, "
    "rng_counter_after_hi UBIGINT, rng_counter_after_lo UBIGINT, blocks UBIGINT, draws VARCHAR, "
    "zone_count INTEGER, alpha_sum_country DOUBLE, alpha_min DOUBLE, alpha_max DOUBLE, "
    "gamma_sum DOUBLE, share_sum DOUBLE, shares DOUBLE[])"
)

# Columns that are constant for a run; rows are grouped by them (normally one group).
_RUN_COLUMNS = (
    "manifest_fingerprint", "seed", "parameter_hash", "enabled", "concentration_scale",
    "alpha_temperature", "merchant_jitter", "merchant_jitter_clip", "alpha_floor", "batch_pairs",
)


class DirichletUdfError(ValueError):
    """Bad input to the UDF; the message starts with the S3 error code."""


def dirichlet_draw_arrow(merchant_ids, countries, alphas, fingerprints, seeds, parameter_hashes,
                         enabled, scale, temperature, jitter, clip, alpha_floor, batch_pairs) -> pa.StructArray:
    """One DuckDB vector of pairs in, one STRUCT per pair out (see the module docstring)."""
    columns = [_plain(c) for c in (merchant_ids, countries, alphas, fingerprints, seeds, parameter_hashes,
                                   enabled, scale, temperature, jitter, clip, alpha_floor, batch_pairs)]
    names = ("merchant_id", "country_iso", "alphas", *_RUN_COLUMNS)
    table = pa.table(dict(zip(names, columns)))
    _reject_nulls(table)
    if table.num_rows == 0:
        return pa.array([], type=DRAW_FIELDS)
    parts, order = [], []
    for rows in _run_groups(table):
        group = table.take(rows)
        parts.append(_draw_group(group))
        order.append(rows)
    if len(parts) == 1:
        return parts[0]
    # Restore input row order after drawing each run-constant group separately.
    merged = pa.concat_arrays(parts)
    position = np.argsort(np.concatenate([r.to_numpy() for r in order]), kind="stable")
    return merged.take(pa.array(position))


def _plain(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _reject_nulls(table: pa.Table) -> None:
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            raise DirichletUdfError(f"{E_INFRASTRUCTURE}: s3a_dirichlet_draw got NULL {name}")
    values = pc.list_flatten(table.column("alphas"))
    if values.null_count:
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: s3a_dirichlet_draw got a NULL alpha inside a list")


def _run_groups(table: pa.Table) -> list[pa.Array]:
    """Row indices per distinct combination of the run-constant columns."""
    if all(pc.count_distinct(table.column(c)).as_py() == 1 for c in _RUN_COLUMNS):
        return [pa.array(np.arange(table.num_rows, dtype=np.int64))]
    indexed = table.select(list(_RUN_COLUMNS)).append_column("row", pa.array(np.arange(table.num_rows)))
    grouped = indexed.group_by(list(_RUN_COLUMNS), use_threads=False).aggregate([("row", "list")])
    return [pa.array(rows, type=pa.int64()) for rows in grouped.column("row_list").to_pylist()]


def _draw_group(group: pa.Table) -> pa.StructArray:
    """Draw a group sharing one run identity and policy, `batch_pairs` pairs per call."""
    first = {name: group.column(name)[0].as_py() for name in _RUN_COLUMNS}
    if first["batch_pairs"] < 1:
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: batch_pairs must be >= 1, got {first['batch_pairs']}")
    policy = Dispersion(
        enabled=first["enabled"], concentration_scale=first["concentration_scale"],
        alpha_temperature=first["alpha_temperature"], merchant_jitter=first["merchant_jitter"],
        merchant_jitter_clip=first["merchant_jitter_clip"], alpha_floor=first["alpha_floor"],
    )
    merchants = group.column("merchant_id").to_numpy()
    countries = group.column("country_iso").to_pylist()
    lists = group.column("alphas").combine_chunks()
    values = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    offsets = np.concatenate(([0], np.cumsum(pc.list_value_length(lists).to_numpy(zero_copy_only=False))))
    step = first["batch_pairs"]
    batches = [
        _draw_batch(first, policy, merchants[start:start + step], countries[start:start + step],
                    values[offsets[start]:offsets[min(start + step, len(countries))]],
                    offsets[start:start + step + 1] - offsets[start])
        for start in range(0, len(countries), step)
    ]
    return pa.concat_arrays(batches) if len(batches) > 1 else batches[0]


def _draw_batch(run: dict, policy: Dispersion, merchants, countries, values, offsets) -> pa.StructArray:
    try:
        batch = dirichlet_batch(run["manifest_fingerprint"], run["seed"], merchants, countries, values, offsets,
                                dispersion=policy, parameter_hash=run["parameter_hash"])
    except RngError as exc:
        raise DirichletUdfError(f"{exc} context={exc.context}") from exc
    except ValueError as exc:
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: {exc}") from exc
    shares = pa.ListArray.from_arrays(pa.array(batch.offsets.astype(np.int32)), pa.array(batch.shares))
    arrays = [
        pa.array(batch.rng_stream_id.tolist(), type=pa.string()),
        pa.array(batch.counter_before_hi), pa.array(batch.counter_before_lo),
        pa.array(batch.counter_after_hi), pa.array(batch.counter_after_lo),
        pa.array(batch.blocks),
        pc.cast(pa.array(batch.draws), pa.string()),
        pa.array(batch.zone_count.astype(np.int32)),
        pa.array(batch.alpha_sum), pa.array(batch.alpha_min), pa.array(batch.alpha_max),
        pa.array(batch.gamma_sum), pa.array(batch.share_sum),
        shares,
    ]
    return pa.StructArray.from_arrays(arrays, fields=list(DRAW_FIELDS))
