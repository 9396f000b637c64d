"""S2 priors as S3 consumes them (spec 03 §3.1 items 3-5): schema-valid, unique zones,
single-valued lineage and alpha sums, sums within 1e-12 of csum(alpha) in tzid order,
and priors for every escalated country. One row with the lineage S3 copies."""


def model(dbt, session):
    dbt.config(materialized="seg3a_table", meta={"seg3a_phase": "s2_priors"})
    dbt.ref("int_s3__escalation_queue_checked")
    priors = dbt.ref("s2_country_zone_priors")
    queue = dbt.ref("s1_escalation_queue")
    from seg3a.states.s3_draws import country_priors_checked

    return country_priors_checked(session, priors, queue)
