"""Wall time and peak memory of S1 + S2 (`dbt build` of S0, staging, S1 and S2) at three
world sizes, with the Z(c) build measured separately.

Z(c) (the zone-universe models) depends only on the reference data, the rule and its own
code: its overlay is stored once per digest of those inputs under
build/zone-universe-cache/<key>/ (seg3a.zones.cache), the store every build uses. The
Z(c) models are built once into a DuckDB file (reusing the store, or computing it with
--rebuild-zone-universe) and every measured S1+S2 run starts from a copy of that file. Worlds are generated
against a private external root holding the project's reference data and committed
policies. Each measured run is a fresh `dbt build` subprocess on a run root cleared of 3A
outputs; its peak RSS comes from `os.wait4`, the per-state spans (first model start to
last model end, S1 and S2 run concurrently on two threads) from dbt's run_results.json.
Reported per size: medians over --repeats runs. Results are printed as a table and
written as JSON to bench/results/bench_s1_s2.json.

    python bench/bench_s1_s2.py --help
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
from datetime import datetime
from pathlib import Path

import yaml
from common import ROOT, dbt_env, machine, write_results

RESULTS = ROOT / "bench" / "results" / "bench_s1_s2.json"
RULE_FILE = ROOT / "contracts" / "zone_universe_rule.yaml"
DBT = Path(sys.executable).with_name("dbt")
DEFAULT_SIZES = (3_000, 100_000, 1_000_000)
STATE_SELECT = ["+s1_run_report_3A", "+s2_run_report_3A"]
SPANS = {"S0": ("s0_gate_receipt_3A", "sealed_inputs_3A"), "S1": ("int_s1__", "s1_"), "S2": ("int_s2__", "s2_"),
         "staging": ("stg_",), "Z(c)": ("zone_",)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="target pairs per world (default 3000 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is reported (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="world seed (default 42)")
    parser.add_argument("--threads", type=int, default=None, help="dbt threads (default: the profile's)")
    parser.add_argument("--rebuild-zone-universe", action="store_true",
                        help="measure the Z(c) build even when a cached one exists")
    parser.add_argument("--project-dir", type=Path, default=ROOT, help="dbt project (default: this checkout)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- dbt
def dbt_vars() -> str:
    return json.dumps(yaml.safe_load(RULE_FILE.read_bytes()), sort_keys=True)


def run_dbt(args: list[str], runs_root: Path, database: Path, work: Path, project_dir: Path,
            threads: int | None) -> dict:
    """One dbt subprocess: exit status, wall seconds, peak RSS (MiB), run_results."""
    command = [str(DBT), *args, "--project-dir", str(project_dir), "--vars", dbt_vars(), "--no-use-colors"]
    if threads:
        command += ["--threads", str(threads)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=dbt_env(runs_root, database, work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{output[-4000:]}")
    results = json.loads((work / "dbt-target" / "run_results.json").read_bytes())
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0, "run_results": results}


def state_spans(run_results: dict) -> dict[str, float]:
    """Seconds from the first model start to the last model end, per state."""
    spans: dict[str, list[datetime]] = {}
    for result in run_results["results"]:
        name = result["unique_id"].split(".")[-1]
        state = next((s for s, prefixes in SPANS.items() if name.startswith(prefixes)), None)
        timing = [t for t in result.get("timing", []) if t.get("started_at")]
        if state is None or not timing:
            continue
        moments = [datetime.fromisoformat(t[k].replace("Z", "+00:00")) for t in timing
                   for k in ("started_at", "completed_at")]
        spans.setdefault(state, []).extend(moments)
    return {state: (max(m) - min(m)).total_seconds() for state, m in sorted(spans.items())}


# --------------------------------------------------------------------------- Z(c) and policies
def zone_universe(args, work: Path) -> tuple[Path, dict]:
    """A DuckDB file holding the Z(c) tables, and how its overlay was obtained (taken from
    the store, or computed now)."""
    from seg3a.core.paths import default_external_root
    from seg3a.world import generate_world
    from seg3a.zones.cache import REBUILD_ENV, rebuild_forced, store_dir_for_run

    runs = work / "zc-runs"
    run_root = generate_world(args.seed, 300, runs, default_external_root(), progress=lambda _line: None)
    store = store_dir_for_run(run_root, args.project_dir)
    computed = args.rebuild_zone_universe or rebuild_forced() or not any(store.glob("*.parquet"))
    database = work / "zc.duckdb"
    if args.rebuild_zone_universe:
        os.environ[REBUILD_ENV] = "1"
    try:
        measured = run_dbt(["build", "--select", "+zone_count_country"], runs, database, work, args.project_dir,
                           args.threads)
    finally:
        if args.rebuild_zone_universe:  # the measured S1+S2 builds take Z(c) from this file
            os.environ.pop(REBUILD_ENV, None)
    timing = {"wall_s": round(measured["wall_s"], 2), "peak_rss_mib": round(measured["peak_rss_mib"], 1),
              "model_spans_s": {k: round(v, 2) for k, v in state_spans(measured["run_results"]).items()}}
    return database, {"key": store.name, "source": "computed now" if computed else "store", **timing}


def external_root(work: Path) -> Path:
    """Reference data linked and the committed policies copied (built over Z(c))."""
    from seg3a.core.paths import default_external_root

    root = work / "external"
    root.mkdir()
    (root / "reference").symlink_to(default_external_root() / "reference", target_is_directory=True)
    shutil.copytree(default_external_root() / "config", root / "config")
    return root


# --------------------------------------------------------------------------- one size
def clear_3a_outputs(run_root: Path) -> None:
    shutil.rmtree(run_root / "data" / "layer1" / "3A", ignore_errors=True)
    shutil.rmtree(run_root / "reports", ignore_errors=True)


def measure(args, pairs: int, zone_db: Path, external: Path, work: Path) -> dict:
    from seg3a.world import generate_world

    runs_root = work / f"runs-{pairs}"
    started = time.perf_counter()
    run_root = generate_world(args.seed, pairs, runs_root, external, progress=lambda _line: None)
    generate_s = time.perf_counter() - started
    database = work / f"bench-{pairs}.duckdb"
    runs = []
    for _ in range(args.repeats):
        clear_3a_outputs(run_root)
        shutil.copyfile(zone_db, database)
        measured = run_dbt(["build", "--select", *STATE_SELECT, "--exclude", "tag:zone_universe"],
                           runs_root, database, work, args.project_dir, args.threads)
        runs.append({"wall_s": measured["wall_s"], "peak_rss_mib": measured["peak_rss_mib"],
                     **{f"{k}_span_s": v for k, v in state_spans(measured["run_results"]).items()}})
    s1 = json.loads(next((run_root / "reports").rglob("state=S1/**/run_report.json")).read_bytes())
    summary = json.loads(next((run_root / "data/layer1/1A/validation").rglob("s9_summary.json")).read_bytes())
    outlets = summary["rows_total"]
    median = lambda key: round(statistics.median(r[key] for r in runs if key in r), 3)  # noqa: E731
    return {
        "target_pairs": pairs,
        "pairs": s1["counts"]["pairs_total"],
        "outlets": outlets,
        "pairs_escalated": s1["counts"]["pairs_escalated"],
        "world_generate_s": round(generate_s, 2),
        "repeats": args.repeats,
        "median_wall_s": median("wall_s"),
        "median_peak_rss_mib": round(statistics.median(r["peak_rss_mib"] for r in runs), 1),
        "median_s0_span_s": median("S0_span_s"),
        "median_s1_span_s": median("S1_span_s"),
        "median_s2_span_s": median("S2_span_s"),
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-s1s2-"))
    try:
        zone_db, zone_timing = zone_universe(args, work)
        print(f"Z(c): {zone_timing['source']} (key {zone_timing['key']}); "
              f"build wall {zone_timing.get('wall_s', '?')} s, peak RSS {zone_timing.get('peak_rss_mib', '?')} MiB")
        external = external_root(work)
        print(f"{'target pairs':>12} {'pairs':>10} {'outlets':>12} {'runs':>4} {'dbt wall s':>10} "
              f"{'S0 s':>6} {'S1 s':>6} {'S2 s':>6} {'peak RSS MiB':>13}")
        sizes = []
        for pairs in args.sizes:
            row = measure(args, pairs, zone_db, external, work)
            sizes.append(row)
            print(f"{pairs:>12,} {row['pairs']:>10,} {row['outlets']:>12,} {row['repeats']:>4} "
                  f"{row['median_wall_s']:>10.2f} {row['median_s0_span_s']:>6.2f} {row['median_s1_span_s']:>6.2f} "
                  f"{row['median_s2_span_s']:>6.2f} {row['median_peak_rss_mib']:>13.1f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "benchmark": "bench_s1_s2",
        "seed": args.seed,
        "threads": args.threads,
        "zone_universe": zone_timing,
        "machine": machine(),
        "sizes": sizes,
    }
    write_results(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
