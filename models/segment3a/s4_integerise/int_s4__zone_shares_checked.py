"""S3 shares as S4 consumes them (spec 03 §4.1 item 5, §4.2 steps 1-3): schema
(E3A_S4_001), unique keys and zone sets (E3A_S4_004), pair set = D_esc (E3A_S4_003),
lineage equal to S2 and share sums (E3A_S4_007)."""


def model(dbt, session):
    dbt.config(materialized="table", meta={"seg3a_phase": "s3_zone_shares"})
    dbt.ref("int_s4__country_priors_checked")
    shares = dbt.ref("s3_zone_shares")
    queue = dbt.ref("s1_escalation_queue")
    priors = dbt.ref("s2_country_zone_priors")
    from seg3a.states.s4_integerise import zone_shares_checked

    return zone_shares_checked(session, shares, queue, priors)
