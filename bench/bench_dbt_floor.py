"""What dbt itself costs per node here: a throw-away dbt-duckdb project with as many
trivial nodes as `dbt build --select segment3a` (SQL table models in a chain, `not_null`
tests, one on-run-end hook), built with the installed dbt and adapter.

Measured: a cold `dbt build` (fresh process: start-up, full parse, execution), a warm one
(partial parsing) and, in-process with dbt's `dbtRunner`, builds that reuse one parsed
manifest (what `seg3a seedpack run` does). Per node = (build time - empty build time) /
nodes, where the empty build selects no node.

    python bench/bench_dbt_floor.py [--models 65] [--tests 41] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DBT = Path(sys.executable).with_name("dbt")


def write_project(root: Path, models: int, tests: int, threads: int) -> None:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: floor\nversion: '1.0.0'\nconfig-version: 2\nprofile: floor\n"
        "models:\n  floor:\n    +materialized: table\n"
        "on-run-end:\n  - \"{{ log('done ' ~ (results | length), info=False) }}\"\n")
    (root / "profiles.yml").write_text(
        f"floor:\n  target: t\n  outputs:\n    t:\n      type: duckdb\n      path: {root}/floor.duckdb\n"
        f"      threads: {threads}\n")
    columns = []
    for k in range(models):
        source = f"select {k} as id, 'x{k}' as label" if k < 2 else \
            f"select id + 1 as id, label from {{{{ ref('m{k - 2:03d}') }}}}"
        (root / "models" / f"m{k:03d}.sql").write_text(source + "\n")
        if k < tests:
            columns.append(f"  - name: m{k:03d}\n    columns:\n      - name: id\n        data_tests: [not_null]\n")
    (root / "models" / "schema.yml").write_text("version: 2\nmodels:\n" + "".join(columns))


def dbt(root: Path, *args: str) -> dict:
    env = dict(os.environ, DBT_PROFILES_DIR=str(root), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    started = time.perf_counter()
    child = subprocess.Popen([str(DBT), *args, "--no-use-colors"], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(output[-3000:])
    results = json.loads((root / "target" / "run_results.json").read_bytes())
    return {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "dbt_elapsed_s": round(results["elapsed_time"], 3), "nodes": len(results["results"])}


def in_process(root: Path, repeats: int) -> dict:
    """dbtRunner, parse once, `repeats` builds on that manifest (run in a child process)."""
    code = f"""
import json, os, resource, time
os.chdir({str(root)!r}); os.environ['DBT_PROFILES_DIR'] = {str(root)!r}
from dbt.cli.main import dbtRunner
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0, c0 = time.perf_counter(), cpu()
manifest = dbtRunner().invoke(['parse', '--quiet']).result
parse = (time.perf_counter() - t0, cpu() - c0)
runs = []
for _ in range({repeats}):
    t0, c0 = time.perf_counter(), cpu()
    res = dbtRunner(manifest=manifest).invoke(['build', '--quiet'])
    assert res.success
    runs.append((time.perf_counter() - t0, cpu() - c0))
print(json.dumps({{'parse': parse, 'builds': runs}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false"))
    data = json.loads(out.stdout.strip().splitlines()[-1])
    builds = data["builds"][1:] or data["builds"]  # the first build warms imports of the run path
    return {"parse_wall_s": round(data["parse"][0], 3), "parse_cpu_s": round(data["parse"][1], 3),
            "build_wall_s": round(min(b[0] for b in builds), 3),
            "build_cpu_s": round(min(b[1] for b in builds), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=65)
    parser.add_argument("--tests", type=int, default=41)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="dbt-floor-"))
    try:
        write_project(root, args.models, args.tests, args.threads)
        cold = dbt(root, "build")
        warm = dbt(root, "build")
        empty = dbt(root, "build", "--select", "nothing_selected_here")
        inproc = in_process(root, 3)
        nodes = warm["nodes"]
        result = {
            "nodes": nodes, "threads": args.threads,
            "cold_process": cold, "warm_process": warm, "empty_build_process": empty,
            "per_node_wall_ms": round(1000 * (warm["wall_s"] - empty["wall_s"]) / nodes, 1),
            "per_node_cpu_ms": round(1000 * (warm["cpu_s"] - empty["cpu_s"]) / nodes, 1),
            "in_process": inproc,
            "in_process_per_node_cpu_ms": round(1000 * inproc["build_cpu_s"] / nodes, 1),
        }
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
