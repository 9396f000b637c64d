"""S1 queue as S4 consumes it (spec 03 §4.1 item 3): schema-valid (E3A_S4_001), unique
pairs and escalated site_count >= 1 (E3A_S4_003). One summary row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s1_escalation_queue"})
    dbt.ref("int_s4__inputs_verified")
    queue = dbt.ref("s1_escalation_queue")
    from seg3a.states.s4_integerise import escalation_queue_checked

    return escalation_queue_checked(session, queue)
