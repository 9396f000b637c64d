"""S3 share sums as S4 consumes them (spec 03 §4.2 steps 2-3): share_sum_country within
1e-12 of csum of the pair's shares in stored (tzid) order, and every share finite in
[0, 1] (E3A_S4_007), streamed through the vectorised compensated sum."""


def model(dbt, session):
    dbt.config(materialized="table", meta={"seg3a_phase": "s3_zone_shares"})
    dbt.ref("int_s4__zone_shares_consistent")
    shares = dbt.ref("s3_zone_shares")
    from seg3a.states.s4_integerise import share_sums_checked

    return share_sums_checked(session, shares)
