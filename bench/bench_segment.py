"""Wall time, per-state breakdown and peak memory of the whole segment, S0 -> S7, on the
seedpack (seeds 42, 7, 101, 202) at the default world size (about 2,600 pairs each).

What is measured: for every seed, one `dbt build --select segment3a` (Z(c) excluded, see
below) on a freshly generated world, in a fresh copy of the Z(c) DuckDB file. Seeds are
spread over `--parallel` lanes (default 2, one per core; dbt itself runs --threads models
at once); a lane builds its seeds one after the other and, after one unmeasured warm-up
build, every build uses dbt's partial parsing. The total is the wall time from the first
measured dbt start to the last dbt end. Per seed: process wall time, dbt's own elapsed
time, peak RSS of the dbt process (`os.wait4`), each state's span from dbt's
run_results.json (first node start to last node end) and each state's `wall_ms` from its
run report.

What is not measured ("warm reference data"): the reference data, the Z(c) models (they
depend only on the reference data and their own SQL; built once per digest of those
inputs into build/zone-universe-cache/ and copied into every measured DuckDB file) and
world generation. Worlds use the committed 3A policies, which are built over that Z(c).

    python bench/bench_segment.py --help

Results are printed as a table and written as JSON to bench/results/bench_segment.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "bench_segment.json"
CACHE_DIR = ROOT / "build" / "zone-universe-cache"
RULE_FILE = ROOT / "contracts" / "zone_universe_rule.yaml"
DBT = Path(sys.executable).with_name("dbt")
SEEDPACK = (42, 7, 101, 202)
TARGET_S = 17.0
STATES = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7")
# Model-name prefixes of each state (tests belong to the state of their model).
STATE_PREFIXES = {
    "S0": ("s0_gate_receipt_3A", "sealed_inputs_3A"), "S1": ("int_s1__", "s1_"), "S2": ("int_s2__", "s2_"),
    "S3": ("int_s3__", "s3_", "rng_"), "S4": ("int_s4__", "s4_"),
    "S5": ("int_s5__", "zone_alloc", "s5_"), "S6": ("int_s6__", "s6_"), "S7": ("validation_bundle_3A", "s7_"),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDPACK),
                        help="world seeds (default 42 7 101 202)")
    parser.add_argument("--pairs", default="default", help="pairs per world, or `default` (about 2,600)")
    parser.add_argument("--parallel", type=int, default=2, help="seeds built at the same time (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="dbt threads per build (default: the profile's)")
    parser.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True,
                        help="one unmeasured build per lane first, so measured builds use dbt's partial parsing "
                             "(default on)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, default=RESULTS,
                        help="results file (default bench/results/bench_segment.json)")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- dbt
def dbt_vars() -> str:
    return json.dumps(yaml.safe_load(RULE_FILE.read_bytes()), sort_keys=True)


def run_dbt(args: list[str], runs_root: Path, database: Path, work: Path, threads: int | None) -> dict:
    """One dbt subprocess: wall and CPU seconds, peak RSS (MiB) and run_results."""
    env = dict(os.environ, DBT_PROFILES_DIR=str(ROOT), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               SEG3A_RUNS_ROOT=str(runs_root), SEG3A_DUCKDB=str(database), SEG3A_RUN_ID="",
               DBT_LOG_PATH=str(work / "dbt-logs"), DBT_TARGET_PATH=str(work / "dbt-target"))
    command = [str(DBT), *args, "--vars", dbt_vars(), "--no-use-colors"]
    if threads:
        command += ["--threads", str(threads)]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(child.pid, 0)
    ended = time.perf_counter()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{output[-4000:]}")
    results = json.loads((work / "dbt-target" / "run_results.json").read_bytes())
    return {"started": started, "ended": ended, "wall_s": ended - started,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024.0,
            "run_results": results}


def state_of(node_name: str) -> str | None:
    return next((s for s, prefixes in STATE_PREFIXES.items() if node_name.startswith(prefixes)), None)


def state_spans(run_results: dict) -> dict[str, float]:
    """Seconds from the first start to the last end of each state's nodes."""
    moments: dict[str, list[datetime]] = {}
    for result in run_results["results"]:
        parts = result["unique_id"].split(".")
        state = state_of(parts[2] if parts[0] == "test" else parts[-1])
        timing = [t for t in result.get("timing", []) if t.get("started_at")]
        if state is None or not timing:
            continue
        moments.setdefault(state, []).extend(
            datetime.fromisoformat(t[key].replace("Z", "+00:00"))
            for t in timing for key in ("started_at", "completed_at"))
    return {state: round((max(m) - min(m)).total_seconds(), 3) for state, m in sorted(moments.items())}


def report_walls(run_root: Path) -> dict[str, int]:
    """wall_ms of each state's run report (S0 from its segment_state_runs row)."""
    walls = {}
    for path in run_root.glob("reports/layer1/3A/state=S*/**/run_report.json"):
        report = json.loads(path.read_bytes())
        walls[report["state"]] = (report.get("durations") or {}).get("wall_ms")
    for path in run_root.glob("reports/layer1/segment_state_runs/segment=3A/*/segment_state_runs.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row.get("state") == "S0":
                walls["S0"] = row.get("elapsed_ms")
    return dict(sorted(walls.items()))


# --------------------------------------------------------------------------- warm inputs
def zone_universe_key() -> str:
    from seg3a.core.paths import default_external_root

    external = default_external_root()
    inputs = [
        external / "reference/spatial/world_countries/2024/world_countries.parquet",
        external / "reference/spatial/tz_world/2025a/tz_world.parquet",
        RULE_FILE,
        *sorted((ROOT / "models/segment3a/zone_universe").glob("*.sql")),
        *sorted((ROOT / "models/segment3a/staging").glob("stg_ref__*.sql")),
    ]
    hasher = hashlib.sha256()
    for path in inputs:
        hasher.update(path.name.encode())
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()[:16]


def zone_universe(work: Path, threads: int | None) -> Path:
    """The cached DuckDB file holding Z(c), built now if absent."""
    from seg3a.core.paths import default_external_root
    from seg3a.world.generate import generate_world

    cached = CACHE_DIR / f"zone_universe-{zone_universe_key()}.duckdb"
    if cached.is_file():
        return cached
    print("building Z(c) once (not measured) ...", flush=True)
    runs = work / "zc-runs"
    generate_world(42, 300, runs, default_external_root(), progress=lambda _line: None)
    database = work / "zc.duckdb"
    run_dbt(["build", "--select", "+zone_count_country"], runs, database, work / "zc", threads)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, cached.with_suffix(".tmp"))
    cached.with_suffix(".tmp").replace(cached)
    return cached


# --------------------------------------------------------------------------- measuring
# A lane is one worker: its own runs root, DuckDB path and dbt target directory, reused
# for each of its seeds. The dbt profile (which names both paths) therefore stays the
# same within a lane, so every build after the lane's first uses dbt's partial parsing,
# as a developer's repeated builds do. Only the seed being built is in the lane's runs
# root, so the plugin selects it without SEG3A_RUN_ID (which would change the profile).
def generate(seed: int, pairs: int | None, external: Path, staging: Path) -> Path:
    from seg3a.world.generate import generate_world

    return generate_world(seed, pairs, staging / f"seed-{seed}", external, progress=lambda _line: None)


def build_in_lane(lane: Path, run_root: Path, seed: int, zone_db: Path, threads: int | None, warm: bool) -> dict:
    runs_root, done = lane / "runs", lane / "done"
    runs_root.mkdir(parents=True, exist_ok=True)
    done.mkdir(exist_ok=True)
    for previous in runs_root.iterdir():
        previous.rename(done / previous.name)
    placed = runs_root / run_root.name
    run_root.rename(placed)
    shutil.copyfile(zone_db, lane / "seg3a.duckdb")
    measured = run_dbt(["build", "--select", "segment3a", "--exclude", "tag:zone_universe"],
                       runs_root, lane / "seg3a.duckdb", lane, threads)
    s1 = json.loads(next(placed.glob("reports/layer1/3A/state=S1/**/run_report.json")).read_bytes())
    flag = next(placed.glob("data/layer1/3A/validation/*/_passed.flag"), None)
    return {
        "seed": seed,
        "pairs": s1["counts"].get("pairs_total"),
        "partial_parse": warm,
        "started": measured["started"],
        "ended": measured["ended"],
        "wall_s": round(measured["wall_s"], 3),
        "cpu_s": round(measured["cpu_s"], 3),
        "peak_rss_mib": round(measured["peak_rss_mib"], 1),
        "dbt_elapsed_s": round(measured["run_results"]["elapsed_time"], 3),
        "state_span_s": state_spans(measured["run_results"]),
        "report_wall_ms": report_walls(placed),
        "sealed": flag is not None,
    }


def run_lane(lane: Path, worlds: list[tuple[int, Path]], zone_db: Path, threads: int | None) -> list[dict]:
    return [build_in_lane(lane, run_root, seed, zone_db, threads, warm=i > 0)
            for i, (seed, run_root) in enumerate(worlds)]


def warm_up(lane: Path, external: Path, zone_db: Path, threads: int | None) -> None:
    """One unmeasured build per lane (seed 1, a small world): fills dbt's parse cache."""
    world = generate(1, 300, external, lane / "warm-up")
    build_in_lane(lane, world, 1, zone_db, threads, warm=False)


def print_table(rows: list[dict], total_s: float) -> None:
    head = (f"{'seed':>5} {'pairs':>6} {'wall s':>7} {'dbt s':>6} {'CPU s':>6} {'RSS MiB':>8}  "
            + " ".join(f"{s:>5}" for s in STATES))
    print(head + "   (state columns: seconds from first to last node of the state)")
    for row in rows:
        spans = " ".join(f"{row['state_span_s'].get(s, 0.0):5.2f}" for s in STATES)
        print(f"{row['seed']:>5} {row['pairs'] or 0:>6} {row['wall_s']:7.2f} {row['dbt_elapsed_s']:6.2f} "
              f"{row['cpu_s']:6.2f} "
              f"{row['peak_rss_mib']:8.1f}  {spans}"
              f"{'' if row['sealed'] else '  NOT SEALED'}")
    verdict = "within" if total_s <= TARGET_S else "over"
    cpu = sum(row["cpu_s"] for row in rows)
    print(f"total wall time for {len(rows)} seeds: {total_s:.2f} s ({verdict} the {TARGET_S:.0f} s target); "
          f"CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.2f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    pairs = None if args.pairs == "default" else int(args.pairs)
    work = Path(tempfile.mkdtemp(prefix="bench-segment-"))
    try:
        from seg3a.core.paths import default_external_root

        zone_db = zone_universe(work, args.threads)
        external = default_external_root()  # the committed policies, built over this Z(c)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        worlds = [(seed, generate(seed, pairs, external, work / "worlds")) for seed in args.seeds]
        generate_s = time.perf_counter() - started
        lanes = [work / f"lane-{k}" for k in range(max(1, args.parallel))]
        if args.warm:
            for lane in lanes:
                warm_up(lane, external, zone_db, args.threads)
        assigned = [worlds[k::len(lanes)] for k in range(len(lanes))]
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [pool.submit(run_lane, lane, todo, zone_db, args.threads) for lane, todo in zip(lanes, assigned)]
            rows = sorted((row for future in futures for row in future.result()),
                          key=lambda r: args.seeds.index(r["seed"]))
        total = max(r["ended"] for r in rows) - min(r["started"] for r in rows)
        load_after = os.getloadavg()[0]
        print_table(rows, total)
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "settings": {"seeds": args.seeds, "pairs": args.pairs, "parallel": len(lanes), "warm": args.warm,
                         "threads": args.threads or "profile"},
            "world_generation_s": round(generate_s, 3),
            "total_wall_s": round(total, 3),
            "total_cpu_s": round(sum(r["cpu_s"] for r in rows), 3),
            "load_average_1min": {"before": round(load_before, 2), "after": round(load_after, 2)},
            "target_s": TARGET_S,
            "peak_rss_mib_max": max(r["peak_rss_mib"] for r in rows),
            "seeds": [{k: v for k, v in r.items() if k not in ("started", "ended")} for r in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(f"results written to {args.json}")
        return 0 if all(r["sealed"] for r in rows) else 1
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
