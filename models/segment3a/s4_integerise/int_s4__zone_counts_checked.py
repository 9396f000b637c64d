"""Output checks before s4_zone_counts is published (spec 03 §4.3): output path tokens
(E3A_S4_002), unique key (E3A_S4_007), table schema and path<->embed equality
(E3A_S4_006)."""


def model(dbt, session):
    dbt.config(materialized="table", meta={"seg3a_phase": "integerisation"})
    rows = dbt.ref("int_s4__zone_count_rows")
    from seg3a.states.s4_integerise import zone_counts_checked

    return zone_counts_checked(session, rows)
