"""The `s3_dispersion` knobs of the sealed zone_mixture_policy (spec 03 §3.1 item 6,
§3.2): ranges enforced even when the block is disabled; defaults when it is absent."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s3_dispersion_policy"})
    dbt.ref("int_s3__country_priors_checked")
    gate = dbt.ref("int_s3__inputs_verified").to_arrow_table()
    from seg3a.states.s3_draws import dispersion_policy

    return dispersion_policy(session, gate)
