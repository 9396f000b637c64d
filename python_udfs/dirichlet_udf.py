"""Arrow adapter of the S3 Dirichlet draw (spec 03 §1, §3.3, §3.4) for DuckDB.

`s3a_dirichlet_draw` takes one **chunk** of escalated pairs per row, as a list of
{merchant_id, legal_country_iso, alphas} structs (each pair's S2 shapes in ascending
tzid order), plus the run's fingerprint, seed and parameter hash and the six
`s3_dispersion` knobs. It returns, per row, a list with one STRUCT per pair of the
chunk, in input order: the pair's key, the event fields of 03 §2.1 (stream id,
counters, blocks, draws, K, A_eff, alpha min/max) plus S, share_sum and the shares in
the input zone order.

Chunks exist for speed and bounded memory: DuckDB hands an Arrow UDF at most 2048 rows
per call, while the vectorised sampler runs best on thousands of pairs at once, so the
SQL groups pairs into small chunks and all pairs of one call (every chunk it holds) are
one `dirichlet_batch` call. A call thus holds at most 2048 chunks' pairs in Python, in
and out, whatever the world's size; before, a world with fewer than 2048 chunks reached
the UDF as one call holding every pair and every draw at once (about 4 GiB at 10M pairs).
Each pair owns a fresh Philox substream, so a pair's result depends only on that pair:
chunk size, chunk composition, thread and order change nothing, which tests prove by
varying them.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import plain_array
from .rng import Dispersion, RngError, dirichlet_batch

__all__ = ["DRAW_PARAMETERS", "DRAW_RETURN_TYPE", "DRAW_FIELDS", "dirichlet_draw_arrow"]

E_INFRASTRUCTURE = "E3A_S3_012_INFRASTRUCTURE_IO_ERROR"

PAIR_TYPE = "STRUCT(merchant_id UBIGINT, legal_country_iso VARCHAR, alphas DOUBLE[])"

DRAW_PARAMETERS = [
    f"{PAIR_TYPE}[]",  # the pairs of the chunk; alphas = S2 alpha_effective in ascending tzid order
    "VARCHAR",     # manifest_fingerprint
    "UBIGINT",     # seed
    "VARCHAR",     # parameter_hash
    "BOOLEAN",     # s3_dispersion.enabled
    "DOUBLE",      # concentration_scale
    "DOUBLE",      # alpha_temperature
    "DOUBLE",      # merchant_jitter
    "DOUBLE",      # merchant_jitter_clip
    "DOUBLE",      # alpha_floor
]

DRAW_FIELDS = pa.struct([
    ("merchant_id", pa.uint64()),
    ("legal_country_iso", pa.string()),
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
    "STRUCT(merchant_id UBIGINT, legal_country_iso VARCHAR, rng_stream_id VARCHAR, rng_counter_before_hi UBIGINT, rng_counter_before_lo UBIGINT, "
    "rng_counter_after_hi UBIGINT, rng_counter_after_lo UBIGINT, blocks UBIGINT, draws VARCHAR, "
    "zone_count INTEGER, alpha_sum_country DOUBLE, alpha_min DOUBLE, alpha_max DOUBLE, "
    "gamma_sum DOUBLE, share_sum DOUBLE, shares DOUBLE[])[]"
)

_RUN_COLUMNS = (
    "manifest_fingerprint", "seed", "parameter_hash", "enabled", "concentration_scale",
    "alpha_temperature", "merchant_jitter", "merchant_jitter_clip", "alpha_floor",
)


class DirichletUdfError(ValueError):
    """Bad input to the UDF; the message starts with the S3 error code."""


def dirichlet_draw_arrow(pairs, fingerprints, seeds, parameter_hashes,
                         enabled, scale, temperature, jitter, clip, alpha_floor) -> pa.ListArray:
    """One DuckDB vector of chunks in, one list of per-pair STRUCTs per chunk out."""
    columns = [plain_array(c) for c in (pairs, fingerprints, seeds, parameter_hashes,
                                   enabled, scale, temperature, jitter, clip, alpha_floor)]
    chunks = pa.table(dict(zip(("pairs", *_RUN_COLUMNS), columns)))
    _reject_nulls(chunks)
    if chunks.num_rows and all(pc.count_distinct(chunks.column(name)).as_py() == 1 for name in _RUN_COLUMNS):
        drawn = [_draw_chunk(chunks)]  # one run identity and policy (the model's case): one sampler call
    else:
        drawn = [_draw_chunk(chunks.slice(i, 1)) for i in range(chunks.num_rows)]
    lists = chunks.column("pairs").combine_chunks()
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = pa.array(np.concatenate(([0], np.cumsum(lengths))).astype(np.int32))
    values = pa.concat_arrays(drawn) if drawn else pa.array([], type=DRAW_FIELDS)
    return pa.ListArray.from_arrays(offsets, values, type=pa.list_(DRAW_FIELDS))


def _reject_nulls(chunks: pa.Table) -> None:
    for name in chunks.column_names:
        if chunks.column(name).null_count:
            raise DirichletUdfError(f"{E_INFRASTRUCTURE}: s3a_dirichlet_draw got NULL {name}")
    pairs = pc.list_flatten(chunks.column("pairs"))
    if pairs.null_count or any(pairs.combine_chunks().field(f).null_count for f in range(pairs.type.num_fields)):
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: s3a_dirichlet_draw got a NULL pair or pair field")
    if pc.list_flatten(pairs.combine_chunks().field("alphas")).null_count:
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: s3a_dirichlet_draw got a NULL alpha")


def _draw_chunk(chunk: pa.Table) -> pa.StructArray:
    """All pairs of the chunks in `chunk` (rows of one run identity and policy), in input
    order, in one sampler call."""
    run = {name: chunk.column(name)[0].as_py() for name in _RUN_COLUMNS}
    pairs = pc.list_flatten(chunk.column("pairs")).combine_chunks()
    if len(pairs) == 0:
        return pa.array([], type=DRAW_FIELDS)
    merchants = pairs.field("merchant_id")
    countries = pairs.field("legal_country_iso")
    per_pair = pairs.field("alphas")
    values = pc.list_flatten(per_pair).to_numpy(zero_copy_only=False)
    offsets = np.concatenate(([0], np.cumsum(pc.list_value_length(per_pair).to_numpy(zero_copy_only=False))))
    policy = Dispersion(
        enabled=run["enabled"], concentration_scale=run["concentration_scale"],
        alpha_temperature=run["alpha_temperature"], merchant_jitter=run["merchant_jitter"],
        merchant_jitter_clip=run["merchant_jitter_clip"], alpha_floor=run["alpha_floor"],
    )
    try:
        batch = dirichlet_batch(run["manifest_fingerprint"], run["seed"], merchants.to_numpy(zero_copy_only=False),
                                countries.to_pylist(), values, offsets, dispersion=policy,
                                parameter_hash=run["parameter_hash"])
    except RngError as exc:
        raise DirichletUdfError(f"{exc} context={exc.context}") from exc
    except ValueError as exc:
        raise DirichletUdfError(f"{E_INFRASTRUCTURE}: {exc}") from exc
    return _as_structs(merchants, countries, batch)


def _as_structs(merchants: pa.Array, countries: pa.Array, batch) -> pa.StructArray:
    shares = pa.ListArray.from_arrays(pa.array(batch.offsets.astype(np.int32)), pa.array(batch.shares))
    arrays = [
        merchants.cast(pa.uint64()), countries.cast(pa.string()),
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
