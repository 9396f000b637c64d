"""Line templates: regular expressions that match only JSON-lines records certainly valid
against a plain object schema, so that a batch of lines can be proven valid by one
C-level regex pass per line instead of a JSON parse and a schema check per line.

A template is built for one key order (the order the lines are written in) and matches
a line exactly when the line is, byte for byte, `{"k1": v1, "k2": v2, ...}` (the space
after `,` and `:` optional, none elsewhere) where each value is written in a form its
property's schema certainly accepts:

* strings of printable ASCII without `"` or `\\` (no escapes, so the text between the
  quotes is the string itself), within the schema's `minLength`/`maxLength`, matching
  its `pattern` when that is a plain `^...$` pattern (character classes, literals,
  groups, alternation and counted repeats only);
* integers in decimal without sign or leading zero, within the schema's bounds (lower
  bound 0 or 1);
* numbers whose value is certainly finite and away from zero (at most 21 integer
  digits, at most 20 leading fraction zeros, a one- or two-digit exponent), without
  sign for `exclusiveMinimum: 0`, and `0` too for `minimum: 0`; with or without `-` and
  `0` when the number has no bound;
* `null`, `true`, `false`, and the literals of `const`/`enum` that the validator itself
  accepts.

Such a line is one JSON text for Python's `json` (ASCII, so valid UTF-8; no BOM, no
NaN, no duplicate key, no number beyond the digit limit), parses to an object with
exactly the template's keys, and each value passes its property's schema, so the exact
per-line check (json.loads, then the schema) finds it valid. The converse is not
needed: a line the template does not match is judged by that exact check, as is any
schema part outside the forms above (then no template is built at all).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

# Printable ASCII except `"` and `\`: a JSON string of these is its own text.
_PLAIN_CHAR = rb"[\x20\x21\x23-\x5b\x5d-\x7e]"
_GAP = rb" ?"  # the writers' separators: `", "` and `": "`, or without the space
_MAX_DIGITS = 30  # integers without an upper bound: far below Python's digit limit
# A positive number certainly finite and certainly above zero once parsed as a double:
# between about 1e-120 and 1e121.
_POSITIVE_NUMBER = (rb"(?:[1-9][0-9]{0,20}(?:\.[0-9]+)?|0\.0{0,20}[1-9][0-9]*)"
                    rb"(?:[eE][-+]?[0-9]{1,2})?")
_LEAF_KEYWORDS = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "const", "enum",
                            "pattern", "minLength", "maxLength"})
# The pattern forms a template embeds: `^`, then character classes of letters, digits and
# `-`, literal letters, digits and `:_ -`, escaped `.` or `-`, groups, alternation and
# repeats, then `$`. The validator itself runs patterns with Python's `re` (schemas.py
# `_ecma_regex`, which only changes `$`), so these mean there what they mean here.
_PATTERN_TOKEN = r"\[[A-Za-z0-9\-]+\]|\\[.\-]|[A-Za-z0-9:_ \-]|\{[0-9]+(?:,[0-9]*)?\}|[()|?*+]"
_PLAIN_PATTERN = re.compile(rf"\^((?:{_PATTERN_TOKEN})*)\$")

Resolve = Callable[[str], Any]
IsValid = Callable[[Mapping, Any], bool]


def object_line_pattern(node: Any, keys: Sequence[str], resolve: Resolve, is_valid: IsValid,
                        keywords: Iterable[str]) -> re.Pattern[bytes] | None:
    """The template of lines with `keys` in this order, for the plain object schema
    `node` (`type: object`, `properties`, `required`, boolean `additionalProperties`);
    None when the keys cannot make a valid record or a property's schema is outside the
    forms above. `resolve` gives the node of a `#/...` reference of the same pack,
    `is_valid(schema, value)` is the validator's verdict (for `const`/`enum` literals),
    `keywords` are the validator's keywords (anything else is an annotation)."""
    keywords = frozenset(keywords)
    if not isinstance(node, dict) or node.get("type") != "object":
        return None
    if not node.keys() & keywords <= {"type", "properties", "required", "additionalProperties"}:
        return None
    properties, required = node.get("properties", {}), node.get("required", [])
    if (not keys or len(set(keys)) != len(keys) or not isinstance(properties, dict)
            or not isinstance(required, list) or not set(required) <= set(keys) or not set(keys) <= properties.keys()):
        return None
    members = []
    for key in keys:
        value = _value_pattern(properties[key], resolve, is_valid, keywords)
        name = key.encode("ascii", "replace")
        if value is None or not re.fullmatch(_PLAIN_CHAR + b"+", name):
            return None
        members.append(b'"' + re.escape(name) + b'"' + _GAP + b":" + _GAP + value)
    body = (_GAP + b"," + _GAP).join(members)
    try:
        return re.compile(rb"\{" + body + rb"\}")
    except re.error:
        return None


def _value_pattern(node: Any, resolve: Resolve, is_valid: IsValid, keywords: frozenset[str],
                   depth: int = 0) -> bytes | None:
    if depth > 8 or not isinstance(node, dict):
        return None
    used = node.keys() & keywords
    if used == {"$ref"}:
        reference = node["$ref"]
        if not isinstance(reference, str) or not reference.startswith("#/"):
            return None
        return _value_pattern(resolve(reference), resolve, is_valid, keywords, depth + 1)
    if used == {"anyOf"}:
        branches = node["anyOf"]
        if not isinstance(branches, list) or not branches:
            return None
        patterns = [_value_pattern(branch, resolve, is_valid, keywords, depth + 1) for branch in branches]
        return None if any(p is None for p in patterns) else _either(patterns)
    if not used <= _LEAF_KEYWORDS:
        return None
    if "const" in used or "enum" in used:
        return _literals(node, is_valid)
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    patterns = [_typed_pattern(node, name) for name in types]
    return None if not patterns or any(p is None for p in patterns) else _either(patterns)


def _literals(node: Mapping, is_valid: IsValid) -> bytes | None:
    """The JSON texts of the schema's const/enum values that the validator accepts."""
    candidates = [node["const"]] if "const" in node else node["enum"]
    if not isinstance(candidates, list):
        return None
    texts = []
    for value in candidates:
        text = _literal_text(value)
        if text is not None and is_valid(node, json.loads(text)):
            texts.append(re.escape(text))
    return _either(texts) if texts else None


def _literal_text(value: Any) -> bytes | None:
    if value is None or isinstance(value, bool):
        return json.dumps(value).encode()
    if isinstance(value, int):
        return str(value).encode() if abs(value) < 10 ** _MAX_DIGITS else None
    if isinstance(value, str):
        text = value.encode("ascii", "replace")
        return b'"' + text + b'"' if re.fullmatch(_PLAIN_CHAR + b"*", text) else None
    return None


def _typed_pattern(node: Mapping, name: Any) -> bytes | None:
    if name == "null":
        return b"null"
    if name == "boolean":
        return b"(?:true|false)"
    if name == "integer":
        return _integer_pattern(node)
    if name == "number":
        return _number_pattern(node)
    if name == "string":
        return _string_pattern(node)
    return None


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_pattern(node: Mapping) -> bytes | None:
    """Integers within the schema's bounds; a lower bound is required (no negatives)."""
    bounds = {k: node[k] for k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum") if k in node}
    if not all(_is_integer(value) for value in bounds.values()):
        return None
    lows = [bounds[k] + shift for k, shift in (("minimum", 0), ("exclusiveMinimum", 1)) if k in bounds]
    highs = [bounds[k] - shift for k, shift in (("maximum", 0), ("exclusiveMaximum", 1)) if k in bounds]
    if not lows:
        return None
    return integer_range_pattern(max(lows), min(highs, default=10 ** _MAX_DIGITS - 1))


def integer_range_pattern(low: int, high: int) -> bytes | None:
    """Decimal integers from `low` (0 or 1) to `high`, without sign or leading zero.
    The form for fewer digits than `high` takes its digits possessively: without it,
    a number of `high`'s width made the regex engine give the digits back one at a time
    before trying the next form (most RNG counters have 20 digits). A digit given back
    could only be matched by what follows the number, and neither the end of the text
    nor a template's separators start with a digit, so the same texts match."""
    if low not in (0, 1) or high < low:
        return None
    forms = [b"0"] if low == 0 else []
    if high >= 1:
        digits = str(high)
        width = len(digits)
        if width > 1:  # fewer digits than `high`
            forms.append(b"[1-9]" + (b"[0-9]{0,%d}+" % (width - 2) if width > 2 else b""))
        for i, digit in enumerate(digits):  # width digits, below `high` first at position i
            first, last = (1 if i == 0 else 0), int(digit) - 1
            if last >= first:
                rest = width - i - 1
                forms.append(digits[:i].encode() + b"[%d-%d]" % (first, last) + (b"[0-9]{%d}" % rest if rest else b""))
        forms.append(digits.encode())
    return _either(forms)


def _number_pattern(node: Mapping) -> bytes | None:
    bounds = {k: node[k] for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in node}
    if bounds == {"exclusiveMinimum": 0}:
        return _POSITIVE_NUMBER
    if bounds == {"minimum": 0}:
        return _either([b"0", _POSITIVE_NUMBER])
    if not bounds:
        return _either([b"0", b"-?" + _POSITIVE_NUMBER])
    return None


def _string_pattern(node: Mapping) -> bytes | None:
    shortest, longest = node.get("minLength", 0), node.get("maxLength")
    if not _is_integer(shortest) or (longest is not None and not _is_integer(longest)):
        return None
    length = b"{%d,%s}" % (max(shortest, 0), b"" if longest is None else str(longest).encode())
    if "pattern" not in node:
        return b'"' + _PLAIN_CHAR + length + b'"'
    plain = _PLAIN_PATTERN.fullmatch(node["pattern"]) if isinstance(node["pattern"], str) else None
    if plain is None or "(?" in plain.group(1) or not all(map(_plain_class, re.findall(r"\[[^\]]*\]", plain.group(1)))):
        return None
    body = b"(?:" + plain.group(1).encode() + b")"  # its characters are all plain ones
    if length == b"{0,}":
        return b'"' + body + b'"'
    return b'"(?=' + _PLAIN_CHAR + length + b'")' + body + b'"'


def _plain_class(token: str) -> bool:
    """Whether a character class matches plain characters only (a range such as `0-z`
    would take in `\\`, which would start an escape)."""
    try:
        matched = [byte for byte in range(256) if re.fullmatch(token.encode(), bytes([byte]))]
    except re.error:
        return False
    return all(re.fullmatch(_PLAIN_CHAR, bytes([byte])) for byte in matched)


def _either(forms: Sequence[bytes]) -> bytes:
    return forms[0] if len(forms) == 1 else b"(?:" + b"|".join(forms) + b")"
