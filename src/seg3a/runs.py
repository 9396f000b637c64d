"""`seg3a runs`: the runs under the runs root, oldest first, with seed and database.

    seg3a runs                       one line per run: run_id, seed, database (or "not built")
    seg3a runs --seed 7 --newest     only the newest run of seed 7's id (for scripts: make build SEED=7)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .core.identity import RECEIPT_NAME, parse_receipt
from .core.paths import default_runs_root
from .core.run_database import run_database, runs_present


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="seg3a runs", description="List the runs (oldest first) with their seed and "
                                  "DuckDB database; exit 2 when none matches.")
    cli.add_argument("--runs-root", type=Path, help="parent of run roots (default: SEG3A_RUNS_ROOT or build/runs)")
    cli.add_argument("--seed", type=int, help="only runs of this seed")
    cli.add_argument("--newest", action="store_true", help="print only the newest matching run id")
    args = cli.parse_args(argv)
    runs_root = args.runs_root or default_runs_root()
    rows = []
    for run_id in runs_present(runs_root):
        seed = parse_receipt(Path(runs_root) / run_id / RECEIPT_NAME).seed
        if args.seed is None or seed == args.seed:
            rows.append((run_id, seed))
    if not rows:
        what = f" of seed {args.seed}" if args.seed is not None else ""
        print(f"seg3a runs: no run{what} under {runs_root} (generate one: make world SEED=<seed>)", file=sys.stderr)
        return 2
    if args.newest:
        print(rows[-1][0])
        return 0
    for run_id, seed in rows:
        database = run_database(run_id)
        print(f"{run_id}  seed={seed:<6} {database if database.is_file() else 'not built'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
