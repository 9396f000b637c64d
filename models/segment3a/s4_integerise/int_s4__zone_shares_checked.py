"""S3 shares as S4 consumes them (spec 03 §4.1 item 5): schema-valid (E3A_S4_001,
component S3_ZONE_SHARES), evaluated in DuckDB; key uniqueness follows in
int_s4__zone_shares_consistent."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s3_zone_shares"})
    dbt.ref("int_s4__country_priors_checked")
    shares = dbt.ref("s3_zone_shares")
    from seg3a.states.s4_integerise import zone_shares_checked

    return zone_shares_checked(session, shares)
