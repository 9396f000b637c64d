"""The sealed zone_floor_policy, schema-checked, non-placeholder version, one floor per
tzid (spec 02 §5, §7.1 step 4; E3A_S2_004). One row; `floors` lists (tzid,
floor_value, bump_threshold) by tzid."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "policy_load"})
    gate = dbt.ref("int_s2__inputs_verified").to_arrow_table()
    dbt.ref("int_s2__prior_pack_validated")
    from seg3a.states.s2_priors import floor_policy_table

    return floor_policy_table(session, gate)


def lineage(dbt):
    """The policy this model validates. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_policies", "zone_floor_policy")
