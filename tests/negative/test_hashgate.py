"""HashGate (01 §3, 05 §5.5): good worlds pass, each negative fixture fails with its
reason while the other segments still pass; plus the verifier's rules on hand-made
bundles (flag grammar, index shapes, path hygiene, membership, composite order)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from seg3a.core.hashgate import HashGateError, composite_digest, verify_bundle, write_flag
from seg3a.world.testing import WorldView, shared_world

SEGMENTS = ("1A", "1B", "2A")
FIXTURES = [
    ("missing_flag:1A", "flag_missing"),
    ("missing_flag:1B", "flag_missing"),
    ("missing_flag:2A", "flag_missing"),
    ("flipped_byte:1A", "flag_mismatch"),
    ("flipped_byte:1B", "flag_mismatch"),
    ("flipped_byte:2A", "digest_mismatch"),
    ("unlisted_file:1A", "membership"),
    ("unlisted_file:2A", "membership"),
    ("uppercase_flag:1B", "flag_malformed"),
    ("uppercase_flag:2A", "flag_malformed"),
    ("dotdot_path:1A", "path_hygiene"),
    ("dotdot_path:2A", "path_hygiene"),
    ("unsorted_2a_index:2A", "index_unsorted"),
    ("wrong_2a_digest:2A", "digest_mismatch"),
]


def gate(world: WorldView, segment: str) -> str:
    return verify_bundle(segment, world.path(f"validation_bundle_{segment}"),
                         world.path(f"validation_passed_flag_{segment}"))


def outcome(world: WorldView, segment: str) -> str:
    try:
        gate(world, segment)
    except HashGateError as exc:
        assert exc.segment == segment
        return exc.reason
    return "PASS"


# -- generated worlds ------------------------------------------------------------------
@pytest.mark.parametrize("segment", SEGMENTS)
def test_good_world_passes(tmp_path_factory, segment):
    world = WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42))
    flag = world.path(f"validation_passed_flag_{segment}").read_text()
    assert gate(world, segment) == flag.split()[-1]


@pytest.mark.parametrize("spec, reason", FIXTURES)
def test_negative_fixture_fails_with_its_reason(tmp_path_factory, spec, reason):
    world = WorldView.open(shared_world(tmp_path_factory.getbasetemp(), seed=42, pairs=200, corrupt=spec))
    broken = spec.split(":")[1]
    results = {segment: outcome(world, segment) for segment in SEGMENTS}
    assert results[broken] == reason
    assert all(results[s] == "PASS" for s in SEGMENTS if s != broken), results


# -- hand-made bundles ---------------------------------------------------------------
def make_array_bundle(root: Path, files: dict[str, bytes], list_index: bool = True) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    rows = [{"artifact_id": Path(n).stem.replace("=", "_"), "kind": "table", "path": n, "mime": None, "notes": None}
            for n in files]
    if list_index:
        rows.append({"artifact_id": "index", "kind": "table", "path": "index.json", "mime": None, "notes": None})
    (root / "index.json").write_bytes(json.dumps(rows).encode())
    write_flag(root / "_passed.flag", composite_digest(root, [r["path"] for r in rows]))
    return root


def make_2a_bundle(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    entries = [{"path": n, "sha256_hex": hashlib.sha256(d).hexdigest()} for n, d in sorted(files.items())]
    (root / "index.json").write_bytes(json.dumps({"files": entries}).encode())
    write_flag(root / "_passed.flag", composite_digest(root, list(files)))
    return root


def reason_of(segment: str, root: Path) -> str:
    with pytest.raises(HashGateError) as failure:
        verify_bundle(segment, root, root / "_passed.flag")
    return failure.value.reason


def test_composite_sorts_paths_by_bytes_not_numbers(tmp_path):
    files = {"seed=42/a.json": b"forty-two", "seed=101/a.json": b"one-oh-one", "B.json": b"upper"}
    root = make_2a_bundle(tmp_path / "b", files)
    expected = hashlib.sha256(b"upper" + b"one-oh-one" + b"forty-two").hexdigest()
    assert verify_bundle("2A", root, root / "_passed.flag") == expected


def test_array_index_is_hashed_with_the_members(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"MANIFEST.json": b"{}", "s9.json": b"[]"})
    expected = hashlib.sha256(b"{}" + (root / "index.json").read_bytes() + b"[]").hexdigest()
    assert verify_bundle("1A", root, root / "_passed.flag") == expected


def test_unlisted_index_is_exempt_from_membership(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"MANIFEST.json": b"{}"}, list_index=False)
    assert verify_bundle("1B", root, root / "_passed.flag") == hashlib.sha256(b"{}").hexdigest()


@pytest.mark.parametrize("content, accepted", [
    ("sha256_hex = {d}\n", True),
    ("sha256_hex = {d}", True),
    ("sha256_hex = {D}\n", False),
    ("sha256_hex={d}\n", False),
    ("sha256_hex  = {d}\n", False),
    ("sha256_hex = {d}\nsha256_hex = {d}\n", False),
    ("sha256_hex = {d} extra\n", False),
    ("sha256 = {d}\n", False),
    ("sha256_hex = {short}\n", False),
])
def test_flag_grammar(tmp_path, content, accepted):
    root = make_2a_bundle(tmp_path / "b", {"checks.json": b"{}"})
    digest = composite_digest(root, ["checks.json"])
    (root / "_passed.flag").write_text(content.format(d=digest, D=digest.upper(), short=digest[:63]))
    if accepted:
        assert verify_bundle("2A", root, root / "_passed.flag") == digest
    else:
        assert reason_of("2A", root) == "flag_malformed"


def test_missing_bundle_and_index(tmp_path):
    assert reason_of("1A", tmp_path / "absent") == "bundle_missing"
    (tmp_path / "empty").mkdir()
    assert reason_of("1A", tmp_path / "empty") == "index_missing"
    (tmp_path / "empty" / "index.json").write_text("{not json")
    assert reason_of("1A", tmp_path / "empty") == "index_unparsable"


@pytest.mark.parametrize("segment, index", [
    ("1A", {"files": []}),
    ("1A", []),
    ("1B", [{"artifact_id": "x", "kind": "table", "path": "a.json", "mime": None}]),
    ("1A", [{"artifact_id": "x y", "kind": "table", "path": "a.json", "mime": None, "notes": None}]),
    ("1A", [{"artifact_id": "x", "kind": "chart", "path": "a.json", "mime": None, "notes": None}]),
    ("1A", [{"artifact_id": "x", "kind": "table", "path": "a.json", "mime": 3, "notes": None}]),
    ("2A", [{"path": "a.json", "sha256_hex": "0" * 64}]),
    ("2A", {"files": [], "extra": 1}),
    ("2A", {"files": []}),
    ("2A", {"files": [{"path": "a.json", "sha256_hex": "0" * 63}]}),
    ("2A", {"files": [{"path": "a.json", "sha256_hex": "0" * 64, "size": 1}]}),
])
def test_index_shapes_are_enforced(tmp_path, segment, index):
    root = tmp_path / "b"
    root.mkdir()
    (root / "a.json").write_bytes(b"{}")
    (root / "index.json").write_text(json.dumps(index))
    assert reason_of(segment, root) == "index_shape"


@pytest.mark.parametrize("bad_path", ["/abs.json", "a\\b.json", "c:a.json", "./a.json", "x/../a.json", "x//a.json", "ä.json"])
def test_path_hygiene(tmp_path, bad_path):
    root = make_2a_bundle(tmp_path / "b", {"a.json": b"{}"})
    entries = [{"path": bad_path, "sha256_hex": "0" * 64}, {"path": "a.json", "sha256_hex": "0" * 64}]
    entries.sort(key=lambda e: e["path"].encode("utf-8"))
    (root / "index.json").write_text(json.dumps({"files": entries}))
    assert reason_of("2A", root) == "path_hygiene"


def test_flag_listed_in_2a_index_is_rejected(tmp_path):
    root = make_2a_bundle(tmp_path / "b", {"a.json": b"{}"})
    entries = [{"path": "_passed.flag", "sha256_hex": "0" * 64}, {"path": "a.json", "sha256_hex": "0" * 64}]
    (root / "index.json").write_text(json.dumps({"files": entries}))
    assert reason_of("2A", root) == "path_hygiene"


def test_duplicate_paths_are_rejected(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"a.json": b"{}"})
    rows = json.loads((root / "index.json").read_bytes())
    rows.append(dict(rows[0], artifact_id="again"))
    (root / "index.json").write_text(json.dumps(rows))
    assert reason_of("1A", root) == "duplicate_path"


def test_indexed_but_missing_file_fails_membership(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"a.json": b"{}", "b.json": b"{}"})
    (root / "b.json").unlink()
    assert reason_of("1A", root) == "membership"


def test_flag_mismatch_after_member_change(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"a.json": b"{}"})
    (root / "a.json").write_bytes(b"[]")
    assert reason_of("1A", root) == "flag_mismatch"


def test_member_replaced_by_a_symlink_is_refused_as_a_symlink(tmp_path):
    root = make_array_bundle(tmp_path / "b", {"a.csv": b"1", "sub/b.csv": b"2"})
    real = tmp_path / "elsewhere.csv"
    real.write_bytes(b"2")
    (root / "sub/b.csv").unlink()
    (root / "sub/b.csv").symlink_to(real)
    with pytest.raises(HashGateError) as info:
        verify_bundle("1A", root, root / "_passed.flag")
    assert info.value.reason == "membership"
    assert "symlink" in info.value.detail and "sub/b.csv" in info.value.detail
    assert "indexed but absent" not in info.value.detail
