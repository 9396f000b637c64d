"""S6 PASS run report (spec 04 §2.5) and its segment_state_runs row: PASS means every
check executed and the outputs are published, whatever the verdict. FAIL reports are
written by the on-run-end hook. One row with the verdict and counts."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "checks"})
    dbt.ref("s6_receipt_3A")
    from seg3a.states.s6_validation import run_report

    return run_report(session)
