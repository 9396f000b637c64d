"""Event and trace files of the run (spec 03 §2.1, §2.2, §2.4): after s3_zone_shares is
published, move the event file, then the trace file, into place from the stage
int_s3__rng_logs_staged prepared in this process (else stage every line in pair order
now); in replay mode write nothing. One summary row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sampling"})
    dbt.ref("int_s3__zone_shares_published")
    dbt.ref("int_s3__rng_logs_staged")
    mode = dbt.ref("rng_audit_log").to_arrow_table()
    lines = dbt.ref("int_s3__rng_log_lines")
    from seg3a.states.s3_rng_logs import emit_logs

    return emit_logs(session, lines, mode)
