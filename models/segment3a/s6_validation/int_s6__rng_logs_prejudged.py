"""The RNG logs S3 published, judged as S6 will judge them, on dbt's other thread beside
S4's integerisation (one core of Python UDF; S4's checks before it keep both cores
busy with DuckDB), by a worker process (the line templates hold the GIL).
Every log proven valid line by line is remembered in this process by the SHA-256 and
sizes of its bytes; int_s6__inputs_verified hashes the logs when it runs and takes the
verdict only for those same bytes, judging any other bytes itself. This model never
fails and decides nothing: on any error it remembers nothing. One row per RNG log."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "rng_logs"})
    dbt.ref("rng_event_zone_dirichlet")
    dbt.ref("int_s4__pairs_with_shares")  # when the integerisation starts; not read
    from seg3a.states.s6_validation import rng_logs_prejudged

    return rng_logs_prejudged(session)
