{{ config(materialized='view', meta={'seg3a_engine': 'spark'}) }}
-- depends_on: {{ ref('int_s4__zone_shares_consistent') }}
-- One row per escalated pair x zone: the S3 share and share sum, the pair's site count
-- N from S1, and from S2 the zone's position q in Z_ord(c) (ascending tzid) and the
-- country's stored alpha_sum_country. Narrow on purpose: run constants join at the end.
-- Inputs are consistent here: the S4 check models compared them first.
with

s3_zone_shares as (
    select
        merchant_id,
        legal_country_iso,
        tzid,
        share_drawn,
        share_sum_country
    from {{ ref('s3_zone_shares') }}
),

s1_escalation_queue as (
    select
        merchant_id,
        legal_country_iso,
        site_count
    from {{ ref('s1_escalation_queue') }}
    where is_escalated
),

s2_country_zone_priors as (
    select
        country_iso,
        tzid,
        alpha_sum_country
    from {{ ref('s2_country_zone_priors') }}
),

zones_indexed as (
    select
        country_iso,
        tzid,
        alpha_sum_country,
        row_number() over (partition by country_iso order by tzid) - 1 as zone_index
    from s2_country_zone_priors
),

pairs_with_shares as (
    select
        s3_zone_shares.merchant_id,
        s3_zone_shares.legal_country_iso,
        s3_zone_shares.tzid,
        zones_indexed.zone_index,
        s1_escalation_queue.site_count,
        s3_zone_shares.share_drawn,
        s3_zone_shares.share_sum_country,
        zones_indexed.alpha_sum_country
    from s3_zone_shares
    inner join s1_escalation_queue
        on s3_zone_shares.merchant_id = s1_escalation_queue.merchant_id
        and s3_zone_shares.legal_country_iso = s1_escalation_queue.legal_country_iso
    inner join zones_indexed
        on s3_zone_shares.legal_country_iso = zones_indexed.country_iso
        and s3_zone_shares.tzid = zones_indexed.tzid
)

select * from pairs_with_shares
