"""The project's schema packs: load the seven contract packs, resolve `<pack>#/<path>`
anchors, and validate JSON instances and Arrow tables against them.

Two kinds of anchor live in the packs:

* JSON anchors are JSON Schema 2020-12. They are validated with a
  `referencing.Registry` holding all seven packs, so `$ref`s across packs resolve
  (`schemas.layer1.yaml#/$defs/hex64`). Three extension keywords are asserted
  (`x-unique-by`, `x-sorted-by`, `x-ordered`, described in schemas.3A.yaml), integers
  must be JSON integers (not 1.0, not booleans), numbers must be finite, and patterns
  follow ECMA-262, where `$` is the end of input: Python's `re` would otherwise let a
  trailing newline through `^[a-f0-9]{64}$`.
* Table anchors (`type: table`, or any anchor with a `columns` list) describe Parquet
  datasets: column names and order, Arrow types, nullability, value rules, primary key
  and writer sort. Tables are checked with vectorised `pyarrow.compute` kernels; each
  kind of failure is reported once with a count and a few example rows, so a bad
  million-row table yields a short list.

Callers map the exceptions to their own state's codes: `PackLoadError`, `AnchorError`
and `SchemaKindError` are catalogue problems (`..._CATALOGUE_MALFORMED`); a non-empty
violation list is the state's schema-invalid code; an `OSError` is infrastructure.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import math
import pickle
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema._utils import equal as _json_equal  # the equality `const` and `enum` use
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from . import yaml_io

# The seven packs S0 requires (01 §4.2); the file name is also the pack's `$id`.
PACK_NAMES: tuple[str, ...] = (
    "schemas.layer1.yaml",
    "schemas.ingress.layer1.yaml",
    "schemas.1A.yaml",
    "schemas.1B.yaml",
    "schemas.2A.yaml",
    "schemas.2B.yaml",
    "schemas.3A.yaml",
)

# Table column types and the Arrow types a dataset may carry for each. Strings may
# arrive as large/view variants and geometry as WKB in any binary layout; both are
# encodings of the same contract type, so they are accepted.
TABLE_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float64": pa.float64(),
    "date": pa.date32(),
    "geometry": pa.binary(),
}

_MAX_MESSAGE = 400  # long instance reprs (whole objects) are cut in messages


class SchemaPackError(Exception):
    """A schema pack or anchor problem. `pack` names the pack file, `anchor` the anchor."""

    def __init__(self, message: str, *, pack: str | None = None, anchor: str | None = None) -> None:
        super().__init__(message)
        self.pack = pack
        self.anchor = anchor


class PackLoadError(SchemaPackError):
    """A pack is missing, unparsable, not a mapping, or has a wrong `$id` / `version`."""


class AnchorError(SchemaPackError):
    """An anchor is malformed, names an unknown pack, or its path does not exist."""


class SchemaKindError(SchemaPackError):
    """The anchor exists but is of the wrong kind (a table used as JSON, or vice versa)."""


@dataclass(frozen=True)
class Violation:
    """One schema violation. `path` is a JSON path (`$.a[0].b`) for JSON instances and
    `columns`, `columns.<name>`, `primary_key`, `unique_keys`, `sort_keys` or `table`
    for tables; `count` is how many values/rows share this violation."""

    path: str
    message: str
    count: int = 1

    def __str__(self) -> str:
        suffix = f" ({self.count} rows)" if self.count > 1 else ""
        return f"{self.path}: {self.message}{suffix}"


# --------------------------------------------------------------------------- YAML


class _PackLoader(yaml_io.StrictLoader):
    """The strict loader (duplicate keys refused: a pack with two anchors of the same name
    would otherwise lose one unnoticed)."""


def _non_string_key(node: Any, where: str = "") -> str | None:
    """First mapping key that is not a string. YAML 1.1 turns keys such as `NO` or `on`
    into booleans; in a pack that would silently rename an anchor or property."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                return f"{where}/{key!r}"
            found = _non_string_key(value, f"{where}/{key}")
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _non_string_key(value, f"{where}/{i}")
            if found:
                return found
    return None


# ------------------------------------------------------------- JSON Schema machinery


@functools.lru_cache(maxsize=None)
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """Compile a JSON-Schema (ECMA-262) pattern for Python's `re`: `$` outside a character
    class becomes `\\Z` (end of input only), and `\\d`/`\\w` stay ASCII as in ECMA."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            out.append(r"\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.ASCII)


def _kw_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _field_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _kw_unique_by(validator: Any, fields: Any, instance: Any, schema: Mapping) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    names = _field_list(fields)
    first_seen: dict[str, int] = {}
    for idx, item in enumerate(instance):
        if not isinstance(item, dict) or any(f not in item for f in names):
            continue  # `required` reports the missing field
        key = json.dumps([item[f] for f in names], sort_keys=True, default=repr)
        if key in first_seen:
            shown = ", ".join(f"{f}={item[f]!r}" for f in names)
            yield ValidationError(f"duplicate {shown} (first at item {first_seen[key]})", path=(idx,))
        else:
            first_seen[key] = idx


def _kw_sorted_by(validator: Any, field: str, instance: Any, schema: Mapping) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    prev: tuple[int, Any] | None = None
    for idx, item in enumerate(instance):
        if not isinstance(item, dict) or field not in item:
            continue
        value = item[field]
        if prev is not None and type(value) is type(prev[1]):
            try:
                in_order = prev[1] < value
            except TypeError:
                in_order = True  # incomparable values are reported by `type`
            if not in_order:
                yield ValidationError(
                    f"{field} {value!r} is not strictly after {prev[1]!r} (item {prev[0]}); "
                    f"items must be in strictly ascending {field} order",
                    path=(idx,),
                )
        prev = (idx, value)


def _kw_ordered(validator: Any, pairs: Any, instance: Any, schema: Mapping) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for low, high in pairs:
        if low in instance and high in instance:
            a, b = instance[low], instance[high]
            try:
                bad = type(a) is type(b) and a > b
            except TypeError:
                bad = False
            if bad:
                yield ValidationError(f"{low} {a!r} is after {high} {b!r}")


def _is_json_integer(checker: Any, instance: Any) -> bool:
    # A JSON integer only: 1.0 and True are not integers in the project's contracts
    # (canonical JSON would print them differently).
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_finite_number(checker: Any, instance: Any) -> bool:
    # NaN would slip through every minimum/maximum comparison, and canonical JSON
    # cannot represent it, so non-finite floats are not numbers here.
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    return isinstance(instance, float) and math.isfinite(instance)


_ProjectValidator = validators.extend(
    Draft202012Validator,
    validators={
        "pattern": _kw_pattern,
        "x-unique-by": _kw_unique_by,
        "x-sorted-by": _kw_sorted_by,
        "x-ordered": _kw_ordered,
    },
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_json_integer, "number": _is_finite_number}
    ),
)

# Only `date` is asserted: calendar validity (no 2026-02-30) cannot be expressed by a
# pattern, and no other format is used by the packs.
_FORMAT_CHECKER = FormatChecker(formats=("date",))

_NON_JSON_TYPES = {"table", "bundle"}
_SCHEMA_MARKERS = {"type", "$ref", "columns", "const", "enum", "allOf", "anyOf", "oneOf", "not", "properties"}


def _path_sort_key(error: ValidationError) -> tuple:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)


def _message(error: ValidationError) -> str:
    """The error message with a long instance repr abbreviated, so that the part that
    says what is wrong ("is not of type 'object'") survives."""
    message = error.message
    if len(message) <= _MAX_MESSAGE:
        return message
    shown = repr(error.instance)
    if len(shown) > 80 and shown in message:
        message = message.replace(shown, shown[:60] + "...", 1)
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


# ------------------------------------------------------------------- table helpers


def arrow_type_matches(contract_type: str, arrow_type: pa.DataType) -> bool:
    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if contract_type == "string":
        return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
    if contract_type == "geometry":
        if isinstance(t, pa.BaseExtensionType):
            t = t.storage_type
        return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)
    if contract_type == "date":
        return pa.types.is_date32(t) or pa.types.is_date64(t)
    expected = TABLE_TYPES.get(contract_type)
    return expected is not None and t == expected


def _normalise(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Plain layout for compute kernels: decode dictionaries, widen string views."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    if isinstance(arr.type, pa.BaseExtensionType):
        arr = pa.chunked_array([c.storage for c in arr.chunks], type=arr.type.storage_type)
    return arr


def _mask_count(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


def _first_rows(mask: pa.ChunkedArray | pa.Array, limit: int) -> list[int]:
    mask = pc.fill_null(mask, False)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return [int(i) for i in pc.indices_nonzero(mask)[:limit].to_pylist()]


def _examples(arr: pa.ChunkedArray, rows: list[int]) -> str:
    values = arr.take(pa.array(rows, type=pa.int64())).to_pylist()
    return ", ".join(f"row {r}: {v!r}" for r, v in zip(rows, values))


def _bound_scalar(bound: Any, arrow_type: pa.DataType) -> pa.Scalar | None | str:
    """Bound as a scalar of the column's type; "below"/"above" when it lies outside the
    type's range (then the comparison is decided without touching the data)."""
    if pa.types.is_floating(arrow_type):
        return pa.scalar(float(bound), type=arrow_type)
    if pa.types.is_integer(arrow_type):
        info = np.iinfo(arrow_type.to_pandas_dtype())
        if bound < info.min:
            return "below"
        if bound > info.max:
            return "above"
        if isinstance(bound, float) and not bound.is_integer():
            # An integer column against a fractional bound: compare in float64.
            return None
        return pa.scalar(int(bound), type=arrow_type)
    return None


def _read_parquet(path: Path) -> pa.Table:
    """Read a Parquet file, or every *.parquet file under a partition directory in
    ASCII order of relative path (the order the digest rules use). Only the files'
    own columns are read: partition tokens live in the path, not in the table."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            (f for f in path.rglob("*.parquet") if f.is_file()), key=lambda f: f.relative_to(path).as_posix()
        )
        if not files:
            raise FileNotFoundError(f"no Parquet file under {path}")
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"no such Parquet file or directory: {path}")
    tables = [pq.ParquetFile(f).read() for f in files]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables)


# --------------------------------------------------------------------- fast validity
def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _holds_reference(node: Any) -> bool:
    if isinstance(node, dict):
        return any(key in ("$ref", "$dynamicRef") or _holds_reference(value) for key, value in node.items())
    if isinstance(node, list):
        return any(_holds_reference(item) for item in node)
    return False


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


class _FlatObjectPredicate:
    """Validity of an instance of a plain object schema, property by property, with the
    verdict per (property, value) remembered; values are keyed with their type, so that
    `1`, `1.0` and `true` stay apart. The memory is cleared when it grows large.

    A property judged by a compiled leaf has a memory of its own: scalar values that
    repeat from line to line (run id, hashes, labels, alphas) are looked up instead of
    tested again, and a property seen with more than LEAF_MEMORY distinct values
    (counters, stream ids) stops being remembered, its tests being cheaper than the
    memory."""

    MAX_REMEMBERED = 200_000
    LEAF_MEMORY = 4096

    def __init__(self, required: frozenset[str], value_validators: dict[str, Any], open_object: bool) -> None:
        self.required = required
        self.value_validators = value_validators
        self.open_object = open_object
        self.verdicts: dict[tuple, bool] = {}
        # property -> {(type, value): verdict}, or None once it has too many values
        self.leaf_verdicts: dict[str, dict[tuple, bool] | None] = {
            name: {} for name, validator in value_validators.items() if type(validator) is _CompiledLeaf}

    def __call__(self, instance: Any) -> bool:
        if not isinstance(instance, dict) or not self.required <= instance.keys():
            return False
        for name, value in instance.items():
            validator = self.value_validators.get(name)
            if validator is None:
                if self.open_object:
                    continue
                return False
            if type(validator) is _CompiledLeaf:
                memory = self.leaf_verdicts[name]
                if memory is None or type(value) not in _SCALAR_TYPES:
                    if not validator.is_valid(value):
                        return False
                    continue
                key = (type(value), value)
                verdict = memory.get(key)
                if verdict is None:
                    verdict = validator.is_valid(value)
                    if len(memory) < self.LEAF_MEMORY:
                        memory[key] = verdict
                    else:
                        self.leaf_verdicts[name] = None
                if not verdict:
                    return False
            elif not self._value_valid(name, value, validator):
                return False
        return True

    def _value_valid(self, name: str, value: Any, validator: Any) -> bool:
        if isinstance(value, (str, int, float, bool)) or value is None:
            key = (name, type(value), value)
        else:
            key = (name, "json", json.dumps(value, sort_keys=True, allow_nan=True))
        verdict = self.verdicts.get(key)
        if verdict is None:
            if len(self.verdicts) >= self.MAX_REMEMBERED:
                self.verdicts.clear()
            verdict = self.verdicts[key] = validator.is_valid(value)
        return verdict


# ------------------------------------------------------------- compiled leaf schemas
# The keywords a property value's schema may use to be judged by `_compiled_leaf`, each
# with exactly the meaning the validator gives it (jsonschema's own keyword functions,
# the project's `type` checker and ECMA pattern).
_LEAF_KEYWORDS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "const", "enum",
                            "pattern", "minLength", "maxLength", "anyOf"})
_LEAF_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: _is_json_integer(None, value),
    "number": lambda value: _is_finite_number(None, value),
    "null": lambda value: value is None,
    "boolean": lambda value: isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
}


class _CompiledLeaf:
    """`is_valid` of a property value's schema built from plain Python tests: the
    per-line check of a JSON-lines log spends most of its time in the general
    validator's dispatch for values that never repeat (counters, ids, alphas)."""

    def __init__(self, is_valid: Callable[[Any], bool]) -> None:
        self.is_valid = is_valid


def _compiled_leaf(node: Any) -> _CompiledLeaf | None:
    """A `_CompiledLeaf` equal to `_ProjectValidator(node).is_valid`, or None when the
    schema uses anything beyond `_LEAF_KEYWORDS` (then the validator judges)."""
    tests = _leaf_tests(node)
    if tests is None:
        return None
    if len(tests) == 1:
        return _CompiledLeaf(tests[0])

    def is_valid(value: Any) -> bool:
        for test in tests:
            if not test(value):
                return False
        return True

    return _CompiledLeaf(is_valid)


def _leaf_tests(node: Any) -> list[Callable[[Any], bool]] | None:
    if isinstance(node, bool):
        return [lambda value, verdict=node: verdict]
    if not isinstance(node, dict) or not (node.keys() & _ProjectValidator.VALIDATORS.keys()) <= _LEAF_KEYWORDS:
        return None
    tests: list[Callable[[Any], bool]] = []
    if "type" in node:
        names = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if not all(isinstance(name, str) and name in _LEAF_TYPES for name in names):
            return None
        checks = [_LEAF_TYPES[name] for name in names]
        tests.append(checks[0] if len(checks) == 1 else lambda value: any(check(value) for check in checks))
    bounds = _bounds_test(node)
    if bounds is False:
        return None
    if bounds is not None:
        tests.append(bounds)
    if "const" in node:
        tests.append(lambda value, const=node["const"]: _json_equal(value, const))
    if "enum" in node:
        if not isinstance(node["enum"], list):
            return None
        tests.append(lambda value, enums=node["enum"]: any(_json_equal(each, value) for each in enums))
    if "pattern" in node:
        if not isinstance(node["pattern"], str):
            return None
        regex = _ecma_regex(node["pattern"])
        tests.append(lambda value: not isinstance(value, str) or regex.search(value) is not None)
    for keyword, holds in (("minLength", lambda n, m: n >= m), ("maxLength", lambda n, m: n <= m)):
        if keyword in node:
            limit = node[keyword]
            if not _is_json_integer(None, limit):
                return None
            tests.append(lambda value, holds=holds, limit=limit: not isinstance(value, str) or holds(len(value), limit))
    if "anyOf" in node:
        if not isinstance(node["anyOf"], list) or not node["anyOf"]:
            return None
        branches = [_compiled_leaf(branch) for branch in node["anyOf"]]
        if any(branch is None for branch in branches):
            return None
        tests.append(lambda value: any(branch.is_valid(value) for branch in branches))
    return tests


def _bounds_test(node: dict) -> Callable[[Any], bool] | None | bool:
    """One test for the four numeric bounds (they only judge numbers), None without any,
    False when a bound is not a finite number."""
    limits = [node.get(keyword) for keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")]
    if all(limit is None for limit in limits):
        return None
    if not all(limit is None or _is_finite_number(None, limit) for limit in limits):
        return False
    low, low_open, high, high_open = limits
    is_number = _LEAF_TYPES["number"]

    def within(value: Any) -> bool:
        if not is_number(value):
            return True
        return ((low is None or not value < low) and (low_open is None or not value <= low_open)
                and (high is None or not value > high) and (high_open is None or not value >= high_open))

    return within


@contextlib.contextmanager
def _evaluation_errors(anchor: str) -> Iterator[None]:
    """An unresolvable `$ref` inside the packs, met while validating, as AnchorError."""
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.startswith(("referencing", "jsonschema")):
            raise AnchorError(f"anchor {anchor!r} cannot be evaluated: {exc}", anchor=anchor) from exc
        raise


def _instance_key(instance: Any) -> bytes | None:
    """SHA-256 of the instance's pickle, or None when it cannot be pickled."""
    try:
        return hashlib.sha256(pickle.dumps(instance, protocol=pickle.HIGHEST_PROTOCOL)).digest()
    except Exception:  # noqa: BLE001 - any unpicklable value: no remembering
        return None


# --------------------------------------------------------------------- the packs
_LOADED: dict[tuple, SchemaPacks] = {}



class SchemaPacks:
    """The seven schema packs, loaded once. Anchors are `<pack>#/<path>`."""

    def __init__(self, packs: Mapping[str, dict], sources: Mapping[str, Path] | None = None) -> None:
        self._packs: dict[str, dict] = dict(packs)
        self.sources: dict[str, Path] = dict(sources or {})
        self._registry: Registry = Registry().with_resources(
            (name, DRAFT202012.create_resource(doc)) for name, doc in self._packs.items()
        )
        self._validators: dict[str, Any] = {}
        self._predicates: dict[str, Callable[[Any], bool]] = {}
        self._templates: dict[tuple[str, tuple[str, ...]], re.Pattern[bytes] | None] = {}
        self._verdicts: dict[tuple[str, bytes], tuple[Violation, ...]] = {}

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, contracts_root: Path | str) -> SchemaPacks:
        """Load the seven packs from `<contracts_root>/schemas/` (or from
        `contracts_root` itself when it holds the pack files directly)."""
        root = Path(contracts_root)
        directory = root / "schemas" if (root / "schemas").is_dir() else root
        texts: dict[str, bytes] = {}
        for name in PACK_NAMES:
            path = directory / name
            try:
                texts[name] = path.read_bytes()
            except FileNotFoundError:
                raise PackLoadError(f"schema pack {name} is missing", pack=name) from None
            except OSError as exc:
                # A read failure is infrastructure, not a malformed catalogue.
                raise OSError(exc.errno, f"cannot read schema pack {name}: {exc.strerror}", str(path)) from exc
        # Every state loads the packs (and each seed of a seedpack lane again): the same
        # bytes at the same paths give the same, immutable, packs, with their compiled
        # validators and remembered verdicts.
        key = (str(directory), tuple(sorted(texts.items())))
        loaded = _LOADED.get(key)
        if loaded is None:
            packs = {name: cls._parse(name, text) for name, text in texts.items()}
            loaded = cls(packs, {name: directory / name for name in texts})
            if len(_LOADED) >= 8:
                _LOADED.clear()
            _LOADED[key] = loaded
        return loaded

    @staticmethod
    def _parse(name: str, text: bytes) -> dict:
        try:
            doc = yaml_io.load(text, _PackLoader)  # a safe loader: no arbitrary objects
        except yaml.YAMLError as exc:
            raise PackLoadError(f"schema pack {name} is not valid YAML: {exc}", pack=name) from exc
        if not isinstance(doc, dict):
            raise PackLoadError(f"schema pack {name} is not a mapping", pack=name)
        bad_key = _non_string_key(doc)
        if bad_key:
            raise PackLoadError(f"schema pack {name} has a non-string key at {bad_key}", pack=name)
        if doc.get("$id") != name:
            raise PackLoadError(f"schema pack {name} has $id {doc.get('$id')!r}, expected {name!r}", pack=name)
        if not isinstance(doc.get("version"), str) or not doc["version"].strip():
            raise PackLoadError(f"schema pack {name} lacks a string `version`", pack=name)
        return doc

    # ----------------------------------------------------------------- lookup
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._packs)

    def version(self, pack: str) -> str:
        if pack not in self._packs:
            raise AnchorError(f"unknown schema pack {pack!r}", pack=pack)
        return self._packs[pack]["version"]

    def _locate(self, anchor: str) -> tuple[str, Any]:
        if not isinstance(anchor, str) or "#/" not in anchor:
            raise AnchorError(f"malformed anchor {anchor!r}: expected '<pack>#/<path>'", anchor=str(anchor))
        pack, _, pointer = anchor.partition("#/")
        if pack not in self._packs:
            raise AnchorError(
                f"unknown schema pack {pack!r} in anchor {anchor!r} (known: {', '.join(self._packs)})",
                pack=pack,
                anchor=anchor,
            )
        if not pointer:
            raise AnchorError(f"anchor {anchor!r} has an empty path", pack=pack, anchor=anchor)
        node: Any = self._packs[pack]
        walked = ""
        for raw in pointer.split("/"):
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise AnchorError(
                    f"anchor {anchor!r} not found in {pack}: no {key!r} under '/{walked}'",
                    pack=pack,
                    anchor=anchor,
                )
            walked = f"{walked}/{key}" if walked else key
        return pack, node

    def resolve(self, anchor: str) -> Any:
        """The sub-schema at `anchor` (a copy: callers may not alter the packs)."""
        return copy.deepcopy(self._locate(anchor)[1])

    def has_anchor(self, anchor: str) -> bool:
        try:
            self._locate(anchor)
        except AnchorError:
            return False
        return True

    def anchors(self) -> list[str]:
        """Every schema node of every pack: `$defs` entries and the anchors under the
        grouping keys (`validation`, `plan`, …), in pack order then key order."""
        found: list[str] = []

        def walk(pack: str, path: str, node: Any) -> None:
            if not isinstance(node, dict):
                return
            if path and _SCHEMA_MARKERS & node.keys():
                found.append(f"{pack}#/{path}")
                return
            for key, child in node.items():
                if not path and key in ("$id", "version", "$schema", "description"):
                    continue
                walk(pack, f"{path}/{key}" if path else key, child)

        for pack, doc in self._packs.items():
            walk(pack, "", doc)
        return found

    def is_table(self, anchor: str) -> bool:
        node = self._locate(anchor)[1]
        return isinstance(node, dict) and isinstance(node.get("columns"), list)

    def is_json(self, anchor: str) -> bool:
        node = self._locate(anchor)[1]
        return isinstance(node, dict) and node.get("type") not in _NON_JSON_TYPES

    # ---------------------------------------------------------------- JSON
    def _validator(self, anchor: str) -> Any:
        cached = self._validators.get(anchor)
        if cached is not None:
            return cached
        pack, node = self._locate(anchor)
        if not isinstance(node, dict) or node.get("type") in _NON_JSON_TYPES:
            kind = node.get("type") if isinstance(node, dict) else type(node).__name__
            raise SchemaKindError(f"anchor {anchor!r} is a {kind}, not a JSON schema", pack=pack, anchor=anchor)
        try:
            _ProjectValidator.check_schema(node)
        except SchemaError as exc:
            raise SchemaKindError(
                f"anchor {anchor!r} is not a valid JSON Schema 2020-12: {exc.message}", pack=pack, anchor=anchor
            ) from exc
        # Validating through a `$ref` keeps the pack as the base URI, so the anchor's own
        # relative refs (`#/$defs/...`) and cross-pack refs both resolve.
        validator = _ProjectValidator({"$ref": anchor}, registry=self._registry, format_checker=_FORMAT_CHECKER)
        self._validators[anchor] = validator
        return validator

    def validate_json(self, anchor: str, instance: Any) -> list[Violation]:
        """Violations of `instance` against the JSON anchor, ordered by instance path
        then message. Empty list = valid."""
        validator = self._validator(anchor)
        # Policies are validated by S0 and again by the states that read them: the verdict
        # is remembered per exact instance (its pickle keeps 1, 1.0, True, lists and
        # tuples apart; an unpicklable instance is simply validated).
        key = _instance_key(instance)
        if key is not None and (anchor, key) in self._verdicts:
            return list(self._verdicts[anchor, key])
        with _evaluation_errors(anchor):
            errors = sorted(validator.iter_errors(instance), key=lambda e: (_path_sort_key(e), e.message))
        violations = [Violation(e.json_path, _message(e)) for e in errors]
        if key is not None:
            if len(self._verdicts) >= 1024:
                self._verdicts.clear()
            self._verdicts[anchor, key] = tuple(violations)
        return violations

    def validity_predicate(self, anchor: str) -> Callable[[Any], bool]:
        """A function equal to `not validate_json(anchor, instance)`, for validating many
        records of one schema (JSONL lines): when the anchor (after lone `$ref`s) is a
        plain object schema (`type: object`, `properties`, `required`, boolean
        `additionalProperties`, annotations), an instance is valid exactly when its key
        set is and each property value is valid against its own sub-schema, and those
        per-value verdicts are remembered (run ids, hashes and labels repeat on every
        line). Any other schema is validated whole. Call validate_json for the messages."""
        predicate = self._predicates.get(anchor)
        if predicate is None:
            validator = self._validator(anchor)  # checks the anchor is a valid JSON schema
            fast = self._flat_object_predicate(anchor) or validator.is_valid

            def predicate(instance: Any) -> bool:
                with _evaluation_errors(anchor):
                    return fast(instance)

            self._predicates[anchor] = predicate
        return predicate

    def line_template(self, anchor: str, keys: tuple[str, ...]) -> "re.Pattern[bytes] | None":
        """A regex that matches only JSON lines valid against `anchor` whose keys come in
        the order `keys` (seg3a.core.json_templates), or None when the anchor is not a
        plain object schema or a property's schema is beyond the template's forms. A line
        it does not match may still be valid: the caller judges it with the validator."""
        cache_key = (anchor, keys)
        if cache_key not in self._templates:
            from .json_templates import object_line_pattern

            self._validator(anchor)  # the anchor is a valid JSON schema
            pack, _, node = self._through_lone_refs(anchor)
            if len(self._templates) >= 64:
                self._templates.clear()
            self._templates[cache_key] = object_line_pattern(
                node, keys, resolve=lambda reference: self._locate(pack + reference)[1],
                is_valid=lambda schema, value: _ProjectValidator(schema, format_checker=_FORMAT_CHECKER).is_valid(value),
                keywords=_ProjectValidator.VALIDATORS.keys())
        return self._templates[cache_key]

    def _through_lone_refs(self, anchor: str) -> tuple[str, str, Any]:
        """(pack, anchor, node) of the schema `anchor` stands for once every `$ref` that is
        its node's only validation keyword is followed (within the pack, at most 8)."""
        pack, node = self._locate(anchor)
        for _ in range(8):
            reference = node.get("$ref") if isinstance(node, dict) else None
            if not (isinstance(reference, str) and reference.startswith("#/")
                    and node.keys() & _ProjectValidator.VALIDATORS.keys() == {"$ref"}):
                break
            anchor = pack + reference
            pack, node = self._locate(anchor)
        return pack, anchor, node

    def _flat_object_predicate(self, anchor: str) -> Callable[[Any], bool] | None:
        pack, anchor, node = self._through_lone_refs(anchor)
        if not isinstance(node, dict):
            return None
        keywords = node.keys() & _ProjectValidator.VALIDATORS.keys()
        additional = node.get("additionalProperties", True)  # true: keys beyond `properties` are allowed
        properties, required = node.get("properties", {}), node.get("required", [])
        if (not keywords <= {"type", "properties", "required", "additionalProperties"} or node.get("type") != "object"
                or not isinstance(additional, bool) or not isinstance(properties, dict)
                or not isinstance(required, list)):
            return None
        value_validators = {name: self._value_validator(f"{anchor}/properties/{_pointer_token(name)}")
                            for name in properties}
        return _FlatObjectPredicate(frozenset(required), value_validators, additional)

    def _value_validator(self, anchor: str) -> Any:
        """Validator of one property's sub-schema: on the schema itself when, after lone
        `$ref`s, it holds no reference (no registry lookups per value), else through it."""
        node = self._through_lone_refs(anchor)[2]
        if isinstance(node, (dict, bool)) and not _holds_reference(node):
            return _compiled_leaf(node) or _ProjectValidator(node, format_checker=_FORMAT_CHECKER)
        return _ProjectValidator({"$ref": anchor}, registry=self._registry, format_checker=_FORMAT_CHECKER)

    def validate_json_items(self, anchor: str, items: Iterable[Any]) -> list[Violation]:
        """Validate each item (rows of a JSON array, lines of a JSONL file) against a
        row anchor; paths are prefixed with the item index (`$[3].seed`)."""
        out: list[Violation] = []
        for i, item in enumerate(items):
            for v in self.validate_json(anchor, item):
                out.append(Violation(f"$[{i}]{v.path[1:]}", v.message, v.count))
        return out

    # --------------------------------------------------------------- tables
    def _table_node(self, anchor: str) -> dict:
        pack, node = self._locate(anchor)
        if not isinstance(node, dict) or not isinstance(node.get("columns"), list):
            raise SchemaKindError(f"anchor {anchor!r} is not a table schema", pack=pack, anchor=anchor)
        for col in node["columns"]:
            if not isinstance(col, dict) or "name" not in col or col.get("type") not in TABLE_TYPES:
                raise SchemaKindError(
                    f"anchor {anchor!r} has a malformed column {col!r} (type must be one of {sorted(TABLE_TYPES)})",
                    pack=pack,
                    anchor=anchor,
                )
        return node

    def table_columns(self, anchor: str) -> list[dict]:
        """The table's column specs in contract order (copies)."""
        return copy.deepcopy(self._table_node(anchor)["columns"])

    def table_spec(self, anchor: str) -> dict:
        """Keys of the table besides its columns: primary_key, sort_keys, sort_nulls,
        unique_keys, columns_strict."""
        node = self._table_node(anchor)
        return {
            "columns_strict": bool(node.get("columns_strict", True)),
            "primary_key": list(node.get("primary_key") or []),
            "sort_keys": list(node.get("sort_keys") or []),
            "sort_nulls": node.get("sort_nulls", "last"),
            "unique_keys": [list(k) for k in node.get("unique_keys") or []],
        }

    def arrow_schema(self, anchor: str) -> pa.Schema:
        """The Arrow schema a writer should use for the table (canonical physical types)."""
        return pa.schema(
            [pa.field(c["name"], TABLE_TYPES[c["type"]], nullable=bool(c.get("nullable", False)))
             for c in self._table_node(anchor)["columns"]]
        )

    def validate_table(
        self, anchor: str, table: pa.Table | Path | str, *, max_examples: int = 3
    ) -> list[Violation]:
        """Violations of a table (or a Parquet file / partition directory) against the
        table anchor: column set and order, Arrow types, nulls, value rules, primary key
        and unique keys, writer sort. Empty list = valid."""
        node = self._table_node(anchor)
        spec = self.table_spec(anchor)
        if not isinstance(table, pa.Table):
            try:
                table = _read_parquet(Path(table))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                return [Violation("table", f"unreadable Parquet (or parts with differing schemas): {exc}")]
        columns = node["columns"]
        expected = [c["name"] for c in columns]
        out: list[Violation] = []

        # Column names: aliases (e.g. `geometry` for `geom`) count as the contract name.
        alias = {a: c["name"] for c in columns for a in c.get("aliases", ())}
        actual = [n if n in expected else alias.get(n, n) for n in table.column_names]
        position = {}
        for i, name in enumerate(actual):
            if name in position:
                out.append(Violation("columns", f"column {name!r} appears more than once"))
            else:
                position[name] = i
        missing = [n for n in expected if n not in position]
        extra = [table.column_names[i] for i, n in enumerate(actual) if n not in expected]
        if missing:
            out.append(Violation("columns", f"missing column(s): {', '.join(missing)}", len(missing)))
        if extra and spec["columns_strict"]:
            out.append(Violation("columns", f"unexpected column(s): {', '.join(extra)}", len(extra)))
        common_actual = [n for n in actual if n in expected]
        common_expected = [n for n in expected if n in position]
        if spec["columns_strict"] and common_actual != common_expected:
            out.append(
                Violation("columns", f"columns out of contract order: expected {common_expected}, got {common_actual}")
            )

        usable: dict[str, pa.ChunkedArray] = {}
        for col in columns:
            name = col["name"]
            if name not in position:
                continue
            arr = table.column(position[name])
            if not arrow_type_matches(col["type"], arr.type):
                out.append(Violation(f"columns.{name}", f"Arrow type {arr.type} does not match contract type {col['type']}"))
                continue
            arr = _normalise(arr)
            usable[name] = arr
            out.extend(self._column_violations(col, arr, max_examples))

        n_rows = table.num_rows
        if spec["primary_key"]:
            out.extend(self._key_violations("primary_key", spec["primary_key"], usable, max_examples))
        for key in spec["unique_keys"]:
            out.extend(self._key_violations("unique_keys", key, usable, max_examples))
        if spec["sort_keys"] and n_rows > 1 and all(k in usable for k in spec["sort_keys"]):
            out.extend(self._sort_violations(spec["sort_keys"], spec["sort_nulls"], usable, max_examples))
        return out

    @staticmethod
    def _column_violations(col: dict, arr: pa.ChunkedArray, k: int) -> list[Violation]:
        name, ctype = col["name"], col["type"]
        path = f"columns.{name}"
        out: list[Violation] = []

        def report(mask: Any, what: str) -> None:
            count = _mask_count(mask)
            if count:
                rows = _first_rows(mask, k)
                out.append(Violation(path, f"{what} (e.g. {_examples(arr, rows)})", count))

        if arr.null_count and not col.get("nullable", False):
            rows = _first_rows(pc.is_null(arr), k)
            out.append(Violation(path, f"null in non-nullable column (e.g. rows {rows})", arr.null_count))
        if ctype in ("geometry", "bool", "date") or len(arr) == 0:
            return out
        if ctype == "float64":
            report(pc.invert(pc.is_finite(arr)), "non-finite value")
        bounds = (
            ("minimum", pc.less, "below minimum"),
            ("exclusiveMinimum", pc.less_equal, "not above exclusive minimum"),
            ("maximum", pc.greater, "above maximum"),
            ("exclusiveMaximum", pc.greater_equal, "not below exclusive maximum"),
        )
        for keyword, compare, label in bounds:
            if keyword not in col:
                continue
            bound = col[keyword]
            scalar = _bound_scalar(bound, arr.type)
            if isinstance(scalar, str):
                # The bound lies outside the type's range: every value violates a lower
                # bound above the range (or an upper bound below it), none otherwise.
                is_lower = keyword in ("minimum", "exclusiveMinimum")
                if scalar == ("above" if is_lower else "below"):
                    report(pc.is_valid(arr), f"{label} {bound}")
                continue
            values = arr if scalar is not None else arr.cast(pa.float64())
            report(compare(values, scalar if scalar is not None else pa.scalar(float(bound))), f"{label} {bound}")
        if ctype == "string":
            if "pattern" in col:
                try:
                    matched = pc.match_substring_regex(arr, col["pattern"])
                except pa.ArrowInvalid as exc:
                    raise SchemaPackError(f"column {name}: pattern {col['pattern']!r} is not usable: {exc}") from exc
                report(pc.invert(matched), f"does not match {col['pattern']!r}")
            if "minLength" in col or "maxLength" in col:
                lengths = pc.utf8_length(arr)
                if "minLength" in col:
                    report(pc.less(lengths, col["minLength"]), f"shorter than {col['minLength']}")
                if "maxLength" in col:
                    report(pc.greater(lengths, col["maxLength"]), f"longer than {col['maxLength']}")
        if "enum" in col:
            allowed = pa.array(col["enum"], type=arr.type)
            outside = pc.and_(pc.invert(pc.is_in(arr, value_set=allowed)), pc.is_valid(arr))
            report(outside, f"not one of {col['enum']}")
        return out

    @staticmethod
    def _key_violations(
        label: str, key: list[str], usable: Mapping[str, pa.ChunkedArray], k: int
    ) -> list[Violation]:
        if not all(c in usable for c in key):
            return []  # a missing or mistyped key column is already reported
        keys = pa.table({c: usable[c] for c in key})
        counts = keys.group_by(key, use_threads=False).aggregate([([], "count_all")])
        dups = counts.filter(pc.greater(counts["count_all"], 1))
        if dups.num_rows == 0:
            return []
        dups = dups.sort_by([(c, "ascending") for c in key])
        rows_involved = int(pc.sum(dups["count_all"]).as_py())
        shown = "; ".join(
            "(" + ", ".join(f"{c}={r[c]!r}" for c in key) + f") x{r['count_all']}" for r in dups.slice(0, k).to_pylist()
        )
        return [
            Violation(
                label,
                f"{dups.num_rows} duplicated ({', '.join(key)}) value(s) over {rows_involved} rows (e.g. {shown})",
                dups.num_rows,
            )
        ]

    @staticmethod
    def _sort_violations(
        sort_keys: list[str], nulls: str, usable: Mapping[str, pa.ChunkedArray], k: int
    ) -> list[Violation]:
        keys = pa.table({c: usable[c] for c in sort_keys})
        # sort_indices is stable, so a table already in writer order maps to 0..n-1 even
        # when rows tie on every sort key.
        placement = "at_start" if nulls == "first" else "at_end"
        order = pc.sort_indices(keys, sort_keys=[(c, "ascending", placement) for c in sort_keys])
        expected = pa.array(np.arange(len(order), dtype=np.uint64))
        misplaced = pc.not_equal(order, expected)
        count = _mask_count(misplaced)
        if not count:
            return []
        first = _first_rows(misplaced, 1)[0]
        row = {c: keys.column(c)[first].as_py() for c in sort_keys}
        return [
            Violation(
                "sort_keys",
                f"rows not in writer sort ({', '.join(sort_keys)} ascending); first misplaced row {first}: {row}",
                count,
            )
        ]
