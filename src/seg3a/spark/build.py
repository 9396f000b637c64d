"""`seg3a build --target spark`: one build of segment 3A whose per-pair models run on Spark.

The models with `meta: {seg3a_engine: spark}` (the per-pair work of S1..S5) are built by
dbt-spark in session mode, on the SparkSession this process creates first (with the seg3a
UDFs registered, seg3a.spark.session); every other model runs on the DuckDB target
`embedded` exactly as in `dbt build`: S0, the policies, Z(c), the checks, publishing
(the one canonical writer), S6 and S7. The build alternates:

    DuckDB phase 0   what the first Spark models need (S0, policies, Z(c), staging, ...)
    Spark wave 0     those Spark models; their DuckDB inputs are handed over as Parquet
    DuckDB phase 1   wave 0's tables read back (seg3a_spark_output_sql), then what the
                     next wave needs, ...
    last phase       everything left

Each DuckDB phase is a `dbt build` of its models and seeds, so their tests run as in
`dbt build --select segment3a` (a Spark model's unit and data tests with the DuckDB
phase that reads it back).

A node's phase is the earliest one all its parents allow. `seg3a build` (target
`embedded`) is plain `dbt build --select segment3a` in this process.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SPARK_ENGINE = "spark"
SPARK_SCHEMA = "seg3a"  # the spark target's schema in profiles.yml
SPARK_OUTPUTS_VARIABLE = "SEG3A_SPARK_OUTPUTS"  # model -> Parquet folder, read by seg3a_spark_output_sql


class SparkBuildError(RuntimeError):
    """A phase of the build failed; the message names it and its failed nodes."""


@dataclass
class Phase:
    """One dbt invocation: models (by name) on one engine."""
    engine: str  # "duckdb" or "spark"
    index: int
    models: list[str] = field(default_factory=list)


def plan_phases(nodes: dict[str, dict]) -> list[Phase]:
    """Alternating DuckDB / Spark phases for the segment's models.

    `nodes`: unique_id -> {"name", "engine" ("spark" or "duckdb"), "ephemeral", "parents"}
    for the segment's models and seeds.
    A DuckDB model runs in phase max(its DuckDB parents' phase, its Spark parents' wave + 1);
    a Spark model in wave max(its parents' phase or wave). Ephemeral models are inlined in
    their children, so they belong to no phase."""
    level: dict[str, int] = {}

    def level_of(uid: str) -> int:
        if uid not in level:
            node = nodes[uid]
            own_spark = node["engine"] == SPARK_ENGINE
            levels = [0]
            for parent in node["parents"]:
                if parent not in nodes:
                    continue
                parent_spark = nodes[parent]["engine"] == SPARK_ENGINE
                levels.append(level_of(parent) + (1 if parent_spark and not own_spark else 0))
            level[uid] = max(levels)
        return level[uid]

    waves = max((level_of(u) for u, n in nodes.items() if n["engine"] == SPARK_ENGINE), default=-1)
    phases: list[Phase] = []
    for k in range(waves + 2):
        phases.append(Phase("duckdb", k))
        if k <= waves:
            phases.append(Phase(SPARK_ENGINE, k))
    for uid in sorted(nodes):
        node = nodes[uid]
        if node["ephemeral"]:
            continue
        engine = SPARK_ENGINE if node["engine"] == SPARK_ENGINE else "duckdb"
        phase = next(p for p in phases if p.engine == engine and p.index == level_of(uid))
        phase.models.append(node["name"])
        if engine == SPARK_ENGINE:  # its rows are read back by the next DuckDB phase
            next(p for p in phases if p.engine == "duckdb" and p.index == level_of(uid) + 1).models.append(node["name"])
    return [p for p in phases if p.models]


def spark_inputs(nodes: dict[str, dict], wave_models: set[str]) -> list[str]:
    """The DuckDB relations a Spark wave reads: its models' non-Spark parents, seen
    through ephemeral models (inlined into the Spark SQL)."""
    by_name = {n["name"]: uid for uid, n in nodes.items()}
    needed: set[str] = set()
    stack = [by_name[m] for m in wave_models]
    seen: set[str] = set()
    while stack:
        uid = stack.pop()
        for parent in nodes[uid]["parents"]:
            if parent not in nodes or parent in seen:
                continue
            seen.add(parent)
            node = nodes[parent]
            if node["ephemeral"]:
                stack.append(parent)
            elif node["engine"] != SPARK_ENGINE:  # a Spark parent is a Spark table already
                needed.add(node["name"])
    return sorted(needed)


def failed_outcomes(results: list[dict]) -> list[dict]:
    """The node outcomes seg3a_report_failed_states passes on: errored, failed or skipped."""
    return [r for r in results if r["status"] in ("error", "fail", "skipped", "runtime error")]


class SparkBuild:
    def __init__(self, work_dir: Path, quiet: bool = False) -> None:
        from dbt.cli.main import dbtRunner

        from seg3a.core.paths import project_root

        self.project = project_root()
        os.environ.setdefault("DBT_PROFILES_DIR", str(self.project))
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        os.chdir(self.project)
        self.work_dir = work_dir
        self.quiet = quiet
        self.runner = dbtRunner
        self.manifests: dict[str, object] = {}  # engine -> dbt's parsed Manifest
        self.spark_outputs: dict[str, str] = {}
        self.timings: list[dict] = []

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"seg3a build: {text}", flush=True)

    # ------------------------------------------------------------------ dbt
    def target_args(self, engine: str) -> list[str]:
        """The Spark target has a target folder of its own: dbt's partial-parse state is
        per target, so sharing one would make each target re-parse after the other."""
        if engine == SPARK_ENGINE:
            return ["--target", "spark", "--target-path", str(self.work_dir / "dbt-target")]
        return []

    def manifest(self, engine: str):
        """The project parsed once per target; every phase of that target runs on a copy
        (dbt compiles into it) instead of loading and checking the project again."""
        if engine not in self.manifests:
            parsed = self.runner().invoke(["parse", "--quiet", "--no-write-json", *self.target_args(engine)])
            if not parsed.success or parsed.result is None:
                raise SparkBuildError(f"dbt parse ({engine}) failed: {parsed.exception}")
            self.manifests[engine] = parsed.result
        return self.manifests[engine]

    def nodes(self) -> dict[str, dict]:
        nodes = {}
        for uid, node in self.manifest("duckdb").nodes.items():
            if node.resource_type not in ("model", "seed") or "segment3a" not in node.tags:
                continue
            nodes[uid] = {
                "name": node.name,
                "engine": (node.config.meta or {}).get("seg3a_engine", "duckdb"),
                "ephemeral": node.config.materialized == "ephemeral",
                "parents": list(getattr(node.depends_on, "nodes", [])),  # a seed has none
            }
        return nodes

    def invoke(self, engine: str, args: list[str], what: str) -> None:
        from seg3a.dbt_in_process import close_duckdb, invoke_parsed

        manifest = self.manifest(engine)
        started = time.perf_counter()
        # Through the environment, not --vars: a changed var makes dbt re-parse the project.
        os.environ[SPARK_OUTPUTS_VARIABLE] = json.dumps(self.spark_outputs)
        # --no-write-json: no manifest.json / run_results.json per phase (about a third of
        # this process's CPU on a small world); the command prints its phases instead.
        command = [*args, *self.target_args(engine), "--no-use-colors", "--no-write-json"]
        try:
            result = invoke_parsed(self.runner, manifest, command)
        finally:
            if engine != SPARK_ENGINE:
                close_duckdb()
        self.timings.append({"phase": what, "wall_s": round(time.perf_counter() - started, 3)})
        if not result.success and engine == SPARK_ENGINE:
            self.report_failed_states(getattr(result.result, "results", None) or [])
        if not result.success:
            failed = [r.node.name for r in getattr(result.result, "results", []) or []
                      if str(r.status) in ("error", "fail", "runtime error")]
            raise SparkBuildError(f"{what} failed (failed nodes: {failed or 'none'}; "
                                  f"{result.exception or 'see logs/dbt.log'})")

    def report_failed_states(self, results) -> None:
        """A failed Spark wave gets the FAIL run reports a failed DuckDB build gets from
        its on-run-end hook (seg3a_report_failed_states), which does not run on Spark."""
        from seg3a.states.common import report_failed_states

        run = self.selected_run()
        run_root = run.run_root if run else None
        outcomes = failed_outcomes([
            {"name": r.node.name, "resource_type": str(r.node.resource_type), "status": str(r.status),
             "message": r.message or "", "tags": list(r.node.tags),
             "phase": (r.node.config.meta or {}).get("seg3a_phase")}
            for r in results])
        if outcomes:
            self.say("failed states: " + report_failed_states(json.dumps(outcomes), str(run_root) if run_root else None))

    # ------------------------------------------------------------------ hand-over
    @staticmethod
    def selected_run():
        """The run the seg3a plugin selects (SEG3A_RUNS_ROOT, SEG3A_RUN_ID); None without one."""
        return selected_run_from_environment()

    def database(self) -> Path:
        from python_udfs.plugin import plugin_settings, run_database_path

        return run_database_path(self.selected_run(), plugin_settings({})["database_dir"])

    def hand_to_spark(self, session, relations: list[str]) -> None:
        """Each DuckDB relation a Spark wave reads, as a Parquet table of the Spark schema."""
        from python_udfs.plugin import run_values_statement, run_variables
        from seg3a.core.duck import connect

        inputs = self.work_dir / "inputs"
        con = connect(str(self.database()))
        try:
            # the staging views read the run's files through the run values, as in dbt
            con.execute(run_values_statement(run_variables(*run_selection_from_environment())))
            for name in relations:
                folder = inputs / name
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                con.execute(f"copy (select * from main.\"{name}\") to '{folder / 'data.parquet'}' (format parquet)")
        finally:
            con.close()
        session.sql(f"create database if not exists {SPARK_SCHEMA}")
        for name in relations:
            session.sql(f"drop table if exists {SPARK_SCHEMA}.{name}")
            session.sql(f"create table {SPARK_SCHEMA}.{name} using parquet location '{inputs / name}'")

    def take_from_spark(self, session, models: list[str]) -> None:
        """The Parquet folder of each Spark model's table, for the next DuckDB phase."""
        for name in models:
            rows = session.sql(f"describe table extended {SPARK_SCHEMA}.{name}").collect()
            location = next(r.data_type for r in rows if r.col_name == "Location")
            self.spark_outputs[name] = location.removeprefix("file:")

    # ------------------------------------------------------------------ the build
    def run(self) -> dict:
        from .session import spark_session

        nodes = self.nodes()
        phases = plan_phases(nodes)
        # The JVM starts (20-30 s) while the first DuckDB phase runs.
        starting = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        pending = starting.submit(spark_session, self.work_dir) if any(p.engine == SPARK_ENGINE for p in phases) else None
        starting.shutdown(wait=False)
        session = None
        for phase in phases:
            label = f"{phase.engine} phase {phase.index} ({len(phase.models)} models)"
            if phase.engine == SPARK_ENGINE:
                label += ": " + ", ".join(phase.models)
            self.say(label)
            if phase.engine == SPARK_ENGINE:
                if session is None:
                    session = pending.result()
                self.hand_to_spark(session, spark_inputs(nodes, set(phase.models)))
                self.invoke(SPARK_ENGINE, ["run", "--select", *phase.models], label)
                self.take_from_spark(session, phase.models)
            else:  # with the tests of its models, as `dbt build --select segment3a` runs them
                self.invoke("duckdb", ["build", "--select", *phase.models], label)
        return {"phases": self.timings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seg3a build",
        description="Build segment 3A (like `dbt build --select segment3a`). With --target spark the "
                    "per-pair models of S1..S5 run on Spark and the rest on DuckDB; the outputs are the "
                    "same bytes (README, Running on Spark).")
    parser.add_argument("--target", choices=("embedded", "spark"), default="embedded")
    parser.add_argument("--work-dir", help="Spark scratch folder (default build/spark/<run_id>)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.target == "embedded":
        from dbt.cli.main import dbtRunner

        return 0 if dbtRunner().invoke(["build", "--select", "segment3a"]).success else 1
    work_dir = Path(args.work_dir) if args.work_dir else default_work_dir()
    try:
        outcome = SparkBuild(work_dir.resolve(), quiet=args.quiet).run()
    except SparkBuildError as exc:
        print(f"seg3a build: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(json.dumps(outcome))
    return 0


def run_selection_from_environment() -> tuple[str, str | None]:
    """(runs root, run id) as the seg3a dbt plugin reads them."""
    from python_udfs.plugin import plugin_settings

    settings = plugin_settings({})
    return settings["runs_root"], settings["run_id"] or None


def selected_run_from_environment():
    """The run the seg3a plugin selects, resolved by its own rule; None without one."""
    from python_udfs.plugin import selected_run

    return selected_run(*run_selection_from_environment())


def default_work_dir() -> Path:
    from seg3a.core.paths import project_root

    run = selected_run_from_environment()
    return project_root() / "build" / "spark" / (run.run_root.name if run else "no-run")
