"""The five component digests and routing_universe_hash (spec 04 §1.3): H_pq of the S2
partition, H_file of three policies, and the masked zone_alloc digest over a PWP write
of `int_s5__zone_alloc_masked`. Output path tokens are checked first (E3A_S5_002)."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "zone_alloc_build"})
    masked = dbt.ref("int_s5__zone_alloc_masked")
    from seg3a.states.s5_egress import universe_digests

    return universe_digests(session, masked)


def lineage(dbt):
    """The policy whose digest enters the routing universe hash here. Never called: the inputs are read at their
    catalogue paths after their digests are verified; these calls only give dbt the
    edges from the raw inputs (models/segment3a/staging/__sources.yml)."""
    dbt.source("seg3a_policies", "day_effect_policy_v1")
