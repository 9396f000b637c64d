"""S4 PASS run report (spec 03 §4.5) and its segment_state_runs row; FAIL reports are
written by the on-run-end hook. One row with the counters."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "integerisation"})
    dbt.ref("int_s4__zone_counts_published")
    counts = dbt.ref("s4_zone_counts")
    queue = dbt.ref("int_s4__escalation_queue_checked").to_arrow_table()
    lineage = dbt.ref("int_s4__country_priors_checked").to_arrow_table()
    from seg3a.states.s4_integerise import run_report

    return run_report(session, counts, queue, lineage)
