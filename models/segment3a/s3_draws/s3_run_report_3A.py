"""S3 PASS run report (spec 03 §3.8) and its segment_state_runs row; FAIL reports are
written by the on-run-end hook. One row with the counters."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sampling"})
    logs = dbt.ref("rng_event_zone_dirichlet").to_arrow_table()
    draws = dbt.ref("int_s3__draws")
    queue = dbt.ref("int_s3__escalation_queue_checked").to_arrow_table()
    priors = dbt.ref("int_s3__country_priors_checked").to_arrow_table()
    knobs = dbt.ref("int_s3__dispersion_policy").to_arrow_table()
    from seg3a.states.s3_draws import run_report

    return run_report(session, draws, queue, priors, knobs, logs)
