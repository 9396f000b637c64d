"""One streamed pass over the S3 shares in key order (spec 03 §4.1 item 5, §4.2 steps
2-3) recording duplicate keys, share sums not within 1e-12 of csum of the shares in
tzid order, and shares outside [0, 1]; int_s4__zone_shares_consistent raises on them
in the spec's order. One row of findings."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s3_zone_shares"})
    dbt.ref("int_s4__zone_shares_checked")
    shares = dbt.ref("s3_zone_shares")
    from seg3a.states.s4_integerise import share_sums_measured

    return share_sums_measured(session, shares)
