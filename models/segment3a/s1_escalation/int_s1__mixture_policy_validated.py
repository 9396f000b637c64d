"""The sealed zone_mixture_policy, schema- and runtime-checked (spec 02 §3.1, §6.1
step 5; every failure listed in E3A_S1_005). One row; the rule ladder is an ordered
list of structs."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "policy_load"})
    gate = dbt.ref("int_s1__inputs_verified").to_arrow_table()
    from seg3a.states.s1_escalation import mixture_policy_table

    return mixture_policy_table(session, gate)


def lineage(dbt):
    """The policy this model validates. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_policies", "zone_mixture_policy")
