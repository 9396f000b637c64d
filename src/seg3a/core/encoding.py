"""Byte encodings shared by identity, RNG keying and digests (spec 01 §1.2, 03 §0)."""
from __future__ import annotations

import struct


def le32(n: int) -> bytes:
    return struct.pack("<I", n)


def le64(n: int) -> bytes:
    return struct.pack("<Q", n)


def uer(s: str) -> bytes:
    """Universal encoding rule for strings: LE32 byte length, then the UTF-8 bytes."""
    data = s.encode("utf-8")
    return le32(len(data)) + data
