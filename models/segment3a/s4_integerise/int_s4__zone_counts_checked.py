"""Output checks before s4_zone_counts is published (spec 03 §4.3): output path tokens
(E3A_S4_002); the rows written in key order as the file they are published as (unique
keys, E3A_S4_007) and that file's table schema and path<->embed equality (E3A_S4_006),
evaluated in DuckDB. The checked file is published by int_s4__zone_counts_published."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "integerisation"})
    dbt.ref("int_s4__integerisation_checked")
    counts = dbt.ref("s4_zone_counts")
    from seg3a.states.s4_integerise import zone_counts_checked

    return zone_counts_checked(session, counts)
