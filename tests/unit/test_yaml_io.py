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
