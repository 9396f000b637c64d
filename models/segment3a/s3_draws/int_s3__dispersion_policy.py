"""The `s3_dispersion` knobs of the sealed zone_mixture_policy (spec 03 §3.1 item 6,
§3.2): ranges enforced even when the block is disabled; defaults when it is absent."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s3_dispersion_policy"})
    dbt.ref("int_s3__country_priors_checked")
    gate = dbt.ref("int_s3__inputs_verified").to_arrow_table()
    from seg3a.states.s3_draws import dispersion_policy

    return dispersion_policy(session, gate)


def lineage(dbt):
    """The policy this model validates. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_policies", "zone_mixture_policy")
