"""The sealed country_zone_alphas prior pack, schema-checked with a non-placeholder
version (spec 02 §4, §7.1 step 4; E3A_S2_004). One row; `alphas` lists every
(country_iso, tzid, alpha_raw, list_position), countries ascending, file order within."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "policy_load"})
    gate = dbt.ref("int_s2__inputs_verified").to_arrow_table()
    from seg3a.states.s2_priors import prior_pack_table

    return prior_pack_table(session, gate)


def lineage(dbt):
    """The policy this model validates. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_policies", "country_zone_alphas")
