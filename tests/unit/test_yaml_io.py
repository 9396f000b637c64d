"""The shared YAML loader: parsed documents are cached by their bytes, yet every caller
gets its own copy, a changed document is parsed afresh, errors are raised every time and
the loader class is part of the key."""
from __future__ import annotations

import pytest
import yaml

from seg3a.core import yaml_io
from seg3a.states.s2_priors import StringKeyLoader


def test_each_call_gets_its_own_copy():
    first = yaml_io.load(b"countries: {DE: [Europe/Berlin]}\n")
    first["countries"]["DE"].append("Europe/Busingen")
    assert yaml_io.load(b"countries: {DE: [Europe/Berlin]}\n") == {"countries": {"DE": ["Europe/Berlin"]}}


def test_changed_bytes_are_parsed_afresh():
    assert yaml_io.load(b"version: 1\n") == {"version": 1}
    assert yaml_io.load(b"version: 2\n") == {"version": 2}
    assert yaml_io.load("version: 3\n") == {"version": 3}


def test_the_loader_is_part_of_the_key():
    document = b"NO: 1\n"
    assert yaml_io.load(document) == {False: 1}
    assert yaml_io.load(document, StringKeyLoader) == {"NO": 1}


def test_parse_errors_are_raised_on_every_call():
    for _ in range(2):
        with pytest.raises(yaml.YAMLError):
            yaml_io.load(b"a: [1, 2\n")


def test_no_arbitrary_objects():
    with pytest.raises(yaml.YAMLError):
        yaml_io.load(b"!!python/object/apply:os.system ['true']\n")


@pytest.mark.parametrize("document, named", [
    (b"a: 1\na: 2\n", "duplicate key 'a'"),
    (b"a:\n  b:\n    c: 1\n    c: 1\n", "duplicate key 'c'"),           # same value, deeper
    (b"- {x: 1, x: 2}\n", "duplicate key 'x'"),                         # inside a list
    (b"yes: 1\ntrue: 2\n", "duplicate key"),                          # equal as values
    (b"NO: 1\n'NO': 2\n", "duplicate key 'NO'"),                       # equal as text
    (b"1: a\n'1': b\n", "duplicate key '1'"),
])
def test_duplicate_keys_are_refused_at_any_depth(document, named):
    for loader in (None, StringKeyLoader):
        with pytest.raises(yaml_io.DuplicateKeyError, match=named):
            yaml_io.load(document, loader)


def test_distinct_keys_still_load():
    assert yaml_io.load(b"a: 1\nb: {a: 2}\n") == {"a": 1, "b": {"a": 2}}
    assert yaml_io.load(b"NO: 1\nNA: 2\n", StringKeyLoader) == {"NO": 1, "NA": 2}


def test_invalid_utf8_is_refused():
    with pytest.raises(yaml_io.DocumentError, match="not UTF-8: byte 0xe9 at offset 3"):
        yaml_io.load(b"a: \xe9\n")
    with pytest.raises(yaml_io.DocumentError, match="not UTF-8"):
        yaml_io.load_json(b'{"a": "\xe9"}')


def test_non_mapping_roots_are_refused_by_load_mapping():
    for document, suffix in ((b"- 1\n", ".yaml"), (b"42\n", ".yml"), (b"[1]", ".json"), (b"", ".yaml")):
        with pytest.raises(yaml_io.DocumentError, match="not a mapping"):
            yaml_io.load_mapping(document, suffix)


def test_json_duplicate_keys_are_refused():
    with pytest.raises(yaml_io.DuplicateKeyError, match="duplicate key 'a'"):
        yaml_io.load_json(b'{"b": {"a": 1, "a": 2}}')


def test_a_loader_outside_the_strict_family_is_refused():
    with pytest.raises(TypeError):
        yaml_io.load(b"a: 1\n", yaml.SafeLoader)
