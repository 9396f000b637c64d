"""S1 queue as S3 consumes it (spec 03 §3.1 item 2): schema-valid (E3A_S3_001) and
unique on (merchant_id, legal_country_iso) (E3A_S3_004). One summary row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s1_escalation_queue"})
    dbt.ref("int_s3__inputs_verified")
    queue = dbt.ref("s1_escalation_queue")
    from seg3a.states.s3_draws import escalation_queue_checked

    return escalation_queue_checked(session, queue)
