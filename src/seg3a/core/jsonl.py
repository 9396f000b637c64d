"""JSON-lines logs read a line at a time: an RNG log of a large world is gigabytes, and
only the current line is held. Lines are exactly those `bytes.splitlines` gives for the
whole file (a lone CR ends a line too), so line numbers do not depend on how it is read."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterator


def handle_lines(handle: BinaryIO) -> Iterator[bytes]:
    """The lines of an open binary file, without their line ends."""
    for chunk in handle:  # ends at LF; splitlines also splits at a lone CR
        yield from chunk.splitlines()


def file_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from handle_lines(handle)
