"""The S6 SQL functions (Arrow UDFs): what the S6 data tests and the `dbt test`
publication hook need from Python. Registered by `seg3a.states.s6_plugin` from the rows
of `S6_UDFS`, in the same shape as the project's UDF registry."""
from __future__ import annotations

from typing import Callable

import pyarrow as pa


def _rows(values: list, function: Callable) -> pa.Array:
    return pa.array([function(*row) for row in values], type=pa.string())


def preconditions_arrow(run_roots: pa.Array) -> pa.Array:
    """s3a_s6_preconditions(run_root): NULL when 04 §2.1 holds, else the failure text."""
    from .s6_validation import preconditions_failure

    return _rows([(r,) for r in run_roots.to_pylist()], preconditions_failure)


def universe_components_arrow(run_roots: pa.Array) -> pa.Array:
    """s3a_s6_universe_components(run_root): the recomputed components and R as JSON."""
    from .s6_validation import universe_components

    return _rows([(r,) for r in run_roots.to_pylist()], universe_components)


def publish_arrow(tests: pa.Array, issues: pa.Array, run_roots: pa.Array) -> pa.Array:
    """s3a_s6_publish(tests_json, issues_json, run_root): the S6 outputs after `dbt test`."""
    from .s6_validation import publish_test_results

    return _rows(list(zip(tests.to_pylist(), issues.to_pylist(), run_roots.to_pylist())), publish_test_results)


# name, function, parameter types, return type, side effects
S6_UDFS: tuple[tuple[str, Callable, list[str], str, bool], ...] = (
    ("s3a_s6_preconditions", preconditions_arrow, ["VARCHAR"], "VARCHAR", False),
    ("s3a_s6_universe_components", universe_components_arrow, ["VARCHAR"], "VARCHAR", False),
    ("s3a_s6_publish", publish_arrow, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", True),
)


def register(conn) -> None:
    """Register the S6 UDFs on a DuckDB connection; those already there are kept."""
    present = registered(conn)
    for name, function, parameters, return_type, side_effects in S6_UDFS:
        if name not in present:
            conn.create_function(name, function, parameters, return_type, type="arrow", side_effects=side_effects,
                                 null_handling="special")


def registered(conn) -> set[str]:
    """The S6 functions already on `conn`. Each is probed by preparing a call with its own
    parameter types (binding only, nothing runs): listing `duckdb_functions()` instead cost
    about 0.3 s on every new connection, i.e. on every dbt invocation, because it
    enumerates the ~3,000 functions of DuckDB and spatial."""
    import duckdb

    present = set()
    for name, _function, parameters, _return_type, _side_effects in S6_UDFS:
        arguments = ", ".join(f"null::{parameter}" for parameter in parameters)
        try:
            conn.execute(f"prepare seg3a_s6_udf_probe as select {name}({arguments})")
        except duckdb.CatalogException:
            continue
        conn.execute("deallocate seg3a_s6_udf_probe")
        present.add(name)
    return present
