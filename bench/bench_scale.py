"""How the whole segment scales with the world: worlds of 3k, 100k and 1M pairs (10M with
`--sizes ... 10000000`), each generated and built by `dbt build --select segment3a`, next
to a floor measured in the same run.

Per size, each step runs as its own subprocess and is measured from outside: wall time,
CPU seconds (user + system of the process and the children it waited for) and the peak
RSS of the whole process tree (the sum over the process and its descendants, sampled
from /proc every 0.1 s; `ru_maxrss` of the largest single process is kept too).
1. world: `seg3a world generate --seed S --pairs N`.
2. build: `dbt build --select segment3a` on that world, in a fresh DuckDB file; per-state
   spans (first node start to last node end) from dbt's run_results.json, and the CPU
   seconds of the process tree while each node executed (the costliest 25 nodes). The Z(c)
   overlay comes from its store (computed once before the sizes, not measured).
3. floor: DuckDB alone doing the data work the segment cannot avoid: read the world's
   outlets, count them per merchant x country, expand every pair to one row per zone of
   its country's Z(c), write the rows as one zstd Parquet file in key order and SHA-256
   it. build / floor is the ratio the targets speak of.
4. the build's fixed costs, from its dbt.log (`phases_s`): start-up (process start to dbt's
   first log line: Python and dbt's imports), load (dbt's full parse of the project, as
   every build in a new target folder does it, and writing the manifest), the run (dbt's
   own elapsed time: the first connection, which is also given alone as it holds the
   plugin's set-up, then the nodes and hooks), and the finish (artefacts, exit); then
   `warm_parse`: `dbt parse` run again on the build's target folder, i.e. with the
   partial-parse state a user's second build finds (the build itself is not repeated).

A 10M-pair world takes minutes to generate: `--worlds-only --work DIR` generates and
measures the worlds and keeps them in DIR; a later `--reuse-worlds --work DIR` builds on
them (reporting the kept world measurements) after removing anything an earlier build
added to them. With `--keep` the build's DuckDB file stays too (`DIR/pairs-N/seg3a.duckdb`),
so a node's query can be profiled on the built tables (EXPLAIN ANALYZE).

DuckDB resource settings (SEG3A_DUCKDB_MEMORY_LIMIT, ...) are taken from the environment,
as by any build. The load average before each step is recorded: the numbers are only
comparable on a quiet machine. Results go to bench/results/bench_scale.json and a log-log
plot (time and peak RSS against pairs, with the floor) to bench/results/bench_scale.png.

    python bench/bench_scale.py --help
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_segment import STATES, state_of, state_spans  # noqa: E402  (sibling benchmark: one span definition)
from common import (  # noqa: E402  (what the benchmarks share)
    add_output_options, benchmark_parser, dbt_env, machine, work_directory, write_results,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "bench_scale.json"
PLOT = ROOT / "bench" / "results" / "bench_scale.png"
BIN = Path(sys.executable).parent
DEFAULT_SIZES = (3_000, 100_000, 1_000_000)
ZONE_MODELS = ("zone_universe", "zone_count_country")

FLOOR = r'''
import hashlib, sys, duckdb
run_root, zones, target = sys.argv[1:4]
con = duckdb.connect()
con.execute(f"""
copy (
    with outlets as (
        select merchant_id, legal_country_iso
        from read_parquet('{run_root}/data/layer1/1A/outlet_catalogue/*/*/*.parquet', hive_partitioning = false)
    ),
    pairs as (select merchant_id, legal_country_iso, count(*) as site_count from outlets group by all),
    zones as (select country_iso, tzid from read_parquet('{zones}') where kept)
    select p.merchant_id, p.legal_country_iso, z.tzid, p.site_count
    from pairs as p inner join zones as z on z.country_iso = p.legal_country_iso
    order by p.merchant_id, p.legal_country_iso, z.tzid
) to '{target}' (format parquet, compression zstd, row_group_size 122880)
""")
with open(target, "rb") as handle:
    print(hashlib.file_digest(handle, "sha256").hexdigest())
'''


def parse_args(argv=None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="target pairs per world (default 3000 100000 1000000; add 10000000 for 10M)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    parser.add_argument("--threads", type=int, default=None, help="dbt threads (default: the profile's)")
    add_output_options(parser, RESULTS)
    parser.add_argument("--worlds-only", action="store_true",
                        help="only generate (and measure) the worlds, kept under --work for --reuse-worlds")
    parser.add_argument("--reuse-worlds", action="store_true",
                        help="build on the worlds an earlier --worlds-only run left under --work (its world "
                             "measurements are reported; anything a build added to a world is removed first)")
    parser.add_argument("--plot", type=Path, default=PLOT, help="plot file (default bench/results/bench_scale.png)")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- measuring
def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_ticks(pid: int) -> list[int] | None:
    """utime, stime, cutime, cstime of `pid` (clock ticks; stat fields 14-17), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return [int(value) for value in fields[11:15]]


def tree_sample(pid: int, own_cpu: dict[int, float]) -> tuple[int, float]:
    """RSS (KiB) and CPU seconds of `pid` and all its live descendants, summed (each
    process's own CPU and that of the children it has waited for), in one walk of the
    tree. Also records in `own_cpu` the CPU seconds each process has used itself so far:
    a process its parent never waits for (the Spark JVM, which py4j leaves to be killed
    at exit) is missing from the parent's rusage; the sum over `own_cpu` counts it."""
    rss = ticks = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        rss += _rss_kib(current)
        process = _stat_ticks(current)
        if process is not None:
            ticks += sum(process)
            own_cpu[current] = max(own_cpu.get(current, 0.0), (process[0] + process[1]) / CLOCK_TICKS)
        stack += _children(current)
    return rss, ticks / CLOCK_TICKS


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run `command`; wall, CPU, peak tree RSS (sampled) and peak single-process RSS."""
    load = os.getloadavg()[0]
    started, started_epoch = time.perf_counter(), time.time()
    timeline: list[tuple[float, int, float]] = []  # (epoch seconds, tree RSS KiB, tree CPU seconds)
    with open(log, "wb") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = [0]
        cpu_seen: dict[int, float] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss, cpu = tree_sample(child.pid, cpu_seen)
                peak[0] = max(peak[0], rss)
                timeline.append((time.time(), rss, cpu))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed; see {log}:\n{log.read_text(errors='replace')[-3000:]}")
    waited_cpu = usage.ru_utime + usage.ru_stime
    # Processes sampled (up to 0.1 s before they ended) or waited for, whichever saw more.
    tree_cpu = max(waited_cpu, sum(cpu_seen.values()))
    return {"wall_s": round(wall, 2), "cpu_s": round(waited_cpu, 2), "tree_cpu_s": round(tree_cpu, 2),
            "peak_tree_rss_mib": round(peak[0] / 1024, 1), "max_process_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "load_average_before": round(load, 2), "started_epoch": started_epoch, "timeline": timeline}


LOG_LINE = re.compile(r"(\d\d):(\d\d):(\d\d\.\d+) \[[a-z ]+\] \[[^]]*\]: (.*)")


def _log_epoch(hours: str, minutes: str, seconds: str, after_epoch: float) -> float:
    """The epoch of a dbt.log time of day (dbt writes local time) at or after `after_epoch`
    (an hour of slack for clocks; a build that runs past midnight moves to the next day)."""
    day = datetime.fromtimestamp(after_epoch).replace(hour=0, minute=0, second=0, microsecond=0)
    epoch = (day + timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))).timestamp()
    return epoch + 86400 if epoch < after_epoch - 3600 else epoch


def dbt_phases(log: Path, step: dict, run_results: dict) -> dict[str, float]:
    """Where a dbt command's wall time went besides its nodes, from the last invocation in
    its dbt.log: start-up (process start to dbt's first line), load (parse and manifest, to
    "Found ..."), the run (dbt's elapsed time, nodes and hooks) with the first connection
    in it (opening it to its first statement's status), and the finish (dbt's end to the
    process's). Start-up, load, run and finish add up to the wall time (but for the
    moments between them)."""
    lines = log.read_text(errors="replace").splitlines()
    begin = max(i for i, line in enumerate(lines) if "Running with dbt=" in line)
    events = []  # (epoch, message)
    for line in lines[begin:]:
        found = LOG_LINE.search(line)
        if found:
            events.append((_log_epoch(*found.groups()[:3], step["started_epoch"]), found.group(4)))

    def first(text: str, after: float = 0.0) -> float:
        return next(epoch for epoch, message in events if text in message and epoch >= after)

    started = events[0][0]
    opened = first("Opening a new connection")
    return {
        "startup_s": round(started - step["started_epoch"], 2),
        "load_s": round(first("Found ") - started, 2),
        "first_connection_s": round(first("SQL status", opened) - opened, 2),
        "run_s": round(run_results["elapsed_time"], 2),
        "finish_s": round(step["started_epoch"] + step["wall_s"] - first("Command end result"), 2),
    }


def warm_parse(env: dict[str, str], size_dir: Path) -> dict:
    """`dbt parse` on the build's target folder, measured: the load a user's second build
    pays, with dbt's partial-parse state from the first (dbt's own timing of it in
    perf_info.json)."""
    parse = run_measured([str(BIN / "dbt"), "parse", "--no-use-colors"], env,
                         size_dir / "parse.log")
    perf = json.loads((size_dir / "dbt-target" / "perf_info.json").read_bytes())
    parse.pop("timeline")
    return {**parse, "dbt_load_all_s": round(perf["load_all_elapsed"], 2),
            "partial_parse": perf["is_partial_parse_enabled"]}


def state_peak_rss(run_results: dict, timeline: list[tuple[float, int, float]]) -> dict[str, float]:
    """Peak tree RSS (MiB) sampled while each state's nodes ran (first start to last end;
    S1/S2 and the S6 tests overlap other states when dbt runs two threads)."""
    from datetime import datetime

    windows: dict[str, list[float]] = {}
    for result in run_results["results"]:
        parts = result["unique_id"].split(".")
        state = state_of(parts[2] if parts[0] == "test" else parts[-1])
        for timing in result.get("timing", []):
            if state and timing.get("started_at"):
                windows.setdefault(state, []).extend(
                    datetime.fromisoformat(timing[k].replace("Z", "+00:00")).timestamp()
                    for k in ("started_at", "completed_at"))
    peaks = {}
    for state, moments in sorted(windows.items()):
        inside = [rss for at, rss, _cpu in timeline if min(moments) <= at <= max(moments)]
        peaks[state] = round(max(inside, default=0) / 1024, 1)
    return peaks


def node_cpu(run_results: dict, timeline: list[tuple[float, int, float]], top: int = 25) -> list[dict]:
    """The `top` nodes by CPU seconds of the process tree while they ran (the sampled tree
    CPU at the end of the node's execution minus at its start; nodes that overlap, with
    two dbt threads, share the CPU of their overlap), with their wall seconds."""
    import bisect
    from datetime import datetime

    moments = [at for at, _rss, _cpu in timeline]

    def cpu_at(epoch: float) -> float:
        index = min(max(bisect.bisect_left(moments, epoch), 0), len(timeline) - 1)
        return timeline[index][2]

    nodes = []
    for result in run_results["results"]:
        execute = next((t for t in result.get("timing", []) if t.get("name") == "execute" and t.get("started_at")), None)
        if execute is None:
            continue
        start, end = (datetime.fromisoformat(execute[k].replace("Z", "+00:00")).timestamp()
                      for k in ("started_at", "completed_at"))
        nodes.append({"node": result["unique_id"].split(".", 2)[-1], "wall_s": round(end - start, 2),
                      "cpu_s": round(cpu_at(end) - cpu_at(start), 2)})
    return sorted(nodes, key=lambda node: -node["cpu_s"])[:top]


def zone_spans(run_results: dict) -> float:
    """Seconds the Z(c) models took (their own timings, summed)."""
    total = 0.0
    for result in run_results["results"]:
        name = result["unique_id"].split(".")[-1]
        if result["unique_id"].startswith("model.") and name.startswith(ZONE_MODELS):
            total += result.get("execution_time") or 0.0
    return round(total, 2)


# --------------------------------------------------------------------------- one size
WORLD_RECORD = "world.json"  # the world step's measurement and file list, beside a kept world


def generate_world(pairs: int, args, size_dir: Path) -> dict:
    """The world step, measured; with --reuse-worlds the kept world of an earlier
    --worlds-only run instead (a 10M-pair world takes minutes to generate), stripped of
    anything a build added to it."""
    runs, record = size_dir / "runs", size_dir / WORLD_RECORD
    if args.reuse_worlds and record.exists():
        kept = json.loads(record.read_text())
        _remove_files_not_in(runs, set(kept.pop("files")))
        return kept
    shutil.rmtree(size_dir, ignore_errors=True)
    size_dir.mkdir(parents=True)
    world = run_measured([str(BIN / "seg3a"), "world", "generate", "--seed", str(args.seed), "--pairs", str(pairs),
                          "--runs-root", str(runs), "--quiet"], dict(os.environ), size_dir / "world.log")
    files = sorted(p.relative_to(runs).as_posix() for p in runs.rglob("*") if p.is_file())
    record.write_text(json.dumps({**world, "files": files}))
    return world


def _remove_files_not_in(runs: Path, files: set[str]) -> None:
    for path in sorted(runs.rglob("*"), reverse=True):  # children before their folders
        if path.is_file() and path.relative_to(runs).as_posix() not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def measure_size(pairs: int, args, work: Path) -> dict:
    from seg3a.zones.cache import store_dir_for_run

    size_dir = work / f"pairs-{pairs}"
    world = generate_world(pairs, args, size_dir)
    if args.worlds_only:
        return {"target_pairs": pairs, "world": world}
    runs = size_dir / "runs"
    run_root = next(p for p in runs.iterdir() if p.is_dir())
    summary = json.loads(next((run_root / "data/layer1/1A/validation").rglob("s9_summary.json")).read_bytes())

    command = [str(BIN / "dbt"), "build", "--select", "segment3a", "--no-use-colors"]
    if args.threads:
        command += ["--threads", str(args.threads)]
    database = size_dir / "seg3a.duckdb"
    database.unlink(missing_ok=True)
    # A first build: no dbt target folder (partial-parse state) left by an earlier build of
    # a kept world (--keep, --reuse-worlds), which would turn the full parse into a partial one.
    shutil.rmtree(size_dir / "dbt-target", ignore_errors=True)
    env = dbt_env(runs, database, size_dir)
    build = run_measured(command, env, size_dir / "build.log")
    results = json.loads((size_dir / "dbt-target" / "run_results.json").read_bytes())
    build["phases_s"] = dbt_phases(size_dir / "dbt-logs" / "dbt.log", build, results)
    build["warm_parse"] = warm_parse(env, size_dir)
    build["state_span_s"] = state_spans(results)
    build["state_peak_rss_mib"] = state_peak_rss(results, build["timeline"])
    build["top_nodes_cpu"] = node_cpu(results, build["timeline"])
    build["zone_universe_models_s"] = zone_spans(results)
    if not args.keep:  # kept, a node's query can be profiled again on the built tables
        database.unlink(missing_ok=True)

    s1 = json.loads(next(run_root.glob("reports/layer1/3A/state=S1/**/run_report.json")).read_bytes())
    with duckdb.connect() as con:
        zone_rows = con.execute(f"select count(*) from read_parquet('{run_root}/data/layer1/3A/zone_alloc/*/*/*.parquet',"
                                " hive_partitioning = false)").fetchone()[0]
    stored = store_dir_for_run(run_root) / "zone_universe_candidates.parquet"
    floor = run_measured([sys.executable, "-c", FLOOR, str(run_root), str(stored), str(size_dir / "floor.parquet")],
                         dict(os.environ), size_dir / "floor.log")
    (size_dir / "floor.parquet").unlink(missing_ok=True)
    if not (args.keep or args.reuse_worlds):
        shutil.rmtree(size_dir, ignore_errors=True)
    for step in (world, build, floor):
        step["timeline_mib"] = [[round(at - step["started_epoch"], 1), round(rss / 1024)]
                                for at, rss, _cpu in step.pop("timeline")[::10]]
    return {
        "target_pairs": pairs, "pairs": s1["counts"]["pairs_total"], "pairs_escalated": s1["counts"]["pairs_escalated"],
        "outlets": summary["rows_total"], "zone_alloc_rows": zone_rows,
        "world": world, "build": build, "floor": floor,
        "build_over_floor": round(build["wall_s"] / floor["wall_s"], 1) if floor["wall_s"] else None,
    }


def ensure_zone_store(args, work: Path) -> None:
    """Z(c) computed once before the sizes (a small world), so no size pays for it."""
    runs = work / "zc-runs"
    subprocess.run([str(BIN / "seg3a"), "world", "generate", "--seed", str(args.seed), "--pairs", "300",
                    "--runs-root", str(runs), "--quiet"], cwd=ROOT, check=True, capture_output=True)
    done = subprocess.run([str(BIN / "dbt"), "build", "--select", "+zone_universe_candidates", "--no-use-colors"],
                          cwd=ROOT, env=dbt_env(runs, work / "zc.duckdb", work), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Z(c) build failed:\n{done.stdout[-3000:]}")
    shutil.rmtree(runs, ignore_errors=True)


# --------------------------------------------------------------------------- output
def print_row(row: dict) -> None:
    build, floor = row["build"], row["floor"]
    spans = " ".join(f"{build['state_span_s'].get(s, 0.0):6.1f}" for s in STATES)
    print(f"{row['pairs']:>9,} {row['outlets']:>11,} {row['zone_alloc_rows']:>11,} {row['world']['wall_s']:7.1f} "
          f"{build['wall_s']:7.1f} {build['cpu_s']:7.1f} {build['peak_tree_rss_mib']:8.0f} {floor['wall_s']:6.1f} "
          f"{floor['peak_tree_rss_mib']:7.0f} {row['build_over_floor']:6.1f}  {spans}  "
          f"(load {build['load_average_before']:.1f})", flush=True)
    print(f"{'':>9} peak RSS MiB per state: "
          + ", ".join(f"{k} {v:.0f}" for k, v in build["state_peak_rss_mib"].items()), flush=True)
    print(f"{'':>9} wall s outside the nodes: " + ", ".join(f"{k} {v:.2f}" for k, v in build["phases_s"].items())
          + f"; a second build's load: dbt parse with partial-parse state {build['warm_parse']['wall_s']:.2f} s wall, "
          f"{build['warm_parse']['cpu_s']:.2f} CPU s", flush=True)
    print(f"{'':>9} CPU s (wall s) of the costliest nodes: "
          + ", ".join(f"{n['node']} {n['cpu_s']:.1f} ({n['wall_s']:.1f})" for n in build["top_nodes_cpu"][:10]),
          flush=True)


def plot(sizes: list[dict], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [row["pairs"] for row in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (("build", "dbt build (S0..S7)", "o-"), ("floor", "floor (DuckDB only)", "s--"),
                              ("world", "world generation", "^:")):
        left.plot(pairs, [row[key]["wall_s"] for row in sizes], style, label=label)
        right.plot(pairs, [row[key]["peak_tree_rss_mib"] for row in sizes], style, label=label)
    for axis, title, unit in ((left, "wall time", "seconds"), (right, "peak RSS (process tree)", "MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("merchant x country pairs")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    if (args.worlds_only or args.reuse_worlds) and args.work is None:
        raise SystemExit("--worlds-only and --reuse-worlds need --work (where the worlds are kept)")
    if args.worlds_only:
        args.work.mkdir(parents=True, exist_ok=True)
        for pairs in args.sizes:
            world = measure_size(pairs, args, args.work)["world"]
            print(f"{pairs:>9,} pairs: world {world['wall_s']:.1f} s wall, {world['cpu_s']:.1f} CPU s, "
                  f"peak RSS {world['peak_tree_rss_mib']:.0f} MiB, kept in {args.work / f'pairs-{pairs}'}", flush=True)
        return 0
    sizes = []
    with work_directory(args, "bench-scale-") as work:
        ensure_zone_store(args, work)
        print(f"{'pairs':>9} {'outlets':>11} {'zone rows':>11} {'world s':>7} {'build s':>7} {'CPU s':>7} "
              f"{'RSS MiB':>8} {'floor s':>6} {'fl. MiB':>7} {'ratio':>6}  "
              + " ".join(f"{s:>6}" for s in STATES))
        for pairs in args.sizes:
            row = measure_size(pairs, args, work)
            sizes.append(row)
            print_row(row)
    write_results(args.json, {
        "benchmark": "bench_scale", "seed": args.seed, "threads": args.threads,
        "duckdb_settings": {k: v for k, v in os.environ.items() if k.startswith("SEG3A_DUCKDB_")},
        "machine": machine(), "sizes": sizes,
    })
    plot(sizes, args.plot)
    print(f"plot written to {args.plot}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
