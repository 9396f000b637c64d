"""Row-level expansion of the pair table and byte-stable Parquet part writing.

Both row-level datasets (`outlet_catalogue`, `site_timezones`) are written in writer
sort order (merchant_id, legal_country_iso, site_order) as consecutive slices of
`ROWS_PER_PART` rows (`part-00000.parquet`, ...), so the part layout depends only on the
row count and memory stays bounded at any size. Column types come from the schema
pack anchors named by the dataset dictionary. String columns are assembled directly
from fixed-width byte buffers, which keeps 12 M-row worlds fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .catalogue import PairTable
from .countries import CountryTable
from .rng import Ledger, Stream

ROWS_PER_PART = 1_000_000
ROW_GROUP_SIZE = 131_072
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "data_page_version": "1.0",
    "write_statistics": True,
    "use_dictionary": True,
    "write_page_index": False,
    "store_schema": True,
}
OVERRIDE_RATE = 0.0005  # share of sites whose tzid comes from an override
NUDGE_RATE = 0.002  # share of sites resolved with a border tie-break nudge
NUDGE_DEG = 1e-4  # nudge magnitude bound (~11 m)


@dataclass(frozen=True)
class RowSlice:
    """Rows [start, stop) of the sorted catalogue, expanded from the pair table."""

    pair: np.ndarray  # pair index of each row
    site_order: np.ndarray  # int32

    @property
    def size(self) -> int:
        return int(self.pair.size)


def part_ranges(total_rows: int) -> list[tuple[int, int]]:
    starts = range(0, max(total_rows, 1), ROWS_PER_PART)
    return [(s, min(s + ROWS_PER_PART, total_rows)) for s in starts]


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def expand_rows(pairs: PairTable, start: int, stop: int) -> RowSlice:
    ends = np.cumsum(pairs.n, dtype=np.int64)
    rows = np.arange(start, stop, dtype=np.int64)
    pair = np.searchsorted(ends, rows, side="right")
    site_order = rows - (ends[pair] - pairs.n[pair]) + 1
    return RowSlice(pair, site_order.astype(np.int32))


def fixed_width_strings(data: np.ndarray, width: int) -> pa.Array:
    """A string array from a contiguous uint8 buffer of n * width ASCII bytes."""
    n = data.size // width
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data)))


def iso_column(codes: tuple[str, ...], index: np.ndarray) -> pa.Array:
    table = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, 2)
    return fixed_width_strings(table[index].ravel(), 2)


def site_id_column(site_order: np.ndarray) -> pa.Array:
    """`site_order` zero-padded to six digits (1 -> 000001)."""
    powers = 10 ** np.arange(5, -1, -1, dtype=np.int64)
    digits = (site_order.astype(np.int64)[:, None] // powers) % 10 + ord("0")
    return fixed_width_strings(digits.astype(np.uint8).ravel(), 6)


def constant_strings(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def outlet_table(pairs: PairTable, rows: RowSlice, countries: CountryTable, fingerprint: str, seed: int,
                 schema: pa.Schema) -> pa.Table:
    p = rows.pair
    columns = {
        "manifest_fingerprint": constant_strings(fingerprint, rows.size),
        "merchant_id": pa.array(pairs.merchant_id[p], pa.uint64()),
        "site_id": site_id_column(rows.site_order),
        "home_country_iso": iso_column(countries.codes, pairs.home[p]),
        "legal_country_iso": iso_column(countries.codes, pairs.legal[p]),
        "single_vs_multi_flag": pa.array(pairs.total[p] >= 2, pa.bool_()),
        "raw_nb_outlet_draw": pa.array(pairs.total[p], pa.int32()),
        "final_country_outlet_count": pa.array(pairs.n[p], pa.int32()),
        "site_order": pa.array(rows.site_order, pa.int32()),
        "global_seed": pa.array(np.full(rows.size, seed, dtype=np.uint64), pa.uint64()),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


@dataclass(frozen=True)
class ZoneDraw:
    """Per-row tz placement of one part."""

    zone: np.ndarray  # index into the flat zone table
    override: np.ndarray  # bool
    nudge: np.ndarray  # bool
    nudge_lat: np.ndarray
    nudge_lon: np.ndarray
    scope_mcc: np.ndarray  # bool: override scope `mcc` (else `site`)


def _zone_keys(countries: CountryTable) -> np.ndarray:
    """Country index + cumulative population share within the country; the last zone of
    every country is pinned to exactly +1 so a row of country c always lands in c."""
    cumulative = np.empty_like(countries.zone_weight)
    for c in range(countries.size):  # per country (about 240), not per row
        lo, hi = countries.zone_start[c], countries.zone_start[c + 1]
        cumulative[lo:hi] = np.cumsum(countries.zone_weight[lo:hi])
        cumulative[hi - 1] = 1.0
    return countries.zone_country + cumulative


def draw_zones(stream: Stream, legal: np.ndarray, countries: CountryTable) -> ZoneDraw:
    """Outlet placement by GeoNames city population of the legal country's zones, with
    rare overrides (another zone of the same country) and border nudges."""
    n = legal.size
    u_zone, u_flag, u_a, u_b = (stream.uniform(n) for _ in range(4))
    stream.event(n)
    zone = np.searchsorted(_zone_keys(countries), legal + u_zone, side="right")
    override = u_flag < OVERRIDE_RATE
    nudge = (u_flag >= OVERRIDE_RATE) & (u_flag < OVERRIDE_RATE + NUDGE_RATE)
    count = countries.zone_start[legal + 1] - countries.zone_start[legal]
    alternative = countries.zone_start[legal] + np.floor(u_a * count).astype(np.int64)
    zone = np.where(override, alternative, zone)
    return ZoneDraw(zone, override, nudge, (2 * u_a - 1) * NUDGE_DEG, (2 * u_b - 1) * NUDGE_DEG, u_b < 0.2)


def site_timezone_table(pairs: PairTable, rows: RowSlice, draw: ZoneDraw, countries: CountryTable,
                        fingerprint: str, seed: int, created_utc: str, schema: pa.Schema) -> pa.Table:
    p = rows.pair
    tz_names = pa.array(countries.tz_names, pa.string())
    sources = pa.array(["polygon", "override"], pa.string())
    scopes = pa.array(["site", "mcc"], pa.string())
    columns = {
        "seed": pa.array(np.full(rows.size, seed, dtype=np.uint64), pa.uint64()),
        "manifest_fingerprint": constant_strings(fingerprint, rows.size),
        "merchant_id": pa.array(pairs.merchant_id[p], pa.uint64()),
        "legal_country_iso": iso_column(countries.codes, pairs.legal[p]),
        "site_order": pa.array(rows.site_order, pa.int32()),
        "tzid": tz_names.take(pa.array(countries.zone_tz[draw.zone])),
        "tzid_source": sources.take(pa.array(draw.override.astype(np.int8))),
        "override_scope": scopes.take(pa.array(draw.scope_mcc.astype(np.int8), mask=~draw.override)),
        "nudge_lat_deg": pa.array(draw.nudge_lat, pa.float64(), mask=~draw.nudge),
        "nudge_lon_deg": pa.array(draw.nudge_lon, pa.float64(), mask=~draw.nudge),
        "created_utc": constant_strings(created_utc, rows.size),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def write_part(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(None), path, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)


def zone_stream(seed: int, part: int, ledger: Ledger) -> Stream:
    """Each part draws from its own keyed sub-stream, so parts are independent."""
    return Stream(seed, "2A.site_tz_placement", ledger, index=part)
