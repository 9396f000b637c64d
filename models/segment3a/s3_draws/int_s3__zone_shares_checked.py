"""Output checks before s3_zone_shares is published (spec 03 §3.4-§3.6): K rows per
pair (E3A_S3_005), unique key (E3A_S3_004), table schema and path<->embed equality
(E3A_S3_009)."""


def model(dbt, session):
    dbt.config(materialized="table", meta={"seg3a_phase": "sampling"})
    rows = dbt.ref("int_s3__zone_share_rows")
    draws = dbt.ref("int_s3__draws")
    from seg3a.states.s3_draws import zone_shares_checked

    return zone_shares_checked(session, rows, draws)
