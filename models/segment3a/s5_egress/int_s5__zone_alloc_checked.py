"""Before zone_alloc is published (spec 04 §1.3-§1.4): the final frame validates against
3A#/egress/zone_alloc with path<->embed equality (E3A_S5_006), and an already published
partition holds the same columns, types and rows (E3A_S5_007)."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "zone_alloc_build"})
    rows = dbt.ref("int_s5__zone_alloc_rows")
    digests = dbt.ref("int_s5__universe_digests").to_arrow_table()
    from seg3a.states.s5_egress import zone_alloc_checked

    return zone_alloc_checked(session, rows, digests)
