"""S2 priors as S4 consumes them (spec 03 §4.1 item 4): schema (E3A_S4_001), unique
zones and coverage of escalated countries (E3A_S4_004), lineage and alpha sums
(E3A_S4_007). One row with the lineage."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s2_priors"})
    dbt.ref("int_s4__escalation_queue_checked")
    priors = dbt.ref("s2_country_zone_priors")
    queue = dbt.ref("s1_escalation_queue")
    from seg3a.states.s4_integerise import country_priors_checked

    return country_priors_checked(session, priors, queue)
