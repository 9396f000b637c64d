"""Byte ranges of a JSON-lines file for the parallel RNG-log check (seg3a.core.jsonl_check):
the ranges tile the file, each ends just after a line feed, and their lines, read range
by range, are exactly the lines of the whole file as `bytes.splitlines` gives them (the
numbering S6 reports), whatever the range size. A worker that fails surfaces as OSError,
which S6 reports as E3A_S6_007 (the scans themselves: tests/negative/test_s6_rng_log_lines.py)."""
from __future__ import annotations

import io
import random

import pytest

from seg3a.core.jsonl import file_lines
from seg3a.core.jsonl_check import line_aligned_ranges, range_batches, range_lines, scan_log

CONTENTS = {
    "plain": b'{"a": 1}\n{"a": 2}\n{"a": 3}\n',
    "no_final_line_feed": b'{"a": 1}\n{"a": 2}',
    "blank_lines": b"\n\n{}\n\n{}\n\n",
    "crlf_and_lone_cr": b'{"a":\r 1}\r\n{"b": 2}\r\r\n\r{"c": 3}\n',
    "one_long_line": b"x" * 5000,
    "empty": b"",
}


def _random_content(seed: int) -> bytes:
    rng = random.Random(seed)
    pieces = [rng.choice([b"\n", b"\r", b"\r\n", b"{}", b'{"k": "v"}', b"  ", b"x" * rng.randint(1, 300)])
              for _ in range(400)]
    return b"".join(pieces)


@pytest.mark.parametrize("name", sorted(CONTENTS) + ["random_1", "random_2", "random_3"])
@pytest.mark.parametrize("range_bytes", [1, 7, 64, 1000, 10 ** 9])
def test_ranges_tile_the_file_at_line_ends_and_keep_its_lines(tmp_path, name, range_bytes):
    content = CONTENTS[name] if name in CONTENTS else _random_content(int(name.split("_")[1]))
    path = tmp_path / "log.jsonl"
    path.write_bytes(content)
    ranges = line_aligned_ranges(path, range_bytes)
    ends = [end for _, end in ranges]
    assert [start for start, _ in ranges] == ([0] + ends[:-1] if ranges else [])
    assert (ranges[-1][1] if ranges else 0) == len(content)
    assert all(content[end - 1:end] == b"\n" for _, end in ranges[:-1])
    with open(path, "rb") as handle:
        lines = [line for start, end in ranges for line in range_lines(handle, start, end)]
    assert lines == content.splitlines() == list(file_lines(path))


@pytest.mark.parametrize("name", sorted(CONTENTS) + ["random_1", "random_2", "random_3"])
@pytest.mark.parametrize("batch_bytes", [1, 5, 64, 1000, 10 ** 9])
def test_batches_tile_a_range_at_line_ends_and_keep_its_lines(tmp_path, name, batch_bytes):
    """The batches the template proof judges: whole lines, ending at line feeds, whose
    lines are the range's lines."""
    content = CONTENTS[name] if name in CONTENTS else _random_content(int(name.split("_")[1]))
    path = tmp_path / "log.jsonl"
    path.write_bytes(content)
    with open(path, "rb") as handle:
        for start, end in line_aligned_ranges(path, 700) or [(0, 0)]:
            batches = list(range_batches(handle, start, end, batch_bytes))
            assert b"".join(batches) == content[start:end]
            assert all(batch.endswith(b"\n") for batch in batches[:-1]) and all(batches)

            lines = [line for batch in batches for line in range_lines(io.BytesIO(batch), 0, len(batch))]
            assert lines == list(range_lines(handle, start, end))


def test_a_range_is_about_the_size_asked(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"0123456789\n" * 1000)  # 11 000 bytes, 11-byte lines
    ranges = line_aligned_ranges(path, 1100)
    assert len(ranges) == 10 and all(end - start == 1100 for start, end in ranges)


def test_a_worker_that_fails_is_an_os_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"{}\n" * 1000)
    with pytest.raises(OSError, match="RNG log worker failed"):
        scan_log(str(tmp_path / "no_contracts_here"), "schemas.layer1.yaml#/rng", path, workers=2, range_bytes=100)
