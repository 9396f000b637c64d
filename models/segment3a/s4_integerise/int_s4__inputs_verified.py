"""S4 entry gate (spec 01 §5.1, 03 §4.1 items 1-2): S0 receipt and inventory valid,
upstream gates PASS, the three 3A policies sealed, and the S1, S2 and S3 run reports
present, valid and PASS. One row with the run identity."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s0_gate"})
    dbt.ref("s1_run_report_3A")
    dbt.ref("s2_run_report_3A")
    dbt.ref("s3_run_report_3A")
    from seg3a.states.s4_integerise import inputs_verified

    return inputs_verified(session)
