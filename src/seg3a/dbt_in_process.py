"""dbt run inside this process on a project parsed once: what `seg3a seedpack run`, the
Spark target's phases and the tests' dbt fork server share."""
from __future__ import annotations

import gc
from types import CodeType
from typing import Any, Callable


def invoke_parsed(runner: Callable[..., Any], manifest: Any, args: list[str]) -> Any:
    """One dbt command (`runner` is dbt's dbtRunner) on a copy of the parsed `manifest`:
    dbt marks the nodes it compiles in the manifest it runs, which a later command must
    not see. dbt and the parsed manifests (the parsed one and this copy, ~180k objects)
    live through the whole command: frozen, the garbage collector's full passes skip them
    (~0.2-0.5 CPU s per build otherwise); unfrozen afterwards so the copy is freed."""
    copy = manifest.deepcopy()
    gc.freeze()
    try:
        return runner(manifest=copy).invoke(args)
    finally:
        gc.unfreeze()


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a build, as the
    dbt command does on exit: the file is checkpointed (nothing left in its WAL) and
    released, so it can be copied (the Z(c) cache) or opened by a user right away."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    from seg3a.core.locks import release_all

    environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()
    release_all()  # the build's run-root and database locks, as a dbt process exit would


# Macros dbt itself calls by name during a build (adapter methods, the compilation of
# Python models), besides those the nodes and their materializations call.
DBT_CALLED_MACROS = ("list_schemas", "create_schema", "list_relations_without_caching", "drop_relation",
                     "rename_relation", "resolve_model_name", "should_store_failures", "is_incremental",
                     "py_script_postfix", "py_script_comment")


def warm_macro_templates(manifest: Any) -> int:
    """Compiles the Jinja templates of the macros a command on `manifest` calls (what the
    nodes and their materializations depend on, with what those depend on, and the macros
    dbt calls itself) into dbt's per-process template cache, so that every process forked
    afterwards finds them compiled instead of compiling them on first use (about 160
    macros, ~0.3 CPU s at the default world). A macro missed here is compiled when first
    called, as without this. Returns the number of macros compiled."""
    from dbt_common.clients.jinja import template_cache

    project_name, adapter_type = manifest.metadata.project_name, manifest.metadata.adapter_type
    wanted = {macro for node in manifest.nodes.values() for macro in node.depends_on.macros}
    for materialization in {node.get_materialization() for node in manifest.nodes.values()}:
        found = manifest.find_materialization_macro_by_name(project_name, materialization, adapter_type)
        if found is not None:
            wanted.add(found.unique_id)
    for name in DBT_CALLED_MACROS:
        found = manifest.find_macro_by_name(name, project_name, None)
        if found is not None:
            wanted.add(found.unique_id)
    compiled: set[str] = set()
    while wanted:
        unique_id = wanted.pop()
        macro = manifest.macros.get(unique_id)
        if macro is None or unique_id in compiled:
            continue
        template_cache.get_node_template(macro)
        compiled.add(unique_id)
        wanted.update(macro.depends_on.macros)
    return len(compiled)


# Compiled Jinja code of the template strings dbt renders (see remember_compiled_templates),
# by environment configuration and source; cleared when it reaches the limit.
_TEMPLATE_CODE: dict[tuple, CodeType] = {}
TEMPLATE_CODE_LIMIT = 4096


def _environment_key(environment: Any) -> tuple:
    """What of a Jinja environment the compiled code of a template depends on: its class
    (dbt's text or native code generator), extensions, syntax and compiler options, and
    the names of its filters and tests (the compiler checks those exist)."""
    return (type(environment), tuple(environment.extensions), environment.block_start_string,
            environment.block_end_string, environment.variable_start_string, environment.variable_end_string,
            environment.comment_start_string, environment.comment_end_string, environment.line_statement_prefix,
            environment.line_comment_prefix, environment.trim_blocks, environment.lstrip_blocks,
            environment.newline_sequence, environment.keep_trailing_newline, environment.optimized,
            environment.autoescape, frozenset(environment.filters), frozenset(environment.tests))


def remember_compiled_templates() -> None:
    """Makes dbt's Jinja environments in this process reuse the compiled code of a template
    string they compiled before. dbt renders each node's SQL, the Python models' postfix
    and each generic test's arguments through a new template per node and command
    (`Environment.from_string`), so every build parsed and compiled the same ~150 sources
    again (about 7 % of a seed build's Python time); the macros already have dbt's own
    template cache. The code of a template depends only on its source and the
    environment's configuration (`_environment_key`), not on the context it is rendered
    in, which `from_string` binds afresh to the code each time. Idempotent."""
    import jinja2
    from dbt_common.clients.jinja import MacroFuzzEnvironment

    if getattr(MacroFuzzEnvironment.compile, "remembers_code", False):
        return
    compile_source = jinja2.Environment.compile

    @jinja2.utils.internalcode
    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str):
            return compile_source(self, source, name, filename, raw, defer_init)
        key = (_environment_key(self), source, name, filename, defer_init)
        return _remembered(_TEMPLATE_CODE, TEMPLATE_CODE_LIMIT, key,
                           lambda: compile_source(self, source, name, filename, raw, defer_init))

    compile.remembers_code = True
    MacroFuzzEnvironment.compile = compile


def _remembered(memo: dict, limit: int, key: tuple, compute: Callable[[], Any]) -> Any:
    """memo[key], computed by `compute()` when absent; a full memo is emptied first, so
    it never holds more than `limit` entries. A failing `compute` leaves nothing."""
    value = memo.get(key)
    if value is None:
        value = compute()
        if len(memo) >= limit:
            memo.clear()
        memo[key] = value
    return value


# The template dbt renders for each Python model's compiled code (dbt.compilation).
PYTHON_MODEL_POSTFIX = "{{ py_script_postfix(model) }}"


def warm_node_templates(manifest: Any) -> int:
    """Compiles the template of every SQL node's code and the Python models' postfix, as
    dbt's compilation of the node will (remember_compiled_templates must be on), so that
    processes forked afterwards find them compiled. Returns the number compiled."""
    from dbt_common.clients.jinja import get_template

    sources = {PYTHON_MODEL_POSTFIX}
    sources.update(node.raw_code for node in manifest.nodes.values() if node.language == "sql" and node.raw_code)
    for source in sources:
        get_template(source, {})
    return len(sources)


def compile_templates_before_fork(manifest: Any) -> None:
    """What a process that parsed `manifest` does before forking builds from it: the
    macro templates compiled into dbt's cache, the compiled code of template strings
    remembered, and the nodes' templates compiled with that memo on (in this order), so
    that no forked build compiles them again."""
    warm_macro_templates(manifest)
    remember_compiled_templates()
    warm_node_templates(manifest)


# The SQL dbt gave for a model's SQL and ephemeral CTEs (see remember_injected_ctes).
_INJECTED_SQL: dict[tuple, str] = {}
INJECTED_SQL_LIMIT = 1024


def remember_injected_ctes() -> None:
    """Makes dbt in this process remember the SQL it gives when it injects ephemeral models'
    CTEs into a model's SQL (`dbt.compilation.inject_ctes_into_sql`, which parses the
    whole SQL with sqlparse: 25-60 ms for each of the five models of a seed build that
    read an ephemeral). The result depends only on the SQL, the CTEs and sqlparse's
    grouping limits, which are the key; the compiled SQL is the same for every seed, so a
    lane's later builds reuse it. A failing injection is not remembered. Idempotent."""
    import dbt.compilation as compilation
    import sqlparse.engine.grouping as grouping

    if getattr(compilation.inject_ctes_into_sql, "remembers_result", False):
        return
    inject = compilation.inject_ctes_into_sql

    def inject_ctes_into_sql(sql, ctes):
        key = (sql, tuple((cte.id, cte.sql) for cte in ctes), grouping.MAX_GROUPING_DEPTH,
               grouping.MAX_GROUPING_TOKENS)
        return _remembered(_INJECTED_SQL, INJECTED_SQL_LIMIT, key, lambda: inject(sql, ctes))

    inject_ctes_into_sql.remembers_result = True
    compilation.inject_ctes_into_sql = inject_ctes_into_sql
