"""Floor + largest remainder of spec 03 §4.2 for many pairs at once, and its Arrow
adapter `s3a_integerise` for DuckDB and Spark.

For a pair with site count N and shares p_1..p_K in ascending tzid order (zone index q):
T_q = double(N) x p_q, b_q = floor(T_q), r_q = T_q - b_q (binary64), R = N - sum(b);
the zones ranked by (r desc, tzid asc) get ranks 1..K and the R best get b_q + 1. No
minimum per zone and no renormalisation. This module is the one place the formula is
computed; `int_s4__zone_counts_integerised` calls it once per pair.

Why a list per pair instead of a window over zone rows: a pair's zones arrive together
as one list (the shares in tzid order, as S3 drew them), so ranking is a sort within
each short list; a window partitioned by pair needs a hash partition and a sort of every
zone row (about 10 M rows at 1M pairs, which spill to disk at 10M). Here a call sorts
the zones of at most 2048 pairs (DuckDB's vector) by (pair, r desc, q asc) in one
vectorised NumPy sort of a matrix row per pair; nothing is held across calls.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import plain_array

__all__ = ["INTEGERISE_PARAMETERS", "INTEGERISE_RETURN_TYPE", "ZONE_COUNT_FIELDS", "Integerised",
           "integerise_arrow", "largest_remainder"]

E_OUTPUT_INCONSISTENT = "E3A_S4_007_OUTPUT_INCONSISTENT"

INTEGERISE_PARAMETERS = ["DOUBLE[]", "BIGINT"]  # shares in ascending tzid order, site count N

# One struct per zone, in the input (zone index) order.
ZONE_COUNT_FIELDS = pa.struct([
    ("zone_index", pa.int64()),
    ("fractional_target", pa.float64()),
    ("base_count", pa.int64()),
    ("residual", pa.float64()),
    ("remainder_to_place", pa.int64()),
    ("residual_rank", pa.int64()),
    ("zone_site_count", pa.int64()),
])

INTEGERISE_RETURN_TYPE = (
    "STRUCT(zone_index BIGINT, fractional_target DOUBLE, base_count BIGINT, residual DOUBLE, remainder_to_place BIGINT, "
    "residual_rank BIGINT, zone_site_count BIGINT)[]"
)


class IntegeriseUdfError(ValueError):
    """Input the integerisation cannot take; the message starts with the S4 error code."""


@dataclass(frozen=True, slots=True)
class Integerised:
    """Per zone (flat, in input order): q, T, b, r, R of its pair, rank, count."""

    zone_indexes: np.ndarray
    targets: np.ndarray
    base_counts: np.ndarray
    residuals: np.ndarray
    remainders: np.ndarray
    ranks: np.ndarray
    counts: np.ndarray


def largest_remainder(shares: np.ndarray, offsets: np.ndarray, site_counts: np.ndarray) -> Integerised:
    """Pair i's zones are shares[offsets[i]:offsets[i + 1]] in zone index order and its
    site count is site_counts[i]. Vectorised over every pair."""
    shares = np.asarray(shares, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    site_counts = np.asarray(site_counts, dtype=np.int64)
    lengths = np.diff(offsets)
    pair_of = np.repeat(np.arange(lengths.size), lengths)
    targets = site_counts.astype(np.float64)[pair_of] * shares
    floors = np.floor(targets)
    base_counts = floors.astype(np.int64)
    # b is an integer below 2^53, so double(b) is exact and r is the binary64 T - b.
    residuals = targets - floors
    running = np.concatenate(([0], np.cumsum(base_counts)))
    remainders = site_counts - (running[offsets[1:]] - running[offsets[:-1]])
    position = np.arange(shares.size, dtype=np.int64) - offsets[:-1][pair_of]
    ranks = _ranks_within_pairs(residuals, pair_of, position, lengths)
    remainder_of_zone = remainders[pair_of]
    counts = base_counts + (ranks <= remainder_of_zone)
    return Integerised(position, targets, base_counts, residuals, remainder_of_zone, ranks, counts)


def _ranks_within_pairs(residuals: np.ndarray, pair_of: np.ndarray, position: np.ndarray,
                        lengths: np.ndarray) -> np.ndarray:
    """Rank 1..K of each zone in its pair by (r desc, q asc), q ascending being tzid
    ascending (the lists are in tzid order). The pairs are laid out as the rows of a
    matrix padded with +inf, -r is sorted along each row by a stable sort (equal
    residuals keep q order, the padding sorts last): sorting many short rows costs a
    fifth of one lexsort of the flat zones by (pair, -r, q)."""
    longest = int(lengths.max(initial=0))
    padded = np.full((lengths.size, longest), np.inf)
    padded[pair_of, position] = -residuals
    order = np.argsort(padded, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, longest + 1)[None, :], axis=1)
    return ranks[pair_of, position]


def integerise_arrow(shares, site_counts) -> pa.ListArray:
    """One DuckDB vector of pairs in (shares list, N), one list of zone structs per pair
    out, in the input zone order."""
    shares, site_counts = plain_array(shares), plain_array(site_counts)
    values = pc.list_flatten(shares)
    if shares.null_count or site_counts.null_count or values.null_count:
        raise IntegeriseUdfError(f"{E_OUTPUT_INCONSISTENT}: s3a_integerise got a NULL share list, share or site count")
    lengths = pc.list_value_length(shares).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    result = largest_remainder(values.to_numpy(zero_copy_only=False), offsets,
                               site_counts.to_numpy(zero_copy_only=False))
    zones = pa.StructArray.from_arrays(
        [pa.array(result.zone_indexes), pa.array(result.targets), pa.array(result.base_counts), pa.array(result.residuals),
         pa.array(result.remainders), pa.array(result.ranks), pa.array(result.counts)],
        fields=list(ZONE_COUNT_FIELDS))
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), zones, type=pa.list_(ZONE_COUNT_FIELDS))
