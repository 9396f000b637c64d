"""Sample upstream world generator: the 1A/1B/2A artefacts Segment 3A reads (spec 05)."""
from __future__ import annotations

from .generate import DEFAULT_CREATED_UTC, WorldError, generate_world

__all__ = ["DEFAULT_CREATED_UTC", "WorldError", "generate_world", "main"]


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(argv)
