"""`seg3a seedpack run`: generate and build the seedpack (default seeds 42, 7, 101, 202).

Each seed gets its own runs root `<out>/seed=<seed>/` and DuckDB file
`<out>/duckdb/seed=<seed>/seg3a.duckdb` (both replaced when they exist); `make certify`
hands the run roots to `seg3a realism certify`.

The pack runs in one coordinator process (a fresh interpreter), which imports what the
builds need once and forks the workers that do them, so no lane imports a module or
parses the project again:
1. Worlds: forked workers (`--lanes` minus one, at least one) import the world generator
   and run `seg3a world generate` for every seed while the coordinator imports dbt and
   parses the project once.
2. Z(c): the spatial overlay is stored once per identity of the reference data and rule
   (`build/zone-universe-cache/<key>/`, seg3a.zones.cache), the same store plain `dbt
   build` uses. When the store lacks it, one worker builds `+zone_universe_candidates` on
   the first seed's world before the lanes start, so two lanes never compute it both;
   SEG3A_ZONE_UNIVERSE_REBUILD=1 makes that worker recompute and replace it.
3. Builds: `--lanes` forked worker processes (one per core by default), each running
   `dbt build --select segment3a` for its seeds one after the other through dbt's
   programmatic runner, on a fresh copy of the parsed manifest each time. The dbt profile
   is read per build, so SEG3A_RUNS_ROOT and SEG3A_DUCKDB point it at the seed's runs root
   and DuckDB file exactly as they do for the command line; the run-root files are the
   same bytes as `dbt build --select segment3a` gives for that world
   (tests/e2e/test_seedpack.py). Each build uses one dbt thread and one DuckDB thread
   when the lanes fill the cores (`--threads` and SEG3A_DUCKDB_THREADS override), writes
   no manifest.json, and leaves dbt unit tests (seed-independent checks of model code) to
   `make test`.

Per seed, dbt's run_results.json is kept as `<out>/dbt/seed=<seed>/run_results.json`, and
`--json` writes the timings (wall and CPU seconds of the pack, its start-up and each
build, peak RSS of each lane).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import multiprocessing
import os
import pkgutil
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .dbt_in_process import close_duckdb, compile_templates_before_fork, invoke_parsed, remember_injected_ctes

SEEDPACK = (42, 7, 101, 202)

# Modules the lanes would otherwise each import, imported once by the coordinator (while the
# worlds are generated) before it forks them: what a seed build loads beyond dbt's parse:
# the models' and plugins' packages whole (their modules load on first use, inside the
# models), dbt's build task and the DuckDB adapter, and pandas, which pyarrow imports on
# the first conversion of an array to NumPy (S0's key check). About 1 CPU s per lane. The
# world generator is imported by the world worker itself, beside dbt's import here.
BUILD_MODULES = ("dbt.task.build", "dbt.adapters.duckdb.impl", "dbt.adapters.duckdb.environments.local",
                 "sqlparse", "asyncio", "pandas")
BUILD_PACKAGES = ("seg3a.states", "python_udfs")


# --------------------------------------------------------------------------- layout
def seed_root(out: Path, seed: int) -> Path:
    return out / f"seed={seed}"


def seed_database(out: Path, seed: int) -> Path:
    # Always named seg3a.duckdb: DuckDB names the catalogue after the file, and the parsed
    # manifest (shared by every build of the pack) holds that name in every relation.
    return out / "duckdb" / f"seed={seed}" / "seg3a.duckdb"


def seed_results(out: Path, seed: int) -> Path:
    return out / "dbt" / f"seed={seed}" / "run_results.json"


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _say(quiet: bool) -> Callable[[str], None]:
    return (lambda _line: None) if quiet else (lambda line: print(line, flush=True))


def _span(started: float, cpu: float) -> dict[str, float]:
    return {"wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(_cpu_s() - cpu, 3)}


# --------------------------------------------------------------------------- worlds
def generate(seed: int, pairs: int | None, out: Path, quiet: bool) -> dict[str, Any]:
    """Worker: a fresh world for `seed` in its own runs root."""
    from seg3a.core.paths import default_external_root
    from seg3a.world.generate import generate_world

    started, cpu = time.perf_counter(), _cpu_s()
    root = seed_root(out, seed)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(seed_database(out, seed).parent, ignore_errors=True)
    run_root = generate_world(seed, pairs, root, default_external_root(), progress=lambda _line: None)
    wall = time.perf_counter() - started
    _say(quiet)(f"seed {seed}: world generated in {wall:.1f} s ({run_root.name})")
    return {"seed": seed, "run_root": str(run_root), "wall_s": round(wall, 3), "cpu_s": round(_cpu_s() - cpu, 3)}


# --------------------------------------------------------------------------- Z(c)
ZONE_STORE_MODEL = "zone_universe_candidates"


def zone_universe_file(run_root: Path) -> Path:
    """The stored Z(c) file the run at `run_root` reads (seg3a.zones.cache)."""
    from seg3a.zones.cache import store_dir_for_run

    return store_dir_for_run(run_root) / f"{ZONE_STORE_MODEL}.parquet"


def store_zone_universe(seed: int, out: str, quiet: bool) -> dict[str, Any]:
    """Worker: Z(c) computed and stored by dbt on `seed`'s world (the lanes then reuse it)."""
    started = time.perf_counter()
    out_dir = Path(out)
    database = seed_database(out_dir, seed)
    database.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir / "dbt" / "zone-universe"
    _parsed_session().build(seed_root(out_dir, seed), database, ["--select", f"+{ZONE_STORE_MODEL}"], work)
    wall = time.perf_counter() - started
    _say(quiet)(f"Z(c) computed and stored once in {wall:.1f} s")
    return {"wall_s": round(wall, 3)}


# --------------------------------------------------------------------------- dbt
class _DbtSession:
    """dbt in this process: the project parsed once, every build on a copy of that manifest
    (`seg3a.dbt_in_process`)."""

    def __init__(self, work: Path, threads: int | None) -> None:
        from dbt.cli.main import dbtRunner

        from seg3a.core.paths import project_root

        self.project = project_root()
        self.threads = threads
        os.environ.setdefault("DBT_PROFILES_DIR", str(self.project))
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        os.chdir(self.project)
        self._runner = dbtRunner
        # Parsed under fixed paths of the pack's directory: dbt keys its partial-parse file
        # on the profile's paths, so a later `seedpack run` into the same --out reuses it.
        # The file name matters: DuckDB names the catalogue `seg3a` after it, as for every
        # seed's seg3a.duckdb, and the manifest holds that name in every relation.
        os.environ.update(SEG3A_RUNS_ROOT=str(work / "parse-runs"), SEG3A_DUCKDB=str(work / "seg3a.duckdb"),
                          SEG3A_RUN_ID="")
        parsed = dbtRunner().invoke(["parse", "--quiet", "--no-write-json", *self._paths(work)])
        if not parsed.success or parsed.result is None:
            raise RuntimeError(f"dbt parse failed: {parsed.exception}")
        self.manifest = parsed.result

    @staticmethod
    def _paths(work: Path) -> list[str]:
        return ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]

    def build(self, runs_root: Path, database: Path, select: list[str], work: Path) -> dict[str, Any]:
        os.environ.update(SEG3A_RUNS_ROOT=str(runs_root), SEG3A_DUCKDB=str(database), SEG3A_RUN_ID="")
        # --no-write-json: dbt would write manifest.json and graph.gpickle after every build
        # (about 0.4 CPU s); only the run results are kept, written here. --log-level-file
        # info: dbt.log keeps every node's start, result and error, without the debug lines
        # for every SQL statement and connection event (530 KB per seed build, 33 KB at info).
        # --log-level none: no terminal logger at all. `--quiet` only filters it: dbt still
        # formats every event (~2,600 per build) for it, scanning the environment for secrets
        # each time; a failure's messages are in the error raised below and in dbt.log.
        args = ["build", *select, "--log-level", "none", "--no-use-colors", "--no-write-json",
                "--log-level-file", "info", *self._paths(work)]
        if self.threads:
            args += ["--threads", str(self.threads)]
        try:
            result = invoke_parsed(self._runner, self.manifest, args)
        finally:
            close_duckdb()
        results_file = work / "target" / "run_results.json"
        if hasattr(result.result, "write"):
            results_file.parent.mkdir(parents=True, exist_ok=True)
            result.result.write(str(results_file))
        run_results = json.loads(results_file.read_bytes()) if results_file.is_file() else None
        if not result.success:
            raise RuntimeError(f"dbt build failed for {runs_root} (failed nodes: {failed_nodes(run_results) or 'none'}; "
                               f"{result.exception or 'see ' + str(work / 'logs' / 'dbt.log')}; the debug "
                               f"trace: SEG3A_RUNS_ROOT={runs_root} dbt build --select segment3a)")
        return run_results or {}


def failed_nodes(run_results: dict[str, Any] | None, width: int = 600) -> list[str]:
    """`<node>: <message>` of each failed node of a build's run results, the message on one
    line and cut at `width` characters."""
    return [f"{r['unique_id']}: {' '.join(str(r.get('message') or '').split())[:width]}"
            for r in (run_results or {}).get("results", []) if r.get("status") in ("error", "fail")]


# The coordinator's parsed project, inherited by the workers it forks (never pickled).
_PARSED: _DbtSession | None = None


def _parsed_session() -> _DbtSession:
    if _PARSED is None:
        raise RuntimeError("seedpack worker without the coordinator's parsed project (it must be forked from it)")
    return _PARSED


def build_lane(lane: int, seeds: list[int], out: str, quiet: bool) -> dict[str, Any]:
    """Worker: one lane, one process forked from the coordinator; builds each seed in turn."""
    from seg3a.zones.cache import REBUILD_ENV

    os.environ.pop(REBUILD_ENV, None)  # a forced Z(c) rebuild was done once, before the lanes
    say = _say(quiet)
    out_dir = Path(out)
    cpu = _cpu_s()
    session = _parsed_session()
    builds = []
    for seed in seeds:
        seed_started, seed_cpu = time.perf_counter(), _cpu_s()
        database = seed_database(out_dir, seed)
        # dbt unit tests check model code on fixed fixtures, the same for every seed: the
        # runner leaves them to `make test` / `dbt build`, as dbt advises for production runs.
        select = ["--select", "segment3a", "--exclude-resource-type", "unit_test"]
        database.parent.mkdir(parents=True, exist_ok=True)
        work = seed_results(out_dir, seed).parent
        shutil.rmtree(work, ignore_errors=True)
        run_results = session.build(seed_root(out_dir, seed), database, select, work)
        (work / "run_results.json").write_bytes((work / "target" / "run_results.json").read_bytes())
        shutil.rmtree(work / "target", ignore_errors=True)
        wall = time.perf_counter() - seed_started
        row = {"seed": seed, "lane": lane, "wall_s": round(wall, 3), "cpu_s": round(_cpu_s() - seed_cpu, 3),
               "dbt_elapsed_s": round(run_results.get("elapsed_time", 0.0), 3),
               "nodes": len(run_results.get("results", []))}
        builds.append(row)
        say(f"lane {lane}: seed {seed} built in {wall:.1f} s (dbt {row['dbt_elapsed_s']:.1f} s, "
            f"CPU {row['cpu_s']:.1f} s, {row['nodes']} nodes)")
    return {"lane": lane, "builds": builds, "peak_rss_mib": round(_peak_rss_mib(), 1),
            "cpu_s": round(_cpu_s() - cpu, 3)}


# --------------------------------------------------------------------------- the pack
def lanes_threads(lanes: int) -> int:
    """dbt threads per lane by default: the cores shared out between the lanes."""
    return max(1, (os.cpu_count() or 1) // lanes)


def _import_all(modules: tuple[str, ...], packages: tuple[str, ...] = ()) -> None:
    """Imports the modules, and every module of the packages."""
    for name in modules:
        importlib.import_module(name)
    for package in packages:
        path = importlib.import_module(package).__path__
        for module in pkgutil.iter_modules(path, package + "."):
            importlib.import_module(module.name)


def _forked_pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from this process (all at the first submit, before the pool starts a
    thread), so they inherit its imports and parsed project; each runs with the garbage
    collector on (the coordinator runs without it, see `_coordinate`)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=gc.enable)


def _worlds_beside_parse(seeds: list[int], out: Path, pairs: int | None, lanes: int, threads: int,
                         quiet: bool, timings: dict[str, Any]) -> list[dict[str, Any]]:
    """Forks the world workers, then imports dbt, parses the project (`_PARSED`) and loads
    what a build needs while they work; returns the worlds."""
    global _PARSED
    from seg3a.core.duck import verify_spatial

    # The parse below keeps one core busy: the worlds get the others (at least one). Each
    # world worker imports the generator and, with its first world, loads the country
    # tables (about 1.3 CPU s together), so fewer workers beside the parse finish no later
    # and cost less.
    with _forked_pool(max(1, lanes - 1)) as pool:
        world_futures = [pool.submit(generate, seed, pairs, out, quiet) for seed in seeds]
        started, cpu = time.perf_counter(), _cpu_s()
        # The spatial extension's signature is checked once here, not in every build
        # (seg3a.core.duck). DuckDB hashes its 81 MB without holding Python's lock, so a
        # thread does it beside dbt's import and parse, on the core the worlds leave idle
        # once done; the thread has ended before anything forks from here again.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seg3a-verify-spatial") as checker:
            spatial_verified = checker.submit(verify_spatial)
            _PARSED = _DbtSession(out / "dbt" / "parse", threads)
            _import_all(BUILD_MODULES, BUILD_PACKAGES)
            # Every lane would compile the same ~160 macro templates on its first build,
            # and every build the 97 templates of the nodes' code again.
            compile_templates_before_fork(_PARSED.manifest)
            remember_injected_ctes()  # a lane's later builds reuse its first build's injections
            spatial_verified.result()
        timings["start_up"] = _span(started, cpu)
        _say(quiet)(f"dbt loaded and project parsed in {timings['start_up']['wall_s']:.1f} s")
        return [future.result() for future in world_futures]


def _coordinate(seeds: list[int], out: Path, pairs: int | None, lanes: int, threads: int,
                quiet: bool) -> dict[str, Any]:
    """The coordinator (a fresh interpreter, see `run`): the worlds beside the parse, Z(c)
    stored if it is not, then the lanes, all forked from here."""
    from seg3a.core.duck import RESOURCE_SETTINGS
    from seg3a.zones.cache import rebuild_forced

    started = time.perf_counter()
    timings: dict[str, Any] = {"seeds": list(seeds), "lanes": lanes, "threads": threads, "pairs": pairs or "default"}
    # The coordinator's objects (dbt, the parsed project, what a build imports) live as long
    # as the workers: no garbage collection runs over them while they are made (its
    # passes cost ~0.5 of the ~3.5 CPU s of the start-up, on the path every lane waits for),
    # and they are frozen before the lanes fork, so that the lanes' collections skip them
    # and do not copy their pages by touching them (Python's documented recipe for fork:
    # gc.disable early, gc.freeze before fork, gc.enable in the children). The little
    # garbage the import and parse leave (~10k objects) stays with them.
    gc.disable()
    worlds = _worlds_beside_parse(seeds, out, pairs, lanes, threads, quiet, timings)
    timings["worlds"] = {"wall_s": round(time.perf_counter() - started, 3), "seeds": worlds}
    gc.freeze()
    zone_store = zone_universe_file(Path(worlds[0]["run_root"]))
    if rebuild_forced() or not zone_store.is_file():
        _say(quiet)("Z(c) not stored yet for this reference data: computing it once ...")
        with _forked_pool(1) as pool:
            timings["zone_universe_computed"] = pool.submit(store_zone_universe, seeds[0], str(out), quiet).result()
    # Each lane's DuckDB gets the lane's share of the cores too, unless SEG3A_DUCKDB_THREADS
    # says otherwise: lanes that each run DuckDB on every core only contend (measured: about
    # 10 % more CPU for the pack at the default size). Outputs are the same bytes under any
    # setting.
    if not os.environ.get(RESOURCE_SETTINGS["threads"], "").strip():  # empty counts as unset, as for DuckDB
        os.environ[RESOURCE_SETTINGS["threads"]] = str(lanes_threads(lanes))
    timings["duckdb_threads"] = os.environ[RESOURCE_SETTINGS["threads"]]
    builds_started = time.perf_counter()
    with _forked_pool(lanes) as pool:
        futures = [pool.submit(build_lane, lane, list(seeds[lane::lanes]), str(out), quiet) for lane in range(lanes)]
        lane_results = [future.result() for future in futures]
    timings.update({
        "build_wall_s": round(time.perf_counter() - builds_started, 3),
        "build_cpu_s": round(sum(lane["cpu_s"] for lane in lane_results), 3),
        "zone_universe": str(zone_store),
        "lanes_detail": [{k: v for k, v in lane.items() if k != "builds"} for lane in lane_results],
        "builds": sorted((b for lane in lane_results for b in lane["builds"]), key=lambda b: seeds.index(b["seed"])),
        "run_roots": {str(w["seed"]): w["run_root"] for w in worlds},
    })
    return timings


def run(seeds: list[int], out: Path, pairs: int | None = None, lanes: int = 2, threads: int | None = None,
        quiet: bool = False) -> dict[str, Any]:
    say = _say(quiet)
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    lanes = max(1, min(lanes, len(seeds)))
    # One dbt thread per lane when the lanes already use every core: a second thread only
    # contends for the lane's GIL (measured: 17.0 s against 18.2 s for the pack on 2 cores).
    threads = threads or lanes_threads(lanes)
    started, cpu = time.perf_counter(), _cpu_s(resource.RUSAGE_CHILDREN)
    # The coordinator is a fresh interpreter ("spawn"): its workers are forked from it, and
    # forking the caller (a test session, a benchmark) would copy whatever that holds.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        timings = pool.submit(_coordinate, list(seeds), out, pairs, lanes, threads, quiet).result()
    timings["total_wall_s"] = round(time.perf_counter() - started, 3)
    timings["total_cpu_s"] = round(_cpu_s(resource.RUSAGE_CHILDREN) - cpu, 3)  # every process of the pack
    say(f"seedpack built: {len(seeds)} seeds in {timings['total_wall_s']:.1f} s, CPU {timings['total_cpu_s']:.1f} s "
        f"(worlds and dbt start-up {timings['worlds']['wall_s']:.1f} s, then the builds "
        f"{timings['build_wall_s']:.1f} s on {lanes} lane(s))")
    return timings


def build_parser() -> argparse.ArgumentParser:
    from seg3a.world.cli import pairs_argument  # here, not at import: lane workers never parse arguments

    parser = argparse.ArgumentParser(
        prog="seg3a seedpack run",
        description="Generate the seedpack worlds and build S0..S7 on each (dbt in-process, one lane per core).",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDPACK),
                        help="world seeds (default 42 7 101 202)")
    parser.add_argument("--out", type=Path, default=Path("build/seedpack"),
                        help="output directory (default build/seedpack)")
    parser.add_argument("--pairs", type=pairs_argument, default=None,
                        help="pairs per world, or `default` (about 2,600)")
    parser.add_argument("--lanes", type=int, default=min(2, os.cpu_count() or 1),
                        help="seeds built at the same time, one process each (default: 2, or 1 on one core)")
    parser.add_argument("--threads", type=int, default=None, help="dbt threads per build (default: the cores divided by the lanes, at least 1)")
    parser.add_argument("--json", type=Path, default=None, help="write the timings as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        print("seg3a seedpack run: seeds must be distinct", file=sys.stderr)
        return 2
    try:
        timings = run(args.seeds, args.out, args.pairs, args.lanes, args.threads, args.quiet)
    except Exception as exc:  # a failed world or build: its message, exit 1
        print(f"seg3a seedpack run: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
