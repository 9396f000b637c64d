"""S1 PASS run report and segment_state_runs row (spec 02 §6.6), written once the
escalation queue is published. One row with the counters. (FAIL reports come from the
on-run-end hook.)"""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "decision_eval"})
    queue = dbt.ref("s1_escalation_queue").project(
        "legal_country_iso, zone_count_country, is_escalated, decision_reason"
    ).to_arrow_table()
    decided = dbt.ref("int_s1__pairs_decided").project("smooth_band_escalated").to_arrow_table()
    policy = dbt.ref("int_s1__mixture_policy_validated").to_arrow_table()
    from seg3a.states.s1_escalation import run_report

    return run_report(session, queue, decided, policy)
