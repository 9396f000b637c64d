"""Publishes the validated s4_zone_counts rows write-once as part-00000.parquet at the
dictionary path (spec 03 §4.3; E3A_S4_008 for a differing partition): the file
int_s4__zone_counts_checked wrote and checked, by rename, or the rows streamed in key
order when that model ran in another invocation. One row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "integerisation"})
    dbt.ref("int_s4__zone_counts_checked")
    counts = dbt.ref("s4_zone_counts")
    from seg3a.states.s4_integerise import zone_counts_published

    return zone_counts_published(session, counts)
