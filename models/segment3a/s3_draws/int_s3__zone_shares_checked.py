"""Output checks before s3_zone_shares is published (spec 03 §3.4-§3.6): K rows per
pair (E3A_S3_005); the rows written in key order as the file they are published as
(unique keys, E3A_S3_004) and that file's table schema and path<->embed equality
(E3A_S3_009), evaluated in DuckDB. The checked file is published by
int_s3__zone_shares_published."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "sampling"})
    shares = dbt.ref("s3_zone_shares")
    draws = dbt.ref("int_s3__draws")
    from seg3a.states.s3_draws import zone_shares_checked

    return zone_shares_checked(session, shares, draws)
