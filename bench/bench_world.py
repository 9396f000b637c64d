"""Wall time and peak memory of sample-world generation at three sizes.

Each generation runs in its own subprocess (a fresh interpreter, a fresh temporary runs
root), so the peak resident set size of that process alone is read from `os.wait4`.
Reported per size: the median over --repeats runs of the subprocess wall time, of the
in-process generation time (identity, synthesis, Parquet, cache, bundles; without
interpreter start-up and imports) and of the peak RSS. Results are printed as a table
and written as JSON to bench/results/bench_world.json.

    python bench/bench_world.py --help
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, write_results

RESULTS = ROOT / "bench" / "results" / "bench_world.json"
DEFAULT_SIZES = (3_000, 100_000, 1_000_000)

# The child generates one world and prints one JSON line with its own timing.
CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from seg3a.core.paths import default_external_root
from seg3a.world import generate_world
from seg3a.world.testing import WorldView
t1 = time.perf_counter()
root = generate_world(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), default_external_root(),
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
t2 = time.perf_counter()
summary = json.loads((WorldView.open(root).path("validation_bundle_1A") / "s9_summary.json").read_bytes())
rows, pairs = summary["rows_total"], summary["pairs_total"]
size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
print(json.dumps({"import_s": t1 - t0, "generate_s": t2 - t1, "rows": rows, "pairs": pairs, "bytes": size}))
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="target pairs per world (default 3000 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per size below 1M pairs; the median is reported (default 5)")
    parser.add_argument("--large-repeats", type=int, default=1, help="runs at 1M pairs and above (default 1)")
    parser.add_argument("--seed", type=int, default=42, help="world seed (default 42)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--verbose", action="store_true", help="show the generator's progress lines")
    return parser.parse_args(argv)


def run_once(seed: int, pairs: int, verbose: bool) -> dict:
    """One generation in a subprocess: wall time, peak RSS (MiB) and the child's timings."""
    runs_root = Path(tempfile.mkdtemp(prefix="bench-world-"))
    try:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(seed), str(pairs), str(runs_root)],
            stdout=subprocess.PIPE, stderr=None if verbose else subprocess.DEVNULL, cwd=ROOT,
        )
        output = child.stdout.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"generation at {pairs} pairs failed with exit code {child.returncode}")
        result = json.loads(output.decode().strip().splitlines()[-1])
        # ru_maxrss is in KiB on Linux
        result.update({"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0})
        return result
    finally:
        shutil.rmtree(runs_root, ignore_errors=True)


def measure(seed: int, pairs: int, repeats: int, verbose: bool) -> dict:
    runs = [run_once(seed, pairs, verbose) for _ in range(repeats)]
    median = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    return {
        "target_pairs": pairs,
        "repeats": repeats,
        "pairs": runs[0]["pairs"],
        "rows": runs[0]["rows"],
        "run_root_bytes": runs[0]["bytes"],
        "median_wall_s": round(median("wall_s"), 3),
        "median_generate_s": round(median("generate_s"), 3),
        "median_peak_rss_mib": round(median("peak_rss_mib"), 1),
        "runs": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    results = []
    print(f"{'target pairs':>12} {'pairs':>10} {'rows':>12} {'runs':>4} {'wall s':>8} {'generate s':>10} {'peak RSS MiB':>13}")
    for pairs in args.sizes:
        repeats = args.large_repeats if pairs >= 1_000_000 else args.repeats
        row = measure(args.seed, pairs, repeats, args.verbose)
        results.append(row)
        print(f"{pairs:>12,} {row['pairs']:>10,} {row['rows']:>12,} {repeats:>4} {row['median_wall_s']:>8.2f} "
              f"{row['median_generate_s']:>10.2f} {row['median_peak_rss_mib']:>13.1f}", flush=True)
    report = {
        "benchmark": "bench_world",
        "seed": args.seed,
        "machine": machine(),
        "sizes": results,
    }
    write_results(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
