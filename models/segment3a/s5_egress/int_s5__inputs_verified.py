"""S5 preconditions (spec 04 §1.1): gate receipt and sealed inventory valid, the four
policies sealed, unchanged, parseable and schema-valid with real versions, the S1-S4 run
reports PASS, and the input columns present. One row per sealed policy."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s0_gate"})
    dbt.ref("s4_run_report_3A")
    queue = dbt.ref("s1_escalation_queue")
    priors = dbt.ref("s2_country_zone_priors")
    shares = dbt.ref("s3_zone_shares")
    counts = dbt.ref("s4_zone_counts")
    from seg3a.states.s5_egress import inputs_verified

    return inputs_verified(session, queue, priors, shares, counts)
