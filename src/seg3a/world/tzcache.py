"""The 2A `tz_timetable_cache` (05 §3): a UTC-instant -> offset timetable per tzid,
compiled from the TZif binaries shipped in the `tzdata` package (IANA release 2026c).

Compilation, per tzid listed in the package's `zones` file:
1. Parse the TZif v2+ 64-bit data block (RFC 8536): transition instants, their local
   time types and the footer POSIX TZ string. (The package is built "slim": the v1
   32-bit block is empty and transitions stop where the footer rule takes over.)
2. Before the first transition the zone is on local time type 0 (RFC 8536 §3.2), which
   becomes the entry at instant -2^63.
3. The footer rule is expanded year by year after the last explicit transition up to
   and including `HORIZON_YEAR`, so zones with daylight saving carry their future
   switches (the 2B day range, 2026, is well inside).
4. Offsets are rounded to whole minutes (only pre-standard LMT offsets carry seconds)
   and clamped to [-900, 900] (two LMT offsets of the 19th century lie just outside:
   Asia/Manila -15:56 and America/Juneau +15:02). Entries whose minute offset equals
   the previous entry's are dropped: they carry no timetable information.

`tzdb_archive_sha256`: the tzdb release archive cannot be fetched offline, so the
manifest records the SHA-256 of the package's `tzdata.zi` — the complete zic source of
the release in compact form, from which the TZif files were compiled.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.resources
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seg3a.core.digests import sha256_bytes

MAGIC = b"TZC1"
PAYLOAD_VERSION = 1
HORIZON_YEAR = 2037
OFFSET_LIMIT_MIN = 900
FIRST_INSTANT = -(2 ** 63)
_TZIF_HEADER = struct.Struct(">4sc15x6l")
_PAIR = np.dtype([("t", "<i8"), ("o", "<i4")])
_TZID = re.compile(r"^[A-Za-z0-9._+-]+(?:/[A-Za-z0-9._+-]+)*$")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Timetable:
    tzid: str
    instants: np.ndarray  # int64, strictly increasing, first = -2^63
    offsets: np.ndarray  # int32 minutes


def _zoneinfo_dir() -> Path:
    return Path(str(importlib.resources.files("tzdata") / "zoneinfo"))


def release_tag() -> str:
    """IANA release of the installed tzdata package (e.g. 2026c)."""
    import tzdata

    return str(tzdata.IANA_VERSION)


def source_description() -> str:
    return f"tzdata {importlib.metadata.version('tzdata')} (IANA {release_tag()}) TZif files; archive digest = SHA-256 of tzdata.zi"


def archive_sha256() -> str:
    return sha256_bytes((_zoneinfo_dir() / "tzdata.zi").read_bytes())


def zone_names() -> list[str]:
    """Every zone and link name of the release, ascending."""
    listed = (importlib.resources.files("tzdata") / "zones").read_text(encoding="ascii").split()
    return sorted(n for n in listed if _TZID.match(n) and (_zoneinfo_dir() / n).is_file())


# -- TZif -----------------------------------------------------------------------------
def parse_tzif(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(transition instants, utoff seconds per transition, utoff of each type, footer)."""
    magic, version, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = _TZIF_HEADER.unpack_from(data, 0)
    if magic != b"TZif" or version < b"2":
        raise ValueError("not a TZif version 2+ file")
    v1_size = timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt
    offset = _TZIF_HEADER.size + v1_size
    _, _, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = _TZIF_HEADER.unpack_from(data, offset)
    offset += _TZIF_HEADER.size
    instants = np.frombuffer(data, dtype=">i8", count=timecnt, offset=offset).astype(np.int64)
    offset += 8 * timecnt
    type_index = np.frombuffer(data, dtype=np.uint8, count=timecnt, offset=offset)
    offset += timecnt
    records = np.frombuffer(data, dtype=np.dtype([("utoff", ">i4"), ("isdst", "u1"), ("idx", "u1")]),
                            count=typecnt, offset=offset)
    offset += 6 * typecnt + charcnt + leapcnt * 12 + isstdcnt + isutcnt
    footer = data[offset:].strip(b"\n").decode("ascii")
    utoffs = records["utoff"].astype(np.int64)
    return instants, utoffs[type_index], utoffs, footer


# -- POSIX TZ footer rules --------------------------------------------------------------
_NAME = r"(?:<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"([+-]?\d{1,3}(?::\d{2}(?::\d{2})?)?)"
_RULE = re.compile(rf"^{_NAME}{_OFFSET}(?:{_NAME}{_OFFSET}?(?:,([^,]+),([^,]+))?)?$")


def _hms(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _rule_day(spec: str, year: int) -> int:
    """Days since 1970-01-01 of a POSIX date rule (Mm.w.d, Jn or n) in `year`."""
    if spec.startswith("M"):
        month, week, weekday = (int(x) for x in spec[1:].split("."))
        first = dt.date(year, month, 1)
        day = 1 + (weekday - (first.isoweekday() % 7)) % 7 + 7 * (week - 1)
        days_in_month = ((dt.date(year + month // 12, month % 12 + 1, 1)) - first).days
        while day > days_in_month:
            day -= 7
        return dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    jan1 = dt.date(year, 1, 1).toordinal() - _EPOCH_ORDINAL
    if spec.startswith("J"):  # 1..365, February 29 never counted
        n = int(spec[1:])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return jan1 + n - 1 + (1 if leap and n >= 60 else 0)
    return jan1 + int(spec)


def _rule_instant(spec: str, year: int, utoff_before: int) -> int:
    date, _, time = spec.partition("/")
    local_seconds = _rule_day(date, year) * 86400 + (_hms(time) if time else 7200)
    return local_seconds - utoff_before


def expand_footer(footer: str, after: int, last_year: int) -> tuple[list[int], list[int]]:
    """Transitions of the footer rule strictly after `after`, up to `last_year`."""
    match = _RULE.match(footer)
    if match is None:
        raise ValueError(f"unsupported POSIX TZ footer {footer!r}")
    std_text, dst_text, start, end = match.groups()
    if start is None:
        return [], []
    std = -_hms(std_text)
    dst = -_hms(dst_text) if dst_text else std + 3600
    first_year = dt.datetime.fromtimestamp(max(after, 0), dt.timezone.utc).year
    events = []
    for year in range(first_year, last_year + 1):
        events.append((_rule_instant(start, year, std), dst))
        events.append((_rule_instant(end, year, dst), std))
    events.sort()
    kept = [(t, o) for t, o in events if t > after]
    return [t for t, _ in kept], [o for _, o in kept]


# -- timetables ------------------------------------------------------------------------
def _to_minutes(seconds: np.ndarray) -> np.ndarray:
    minutes = np.floor(seconds / 60.0 + 0.5).astype(np.int64)
    return np.clip(minutes, -OFFSET_LIMIT_MIN, OFFSET_LIMIT_MIN).astype(np.int32)


def compile_zone(tzid: str, data: bytes, horizon_year: int = HORIZON_YEAR) -> Timetable:
    instants, utoffs, type_utoffs, footer = parse_tzif(data)
    after = int(instants[-1]) if instants.size else FIRST_INSTANT
    extra_t, extra_o = expand_footer(footer, after, horizon_year)
    all_t = np.concatenate([[FIRST_INSTANT], instants, np.array(extra_t, dtype=np.int64)])
    all_o = _to_minutes(np.concatenate([[type_utoffs[0]], utoffs, np.array(extra_o, dtype=np.int64)]))
    changed = np.concatenate([[True], all_o[1:] != all_o[:-1]])
    all_t, all_o = all_t[changed], all_o[changed]
    if np.any(all_t[1:] <= all_t[:-1]):  # (np.diff would overflow at -2^63)
        raise ValueError(f"{tzid}: instants do not strictly increase")
    return Timetable(tzid, all_t.astype(np.int64), all_o)


def compile_all(horizon_year: int = HORIZON_YEAR) -> list[Timetable]:
    base = _zoneinfo_dir()
    return [compile_zone(name, (base / name).read_bytes(), horizon_year) for name in zone_names()]


def encode_payload(tables: list[Timetable]) -> bytes:
    """TZC1 | u16 version | u32 count | per tzid: u16 len, ASCII, u32 n, n x (i64, i32)."""
    chunks = [MAGIC, struct.pack("<HI", PAYLOAD_VERSION, len(tables))]
    for table in sorted(tables, key=lambda t: t.tzid.encode("ascii")):
        name = table.tzid.encode("ascii")
        pairs = np.empty(table.instants.size, dtype=_PAIR)
        pairs["t"], pairs["o"] = table.instants, table.offsets
        chunks += [struct.pack("<H", len(name)), name, struct.pack("<I", pairs.size), pairs.tobytes()]
    return b"".join(chunks)


def decode_payload(payload: bytes) -> dict[str, Timetable]:
    """Inverse of `encode_payload` (tests and diagnostics)."""
    if payload[:4] != MAGIC:
        raise ValueError("not a TZC1 payload")
    version, count = struct.unpack_from("<HI", payload, 4)
    if version != PAYLOAD_VERSION:
        raise ValueError(f"unsupported payload version {version}")
    offset, tables = 10, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", payload, offset)
        tzid = payload[offset + 2: offset + 2 + length].decode("ascii")
        offset += 2 + length
        (n,) = struct.unpack_from("<I", payload, offset)
        pairs = np.frombuffer(payload, dtype=_PAIR, count=n, offset=offset + 4)
        offset += 4 + n * _PAIR.itemsize
        tables[tzid] = Timetable(tzid, pairs["t"].astype(np.int64), pairs["o"].astype(np.int32))
    if offset != len(payload):
        raise ValueError("trailing bytes after the last record")
    return tables


def window_counts(table: Timetable) -> tuple[int, int]:
    """(gap windows, fold windows): consecutive entries whose offset rises / falls."""
    step = np.diff(table.offsets.astype(np.int64))
    return int(np.count_nonzero(step > 0)), int(np.count_nonzero(step < 0))


def manifest(fingerprint: str, payload: bytes, created_utc: str) -> dict:
    """The strict manifest object of 05 §3."""
    return {
        "manifest_fingerprint": fingerprint,
        "tzdb_release_tag": release_tag(),
        "tzdb_archive_sha256": archive_sha256(),
        "tz_index_digest": sha256_bytes(payload),
        "rle_cache_bytes": len(payload),
        "created_utc": created_utc,
    }
