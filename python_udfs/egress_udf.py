"""Adapters of the S5-S7 side: the end-of-run summary as a side-effecting UDF, so that
dbt's on-run-end hook can print it (`seg3a_s7_run_summary` macro)."""
from __future__ import annotations

import pyarrow as pa


def run_summary_arrow(run_roots: pa.Array) -> pa.Array:
    """Print the summary of each run root (seg3a.states.summary.on_run_end, which never
    raises) and return its text."""
    from seg3a.states.summary import on_run_end

    return pa.array([on_run_end(root) for root in run_roots.to_pylist()], type=pa.string())
