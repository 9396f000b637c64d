"""`SchemaPacks.validity_predicate` (the fast check S6 runs on every RNG log line) agrees
with full JSON-Schema validation: on every contract fixture, valid and invalid, and on
systematic one-field mutations of valid RNG log records, each checked twice so that the
remembered per-value verdicts are exercised too."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from seg3a.core.schemas import AnchorError, SchemaPacks

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "contracts"
MANIFEST = yaml.safe_load((FIXTURES / "anchors.yaml").read_text())
RNG_FIXTURES = ("rng_event_zone_dirichlet", "rng_trace_log", "rng_audit_log")

# Values of every JSON kind and of the shapes the RNG schemas constrain (hex digests,
# u64 bounds, RFC 3339 stamps, decimal u128), right and wrong.
CANDIDATES = [
    None, True, False, 0, 1, -1, 1.0, 1.5, -0.0, 2**64 - 1, 2**64, 2**128, "", "x", "3A.S3", "zone_dirichlet",
    "0" * 32, "a" * 32, "A" * 32, "0" * 64, "f" * 64, "g" * 64, "1" * 63, "12345678901234567890",
    "340282366920938463463374607431768211455", "340282366920938463463374607431768211456", "-1", "01",
    "2026-11-28T00:00:00.000000Z", "2026-11-28T00:00:00Z", "2026-13-28T00:00:00.000000Z", "DE", "de", "XX",
    [], [1], {}, {"a": 1},
]


@pytest.fixture(scope="module")
def packs() -> SchemaPacks:
    return SchemaPacks.load(ROOT / "contracts")


def _fixtures() -> list[pytest.param]:
    return [pytest.param(name, path, id=f"{name}/{path.parent.name}/{path.stem}")
            for name in sorted(MANIFEST) for path in sorted((FIXTURES / name).glob("*/*.json"))]


def agrees(packs: SchemaPacks, anchor: str, instance) -> bool:
    predicate = packs.validity_predicate(anchor)
    expected = packs.validate_json(anchor, instance) == []
    return predicate(instance) == expected and predicate(instance) == expected


@pytest.mark.parametrize(("name", "path"), _fixtures())
def test_agrees_on_every_contract_fixture(packs, name, path):
    assert agrees(packs, MANIFEST[name]["anchor"], json.loads(path.read_text()))


@pytest.mark.parametrize("name", RNG_FIXTURES)
def test_agrees_on_one_field_mutations_of_rng_records(packs, name):
    anchor = MANIFEST[name]["anchor"]
    base = json.loads(sorted((FIXTURES / name / "valid").glob("*.json"))[0].read_text())
    assert packs.validity_predicate(anchor)(base) and packs.validate_json(anchor, base) == []
    mutations = [{**base, "unexpected_field": 1}, "not an object", [base]]
    for field in base:
        mutations.append({k: v for k, v in base.items() if k != field})
        mutations += [{**base, field: value} for value in CANDIDATES]
    verdicts = set()
    for record in mutations:
        assert agrees(packs, anchor, copy.deepcopy(record)), record
        verdicts.add(packs.validity_predicate(anchor)(record))
    assert verdicts == {True, False}  # the mutations reach both outcomes


def test_remembered_verdicts_keep_types_apart(packs):
    anchor = MANIFEST["rng_trace_log"]["anchor"]
    base = json.loads(sorted((FIXTURES / "rng_trace_log" / "valid").glob("*.json"))[0].read_text())
    predicate = packs.validity_predicate(anchor)
    assert predicate({**base, "draws_total": 1})
    assert not predicate({**base, "draws_total": True})  # equal to 1 in Python, not an integer in JSON
    assert not predicate({**base, "draws_total": 1.5})


def test_leaf_memory_is_per_property_and_stops_at_its_limit(packs):
    """Verdicts remembered for one property never answer for another, and a property
    with more distinct values than the memory holds is still judged value by value."""
    from seg3a.core.schemas import _FlatObjectPredicate

    anchor = MANIFEST["rng_event_zone_dirichlet"]["anchor"]
    base = json.loads(sorted((FIXTURES / "rng_event_zone_dirichlet" / "valid").glob("*.json"))[0].read_text())
    fresh = SchemaPacks({name: SchemaPacks._parse(name, path.read_bytes()) for name, path in packs.sources.items()},
                        packs.sources)  # a predicate of its own, with empty memories
    predicate = fresh.validity_predicate(anchor)
    assert predicate(base)
    # module and substream_label are both constant strings: each keeps its own verdicts
    assert not predicate({**base, "module": base["substream_label"]})
    assert not predicate({**base, "substream_label": base["module"]})
    assert predicate(base)
    limit = _FlatObjectPredicate.LEAF_MEMORY
    for counter in range(limit + 10):  # more distinct counters than the memory holds
        assert predicate({**base, "rng_counter_after_lo": counter})
    for value in (-1, 2**64, 1.5, True, "1", None):
        record = {**base, "rng_counter_after_lo": value}
        assert predicate(record) is False and fresh.validate_json(anchor, record), value
    assert predicate({**base, "rng_counter_after_lo": 2**64 - 1})


def test_packs_are_loaded_once_per_content_and_place(tmp_path):
    shared = SchemaPacks.load(ROOT / "contracts")
    assert SchemaPacks.load(ROOT / "contracts") is shared
    copied = tmp_path / "schemas"
    copied.mkdir()
    for source in shared.sources.values():
        (copied / source.name).write_bytes(source.read_bytes())
    elsewhere = SchemaPacks.load(tmp_path)
    assert elsewhere is not shared and elsewhere.sources["schemas.layer1.yaml"].parent == copied
    pack = copied / "schemas.layer1.yaml"
    pack.write_bytes(pack.read_bytes() + b"# edited\n")
    assert SchemaPacks.load(tmp_path) is not elsewhere


def test_remembered_verdicts_equal_fresh_validation(packs):
    """validate_json remembers verdicts per exact instance: repeated and type-twin
    instances get what a packs object without memory computes."""
    anchor = MANIFEST["rng_trace_log"]["anchor"]
    base = json.loads(sorted((FIXTURES / "rng_trace_log" / "valid").glob("*.json"))[0].read_text())
    fresh = SchemaPacks({name: SchemaPacks._parse(name, path.read_bytes()) for name, path in packs.sources.items()},
                        packs.sources)  # the same packs, built directly: no remembered verdicts
    for instance in ({**base, "draws_total": 1}, {**base, "draws_total": True}, {**base, "draws_total": 1.0},
                     {**base, "draws_total": 1}, {**base, "draws_total": True}):
        assert packs.validate_json(anchor, instance) == fresh.validate_json(anchor, instance)
    assert packs.validate_json(anchor, {**base, "draws_total": True})
    assert not packs.validate_json(anchor, {**base, "draws_total": 1})


def test_an_unresolvable_reference_is_an_anchor_error_in_both_paths():
    """A `$ref` that points nowhere surfaces as AnchorError from validate_json and from the
    predicate alike, naming the anchor."""
    pack = {"$id": "schemas.layer1.yaml", "checks": {"dangling": {"anyOf": [{"$ref": "#/$defs/absent"}]}}}
    broken = SchemaPacks({"schemas.layer1.yaml": pack})
    anchor = "schemas.layer1.yaml#/checks/dangling"
    with pytest.raises(AnchorError, match="cannot be evaluated"):
        broken.validate_json(anchor, 1)
    with pytest.raises(AnchorError, match="cannot be evaluated"):
        broken.validity_predicate(anchor)(1)
