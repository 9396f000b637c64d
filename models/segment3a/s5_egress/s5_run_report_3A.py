"""S5 PASS run report (spec 04 §1.5) and its segment_state_runs row; FAIL reports are
written by the on-run-end hook. One row with the counters."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "zone_alloc_universe_hash"})
    universe = dbt.ref("zone_alloc_universe_hash").to_arrow_table()
    domain = dbt.ref("int_s5__domain_checked").to_arrow_table()
    policies = dbt.ref("int_s5__inputs_verified").to_arrow_table()
    counts = dbt.ref("s4_zone_counts")
    from seg3a.states.s5_egress import run_report

    return run_report(session, domain, policies, counts, universe)
