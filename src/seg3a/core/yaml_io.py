"""Strict YAML (and JSON policy) parsing for every state: libyaml's parser with the safe
constructors and resolver of `yaml.safe_load`, plus three refusals PyYAML does not make:

* a key repeated in one mapping, at any depth (PyYAML keeps the last one). Keys count as
  repeated when their values are equal (`yes:` and `true:` are both `True`) *or* their
  text as written is equal (`NO:` and `'NO':`): states read policies with different key
  rules (S2 and S5 keep keys as written so `NO` stays Norway), and a document must not
  be ambiguous under either;
* bytes that are not UTF-8 (libyaml would also accept UTF-16 with a BOM);
* for `load_mapping`, a document whose root is not a mapping.

A per-process cache keeps parsed documents keyed by the exact bytes and the loader class.
Why: one `dbt build` (and every seed of a seedpack lane) parses the same catalogue,
schema packs and policies in S0 and again in each state's entry gate; parsing was about
2.5 CPU s per build. A changed file is parsed afresh; each call gets its own copy
(unpickled), so callers may mutate it. Errors are not cached and surface as
`yaml.YAMLError` (`DocumentError` for the refusals above) to the caller's own code.
"""
from __future__ import annotations

import functools
import json
import pickle
from pathlib import Path
from typing import Any

import yaml

_LibyamlSafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(yaml.YAMLError):
    """A document PyYAML would read but the project refuses: a duplicate key, bytes that
    are not UTF-8, a root that is not a mapping."""


class DuplicateKeyError(DocumentError):
    pass


def _key_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def check_unique_keys(loader: yaml.BaseLoader, node: yaml.MappingNode) -> None:
    """Raise DuplicateKeyError when two keys of `node` are equal as values or as text."""
    seen_values: set[Any] = set()
    seen_texts: set[str] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        text = _key_text(key_node)
        try:
            repeated = key in seen_values
            seen_values.add(key)
        except TypeError:  # an unhashable key: construct_mapping refuses it with its own message
            repeated = False
        if repeated or (text is not None and text in seen_texts):
            raise DuplicateKeyError(f"duplicate key {text if text is not None else key!r} "
                                    f"(line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1})")
        if text is not None:
            seen_texts.add(text)


def _construct_unique_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    check_unique_keys(loader, node)
    return loader.construct_mapping(node, deep=deep)


class StrictLoader(_LibyamlSafeLoader):
    """libyaml's safe loader that refuses a key repeated in any mapping."""


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)

# Every loader of the project derives from this one.
SafeLoader: type = StrictLoader


@functools.lru_cache(maxsize=128)
def _parsed(data: bytes, loader: type) -> bytes:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    return pickle.dumps(yaml.load(data, Loader=loader), protocol=pickle.HIGHEST_PROTOCOL)


def load(data: bytes | str, loader: type | None = None) -> Any:
    """The document in `data` parsed with `loader` (a subclass of StrictLoader; default
    StrictLoader)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    loader = loader or StrictLoader
    if not issubclass(loader, StrictLoader):
        raise TypeError(f"{loader.__name__} does not derive from yaml_io.StrictLoader")
    return pickle.loads(_parsed(data, loader))


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_json(data: bytes) -> Any:
    """Strict JSON: UTF-8, no key repeated in any object."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_json_object)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not JSON: {exc}") from None


def load_mapping(data: bytes, suffix: str, loader: type | None = None) -> dict:
    """A policy document (YAML by `.yaml`/`.yml` suffix, else JSON), strictly parsed, whose
    root is a mapping. The one loader every state uses for the policies it reads."""
    doc = load(data, loader) if suffix in (".yaml", ".yml") else load_json(data)
    if not isinstance(doc, dict):
        raise DocumentError(f"the document root is a {type(doc).__name__}, not a mapping")
    return doc


def load_policy_file(path: Path, loader: type | None = None) -> dict:
    return load_mapping(Path(path).read_bytes(), Path(path).suffix, loader)
