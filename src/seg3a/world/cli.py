"""`seg3a world generate`: command-line entry point of the sample-world generator."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg3a.core.errors import Seg3aError
from seg3a.core.paths import default_external_root, default_runs_root

from .corrupt import KINDS
from .generate import DEFAULT_CREATED_UTC, generate_world


def pairs_argument(text: str) -> int | None:
    """argparse type of `--pairs`: a positive integer, or `default` (None)."""
    if text == "default":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or `default`, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("pairs must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seg3a world generate",
        description=(
            "Generate a sample upstream world (1A outlet_catalogue, 2A site_timezones, tz cache, "
            "legality report, 1A/1B/2A validation bundles and flags) with its run identity and "
            "receipt under <runs-root>/<run_id>/. Same arguments => byte-identical run root."
        ),
    )
    parser.add_argument("--seed", type=int, default=42, help="modelling seed (uint64, default 42)")
    parser.add_argument("--pairs", type=pairs_argument, default=None,
                        help="target number of merchant x country pairs, or `default` (about 2,600)")
    parser.add_argument("--runs-root", type=Path, default=None, help="parent of run roots (default build/runs)")
    parser.add_argument("--external-root", type=Path, default=None,
                        help="root holding config/ and reference/ (default: the project)")
    parser.add_argument("--created-utc", default=DEFAULT_CREATED_UTC,
                        help=f"configured creation instant, rfc3339 with microseconds (default {DEFAULT_CREATED_UTC})")
    parser.add_argument("--corrupt", default=None, metavar="KIND[:SEGMENT]",
                        help=f"emit a negative fixture: one of {', '.join(KINDS)}, optionally with :1A, :1B or :2A "
                             "(use a separate --runs-root: the fixture shares the good world's run_id)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = (lambda _line: None) if args.quiet else (lambda line: print(line, flush=True))
    try:
        run_root = generate_world(
            seed=args.seed,
            pairs=args.pairs,
            runs_root=args.runs_root or default_runs_root(),
            external_root=args.external_root or default_external_root(),
            created_utc=args.created_utc,
            corrupt=args.corrupt,
            progress=progress,
        )
    except Seg3aError as exc:
        print(f"seg3a world generate: {exc}", file=sys.stderr)
        return 1
    print(run_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
