"""Batches of a JSON-lines file for the RNG-log check (seg3a.core.jsonl_check): the
batches tile the file, each ends just after a line feed, and their lines, read batch by
batch, are exactly the lines of the whole file as `bytes.splitlines` gives them (the
numbering S6 reports), whatever the batch size. Judged by workers, the batches come back
in file order up to the first invalid one; a worker that fails, or a batch no worker
judged, surfaces as OSError, which S6 reports as E3A_S6_007 (the scans themselves:
tests/negative/test_s6_rng_log_lines.py)."""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from seg3a.core import jsonl_check
from seg3a.core.jsonl import file_lines
from seg3a.core.jsonl_check import RangeScan, range_batches, range_lines, scan_log

TESTS = Path(__file__).resolve().parents[1]
CONTRACTS = str(TESTS.parent / "contracts")
EVENT_ANCHOR = "schemas.layer1.yaml#/rng/events/zone_dirichlet"
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
@pytest.mark.parametrize("batch_bytes", [1, 5, 64, 1000, 10 ** 9])
def test_batches_tile_the_file_at_line_ends_and_keep_its_lines(tmp_path, name, batch_bytes):
    """The batches the template proof judges and the workers are fed: whole lines,
    ending at line feeds, whose lines are the file's lines."""
    content = CONTENTS[name] if name in CONTENTS else _random_content(int(name.split("_")[1]))
    path = tmp_path / "log.jsonl"
    path.write_bytes(content)
    with open(path, "rb") as handle:
        batches = list(range_batches(handle, 0, len(content), batch_bytes))
    assert b"".join(batches) == content
    assert all(bytes(batch).endswith(b"\n") for batch in batches[:-1]) and all(batches)
    lines = [line for batch in batches for line in range_lines(io.BytesIO(batch), 0, len(batch))]
    assert lines == content.splitlines() == list(file_lines(path))


def test_judged_batches_come_back_in_file_order_up_to_the_first_invalid_one():
    good, bad = RangeScan(3, 2), RangeScan(3, 1, 2, "is not JSON")
    judged = {2: good, 0: good, 1: bad, 4: bad}  # 3: the worker of 1 stopped there
    assert jsonl_check._in_file_order(judged, 5) == [good, bad]
    assert jsonl_check._in_file_order({0: good, 1: good}, 2) == [good, good]
    with pytest.raises(OSError, match="did not judge batch 1"):
        jsonl_check._in_file_order({0: good, 2: bad}, 3)


def test_a_worker_judges_its_batches_and_stops_at_the_first_invalid_line():
    """What a worker is fed (each batch after its number and length) and answers: the
    batches judged, each numbered within itself, none after an invalid one."""
    record = json.loads(next((TESTS / "contracts" / "rng_event_zone_dirichlet" / "valid").glob("*.json")).read_text())
    line = json.dumps(record, sort_keys=True).encode() + b"\n"
    batches = {7: line * 2, 9: line + b"[]\n" + line, 12: line}
    fed = b"".join(jsonl_check._BATCH_HEADER.pack(n, len(b)) + b for n, b in batches.items())
    answer = io.StringIO()
    jsonl_check._serve(CONTRACTS, EVENT_ANCHOR, io.BytesIO(fed), answer)
    (first, judged_first), (second, judged_second) = json.loads(answer.getvalue())
    assert (first, RangeScan(**judged_first), judged_first["proven"]) == (7, RangeScan(2, 2), True)
    assert (second, RangeScan(**judged_second)) == (9, RangeScan(2, 2, 2, judged_second["problem"]))
    assert judged_second["problem"].startswith("fails its schema")
    with pytest.raises(EOFError, match="batch 7 cut short"):
        jsonl_check._serve(CONTRACTS, EVENT_ANCHOR, io.BytesIO(fed[:30]), io.StringIO())


def test_a_worker_that_fails_is_an_os_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"{}\n" * 1000)
    with pytest.raises(OSError, match="RNG log worker failed"):
        scan_log(str(tmp_path / "no_contracts_here"), "schemas.layer1.yaml#/rng", path, workers=2, bytes_per_worker=100)
