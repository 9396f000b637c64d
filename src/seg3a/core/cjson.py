"""Canonical JSON (CJ, spec 01 §0): keys sorted at every level, `,`/`:` separators,
non-ASCII escaped, UTF-8, no trailing newline. Floats use Python's shortest round-trip repr."""
from __future__ import annotations

import json
from typing import Any


def cj_bytes(value: Any) -> bytes:
    """The canonical JSON bytes of `value`."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def jsonl_line(value: Any) -> bytes:
    """One JSON-Lines record: sorted keys, ASCII, followed by LF (run reports, 01 §4.10)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"


def pretty_bytes(value: Any) -> bytes:
    """Operational report layout: 2-space indent, sorted keys, trailing LF (01 §5.3)."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")
