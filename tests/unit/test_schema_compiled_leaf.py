"""The compiled property checks of the JSON-lines fast path (`_compiled_leaf`) judge every
value exactly as the project's JSON-Schema validator does: for every schema node of the
shipped packs that compiles and for hand-written schemas using each supported keyword,
on values of every JSON kind at and around the bounds, and on generated JSON values."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from seg3a.core.schemas import _FORMAT_CHECKER, _ProjectValidator, _compiled_leaf, _holds_reference

ROOT = Path(__file__).resolve().parents[2]

HAND_WRITTEN = [
    True, False, {}, {"description": "annotation only"},
    {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
    {"type": "integer", "minimum": 1, "maximum": 4294967295},
    {"type": "number", "exclusiveMinimum": 0},
    {"type": "number", "exclusiveMaximum": 1.5, "minimum": -2},
    {"minimum": 3},  # bounds without a type judge numbers only
    {"type": ["string", "null"]},
    {"type": ["integer", "boolean"]},
    {"type": "array"}, {"type": "object"},
    {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]},
    {"anyOf": [{"const": 1}, {"const": "1"}, False]},
    {"const": 1}, {"const": 1.0}, {"const": True}, {"const": None}, {"const": [1, "a"]}, {"const": {"a": 1}},
    {"enum": [0, False, "0", None]}, {"enum": [1.5, [1]]},
    {"type": "string", "pattern": "^[a-f0-9]{64}$"},
    {"pattern": "^(0|[1-9][0-9]{0,38})$"},  # judges strings only
    {"type": "string", "pattern": "ab"},  # unanchored: search, not match
    {"type": "string", "pattern": "^\\d+$"},  # ECMA \d is ASCII
    {"type": "string", "minLength": 2, "maxLength": 3},
    {"maxLength": 0},
]

VALUES = [
    None, True, False, 0, 1, -1, 2, 3, 1.0, 0.0, -0.0, 1.5, -2, -2.0001, 2.5, 4294967295, 4294967296,
    2**64 - 1, 2**64, -(2**63), 2**128, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf,
    "", "a", "ab", "abc", "abcd", "xaby", "1", "0", "01", "12", "١٢", "1\n", "0" * 64, "f" * 64, "F" * 64,
    "0" * 64 + "\n", "g" * 64, "0" * 63, "9" * 39, "9" * 40, "é", "😀😀",
    [], [1], [1, "a"], [1.0, "a"], {}, {"a": 1}, {"a": 1.0}, {"a": True},
]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def _pack_nodes() -> list:
    """Every schema-like node of the shipped packs that compiles."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if not _holds_reference(node) and _compiled_leaf(node) is not None:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for pack in sorted((ROOT / "contracts" / "schemas").glob("*.yaml")):
        walk(yaml.safe_load(pack.read_text()))
    return found


PACK_NODES = _pack_nodes()
SCHEMAS = HAND_WRITTEN + PACK_NODES


def _agree(schema, value) -> None:
    expected = _ProjectValidator(schema, format_checker=_FORMAT_CHECKER).is_valid(value)
    assert _compiled_leaf(schema).is_valid(value) is expected, (schema, value)


def test_the_packs_have_compiled_property_schemas():
    # The RNG log properties (hex digests, u64 counters, nullable alphas) must compile,
    # or the fast path is silently back to the general validator.
    assert {"type": "string", "pattern": "^[a-f0-9]{64}$"} in [
        {k: v for k, v in node.items() if k != "description"} for node in PACK_NODES]
    assert len(PACK_NODES) > 20


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_compiled_leaf_agrees_on_every_kind_of_value(schema):
    for value in VALUES:
        _agree(schema, value)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(value=JSON_VALUES)
def test_compiled_leaf_agrees_on_generated_values(value):
    for schema in SCHEMAS:
        _agree(schema, value)


@pytest.mark.parametrize("schema", [
    {"type": "string", "format": "date"},  # format is asserted by the validator
    {"type": "object", "properties": {"a": {"type": "integer"}}},
    {"allOf": [{"type": "integer"}]},
    {"not": {"type": "null"}},
    {"type": "decimal"},  # unknown type name: the validator decides what that means
    {"anyOf": [{"type": "string", "format": "date"}]},
    {"minimum": "1"},
])
def test_schemas_beyond_the_supported_keywords_are_left_to_the_validator(schema):
    assert _compiled_leaf(schema) is None
