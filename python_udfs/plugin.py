"""dbt-duckdb plugin: loads the spatial extension from the installed wheel (never INSTALL),
registers every seg3a UDF from one registry table, and exposes the selected run as DuckDB
macros of the run's database, created once per database and seen by every cursor of it:
its identity and Z(c) rule values, `<name>()` (`seg3a_run_id()`,
`seg3a_zone_rule__min_overlap_km2()`, ...), and the physical location of every dictionary
dataset, `seg3a_loc__<dataset_id>()`, so that SQL models read the macro (Jinja macro
`seg3a_location`) instead of literal paths."""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dbt.adapters.duckdb.plugins import BasePlugin

if TYPE_CHECKING:
    from seg3a.core.context import RunContext


@dataclass(frozen=True)
class Udf:
    name: str
    function: Callable
    parameters: list[str]
    return_type: str
    side_effects: bool = False


def _report_failed_states(payloads, run_roots):
    """on-run-end hook: FAIL run reports of the states that failed (seg3a.states.common)."""
    from seg3a.states.common import report_failed_states_arrow

    return report_failed_states_arrow(payloads, run_roots)


@functools.cache
def udf_registry() -> tuple[Udf, ...]:
    """One row per SQL function: name (prefixed s3a_), Python callable, DuckDB types. The
    UDFs' modules (NumPy, pyarrow, the sampler) are imported here, on the first call, which
    the first connection makes beside the spatial extension's LOAD (configure_connection)."""
    from . import dirichlet_udf, digests, egress_udf, integerise, publishing, sql_udfs, zone_store

    return (
        Udf("s3a_sha256_hex", digests.sha256_hex_arrow, ["VARCHAR"], "VARCHAR"),
        Udf("s3a_sha256_hexcat", digests.sha256_hexcat_arrow, ["VARCHAR[]"], "VARCHAR"),
        Udf("s3a_hash_uniform", sql_udfs.hash_uniform_arrow, ["VARCHAR", "UBIGINT", "VARCHAR", "VARCHAR"], "DOUBLE"),
        Udf("s3a_make_stage", publishing.make_stage_arrow, ["VARCHAR"], "VARCHAR", side_effects=True),
        Udf("s3a_checked_stage", publishing.checked_stage_arrow, ["VARCHAR"], "VARCHAR", side_effects=True),
        Udf("s3a_commit_partition", publishing.commit_partition_arrow, ["VARCHAR"] * 4, "VARCHAR", side_effects=True),
        Udf("s3a_report_failed_states", _report_failed_states, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True),
        Udf("s3a_dirichlet_draw", dirichlet_udf.dirichlet_draw_arrow, dirichlet_udf.DRAW_PARAMETERS,
            dirichlet_udf.DRAW_RETURN_TYPE),
        Udf("s3a_integerise", integerise.integerise_arrow, integerise.INTEGERISE_PARAMETERS,
            integerise.INTEGERISE_RETURN_TYPE),
        Udf("s3a_run_summary", egress_udf.run_summary_arrow, ["VARCHAR"], "VARCHAR", side_effects=True),
        Udf("s3a_stored_file", zone_store.stored_file_arrow, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True),
        Udf("s3a_stored_file_reusable", zone_store.stored_file_reusable_arrow, ["VARCHAR"], "BOOLEAN",
            side_effects=True),
        Udf("s3a_publish_stored_file", zone_store.publish_stored_file_arrow, ["VARCHAR", "VARCHAR"], "VARCHAR",
            side_effects=True),
    )


def __getattr__(name: str) -> Any:
    """`UDF_REGISTRY`, the registry as a module attribute (the Spark target and the tests
    read it so), built on first access."""
    if name == "UDF_REGISTRY":
        return udf_registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What to do when another process has the build's DuckDB file open.
BUILD_DATABASE_FIX = ("close that process (a DuckDB shell, `seg3a shell` or a Python session with this file open; "
                      "even a read-only one blocks a build), then rerun; SEG3A_LOCK_WAIT=<seconds> waits for it")


class PluginConfigError(ValueError):
    """The plugin's profile configuration is invalid."""


def environment_settings() -> dict[str, tuple[str, str]]:
    """Each plugin setting's environment variable and default, for a setting the profile
    leaves out (or empty). The plugin reads them when dbt opens the database instead of
    profiles.yml rendering them with env_var(): dbt keys its partial parsing on the
    profile's connection values, the plugins' config among them, so a value rendered there
    made every change of run (SEG3A_RUN_ID, as `make build SEED=…` sets it) or of a DuckDB
    resource re-parse the whole project (about 3.4 CPU s), though no parsed node depends on
    them."""
    from seg3a.core.duck import RESOURCE_SETTINGS

    return {
        "runs_root": ("SEG3A_RUNS_ROOT", "build/runs"),
        "run_id": ("SEG3A_RUN_ID", ""),
        "database_dir": ("SEG3A_DUCKDB_DIR", "build/duckdb"),
        **{name: (variable, "") for name, variable in RESOURCE_SETTINGS.items()},
    }


def plugin_settings(plugin_config: dict[str, Any]) -> dict[str, str]:
    """The plugin's settings: the profile's value where it gives a non-empty one, else the
    environment variable's, else the default; an unknown key is E3A_PLUGIN_CONFIG."""
    sources = environment_settings()
    unknown = set(plugin_config) - set(sources)
    if unknown:
        raise PluginConfigError(f"E3A_PLUGIN_CONFIG: unknown plugin config keys {sorted(unknown)}")
    return {name: str(plugin_config.get(name) or os.environ.get(variable) or default)
            for name, (variable, default) in sources.items()}


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        from seg3a.core.duck import RESOURCE_SETTINGS, resource_settings, spatial_connect_config

        settings = plugin_settings(plugin_config)
        self.runs_root = settings["runs_root"] or None
        self.run_id = settings["run_id"] or None
        # DuckDB memory_limit / threads / temp_directory (empty: DuckDB's default)
        self.resources = resource_settings({k: settings[k] for k in RESOURCE_SETTINGS})
        self.database_dir = settings["database_dir"] or None
        self.variables: dict[str, Any] = {}
        self._opened = None  # the connection update_connection_config opened (see there)
        # Decided once per plugin (one database file): DuckDB refuses a second connection to
        # a file it has open under other settings, so a build never changes them midway.
        self.spatial_config = spatial_connect_config()

    def update_connection_config(self, creds, config: dict[str, Any]) -> None:
        # Called just before dbt-duckdb opens the database. First point it at the selected
        # run's own file (seg3a.core.run_database), so that runs never overwrite each other;
        # then take the build locks, which turn a second build on the same run root or
        # database into a message naming the holder, and open the file the way dbt-duckdb
        # is about to (same mode and config), which turns a file held by any other process
        # (a DuckDB shell, a Python session) into such a message too. That connection stays
        # open until configure_connection: dbt-duckdb's connect then shares its database
        # instance, so no other process can take the file in between.
        from seg3a.core.duck import open_file
        from seg3a.core.locks import LockHeld, hold_build_locks, is_database_file

        # The spatial extension's signature is checked once per process (seg3a.core.duck):
        # skipped when a parent checked it before forking this build (see initialize).
        config.update(self.spatial_config)
        run = selected_run(self.runs_root, self.run_id)
        if self.database_dir:
            creds.path = str(run_database_path(run, self.database_dir))
        database = getattr(creds, "path", None)
        try:
            hold_build_locks(run.run_root if run else None, database)
            if is_database_file(database):
                self._opened = open_file(database, config=config, fix=BUILD_DATABASE_FIX)
        except LockHeld as exc:
            raise RuntimeError(str(exc)) from None

    def configure_connection(self, conn) -> None:
        from seg3a.core.duck import apply_resource_settings, load_spatial

        if self._opened is not None:  # dbt-duckdb's connection now holds the database
            self._opened.close()
            self._opened = None
        try:
            apply_resource_settings(conn, self.resources)
        except ValueError as exc:
            raise PluginConfigError(f"E3A_PLUGIN_CONFIG: {exc}") from exc
        # DuckDB hashes the 81 MB spatial extension to check its signature on the first LOAD
        # of a process, without holding Python's lock; meanwhile this thread imports the
        # UDFs' modules. Each was about 0.4 s of the first connection's wall time, one after
        # the other. The LOAD runs on a cursor of the database (an extension is loaded for
        # the whole database); nothing else uses the connection until it has finished.
        loading = conn.cursor()
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="seg3a-spatial") as pool:
                loaded = pool.submit(load_spatial, loading)
                registry = udf_registry()
                loaded.result()
        finally:
            loading.close()
        for udf in registry:
            conn.create_function(
                udf.name, udf.function, udf.parameters, udf.return_type,
                type="arrow", side_effects=udf.side_effects, null_handling="special",
            )
        self.variables = run_variables(self.runs_root, self.run_id)
        # Macros of the database, seen by every cursor of it. dbt opens a cursor per node
        # (and more for hooks and Python models), about 126 per build, and DuckDB variables
        # belong to one cursor: setting the nine values as variables on each cost about
        # 1.6 ms of CPU per cursor (a MAP variable of the ~40 locations another 1.1 ms).
        create_database_macros(conn, self.variables)


def run_database_path(run: RunContext | None, database_dir: str) -> Path:
    """The selected run's database (SEG3A_DUCKDB wins). Without a usable run the build
    fails in S0 with the reason; it then runs on a private scratch database, so that an
    unknown run id leaves no folder named after it."""
    import atexit
    import shutil
    import tempfile

    from seg3a.core.run_database import DATABASE_FILE, run_database

    if run is None:
        if os.environ.get("SEG3A_DUCKDB"):
            return Path(os.environ["SEG3A_DUCKDB"])
        scratch = tempfile.mkdtemp(prefix="seg3a-no-run-")
        atexit.register(shutil.rmtree, scratch, True)
        return Path(scratch) / DATABASE_FILE
    path = run_database(run.tokens.run_id, database_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def sql_literal(value: Any) -> str:
    """DuckDB literal of a run value: VARCHAR, DOUBLE (parsed from its shortest repr, so
    the value is exact), BIGINT or VARCHAR[]; None is a VARCHAR NULL."""
    if value is None:
        return "CAST(NULL AS VARCHAR)"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        raise PluginConfigError(f"E3A_PLUGIN_CONFIG: unsupported variable value {value!r}")
    if isinstance(value, int):
        return f"CAST({value} AS BIGINT)"
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return "CAST([" + ", ".join(sql_literal(item) for item in value) + "] AS VARCHAR[])"
    raise PluginConfigError(f"E3A_PLUGIN_CONFIG: unsupported variable value {value!r}")


# The run value holding the dataset locations (dataset id -> path); the plugin turns it into
# the location macros, not into a variable.
LOCATIONS = "seg3a_loc"
LOCATION_MACRO_PREFIX = "seg3a_loc__"


def identity_values() -> tuple[str, ...]:
    """The run values every build's SQL may read besides the Z(c) rule values: NULL macros
    when there is no usable run (the context error says why), so that the SQL still binds
    and S0 reports the reason."""
    from seg3a.core.context import CONTEXT_ERROR_VARIABLE, RUN_ROOT_VARIABLE

    return (RUN_ROOT_VARIABLE, "seg3a_run_id", "seg3a_seed", "seg3a_parameter_hash", "seg3a_manifest_fingerprint",
            CONTEXT_ERROR_VARIABLE)


def value_macros_statement(variables: dict[str, Any], temp: bool = False) -> str:
    """`CREATE OR REPLACE MACRO <name>() AS <literal>` for every run value but the locations
    (`temp`: macros of the session only, which shadow the database's), the identity values
    a run lacks returning NULL."""
    values = dict.fromkeys(identity_values())
    values.update((name, value) for name, value in variables.items() if name != LOCATIONS)
    return _macros_statement({_checked_name(name, "run value name"): sql_literal(value)
                              for name, value in values.items()}, temp)


def location_macros_statement(variables: dict[str, Any], temp: bool = False) -> str:
    """`CREATE OR REPLACE MACRO seg3a_loc__<dataset_id>() AS '<path>'` for every dictionary
    dataset of the run (`temp`: macros of the session only, which shadow the database's,
    as the DuckDB shell needs). Without a usable run every dataset of the dictionary gets a
    macro that fails with the reason (the run values' context error)."""
    from seg3a.core.context import CONTEXT_ERROR_VARIABLE

    locations = variables.get(LOCATIONS) or {}
    problem = variables.get(CONTEXT_ERROR_VARIABLE)
    if problem:
        locations = {dataset_id: None for dataset_id in dictionary_dataset_ids()}
    return _macros_statement({
        LOCATION_MACRO_PREFIX + _checked_name(dataset_id, "dataset id"):
            sql_literal(path) if path is not None
            else f"error({sql_literal(f'E3A: no location for {dataset_id}: {problem}')})"
        for dataset_id, path in locations.items()
    }, temp)


def _checked_name(name: str, what: str) -> str:
    """`name`, if it can name a macro as it is (letters, digits, underscores)."""
    if not name.replace("_", "").isalnum():
        raise PluginConfigError(f"E3A_PLUGIN_CONFIG: invalid {what} {name!r}")
    return name


def _macros_statement(bodies: dict[str, str], temp: bool) -> str:
    """`CREATE OR REPLACE [TEMP] MACRO <name>() AS <body>` for each name, `;`-joined."""
    kind = "TEMP MACRO" if temp else "MACRO"
    return "; ".join(f"CREATE OR REPLACE {kind} {name}() AS {body}" for name, body in bodies.items())


def create_database_macros(conn, variables: dict[str, Any]) -> None:
    """The run values and locations as macros of `conn`'s database, all in one transaction:
    in autocommit each of the ~50 CREATEs is a commit of its own, with its write-ahead-log
    write and sync, which made them 0.07-0.24 s of the first connection's wall time against
    0.01-0.03 s in one. A failing statement rolls back the ones before it."""
    statements = "; ".join(s for s in (location_macros_statement(variables), value_macros_statement(variables)) if s)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(statements)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def run_values_statement(variables: dict[str, Any]) -> str:
    """What a session outside dbt runs to read the run as the models do (the DuckDB shell,
    the Spark target's hand-over): the values and the locations as session macros."""
    return "; ".join(s for s in (value_macros_statement(variables, temp=True),
                                 location_macros_statement(variables, temp=True)) if s)


def dictionary_dataset_ids(catalogue=None) -> list[str]:
    """The 3A dataset ids that have a location per run (paths without a `{utc_day}`), of
    `catalogue` or else of the project's contracts."""
    if catalogue is None:
        from seg3a.core.catalogue import Catalogue
        from seg3a.core.paths import contracts_root

        catalogue = Catalogue(contracts_root())
    return [dataset_id for dataset_id, entry in catalogue.dictionary_entries["3A"].items()
            if "{utc_day}" not in entry["path"]]


def run_variables(runs_root: str | None, run_id: str | None) -> dict[str, Any]:
    """Identity and dataset locations of the selected run. Without a usable receipt only
    the error is exposed; S0 turns it into E3A_S0_010 when the build starts."""
    from seg3a.core.context import CONTEXT_ERROR_VARIABLE, RUN_ROOT_VARIABLE, RunContext

    try:
        ctx = RunContext.resolve(runs_root, run_id)
    except Exception as exc:  # surfaced by S0 with its code, not at connection time
        from seg3a.core.paths import contracts_root, default_runs_root
        from seg3a.core.run_database import run_selection_problem

        wanted = run_id or os.environ.get("SEG3A_RUN_ID") or None
        return {
            CONTEXT_ERROR_VARIABLE: run_selection_problem(runs_root or default_runs_root(), wanted, exc),
            LOCATIONS: {},
            **zone_rule_variables(contracts_root()),
        }
    # Only what the models read.
    variables = {
        RUN_ROOT_VARIABLE: str(ctx.run_root),
        "seg3a_run_id": ctx.tokens.run_id,
        "seg3a_seed": str(ctx.tokens.seed),
        "seg3a_parameter_hash": ctx.tokens.parameter_hash,
        "seg3a_manifest_fingerprint": ctx.tokens.manifest_fingerprint,
    }
    variables.update(zone_rule_variables(ctx.catalogue.root))
    variables[LOCATIONS] = {
        dataset_id: str(ctx.path(dataset_id)) for dataset_id in dictionary_dataset_ids(ctx.catalogue)
    }
    return variables


def selected_run(runs_root: str | None, run_id: str | None) -> RunContext | None:
    """The run the build will process; None when no usable receipt selects one
    (S0 reports that with its own code)."""
    from seg3a.core.context import RunContext

    try:
        return RunContext.resolve(runs_root, run_id)
    except Exception:  # noqa: BLE001 - reported by S0, not at connection time
        return None


def zone_rule_variables(contracts: Path) -> dict[str, Any]:
    """Z(c) rule parameters from the contract file (the only place they live)."""
    from seg3a.zones.rule import RULE_FILE, load_rule, rule_variables

    return rule_variables(load_rule(Path(contracts) / RULE_FILE))
