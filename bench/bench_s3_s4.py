"""S3 + S4 wall time and peak memory with the real dbt on generated worlds.

For each size N (merchant x country pairs): generate a world with
`seg3a world generate --pairs N`, build S0..S2 once (untimed), save that state, then
--repeats times restore it and time `dbt build --select tag:s3 tag:s4` (threads as
given). Reported per size, as medians over the repeats:

  * wall_s     the whole dbt invocation (process start to exit, parsing included);
  * models_s   S3 + S4 model execution, from dbt's run_results.json (first start to
               last completion of an s3/s4 node);
  * cpu_s      user + system CPU time of the dbt process: on a machine shared with
               other work the wall times stretch, CPU time much less so; on an idle
               two-core machine the wall time lies between cpu_s / 2 and cpu_s;
  * rss_mib    peak resident set size of the dbt process (the UDFs run in-process);
  * load       the 1-minute load average when the run ended (0-2 on an idle 2-core box);

plus the escalated pairs and share rows of the world. Acceptance at 1M pairs on two
cores: models within 60 s, peak RSS within 4 GiB.

    python bench/bench_s3_s4.py --pairs 3000 100000 1000000 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_SECONDS = 60.0
TARGET_RSS_MIB = 4096.0
# Runs a command and prints the peak RSS (KiB) of the child it waited for.
RSS_WRAPPER = (
    "import resource, subprocess, sys;"
    "code = subprocess.run(sys.argv[1:]).returncode;"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN);"
    "print('PEAK_RSS_KIB', usage.ru_maxrss, 'CPU_S', usage.ru_utime + usage.ru_stime, file=sys.stderr);"
    "sys.exit(code)"
)


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    models_s: float
    cpu_s: float
    rss_mib: float
    load: float


@dataclass(frozen=True)
class SizeResult:
    pairs: int
    escalated_pairs: int
    share_rows: int
    threads: int
    repeats: int
    wall_s: float
    models_s: float
    cpu_s: float
    rss_mib: float
    load: float
    runs: list[Measurement]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[3000, 100_000, 1_000_000],
                        help="world sizes in merchant x country pairs (default 3000 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size; medians reported (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="dbt threads (default 2)")
    parser.add_argument("--seed", type=int, default=42, help="world seed (default 42)")
    parser.add_argument("--work", type=Path, default=PROJECT / "build" / "bench-s3-s4",
                        help="scratch directory for worlds and DuckDB files")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    return parser.parse_args(argv)


class Workspace:
    """One world of one size: its run root, DuckDB file and the saved S0..S2 state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"
        self.database = root / "seg3a.duckdb"
        self.saved = root / "upstream"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DBT_PROFILES_DIR": str(PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "SEG3A_RUNS_ROOT": str(self.runs), "SEG3A_DUCKDB": str(self.database), "SEG3A_RUN_ID": "",
            "DBT_TARGET_PATH": str(self.root / "target"), "DBT_LOG_PATH": str(self.root / "dbt-logs"),
        })
        return env

    def dbt(self, args: list[str], threads: int) -> tuple[subprocess.CompletedProcess, float]:
        command = [sys.executable, "-c", RSS_WRAPPER, str(BIN / "dbt"), *args, "--threads", str(threads),
                   "--no-use-colors"]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=PROJECT, env=self.env(), capture_output=True, text=True)
        return done, time.perf_counter() - started

    def prepare(self, pairs: int, seed: int, threads: int) -> None:
        if (self.saved / "seg3a.duckdb").is_file():
            return
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        subprocess.run([str(BIN / "seg3a"), "world", "generate", "--seed", str(seed), "--pairs", str(pairs),
                        "--runs-root", str(self.runs), "--quiet"], check=True, cwd=PROJECT)
        done, _ = self.dbt(["build", "--select", "+s4_run_report_3A", "--exclude", "tag:s3", "tag:s4"], threads)
        if done.returncode:
            raise SystemExit(f"upstream build failed for {pairs} pairs:\n{done.stdout[-4000:]}")
        shutil.copytree(self.runs, self.saved / "runs")
        shutil.copyfile(self.database, self.saved / "seg3a.duckdb")

    def restore(self) -> None:
        shutil.rmtree(self.runs, ignore_errors=True)
        shutil.copytree(self.saved / "runs", self.runs)
        shutil.copyfile(self.saved / "seg3a.duckdb", self.database)

    def measure(self, threads: int) -> Measurement:
        self.restore()
        done, wall = self.dbt(["build", "--select", "tag:s3", "tag:s4"], threads)
        if done.returncode:
            raise SystemExit(f"S3/S4 build failed:\n{done.stdout[-4000:]}")
        fields = done.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()
        rss_kib, cpu = int(fields[0]), float(fields[2])
        return Measurement(wall, self.models_seconds(), cpu, rss_kib / 1024.0, os.getloadavg()[0])

    def models_seconds(self) -> float:
        """First start to last completion of the S3/S4 nodes in run_results.json."""
        results = json.loads((self.root / "target" / "run_results.json").read_text())
        spans = []
        for result in results["results"]:
            for timing in result.get("timing", []):
                if timing["name"] == "execute" and timing.get("started_at"):
                    spans.append((timing["started_at"], timing["completed_at"]))
        first = min(datetime.fromisoformat(s.replace("Z", "+00:00")) for s, _ in spans)
        last = max(datetime.fromisoformat(c.replace("Z", "+00:00")) for _, c in spans)
        return (last - first).total_seconds()

    def sizes(self) -> tuple[int, int]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            pairs = con.execute("select count(*) from int_s3__draws").fetchone()[0]
            rows = con.execute("select count(*) from s3_zone_shares").fetchone()[0]
        return int(pairs), int(rows)


def run_size(args: argparse.Namespace, pairs: int) -> SizeResult:
    space = Workspace(args.work / f"pairs-{pairs}")
    space.prepare(pairs, args.seed, args.threads)
    runs = [space.measure(args.threads) for _ in range(args.repeats)]
    escalated, rows = space.sizes()
    return SizeResult(
        pairs=pairs, escalated_pairs=escalated, share_rows=rows, threads=args.threads, repeats=args.repeats,
        wall_s=statistics.median(r.wall_s for r in runs), models_s=statistics.median(r.models_s for r in runs),
        cpu_s=statistics.median(r.cpu_s for r in runs), rss_mib=statistics.median(r.rss_mib for r in runs),
        load=statistics.median(r.load for r in runs), runs=runs,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    results = []
    print(f"{'pairs':>9} {'escalated':>10} {'rows':>10} {'wall_s':>8} {'models_s':>9} {'cpu_s':>7} "
          f"{'rss_mib':>8} {'load':>5}")
    for pairs in args.pairs:
        result = run_size(args, pairs)
        results.append(result)
        print(f"{result.pairs:>9} {result.escalated_pairs:>10} {result.share_rows:>10} {result.wall_s:>8.1f} "
              f"{result.models_s:>9.1f} {result.cpu_s:>7.1f} {result.rss_mib:>8.0f} {result.load:>5.1f}", flush=True)
    largest = max(results, key=lambda r: r.pairs)
    if largest.pairs >= 1_000_000:
        ok = largest.models_s <= TARGET_SECONDS and largest.rss_mib <= TARGET_RSS_MIB
        print(f"target at {largest.pairs} pairs (<= {TARGET_SECONDS:.0f} s, <= {TARGET_RSS_MIB:.0f} MiB): "
              f"{'met' if ok else 'NOT met'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
