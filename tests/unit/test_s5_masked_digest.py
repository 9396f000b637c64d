"""The masked zone_alloc digest (spec 04 §1.3) rewrites a file in writer sort: a file
already read in that order is written as read (no sort of the wide rows), any other is
sorted first. Either way the PWP bytes are those of the rows in writer sort, so the
digest does not depend on the order the file holds them in. Bytes masked once in a
process are not rewritten again (S5's replay check and S6 both mask the published
file); a changed byte always is."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from seg3a.core.digests import sha256_file
from seg3a.states import s5_digests
from seg3a.states.s5_digests import (
    PWP_FILE, PWP_OPTIONS, Z64, _in_writer_sort, kept_masked_frame, masked_zone_alloc_digest, parquet_scan,
    remember_in_writer_sort, write_pwp_from_masked,
)

ROWS = """
    select
        42::ubigint as seed,
        'f' || repeat('0', 63) as manifest_fingerprint,
        (i // 3 + 1)::ubigint as merchant_id,
        ['DE', 'US'][1 + (i // 2) % 2] as legal_country_iso,
        'Zone/' || (i % 3)::varchar as tzid,
        (i % 5)::bigint as zone_site_count,
        repeat('a', 64) as routing_universe_hash
    from range(3000) as t(i)
"""
KEYS = "merchant_id, legal_country_iso, tzid"


def _write(conn, path: Path, order: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(f"copy (select distinct * from ({ROWS}) order by {order}) to '{path.as_posix()}' ({PWP_OPTIONS})")
    return path


@pytest.fixture()
def conn():
    with duckdb.connect() as connection:
        yield connection


def test_a_file_in_writer_sort_is_recognised(conn, tmp_path):
    assert _in_writer_sort(conn, parquet_scan(_write(conn, tmp_path / "a" / "part-00000.parquet", KEYS)))
    assert not _in_writer_sort(conn, parquet_scan(_write(conn, tmp_path / "b" / "part-00000.parquet", "tzid, " + KEYS)))
    assert not _in_writer_sort(conn, parquet_scan(
        _write(conn, tmp_path / "c" / "part-00000.parquet", "merchant_id, legal_country_iso, tzid desc")))


def test_a_null_key_is_never_taken_as_sorted(conn, tmp_path):
    path = tmp_path / "n" / "part-00000.parquet"
    path.parent.mkdir()
    conn.execute(f"copy (select * replace (cast(null as varchar) as tzid) from ({ROWS}) order by {KEYS}) "
                 f"to '{path.as_posix()}' ({PWP_OPTIONS})")
    assert not _in_writer_sort(conn, parquet_scan(path))


def _write_split(conn, directory: Path, halves: tuple[str, str]) -> Path:
    """Two part files of many small row groups: the rows in writer sort split at the
    middle, `halves` = which half (`low` or `high`) each file holds, in file order."""
    directory.mkdir(parents=True)
    sorted_rows = f"select *, row_number() over (order by {KEYS}) as n from (select distinct * from ({ROWS}))"
    for number, half in enumerate(halves):
        keep = "n <= 1500" if half == "low" else "n > 1500"
        conn.execute(f"copy (select * exclude (n) from ({sorted_rows}) where {keep} order by n) "
                     f"to '{(directory / f'part-{number:05d}.parquet').as_posix()}' "
                     f"(format parquet, row_group_size 64)")
    return directory


def test_the_order_judged_is_the_stored_order_of_many_files_and_row_groups(conn, tmp_path):
    # Several threads scan the row groups; the verdict must be that of the rows as stored
    # (files in name order, row groups in file order), the order a COPY writes them in.
    conn.execute("set threads = 4")
    assert _in_writer_sort(conn, parquet_scan(_write_split(conn, tmp_path / "in_order", ("low", "high"))))
    assert not _in_writer_sort(conn, parquet_scan(_write_split(conn, tmp_path / "swapped", ("high", "low"))))


def test_the_digest_is_that_of_the_rows_in_writer_sort_whatever_the_file_order(conn, tmp_path):
    sorted_file = _write(conn, tmp_path / "sorted" / "part-00000.parquet", KEYS)
    shuffled = _write(conn, tmp_path / "shuffled" / "part-00000.parquet", "zone_site_count, tzid desc, merchant_id")
    # the expected bytes are written here independently: sort, mask, PWP
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    conn.execute(f"copy (select * replace ('{Z64}' as routing_universe_hash) from read_parquet('{shuffled}') "
                 f"order by {KEYS}) to '{(expected_dir / 'part-00000.parquet').as_posix()}' ({PWP_OPTIONS})")
    expected = hashlib.sha256((expected_dir / "part-00000.parquet").read_bytes()).hexdigest()
    assert masked_zone_alloc_digest(conn, sorted_file.parent) == expected
    assert masked_zone_alloc_digest(conn, shuffled.parent) == expected


def _expected_masked(conn, source: Path, target_dir: Path) -> str:
    """Sort, mask and PWP-write `source` here, independently of the code under test."""
    target_dir.mkdir()
    conn.execute(f"copy (select * replace ('{Z64}' as routing_universe_hash) from read_parquet('{source}') "
                 f"order by {KEYS}) to '{(target_dir / 'part-00000.parquet').as_posix()}' ({PWP_OPTIONS})")
    return hashlib.sha256((target_dir / "part-00000.parquet").read_bytes()).hexdigest()


def test_bytes_already_masked_in_this_process_need_no_rewrite(conn, tmp_path):
    first = _write(conn, tmp_path / "first" / "part-00000.parquet", KEYS)
    digest = masked_zone_alloc_digest(conn, first.parent)
    copy = tmp_path / "copy" / "part-00000.parquet"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    unusable = tmp_path / "not-a-directory"
    unusable.write_bytes(b"")  # a rewrite would have to make its scratch directory here
    assert masked_zone_alloc_digest(conn, copy.parent, scratch=unusable) == digest
    with pytest.raises(OSError):  # different bytes: rewritten, so the scratch is needed
        masked_zone_alloc_digest(conn, _write(conn, tmp_path / "other" / "part-00000.parquet", "tzid, " + KEYS).parent,
                                 scratch=unusable)


def test_changed_bytes_are_masked_afresh_under_the_same_name_and_time(conn, tmp_path):
    path = _write(conn, tmp_path / "zone_alloc" / "part-00000.parquet", KEYS)
    before = masked_zone_alloc_digest(conn, path.parent)
    stat = path.stat()
    changed = tmp_path / "changed.parquet"
    conn.execute(f"copy (select * replace (case when merchant_id = 7 and tzid = 'Zone/1' then zone_site_count + 1 "
                 f"else zone_site_count end as zone_site_count) from read_parquet('{path}') order by {KEYS}) "
                 f"to '{changed.as_posix()}' ({PWP_OPTIONS})")
    changed.replace(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = masked_zone_alloc_digest(conn, path.parent)
    assert after == _expected_masked(conn, path, tmp_path / "expected")
    assert after != before


def test_the_kept_masked_frame_gives_the_final_frame_once_and_only_for_its_bytes(conn, tmp_path):
    source = _write(conn, tmp_path / "frame" / PWP_FILE, KEYS)
    scratch = tmp_path / "scratch"
    digest = masked_zone_alloc_digest(conn, conn.sql(f"select * from read_parquet('{source}')"), scratch, keep=True)
    # the final frame written independently: the rows with the hash written in, PWP
    expected = tmp_path / "expected.parquet"
    conn.execute(f"copy (select * replace ('{'b' * 64}' as routing_universe_hash) from read_parquet('{source}') "
                 f"order by {KEYS}) to '{expected.as_posix()}' ({PWP_OPTIONS})")
    with kept_masked_frame("0" * 64) as other:
        assert other is None  # kept under its own digest only
    with kept_masked_frame(digest) as masked_file:
        assert masked_file is not None
        final = tmp_path / "final.parquet"
        write_pwp_from_masked(conn, masked_file, "b" * 64, final)
    assert final.read_bytes() == expected.read_bytes()
    assert list(scratch.iterdir()) == []  # its directory is gone once handed out
    with kept_masked_frame(digest) as again:
        assert again is None


def test_a_kept_masked_frame_whose_bytes_changed_is_not_taken(conn, tmp_path):
    source = _write(conn, tmp_path / "frame" / PWP_FILE, KEYS)
    scratch = tmp_path / "scratch"
    digest = masked_zone_alloc_digest(conn, conn.sql(f"select * from read_parquet('{source}')"), scratch, keep=True)
    (kept,) = scratch.iterdir()
    with open(kept / PWP_FILE, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 1]))
    with kept_masked_frame(digest) as masked_file:
        assert masked_file is None
    assert list(scratch.iterdir()) == []


@pytest.fixture()
def order_passes(monkeypatch):
    """The files the masked digest ran its own writer-sort pass on."""
    passes = []

    def counted(conn, source_sql):
        passes.append(source_sql)
        return _in_writer_sort(conn, source_sql)

    monkeypatch.setattr(s5_digests, "_in_writer_sort", counted)
    return passes


def test_bytes_proven_in_writer_sort_are_written_as_read_without_another_pass(conn, tmp_path, order_passes):
    proven = _write(conn, tmp_path / "proven" / PWP_FILE, KEYS)
    remember_in_writer_sort(proven, sha256_file(proven))
    assert masked_zone_alloc_digest(conn, proven.parent) == _expected_masked(conn, proven, tmp_path / "expected")
    assert order_passes == []


def test_the_order_proof_is_kept_for_those_bytes_only(conn, tmp_path, order_passes):
    proven = _write(conn, tmp_path / "proven" / PWP_FILE, KEYS)
    remember_in_writer_sort(proven, sha256_file(proven))
    # other bytes, out of writer sort (an order no other test masks: masked bytes are remembered per process)
    shuffled = _write(conn, tmp_path / "shuffled" / PWP_FILE, "legal_country_iso, " + KEYS)
    assert masked_zone_alloc_digest(conn, shuffled.parent) == _expected_masked(conn, shuffled, tmp_path / "expected")
    assert len(order_passes) == 1  # its own pass, which found it out of order: sorted


def test_bytes_changed_since_their_order_was_proven_are_not_remembered(conn, tmp_path, order_passes):
    path = _write(conn, tmp_path / "zone_alloc" / PWP_FILE, KEYS)
    checked = sha256_file(path)
    # out of order, same name, bytes no other test masks
    _write(conn, tmp_path / "other" / PWP_FILE, "zone_site_count desc, " + KEYS).replace(path)
    remember_in_writer_sort(path, checked)
    assert masked_zone_alloc_digest(conn, path.parent) == _expected_masked(conn, path, tmp_path / "expected")
    assert len(order_passes) == 1
