"""dbt run inside this process on a project parsed once: what `seg3a seedpack run`, the
Spark target's phases and the tests' dbt fork server share."""
from __future__ import annotations

import gc
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
