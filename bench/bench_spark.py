"""Both targets on the same worlds: `dbt build --select segment3a` (DuckDB) against
`seg3a build --target spark` (the per-pair models of S1..S5 on Spark, the rest on
DuckDB), at 100k pairs by default (`--sizes 100000 1000000` for 1M too).

Per size one world is generated and copied, so both targets build the same bytes; each
build runs as its own subprocess measured from outside as in bench_scale.py: wall time,
CPU seconds of the whole process tree (`tree_cpu_s`: every process sampled from /proc,
the Spark JVM and its Python workers included; `cpu_s` is the rusage of the process and
the children it waited for, which misses the JVM), peak RSS of the whole process tree.
The Spark build's own phase timings (each DuckDB phase and Spark wave) are recorded, and
the published files of the two runs are compared (SHA-256 of every file outside the run
reports): the benchmark fails if they differ. Spark runs with SEG3A_SPARK_MASTER
(default local[2]) and SEG3A_SPARK_DRIVER_MEMORY (default 3g) unless set. Results go to
bench/results/bench_spark.json, written again after each measured build (a Spark build
that fails or is stopped leaves the DuckDB figures). The load average before each build
is recorded: the numbers are only comparable on a quiet machine.

    python bench/bench_spark.py --help
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import BIN, dbt_env, ensure_zone_store, run_measured  # noqa: E402  (one way to measure)
from common import add_output_options, benchmark_parser, machine, work_directory, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "bench_spark.json"
OPERATIONAL = ("reports/",)  # run reports and state-run rows carry wall-clock times


def parse_args(argv=None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="target pairs per world (default 100000)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    add_output_options(parser, RESULTS)
    return parser.parse_args(argv)


def published_digests(run_root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(p for p in run_root.rglob("*") if p.is_file() and ".staging" not in p.parts):
        rel = path.relative_to(run_root).as_posix()
        if not rel.startswith(OPERATIONAL):
            with open(path, "rb") as handle:
                found[rel] = hashlib.file_digest(handle, "sha256").hexdigest()
    return found


def spark_phases(log: Path) -> list[dict]:
    """The phase timings `seg3a build --target spark` prints as its last JSON line."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if line.startswith('{"phases"'):
            return json.loads(line)["phases"]
    return []


def measured(command: list[str], env: dict[str, str], log: Path) -> dict:
    step = run_measured(command, env, log)
    step.pop("timeline")
    step.pop("started_epoch")
    return step


def print_step(row: dict, target: str) -> None:
    step = row[target]
    print(f"{row['pairs']:>9,} {target:>7} {step['wall_s']:8.1f} {step['tree_cpu_s']:8.1f} "
          f"{step['peak_tree_rss_mib']:8.0f}  {step['load_average_before']:.1f}", flush=True)


def measure_size(pairs: int, args, work: Path, save) -> dict:
    """Both targets on one world of `pairs` pairs; `save(row)` after each measured build,
    so a Spark build that fails or is stopped leaves the DuckDB figures behind."""
    size_dir = work / f"pairs-{pairs}"
    shutil.rmtree(size_dir, ignore_errors=True)
    (size_dir / "duckdb").mkdir(parents=True)
    (size_dir / "spark").mkdir()
    runs = size_dir / "duckdb" / "runs"
    row = {"target_pairs": pairs}
    row["world"] = measured([str(BIN / "seg3a"), "world", "generate", "--seed", str(args.seed), "--pairs", str(pairs),
                             "--runs-root", str(runs), "--quiet"], dict(os.environ), size_dir / "world.log")
    shutil.copytree(runs, size_dir / "spark" / "runs", symlinks=True)
    run_root = next(p for p in runs.iterdir() if p.is_dir())
    commit = {"ENGINE_GIT_COMMIT": "0" * 40}  # one engine commit for both builds' audit rows

    duck_dir = size_dir / "duckdb"
    row["duckdb"] = measured([str(BIN / "dbt"), "build", "--select", "segment3a", "--no-use-colors"],
                             {**dbt_env(runs, duck_dir / "seg3a.duckdb", duck_dir), **commit}, duck_dir / "build.log")
    s1 = json.loads(next(run_root.glob("reports/layer1/3A/state=S1/**/run_report.json")).read_bytes())
    row.update(pairs=s1["counts"]["pairs_total"], pairs_escalated=s1["counts"]["pairs_escalated"])
    print_step(row, "duckdb")
    save(row)

    spark_dir = size_dir / "spark"
    spark_env = {**dbt_env(spark_dir / "runs", spark_dir / "seg3a.duckdb", spark_dir), **commit,
                 "SEG3A_SPARK_MASTER": os.environ.get("SEG3A_SPARK_MASTER", "local[2]"),
                 "SEG3A_SPARK_DRIVER_MEMORY": os.environ.get("SEG3A_SPARK_DRIVER_MEMORY", "3g")}
    row["spark"] = measured([str(BIN / "seg3a"), "build", "--target", "spark", "--work-dir", str(spark_dir / "work")],
                            spark_env, spark_dir / "build.log")
    row["spark"]["phases"] = spark_phases(spark_dir / "build.log")
    print_step(row, "spark")
    duck_files, spark_files = published_digests(run_root), published_digests(spark_dir / "runs" / run_root.name)
    differing = sorted(f for f in duck_files.keys() | spark_files.keys() if duck_files.get(f) != spark_files.get(f))
    if differing:
        raise RuntimeError(f"the targets published different files at {pairs} pairs: {differing[:10]}")
    if not args.keep:
        shutil.rmtree(size_dir, ignore_errors=True)
    row.update(published_files_identical=len(duck_files),
               spark_over_duckdb_wall=round(row["spark"]["wall_s"] / row["duckdb"]["wall_s"], 2))
    return row


def write_report(args, sizes: list[dict]) -> None:
    report = {"benchmark": "bench_spark", "seed": args.seed,
              "spark_settings": {k: v for k, v in os.environ.items() if k.startswith("SEG3A_SPARK_")},
              "duckdb_settings": {k: v for k, v in os.environ.items() if k.startswith("SEG3A_DUCKDB_")},
              "machine": machine(), "sizes": sizes}
    write_results(args.json, report)


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes: list[dict] = []
    with work_directory(args, "bench-spark-") as work:
        ensure_zone_store(argparse.Namespace(seed=args.seed), work)
        print(f"{'pairs':>9} {'target':>7} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8}  load", flush=True)
        for pairs in args.sizes:
            row = measure_size(pairs, args, work,
                               save=lambda partial: write_report(args, [*sizes, partial]))
            sizes.append(row)
            write_report(args, sizes)
            print(f"{'':>9} spark / duckdb wall {row['spark_over_duckdb_wall']}; {row['published_files_identical']} "
                  "published files identical; Spark phases: "
                  + ", ".join(f"{p['phase'].split(':')[0]} {p['wall_s']:.0f}s" for p in row["spark"]["phases"]),
                  flush=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
