"""`tz_timetable_cache` (05 §3) and `s4_legality_report` (05 §4) of a generated world.

The payload is decoded here with a reader written from the byte layout in 05 §3, and
offsets are cross-checked against the standard library's `zoneinfo` reading the same
tzdata TZif files, so the generator's own TZif parser is not trusted by these tests.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import json
import struct
import zoneinfo
from pathlib import Path

import duckdb
import numpy as np
import pytest
import tzdata

from seg3a.core.schemas import SchemaPacks
from seg3a.world.testing import WorldView, shared_world

ZONEINFO = Path(str(importlib.resources.files("tzdata") / "zoneinfo"))


def decode(payload: bytes) -> dict[str, tuple[list[int], list[int]]]:
    assert payload[:4] == b"TZC1"
    version, count = struct.unpack_from("<HI", payload, 4)
    assert version == 1
    offset, tables = 10, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", payload, offset)
        name = payload[offset + 2: offset + 2 + length].decode("ascii")
        offset += 2 + length
        (n,) = struct.unpack_from("<I", payload, offset)
        offset += 4
        pairs = [struct.unpack_from("<qi", payload, offset + 12 * i) for i in range(n)]
        offset += 12 * n
        tables[name] = ([t for t, _ in pairs], [o for _, o in pairs])
    assert offset == len(payload), "trailing bytes"
    return tables


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> WorldView:
    return WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))


@pytest.fixture(scope="module")
def cache(world):
    folder = world.path("tz_timetable_cache")
    manifest_bytes = (folder / "tz_timetable_cache.json").read_bytes()
    payload = (folder / "tz_cache_v1.bin").read_bytes()
    return {"folder": folder, "manifest_bytes": manifest_bytes, "manifest": json.loads(manifest_bytes),
            "payload": payload, "tables": decode(payload)}


def test_cache_folder_holds_exactly_manifest_and_payload(cache):
    assert sorted(p.name for p in cache["folder"].iterdir()) == ["tz_cache_v1.bin", "tz_timetable_cache.json"]


def test_manifest_fields_and_digests(world, cache):
    m = cache["manifest"]
    assert set(m) == {"manifest_fingerprint", "tzdb_release_tag", "tzdb_archive_sha256", "tz_index_digest",
                      "rle_cache_bytes", "created_utc"}
    assert m["manifest_fingerprint"] == world.receipt.manifest_fingerprint
    assert m["tz_index_digest"] == hashlib.sha256(cache["payload"]).hexdigest()
    assert m["rle_cache_bytes"] == len(cache["payload"]) > 0
    assert m["tzdb_release_tag"] == tzdata.IANA_VERSION == "2026c"
    assert m["tzdb_archive_sha256"] == hashlib.sha256((ZONEINFO / "tzdata.zi").read_bytes()).hexdigest()
    assert m["created_utc"] == world.receipt.created_utc
    packs = SchemaPacks.load(world.catalogue.root)
    assert packs.validate_json(world.catalogue.entry("tz_timetable_cache")["schema_ref"], m) == []


def test_manifest_is_canonical_json(cache):
    m = cache["manifest"]
    assert cache["manifest_bytes"] == json.dumps(m, sort_keys=True, separators=(",", ":")).encode("ascii")


def test_payload_records_are_well_formed(cache):
    names = list(cache["tables"])
    assert names == sorted(names, key=lambda s: s.encode("ascii"))
    assert len(names) > 400
    for name, (instants, offsets) in cache["tables"].items():
        assert instants[0] == -(2 ** 63), name
        assert all(a < b for a, b in zip(instants, instants[1:])), name
        assert all(-900 <= o <= 900 for o in offsets), name


def _expected_minutes(zone: zoneinfo.ZoneInfo, instant: int) -> int:
    seconds = dt.datetime.fromtimestamp(instant, dt.timezone.utc).astimezone(zone).utcoffset().total_seconds()
    return max(-900, min(900, int(np.floor(seconds / 60.0 + 0.5))))


def test_offsets_agree_with_zoneinfo_on_the_same_tzif_files(cache):
    rng = np.random.default_rng(20260101)
    instants = list(rng.integers(-2_208_988_800, 2_145_916_800, 25))  # 1900 .. 2037
    instants += [1_767_225_600 + k * 86_400 * 7 + 3_600 * (k % 24) for k in range(53)]  # every week of 2026
    for name, (times, offsets) in cache["tables"].items():
        with open(ZONEINFO / name, "rb") as handle:
            zone = zoneinfo.ZoneInfo.from_file(handle, key=name)
        for instant in instants:
            position = int(np.searchsorted(np.array(times[1:], dtype=np.int64), instant, side="right"))
            assert offsets[position] == _expected_minutes(zone, int(instant)), (name, instant)


def test_known_2026_transitions(cache):
    times, offsets = cache["tables"]["America/New_York"]
    spring = int(dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.timezone.utc).timestamp())
    autumn = int(dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc).timestamp())
    assert (spring, -240) in zip(times, offsets)
    assert (autumn, -300) in zip(times, offsets)
    times, offsets = cache["tables"]["Asia/Kolkata"]
    assert offsets[-1] == 330


@pytest.fixture(scope="module")
def report(world):
    return json.loads(world.path("s4_legality_report").read_bytes())


def test_legality_report_counts_match_sites_and_payload(world, cache, report):
    con = duckdb.connect()
    sites, tzids = con.execute(
        f"SELECT count(*), list(DISTINCT tzid) FROM read_parquet('{world.path('site_timezones')}/*.parquet')").fetchone()
    gaps = folds = 0
    for tzid in tzids:
        steps = np.diff(np.array(cache["tables"][tzid][1], dtype=np.int64))
        gaps += int(np.sum(steps > 0))
        folds += int(np.sum(steps < 0))
    assert report["status"] == "PASS" and "missing_tzids" not in report
    assert report["counts"] == {"sites_total": sites, "tzids_total": len(tzids),
                                "gap_windows_total": gaps, "fold_windows_total": folds}
    assert report["seed"] == world.receipt.seed
    assert report["manifest_fingerprint"] == world.receipt.manifest_fingerprint
    assert report["generated_utc"] == world.receipt.created_utc
    assert set(tzids) <= set(cache["tables"])


def test_legality_report_validates(world, report):
    packs = SchemaPacks.load(world.catalogue.root)
    assert packs.validate_json(world.catalogue.entry("s4_legality_report")["schema_ref"], report) == []
