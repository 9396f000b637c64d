"""`python -m seg3a.reference build|verify [--root DIR] [--force]`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg3a.reference.build import build_all, default_root, verify_all
from seg3a.reference.errors import ReferenceDataError
from seg3a.reference.io import canonical_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg3a.reference", description=__doc__)
    parser.add_argument("command", choices=("build", "verify"))
    parser.add_argument("--root", type=Path, default=None, help="external root (default: the project root)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    root = args.root or default_root()
    try:
        result = build_all(root, force=args.force) if args.command == "build" else verify_all(root)
    except ReferenceDataError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(canonical_json(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
