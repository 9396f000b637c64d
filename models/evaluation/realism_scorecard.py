"""The realism gates of the selected run (spec 06) as a table: one row per (seed, gate)
with the metric value, the B and B+ thresholds and statuses. The same rows, from the
same scorer, as `realism_gates.parquet` of `seg3a realism score`; plots, ground truth
and the Markdown report come from that command.

It reads the run's published datasets at their dictionary paths (not the DuckDB tables),
so it scores exactly what downstream segments would read. The ref to zone_alloc only
orders it after the segment in a `dbt build` of everything."""


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("zone_alloc")
    import pyarrow as pa

    from seg3a.core.context import RunContext
    from seg3a.realism import report, score

    ctx = RunContext.from_session(session)
    scored = score.score_run(ctx)
    rows = score.gate_rows(scored.document)
    return pa.Table.from_pylist(rows, schema=report.GATE_TABLE_SCHEMA)
