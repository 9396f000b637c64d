"""Negative fixtures (05 §5.5): break one validation bundle in exactly one named way.

`corrupt` is `<kind>` or `<kind>:<segment>`. Kinds that only exist for 2A default to
2A; the others default to 1A. Each fixture leaves everything else intact (where the
index changes, the flag is re-sealed when the law still allows computing it), so the
gate fails for the named reason and no other:

| kind | gate reason |
|---|---|
| `missing_flag` | `flag_missing` |
| `flipped_byte` | `flag_mismatch` (1A/1B), `digest_mismatch` (2A) |
| `unlisted_file` | `membership` |
| `uppercase_flag` | `flag_malformed` |
| `dotdot_path` | `path_hygiene` |
| `unsorted_2a_index` | `index_unsorted` (2A only) |
| `wrong_2a_digest` | `digest_mismatch` (2A only) |
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seg3a.core.cjson import cj_bytes
from seg3a.core.digests import sha256_bytes
from seg3a.core.hashgate import FLAG_NAME, INDEX_NAME, composite_digest, flag_bytes, read_flag

KINDS = (
    "missing_flag", "flipped_byte", "unlisted_file", "uppercase_flag",
    "dotdot_path", "unsorted_2a_index", "wrong_2a_digest",
)
ONLY_2A = ("unsorted_2a_index", "wrong_2a_digest")
SEGMENTS = ("1A", "1B", "2A")
UNLISTED_NAME = "unlisted_extra.json"
ESCAPING_PATH = "../outside.json"


class CorruptionError(ValueError):
    """An unknown fixture kind or a segment it does not apply to."""


@dataclass(frozen=True)
class Corruption:
    kind: str
    segment: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.segment}"


def parse(spec: str | None) -> Corruption | None:
    if not spec:
        return None
    kind, _, segment = spec.partition(":")
    if kind not in KINDS:
        raise CorruptionError(f"unknown corruption {kind!r}; choose one of {', '.join(KINDS)}")
    segment = segment or ("2A" if kind in ONLY_2A else "1A")
    if segment not in SEGMENTS:
        raise CorruptionError(f"unknown segment {segment!r}; choose one of {', '.join(SEGMENTS)}")
    if kind in ONLY_2A and segment != "2A":
        raise CorruptionError(f"{kind} applies to the 2A bundle only")
    return Corruption(kind, segment)


def _victim(segment: str) -> str:
    """The member whose byte is flipped: never the index, so the index still parses."""
    return "checks.json" if segment == "2A" else "s9_summary.json"


def _reseal_array_index(root: Path, rows: list) -> None:
    """1A/1B: the index is hashed, so after editing it the flag is recomputed over the
    files that do exist (the gate stops at path hygiene before it gets that far)."""
    (root / INDEX_NAME).write_bytes(cj_bytes(rows))
    real = [r["path"] for r in rows if (root / r["path"]).is_file() and ".." not in r["path"].split("/")]
    (root / FLAG_NAME).write_bytes(flag_bytes(composite_digest(root, real)))


def apply(corruption: Corruption, bundle_root: Path) -> None:
    root = Path(bundle_root)
    flag = root / FLAG_NAME
    index = json.loads((root / INDEX_NAME).read_bytes())
    kind, is_2a = corruption.kind, corruption.segment == "2A"
    if kind == "missing_flag":
        flag.unlink()
    elif kind == "flipped_byte":
        victim = root / _victim(corruption.segment)
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    elif kind == "unlisted_file":
        (root / UNLISTED_NAME).write_bytes(cj_bytes({"note": "not listed in index.json"}))
    elif kind == "uppercase_flag":
        flag.write_bytes(f"sha256_hex = {read_flag(corruption.segment, flag).upper()}\n".encode("ascii"))
    elif kind == "dotdot_path" and is_2a:
        rows = index["files"] + [{"path": ESCAPING_PATH, "sha256_hex": sha256_bytes(b"")}]
        rows.sort(key=lambda r: r["path"].encode("ascii"))
        (root / INDEX_NAME).write_bytes(cj_bytes({"files": rows}))
    elif kind == "dotdot_path":
        extra = {"artifact_id": "outside", "kind": "text", "path": ESCAPING_PATH, "mime": None, "notes": None}
        _reseal_array_index(root, index + [extra])
    elif kind == "unsorted_2a_index":
        rows = index["files"]
        rows[0], rows[-1] = rows[-1], rows[0]
        (root / INDEX_NAME).write_bytes(cj_bytes({"files": rows}))
    elif kind == "wrong_2a_digest":
        rows = index["files"]
        rows[0]["sha256_hex"] = sha256_bytes(b"not the file")
        (root / INDEX_NAME).write_bytes(cj_bytes({"files": rows}))
