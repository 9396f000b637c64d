"""Self-check of the S1 decisions (spec 02 §6.3): an independent Python replay of step 8
from (merchant_id, legal_country_iso, site_count, zone_count_country, parameter_hash,
policy) must agree with every decided row, else E3A_S1_011. One summary row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "decision_eval"})
    pairs = dbt.ref("int_s1__pairs_decided").to_arrow_table()
    policy = dbt.ref("int_s1__mixture_policy_validated").to_arrow_table()
    gate = dbt.ref("int_s1__inputs_verified").to_arrow_table()
    from seg3a.states.s1_escalation import decisions_replayed

    return decisions_replayed(pairs, policy, gate)
