"""S7 PASS run report (spec 04 §3.4) and its segment_state_runs row; FAIL reports are
written by the on-run-end hook. One row with the counters."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "publish"})
    members = dbt.ref("validation_bundle_3A").to_arrow_table()
    from seg3a.states.s7_bundle import run_report

    return run_report(session, members)
