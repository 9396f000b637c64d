"""Fixtures of the S1/S2 end-to-end and negative tests: real worlds, real dbt, real DuckDB.

Session setup, once:

1. Z(c): one `dbt build` of the zone-universe models into a DuckDB file of this worker.
   The spatial overlay comes from the store every build uses
   (`build/zone-universe-cache/<key>/`, seg3a.zones.cache): computed by the first build
   of a checkout (about 30-90 s), reused by every later one.
2. A private external root with the project's reference data linked and its committed
   policies copied (the prior pack checked to cover exactly that Z(c)).
3. A small world (seed 42, 300 pairs) generated against that external root.
4. One full S0..S2 build of it: the `built` snapshot.

Every test then restores a snapshot into the same runs root and DuckDB path (fixed, so
dbt's partial parsing survives from test to test), breaks what it needs, and runs dbt.
The negative test modules import the fixtures from here.
"""
from __future__ import annotations

import json
import os
from contextlib import nullcontext
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from seg3a.core.catalogue import Catalogue
from seg3a.core.context import RunContext
from seg3a.core.identity import RECEIPT_NAME, parse_receipt
from seg3a.core.paths import default_external_root
from seg3a.states.s2_priors import load_string_keys
from seg3a.world.generate import MIN_PAIRS, generate_world
from seg3a.world.reseal import reseal_world
from seg3a.zones.cache import store_dir_for_run
from tests.conftest import exclusive
from tests.e2e.built_runs import two_runs  # noqa: F401  (session fixture shared by several modules)
from tests.e2e.dbt_runner import DbtResult, dbt_command

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The dbt project to run; a copy of the project may be named for isolated work.
DBT_PROJECT = Path(os.environ.get("SEG3A_DBT_PROJECT_DIR", PROJECT_ROOT))
SEED, PAIRS = 42, 300
STATE_MODELS = "+s1_run_report_3A +s2_run_report_3A"
POLICY_TEMPLATES = {
    "zone_mixture_policy": "config/layer1/3A/policy/zone_mixture_policy.yaml",
    "country_zone_alphas": "config/layer1/3A/allocation/country_zone_alphas.yaml",
    "zone_floor_policy": "config/layer1/3A/allocation/zone_floor_policy.yaml",
}


def run_dbt(args: list[str], runs_root: Path, database: Path, work: Path, threads: int | None = None) -> DbtResult:
    env = {
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "SEG3A_RUNS_ROOT": str(runs_root),
        "SEG3A_DUCKDB": str(database),
        "SEG3A_RUN_ID": "",
        "DBT_LOG_PATH": str(work / "dbt-logs"),
        "DBT_TARGET_PATH": str(work / "dbt-target"),
    }
    # The command a user types (README): no vars, and the project directory only when it is
    # another copy of the project. Every test of this worker whose command parses the same
    # way then shares one parse (tests/e2e/dbt_runner.py), the shared builds' included.
    project = [] if DBT_PROJECT == PROJECT_ROOT else ["--project-dir", str(DBT_PROJECT)]
    command = [*args, *project, "--no-use-colors"]
    if threads is not None:
        command += ["--threads", str(threads)]
    return dbt_command(command, env)


_ZONE_DATABASES: dict[Path, Path] = {}


def build_zone_universe(work: Path) -> Path:
    """A DuckDB file of this process holding the Z(c) tables, built once per process by
    `dbt build --select +zone_count_country` (the overlay from the shared store). The
    first build of a checkout computes and stores the overlay: the xdist workers take it
    in turn under a file lock, so only one computes it."""
    if DBT_PROJECT in _ZONE_DATABASES:
        return _ZONE_DATABASES[DBT_PROJECT]
    runs = work / "zc-runs"
    shutil.rmtree(runs, ignore_errors=True)
    database = work / "zc" / "seg3a.duckdb"  # the usual file name: the fork server's parse is shared
    shutil.rmtree(database.parent, ignore_errors=True)
    database.parent.mkdir(parents=True)
    run_root = generate_world(SEED, PAIRS, runs, default_external_root(), progress=lambda _line: None)
    stored = (store_dir_for_run(run_root, DBT_PROJECT) / "zone_universe_candidates.parquet").is_file()
    with nullcontext() if stored else exclusive("zone-universe-store"):
        result = run_dbt(["build", "--select", "+zone_count_country"], runs, database, work)
    assert result.ok, result.output[-4000:]
    _ZONE_DATABASES[DBT_PROJECT] = database
    return database


def make_external_root(base: Path, zone_db: Path) -> Path:
    """A private external root: the project's reference data linked and its committed
    policies copied. The committed prior pack must cover exactly the Z(c) in `zone_db`
    (05 §10.7); when it does not, S2 cannot pass and the session stops here."""
    root = base / "external"
    root.mkdir()
    (root / "reference").symlink_to(default_external_root() / "reference", target_is_directory=True)
    shutil.copytree(default_external_root() / "config", root / "config")
    pack = load_string_keys((root / POLICY_TEMPLATES["country_zone_alphas"]).read_bytes())
    listed = {(c, a["tzid"]) for c, entry in pack["countries"].items() for a in entry["tzid_alphas"]}
    conn = duckdb.connect(str(zone_db), read_only=True)
    try:
        universe = set(conn.execute("select country_iso, tzid from main.zone_universe").fetchall())
    finally:
        conn.close()
    assert listed == universe, (
        f"the committed country_zone_alphas does not match Z(c) (pack only: {sorted(listed - universe)[:5]}, "
        f"Z(c) only: {sorted(universe - listed)[:5]}); rebuild it with `seg3a policies build`")
    return root


class Seg3aProject:
    """One run root and one DuckDB file at fixed paths, restored from snapshots."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.runs_root = work / "runs"
        self.database = work / "seg3a.duckdb"
        self.snapshots = work / "snapshots"

    # -- snapshots ------------------------------------------------------------------
    def save(self, name: str) -> None:
        target = self.snapshots / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.runs_root, target / "runs", symlinks=True)
        shutil.copyfile(self.database, target / "seg3a.duckdb")

    def restore(self, name: str) -> "Seg3aProject":
        source = self.snapshots / name
        shutil.rmtree(self.runs_root, ignore_errors=True)
        shutil.copytree(source / "runs", self.runs_root, symlinks=True)
        shutil.copyfile(source / "seg3a.duckdb", self.database)
        return self

    # -- dbt --------------------------------------------------------------------------
    def dbt(self, *args: str, threads: int | None = None) -> DbtResult:
        return run_dbt(list(args), self.runs_root, self.database, self.work, threads)

    def build(self, select: str = STATE_MODELS, threads: int | None = None) -> DbtResult:
        """S0..S2 (and staging); Z(c) comes from the restored DuckDB file."""
        return self.dbt("build", "--select", *select.split(), "--exclude", "tag:zone_universe", threads=threads)

    # -- the run ------------------------------------------------------------------------
    @property
    def run_root(self) -> Path:
        (root,) = [p for p in self.runs_root.iterdir() if (p / RECEIPT_NAME).is_file()]
        return root

    @property
    def ctx(self) -> RunContext:
        """The run, always seen through the project's own contracts (a scenario may point
        the receipt at a broken copy for the states to trip over)."""
        ctx = RunContext.from_receipt(parse_receipt(self.run_root / RECEIPT_NAME))
        return replace(ctx, catalogue=Catalogue(PROJECT_ROOT / "contracts"))

    def path(self, dataset_id: str) -> Path:
        return self.ctx.path(dataset_id)

    def override(self, dataset_id: str) -> Path:
        """Where a file placed under the run root shadows an external config/reference file."""
        rel = self.ctx.catalogue_path(dataset_id)
        path = self.run_root / "reference" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def report(self, state: str) -> dict:
        return json.loads(self.path(f"{state.lower()}_run_report_3A").read_bytes())

    def state_rows(self, state: str) -> list[dict]:
        ctx = self.ctx
        found = []
        for path in sorted((self.run_root / "reports/layer1/segment_state_runs/segment=3A").glob("*/*.jsonl")):
            found += [json.loads(line) for line in path.read_text().splitlines()]
        return [row for row in found if row["state"] == state and row["run_id"] == ctx.tokens.run_id]

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple]:
        conn = duckdb.connect(str(self.database))
        try:
            return conn.execute(query, params or []).fetchall()
        finally:
            conn.close()

    def policy_text(self, dataset_id: str) -> str:
        return self.path(dataset_id).read_text(encoding="utf-8")


def session_project(base: Path, pairs: int, build_s0_s2: bool = True) -> Seg3aProject:
    """A project on a fresh world of `pairs` pairs under `base`: snapshot `pristine`
    (world + Z(c)), and with `build_s0_s2` also `built` (after a passing S0..S2 build).
    Set up once per session: a second call returns the project already there."""
    project = Seg3aProject(base / "work")
    last = "built" if build_s0_s2 else "pristine"
    if (project.snapshots / last / "seg3a.duckdb").is_file():
        return project  # set up already by another module object of this file
    shutil.rmtree(base, ignore_errors=True)
    project.work.mkdir(parents=True)
    zone_db = build_zone_universe(project.work)
    external = make_external_root(base, zone_db)
    generate_world(SEED, pairs, project.runs_root, external, progress=lambda _line: None)
    shutil.copyfile(zone_db, project.database)
    project.save("pristine")
    if build_s0_s2:
        result = project.build()
        assert result.ok, result.output[-4000:]
        project.save("built")
    return project


@pytest.fixture(scope="session")
def s1s2_session(tmp_path_factory) -> Seg3aProject:
    """The session's project on the small world (300 pairs) with two snapshots:
    `pristine` (world + Z(c)) and `built` (after a passing S0..S2 build)."""
    return session_project(tmp_path_factory.getbasetemp() / "s1s2", PAIRS)


@pytest.fixture(scope="session")
def tiny_session(tmp_path_factory) -> Seg3aProject:
    """A project on the smallest world the generator makes (MIN_PAIRS pairs), snapshot
    `pristine` only: for tests that run many whole builds and need no size."""
    return session_project(tmp_path_factory.getbasetemp() / "tiny", MIN_PAIRS, build_s0_s2=False)


@pytest.fixture
def fresh(s1s2_session) -> Seg3aProject:
    """The small world before any 3A state ran, with Z(c) in the DuckDB file."""
    return s1s2_session.restore("pristine")


@pytest.fixture
def built(s1s2_session) -> Seg3aProject:
    """The small world after a passing S0..S2 build."""
    return s1s2_session.restore("built")




# ------------------------------------------------------------------ broken-input scenarios
# A scenario restores a snapshot, breaks inputs for S1 and/or S2, and runs dbt once; the
# S1 and S2 negative tests both read its outcome (cached per session on disk), so one
# invocation can provoke an S1 code and an S2 code at the same time. Scenarios on the
# `built` snapshot first remove the published S1/S2 outputs and reports, so that what
# is asserted comes from this invocation alone.

@dataclass(frozen=True)
class Scenario:
    name: str
    base: str
    select: str
    breaks: Any  # Callable[[Seg3aProject], dict | None]


SCENARIOS: dict[str, Scenario] = {}
S1_S2_MODELS_ONLY = "tag:s1 tag:s2"


def scenario(name: str, base: str = "pristine", select: str = STATE_MODELS):
    def register(breaks):
        SCENARIOS[name] = Scenario(name, base, select, breaks)
        return breaks
    return register


def clear_state_outputs(project: Seg3aProject) -> None:
    for dataset_id in ("s1_escalation_queue", "s2_country_zone_priors", "s1_run_report_3A", "s2_run_report_3A"):
        path = project.path(dataset_id)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def scenario_outcome(project: Seg3aProject, name: str) -> dict:
    """Run a scenario once per session; what the tests assert on."""
    cache = project.work / "outcomes" / f"{name}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    spec = SCENARIOS[name]
    project.restore(spec.base)
    if spec.base == "built":
        clear_state_outputs(project)
    facts = spec.breaks(project) or {}
    result = project.build(spec.select)
    reports = {}
    for state in ("S1", "S2"):
        path = project.path(f"{state.lower()}_run_report_3A")
        reports[state] = json.loads(path.read_bytes()) if path.is_file() else None
    outcome = {
        "ok": result.ok,
        "output": result.output,
        "facts": facts,
        "reports": reports,
        "rows": {state: project.state_rows(state) for state in ("S1", "S2")},
        "published": {d: project.path(d).exists() for d in ("s1_escalation_queue", "s2_country_zone_priors")},
        "partition_columns": {d: partition_columns(project.path(d)) for d in ("s1_escalation_queue", "s2_country_zone_priors")},
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(outcome, default=str))
    return outcome


def partition_columns(partition: Path) -> list[str] | None:
    import pyarrow.parquet as pq

    part = partition / "part-00000.parquet"
    return pq.read_schema(part).names if part.is_file() else None


# -- helpers that break inputs --------------------------------------------------------
def rewrite_partition(root: Path, transform, cast: bool = True, **write_options: Any) -> None:
    """Replace a Parquet partition by transform(rows), same schema unless `cast` is off."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(root.glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    changed = transform(table)
    changed = changed.cast(table.schema) if cast else changed
    for part in parts:
        part.unlink()
    pq.write_table(changed, root / "part-00000.parquet", compression="zstd", **write_options)


def rewrite_outlets(project: Seg3aProject, transform, resealed: bool = True, cast: bool = True,
                    **write_options: Any) -> None:
    """Replace the outlet_catalogue partition by transform(rows), same schema. `resealed`:
    as an upstream re-emit would, site_timezones gets the same edit (its keys equal the
    outlet keys; `transform` may use only the key columns) and the 1A/2A bundles attest
    the new bytes, so S0's egress checks pass and the data reaches the later states."""
    rewrite_partition(project.path("outlet_catalogue"), transform, cast, **write_options)
    if resealed:
        if project.path("site_timezones").is_dir():
            rewrite_partition(project.path("site_timezones"), transform, cast, **write_options)
        reseal_world(project.path, project.ctx.tokens.seed)


def first_pair_mask(table):
    import pyarrow.compute as pc

    merchant, country = table["merchant_id"][0], table["legal_country_iso"][0]
    return pc.and_(pc.equal(table["merchant_id"], merchant), pc.equal(table["legal_country_iso"], country))


def set_column(table, name: str, mask, value):
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table[name]
    replaced = pc.if_else(mask, pa.scalar(value, column.type), column)
    return table.set_column(table.schema.get_field_index(name), name, replaced)


def load_policy(project: Seg3aProject, dataset_id: str) -> dict:
    return load_string_keys(project.path(dataset_id).read_bytes())


def write_policy(project: Seg3aProject, dataset_id: str, doc: dict) -> None:
    """Shadow the external policy file with `doc` under the run root (S0 seals it)."""
    project.override(dataset_id).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def edit_json(path: Path, edit) -> None:
    doc = json.loads(path.read_bytes())
    path.write_text(json.dumps(edit(doc) or doc))


def multi_zone_country(project: Seg3aProject, minimum: int = 2) -> str:
    pack = load_policy(project, "country_zone_alphas")
    return sorted(c for c, entry in pack["countries"].items() if len(entry["tzid_alphas"]) >= minimum)[0]


def outlet_country(project: Seg3aProject) -> str:
    import pyarrow.parquet as pq

    part = sorted(project.path("outlet_catalogue").glob("*.parquet"))[0]
    return pq.read_table(part, columns=["legal_country_iso"])["legal_country_iso"][0].as_py()


# -- the scenarios ----------------------------------------------------------------------
@scenario("s0_gate_failed")
def _s0_gate_failed(project):
    flag = project.path("validation_passed_flag_1A")
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")


@scenario("receipt_missing", base="built", select=S1_S2_MODELS_ONLY)
def _receipt_missing(project):
    project.path("s0_gate_receipt_3A").unlink()


@scenario("upstream_gate_not_pass", base="built", select=S1_S2_MODELS_ONLY)
def _upstream_gate_not_pass(project):
    def fail_1b(receipt):
        receipt["upstream_gates"]["segment_1B"]["status"] = "FAIL"
    edit_json(project.path("s0_gate_receipt_3A"), fail_1b)


@scenario("policies_not_sealed", base="built", select=S1_S2_MODELS_ONLY)
def _policies_not_sealed(project):
    def drop(receipt):
        receipt["sealed_policy_set"] = [p for p in receipt["sealed_policy_set"]
                                        if p["logical_id"] not in ("zone_mixture_policy", "country_zone_alphas")]
    edit_json(project.path("s0_gate_receipt_3A"), drop)


@scenario("sealed_bytes_changed", base="built", select=S1_S2_MODELS_ONLY)
def _sealed_bytes_changed(project):
    rewrite_outlets(project, lambda table: table, resealed=False, row_group_size=1000)
    pack = project.path("country_zone_alphas").read_bytes()
    project.override("country_zone_alphas").write_bytes(pack + b"# edited after sealing\n")


@scenario("input_not_inventoried", base="built", select=S1_S2_MODELS_ONLY)
def _input_not_inventoried(project):
    edit_json(project.path("sealed_inputs_3A"),
              lambda rows: [r for r in rows if r["logical_id"] != "tz_world_2025a"])


@scenario("outlet_catalogue_absent", base="built", select="tag:s1")
def _outlet_catalogue_absent(project):
    shutil.rmtree(project.path("outlet_catalogue"))


@scenario("catalogue_malformed", base="built", select=S1_S2_MODELS_ONLY)
def _catalogue_malformed(project):
    contracts = project.work / "contracts-without-outputs"
    shutil.rmtree(contracts, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "contracts", contracts)
    dictionary = contracts / "dictionaries" / "dataset_dictionary.layer1.3A.yaml"
    doc = yaml.safe_load(dictionary.read_bytes())
    doc["datasets"] = [d for d in doc["datasets"] if d["id"] not in ("s1_escalation_queue", "s2_country_zone_priors")]
    dictionary.write_text(yaml.safe_dump(doc, sort_keys=False))
    edit_json(project.run_root / RECEIPT_NAME, lambda receipt: receipt.update(contracts_root=str(contracts)))


@scenario("policies_fail_runtime_checks")
def _policies_fail_runtime_checks(project):
    mixture = load_policy(project, "zone_mixture_policy")
    mixture["theta_mix"] = 0.9
    mixture["rules"] = mixture["rules"][:2]
    write_policy(project, "zone_mixture_policy", mixture)
    pack = load_policy(project, "country_zone_alphas")
    country = multi_zone_country(project)
    alphas = pack["countries"][country]["tzid_alphas"]
    alphas.append(dict(alphas[0]))
    write_policy(project, "country_zone_alphas", pack)
    return {"country_iso": country, "tzid": alphas[0]["tzid"]}


@scenario("empty_catalogue_and_duplicate_floor")
def _empty_catalogue_and_duplicate_floor(project):
    rewrite_outlets(project, lambda table: table.slice(0, 0))
    floors = load_policy(project, "zone_floor_policy")
    floors["floors"].append(dict(floors["floors"][0]))
    write_policy(project, "zone_floor_policy", floors)
    return {"tzid": floors["floors"][0]["tzid"]}


@scenario("unknown_country")
def _unknown_country(project):
    """A prior-pack country outside ISO 3166 (S2's check; the pack is policy, not upstream data)."""
    pack = load_policy(project, "country_zone_alphas")
    pack["countries"]["ZZ"] = {"tzid_alphas": [{"tzid": "Etc/UTC", "alpha": 1.0}]}
    write_policy(project, "country_zone_alphas", pack)


@scenario("outlet_country_not_iso")
def _outlet_country_not_iso(project):
    """An outlet country outside ISO 3166, re-sealed by 1A/2A: S0 refuses it (E3A_S0_001)."""
    rewrite_outlets(project, lambda table: set_column(table, "legal_country_iso", first_pair_mask(table), "ZZ"))


@scenario("unknown_legal_country", base="built", select="int_s1__country_zones_checked+")
def _unknown_legal_country(project):
    """S0 refuses an outlet country outside ISO 3166, so S1's own guard (02 §6.5) is
    provoked through its aggregate of the outlets."""
    merchant, country = project.sql("select merchant_id, legal_country_iso from main.int_s1__site_counts_aggregated "
                                    "order by all limit 1")[0]
    project.sql("update main.int_s1__site_counts_aggregated set legal_country_iso = 'ZZ' "
                "where merchant_id = ? and legal_country_iso = ?", [merchant, country])


@scenario("empty_zone_universe")
def _empty_zone_universe(project):
    country = outlet_country(project)
    project.sql("delete from main.zone_universe where country_iso = ?", [country])
    project.sql("delete from main.zone_count_country where country_iso = ?", [country])
    return {"country_iso": country}


@scenario("tz_release_mismatch")
def _tz_release_mismatch(project):
    manifest = project.path("tz_timetable_cache") / "tz_timetable_cache.json"
    edit_json(manifest, lambda doc: doc.update(tzdb_release_tag="2026b"))
    reseal_world(project.path, project.ctx.tokens.seed)  # 2A attests the edited manifest


@scenario("queue_row_out_of_schema", base="built", select="int_s1__decisions_replayed+")
def _queue_row_out_of_schema(project):
    """Upstream rows out of schema are refused by S0 (E3A_S0_001); S1's output check is
    provoked by a lineage value that breaks the queue's theta_digest pattern."""
    project.sql("update main.int_s1__mixture_policy_validated set theta_digest = 'not-hex'")


@scenario("extra_tzid")
def _extra_tzid(project):
    pack = load_policy(project, "country_zone_alphas")
    country = multi_zone_country(project)
    zones = {a["tzid"] for a in pack["countries"][country]["tzid_alphas"]}
    extra = next(z for z in ("Antarctica/Troll", "Europe/Paris", "Asia/Tokyo") if z not in zones)
    pack["countries"][country]["tzid_alphas"].append({"tzid": extra, "alpha": 1.0})
    write_policy(project, "country_zone_alphas", pack)
    return {"country_iso": country, "tzid": extra}


@scenario("pack_missing_zone")
def _pack_missing_zone(project):
    pack = load_policy(project, "country_zone_alphas")
    country = multi_zone_country(project)
    removed = pack["countries"][country]["tzid_alphas"].pop()
    write_policy(project, "country_zone_alphas", pack)
    return {"country_iso": country, "tzid": removed["tzid"]}


@scenario("alpha_overflow")
def _alpha_overflow(project):
    pack = load_policy(project, "country_zone_alphas")
    country = multi_zone_country(project)
    for item in pack["countries"][country]["tzid_alphas"]:
        item["alpha"] = 1.0e308
    write_policy(project, "country_zone_alphas", pack)
    return {"country_iso": country}


@scenario("existing_different_outputs")
def _existing_different_outputs(project):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for dataset_id in ("s1_escalation_queue", "s2_country_zone_priors"):
        target = project.path(dataset_id)
        target.mkdir(parents=True)
        pq.write_table(pa.table({"placeholder": pa.array([1], pa.int64())}), target / "part-00000.parquet")


@scenario("reference_unreadable")
def _reference_unreadable(project):
    """A reference file S1 and S2 read but S0 only seals (S0 reads iso3166 itself, for the
    outlet countries, and would stop first)."""
    original = project.path("world_countries")
    shadow = project.override("world_countries")
    shadow.write_bytes(b"this is not a parquet file\n")
    sidecar = original.with_name(f"{original.stem}.manifest.json")
    shutil.copyfile(sidecar, shadow.with_name(sidecar.name))


@scenario("decision_and_lineage_tampered", base="built",
          select="int_s1__decisions_replayed+ s2_country_zone_priors+")
def _decision_and_lineage_tampered(project):
    project.sql(
        "update main.int_s1__pairs_decided set decision_reason = 'legacy_default', is_escalated = false, "
        "eligible_for_escalation = true where (merchant_id, legal_country_iso) = ("
        "select (merchant_id, legal_country_iso) from main.int_s1__pairs_decided "
        "where decision_reason = 'forced_escalation' order by merchant_id, legal_country_iso limit 1)"
    )
    project.sql("update main.int_s2__prior_pack_validated set prior_pack_version = 'v9.9.9'")


@scenario("site_count_and_share_tampered", base="built",
          select="int_s1__decisions_replayed+ s2_country_zone_priors+")
def _site_count_and_share_tampered(project):
    project.sql(
        "update main.int_s1__pairs_decided set site_count = site_count + 1 "
        "where (merchant_id, legal_country_iso) = (select (merchant_id, legal_country_iso) "
        "from main.int_s1__pairs_decided where decision_reason = 'forced_monolithic' and site_count between 3 and 30 "
        "order by merchant_id, legal_country_iso limit 1)"
    )
    project.sql(
        "update main.int_s2__alpha_floored set share_effective = 1.5 where (country_iso, tzid) = ("
        "select (country_iso, tzid) from main.int_s2__alpha_floored order by country_iso, tzid limit 1)"
    )


@scenario("extra_decided_pair", base="built", select="int_s1__decisions_replayed+")
def _extra_decided_pair(project):
    project.sql(
        "insert into main.int_s1__pairs_decided by name "
        "select 999999999999::ubigint as merchant_id, legal_country_iso, 5::bigint as site_count, zone_count_country, "
        "rule_rank, 'forced_monolithic' as decision_reason, false as is_escalated, false as eligible_for_escalation, "
        "null as dominant_zone_share_bucket, false as smooth_band_escalated, 0.0 as smooth_band_probability, "
        "null as smooth_band_u, null as theta_mix_u "
        "from main.int_s1__pairs_decided where decision_reason = 'forced_monolithic' "
        "order by merchant_id, legal_country_iso limit 1"
    )
