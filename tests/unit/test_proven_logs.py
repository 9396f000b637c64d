"""RNG logs proven valid once per process (seg3a.core.jsonl_check.remember_proven): S6's
check feeds the bytes it judges to a digest (in this process, also the bytes it hands to
worker processes), and a log whose every line a template proved is remembered under
that digest and its files' sizes; S7 takes the verdict only for bytes it hashed to the
same digest and sizes, and parses anything else as before, so a log changed after S6
proved it is still refused with E3A_S7_002. Each case runs with the log judged in this
process and by three workers."""
from __future__ import annotations

import hashlib
import os
import json
from pathlib import Path

import pytest

from seg3a.core import jsonl_check
from seg3a.core.jsonl_check import proven_records, remember_proven, scan_log
from seg3a.core.schemas import SchemaPacks
from seg3a.states import s7_bundle
from seg3a.states.common import StateFailure
from seg3a.states.s7_members import MEMBER_BY_ID, member_digest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
EVENT_ANCHOR = "schemas.layer1.yaml#/rng/events/zone_dirichlet"
EVENT_RECORDS = [json.loads(p.read_text())
                 for p in sorted((ROOT / "tests" / "contracts" / "rng_event_zone_dirichlet" / "valid").glob("*.json"))]


@pytest.fixture(scope="module")
def packs() -> SchemaPacks:
    return SchemaPacks.load(CONTRACTS)


def writer_lines(copies: int = 50) -> bytes:
    """Valid event records as the writers write them (keys sorted, `", "`, `": "`)."""
    return b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in EVENT_RECORDS) * copies


# Three workers, each fed at least one batch of about a twelfth of the file.
BY_WORKERS = {"workers": 3, "bytes_per_worker": 1}
JUDGED_BY = {"in_process": {"workers": 1}, "workers": BY_WORKERS}


def s6_scan(path: Path, **options) -> tuple[jsonl_check.LogScan, str]:
    digest = hashlib.sha256()
    return scan_log(str(CONTRACTS), EVENT_ANCHOR, path, digest=digest, **options), digest.hexdigest()


# ------------------------------------------------------------------ what S6 remembers
def test_a_log_proven_in_process_reports_the_bytes_it_hashed(tmp_path):
    content = writer_lines()
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(content)
    scan, digest = s6_scan(path)
    assert scan.invalid_line is None and scan.records == content.count(b"\n")
    assert scan.proven_bytes == len(content) and digest == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("judged_by", ["in_process", "workers"])
@pytest.mark.parametrize("change", ["blank_line", "escape", "crlf"])
def test_valid_lines_no_template_proves_are_not_proven(tmp_path, change, judged_by):
    """Valid by the exact scan, but not by templates: nothing to remember."""
    content = writer_lines()
    content = {"blank_line": content + b"\n",
               "escape": content.replace(b'"3A.S3"', b'"3A.\\u00533"', 1),
               "crlf": content.replace(b"\n", b"\r\n")}[change]
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(content)
    scan, _digest = s6_scan(path, **JUDGED_BY[judged_by])
    assert scan.invalid_line is None and scan.proven_bytes is None


def test_a_log_judged_by_workers_reports_the_bytes_this_process_hashed(tmp_path):
    """The workers judge what this process read, hashed and piped to them."""
    content = writer_lines()
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(content)
    scan, digest = s6_scan(path, **BY_WORKERS)
    assert scan.invalid_line is None and scan.records == content.count(b"\n")
    assert scan.proven_bytes == len(content) and digest == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("judged_by", ["in_process", "workers"])
def test_an_invalid_log_is_not_proven(tmp_path, judged_by):
    content = writer_lines()
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(content.replace(b'"seed": ', b'"seed": -', 1))
    scan, _digest = s6_scan(path, **JUDGED_BY[judged_by])
    assert scan.invalid_line == 1 and scan.proven_bytes is None


def test_the_memory_is_keyed_by_anchor_digest_and_file_sizes(packs):
    remember_proven(packs, EVENT_ANCHOR, "ab" * 32, (10, 20), 7)
    assert proven_records(packs, EVENT_ANCHOR, "ab" * 32, (10, 20)) == 7
    assert proven_records(packs, EVENT_ANCHOR, "ab" * 32, (20, 10)) is None  # same bytes cut elsewhere
    assert proven_records(packs, EVENT_ANCHOR, "cd" * 32, (10, 20)) is None
    assert proven_records(packs, "schemas.layer1.yaml#/rng/core/rng_trace_log", "ab" * 32, (10, 20)) is None


# ------------------------------------------------------------------ what S7 does with it
def event_member(path: Path) -> s7_bundle.MemberEntry:
    """The event log member as S7 digests it."""
    member = MEMBER_BY_ID["rng_event_zone_dirichlet"]
    entry = s7_bundle.MemberEntry(member, "logs/part-*.jsonl", EVENT_ANCHOR, path.parent / "part-*.jsonl")
    digest = member_digest(member, entry.location)
    entry.sha256_hex, entry.size_bytes, entry.file_sizes = digest.sha256_hex, digest.size_bytes, digest.file_sizes
    return entry


def s7_outcome(packs, path: Path) -> str:
    try:
        s7_bundle.validate_log(packs, event_member(path), False)
    except StateFailure as exc:
        return str(exc)
    return "valid"


def prove_as_s6(packs, paths: list[Path], judged_by: str = "in_process") -> None:
    """What S6's RNG log check does for one log: every file scanned into one digest."""
    digest, sizes, records = hashlib.sha256(), [], 0
    for path in paths:
        scan = scan_log(str(CONTRACTS), EVENT_ANCHOR, path, digest=digest, **JUDGED_BY[judged_by])
        assert scan.invalid_line is None and scan.proven_bytes is not None
        sizes.append(scan.proven_bytes)
        records += scan.records
    remember_proven(packs, EVENT_ANCHOR, digest.hexdigest(), tuple(sizes), records)


def count_parses(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = s7_bundle.log_violations

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(s7_bundle, "log_violations", counted)
    return calls


@pytest.mark.parametrize("judged_by", ["in_process", "workers"])
def test_s7_takes_the_verdict_for_the_bytes_s6_proved(packs, tmp_path, monkeypatch, judged_by):
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(writer_lines(copies=51))
    prove_as_s6(packs, [path], judged_by)
    parses = count_parses(monkeypatch)
    assert s7_outcome(packs, path) == "valid" and parses == []


@pytest.mark.parametrize("judged_by", ["in_process", "workers"])
def test_s7_parses_a_log_changed_after_s6_proved_it(packs, tmp_path, monkeypatch, judged_by):
    """Same size, one value broken after the proof: the digest differs, S7 parses and
    refuses the line as it would without any proof."""
    path = tmp_path / "part-00000.jsonl"
    content = writer_lines(copies=52)
    path.write_bytes(content)
    prove_as_s6(packs, [path], judged_by)
    broken = content.replace(b'"seed": 42', b'"seed": -2', 1)
    assert len(broken) == len(content) and broken != content
    path.write_bytes(broken)
    parses = count_parses(monkeypatch)
    outcome = s7_outcome(packs, path)
    assert outcome.startswith("E3A_S7_002") and "log line fails" in outcome and parses


@pytest.mark.parametrize("judged_by", ["in_process", "workers"])
def test_s7_parses_the_same_bytes_cut_into_other_files(packs, tmp_path, monkeypatch, judged_by):
    content = writer_lines(copies=53)
    first, second = tmp_path / "part-00000.jsonl", tmp_path / "part-00001.jsonl"
    cut = content.index(b"\n", len(content) // 2) + 1
    first.write_bytes(content[:cut])
    second.write_bytes(content[cut:])
    prove_as_s6(packs, [first, second], judged_by)
    parses = count_parses(monkeypatch)
    assert s7_outcome(packs, first) == "valid" and parses == []  # the files S6 proved
    recut = content.index(b"\n", cut + 1) + 1
    first.write_bytes(content[:recut])
    second.write_bytes(content[recut:])
    assert s7_outcome(packs, first) == "valid" and parses  # same concatenation, other files: parsed


def test_s7_parses_a_log_s6_judged_with_a_batch_no_template_proved(packs, tmp_path, monkeypatch):
    """Valid, but one worker's batch was judged line by line (an escaped character):
    S6 remembers nothing, and S7 parses the log and finds it valid."""
    path = tmp_path / "part-00000.jsonl"
    content = writer_lines(copies=54)
    path.write_bytes(content[:len(content) // 2] + content[len(content) // 2:].replace(b'"3A.S3"', b'"3A.\\u00533"', 1))
    digest = hashlib.sha256()
    scan = scan_log(str(CONTRACTS), EVENT_ANCHOR, path, digest=digest, **BY_WORKERS)
    assert scan.invalid_line is None and scan.proven_bytes is None
    parses = count_parses(monkeypatch)
    assert s7_outcome(packs, path) == "valid" and parses


# ------------------------------------------------------------------ judged off the process
def count_workers(monkeypatch) -> list[int]:
    started: list[int] = []
    original = jsonl_check._scan_by_workers

    def counted(contracts_root, anchor, path, size, count, fed, **options):
        started.append(count)
        return original(contracts_root, anchor, path, size, count, fed, **options)

    monkeypatch.setattr(jsonl_check, "_scan_by_workers", counted)
    return started


def test_off_process_judges_a_small_log_by_one_worker_with_the_same_verdict(tmp_path, monkeypatch):
    content = writer_lines()
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(content)
    in_process, in_process_digest = s6_scan(path)
    started = count_workers(monkeypatch)
    off, off_digest = s6_scan(path, off_process=True)
    assert started == [1] and off == in_process and off_digest == in_process_digest
    assert off.proven_bytes == len(content)


@pytest.mark.parametrize("number", [1, 77])
def test_off_process_names_the_first_invalid_line_as_in_process(tmp_path, monkeypatch, number):
    lines = writer_lines().split(b"\n")
    lines[number - 1] = lines[number - 1][:-1]
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(b"\n".join(lines))
    in_process, _ = s6_scan(path)
    started = count_workers(monkeypatch)
    off, _ = s6_scan(path, off_process=True)
    assert started == [1] and off == in_process and off.invalid_line == number and off.proven_bytes is None


def test_off_process_judges_an_empty_log_as_in_process(tmp_path):
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(b"")
    assert s6_scan(path, off_process=True) == s6_scan(path)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the worker's nice value from /proc")
def test_off_process_workers_run_at_the_lower_priority_asked(tmp_path, monkeypatch):
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(writer_lines())
    seen: list[int] = []
    original = jsonl_check._worker_answers

    def answers(process, out, err):
        # the worker has answered or is answering; not yet reaped, so its entry is there
        seen.append(int(Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[16]))
        return original(process, out, err)

    monkeypatch.setattr(jsonl_check, "_worker_answers", answers)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    scan, _ = s6_scan(path, off_process=True, worker_niceness=3)
    assert scan.proven_bytes is not None and seen == [min(19, own + 3)]
    seen.clear()
    s6_scan(path, off_process=True)
    assert seen == [own]
