"""The S6 validator's test world: a small generated world taken through S0..S5 by the
real dbt project once per session (snapshot `s5`), then restored before each test, which
breaks exactly the data it is about and runs `dbt test` / `dbt build` on the S6 nodes.

dbt runs with the project's own profile, which registers the S6 SQL functions (the S6
plugin), as a user's `dbt test` does; the worker's fork server then shares one parse with
the other session projects (tests/e2e/dbt_runner.py). Paths are fixed per session.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest

from seg3a.core.cjson import cj_bytes
from seg3a.core.context import RunContext
from seg3a.core.digests import sha256_artefact
from seg3a.core.identity import RECEIPT_NAME, parse_receipt
from seg3a.core.paths import default_external_root
from seg3a.world.generate import generate_world
from tests.e2e.dbt_runner import DbtResult, dbt_command

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
SEED, PAIRS = 42, 120
UPSTREAM_SELECTION = ["--select", "segment3a", "--exclude", "tag:zone_universe", "tag:s6", "tag:s7"]
PWP_OPTIONS = "format parquet, compression zstd, row_group_size 122880"


class S6Project:
    """One run root and one DuckDB file at fixed paths, restored from snapshots."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.runs_root = work / "runs"
        self.database = work / "seg3a.duckdb"
        self.snapshots = work / "snapshots"

    # -- snapshots ---------------------------------------------------------------------
    def save(self, name: str) -> None:
        target = self.snapshots / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.runs_root, target / "runs", symlinks=True)
        shutil.copyfile(self.database, target / "seg3a.duckdb")

    def restore(self, name: str) -> "S6Project":
        source = self.snapshots / name
        shutil.rmtree(self.runs_root, ignore_errors=True)
        shutil.copytree(source / "runs", self.runs_root, symlinks=True)
        shutil.copyfile(source / "seg3a.duckdb", self.database)
        return self

    # -- dbt ---------------------------------------------------------------------------
    def dbt(self, *args: str) -> DbtResult:
        env = {
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "SEG3A_RUNS_ROOT": str(self.runs_root),
            "SEG3A_DUCKDB": str(self.database),
            "SEG3A_RUN_ID": "",
            "DBT_LOG_PATH": str(self.work / "dbt-logs"),
            "DBT_TARGET_PATH": str(self.work / "dbt-target"),
        }
        return dbt_command([*args, "--no-use-colors"], env)

    def validate(self) -> DbtResult:
        """`dbt test` alone on the S6 tests: the validator of an existing run."""
        return self.dbt("test", "--select", "tag:s6")

    def build_s6(self, *extra: str) -> DbtResult:
        return self.dbt("build", "--select", "tag:s6", *extra)

    # -- the run -----------------------------------------------------------------------
    @property
    def run_root(self) -> Path:
        (root,) = [p for p in self.runs_root.iterdir() if (p / RECEIPT_NAME).is_file()]
        return root

    @property
    def ctx(self) -> RunContext:
        return RunContext.from_receipt(parse_receipt(self.run_root / RECEIPT_NAME))

    def path(self, dataset_id: str) -> Path:
        return self.ctx.path(dataset_id)

    def json(self, dataset_id: str) -> Any:
        return json.loads(self.path(dataset_id).read_bytes())

    def report(self) -> dict:
        return self.json("s6_validation_report_3A")

    def receipt(self) -> dict:
        return self.json("s6_receipt_3A")

    def run_report(self, state: str = "S6") -> dict:
        return self.json(f"{state.lower()}_run_report_3A")

    def issues(self) -> list[dict]:
        path = self.path("s6_issue_table_3A").as_posix()
        conn = duckdb.connect()
        try:
            relation = conn.execute(f"select * from read_parquet('{path}')")
            names = [d[0] for d in relation.description]
            return [dict(zip(names, row)) for row in relation.fetchall()]
        finally:
            conn.close()

    def check(self, check_id: str) -> dict:
        return next(c for c in self.report()["checks"] if c["check_id"] == check_id)

    def state_rows(self, state: str = "S6") -> list[dict]:
        found = []
        for path in sorted((self.run_root / "reports/layer1/segment_state_runs/segment=3A").glob("*/*.jsonl")):
            found += [json.loads(line) for line in path.read_text().splitlines()]
        return [row for row in found if row["state"] == state]

    def s6_outputs(self) -> dict[str, bytes]:
        return {d: self.path(d).read_bytes() for d in ("s6_validation_report_3A", "s6_issue_table_3A", "s6_receipt_3A")
                if self.path(d).exists()}

    # -- breaking things ---------------------------------------------------------------
    def rewrite_parquet(self, dataset_id: str, statements: str) -> None:
        """Apply SQL `statements` to the partition's rows (table `t`) and write them back
        with the writer options and sort the producers use."""
        root = self.path(dataset_id)
        (part,) = sorted(root.glob("*.parquet"))
        conn = duckdb.connect()
        try:
            conn.execute(f"create table t as select * from read_parquet('{part.as_posix()}', "
                         "hive_partitioning = false)")
            for statement in statements.split(";"):
                if statement.strip():
                    conn.execute(statement)
            keys = [c for c in ("merchant_id", "legal_country_iso", "country_iso", "tzid", "site_order")
                    if c in [d[0] for d in conn.execute("select * from t limit 0").description]]
            staged = part.with_name("_staged.parquet")
            conn.execute(f"copy (select * from t order by {', '.join(keys)}) to '{staged.as_posix()}' ({PWP_OPTIONS})")
        finally:
            conn.close()
        staged.replace(part)

    def rewrite_json(self, dataset_id: str, edit: Callable[[Any], Any], *, canonical: bool = True) -> None:
        path = self.path(dataset_id)
        doc = edit(json.loads(path.read_bytes()))
        path.write_bytes(cj_bytes(doc) if canonical else (json.dumps(doc, sort_keys=True, indent=2) + "\n").encode())

    def rewrite_log(self, log_id: str, edit: Callable[[list[dict]], list[dict]]) -> Path:
        """Rewrite an RNG log's (first) file line by line, keeping the writer's layout."""
        path = self.path(log_id)
        files = sorted(path.parent.glob(path.name)) if "*" in path.name else [path]
        records = [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]
        files[0].write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in edit(records)))
        return files[0]

    def reseal(self, logical_id: str) -> None:
        """Record the artefact's current digest in sealed_inputs_3A, as if S0 had sealed it."""
        digest = sha256_artefact(self.path(logical_id))

        def edit(rows):
            for row in rows:
                if row["logical_id"] == logical_id:
                    row["sha256_hex"] = digest
            return rows

        self.rewrite_json("sealed_inputs_3A", edit)

    def override(self, dataset_id: str) -> Path:
        """Where a file under the run root shadows an external config/reference file."""
        path = self.run_root / "reference" / self.ctx.catalogue_path(dataset_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def query(self, sql: str) -> list[tuple]:
        """A query on the project's DuckDB file (read only)."""
        conn = duckdb.connect(str(self.database), read_only=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def sql(self, query: str) -> list[tuple]:
        """A query over the published partitions: `{dataset_id}` names a partition scan."""
        conn = duckdb.connect()
        try:
            return conn.execute(query.format_map(_Scans(self))).fetchall()
        finally:
            conn.close()


class _Scans(dict):
    def __init__(self, project: S6Project) -> None:
        super().__init__()
        self.project = project

    def __missing__(self, dataset_id: str) -> str:
        return f"read_parquet('{self.project.path(dataset_id).as_posix()}/*.parquet', hive_partitioning = false)"


def build_s6_session(base: Path) -> S6Project:
    """Generate the world against the project's committed policies and reference data,
    then S0..S5 through dbt, Z(c) taken from the shared cached zone-universe build;
    snapshots `pristine` and `s5`."""
    from tests.e2e.conftest import build_zone_universe

    project = S6Project(base / "work")
    if (project.snapshots / "s5" / "seg3a.duckdb").is_file():
        return project
    shutil.rmtree(base, ignore_errors=True)
    project.work.mkdir(parents=True)
    zone_db = build_zone_universe(project.work)
    generate_world(SEED, PAIRS, project.runs_root, default_external_root(), progress=lambda _line: None)
    shutil.copyfile(zone_db, project.database)
    project.save("pristine")
    result = project.dbt("build", *UPSTREAM_SELECTION)
    assert result.ok, result.output[-4000:]
    project.save("s5")
    return project


@pytest.fixture(scope="session")
def s6_session(tmp_path_factory) -> S6Project:
    return build_s6_session(tmp_path_factory.getbasetemp() / "s6")


@pytest.fixture
def s5_done(s6_session) -> S6Project:
    """The small world after S0..S5, before any S6 run."""
    return s6_session.restore("s5")


def escalated_pair(project: S6Project, *, min_zones: int = 3) -> tuple[int, str]:
    """An escalated pair with at least `min_zones` zones in S4 (first in key order)."""
    rows = project.sql(
        "select merchant_id, legal_country_iso from {s4_zone_counts} group by all "
        f"having count(*) >= {min_zones} order by merchant_id, legal_country_iso limit 1")
    return int(rows[0][0]), rows[0][1]


def monolithic_pair(project: S6Project) -> tuple[int, str, int]:
    rows = project.sql(
        "select merchant_id, legal_country_iso, site_count from {s1_escalation_queue} where not is_escalated "
        "order by merchant_id, legal_country_iso limit 1")
    return int(rows[0][0]), rows[0][1], int(rows[0][2])


def issue_keys(project: S6Project, issue_code: str) -> list[tuple]:
    return [(i["merchant_id"], i["legal_country_iso"], i["tzid"]) for i in project.issues()
            if i["issue_code"] == issue_code]


def use_edited_contracts(project: S6Project, relative: str, edit: Callable[[str], str]) -> Path:
    """Point the run's receipt at a copy of the project's contracts with one file edited
    (the run reads every dictionary, registry and schema pack through its receipt)."""
    copy = project.work / "contracts-edited"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "contracts", copy)
    target = copy / relative
    edited = edit(target.read_text())
    assert edited != target.read_text(), f"edit changed nothing in {relative}"
    target.write_text(edited)
    receipt = project.run_root / RECEIPT_NAME
    doc = json.loads(receipt.read_bytes())
    doc["contracts_root"] = str(copy)
    receipt.write_bytes(cj_bytes(doc))
    return copy
