"""RNG log preparation (spec 03 §2.3, §2.4): replay when events and trace both exist
(a matching audit row required), E3A_S3_007 when only one does, otherwise append the
run's audit row before any draw. One row: the mode and the audit identity."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "rng_logs"})
    dbt.ref("int_s3__dispersion_policy")
    from seg3a.states.s3_rng_logs import prepare_logs

    return prepare_logs(session)
