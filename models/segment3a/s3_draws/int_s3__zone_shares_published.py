"""Publishes the validated s3_zone_shares rows write-once as part-00000.parquet at the
dictionary path (spec 03 §3.6; E3A_S3_011 for a differing partition): the file
int_s3__zone_shares_checked wrote and checked, by rename, or the rows streamed in key
order when that model ran in another invocation. One row."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sampling"})
    dbt.ref("int_s3__zone_shares_checked")
    shares = dbt.ref("s3_zone_shares")
    from seg3a.states.s3_draws import zone_shares_published

    return zone_shares_published(session, shares)
