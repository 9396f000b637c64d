"""zone_alloc_universe_hash (spec 04 §1.3-§1.4), published after zone_alloc: the replay
check on the published partition, then the CJ object with the five components, the
routing universe hash and the fixed note, schema-validated (E3A_S5_006) and written
once (E3A_S5_007 on differing bytes). One row with its fields."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "zone_alloc_universe_hash"})
    dbt.ref("zone_alloc")
    digests = dbt.ref("int_s5__universe_digests").to_arrow_table()
    from seg3a.states.s5_egress import universe_hash_published

    return universe_hash_published(session, digests)
