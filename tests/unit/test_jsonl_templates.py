"""Line templates (seg3a.core.json_templates) and the batch scan of the RNG-log check
(seg3a.core.jsonl_check): a line a template matches is valid by the exact per-line
check (json.loads, then the schema), and a scan that proves batches by templates gives
the same verdict, line counts, first invalid line and message as the line-by-line scan,
on generated logs of valid records and text-level mutations of them (NaN and Infinity,
duplicate keys, huge or out-of-range integers, trailing commas, escapes, non-UTF-8
bytes, blank lines, CRLF and lone CR, other whitespace and key orders)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seg3a.core import jsonl_check
from seg3a.core.json_templates import integer_range_pattern
from seg3a.core.jsonl_check import TemplateProof, line_problem, scan_lines, scan_log, scan_range
from seg3a.core.schemas import SchemaPacks

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
FIXTURES = ROOT / "tests" / "contracts"
ANCHORS = {
    "rng_event_zone_dirichlet": "schemas.layer1.yaml#/rng/events/zone_dirichlet",
    "rng_trace_log": "schemas.layer1.yaml#/rng/core/rng_trace_log",
    "rng_audit_log": "schemas.layer1.yaml#/rng/core/rng_audit_log",
}
# Raw JSON value texts put in place of a value: right and wrong, and texts Python's json
# reads in ways a strict JSON reader would not (NaN, Infinity, huge integers).
VALUE_TEXTS = [
    b"0", b"1", b"7", b"-1", b"01", b"1.0", b"0.0", b"-0.0", b"1e5", b"1E-05", b"0.5", b"2.5e-300", b"1e400",
    b"1e-400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", b"true", b"false", b"null", b'""', b'"x"',
    b"18446744073709551615", b"18446744073709551616", b"4294967295", b"4294967296", b"1" + b"0" * 5000,
    b'"0000000000000000000000000000000f"', b'"' + b"a" * 64 + b'"', b'"' + b"A" * 64 + b'"',
    b'"\\u0061' + b"a" * 63 + b'"', b'"a\\"' + b"a" * 61 + b'"', b'"US"', b'"us"', b'"U\\u0053"', b'"3A.S3"',
    b'"3A.S3 "', b'"zone_dirichlet"', b'"2026-01-15T09:30:00.000000Z"', b'"2026-01-15T09:30:00Z"',
    b'"\xff\xfe"', b'"caf\xc3\xa9"', b'"\t"', b'"11"', b'"0"', b'"011"', b"[]", b"{}", b'{"a": 1}',
    b'"340282366920938463463374607431768211455"', b'"3402823669209384634633746074317682114550"',
    b'"philox2x64-10"', b"0.0000000000000000000001", b"0.00000000000000000000001e-99", b"9" * 22,
]
SEPARATORS = [b", ", b",", b" , ", b",\t"]


def _records(name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / name / "valid").glob("*.json"))]


RECORDS = {name: _records(name) for name in ANCHORS}


@pytest.fixture(scope="module")
def packs() -> SchemaPacks:
    return SchemaPacks.load(CONTRACTS)


def writer_line(record: dict) -> bytes:
    """A record as the RNG log writers write it: keys sorted, `", "` and `": "`."""
    return json.dumps(record, sort_keys=True).encode()


def _members(record: dict) -> list[tuple[bytes, bytes]]:
    return [(json.dumps(k).encode(), json.dumps(v).encode()) for k, v in sorted(record.items())]


@st.composite
def lines(draw, name: str) -> bytes:
    """One log line: a valid record, mostly written as the writers write it, often with
    one or two text-level mutations."""
    record = draw(st.sampled_from(RECORDS[name]))
    members = _members(record)
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["value", "value", "value", "drop", "duplicate", "extra", "swap", "trailing",
                                     "space", "truncate", "bytes"]))
        i = draw(st.integers(0, len(members) - 1))
        if kind == "value":
            members[i] = (members[i][0], draw(st.sampled_from(VALUE_TEXTS)))
        elif kind == "drop" and len(members) > 1:
            members.pop(i)
        elif kind == "duplicate":
            members.insert(draw(st.integers(0, len(members))), (members[i][0], draw(st.sampled_from(VALUE_TEXTS))))
        elif kind == "extra":
            members.insert(i, (b'"unexpected"', b"1"))
        elif kind == "swap" and len(members) > 1:
            j = draw(st.integers(0, len(members) - 1))
            members[i], members[j] = members[j], members[i]
        elif kind == "trailing":
            members.append((b"", b""))
        elif kind == "space":
            members[i] = (b" " + members[i][0], members[i][1] + draw(st.sampled_from([b" ", b"\t", b"  "])))
        elif kind == "truncate":
            members = members[:i + 1] + [(b"", b"")] if draw(st.booleans()) else members
            return b"{" + b", ".join(k + b": " + v for k, v in members if k)[:draw(st.integers(0, 200))]
        elif kind == "bytes":
            members[i] = (members[i][0], members[i][1] + draw(st.sampled_from([b"\x00", b"\xff", b"\r", b"\x0b"])))
    separator = draw(st.sampled_from(SEPARATORS)) if draw(st.integers(0, 9)) == 0 else b", "
    body = separator.join((k + b": " + v) if k else b"" for k, v in members)
    return draw(st.sampled_from([b"", b" ", b"\t"])) * draw(st.integers(0, 1)) + b"{" + body + b"}"


@st.composite
def logs(draw, name: str) -> bytes:
    """A JSON-lines file: lines joined by LF, sometimes CRLF or a lone CR, with blank
    lines here and there, with or without a final line feed."""
    parts = []
    for line in draw(st.lists(lines(name), min_size=0, max_size=30)):
        parts.append(line)
        parts.append(draw(st.sampled_from([b"\n"] * 12 + [b"\r\n", b"\r", b"\n\n", b"\n  \n"])))
    content = b"".join(parts)
    return content if draw(st.booleans()) else content.rstrip(b"\n")


def exact_scan(packs: SchemaPacks, anchor: str, content: bytes) -> jsonl_check.RangeScan:
    return scan_lines(packs, packs.validity_predicate(anchor), anchor, content)


@pytest.mark.parametrize("name", sorted(ANCHORS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_line_a_template_matches_is_valid(packs, name, data):
    """Soundness, line by line: whatever key order the template is built for, a line it
    matches is a valid record by the exact check."""
    anchor = ANCHORS[name]
    line = data.draw(lines(name))
    key_orders = {tuple(sorted(data.draw(st.sampled_from(RECORDS[name]))))}
    own = jsonl_check._key_order(line)
    if own is not None:
        key_orders.add(own)
    for keys in key_orders:
        template = packs.line_template(anchor, keys)
        if template is not None and template.fullmatch(line):
            assert line_problem(packs, packs.validity_predicate(anchor), anchor, line) is None, line


@pytest.mark.parametrize("name", sorted(ANCHORS))
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_batch_scan_equals_the_line_by_line_scan(packs, name, data, tmp_path_factory, monkeypatch):
    """Verdict, line and record counts, first invalid line and message: the same with
    batches proven by templates as line by line, whatever the batch size."""
    anchor = ANCHORS[name]
    content = data.draw(logs(name))
    path = tmp_path_factory.mktemp("log") / "log.jsonl"
    path.write_bytes(content)
    monkeypatch.setattr(jsonl_check, "BATCH_BYTES", data.draw(st.sampled_from([1, 300, 2000, 10 ** 6])))
    assert scan_range(str(CONTRACTS), anchor, str(path), 0, len(content)) == exact_scan(packs, anchor, content)


@pytest.mark.parametrize("name", sorted(ANCHORS))
def test_writer_lines_are_proven_by_a_template(packs, name):
    """The fast path is taken on the lines the writers write (else it would cost a regex
    pass for nothing), one template per key set; a batch with one wrong line, or lines
    of two key sets, is not proven."""
    proof = TemplateProof(packs, ANCHORS[name])
    for record in RECORDS[name]:
        batch = (writer_line(record) + b"\n") * 5
        assert proof.valid_lines(batch) == 5, record
        broken = batch.replace(b'"seed": ', b'"seed": -', 1)
        assert TemplateProof(packs, ANCHORS[name]).valid_lines(broken) is None
        assert exact_scan(packs, ANCHORS[name], broken).invalid_line == 1
    mixed = b"\n".join([writer_line(RECORDS[name][0]), writer_line({**RECORDS[name][0], "unexpected": 1})])
    assert TemplateProof(packs, ANCHORS[name]).valid_lines(mixed) is None


def test_a_log_judged_by_workers_in_batches_gives_the_serial_verdict(packs, tmp_path, monkeypatch):
    """Across workers and batches: the first invalid line of the file, numbered in
    the file, as the line-by-line scan of the whole file numbers it."""
    anchor = ANCHORS["rng_event_zone_dirichlet"]
    good = [writer_line(r) for r in RECORDS["rng_event_zone_dirichlet"]] * 400
    bad = good[:]
    bad[777] = bad[777].replace(b'"notes": null', b'"notes": NaN')
    bad[901] = b""
    monkeypatch.setattr(jsonl_check, "BATCH_BYTES", 5000)
    for content in (b"\n".join(good) + b"\n", b"\r\n".join(bad)):
        path = tmp_path / "log.jsonl"
        path.write_bytes(content)
        expected = exact_scan(packs, anchor, content)
        scan = scan_log(str(CONTRACTS), anchor, path, workers=3, bytes_per_worker=len(content) // 3)
        assert (scan.records, scan.invalid_line, scan.problem) == \
            (expected.records, expected.invalid_line, expected.problem)
    # Python's json reads NaN as a float: the schema, not the parser, refuses it
    assert scan.invalid_line == 778 and scan.problem.startswith("fails its schema: $.notes: nan")


@pytest.mark.parametrize("low", [0, 1])
def test_integer_range_patterns_hold_exactly_their_range(low):
    for high in [*range(0, 1100), 4294967295, 18446744073709551615]:
        pattern = integer_range_pattern(low, high)
        if high < low:
            assert pattern is None
            continue
        regex = re.compile(pattern)
        followed = re.compile(pattern + b" ?, ?")  # as in a template: a separator after the number
        values = [*range(0, 1200), high - 1, high, high + 1, high * 10, 10 ** len(str(high))]
        assert [v for v in values if regex.fullmatch(str(v).encode())] == [v for v in values if low <= v <= high]
        assert [v for v in values if followed.fullmatch(b"%d, " % v)] == [v for v in values if low <= v <= high]
        assert not any(regex.fullmatch(text) for text in (b"", b"00", b"01", b"-1", b"+1", b"1.0", b"1e3"))


def test_schemas_beyond_the_forms_get_no_template(packs):
    """A property whose schema the templates cannot express, or keys that cannot make a
    valid record: no template, so every line goes to the exact check."""
    from seg3a.core.json_templates import object_line_pattern

    def template(properties, keys, **extra):
        node = {"type": "object", "properties": properties, "required": list(keys), **extra}
        return object_line_pattern(node, keys, resolve=lambda ref: {}, is_valid=lambda s, v: True,
                                   keywords=("type", "properties", "required", "pattern", "minimum", "maximum",
                                             "format", "anyOf", "$ref", "const", "enum", "additionalProperties",
                                             "minLength", "maxLength", "exclusiveMinimum", "items"))

    assert template({"a": {"type": "string", "pattern": "^[a-f]+$"}}, ("a",)) is not None
    for schema in ({"type": "string", "pattern": "^[0-z]+$"},  # the range takes in the backslash
                   {"type": "string", "pattern": "^(?i)a$"}, {"type": "string", "pattern": "^a.$"},
                   {"type": "string", "pattern": "a"}, {"type": "string", "format": "date"},
                   {"type": "integer"}, {"type": "integer", "minimum": -1}, {"type": "integer", "minimum": 1.0},
                   {"type": "number", "maximum": 5}, {"type": "array", "items": {}}, {"type": "object"},
                   {"$ref": "other.yaml#/x"}, {"const": 1.5}, {}):
        assert template({"a": schema}, ("a",)) is None, schema
    assert template({"a": {"type": "null"}}, ("a", "a")) is None
    assert template({"a": {"type": "null"}}, ("b",)) is None
    assert template({"a": {"type": "null"}}, ()) is None
