"""Event and trace files of the run staged ahead (spec 03 §2.4 rule 3): in emission mode
every line is validated and written in pair order to temp files while s3_zone_shares is
still being written and checked; rng_event_zone_dirichlet moves them into place only
after the shares are published. Publishes nothing and never fails: on any problem the
stage is dropped and rng_event_zone_dirichlet stages the files itself and reports the
failure there. One row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sampling"})
    mode = dbt.ref("rng_audit_log").to_arrow_table()
    lines = dbt.ref("int_s3__rng_log_lines")
    from seg3a.states.s3_rng_logs import stage_logs_ahead

    return stage_logs_ahead(session, lines, mode)
