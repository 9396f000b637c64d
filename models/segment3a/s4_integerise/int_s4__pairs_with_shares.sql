{{ config(materialized='view', meta={'seg3a_engine': 'spark'}) }}
-- depends_on: {{ ref('int_s4__zone_shares_consistent') }}
-- One row per escalated pair: its S3 shares as one list in ascending tzid order (the
-- list s3_zone_shares unnests, one share per zone of Z_ord(c)) with the share sum, the
-- pair's site count N from S1, and from S2 the country's tzids Z_ord(c) in the same
-- order and its stored alpha_sum_country. A list per pair is what the integerisation
-- ranks within (int_s4__zone_counts_integerised). Narrow on purpose: run constants
-- join at the end. Inputs are consistent here: the S4 check models compared the
-- s3_zone_shares rows (keys, zone sets, sums, lineage) with S1 and S2 first.
with

int_s3__draws as (
    select
        merchant_id,
        legal_country_iso,
        shares,
        share_sum
    from {{ ref('int_s3__draws') }}
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

country_zones_listed as (
    {{ seg3a_country_tzids_listed('s2_country_zone_priors') }}
),

-- single-valued per country (int_s4__country_priors_checked, E3A_S4_007 alpha_sum_invalid)
country_alpha_sums as (
    select distinct
        country_iso,
        alpha_sum_country
    from s2_country_zone_priors
),

pairs_with_shares as (
    select
        int_s3__draws.merchant_id,
        int_s3__draws.legal_country_iso,
        country_zones_listed.tzids,
        s1_escalation_queue.site_count,
        int_s3__draws.shares,
        int_s3__draws.share_sum as share_sum_country,
        country_alpha_sums.alpha_sum_country
    from int_s3__draws
    inner join s1_escalation_queue
        on int_s3__draws.merchant_id = s1_escalation_queue.merchant_id
        and int_s3__draws.legal_country_iso = s1_escalation_queue.legal_country_iso
    inner join country_zones_listed
        on int_s3__draws.legal_country_iso = country_zones_listed.country_iso
    inner join country_alpha_sums
        on int_s3__draws.legal_country_iso = country_alpha_sums.country_iso
)

select * from pairs_with_shares
